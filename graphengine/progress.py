"""One progress bar for every command that draws one: render, batch, train.

The engine, batch and training report progress through callbacks; only the
command-line layer creates a bar and feeds it. On anything but a terminal the
bar draws nothing, so scripts and logs stay clean.
"""

from __future__ import annotations

import sys
from typing import Any


class ProgressBar:
    """A rich bar on standard error: a label, done/total, optional info, elapsed, ETA.

    ``unit`` names what is counted ("nodes", "files", "epochs"); ``rate`` adds
    a per-second column for it. Use as a context manager; ``start`` may be
    called late (when the total is known) and again to reset the bar.
    """

    def __init__(
        self, label: str, unit: str, *, enabled: bool | None = None, rate: bool = False
    ) -> None:
        self.label = label
        self.unit = unit
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.rate = rate
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, total: int | None, done: int = 0) -> None:
        """Show the bar with ``done`` of ``total`` counted (total None: unknown)."""
        if not self.enabled:
            return
        if self._progress is None:
            self._progress = _rich_progress(self.unit, self.rate)
            self._progress.start()
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(self.label, total=total, completed=done, info="")

    def update(
        self,
        *,
        advance: float = 0,
        completed: float | None = None,
        label: str | None = None,
        info: str | None = None,
    ) -> None:
        """Advance the count, or set it, and change the label or the info text."""
        if self._task is None:
            return
        fields: dict[str, Any] = {"advance": advance}
        if completed is not None:
            fields["completed"] = completed
        if label is not None:
            fields["description"] = label
        if info is not None:
            fields["info"] = info
        self._progress.update(self._task, **fields)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None


def _rich_progress(unit: str, rate: bool) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.2f} {unit}/s" if speed else f"- {unit}/s")

    columns: list[Any] = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TextColumn("{task.fields[info]}"),
    ]
    if rate:
        columns.append(RateColumn())
    columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    return Progress(*columns, console=Console(stderr=True), transient=True)
