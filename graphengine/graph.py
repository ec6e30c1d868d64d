"""The graph as plain data: documents, node instances, port references, edges.

A :class:`GraphDocument` is what a graph file holds (or what the Python
builder makes): node tables whose values may still be ``$param`` references.
Resolving it (``graphfile.resolve``) gives a :class:`ResolvedGraph` of
:class:`NodeInstance` objects with concrete values and parsed connections.
Nothing here imports numpy or any node.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphengine.errors import GraphError

FORMAT_VERSION = 1
DEFAULT_SAMPLE_RATE = 44100
NODE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(/[A-Za-z_][A-Za-z0-9_-]*)*$")
"""A node id: letters, digits, ``_`` and ``-``, no dots (``id.port`` names a port);
``/`` separates a sub-graph's id from its nodes' ids (``fx/lp``)."""

SIDECAR_SUFFIX = ".graph.json"
"""A sink's output ``x.wav`` has its provenance (the graph as run) in ``x.wav.graph.json``."""

TOP_LEVEL_KEYS = ("format", "name", "sample_rate", "seed", "params", "inputs", "outputs", "nodes")


@dataclass(frozen=True)
class PortRef:
    """A reference to a node's output: ``"node"`` (its default output) or ``"node.port"``."""

    node: str
    port: str | None = None

    @classmethod
    def parse(cls, text: str) -> PortRef:
        node, _, port = text.partition(".")
        return cls(node, port or None)

    def __str__(self) -> str:
        return f"{self.node}.{self.port}" if self.port else self.node


@dataclass
class NodeInstance:
    """One node of a resolved graph: its type, connections and parameter values."""

    id: str
    type: str
    inputs: dict[str, tuple[PortRef, ...]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    base_dir: Path | None = None
    """Folder its relative paths resolve against (its sub-graph file's); None: the graph's."""


@dataclass
class ResolvedGraph:
    """A graph with parameters substituted and sub-graphs expanded."""

    name: str
    sample_rate: float
    seed: int
    nodes: dict[str, NodeInstance]
    file: str | None = None
    base_dir: Path = field(default_factory=Path.cwd)
    params: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, dict[str | None, str]] = field(default_factory=dict)
    """Sub-graph node id -> its outputs (None: the default) as ``"inner/node.port"``."""
    node_files: dict[str, str] = field(default_factory=dict)
    """Node id -> the sub-graph file that declares it (nodes of the top file are absent)."""
    declared: tuple[str, ...] = ()
    """Every node id in the order the files declare them, those that failed to resolve too."""
    unresolved: frozenset[str] = frozenset()
    """Ids of declared nodes left out of ``nodes`` (unknown type, duplicate id)."""
    errors: list[Any] = field(default_factory=list)
    """Problems found while resolving, when :func:`graphfile.resolve` was asked to collect them."""
    home: Path | None = None
    """Where the graph lives (:attr:`GraphDocument.home`): recorded in provenance sidecars."""

    def locate(self, errors: list[Any]) -> list[Any]:
        """Add ``(in sub.toml)`` to errors about nodes declared in a sub-graph file."""
        for error in errors:
            node_id = getattr(error, "node_id", None)
            sub_file = self.node_files.get(node_id) if node_id else None
            if sub_file and not getattr(error, "located", False):
                error.message += f" (in {sub_file})"
                error.located = True
        return errors

    def resolve_alias(self, ref: PortRef) -> PortRef:
        """Follow a reference to a sub-graph's output to the node inside that makes it."""
        for _ in range(65):  # graphfile.MAX_SUBGRAPH_DEPTH levels and the top
            outputs = self.aliases.get(ref.node)
            if outputs is None or ref.port not in outputs:
                return ref
            ref = PortRef.parse(outputs[ref.port])
        return ref

    def edges(self) -> Iterator[tuple[str, str, str]]:
        """(source node, target node, target port) for every connection."""
        for instance in self.nodes.values():
            for port, refs in instance.inputs.items():
                for ref in refs:
                    yield ref.node, instance.id, port


def _plain(value: Any) -> Any:
    """Builder values as a graph file holds them: paths as strings."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _port_value(refs: Any) -> tuple[str, ...]:
    if isinstance(refs, str | PortRef):
        return (str(refs),)
    return tuple(str(r) for r in refs)


class GraphDocument:
    """A graph as authored: the tree a TOML/JSON file holds, and a builder for it.

    Parameters
    ----------
    sample_rate : float > 0
        The graph's audio rate in Hz.
    name : str
    seed : int
        Seed from which random nodes derive their own (with their node id).
    params : mapping
        Graph parameters, referenced as ``"$name"`` from node tables.
    """

    def __init__(
        self,
        sample_rate: float = DEFAULT_SAMPLE_RATE,
        *,
        name: str = "",
        seed: int = 0,
        params: Mapping[str, Any] | None = None,
        nodes: Mapping[str, Mapping[str, Any]] | None = None,
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        path: str | Path | None = None,
    ) -> None:
        self.name = name
        self.sample_rate = sample_rate
        self.seed = seed
        self.params: dict[str, Any] = dict(params or {})
        self.nodes: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (nodes or {}).items()}
        self.inputs: dict[str, Any] = dict(inputs or {})
        self.outputs: dict[str, Any] = dict(outputs or {})
        self.path: Path | None = Path(path) if path is not None else None
        self.from_sidecar = False
        """Read from an output's provenance sidecar (``x.wav.graph.json``)."""
        self.sidecar_home: Path | None = None
        """For a graph read from a sidecar: the folder of the graph that rendered it, if known."""

    @property
    def home(self) -> Path | None:
        """The folder the graph lives in, where its disk cache goes by default.

        Its file's folder; for a graph read from a provenance sidecar, the folder
        of the graph file that rendered the output (never the outputs' folder),
        None when the sidecar does not say or that folder is gone. None for a
        graph built in Python and not saved.
        """
        if self.from_sidecar:
            return self.sidecar_home
        return self.path.resolve().parent if self.path is not None else None

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths resolve against."""
        return self.path.resolve().parent if self.path is not None else Path.cwd()

    @property
    def file(self) -> str | None:
        return str(self.path) if self.path is not None else None

    def add(self, node_id: str, type: str, /, **values: Any) -> GraphDocument:
        """Add a node; keyword arguments are its parameters and input ports.

        A trailing underscore is dropped from a keyword, so ``in_="osc"``
        connects the port ``in``. Returns the document, so calls chain.
        """
        if not NODE_ID.match(node_id):
            raise GraphError(f"{node_id!r} is not a valid node id (letters, digits, _ and -)")
        if node_id in self.nodes:
            raise GraphError(f"duplicate node id {node_id!r}", file=self.file)
        table: dict[str, Any] = {"type": type}
        for key, value in values.items():
            table[key.rstrip("_") if key.endswith("_") else key] = _plain(value)
        self.nodes[node_id] = table
        return self

    def connect(self, source: str, target: str) -> GraphDocument:
        """Connect ``source`` (``"node"`` or ``"node.port"``) to ``target`` (``"node.port"``).

        Connecting a second source to the same port makes it a list (for
        variadic ports such as ``mix.in``).
        """
        node_id, _, port = target.partition(".")
        if node_id not in self.nodes or not port:
            raise GraphError(f"connect target {target!r} must be 'node.port' of an added node")
        table = self.nodes[node_id]
        existing = table.get(port)
        if existing is None:
            table[port] = source
        else:
            table[port] = [*_port_value(existing), source]
        return self

    def set(self, node_id: str, **values: Any) -> GraphDocument:
        """Change parameters (or connections) of an existing node."""
        if node_id not in self.nodes:
            raise GraphError(f"no node {node_id!r}")
        for key, value in values.items():
            self.nodes[node_id][key.rstrip("_") if key.endswith("_") else key] = _plain(value)
        return self

    def remove(self, node_id: str) -> GraphDocument:
        """Remove a node (connections to it are left for validation to report)."""
        del self.nodes[node_id]
        return self

    def to_dict(self) -> dict[str, Any]:
        """The document as the plain tree a TOML/JSON graph file holds."""
        tree: dict[str, Any] = {"format": FORMAT_VERSION}
        if self.name:
            tree["name"] = self.name
        tree["sample_rate"] = self.sample_rate
        if self.seed:
            tree["seed"] = self.seed
        if self.params:
            tree["params"] = copy.deepcopy(self.params)
        if self.inputs:
            tree["inputs"] = copy.deepcopy(self.inputs)
        if self.outputs:
            tree["outputs"] = copy.deepcopy(self.outputs)
        tree["nodes"] = copy.deepcopy(self.nodes)
        return tree

    def copy(self) -> GraphDocument:
        twin = type(self)(
            self.sample_rate,
            name=self.name,
            seed=self.seed,
            params=copy.deepcopy(self.params),
            nodes=copy.deepcopy(self.nodes),
            inputs=copy.deepcopy(self.inputs),
            outputs=copy.deepcopy(self.outputs),
            path=self.path,
        )
        twin.from_sidecar, twin.sidecar_home = self.from_sidecar, self.sidecar_home
        return twin

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GraphDocument):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        where = f" from {self.path}" if self.path else ""
        return f"<{type(self).__name__} {self.name!r} with {len(self.nodes)} nodes{where}>"
