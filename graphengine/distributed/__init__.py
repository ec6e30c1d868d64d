"""Batch rendering on Dask: one graph over many input files.

``graphengine batch`` and :func:`graphengine.batch` run one graph once per
input file, with the file bound to a node parameter (``bind="src.path"``), on
Dask's distributed scheduler: a ``LocalCluster`` on this machine by default,
or any running cluster given its address. Only this package imports dask, and
only when a batch runs (importing it is cheap).

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

Modules
-------
``inputs`` (globs, list files, the output layout), ``job`` (planning in the
client: validation, sinks, fingerprint), ``registries`` (custom node types on
the workers), ``worker`` (one input on a worker), ``manifest`` (the manifest
file and resume), ``collect`` (collected values: csv and parquet),
``records`` (statuses, exit codes) and ``runner`` (the Dask client and tasks).
"""

from __future__ import annotations

from graphengine.distributed.collect import COLLECTED_CSV, COLLECTED_PARQUET
from graphengine.distributed.inputs import expand_inputs, input_root
from graphengine.distributed.manifest import MANIFEST_CSV, MANIFEST_FIELDS, read_manifest
from graphengine.distributed.records import (
    DONE,
    EXIT_ALL_OK,
    EXIT_BAD_GRAPH,
    EXIT_SOME_FAILED,
    FAILED,
    OK,
    SKIPPED,
    Record,
    exit_code,
)
from graphengine.distributed.runner import ResultCallback, StartCallback, batch, connect

__all__ = [
    "COLLECTED_CSV",
    "COLLECTED_PARQUET",
    "DONE",
    "EXIT_ALL_OK",
    "EXIT_BAD_GRAPH",
    "EXIT_SOME_FAILED",
    "FAILED",
    "MANIFEST_CSV",
    "MANIFEST_FIELDS",
    "OK",
    "SKIPPED",
    "Record",
    "ResultCallback",
    "StartCallback",
    "batch",
    "connect",
    "exit_code",
    "expand_inputs",
    "input_root",
    "read_manifest",
]
