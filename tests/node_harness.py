"""Helpers for calling node functions directly, outside a graph.

Plain functions rather than fixtures, shared by every family folder under
``tests/nodes/``: a ``conftest.py`` there would take the
module name ``conftest`` from ``tests/conftest.py``, which other tests import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.errors import GraphError
from graphengine.node import NodeContext, PortInfo
from graphengine.types import Audio


@dataclass
class RecordingContext(NodeContext):
    """A NodeContext that keeps the warnings a node reports."""

    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.emit = self._record

    def _record(self, event: str, data: dict) -> None:
        if event == "warning":
            self.warnings.append(data["message"])


def make_ctx(node_type: str, sample_rate: float = 44100.0, node_id: str = "n") -> RecordingContext:
    """A context for one node, recording its warnings."""
    return RecordingContext(node_id, node_type, sample_rate, Path("."))


def _params(fn: Callable, given: Mapping[str, Any]) -> dict[str, Any]:
    """The node's parameter defaults overridden by ``given`` (unknown names are an error)."""
    spec = fn.spec
    unknown = set(given) - {p.name for p in spec.params}
    assert not unknown, f"{spec.type_id} has no parameters {sorted(unknown)}"
    return {p.name: p.default for p in spec.params if not p.required} | dict(given)


def run_node(fn: Callable, ctx: NodeContext, *inputs: Any, **params: Any) -> Any:
    """Call a node function with its parameter defaults filled in."""
    kwargs = _params(fn, params)
    if fn.spec.wants_ctx:
        kwargs["ctx"] = ctx
    return fn.spec.function(*inputs, **kwargs)


def infer_node(
    fn: Callable, ctx: NodeContext, inputs: Mapping[str, Any] | None = None, **params: Any
) -> dict[str, PortInfo]:
    """Run a node's infer with its parameter defaults filled in."""
    return dict(fn.spec.infer(dict(inputs or {}), _params(fn, params), ctx))


def validation_error(
    type_id: str,
    *,
    sample_rate: float = 44100.0,
    upstream: Mapping[str, Mapping[str, Any]] | None = None,
    **params: Any,
) -> GraphError:
    """The error validation reports for node ``n`` of ``type_id`` with ``params``.

    This is how declared parameter rules are tested: the engine checks them,
    not the node. ``upstream`` adds nodes ``{id: {"type": ..., **params}}`` for
    ``n`` to read (``in_="src"``). Fails the test when the graph is valid.
    """
    import graphengine as ge

    graph = ge.Graph(sample_rate=sample_rate)
    for node_id, table in (upstream or {}).items():
        graph.add(node_id, table["type"], **{k: v for k, v in table.items() if k != "type"})
    graph.add("n", type_id, **params)
    try:
        graph.validate()
    except GraphError as error:
        return error
    raise AssertionError(f"{type_id} with {params} validated")


def noise_audio(channels: int, frames: int, seed: int = 0, rate: float = 44100.0) -> Audio:
    """Seeded uniform noise in [-0.5, 0.5), float32 (channels, frames) at ``rate`` Hz."""
    rng = np.random.default_rng(seed)
    return Audio(rng.uniform(-0.5, 0.5, (channels, frames)).astype(np.float32), rate)


def info(audio: Audio) -> PortInfo:
    """What validation knows of ``audio``: its shape and rate."""
    return PortInfo("audio", audio.samples.shape, sample_rate=audio.sample_rate)


def defines_kernel(cls: type) -> bool:
    """Whether a node class (or a node-library base of it) overrides ``BlockNode.kernel``."""
    from graphengine.blocknode import BlockNode

    return any(
        "kernel" in vars(base)
        for base in cls.__mro__
        if issubclass(base, BlockNode) and base.__module__.startswith("nodes")
    )


def kernel_specs() -> list:
    """The registered streaming effects and mixers that offer a kernel."""
    from graphengine.registry import default_registry

    return [
        s
        for s in default_registry()
        if s.streaming
        and s.block_class.kind in ("effect", "mixer")
        and defines_kernel(s.block_class)
    ]
