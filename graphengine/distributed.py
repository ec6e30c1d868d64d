"""Batch rendering on Dask: one graph over many input files.

``graphengine batch`` and :func:`batch` run one graph once per input file, with
the file bound to a node parameter (``--bind src.path``), on Dask's
distributed scheduler: a ``LocalCluster`` on this machine by default, or any
running cluster given its address. Only this module imports dask, and only
the ``batch`` command and :func:`graphengine.batch` import this module.

The client validates the graph once, with the first input bound, before any
work is sent (a bad graph is exit 2). Each input then becomes one task: the
worker loads the graph once (kept per worker process), binds the input,
points every ``OutputPath`` parameter (the sinks' files) under the output
folder, and runs the graph with the disk cache, which workers share when they
share a filesystem. A failure (an unreadable file, a node error) fails that
input only. Results are appended to ``DIR/manifest.csv`` as they arrive, so an
interrupted batch keeps what it finished and a re-run skips it.

Where outputs go
----------------
An input's outputs go to ``DIR/<its path relative to the input root, without
its suffix>/<the sink's file name>``. The input root is ``input_root`` when
given, otherwise the deepest folder holding every input glob's fixed part
(``samples/**/*.wav`` -> ``samples``) and every listed file's folder. Two
inputs that would share a folder (``a.wav`` and ``a.flac``) keep their
suffix instead (``a.wav/``, ``a.flac/``); two sinks whose files have one
name are told apart by their node id (``<node>-<name>``, ``/`` of sub-graph
ids written as ``-``).
"""

from __future__ import annotations

import contextlib
import csv
import glob
import hashlib
import io
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphengine import graphfile
from graphengine.api import Graph, load
from graphengine.errors import GraphError, GraphValidationError, NodeError
from graphengine.fsutil import write_text_atomic
from graphengine.graph import PortRef
from graphengine.progress import ProgressBar
from graphengine.registry import Registry, default_registry
from graphengine.validate import DEFAULT_MEMORY_BUDGET, ValidGraph

__all__ = [
    "COLLECTED_CSV",
    "EXIT_ALL_OK",
    "EXIT_BAD_GRAPH",
    "EXIT_SOME_FAILED",
    "MANIFEST_CSV",
    "MANIFEST_FIELDS",
    "batch",
    "cmd_batch",
    "exit_code",
    "expand_inputs",
    "read_manifest",
]

EXIT_ALL_OK, EXIT_BAD_GRAPH, EXIT_SOME_FAILED = 0, 2, 3
OK, FAILED, SKIPPED = "ok", "failed", "skipped"
DONE = (OK, SKIPPED)
MANIFEST_CSV = "manifest.csv"
COLLECTED_CSV = "collected.csv"
COLLECTED_PARQUET = "collected.parquet"
MANIFEST_FIELDS = (
    "input",
    "status",
    "error",
    "outputs",
    "seconds",
    "worker",
    "fingerprint",
    "values",
)
"""Columns of ``manifest.csv``; ``outputs`` is ``;``-separated (relative to DIR when
inside it), ``values`` the collected numbers as JSON."""
COLLECTABLE = ("vector", "prediction")
VALIDATION_TRIES = 20
"""Inputs tried, in order, to validate the graph when earlier ones are unreadable."""
FINGERPRINT_VERSION = 1

ResultCallback = Callable[[dict[str, Any]], None]
StartCallback = Callable[[int, int], None]


# -- inputs ---------------------------------------------------------------------------


def _absolute(path: str | os.PathLike) -> Path:
    """An absolute, normalised path; symbolic links are kept (an input may be one)."""
    return Path(os.path.abspath(os.path.expanduser(path)))


def _glob_base(pattern: str) -> Path:
    """The fixed folder in front of a glob's first wildcard."""
    parts = Path(os.path.expanduser(pattern)).parts
    fixed: list[str] = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return _absolute(Path(*fixed)) if fixed else Path.cwd()


def expand_inputs(
    patterns: Sequence[str] = (), lists: Sequence[str | os.PathLike] = ()
) -> tuple[list[Path], list[Path]]:
    """Input files from globs (``**`` recurses) and list files, and the folders they start in.

    A list file holds one path a line (blank lines and ``#`` comments are
    skipped); relative paths resolve against the list file's folder. Returns
    the absolute, de-duplicated files in order (each glob sorted) and the
    base folders from which the input root is derived.
    """
    files: list[Path] = []
    bases: list[Path] = []
    for pattern in patterns:
        bases.append(_glob_base(pattern))
        matched = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
        files.extend(_absolute(p) for p in matched if os.path.isfile(p))
    for list_file in lists:
        list_path = Path(list_file)
        try:
            lines = list_path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise GraphError(f"--inputs-file {list_path}: cannot read it ({error})") from None
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            path = _absolute(_absolute(list_path).parent / Path(line).expanduser())
            files.append(path)
            bases.append(path.parent)
    unique = list(dict.fromkeys(files))
    return unique, bases


def _input_root(inputs: Sequence[Path], bases: Sequence[Path], root: Path | None) -> Path:
    if root is not None:
        root = _absolute(root)
        for path in inputs:
            if root not in path.parents:
                raise GraphError(f"input {path} is not inside the input root {root}")
        return root
    folders = list(dict.fromkeys(bases))
    folders += [p.parent for p in inputs if not any(b in p.parents for b in bases)]
    return Path(os.path.commonpath([str(f) for f in dict.fromkeys(folders)]))


def _output_folders(inputs: Sequence[Path], root: Path) -> dict[Path, Path]:
    """Input -> its folder relative to DIR: the relative path without suffix (see module doc)."""
    stems = {path: path.relative_to(root).with_suffix("") for path in inputs}
    counts = Counter(stems.values())
    return {
        path: (path.relative_to(root) if counts[stem] > 1 else stem) for path, stem in stems.items()
    }


# -- the job --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Collect:
    node: str
    port: str
    prefix: str  # column prefix: "" with one collected node, "node." with several


@dataclass(frozen=True)
class BatchJob:
    """What every task of one batch shares; sent with each task (small, plain data)."""

    tree: dict[str, Any]
    path: str | None
    graph_key: str
    overrides: dict[str, Any]
    bind: str
    targets: tuple[str, ...]
    collect: tuple[_Collect, ...]
    cache: str | bool
    memory_budget: int
    registry: Any = None  # None: the installed nodes; else see _registry_ref


@dataclass
class _Plan:
    job: BatchJob
    inputs: list[Path]
    folders: dict[Path, Path]
    sink_names: dict[str, str]  # "node.param" -> file name under the input's folder
    fingerprint: str
    out_dir: Path
    valid: ValidGraph | None = field(default=None, repr=False)

    def sinks_for(self, path: Path) -> dict[str, str]:
        folder = self.out_dir / self.folders[path]
        return {key: str(folder / name) for key, name in self.sink_names.items()}


# -- the worker side --------------------------------------------------------------------

_GRAPHS: dict[tuple[str | None, str], Graph] = {}
_REGISTRIES: dict[Any, Registry] = {}


def _worker_graph(job: BatchJob) -> Graph:
    """The job's graph, loaded once per worker process."""
    key = (job.path, job.graph_key)
    graph = _GRAPHS.get(key)
    if graph is None:
        graph = load(graphfile.from_tree(job.tree, path=job.path))
        _GRAPHS[key] = graph
    return graph


def _registry_ref(registry: Registry | None) -> Any:
    """How workers get a custom registry: by module names (importable there) or pickled."""
    if registry is None or registry is default_registry():
        return None
    modules: dict[str, str] = {}
    for spec in registry:
        name = spec.function.__module__
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if module is None or name == "__main__" or file is None:
            return ("pickled", registry)
        folder = Path(file).resolve().parent
        for _ in range(name.count(".") + (Path(file).stem == "__init__")):
            folder = folder.parent
        modules[name] = str(folder)
    type_ids = tuple(sorted(spec.type_id for spec in registry))
    return ("modules", tuple(sorted(modules.items())), type_ids)


def _worker_registry(ref: Any) -> Registry | None:
    if ref is None:
        return None
    if ref[0] == "pickled":
        return ref[1]
    registry = _REGISTRIES.get(ref)
    if registry is None:
        import importlib

        found = Registry()
        for name, folder in ref[1]:
            if folder not in sys.path:
                sys.path.insert(0, folder)
            found.add_module(importlib.import_module(name))
        registry = Registry({t: found.get(t) for t in ref[2] if found.get(t) is not None})
        _REGISTRIES[ref] = registry
    return registry


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except ValueError:
        return f"pid {os.getpid()}"


def _one_line(error: BaseException) -> str:
    text = str(error) if isinstance(error, GraphError) else f"{type(error).__name__}: {error}"
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _flatten(value: Any, collect: _Collect) -> dict[str, float]:
    """A vector's or prediction's numbers as ``{column: float}`` (see :func:`_collects`)."""
    arrays, meta = value.to_arrays()
    if value.port_type == "vector":
        numbers, names = arrays["values"].reshape(-1), list(meta.get("names", []))
    else:
        probabilities, classes = arrays["probabilities"], list(meta.get("classes", []))
        numbers, names = probabilities.reshape(-1), classes
        if probabilities.ndim == 2:
            rows = probabilities.shape[0]
            names = [f"{c}[{i}]" for i in range(rows) for c in classes]
    if len(names) != numbers.size:  # unnamed: node[index]
        return {f"{collect.node}[{i}]": float(x) for i, x in enumerate(numbers.tolist())}
    return {f"{collect.prefix}{n}": float(x) for n, x in zip(names, numbers.tolist(), strict=True)}


def run_input(job: BatchJob, item: dict[str, Any]) -> dict[str, Any]:
    """Run the graph for one input on a worker; returns a manifest record.

    Graph errors (an unreadable input, a node that fails) become a ``failed``
    record; anything else raises, so Dask retries the task.
    """
    started = time.perf_counter()
    record: dict[str, Any] = {"input": item["input"], "worker": _worker_address()}
    try:
        graph = _worker_graph(job)
        params = {**job.overrides, job.bind: item["input"], **item["sinks"]}
        result = graph.run(
            params,
            outputs=job.targets,
            cache=job.cache,
            memory_budget=job.memory_budget,
            registry=_worker_registry(job.registry),
        )
        values: dict[str, float] = {}
        for collect in job.collect:
            values.update(_flatten(result[f"{collect.node}.{collect.port}"], collect))
        outputs = dict.fromkeys([*item["sinks"].values(), *(str(p) for p in result.outputs)])
        record.update(status=OK, error="", outputs=list(outputs), values=values)
    except GraphError as error:
        record.update(status=FAILED, error=_one_line(error), outputs=[], values={})
    record["seconds"] = time.perf_counter() - started
    return record


def run_inputs(
    job: BatchJob, items: list[dict[str, Any]], retries: int = 0
) -> list[dict[str, Any]]:
    """Run several inputs one after another in one task (fewer, longer tasks for short files).

    An unexpected error in one input is retried ``retries`` times, then becomes
    that input's failed record, so the other inputs of the task keep theirs.
    """
    records = []
    for item in items:
        for attempt in range(retries + 1):
            try:
                records.append(run_input(job, item))
                break
            except Exception as error:
                if attempt < retries:
                    continue
                records.append(_failed_record(item["input"], error, _worker_address()))
    return records


def _failed_record(path: str, error: BaseException, worker: str) -> dict[str, Any]:
    """The record of an input whose task raised (rather than returning a record)."""
    return {
        "input": path,
        "status": FAILED,
        "error": _one_line(error),
        "outputs": [],
        "seconds": None,
        "worker": worker,
        "values": {},
    }


def _chunk_size(inputs: int, workers: int) -> int:
    """Inputs per task: about 16 tasks per worker, at most 8 inputs each."""
    return max(1, min(8, inputs // max(1, 16 * workers)))


# -- the manifest -------------------------------------------------------------------------


def _to_row(record: Mapping[str, Any], out_dir: Path) -> dict[str, str]:
    outputs = []
    for output in record.get("outputs") or ():
        path = Path(output)
        try:
            outputs.append(path.relative_to(out_dir).as_posix())
        except ValueError:
            outputs.append(str(path))
    seconds = record.get("seconds")
    return {
        "input": str(record["input"]),
        "status": str(record["status"]),
        "error": str(record.get("error") or ""),
        "outputs": ";".join(outputs),
        "seconds": f"{seconds:.4f}" if isinstance(seconds, float | int) else "",
        "worker": str(record.get("worker") or ""),
        "fingerprint": str(record.get("fingerprint") or ""),
        "values": json.dumps(record.get("values") or {}, separators=(",", ":")),
    }


def _from_row(row: Mapping[str, str], out_dir: Path) -> dict[str, Any] | None:
    if not row.get("input") or row.get("status") not in (OK, FAILED, SKIPPED):
        return None
    try:
        values = json.loads(row.get("values") or "{}")
        seconds = float(row["seconds"]) if row.get("seconds") else None
    except ValueError:
        return None
    outputs = [str(out_dir / p) for p in (row.get("outputs") or "").split(";") if p]
    return {
        "input": row["input"],
        "status": row["status"],
        "error": row.get("error") or "",
        "outputs": outputs,
        "seconds": seconds,
        "worker": row.get("worker") or "",
        "fingerprint": row.get("fingerprint") or "",
        "values": values if isinstance(values, dict) else {},
    }


def read_manifest(out_dir: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The manifest's records by input; when an input has several rows, the last wins.

    Rows a killed batch left incomplete are ignored.
    """
    out_dir = Path(out_dir).resolve()
    path = out_dir / MANIFEST_CSV
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise GraphError(f"{path}: cannot read the manifest ({error})") from None
    records: dict[str, dict[str, Any]] = {}
    if not text.endswith("\n"):  # a row cut short: drop it
        text = text[: text.rfind("\n") + 1]
    for row in csv.DictReader(io.StringIO(text, newline="")):
        record = _from_row(row, out_dir)
        if record is not None:
            records.pop(record["input"], None)  # keep the order of the latest rows
            records[record["input"]] = record
    return records


def _csv_text(rows: Iterable[Mapping[str, Any]], fields: Sequence[str], header: bool) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


class _ManifestWriter:
    """Rewrites the manifest atomically, then appends one row per result (flushed)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.path = out_dir / MANIFEST_CSV
        self._handle: io.TextIOWrapper | None = None

    def rewrite(self, records: Iterable[Mapping[str, Any]]) -> None:
        self.close()
        rows = [_to_row(r, self.out_dir) for r in records]
        write_text_atomic(self.path, _csv_text(rows, MANIFEST_FIELDS, header=True))

    def append(self, record: Mapping[str, Any]) -> None:
        if self._handle is None:
            self._handle = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115
        self._handle.write(_csv_text([_to_row(record, self.out_dir)], MANIFEST_FIELDS, False))
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None


@contextlib.contextmanager
def _lock(out_dir: Path) -> Iterator[None]:
    """One batch at a time per output folder (released even when the process is killed)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(out_dir / ".manifest.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GraphError(f"{out_dir}: another batch is writing to this folder") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_done(record: Mapping[str, Any] | None, fingerprint: str) -> bool:
    if record is None or record["status"] not in DONE or record["fingerprint"] != fingerprint:
        return False
    return all(os.path.exists(p) for p in record["outputs"])


# -- collected values ------------------------------------------------------------------


def _write_collected(records: Sequence[Mapping[str, Any]], out_dir: Path) -> list[Path]:
    """``collected.csv`` (and ``.parquet`` with pyarrow): one row per input that succeeded."""
    done = [r for r in records if r["status"] in DONE]
    columns = list(dict.fromkeys(name for r in done for name in r["values"]))
    rows = [
        {"input": r["input"], **{c: repr(r["values"][c]) for c in columns if c in r["values"]}}
        for r in done
    ]
    csv_path = out_dir / COLLECTED_CSV
    write_text_atomic(csv_path, _csv_text(rows, ["input", *columns], header=True))
    written = [csv_path]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return written
    table = pa.table(
        {
            "input": [r["input"] for r in done],
            **{c: pa.array([r["values"].get(c) for r in done], pa.float64()) for c in columns},
        }
    )
    parquet_path = out_dir / COLLECTED_PARQUET
    temp = out_dir / f".{COLLECTED_PARQUET}.{os.getpid()}.tmp"
    try:
        pq.write_table(table, temp)
        os.replace(temp, parquet_path)
    finally:
        temp.unlink(missing_ok=True)
    written.append(parquet_path)
    return written


# -- planning in the client -------------------------------------------------------------


def _input_only(error: GraphError, node: str, name: str) -> bool:
    """Whether every problem in ``error`` is the bound parameter's (i.e. the input file's)."""
    errors = error.errors if isinstance(error, GraphValidationError) else [error]
    return all(
        isinstance(e, NodeError) and e.node_id == node and e.port_or_param == name for e in errors
    )


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


def _collects(valid: ValidGraph, names: Sequence[str]) -> tuple[_Collect, ...]:
    found = []
    for name in names:
        ref = valid.graph.resolve_alias(PortRef.parse(name))
        node = valid.nodes.get(ref.node)
        if node is None:
            hint = graphfile.did_you_mean(ref.node, valid.nodes)
            raise GraphError(f"--collect {name}: no node {ref.node!r}{hint}", file=valid.file)
        port = ref.port or node.spec.default_output
        spec = node.spec.output(port) if port else None
        if spec is None:
            raise GraphError(
                f"--collect {name}: {node.id} [{node.type}] has no output {port or 'out'!r}",
                file=valid.file,
            )
        if spec.type not in COLLECTABLE:
            raise GraphError(
                f"--collect {name}: {node.id}.{port} [{node.type}] is {spec.type}; only vector "
                f"or prediction outputs can be collected",
                file=valid.file,
            )
        found.append((node.id, port))
    unique = list(dict.fromkeys(found))
    return tuple(_Collect(n, p, f"{n}." if len(unique) > 1 else "") for n, p in unique)


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


def _plan(
    graph: Graph,
    inputs: Sequence[Path],
    bases: Sequence[Path],
    *,
    bind: str,
    out_dir: Path,
    params: Mapping[str, Any],
    collect: Sequence[str],
    cache: bool | str | os.PathLike,
    input_root: str | os.PathLike | None,
    memory_budget: int,
    registry: Registry | None,
) -> _Plan:
    if not inputs:
        raise GraphError("no input files (check --inputs / --inputs-file)")
    bind_node, dot, bind_param = bind.rpartition(".")
    if not dot or not bind_node or not bind_param:
        raise GraphError(f"--bind {bind!r}: expected NODE.PARAM, e.g. src.path")
    _check_bind(graph, bind_node, bind_param, params, registry)
    root = _input_root(inputs, bases, Path(input_root) if input_root is not None else None)
    folders = _output_folders(inputs, root)
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
            if not _input_only(error, bind_node, bind_param):
                raise
            first_error = first_error or error
            continue
        break
    if valid is None:
        assert first_error is not None
        raise GraphError(
            f"the graph does not validate with any of the first "
            f"{min(len(inputs), VALIDATION_TRIES)} inputs bound to {bind}; "
            f"the first says: {_one_line(first_error)}"
        )
    sink_names = _sink_names(valid)
    collects = _collects(valid, collect)
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
    if cache is True:
        cache_value: str | bool = str(graph.cache_dir() or out_dir / ".graphengine-cache")
    elif cache is False:
        cache_value = False
    else:
        cache_value = str(Path(cache).resolve())
    fingerprint = _fingerprint(
        graph,
        valid.graph.node_files.values(),
        {"overrides": params, "bind": bind, "collect": [f"{c.node}.{c.port}" for c in collects]},
    )
    path = str(graph.path.resolve()) if graph.path is not None else None
    job = BatchJob(
        tree=graph.to_dict(),
        path=path,
        graph_key=fingerprint,
        overrides=params,
        bind=bind,
        targets=targets,
        collect=collects,
        cache=cache_value,
        memory_budget=memory_budget,
        registry=_registry_ref(registry),
    )
    return _Plan(job, list(inputs), folders, sink_names, fingerprint, out_dir, valid)


# -- running --------------------------------------------------------------------------


@contextlib.contextmanager
def _connect(
    client: Any, scheduler: str | None, workers: int | None, threads_per_worker: int
) -> Iterator[Any]:
    """The client to use: the caller's, one to ``scheduler``, or a new LocalCluster's."""
    if client is not None:
        yield client
        return
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            own = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise GraphError(f"--scheduler {scheduler}: cannot connect ({error})") from None
        try:
            yield own
        finally:
            own.close()
        return
    import dask

    # Dask's statistical profiler samples every worker thread every 10 ms, which
    # costs numpy-heavy tasks 15-30 % of their time: off on clusters we start.
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=threads_per_worker,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # no dashboard; the scheduler's small HTTP server (health checks) on a free port
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        )
    try:
        own = Client(cluster)
        try:
            yield own
        finally:
            own.close()
    finally:
        cluster.close()


def batch(
    graph: str | os.PathLike | Graph,
    inputs: str | Iterable[str | os.PathLike],
    *,
    bind: str,
    out_dir: str | os.PathLike,
    client: Any = None,
    params: Mapping[str, Any] | None = None,
    collect: Sequence[str] = (),
    scheduler: str | None = None,
    workers: int | None = None,
    threads_per_worker: int = 1,
    retries: int = 1,
    force: bool = False,
    cache: bool | str | os.PathLike = True,
    input_root: str | os.PathLike | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    registry: Registry | None = None,
    on_start: StartCallback | None = None,
    on_result: ResultCallback | None = None,
) -> list[dict[str, Any]]:
    """Run ``graph`` once per input file on Dask; returns the manifest records.

    Parameters
    ----------
    graph : path or Graph
        The graph to run.
    inputs : str or iterable of paths
        A glob (``"samples/**/*.wav"``) or the input files.
    bind : str
        ``NODE.PARAM`` that receives each input's path, e.g. ``"src.path"``.
    out_dir : path
        Where outputs, ``manifest.csv`` and ``collected.csv`` go (see the module doc).
    client : dask.distributed.Client, optional
        Run on this client's cluster (left open). Otherwise ``scheduler`` or a
        new ``LocalCluster`` on 127.0.0.1 with ``workers`` processes of
        ``threads_per_worker`` threads, closed at the end.
    params : mapping, optional
        Overrides, as ``--set`` gives them.
    collect : sequence of str
        ``NODE`` or ``NODE.PORT`` of vector or prediction outputs gathered into
        ``collected.csv`` (and ``collected.parquet`` when pyarrow is installed).
    retries : int >= 0
        Re-runs of a task whose worker died or that raised something other
        than a graph error.
    force : bool
        Redo inputs the manifest records as done with the same graph.
    cache : bool or path
        ``True``: the disk cache next to the graph file; a path; ``False``: none.
    registry : Registry, optional
        Node types to use; their modules must be importable by the workers
        (their folders are added to the workers' ``sys.path``).
    on_start, on_result : callable, optional
        ``on_start(total, already_done)`` once work is about to be sent;
        ``on_result(record)`` per finished input.

    Returns
    -------
    list of dict
        One record per input, in input order: ``input``, ``status`` (``ok``,
        ``failed`` or ``skipped``: done by an earlier run), ``error``,
        ``outputs``, ``seconds``, ``worker``, ``fingerprint``, ``values``.

    Raises
    ------
    GraphError
        The graph or the arguments are bad; nothing was run.
    """
    if isinstance(inputs, str | os.PathLike):
        files, bases = expand_inputs([os.fspath(inputs)])
    else:
        files = list(dict.fromkeys(_absolute(p) for p in inputs))
        bases = []
    if retries < 0:
        raise GraphError(f"retries must be 0 or more, got {retries}")
    loaded = graph if isinstance(graph, Graph) else load(graph)
    out = Path(out_dir).resolve()
    plan = _plan(
        loaded,
        files,
        bases,
        bind=bind,
        out_dir=out,
        params=params or {},
        collect=collect,
        cache=cache,
        input_root=input_root,
        memory_budget=memory_budget,
        registry=registry,
    )
    out.mkdir(parents=True, exist_ok=True)
    with _lock(out):
        return _execute(
            plan,
            client,
            scheduler,
            workers,
            threads_per_worker,
            retries,
            force,
            on_start,
            on_result,
        )


def _execute(
    plan: _Plan,
    client: Any,
    scheduler: str | None,
    workers: int | None,
    threads_per_worker: int,
    retries: int,
    force: bool,
    on_start: StartCallback | None,
    on_result: ResultCallback | None,
) -> list[dict[str, Any]]:
    out = plan.out_dir
    previous = read_manifest(out)
    records: dict[str, dict[str, Any]] = {}
    todo: list[Path] = []
    for path in plan.inputs:
        old = previous.get(str(path))
        if not force and _is_done(old, plan.fingerprint):
            records[str(path)] = {**old, "status": SKIPPED}
        else:
            todo.append(path)
    current = {str(p) for p in plan.inputs}
    others = [r for key, r in previous.items() if key not in current]
    writer = _ManifestWriter(out)
    # start from a clean file: one row per input, earlier failures kept until redone
    kept = [records.get(str(p)) or previous.get(str(p)) for p in plan.inputs]
    writer.rewrite([r for r in kept if r is not None] + others)
    if on_start is not None:
        on_start(len(plan.inputs), len(plan.inputs) - len(todo))
    try:
        if todo:
            with _connect(client, scheduler, workers, threads_per_worker) as active:
                for record in _submit(active, plan, todo, retries):
                    record["fingerprint"] = plan.fingerprint
                    records[record["input"]] = record
                    writer.append(record)
                    if on_result is not None:
                        on_result(record)
    finally:
        writer.close()
    ordered = [records.get(str(p)) or previous.get(str(p)) for p in plan.inputs]
    final = [r for r in ordered if r is not None]
    writer.rewrite(final + others)
    if plan.job.collect:
        _write_collected(final, out)
    return final


def _submit(client: Any, plan: _Plan, todo: Sequence[Path], retries: int) -> Iterator[dict]:
    """Send the inputs as tasks of a few each; yield their records as they finish."""
    from dask.distributed import as_completed

    token = f"graphengine-batch-{plan.fingerprint[:12]}-{os.urandom(4).hex()}"
    workers = len(client.scheduler_info().get("workers", {})) or 1
    size = _chunk_size(len(todo), workers)
    paths: dict[str, list[str]] = {}
    futures = []
    for index, start in enumerate(range(0, len(todo), size)):
        chunk = todo[start : start + size]
        items = [{"input": str(path), "sinks": plan.sinks_for(path)} for path in chunk]
        future = client.submit(
            run_inputs,
            plan.job,
            items,
            retries,
            pure=False,
            retries=retries,
            key=f"{token}-{index}",
        )
        paths[future.key] = [str(path) for path in chunk]
        futures.append(future)
    for future in as_completed(futures):
        if future.status == "finished":
            records = future.result()
        else:
            try:
                error = future.exception()
            except Exception as cancelled:  # a cancelled future raises instead
                error = cancelled
            records = [_failed_record(path, error, "") for path in paths[future.key]]
        future.release()
        yield from records


def exit_code(records: Sequence[Mapping[str, Any]]) -> int:
    """0 when every input succeeded (or was done before), 3 when any failed."""
    return EXIT_SOME_FAILED if any(r["status"] == FAILED for r in records) else EXIT_ALL_OK


# -- the command line -------------------------------------------------------------------


class _BatchProgress:
    """Feeds batch results to a bar counting files, with the failures so far."""

    def __init__(self, bar: ProgressBar) -> None:
        self.bar = bar
        self.failed = 0

    def start(self, total: int, done: int) -> None:
        self.bar.start(total, done)
        self.bar.update(info="0 failed")

    def result(self, record: Mapping[str, Any]) -> None:
        if record["status"] == FAILED:
            self.failed += 1
        self.bar.update(advance=1, info=f"{self.failed} failed")


def summary(records: Sequence[Mapping[str, Any]], seconds: float, out_dir: Path) -> str:
    """One line: how many inputs succeeded, failed or were done before, and the rate."""
    counts = {
        status: sum(r["status"] == status for r in records) for status in (OK, FAILED, SKIPPED)
    }
    ran = counts[OK] + counts[FAILED]
    line = (
        f"batch: {counts[OK]} ok, {counts[FAILED]} failed, {counts[SKIPPED]} skipped (done before)"
        f" of {len(records)} files in {seconds:.1f} s"
    )
    if ran and seconds > 0:
        line += f" ({ran / seconds:.2f} files/s)"
    return f"{line} -> {out_dir / MANIFEST_CSV}"


def cmd_batch(args: Any) -> int:
    """``graphengine batch``: run, print failures and a summary line; returns the exit code."""
    started = time.perf_counter()
    files, bases = expand_inputs(args.inputs or (), args.inputs_file or ())
    if not files:
        sources = [*(args.inputs or ()), *(args.inputs_file or ())]
        raise GraphError(f"no input files matched {' '.join(sources) or '(no --inputs given)'}")
    if args.workers is not None and args.workers < 1:
        raise GraphError(f"--workers must be at least 1, got {args.workers}")
    if args.threads_per_worker < 1:
        raise GraphError(f"--threads-per-worker must be at least 1, got {args.threads_per_worker}")
    params = dict(graphfile.parse_override(pair) for pair in args.set or ())
    cache: bool | str = args.cache_dir if args.cache_dir else not args.no_cache
    root = args.input_root or _input_root(files, bases, None)
    out_dir = Path(args.out_dir)
    bar = ProgressBar("batch", "files", enabled=not args.quiet and sys.stderr.isatty(), rate=True)
    progress = _BatchProgress(bar)
    with bar:
        records = batch(
            args.graph,
            files,
            bind=args.bind,
            out_dir=out_dir,
            params=params,
            collect=args.collect or (),
            scheduler=args.scheduler,
            workers=args.workers,
            threads_per_worker=args.threads_per_worker,
            retries=args.retries,
            force=args.force,
            cache=cache,
            input_root=root,
            memory_budget=args.memory_budget,
            on_start=progress.start,
            on_result=progress.result,
        )
    if not args.quiet:
        failed = [r for r in records if r["status"] == FAILED]
        for record in failed[:20]:
            print(f"failed: {record['input']}: {record['error']}", file=sys.stderr)
        if len(failed) > 20:
            print(f"... and {len(failed) - 20} more failures (see the manifest)", file=sys.stderr)
        print(summary(records, time.perf_counter() - started, out_dir), file=sys.stderr)
    return exit_code(records)
