"""What the classifier and generator training loops share: settings, progress, reports.

Training reports progress through a callback taking :class:`Progress`
events, so the library draws nothing; the ``graphengine train`` command
feeds them to :class:`graphengine.progress.ProgressBar`. Without a callback
the loops write a line to ``log`` now and then instead.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphengine.errors import GraphError

DEFAULTS = {
    "mlp": {"epochs": 200, "batch_size": 16, "lr": 3e-3},
    "cnn": {"epochs": 80, "batch_size": 16, "lr": 2e-3},
    "lstm": {"epochs": 80, "batch_size": 16, "lr": 1e-2, "cosine": False},
    "lstm_gen": {"epochs": 30, "batch_size": 16, "lr": 3e-3},
    "gan": {"epochs": 40, "batch_size": 32, "lr": 1e-3},
}
"""Epochs, batch size and learning rate per architecture when not given; ``cosine``
False keeps the learning rate constant (the lstm: its cosine decay stopped it short)."""

Log = Callable[[str], None]


@dataclass(frozen=True)
class Progress:
    """One step of training: ``done`` of ``total`` in ``stage``, with a short status.

    ``stage`` is ``"features"`` (counting input files run through the graph)
    or ``"train <arch>"`` (counting epochs); ``info`` is e.g. the losses.
    """

    stage: str
    done: int
    total: int
    info: str = ""


ProgressCallback = Callable[[Progress], None]


def stderr(message: str) -> None:
    """The default ``log``: one line on standard error."""
    print(message, file=sys.stderr, flush=True)


def quiet(message: str) -> None:
    """A ``log`` that drops everything."""


def settings(
    arch: str, epochs: int | None, batch_size: int | None, lr: float | None
) -> tuple[int, int, float]:
    """Epochs, batch size and learning rate: the given ones, else ``arch``'s defaults."""
    defaults = DEFAULTS[arch]
    epochs = epochs or defaults["epochs"]
    batch_size = batch_size or defaults["batch_size"]
    lr = lr or defaults["lr"]
    for name, value in (("epochs", epochs), ("batch-size", batch_size), ("lr", lr)):
        if not value > 0:
            raise GraphError(f"--{name} must be positive, got {value}")
    return epochs, batch_size, lr


class EpochReporter:
    """Reports each epoch to ``progress``, or the first, every tenth and the last to ``log``."""

    def __init__(self, arch: str, epochs: int, log: Log, progress: ProgressCallback | None) -> None:
        self.stage = f"train {arch}"
        self.epochs = epochs
        self.log = log
        self.progress = progress

    def __call__(self, epoch: int, short: str, long: str | None = None) -> None:
        """``short`` for the progress bar, ``long`` (default ``short``) for the log line."""
        if self.progress is not None:
            self.progress(Progress(self.stage, epoch, self.epochs, short))
        elif epoch == 1 or epoch % 10 == 0 or epoch == self.epochs:
            self.log(f"epoch {epoch}/{self.epochs}: {long or short}")


def cache_folders(cache: bool | str | os.PathLike) -> list[str | os.PathLike]:
    """The cache folder ``cache`` names, if it names one (training must not replace it)."""
    return [] if isinstance(cache, bool) else [cache]


def saved_state(nnx: Any) -> Any:
    """The filter of what a weights file holds: parameters and batch-norm statistics."""
    return nnx.Any(nnx.Param, nnx.BatchStat)


def params_of(model: Any) -> dict[str, Any]:
    """The model's parameters and batch statistics as a pure dict (what the weights file holds)."""
    from flax import nnx

    return nnx.to_pure_dict(nnx.state(model, saved_state(nnx)))


def write_reports(folder: Path, metrics: dict[str, Any], run: dict[str, Any]) -> None:
    """``metrics.json`` and ``run.json`` into a model folder being written."""
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (folder / "run.json").write_text(json.dumps(run, indent=2) + "\n")


def run_record(extraction: Any, train_seconds: float, epochs: int) -> dict[str, Any]:
    """``run.json``: timings in seconds and the engine's cache statistics."""
    return {
        "extract_seconds": extraction.seconds,
        "train_seconds": train_seconds,
        "seconds_per_epoch": train_seconds / max(1, epochs),
        "nodes_computed": extraction.computed,
        "nodes_cached": extraction.cached,
    }
