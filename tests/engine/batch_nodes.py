"""A vector-producing node for the batch tests (not in the installed registry).

Used through a custom :class:`graphengine.registry.Registry` passed to
``ge.batch(..., registry=...)``; the batch runner makes this module's folder
importable on the Dask workers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from graphengine.node import NodeContext, PortInfo, node
from graphengine.registry import Registry, default_registry
from graphengine.types import Audio, Vector

LEVEL_NAMES = ("rms", "peak")


def infer_level(
    inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
) -> dict[str, PortInfo]:
    return {"out": PortInfo("vector", (len(LEVEL_NAMES),), itemsize=4)}


@node("test.level", version=1, infer=infer_level)
def level(in_: Audio) -> Vector:
    """The RMS and the peak of a signal over all channels, as a two-element vector.

    Example
    -------
        lv = {in = "src"}
    """
    samples = in_.samples.astype(np.float64)
    rms = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return Vector(np.array([rms, peak], dtype=np.float32), LEVEL_NAMES)


def registry_with_level() -> Registry:
    """The installed node types plus ``test.level``."""
    registry = Registry({spec.type_id: spec for spec in default_registry()})
    registry.add(level.spec)
    return registry
