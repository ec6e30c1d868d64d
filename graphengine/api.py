"""The embedding API: load a graph, build one in Python, run it, read results.

import graphengine as ge
graph = ge.load("graphs/demo.toml")
result = graph.run(params={"tempo": 0.5})
audio = result["mix"]            # the default output of node "mix"
result.stats                     # per node: status, seconds, bytes

g = ge.Graph(sample_rate=44100)
g.add("osc", "source.tone", frequency="A4", duration_s=2.0)
g.add("out", "sink.wav", path="a.wav")
g.connect("osc", "out.in")
g.run()
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphengine import graphfile
from graphengine.blocks import DEFAULT_BLOCK_SIZE
from graphengine.cache import Cache, CacheFolderError, MemoryLRU, open_disk_cache
from graphengine.entries import from_entry
from graphengine.errors import GraphError
from graphengine.execute import COMPUTED, EventCallback, Executor, NodeStats
from graphengine.explain import explain
from graphengine.graph import GraphDocument, PortRef
from graphengine.plan import NodeKey
from graphengine.registry import Registry, default_registry
from graphengine.types import Value
from graphengine.validate import DEFAULT_MEMORY_BUDGET, ValidGraph, validate

CACHE_DIR_NAME = ".graphengine-cache"
MEMORY_CACHE_BYTES = int(os.environ.get("GRAPHENGINE_MEMORY_CACHE_BYTES", 1 << 30))

_MEMORY = MemoryLRU(MEMORY_CACHE_BYTES)
_CACHES: dict[str, Cache] = {}
_RUN_RECORDS: dict[str, dict[str, Any]] = {}


def open_cache(directory: str | os.PathLike | None) -> Cache:
    """The process's cache for a directory (``None``: memory only), sharing one memory LRU.

    The folder is checked before anything runs (:func:`graphengine.cache.open_disk_cache`):
    one that cannot be used gives a memory-only cache whose ``warning`` says why,
    and is checked again on the next call.

    Raises
    ------
    GraphError
        If ``directory`` names an existing regular file (exit 2).
    """
    if directory is None:
        return _CACHES.setdefault("", Cache(None, memory=_MEMORY))
    name = str(Path(directory).expanduser().resolve())
    cache = _CACHES.get(name)
    if cache is None:
        try:
            cache = open_disk_cache(name, memory=_MEMORY)
        except CacheFolderError as error:
            raise GraphError(str(error)) from None
        if cache.disk is not None:
            _CACHES[name] = cache
    return cache


@dataclass
class Result:
    """The outcome of :meth:`Graph.run`.

    ``result["node"]`` is a node's default output, ``result["node.port"]`` a
    named one (loaded from the cache on demand when the run did not keep it).
    """

    values: dict[str, dict[str, Value]]
    stats: list[NodeStats]
    outputs: list[Path]
    warnings: list[str]
    keys: dict[str, NodeKey] = field(repr=False)
    valid: ValidGraph = field(repr=False)
    cache: Cache | None = field(default=None, repr=False)

    def __getitem__(self, name: str) -> Value:
        ref = self.valid.graph.resolve_alias(PortRef.parse(name))
        node = self.valid.nodes.get(ref.node)
        if node is None:
            raise KeyError(f"no node {ref.node!r} in this graph")
        port = ref.port or node.spec.default_output
        if port is None or node.spec.output(port) is None:
            raise KeyError(f"{ref.node} [{node.type}] has no output {ref.port or 'out'!r}")
        values = self.values.get(ref.node)
        if values is None and self.cache is not None:
            entry = self.cache.get(self.keys[ref.node].key)
            if entry is not None:
                values = from_entry(entry)
                self.values[ref.node] = values
        if values is None:
            raise KeyError(
                f"{name!r} was not kept by this run; ask for it with run(outputs=[{name!r}])"
            )
        return values[port]

    def __contains__(self, name: str) -> bool:
        try:
            self[name]
        except KeyError:
            return False
        return True

    def stats_dicts(self) -> list[dict[str, Any]]:
        """Statistics as plain dicts (what ``--stats`` writes)."""
        return [s.as_dict() for s in self.stats]

    @property
    def computed(self) -> list[str]:
        """Ids of the nodes this run computed."""
        return [s.node for s in self.stats if s.status == COMPUTED]

    def __repr__(self) -> str:
        from graphengine import display

        return display.result_repr(self)

    def _repr_html_(self) -> str:
        from graphengine import display

        return display.result_html(self)


class Graph(GraphDocument):
    """A graph document you can validate, run and save.

    Build one with :meth:`add` and :meth:`connect`, or load a file with
    :func:`load`. Node keyword arguments are parameters and input ports;
    ``in`` is a Python keyword, so write ``in_="osc"`` or use :meth:`connect`.
    """

    def resolve(self, params: Mapping[str, Any] | None = None, registry: Registry | None = None):
        return graphfile.resolve(self, registry or default_registry(), params)

    def validate(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        inputs: Mapping[str, Value] | None = None,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        registry: Registry | None = None,
    ) -> ValidGraph:
        """Resolve and check the graph; raise a :class:`GraphError` listing every problem."""
        registry = registry or default_registry()
        resolved = graphfile.resolve(self, registry, params, collect=True)
        return validate(resolved, registry, values=inputs, memory_budget=memory_budget)

    def cache_dir(self) -> Path | None:
        """Where this graph's disk cache lives by default: in the folder the graph lives in.

        That is next to its file; for a graph read from an output's sidecar, next
        to the graph file that rendered it (None, memory only, when that is not
        known), so a cache is never planted among the outputs.
        """
        home = self.home
        return home / CACHE_DIR_NAME if home is not None else None

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        outputs: Iterable[str] | None = None,
        cache: bool | str | os.PathLike = True,
        *,
        inputs: Mapping[str, Value] | None = None,
        on_event: EventCallback | None = None,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        registry: Registry | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
    ) -> Result:
        """Validate and run the graph.

        Parameters
        ----------
        params : mapping, optional
            Overrides: graph parameters (``"delay_ms"``) or node parameters (``"echo.feedback"``).
        outputs : iterable of str, optional
            Node outputs to compute and keep (``"node"`` or ``"node.port"``); only
            they and their ancestors run, so other sinks do not (a sink named
            here does). ``None`` runs every sink.
        cache : bool or path
            ``True``: the memory cache plus a disk cache next to the graph file;
            a path: the disk cache there; ``False``: compute everything. A folder
            that cannot be written, or that holds other files than a cache, is
            not used: the run goes on memory-only with a warning; a path naming
            a regular file raises :class:`GraphError`.
        inputs : mapping, optional
            Node id -> value used as that node's output (e.g. ``{"src": Audio(...)}``).
        on_event : callable, optional
            Progress callback receiving :class:`graphengine.execute.Event`.
        memory_budget : int
            Largest output, in bytes, any node may produce.
        registry : Registry, optional
            Node types to use instead of the installed ones.
        block_size : int > 0
            Frames per block for chains of streaming nodes. The output does not
            depend on it; memory and speed do.
        """
        valid = self.validate(params, inputs=inputs, memory_budget=memory_budget, registry=registry)
        return self.execute(
            valid, outputs, cache, inputs=inputs, on_event=on_event, block_size=block_size
        )

    def execute(
        self,
        valid: ValidGraph,
        outputs: Iterable[str] | None = None,
        cache: bool | str | os.PathLike = True,
        *,
        inputs: Mapping[str, Value] | None = None,
        on_event: EventCallback | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
    ) -> Result:
        """Run a graph :meth:`validate` already checked (same arguments as :meth:`run`)."""
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise GraphError(f"block_size must be a positive integer, got {block_size!r}")
        targets = None if outputs is None else [target_node(valid, name) for name in outputs]
        if cache is False:
            store = None
        elif cache is True:
            store = open_cache(self.cache_dir())
        else:
            store = open_cache(cache)
        executor = Executor(store, on_event, block_size=block_size)
        report = executor.run(valid, values=inputs, targets=targets)
        if store is not None and store.warning:
            report.warnings.insert(0, store.warning)
        self._explain(report.stats, report.keys, store, valid)
        return Result(
            report.values, report.stats, report.outputs, report.warnings, report.keys, valid, store
        )

    def _record_name(self) -> str:
        identity = str(self.path.resolve()) if self.path is not None else f"memory:{id(self)}"
        return "run-" + hashlib.sha256(identity.encode()).hexdigest()[:24]

    def _explain(
        self,
        stats: list[NodeStats],
        keys: Mapping[str, NodeKey],
        store: Cache | None,
        valid: ValidGraph,
    ) -> None:
        """Give each computed node its reason, and record what each node ran with.

        The record keeps, per node, the key material of its last value: a node
        this run did not reach (outside a ``--target``) keeps what it had, so a
        later run explains it against the value it really had.
        """
        name = self._record_name()
        previous = _RUN_RECORDS.get(name)
        if previous is None and store is not None and store.disk is not None:
            previous = store.disk.get_record(name)
        previous = previous or {}
        for stat in stats:
            if stat.status == COMPUTED:
                node = valid.nodes.get(stat.node)
                feeds = node.inputs if node is not None else {}
                sources = {port: [ref.node for ref in refs] for port, refs in feeds.items()}
                stat.reason = explain(keys[stat.node].material, previous.get(stat.node), sources)
        reached = {stat.node for stat in stats}
        record = {
            node_id: key.material if node_id in reached else previous[node_id]
            for node_id, key in keys.items()
            if node_id in reached or node_id in previous
        }
        _RUN_RECORDS[name] = record
        if store is not None and store.disk is not None:
            with contextlib.suppress(OSError):  # only later --explain reasons need it
                store.disk.put_record(name, record)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the graph to a .toml or .json file (a round trip gives an equal graph)."""
        return graphfile.save(self, path)


def target_node(valid: ValidGraph, name: str, label: str = "outputs") -> str:
    """The node id an ``outputs`` entry names, checking the node and the port exist.

    ``label`` starts the error message (the CLI passes ``--target``).
    """
    ref = valid.graph.resolve_alias(PortRef.parse(name))
    node = valid.nodes.get(ref.node)
    if node is None:
        hint = graphfile.did_you_mean(ref.node, valid.nodes)
        raise GraphError(f"{label}: no node {ref.node!r}{hint}", file=valid.file)
    if ref.port is not None and node.spec.output(ref.port) is None:
        names = ", ".join(p.name for p in node.spec.outputs) or "none"
        raise GraphError(
            f"{label}: {ref.node} [{node.type}] has no output {ref.port!r} (outputs: {names})",
            file=valid.file,
        )
    return ref.node


def load(source: str | os.PathLike | Mapping[str, Any] | GraphDocument) -> Graph:
    """Load a graph from a TOML/JSON file, a dict tree, or a provenance sidecar.

    A sidecar (``out.wav.graph.json``) holds the graph as it was run, so any
    output can be rendered again from it.
    """
    if isinstance(source, Mapping) and "provenance" in source and "graph" in source:
        source = source["graph"]
        if not isinstance(source, Mapping):
            raise GraphError("a provenance record's 'graph' must be a table (object)")
    document = graphfile.load(source)
    graph = Graph(
        document.sample_rate,
        name=document.name,
        seed=document.seed,
        params=document.params,
        nodes=document.nodes,
        inputs=document.inputs,
        outputs=document.outputs,
        path=document.path,
    )
    graph.from_sidecar, graph.sidecar_home = document.from_sidecar, document.sidecar_home
    return graph
