"""One graph file open in the studio: its last run, the values the page shows, and trial overrides.

A :class:`Session` loads the file, validates it with the command line's
overrides plus the page's *trials* (``node.param`` values tried from the page,
exactly like ``--set``; the file is never written), and computes every node
that has an output, keeping the values so the page can play and draw them.
Sinks do not run: trying a value must not overwrite the files a render
writes. The graph's disk cache is used as a render uses it, so reopening a
graph, or trying a value and taking it back, recomputes only what changed.

Each refresh makes a new :class:`Snapshot` and bumps :attr:`Session.version`;
the page polls the version and fetches the snapshot when it moves. A refresh
that fails (a graph error in the file as saved, or a trial value out of
range) keeps the last good values on screen and shows the errors on the nodes
they name.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphengine.errors import GraphError, GraphValidationError, NodeError
from graphengine.graphfile import parse_override
from graphengine.types import Value
from graphengine.watch import file_signature, referenced_files


@dataclass(frozen=True)
class Problem:
    """One error of the last refresh, and the node and port or parameter it names (if any)."""

    message: str
    node: str | None = None
    where: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "node": self.node, "where": self.where}


def problems_of(error: GraphError) -> list[Problem]:
    """The separate problems a GraphError carries, each with the node it names."""
    errors = error.errors if isinstance(error, GraphValidationError) else [error]
    found = []
    for item in errors:
        if isinstance(item, NodeError):
            found.append(Problem(str(item), item.node_id, item.port_or_param))
        else:
            found.append(Problem(str(item)))
    return found


@dataclass
class Snapshot:
    """What one refresh produced: the run (when it succeeded) or the errors, and why it ran."""

    version: int
    trigger: str
    seconds: float
    valid: Any = None
    result: Any = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def value(self, node: str, port: str) -> Value | None:
        """The value of ``node.port`` in this snapshot's run, or None."""
        if self.result is None:
            return None
        return self.result.values.get(node, {}).get(port)


class Session:
    """The studio's state for one graph file; every method is safe to call from any thread.

    Parameters
    ----------
    path : path
        The graph file (.toml or .json).
    overrides : mapping, optional
        Fixed overrides from the command line (``--set``, bound input files),
        as for :meth:`graphengine.Graph.run`; trials from the page go on top.
    cache : bool or path
        As for :meth:`graphengine.Graph.run` (default: the graph's disk cache).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        overrides: Mapping[str, Any] | None = None,
        *,
        cache: bool | str | os.PathLike = True,
    ) -> None:
        self.path = Path(path).resolve()
        self.overrides = dict(overrides or {})
        self.cache = cache
        self.trials: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._watched: set[Path] = {self.path}
        self._signatures: dict[Path, Any] = {}
        self._last_good: Snapshot | None = None
        self.snapshot = Snapshot(0, "not run yet", 0.0)

    @property
    def version(self) -> int:
        return self.snapshot.version

    @property
    def shown(self) -> Snapshot | None:
        """The snapshot whose values and layout the page shows: the latest good one."""
        return self._last_good

    def refresh(self, trigger: str) -> Snapshot:
        """Load, validate and compute the graph again; returns the new snapshot."""
        from graphengine.api import load

        with self._lock:
            started = time.perf_counter()
            self._signatures = self._signatures_now()
            version = self.snapshot.version + 1
            try:
                graph = load(self.path)
                valid = graph.validate({**self.overrides, **self.trials})
                targets = [
                    node_id
                    for node_id in valid.order
                    if valid.nodes[node_id].spec.outputs and not valid.nodes[node_id].spec.is_sink
                ]
                result = graph.execute(valid, targets, self.cache)
            except GraphError as error:
                snapshot = Snapshot(
                    version, trigger, time.perf_counter() - started, problems=problems_of(error)
                )
            else:
                snapshot = Snapshot(
                    version,
                    trigger,
                    time.perf_counter() - started,
                    valid=valid,
                    result=result,
                    warnings=list(result.warnings),
                )
                self._watched = {self.path, *referenced_files(valid)}
                self._signatures = {**self._signatures_now(), **self._signatures}
                self._last_good = snapshot
            self.snapshot = snapshot
            return snapshot

    def try_value(self, key: str, text: str) -> Snapshot:
        """Try ``key`` (``node.param`` or a graph parameter) = ``text``, read as ``--set`` does."""
        name, value = parse_override(f"{key}={text}")
        with self._lock:
            self.trials[name] = value
            return self.refresh(f"tried {name} = {text.strip()}")

    def take_back(self, key: str | None = None) -> Snapshot:
        """Drop one trial override (all of them when ``key`` is None) and refresh."""
        with self._lock:
            if key is None:
                self.trials.clear()
                trigger = "took back every tried value"
            else:
                self.trials.pop(key, None)
                trigger = f"took back {key}"
            return self.refresh(trigger)

    def _signatures_now(self) -> dict[Path, Any]:
        return {path: file_signature(path) for path in sorted(self._watched)}

    def changed_files(self) -> list[Path]:
        """Watched files (the graph, sub-graphs, files nodes read) saved since the last refresh."""
        with self._lock:
            now = self._signatures_now()
            return [p for p, sig in now.items() if self._signatures.get(p, object()) != sig]

    def poll(self, settle_s: float = 0.05) -> Snapshot | None:
        """Refresh if a watched file changed (once it stops changing); None otherwise."""
        changed = self.changed_files()
        if not changed:
            return None
        before = self._signatures_now()
        while True:
            time.sleep(settle_s)
            after = self._signatures_now()
            if after == before:
                break
            before = after
        names = ", ".join(p.name for p in changed)
        return self.refresh(f"saved: {names}")
