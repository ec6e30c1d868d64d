"""Planning a batch in the client: check the graph once, then describe every task.

:func:`plan_batch` checks ``bind``, validates the graph with the first
readable input bound (up to :data:`VALIDATION_TRIES` inputs), finds the sinks'
files and the collected outputs, and fingerprints the job so a re-run can skip
what an earlier run with the same graph, overrides, bind and collect did.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphengine import graphfile
from graphengine.api import Graph
from graphengine.distributed.collect import Collect, resolve_collects
from graphengine.distributed.inputs import input_root, output_folders
from graphengine.distributed.records import one_line
from graphengine.distributed.registries import RegistryRef, registry_ref
from graphengine.errors import GraphError, GraphValidationError, NodeError
from graphengine.fileslots import file_slots
from graphengine.registry import Registry, default_registry
from graphengine.validate import ValidGraph

VALIDATION_TRIES = 20
"""Inputs tried, in order, to validate the graph when earlier ones are unreadable."""
FINGERPRINT_VERSION = 1


@dataclass(frozen=True)
class BatchJob:
    """What every task of one batch shares; sent with each task (small, plain data)."""

    tree: dict[str, Any]
    path: str | None
    graph_key: str
    overrides: dict[str, Any]
    bind: str
    targets: tuple[str, ...]
    collect: tuple[Collect, ...]
    cache: str | bool
    memory_budget: int  # bytes
    registry: RegistryRef = None


@dataclass
class BatchPlan:
    """A checked batch: the job, its inputs and where each one's outputs go."""

    job: BatchJob
    inputs: list[Path]
    folders: dict[Path, Path]
    sink_names: dict[str, str]  # "node.param" -> file name under the input's folder
    fingerprint: str
    out_dir: Path
    valid: ValidGraph | None = field(default=None, repr=False)

    def sinks_for(self, path: Path) -> dict[str, str]:
        """The ``OutputPath`` overrides of one input: ``{"node.param": file}``."""
        folder = self.out_dir / self.folders[path]
        return {key: str(folder / name) for key, name in self.sink_names.items()}


def _input_only(error: GraphError, bound: list[tuple[str, str]]) -> bool:
    """Whether every problem in ``error`` is a bound parameter's (i.e. the input file's)."""
    errors = error.errors if isinstance(error, GraphValidationError) else [error]
    return all(isinstance(e, NodeError) and (e.node_id, e.port_or_param) in bound for e in errors)


def _fingerprint(graph: Graph, resolved_files: Iterable[str], job_parts: Mapping[str, Any]) -> str:
    """Hash of the graph file (and its sub-graph files), overrides, bind and collected nodes."""
    hasher = hashlib.sha256(f"graphengine-batch:{FINGERPRINT_VERSION}\n".encode())
    if graph.path is not None and graph.path.is_file():
        hasher.update(graph.path.read_bytes())
    else:
        hasher.update(json.dumps(graph.to_dict(), sort_keys=True, default=str).encode())
    for file in sorted(set(resolved_files)):
        with contextlib.suppress(OSError):
            hasher.update(file.encode() + b"\0" + Path(file).read_bytes())
    hasher.update(json.dumps(job_parts, sort_keys=True, default=str).encode())
    return hasher.hexdigest()[:32]


def _sink_names(valid: ValidGraph) -> dict[str, str]:
    """``node.param`` -> file name, for every output path (file names made unique)."""
    found: list[tuple[str, str, str]] = []
    for node_id in valid.order:
        node = valid.nodes[node_id]
        for name in node.spec.output_paths:
            if node.params.get(name) is not None:
                found.append((node_id, name, Path(node.params[name]).name))
    counts = Counter(file_name for _, _, file_name in found)
    return {
        f"{node_id}.{name}": (
            file_name if counts[file_name] == 1 else f"{node_id.replace('/', '-')}-{file_name}"
        )
        for node_id, name, file_name in found
    }


def _check_bind(
    graph: Graph, node_id: str, name: str, params: Mapping[str, Any], registry: Registry | None
) -> None:
    """``--bind NODE.PARAM`` must name a node and one of its parameters."""
    resolved = graph.resolve(params, registry)
    instance = resolved.nodes.get(node_id)
    if instance is None:
        hint = graphfile.did_you_mean(node_id, resolved.nodes)
        raise GraphError(f"--bind {node_id}.{name}: no node {node_id!r}{hint}", file=graph.file)
    spec = (registry or default_registry()).get(instance.type)
    if spec is not None and spec.param(name) is None:
        hint = graphfile.did_you_mean(name, [p.name for p in spec.params])
        raise GraphError(
            f"--bind {node_id}.{name}: {instance.type} has no parameter {name!r}{hint}",
            file=graph.file,
        )


def _cache_value(graph: Graph, cache: bool | str | os.PathLike, out_dir: Path) -> str | bool:
    """The cache folder the workers use (an absolute path), or ``False`` for none."""
    if cache is True:
        return str(graph.cache_dir() or out_dir / ".graphengine-cache")
    if cache is False:
        return False
    return str(Path(cache).resolve())


def plan_batch(
    graph: Graph,
    inputs: Sequence[Path],
    bases: Sequence[Path],
    *,
    bind: str | None,
    out_dir: Path,
    params: Mapping[str, Any],
    collect: Sequence[str],
    cache: bool | str | os.PathLike,
    root: str | os.PathLike | None,
    memory_budget: int,
    registry: Registry | None,
) -> BatchPlan:
    """Check the batch and describe its tasks; a bad graph or argument raises :class:`GraphError`.

    ``bases`` are the folders the inputs' globs start in (from
    :func:`~graphengine.distributed.inputs.expand_inputs`); ``root`` overrides the
    input root derived from them.
    """
    if not inputs:
        raise GraphError("no input files (check --inputs / --inputs-file)")
    slots = file_slots(graph, registry or default_registry())
    if bind is None:
        bind = slots.one_input("--bind")
    if bind in slots.inputs:
        bound = slots.targets[bind]
    else:
        bind_node, dot, bind_param = bind.rpartition(".")
        if not dot or not bind_node or not bind_param:
            known = ", ".join(slots.inputs) or "none"
            raise GraphError(
                f"--bind {bind!r}: expected a file input of the graph ({known}) or NODE.PARAM",
                file=graph.file,
            )
        _check_bind(graph, bind_node, bind_param, params, registry)
        bound = [(bind_node, bind_param)]
    folders = output_folders(
        inputs, input_root(inputs, bases, None if root is None else Path(root))
    )
    params = dict(params)
    valid: ValidGraph | None = None
    first_error: GraphError | None = None
    first = inputs[0]
    for first in inputs[:VALIDATION_TRIES]:
        try:
            valid = graph.validate(
                {**params, bind: str(first)}, memory_budget=memory_budget, registry=registry
            )
        except GraphError as error:
            if not _input_only(error, bound):
                raise
            first_error = first_error or error
            continue
        break
    if valid is None:
        assert first_error is not None
        raise GraphError(
            f"the graph does not validate with any of the first "
            f"{min(len(inputs), VALIDATION_TRIES)} inputs bound to {bind}; "
            f"the first says: {one_line(first_error)}"
        )
    sink_names = _sink_names(valid)
    collects = resolve_collects(valid, collect)
    if not sink_names and not collects:
        raise GraphError("nothing to do: the graph writes no file and nothing is --collect-ed")
    # validate again with the outputs moved under DIR (writable, no clashes)
    sinks = {k: str(out_dir / folders[first] / n) for k, n in sink_names.items()}
    valid = graph.validate(
        {**params, bind: str(first), **sinks}, memory_budget=memory_budget, registry=registry
    )
    targets = tuple(
        dict.fromkeys(
            [n for n in valid.order if valid.nodes[n].spec.is_sink] + [c.node for c in collects]
        )
    )
    fingerprint = _fingerprint(
        graph,
        valid.graph.node_files.values(),
        {"overrides": params, "bind": bind, "collect": [f"{c.node}.{c.port}" for c in collects]},
    )
    job = BatchJob(
        tree=graph.to_dict(),
        path=str(graph.path.resolve()) if graph.path is not None else None,
        graph_key=fingerprint,
        overrides=params,
        bind=bind,
        targets=targets,
        collect=collects,
        cache=_cache_value(graph, cache, out_dir),
        memory_budget=memory_budget,
        registry=registry_ref(registry),
    )
    return BatchPlan(job, list(inputs), folders, sink_names, fingerprint, out_dir, valid)
