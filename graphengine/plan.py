"""Planning: content-addressed cache keys and what a run must do per node.

A node's key is the sha256 of its type, version, code hash, canonical
parameters, the keys of its inputs and the content hashes of the files it
reads, so an edit anywhere upstream changes every key downstream of it and
nothing else. The plan then walks back from what was asked for (sinks and
requested outputs) and marks each node ``compute``, ``load`` (its value is
cached) or ``skip`` (nothing downstream needs it).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphengine.errors import ParamError
from graphengine.toposort import Digraph
from graphengine.validate import ValidGraph, ValidNode

ENGINE_KEY_VERSION = 2
"""Bump when the key recipe changes, so old cache entries are never matched."""

COMPUTE, LOAD, SKIP, PROVIDED = "compute", "load", "skip", "provided"


@dataclass(frozen=True)
class NodeKey:
    """A node's cache key and the material it was hashed from (for ``--explain``)."""

    key: str
    material: dict[str, Any]
    files: dict[str, FileVersion] = field(default_factory=dict, compare=False)
    """Path -> the version of each input file the key hashed (see :func:`file_version`)."""


@dataclass
class Step:
    """What the executor does for one node, and why."""

    node_id: str
    action: str
    reason: str
    key: NodeKey


@dataclass
class Plan:
    """Keys and actions for every node in scope, in execution order."""

    valid: ValidGraph
    keys: dict[str, NodeKey]
    steps: list[Step] = field(default_factory=list)
    wanted: set[str] = field(default_factory=set)

    def step(self, node_id: str) -> Step:
        return next(s for s in self.steps if s.node_id == node_id)


FileVersion = tuple[int, int, int]
"""A file's (size, modification time in ns, inode): what changes when it is rewritten."""

_FILE_HASHES: dict[tuple[str, FileVersion], str] = {}


def file_version(path: str) -> FileVersion:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def file_hash(path: str) -> tuple[str, FileVersion]:
    """sha256 of a file's content and the version it was read at, memoised on that version.

    A file that changes while it is read is read again (a few times, then an
    ``OSError``), so the digest always belongs to the version returned.
    """
    for _ in range(3):
        version = file_version(path)
        digest = _FILE_HASHES.get((path, version))
        if digest is not None:
            return digest, version
        hasher = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(chunk)
        if file_version(path) == version:
            _FILE_HASHES[(path, version)] = hasher.hexdigest()
            return _FILE_HASHES[(path, version)], version
    raise OSError(f"{path} kept changing while it was read")


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, floats as repr."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def value_hash(arrays: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """Content hash of a value fed from Python (its arrays and metadata)."""
    hasher = hashlib.sha256(canonical(dict(meta)).encode())
    for name in sorted(arrays):
        array = arrays[name]
        hasher.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        hasher.update(memoryview(array.tobytes()))
    return hasher.hexdigest()


def _hash_input(node: ValidNode, name: str, read: bool) -> tuple[str, FileVersion]:
    """A file parameter's content hash and version (``read=False``: the version stands in)."""
    path = node.params[name]
    try:
        if not read:
            version = file_version(path)
            return "version:" + ":".join(map(str, version)), version
        return file_hash(path)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ParamError(node.id, name, f"cannot read {path}: {reason}", node.type) from None


def node_key(
    node: ValidNode,
    input_keys: Mapping[str, list[str]],
    provided_hash: str | None = None,
    code: dict[str, Any] | None = None,
    read_files: bool = True,
) -> NodeKey:
    """Hash everything a node's outputs depend on (``code``: ``node.spec.code`` if known).

    ``read_files=False`` keys input files by their version instead of their
    content: for a run without a cache, whose keys are never looked up.
    """
    spec = node.spec
    if provided_hash is not None:
        material: dict[str, Any] = {
            "engine": ENGINE_KEY_VERSION,
            "provided": provided_hash,
            "type": spec.type_id,
        }
    else:
        hashed = {
            n: _hash_input(node, n, read_files) for n in spec.input_paths if node.params.get(n)
        }
        files = {name: digest for name, (digest, _) in hashed.items()}
        versions = {node.params[name]: version for name, (_, version) in hashed.items()}
        material = {
            "engine": ENGINE_KEY_VERSION,
            "type": spec.type_id,
            "version": spec.version,
            "code": spec.code if code is None else code,
            "params": {k: v for k, v in node.params.items() if k not in files},
            "inputs": dict(input_keys),
            "files": files,
        }
    key = hashlib.sha256(canonical(material).encode()).hexdigest()
    return NodeKey(key, material, versions if provided_hash is None else {})


def compute_keys(
    valid: ValidGraph, provided_hashes: Mapping[str, str], *, read_files: bool = True
) -> dict[str, NodeKey]:
    """Keys of every node, in topological order: O(n + e), no recursion at any depth.

    A node type's code identity walks its modules, so it is taken once per type.
    ``read_files``: see :func:`node_key`.
    """
    keys: dict[str, NodeKey] = {}
    codes: dict[int, dict[str, Any]] = {}
    for node_id in valid.order:
        node = valid.nodes[node_id]
        input_keys = {
            port: [f"{keys[ref.node].key}:{ref.port}" for ref in refs]
            for port, refs in node.inputs.items()
        }
        if id(node.spec) not in codes:
            codes[id(node.spec)] = node.spec.code
        code = codes[id(node.spec)]
        keys[node_id] = node_key(
            node, input_keys, provided_hashes.get(node_id), code, read_files=read_files
        )
    return keys


def make_plan(
    valid: ValidGraph,
    keys: dict[str, NodeKey],
    *,
    targets: Iterable[str] | None,
    is_cached: Callable[[str], bool],
    sink_is_current: Callable[[ValidNode, NodeKey], bool],
) -> Plan:
    """Decide, per node in scope, whether to compute, load or skip it.

    Parameters
    ----------
    targets : iterable of node ids, optional
        The nodes whose results are wanted; ``None`` means every sink.
    is_cached : callable
        ``is_cached(key) -> bool``, whether the cache holds a key.
    sink_is_current : callable
        Whether a sink's files already hold what this key would write.
    """
    if targets is None:
        wanted = {node_id for node_id, node in valid.nodes.items() if node.spec.is_sink}
    else:
        wanted = set(targets)
    scope = valid.ancestors(wanted)
    needed: set[str] = set(wanted)
    plan = Plan(valid, keys, wanted=wanted)
    decided: dict[str, Step] = {}
    for node_id in reversed(valid.order):
        if node_id not in scope:
            continue
        node = valid.nodes[node_id]
        key = keys[node_id]
        if node_id in valid.provided:
            step = Step(node_id, PROVIDED, "value given from Python", key)
        elif node_id not in needed:
            step = Step(node_id, SKIP, "not needed: everything downstream is cached", key)
        elif node.spec.is_sink:
            if sink_is_current(node, key):
                step = Step(node_id, SKIP, "output file is up to date", key)
            else:
                step = Step(node_id, COMPUTE, "", key)
        elif is_cached(key.key):
            step = Step(node_id, LOAD, "cache hit", key)
        else:
            step = Step(node_id, COMPUTE, "", key)
        if step.action == COMPUTE:
            for refs in node.inputs.values():
                needed.update(ref.node for ref in refs)
        decided[node_id] = step
    plan.steps = [decided[node_id] for node_id in valid.order if node_id in decided]
    return plan


# -- streaming regions ----------------------------------------------------------------

STREAM_TAP_BYTES = 256 << 20
"""Largest streamed output the cache keeps (gathered whole); longer ones stream through."""
STREAM_TAP_TOTAL_BYTES = 512 << 20
"""Most bytes of streamed outputs one region gathers for the cache."""


@dataclass
class Unit:
    """One thing the executor does: a single node step, or a streaming region of steps.

    ``taps`` names the region members whose whole output is gathered: those
    read by nodes outside the region, asked for, or small enough to cache.
    """

    steps: list[Step]
    streaming: bool = False
    taps: set[str] = field(default_factory=set)

    @property
    def node_ids(self) -> list[str]:
        return [step.node_id for step in self.steps]


def _streamable(valid: ValidGraph, step: Step) -> bool:
    node = valid.nodes[step.node_id]
    if step.action != COMPUTE or not node.spec.streaming:
        return False
    rate = valid.graph.sample_rate
    for refs in node.inputs.values():
        for ref in refs:
            info = valid.nodes[ref.node].info.get(ref.port or "")
            if info is None or info.shape is None or info.type != "audio":
                return False
            if info.sample_rate is not None and info.sample_rate != rate:
                return False  # another rate than the graph's: run it whole
    out = node.info.get("out")
    return node.spec.is_sink or (out is not None and out.shape is not None)


class _UnitGraph:
    """The graph of units while streaming steps are merged into regions.

    A union-find over node ids names each unit by one member (its root);
    ``succ`` and ``pred`` hold the edges between roots, so the graph stays
    free of self-loops and duplicate edges. Merging moves the edges of the
    unit with fewer of them (small into large), so all merges together cost
    O(e log e) set operations for e edges.
    """

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.succ: dict[str, set[str]] = {}
        self.pred: dict[str, set[str]] = {}

    def find(self, node_id: str) -> str:
        """The root of a node's unit (path halving: amortised near O(1))."""
        parent = self.parent
        while parent[node_id] != node_id:
            parent[node_id] = parent[parent[node_id]]
            node_id = parent[node_id]
        return node_id

    def add(self, node_id: str, inputs: Iterable[str]) -> None:
        """Add a node as a unit of its own, with edges from the units of its inputs."""
        self.parent[node_id] = node_id
        sources = {self.find(source) for source in inputs}
        self.pred[node_id] = sources
        self.succ[node_id] = set()
        for source in sources:
            self.succ[source].add(node_id)

    def merge_would_cycle(self, a: str, b: str) -> bool:
        """Whether merging units ``a`` and ``b`` would make a unit depend on itself.

        The graph is acyclic, so the merged unit lies on a cycle exactly when a
        path of two or more edges joins ``a`` and ``b`` (one direct edge becomes
        internal). Each direction is searched forward from its start and
        backward from its end at once, one edge at a time, and the first search
        to finish answers: the cost is at most twice the smaller search.
        """
        return _joined(self.succ, self.pred, a, b) or _joined(self.succ, self.pred, b, a)

    def merge(self, a: str, b: str) -> None:
        """Make ``a`` and ``b`` one unit; the root with more edges stays."""
        succ, pred = self.succ, self.pred
        if len(succ[a]) + len(pred[a]) < len(succ[b]) + len(pred[b]):
            a, b = b, a
        self.parent[b] = a
        for source in pred.pop(b):
            succ[source].discard(b)
            if source != a:
                succ[source].add(a)
                pred[a].add(source)
        for target in succ.pop(b):
            pred[target].discard(b)
            if target != a:
                pred[target].add(a)
                succ[a].add(target)


def _long_path(adjacent: Mapping[str, set[str]], start: str, end: str) -> Iterator[bool | None]:
    """Search ``adjacent`` from ``start`` for ``end`` along two or more edges.

    Yields None per edge looked at, then whether ``end`` was reached, so that
    two searches can be run in step.
    """
    seen = {start}
    stack = [(node for node in adjacent[start] if node != end)]  # lazy: no copy of a big set
    while stack:
        node = next(stack[-1], None)
        yield None
        if node is None:
            stack.pop()
        elif node == end:
            yield True
            return
        elif node not in seen:
            seen.add(node)
            stack.append(iter(adjacent[node]))
    yield False


def _joined(succ: Mapping[str, set[str]], pred: Mapping[str, set[str]], a: str, b: str) -> bool:
    """Whether a path of two or more edges leads from ``a`` to ``b``."""
    for forward, backward in zip(_long_path(succ, a, b), _long_path(pred, b, a), strict=False):
        if forward is not None:
            return forward
        if backward is not None:
            return backward
    raise AssertionError("unreachable: each search ends with its answer")


def _regions(plan: Plan) -> dict[str, str]:
    """Node id -> root of its region, for every streamable step; merged greedily.

    Steps are taken in topological order and each is merged with the region of
    every streamable input, input by input, unless that would make the graph of
    units cyclic (a region depending on itself through a whole-signal node).
    Every merge keeps that graph acyclic, so grouping never creates a cycle.

    When step ``s`` is merged, every region holds only nodes up to ``s`` in the
    order, and a node after ``s`` only reads nodes after it or earlier ones, so
    no path leaving through a later node comes back: the unit graph of the
    nodes up to ``s`` (added one by one) decides every merge exactly as the
    whole graph would. Cost: O((n + e) log e) for n nodes and e edges, plus the
    searches of :meth:`_UnitGraph.merge_would_cycle`, O(1) each for chains,
    fan-ins and trees of mixes (a searched unit has no other edges).
    """
    valid = plan.valid
    streamable = {step.node_id for step in plan.steps if _streamable(valid, step)}
    units = _UnitGraph()
    for node_id in valid.order:
        node = valid.nodes[node_id]
        refs = [ref for port_refs in node.inputs.values() for ref in port_refs]
        units.add(node_id, (ref.node for ref in refs))
        if node_id not in streamable:
            continue
        for ref in refs:
            if ref.node not in streamable:
                continue
            a, b = units.find(ref.node), units.find(node_id)
            if a != b and not units.merge_would_cycle(a, b):
                units.merge(a, b)
    return {node_id: units.find(node_id) for node_id in streamable}


def group_units(plan: Plan, *, cache_taps: bool) -> list[Unit]:
    """Group the plan's steps into units: connected streaming steps become one region.

    Two connected streaming steps share a region unless that would make a
    region depend on itself through a whole-signal node (see :func:`_regions`).
    Units come out in an order that respects every dependency, the unit of the
    earliest step first among those ready. O((n + e) log n) for n nodes, e edges.
    """
    valid = plan.valid
    regions = _regions(plan)
    units: dict[Any, Unit] = {}
    owner: dict[str, Any] = {}
    first: dict[Any, int] = {}
    for index, step in enumerate(plan.steps):
        region = regions.get(step.node_id)
        key = ("region", region) if region is not None else ("node", step.node_id)
        if key not in units:
            units[key] = Unit([], streaming=region is not None)
            first[key] = index
        units[key].steps.append(step)
        owner[step.node_id] = key
    order = Digraph(units)
    read_outside: set[str] = set()
    for step in plan.steps:
        for refs in valid.nodes[step.node_id].inputs.values():
            for ref in refs:
                if ref.node in owner and owner[ref.node] != owner[step.node_id]:
                    order.add_edge(owner[ref.node], owner[step.node_id])
                    if step.action == COMPUTE:
                        read_outside.add(ref.node)
    keys = order.order(key=first.get)
    if keys is None:  # _regions never merges steps into a cycle
        raise RuntimeError(f"units depend on each other: {order.cycle()}")
    ordered = [units[k] for k in keys]
    for unit in ordered:
        if unit.streaming:
            unit.taps = _taps(plan, unit, read_outside, cache_taps)
    return ordered


def _taps(plan: Plan, unit: Unit, read_outside: set[str], cache_taps: bool) -> set[str]:
    """The members of a streaming unit whose whole output is gathered. O(unit size).

    ``read_outside`` holds the nodes a computed step of another unit reads.
    """
    valid = plan.valid
    members = unit.node_ids
    taps = {node_id for node_id in members if node_id in read_outside or node_id in plan.wanted}
    taps = {t for t in taps if not valid.nodes[t].spec.is_sink}
    if cache_taps:
        add_cache_taps(valid, members, taps)
    return taps


def add_cache_taps(valid: ValidGraph, members: list[str], taps: set[str]) -> None:
    """Add to ``taps``, in member order, the small outputs worth caching, within the budget.

    An output joins when it is at most STREAM_TAP_BYTES and all taps together
    stay within STREAM_TAP_TOTAL_BYTES; sinks have nothing to keep.
    """
    total = sum(valid.nodes[n].info["out"].nbytes or 0 for n in taps)
    for node_id in members:
        node = valid.nodes[node_id]
        if node.spec.is_sink or node_id in taps:
            continue
        nbytes = node.info["out"].nbytes or 0
        if nbytes <= STREAM_TAP_BYTES and total + nbytes <= STREAM_TAP_TOTAL_BYTES:
            taps.add(node_id)
            total += nbytes
