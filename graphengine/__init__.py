"""graphengine: a dataflow engine for audio.

Graphs of typed nodes, written in TOML/JSON files or built in Python, are
validated, planned, cached by content and rendered::

    import graphengine as ge
    result = ge.load("graphs/demo.toml").run()
"""

from typing import TYPE_CHECKING, Any

from graphengine.api import Graph, Result, load
from graphengine.errors import (
    CycleError,
    GraphError,
    GraphFileError,
    GraphValidationError,
    NodeError,
    NodeRunError,
    ParamError,
    PortError,
)
from graphengine.node import InputPath, NodeContext, OutputPath, Pitch, PortInfo, node, param
from graphengine.types import (
    Audio,
    Features,
    Frequencies,
    Image,
    Notes,
    Prediction,
    Spectrum,
    Value,
    Vector,
)
from graphengine.version import __version__

if TYPE_CHECKING:
    from graphengine.distributed import batch


def __getattr__(name: str) -> Any:
    # ``batch`` (graphengine.distributed.batch) is imported on first use, so that
    # ``import graphengine`` does not load the batch package
    if name == "batch":
        from graphengine.distributed import batch

        return batch
    raise AttributeError(f"module 'graphengine' has no attribute {name!r}")


__all__ = [
    "Audio",
    "CycleError",
    "Features",
    "Frequencies",
    "Graph",
    "GraphError",
    "GraphFileError",
    "GraphValidationError",
    "Image",
    "InputPath",
    "NodeContext",
    "NodeError",
    "NodeRunError",
    "Notes",
    "OutputPath",
    "ParamError",
    "Pitch",
    "PortError",
    "PortInfo",
    "Prediction",
    "Result",
    "Spectrum",
    "Value",
    "Vector",
    "__version__",
    "batch",
    "load",
    "node",
    "param",
]
