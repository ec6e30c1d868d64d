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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphengine.validate import ValidGraph, ValidNode

ENGINE_KEY_VERSION = 2
"""Bump when the key recipe changes, so old cache entries are never matched."""

COMPUTE, LOAD, SKIP, PROVIDED = "compute", "load", "skip", "provided"


@dataclass(frozen=True)
class NodeKey:
    """A node's cache key and the material it was hashed from (for ``--explain``)."""

    key: str
    material: dict[str, Any]


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


_FILE_HASHES: dict[tuple[str, int, int, int], str] = {}


def file_hash(path: str) -> str:
    """sha256 of a file's content, memoised on (path, size, mtime, inode)."""
    stat = os.stat(path)
    memo_key = (path, stat.st_size, stat.st_mtime_ns, stat.st_ino)
    digest = _FILE_HASHES.get(memo_key)
    if digest is None:
        hasher = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(chunk)
        digest = hasher.hexdigest()
        _FILE_HASHES[memo_key] = digest
    return digest


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


def node_key(
    node: ValidNode, input_keys: Mapping[str, list[str]], provided_hash: str | None = None
) -> NodeKey:
    """Hash everything a node's outputs depend on."""
    spec = node.spec
    if provided_hash is not None:
        material: dict[str, Any] = {
            "engine": ENGINE_KEY_VERSION,
            "provided": provided_hash,
            "type": spec.type_id,
        }
    else:
        files = {n: file_hash(node.params[n]) for n in spec.input_paths if node.params.get(n)}
        material = {
            "engine": ENGINE_KEY_VERSION,
            "type": spec.type_id,
            "version": spec.version,
            "code": spec.code,
            "params": {k: v for k, v in node.params.items() if k not in files},
            "inputs": dict(input_keys),
            "files": files,
        }
    key = hashlib.sha256(canonical(material).encode()).hexdigest()
    return NodeKey(key, material)


def compute_keys(valid: ValidGraph, provided_hashes: Mapping[str, str]) -> dict[str, NodeKey]:
    """Keys of every node, in topological order."""
    keys: dict[str, NodeKey] = {}
    for node_id in valid.order:
        node = valid.nodes[node_id]
        input_keys = {
            port: [f"{keys[ref.node].key}:{ref.port}" for ref in refs]
            for port, refs in node.inputs.items()
        }
        keys[node_id] = node_key(node, input_keys, provided_hashes.get(node_id))
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


def _creates_cycle(groups: dict[str, int], valid: ValidGraph, merged: set[int]) -> bool:
    """Whether merging the groups in ``merged`` into one unit makes the unit graph cyclic."""
    import networkx as nx

    target = min(merged)
    graph = nx.DiGraph()
    for node_id, node in valid.nodes.items():
        here = target if groups.get(node_id) in merged else groups.get(node_id, node_id)
        graph.add_node(here)
        for refs in node.inputs.values():
            for ref in refs:
                there = target if groups.get(ref.node) in merged else groups.get(ref.node, ref.node)
                if there != here:
                    graph.add_edge(there, here)
    return not nx.is_directed_acyclic_graph(graph)


def group_units(plan: Plan, *, cache_taps: bool) -> list[Unit]:
    """Group the plan's steps into units: connected streaming steps become one region.

    Two connected streaming steps share a region unless that would make a
    region depend on itself through a whole-signal node. Units come out in an
    order that respects every dependency.
    """
    import networkx as nx

    valid = plan.valid
    steps = {step.node_id: step for step in plan.steps}
    groups: dict[str, int] = {}
    for index, step in enumerate(plan.steps):
        if _streamable(valid, step):
            groups[step.node_id] = index
    for step in plan.steps:
        if step.node_id not in groups:
            continue
        for refs in valid.nodes[step.node_id].inputs.values():
            for ref in refs:
                a, b = groups.get(ref.node), groups.get(step.node_id)
                if a is None or a == b or _creates_cycle(groups, valid, {a, b}):
                    continue
                for node_id, group in groups.items():
                    if group in (a, b):
                        groups[node_id] = min(a, b)
    units: dict[Any, Unit] = {}
    for step in plan.steps:
        group = groups.get(step.node_id)
        key = ("region", group) if group is not None else ("node", step.node_id)
        unit = units.setdefault(key, Unit([], streaming=group is not None))
        unit.steps.append(step)
    order = nx.DiGraph()
    owner = {step.node_id: key for key, unit in units.items() for step in unit.steps}
    position = {step.node_id: index for index, step in enumerate(plan.steps)}
    first = {key: min(position[s.node_id] for s in unit.steps) for key, unit in units.items()}
    order.add_nodes_from(units)
    for step in plan.steps:
        for refs in valid.nodes[step.node_id].inputs.values():
            for ref in refs:
                if ref.node in owner and owner[ref.node] != owner[step.node_id]:
                    order.add_edge(owner[ref.node], owner[step.node_id])
    ordered = [units[k] for k in nx.lexicographical_topological_sort(order, key=first.get)]
    for unit in ordered:
        if unit.streaming:
            unit.taps = _taps(plan, unit, steps, cache_taps)
    return ordered


def _taps(plan: Plan, unit: Unit, steps: Mapping[str, Step], cache_taps: bool) -> set[str]:
    valid = plan.valid
    members = set(unit.node_ids)
    taps: set[str] = set()
    for node_id, node in valid.nodes.items():
        if node_id in members or steps.get(node_id) is None:
            continue
        if steps[node_id].action != COMPUTE:
            continue
        for refs in node.inputs.values():
            taps.update(ref.node for ref in refs if ref.node in members)
    taps.update(node_id for node_id in plan.wanted if node_id in members)
    taps = {t for t in taps if not valid.nodes[t].spec.is_sink}
    if cache_taps:
        total = sum(valid.nodes[n].info["out"].nbytes or 0 for n in taps)
        for node_id in unit.node_ids:
            node = valid.nodes[node_id]
            if node.spec.is_sink or node_id in taps:
                continue
            nbytes = node.info["out"].nbytes or 0
            if nbytes <= STREAM_TAP_BYTES and total + nbytes <= STREAM_TAP_TOTAL_BYTES:
                taps.add(node_id)
                total += nbytes
    return taps
