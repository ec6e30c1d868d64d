"""graphengine: a dataflow engine for audio.

Graphs of typed nodes, written in TOML/JSON files or built in Python, are
validated, planned, cached by content and rendered::

    import graphengine as ge
    result = ge.load("graphs/demo.toml").run()
"""

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from graphengine.version import __version__

if TYPE_CHECKING:
    from graphengine.api import Graph, Result, load
    from graphengine.distributed import batch
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

_HOMES = {
    "graphengine.api": ("Graph", "Result", "load"),
    "graphengine.distributed": ("batch",),
    "graphengine.errors": (
        "CycleError",
        "GraphError",
        "GraphFileError",
        "GraphValidationError",
        "NodeError",
        "NodeRunError",
        "ParamError",
        "PortError",
    ),
    "graphengine.node": (
        "InputPath",
        "NodeContext",
        "OutputPath",
        "Pitch",
        "PortInfo",
        "node",
        "param",
    ),
    "graphengine.types": (
        "Audio",
        "Features",
        "Frequencies",
        "Image",
        "Notes",
        "Prediction",
        "Spectrum",
        "Value",
        "Vector",
    ),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    # the public names are imported on first use, so that ``graphengine --help``
    # (which imports graphengine.cli, and so this package) loads neither numpy
    # nor the engine, and ``import graphengine`` does not load the batch package
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'graphengine' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


class _Package(ModuleType):
    """This package, whose ``node`` stays the decorator when ``graphengine.node`` is imported.

    Importing a submodule binds it as an attribute of its package; the eager
    ``from graphengine.node import node`` this package used to run rebound the
    name at once, and so does this, lazily.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOME and isinstance(value, ModuleType):
            self.__dict__.pop(name, None)  # __getattr__ brings the public name
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


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
