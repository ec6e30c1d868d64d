"""``graphengine batch``: run :func:`graphengine.distributed.batch` from parsed arguments.

Draws the progress bar (files done, failures, files/s) from the batch's
callbacks, then prints one line per failed input (the first 20) and a summary.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from graphengine import graphfile
from graphengine.distributed import (
    FAILED,
    MANIFEST_CSV,
    OK,
    SKIPPED,
    batch,
    exit_code,
    expand_inputs,
    input_root,
)
from graphengine.errors import GraphError
from graphengine.progress import ProgressBar

FAILURES_SHOWN = 20


class BatchProgress:
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


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The arguments of :func:`batch` but the graph, the inputs and the callbacks."""
    if args.workers is not None and args.workers < 1:
        raise GraphError(f"--workers must be at least 1, got {args.workers}")
    if args.threads_per_worker < 1:
        raise GraphError(f"--threads-per-worker must be at least 1, got {args.threads_per_worker}")
    options = {
        name: getattr(args, name)
        for name in ("bind", "scheduler", "workers", "threads_per_worker", "retries", "force")
    }
    options.update(
        out_dir=Path(args.out_dir),
        params=dict(graphfile.parse_override(pair) for pair in args.set or ()),
        collect=args.collect or (),
        cache=args.cache_dir if args.cache_dir else not args.no_cache,
        memory_budget=args.memory_budget,
    )
    return options


def _absolute_file_params(graph_path: str, params: dict[str, Any]) -> dict[str, Any]:
    """``--set`` values for the graph's file inputs and outputs, relative to this folder."""
    from graphengine import fileslots
    from graphengine.api import load
    from graphengine.registry import default_registry

    slots = fileslots.file_slots(load(graph_path), default_registry())
    return fileslots.absolute_overrides(slots, params)


def cmd_batch(args: argparse.Namespace) -> int:
    """Run, print failures and a summary line; returns the exit code (0, 3; 2 is raised)."""
    started = time.perf_counter()
    patterns = [*(args.patterns or ()), *(args.inputs or ())]
    files, bases = expand_inputs(patterns, args.inputs_file or ())
    if not files:
        sources = [*patterns, *(args.inputs_file or ())]
        raise GraphError(f"no input files matched {' '.join(sources) or '(no inputs given)'}")
    options = _options(args)
    options["params"] = _absolute_file_params(args.graph, options["params"])
    root = args.input_root or input_root(files, bases, None)
    bar = ProgressBar("batch", "files", enabled=not args.quiet and sys.stderr.isatty(), rate=True)
    progress = BatchProgress(bar)
    with bar:
        records = batch(
            args.graph,
            files,
            input_root=root,
            on_start=progress.start,
            on_result=progress.result,
            **options,
        )
    if not args.quiet:
        failed = [r for r in records if r["status"] == FAILED]
        for record in failed[:FAILURES_SHOWN]:
            print(f"failed: {record['input']}: {record['error']}", file=sys.stderr)
        if len(failed) > FAILURES_SHOWN:
            more = len(failed) - FAILURES_SHOWN
            print(f"... and {more} more failures (see the manifest)", file=sys.stderr)
        print(summary(records, time.perf_counter() - started, options["out_dir"]), file=sys.stderr)
    return exit_code(records)
