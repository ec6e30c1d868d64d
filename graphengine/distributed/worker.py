"""What runs on a Dask worker: one input (or a few) through the batch's graph.

The worker loads the graph once per process, binds the input, points every
``OutputPath`` parameter under the output folder and runs the graph with the
job's disk cache. A graph error (an unreadable input, a node that fails)
becomes that input's ``failed`` record.
"""

from __future__ import annotations

import os
import time
from typing import Any

from graphengine import graphfile
from graphengine.api import Graph, load
from graphengine.distributed.collect import flatten
from graphengine.distributed.job import BatchJob
from graphengine.distributed.records import FAILED, OK, Record, failed_record, one_line
from graphengine.distributed.registries import worker_registry
from graphengine.errors import GraphError

_GRAPHS: dict[tuple[str | None, str], Graph] = {}  # per worker process


def _worker_graph(job: BatchJob) -> Graph:
    """The job's graph, loaded once per worker process."""
    key = (job.path, job.graph_key)
    graph = _GRAPHS.get(key)
    if graph is None:
        graph = load(graphfile.from_tree(job.tree, path=job.path))
        _GRAPHS[key] = graph
    return graph


def worker_address() -> str:
    """This Dask worker's address, or ``pid N`` outside a worker."""
    try:
        from distributed import get_worker

        return get_worker().address
    except ValueError:
        return f"pid {os.getpid()}"


def run_input(job: BatchJob, item: dict[str, Any]) -> Record:
    """Run the graph for one input on a worker; returns a manifest record.

    ``item`` is ``{"input": path, "sinks": {"node.param": file}}``. Graph errors
    (an unreadable input, a node that fails) become a ``failed`` record;
    anything else raises, so the caller retries.
    """
    started = time.perf_counter()
    record: Record = {"input": item["input"], "worker": worker_address()}
    try:
        graph = _worker_graph(job)
        params = {**job.overrides, job.bind: item["input"], **item["sinks"]}
        result = graph.run(
            params,
            outputs=job.targets,
            cache=job.cache,
            memory_budget=job.memory_budget,
            registry=worker_registry(job.registry),
        )
        values: dict[str, float] = {}
        for collect in job.collect:
            values.update(flatten(result[f"{collect.node}.{collect.port}"], collect))
        outputs = dict.fromkeys([*item["sinks"].values(), *(str(p) for p in result.outputs)])
        record.update(status=OK, error="", outputs=list(outputs), values=values)
    except GraphError as error:
        record.update(status=FAILED, error=one_line(error), outputs=[], values={})
    record["seconds"] = time.perf_counter() - started
    return record


def run_inputs(job: BatchJob, items: list[dict[str, Any]], retries: int = 0) -> list[Record]:
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
                records.append(failed_record(item["input"], error, worker_address()))
    return records
