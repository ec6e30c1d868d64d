"""Running a batch on Dask: the client, the tasks, the manifest as results arrive.

:func:`batch` plans the batch, skips what the manifest says is done, sends
the rest to a Dask cluster in tasks of a few inputs each and records every
result as it arrives. Progress is reported through the ``on_start`` and
``on_result`` callbacks; nothing here prints.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from graphengine.api import Graph, load
from graphengine.distributed.collect import write_collected
from graphengine.distributed.inputs import absolute, expand_inputs
from graphengine.distributed.job import BatchPlan, plan_batch
from graphengine.distributed.manifest import ManifestWriter, is_done, lock_folder, read_manifest
from graphengine.distributed.records import SKIPPED, Record, failed_record
from graphengine.distributed.worker import run_inputs
from graphengine.errors import GraphError
from graphengine.registry import Registry
from graphengine.validate import DEFAULT_MEMORY_BUDGET

StartCallback = Callable[[int, int], None]
"""``on_start(total, already_done)``: counts of inputs, once work is about to be sent."""
ResultCallback = Callable[[Record], None]
"""``on_result(record)``: one finished input's manifest record."""


@contextlib.contextmanager
def connect(
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    threads_per_worker: int = 1,
) -> Iterator[Any]:
    """The Dask client a batch runs on, as a context manager.

    Parameters
    ----------
    client : dask.distributed.Client, optional
        Used as it is and left open.
    scheduler : str, optional
        Otherwise, the address of a running scheduler (``"tcp://host:8786"``);
        the client made for it is closed at the end.
    workers, threads_per_worker : int
        Otherwise, a ``LocalCluster`` on 127.0.0.1 of ``workers`` processes
        (default: one per CPU) with ``threads_per_worker`` threads each, no
        dashboard and Dask's profiler off; closed at the end. This is the
        cluster ``graphengine batch --workers N`` starts.

    Raises
    ------
    GraphError
        ``scheduler`` cannot be reached (within 20 s).
    """
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
    import logging

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
    out_dir: str | os.PathLike,
    bind: str | None = None,
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
) -> list[Record]:
    """Run ``graph`` once per input file on Dask; returns the manifest records.

    Parameters
    ----------
    graph : path or Graph
        The graph to run.
    inputs : str or iterable of paths
        A glob (``"samples/**/*.wav"``; ``**`` recurses) or the input files.
    bind : str, optional
        What receives each input's absolute path: a file input of the graph
        (a graph parameter that sets a file parameter, e.g. ``"input"``) or
        ``NODE.PARAM`` (``"src.path"``). Default: the graph's only file input.
    out_dir : path
        Where outputs, ``manifest.csv`` and ``collected.csv`` go: an input's
        outputs in ``out_dir/<its path relative to the input root, without its
        suffix>/`` (see ``docs/batch.md``). Made if missing.
    client : dask.distributed.Client, optional
        Run on this client's cluster (left open). Otherwise ``scheduler`` or a
        new ``LocalCluster`` on 127.0.0.1 with ``workers`` processes (default:
        one per CPU) of ``threads_per_worker`` threads (default 1), closed at
        the end (see :func:`connect`).
    params : mapping, optional
        Overrides, ``{"node.param": value}`` as ``--set`` gives them.
    collect : sequence of str
        ``NODE`` or ``NODE.PORT`` of vector or prediction outputs gathered into
        ``collected.csv`` (and ``collected.parquet`` when pyarrow is installed).
    retries : int >= 0
        Re-runs of a task whose worker died or that raised something other
        than a graph error (default 1).
    force : bool
        Redo inputs the manifest records as done with the same graph.
    cache : bool or path
        ``True`` (default): the disk cache next to the graph file (or in
        ``out_dir`` for a graph without a file); a folder; ``False``: none.
    input_root : path, optional
        The folder the output layout mirrors; default: the deepest folder
        holding the glob's fixed part (``samples/**/*.wav`` -> ``samples``) or
        every listed file's folder.
    memory_budget : int
        The largest output a node may produce, in bytes (default 4 GiB).
    registry : Registry, optional
        Node types to use; their modules must be importable by the workers
        (their folders are added to the workers' ``sys.path``).
    on_start, on_result : callable, optional
        ``on_start(total, already_done)`` once work is about to be sent;
        ``on_result(record)`` per finished input, in the order they finish.

    Returns
    -------
    list of dict
        One record per input, in input order: ``input``, ``status`` (``ok``,
        ``failed`` or ``skipped``: done by an earlier run), ``error``,
        ``outputs``, ``seconds`` (time on the worker), ``worker``,
        ``fingerprint``, ``values`` (the collected numbers by column).

    Raises
    ------
    GraphError
        The graph or the arguments are bad; nothing was run.
    """
    if isinstance(inputs, str | os.PathLike):
        files, bases = expand_inputs([os.fspath(inputs)])
    else:
        files = list(dict.fromkeys(absolute(p) for p in inputs))
        bases = []
    if retries < 0:
        raise GraphError(f"retries must be 0 or more, got {retries}")
    loaded = graph if isinstance(graph, Graph) else load(graph)
    out = Path(out_dir).resolve()
    plan = plan_batch(
        loaded,
        files,
        bases,
        bind=bind,
        out_dir=out,
        params=params or {},
        collect=collect,
        cache=cache,
        root=input_root,
        memory_budget=memory_budget,
        registry=registry,
    )
    out.mkdir(parents=True, exist_ok=True)
    with lock_folder(out):
        previous = read_manifest(out)
        records = {
            str(path): {**previous[str(path)], "status": SKIPPED}
            for path in plan.inputs
            if not force and is_done(previous.get(str(path)), plan.fingerprint)
        }
        todo = [path for path in plan.inputs if str(path) not in records]
        connection = connect(client, scheduler, workers, threads_per_worker)
        return _execute(plan, previous, records, todo, connection, retries, on_start, on_result)


def _execute(
    plan: BatchPlan,
    previous: dict[str, Record],
    records: dict[str, Record],
    todo: list[Path],
    connection: contextlib.AbstractContextManager[Any],
    retries: int,
    on_start: StartCallback | None,
    on_result: ResultCallback | None,
) -> list[Record]:
    """Run ``todo`` (``records`` holds the skipped inputs), keeping the manifest current."""
    out = plan.out_dir
    current = {str(p) for p in plan.inputs}
    others = [r for key, r in previous.items() if key not in current]
    writer = ManifestWriter(out)
    # start from a clean file: one row per input, earlier failures kept until redone
    kept = [records.get(str(p)) or previous.get(str(p)) for p in plan.inputs]
    writer.rewrite([r for r in kept if r is not None] + others)
    if on_start is not None:
        on_start(len(plan.inputs), len(plan.inputs) - len(todo))
    try:
        if todo:
            with connection as active:
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
        write_collected(final, out)
    return final


def _chunk_size(inputs: int, workers: int) -> int:
    """Inputs per task: about 16 tasks per worker, at most 8 inputs each."""
    return max(1, min(8, inputs // max(1, 16 * workers)))


def _submit(client: Any, plan: BatchPlan, todo: Sequence[Path], retries: int) -> Iterator[Record]:
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
            records = [failed_record(path, error, "") for path in paths[future.key]]
        future.release()
        yield from records
