"""Running a plan: cache look-ups, node calls, statistics, progress events.

The executor is a short loop over the plan's steps in topological order. It
loads cached values, computes the rest, stores every computed output in the
cache, frees a value once its last consumer has run, and reports progress
through an event callback (never a print). Sinks write to temporary files that
are committed (:mod:`graphengine.outputs`) only once every node has succeeded:
a failed or killed run leaves no partial output.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphengine import outputs as sink_outputs
from graphengine.blocks import DEFAULT_BLOCK_SIZE, Member, MemberError, Region, run_region
from graphengine.cache import Cache
from graphengine.context import NodeContext
from graphengine.entries import freeze_outputs, from_entry, to_entry
from graphengine.errors import GraphError, NodeRunError
from graphengine.fsutil import os_error_reason
from graphengine.plan import (
    COMPUTE,
    LOAD,
    PROVIDED,
    SKIP,
    NodeKey,
    Plan,
    Step,
    Unit,
    file_version,
    group_units,
    make_plan,
    value_hash,
)
from graphengine.plan import compute_keys as _compute_keys
from graphengine.types import Audio, Value
from graphengine.validate import ValidGraph, ValidNode

COMPUTED, CACHED = "computed", "cached"


@dataclass(frozen=True)
class Event:
    """A progress event: ``run_start``, ``node_start``, ``node_end``, ``node_progress``,
    ``warning``, ``run_end``."""

    kind: str
    node_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


EventCallback = Callable[[Event], None]


@dataclass
class NodeStats:
    """Per-node statistics of one run."""

    node: str
    type: str
    status: str
    seconds: float
    bytes: int
    key: str
    reason: str
    fused: str = ""
    """The compiled run of a streaming region this node ran in (ids joined by ``>``), or ""."""

    def as_dict(self) -> dict[str, Any]:
        data = {
            "node": self.node,
            "type": self.type,
            "status": self.status,
            "seconds": round(self.seconds, 6),
            "bytes": self.bytes,
            "key": self.key,
            "reason": self.reason,
        }
        return data | ({"fused": self.fused} if self.fused else {})


@dataclass
class RunReport:
    """What a run produced: wanted values, written files, statistics, warnings."""

    values: dict[str, dict[str, Value]]
    keys: dict[str, NodeKey]
    stats: list[NodeStats]
    outputs: list[Path]
    warnings: list[str]


class _CacheMiss(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


# -- the executor -----------------------------------------------------------------------


class Executor:
    """Runs validated graphs against one cache.

    Parameters
    ----------
    cache : Cache or None
        ``None`` disables caching: everything is computed, sinks always write.
    on_event : callable, optional
        Receives :class:`Event` objects.
    """

    def __init__(
        self,
        cache: Cache | None,
        on_event: EventCallback | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
    ) -> None:
        self.cache = cache
        self.on_event = on_event or (lambda event: None)
        self.block_size = block_size
        self._created_dirs: list[Path] = []
        self._recovered: set[Path] = set()  # output folders cleaned of killed runs' files

    def keys(self, valid: ValidGraph, values: Mapping[str, Value]) -> dict[str, NodeKey]:
        if self.cache is None:  # nothing is looked up: spare hashing large arrays
            hashes = {node_id: f"uncached-{secrets.token_hex(16)}" for node_id in values}
        else:
            hashes = {node_id: value_hash(*value.to_arrays()) for node_id, value in values.items()}
        return _compute_keys(valid, hashes, read_files=self.cache is not None)

    def plan(
        self,
        valid: ValidGraph,
        keys: dict[str, NodeKey],
        targets: Iterable[str] | None,
        missing: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> Plan:
        cache = self.cache
        for folder in sink_outputs.output_folders(valid):  # before sidecars are trusted
            sink_outputs.recover_folder(folder)

        def is_cached(key: str) -> bool:
            return cache is not None and key not in missing and cache.contains(key)

        def current(node: ValidNode, key: NodeKey) -> bool:
            return cache is not None and sink_outputs.sink_is_current(node, key)

        return make_plan(valid, keys, targets=targets, is_cached=is_cached, sink_is_current=current)

    def run(
        self,
        valid: ValidGraph,
        *,
        values: Mapping[str, Value] | None = None,
        targets: Iterable[str] | None = None,
    ) -> RunReport:
        """Run every step needed for ``targets`` (node ids; ``None``: every sink)."""
        values = dict(values or {})
        targets = list(targets) if targets is not None else None
        keys = self.keys(valid, values)
        missing: set[str] = set()
        while True:
            plan = self.plan(valid, keys, targets, missing)
            try:
                return self._run_plan(plan, values)
            except _CacheMiss as miss:  # an entry vanished or was corrupt: plan again without it
                missing.add(miss.key)

    def _run_plan(self, plan: Plan, provided: Mapping[str, Value]) -> RunReport:
        valid = plan.valid
        self.on_event(Event("run_start", None, {"nodes": len(plan.steps), "file": valid.file}))
        run = _RunState(plan, provided)
        self._created_dirs = []
        self._recovered = set()
        try:
            for unit in group_units(plan, cache_taps=self.cache is not None):
                if unit.streaming:
                    self._run_region(unit, run)
                else:
                    self._run_step(unit.steps[0], run)
            self._flush_cache(run.warnings)
            written = sink_outputs.commit(run.pending_outputs, plan.valid, plan.keys)
        except BaseException:
            self._flush_cache(run.warnings)
            for _node, temps in run.pending_outputs:
                sink_outputs.discard(temps)
            sink_outputs.remove_empty(self._created_dirs)
            raise
        self.on_event(Event("run_end", None, {"written": [str(p) for p in written]}))
        wanted = {node_id: run.live[node_id] for node_id in plan.wanted if node_id in run.live}
        order = {node_id: index for index, node_id in enumerate(valid.order)}
        stats = sorted(run.stats, key=lambda s: order[s.node])
        return RunReport(wanted, plan.keys, stats, written, run.warnings)

    def _run_step(self, step: Step, run: _RunState) -> None:
        valid = run.plan.valid
        node = valid.nodes[step.node_id]
        self.on_event(Event("node_start", node.id, {"action": step.action}))
        started = time.perf_counter()
        if step.action == PROVIDED:
            run.live[node.id] = {node.spec.outputs[0].name: run.provided[node.id]}
            status = "provided"
        elif step.action == LOAD:
            run.live[node.id] = self._load(step.key.key)
            status = CACHED
        elif step.action == SKIP:
            status = CACHED
        else:
            outputs, temps = self._compute(node, run.live, valid, run.warnings)
            freeze_outputs(outputs)
            try:
                _check_inputs_unchanged(node, step.key, valid.file)
            except NodeRunError:
                sink_outputs.discard(temps)
                raise
            run.live[node.id] = outputs
            if temps:
                run.pending_outputs.append((node, temps))
            self._store(node, step, outputs)
            status = COMPUTED
        seconds = time.perf_counter() - started
        run.finish(node, step, status, seconds)
        self.on_event(Event("node_end", node.id, {"status": status, "seconds": seconds}))

    def _store(self, node: ValidNode, step: Step, outputs: Mapping[str, Value]) -> None:
        if self.cache is not None and outputs:
            entry = to_entry(outputs, node, step.key)
            self.cache.put(step.key.key, entry, owned=True, background=True)

    def _run_region(self, unit: Unit, run: _RunState) -> None:
        """Run a region of streaming nodes block by block (see :mod:`graphengine.blocks`)."""
        valid = run.plan.valid
        graph = valid.graph
        ids = set(unit.node_ids)
        members: list[Member] = []
        temps_of: dict[str, dict[str, Path]] = {}
        for step in unit.steps:
            node = valid.nodes[step.node_id]
            self.on_event(Event("node_start", node.id, {"action": step.action}))
            ctx, params, temps = self._context(node, valid, run.warnings)
            temps_of[node.id] = temps
            sources: list[tuple[str, Any]] = []
            for port in node.spec.inputs:
                for ref in node.inputs.get(port.name, ()):
                    if ref.node in ids:
                        sources.append(("node", ref.node))
                    else:
                        sources.append(("value", run.live[ref.node][ref.port]))
            if node.spec.is_sink:
                ref = node.inputs["in"][0]
                channels, frames = valid.nodes[ref.node].info[ref.port].shape
            else:
                channels, frames = node.info["out"].shape
            instance = node.spec.block_class(ctx, **params)
            members.append(
                Member(node.id, instance, sources, channels, frames, node.id in unit.taps)
            )

        def progress(done: int, total: int) -> None:
            self.on_event(Event("block", None, {"frames": done, "total": total}))

        def warn(message: str) -> None:
            run.warnings.append(message)
            self.on_event(Event("warning", None, {"message": message}))

        region = Region(members, self.block_size, graph.sample_rate, progress, on_warning=warn)
        try:
            taps = run_region(region)
        except BaseException as error:
            for temps in temps_of.values():
                sink_outputs.discard(temps)
            if isinstance(error, MemberError):
                node = valid.nodes[error.node_id]
                raise _run_error(node, error.error, graph.file) from error.error
            raise
        try:
            for step in unit.steps:
                _check_inputs_unchanged(valid.nodes[step.node_id], step.key, graph.file)
        except NodeRunError:
            for temps in temps_of.values():
                sink_outputs.discard(temps)
            raise
        for member, step in zip(members, unit.steps, strict=True):
            node = valid.nodes[step.node_id]
            temps = temps_of[node.id]
            if temps:
                sink_outputs.check_written(node, temps, graph.file)
                run.pending_outputs.append((node, temps))
            if member.node_id in taps:
                outputs = {"out": Audio(taps[member.node_id], graph.sample_rate)}
                freeze_outputs(outputs)
                run.live[node.id] = outputs
                self._store(node, step, outputs)
            run.finish(node, step, COMPUTED, member.seconds)
            run.stats[-1].fused = member.fused
            end = {"status": COMPUTED, "seconds": member.seconds}
            self.on_event(
                Event("node_end", node.id, end | ({"fused": member.fused} if member.fused else {}))
            )

    def _flush_cache(self, warnings: list[str]) -> None:
        if self.cache is None:
            return
        for error in self.cache.flush():
            message = f"cache: an entry was not stored ({type(error).__name__}: {error})"
            warnings.append(message)
            self.on_event(Event("warning", None, {"message": message}))

    def _load(self, key: str) -> dict[str, Value]:
        entry = self.cache.get(key) if self.cache is not None else None
        if entry is None:
            raise _CacheMiss(key)
        try:
            return from_entry(entry)
        except (KeyError, TypeError, ValueError):
            raise _CacheMiss(key) from None

    def _temp_path(self, final: Path) -> Path:
        return sink_outputs.temp_path_for(final, self._created_dirs, self._recovered)

    def _context(
        self, node: ValidNode, valid: ValidGraph, warnings: list[str]
    ) -> tuple[NodeContext, dict[str, Any], dict[str, Path]]:
        """The node's context, its parameters (output paths made temporary) and its temps."""
        params = dict(node.params)
        temps: dict[str, Path] = {}  # final path -> temporary path
        for name in sink_outputs.output_params(node):
            try:
                temps[params[name]] = self._temp_path(Path(params[name]))
            except OSError as error:
                reason = os_error_reason(error.errno, str(error))
                message = f"cannot write {params[name]}: {reason}"
                raise NodeRunError(node.id, name, message, node.type, file=valid.file) from None
            params[name] = str(temps[params[name]])

        def open_output(path: str) -> str:
            final = str(Path(path).resolve())
            if final not in temps:
                temps[final] = self._temp_path(Path(final))
            return str(temps[final])

        def emit(kind: str, data: dict) -> None:
            if kind == "warning":
                warnings.append(f"{node.id} [{node.type}]: {data['message']}")
            self.on_event(Event(kind, node.id, data))

        finals = {str(temp): final for final, temp in temps.items()}
        graph = valid.graph
        ctx = NodeContext(
            node.id,
            node.type,
            graph.sample_rate,
            graph.base_dir,
            emit,
            open_output,
            finals,
            sources=node.sources(),
        )
        return ctx, params, temps

    def _compute(
        self,
        node: ValidNode,
        live: Mapping[str, dict[str, Value]],
        valid: ValidGraph,
        warnings: list[str],
    ) -> tuple[dict[str, Value], dict[str, Path]]:
        inputs: dict[str, Any] = {}
        for port in node.spec.inputs:
            refs = node.inputs.get(port.name, ())
            got = [live[ref.node][ref.port] for ref in refs]
            inputs[port.name] = got if port.variadic else (got[0] if got else None)
        ctx, params, temps = self._context(node, valid, warnings)
        try:
            outputs = node.spec.call(inputs, params, ctx)
        except BaseException as error:
            sink_outputs.discard(temps)
            if isinstance(error, Exception):
                raise _run_error(node, error, valid.graph.file) from error
            raise
        sink_outputs.check_written(node, temps, valid.graph.file)
        return outputs, temps


def _run_error(node: ValidNode, error: Exception, file: str | None) -> GraphError:
    """A node's failure while running, as the error the CLI reports (exit 1)."""
    if isinstance(error, NodeRunError):
        return error.with_file(file)
    if isinstance(error, GraphError):  # a problem only running could find
        where = getattr(error, "port_or_param", None)
        return NodeRunError(node.id, where, error.message, node.type, file=file)
    message = f"failed: {type(error).__name__}: {error}"
    return NodeRunError(node.id, None, message, node.type, file=file)


def _check_inputs_unchanged(node: ValidNode, key: NodeKey, file: str | None) -> None:
    """The node read the files its key hashed: none was replaced or rewritten since.

    A file changed in between would put its new content under the old
    content's key, served from the cache from then on: that is an error, and
    nothing of the node is stored or written.
    """
    for name in node.spec.input_paths:
        path = node.params.get(name)
        if path is None or path not in key.files:
            continue
        try:
            now = file_version(path)
        except OSError:
            now = None
        if now != key.files[path]:
            message = (
                f"{path} changed while the graph was rendering; nothing was stored or "
                "written (render again)"
            )
            raise NodeRunError(node.id, name, message, node.type, file=file)


class _RunState:
    """What one run keeps: live values, statistics, warnings, outputs to commit."""

    def __init__(self, plan: Plan, provided: Mapping[str, Value]) -> None:
        self.plan = plan
        self.provided = provided
        self.live: dict[str, dict[str, Value]] = {}
        self.stats: list[NodeStats] = []
        self.warnings: list[str] = []
        self.pending_outputs: list[tuple[ValidNode, dict[str, Path]]] = []
        self.remaining = _consumer_counts(plan)

    def finish(self, node: ValidNode, step: Step, status: str, seconds: float) -> None:
        """Record a node's statistics and free the inputs it was the last to read."""
        nbytes = sum(v.nbytes for v in self.live.get(node.id, {}).values())
        self.stats.append(
            NodeStats(node.id, node.type, status, seconds, nbytes, step.key.key, step.reason)
        )
        if step.action != COMPUTE:
            return
        for refs in node.inputs.values():
            for ref in refs:
                self.remaining[ref.node] -= 1
                if self.remaining[ref.node] == 0 and ref.node not in self.plan.wanted:
                    self.live.pop(ref.node, None)


def _consumer_counts(plan: Plan) -> dict[str, int]:
    counts = {step.node_id: 0 for step in plan.steps}
    for step in plan.steps:
        if step.action != COMPUTE:
            continue
        for refs in plan.valid.nodes[step.node_id].inputs.values():
            for ref in refs:
                counts[ref.node] = counts.get(ref.node, 0) + 1
    return counts
