"""One input's record: its status, its error in one line, and the batch's exit code.

A record is a plain dict (it travels from the workers and into the manifest):
``input``, ``status``, ``error``, ``outputs``, ``seconds`` (time on the worker),
``worker``, ``fingerprint`` and ``values``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphengine.errors import GraphError

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
DONE = (OK, SKIPPED)
"""Statuses of an input that needs no re-run (``skipped``: done by an earlier run)."""
EXIT_ALL_OK, EXIT_BAD_GRAPH, EXIT_SOME_FAILED = 0, 2, 3

Record = dict[str, Any]


def one_line(error: BaseException) -> str:
    """An error as one line; graph errors keep their own wording, others get their type."""
    text = str(error) if isinstance(error, GraphError) else f"{type(error).__name__}: {error}"
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def failed_record(path: str, error: BaseException, worker: str) -> Record:
    """The record of an input whose task raised (rather than returning a record)."""
    return {
        "input": path,
        "status": FAILED,
        "error": one_line(error),
        "outputs": [],
        "seconds": None,
        "worker": worker,
        "values": {},
    }


def exit_code(records: Sequence[Mapping[str, Any]]) -> int:
    """0 when every input succeeded (or was done before), 3 when any failed."""
    return EXIT_SOME_FAILED if any(r["status"] == FAILED for r in records) else EXIT_ALL_OK
