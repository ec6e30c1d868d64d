"""Watch mode: re-render a graph whenever it, a sub-graph or an input file changes.

``graphengine watch GRAPH`` (or ``watch FX.toml in.wav -o out.wav``, files
bound as for ``render``) polls the modification state of the graph file and
of every file it references (sub-graph files and the files that nodes read,
the bound input files among them),
and re-renders through the cache, so an edit recomputes only the edited node
and what depends on it. Each render prints what was recomputed and one line
per output (duration, peak level, path); a graph that does not load or
validate prints its error and the watch goes on.

The loop is built from two testable pieces: :meth:`Watcher.render` (one
render, returning a :class:`Change`; never raises a :class:`GraphError`) and
:meth:`Watcher.poll` (render when something changed, else ``None``);
:meth:`Watcher.loop` repeats ``poll`` with an optional iteration or time limit.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphengine.errors import GraphError

GRAPH_SUFFIXES = (".toml", ".json")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")


@dataclass
class OutputSummary:
    """One written (or up-to-date) output of a render."""

    path: Path
    duration_s: float | None = None
    peak_dbfs: float | None = None
    channels: int | None = None
    sample_rate: int | None = None
    bytes: int = 0

    def line(self, base: Path | None = None) -> str:
        """``out/demo.wav  4.000 s  peak -4.2 dBFS  2 ch 44100 Hz`` (or the size of other files)."""
        shown = _relative(self.path, base)
        if self.duration_s is None:
            return f"{shown}  {self.bytes} bytes"
        peak = "-inf" if self.peak_dbfs is None else f"{self.peak_dbfs:.1f}"
        return (
            f"{shown}  {self.duration_s:.3f} s  peak {peak} dBFS  "
            f"{self.channels} ch {self.sample_rate} Hz"
        )


@dataclass
class Change:
    """What one render did: the nodes it computed and its outputs, or the error it hit."""

    ok: bool
    computed: list[str] = field(default_factory=list)
    nodes: int = 0
    outputs: list[OutputSummary] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    changed: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self, base: Path | None = None) -> list[str]:
        """The lines watch mode prints for this render."""
        if not self.ok:
            return [
                f"error: {line}" if i == 0 else line for i, line in enumerate(self.error_lines())
            ]
        done = ", ".join(self.computed) if self.computed else "nothing (all cached)"
        head = (
            f"recomputed {done} ({len(self.computed)} of {self.nodes} nodes) "
            f"in {self.seconds:.2f} s"
        )
        warned = [f"warning: {message}" for message in self.warnings]
        return [*warned, head, *(f"  {o.line(base)}" for o in self.outputs)]

    def error_lines(self) -> list[str]:
        return (self.error or "").splitlines() or [""]


def _relative(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return str(path.relative_to(base))
        except ValueError:
            pass
    return str(path)


def summarize_output(path: Path) -> OutputSummary:
    """Duration, peak dBFS, channels and rate of an audio file; the size of any other file."""
    path = Path(path)
    size = path.stat().st_size if path.exists() else 0
    if path.suffix.lower() not in AUDIO_SUFFIXES or not path.exists():
        return OutputSummary(path, bytes=size)
    import numpy as np
    import soundfile as sf

    info = sf.info(path)
    peak, frames = 0.0, 0
    for block in sf.blocks(path, blocksize=1 << 16, dtype="float32", always_2d=True):
        if block.size:  # a block at a time: an hour of stereo is not read into memory
            peak = max(peak, float(np.abs(block).max()))
        frames += block.shape[0]
    return OutputSummary(
        path,
        duration_s=frames / info.samplerate,
        peak_dbfs=20 * math.log10(peak) if peak > 0 else None,
        channels=info.channels,
        sample_rate=int(info.samplerate),
        bytes=size,
    )


def sink_outputs(valid: Any) -> list[Path]:
    """The files the sinks of a validated graph write (their final paths)."""
    paths = []
    for node_id in valid.order:
        node = valid.nodes[node_id]
        if not node.spec.is_sink:
            continue
        for name in node.spec.output_paths:
            value = node.params.get(name)
            if isinstance(value, str | os.PathLike):
                paths.append(Path(value))
    return paths


def referenced_files(valid: Any) -> set[Path]:
    """Sub-graph files and files read by nodes (``InputPath`` parameters) of a valid graph."""
    files = {Path(f).resolve() for f in valid.graph.node_files.values() if f}
    for node in valid.nodes.values():
        for name in node.spec.input_paths:
            value = node.params.get(name)
            if isinstance(value, str | os.PathLike) and str(value):
                files.add(Path(value).resolve())
    return files


def file_signature(path: Path) -> Any:
    """What changes when a file is saved: content for graph files, mtime and size otherwise."""
    try:
        if path.suffix.lower() in GRAPH_SUFFIXES:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        stat = path.stat()
        return (stat.st_mtime_ns, stat.st_size)
    except OSError:
        return None


class Watcher:
    """Renders one graph file again whenever a file it depends on changes.

    Parameters
    ----------
    path : path
        The graph file.
    overrides : mapping, optional
        ``--set`` overrides, as for :meth:`graphengine.Graph.run`.
    cache : bool or path
        As for :meth:`graphengine.Graph.run`; ``True`` (the default) uses the
        memory cache and the disk cache next to the graph.
    play : callable, optional
        Called with the path of the main audio output after each render.
    echo : callable, optional
        Receives every line to print (default: nothing is printed).
    bind : callable, optional
        Called with the loaded graph at every render; returns more overrides
        (files bound to its file inputs and outputs, as ``render in.wav -o
        out.wav`` does). Asked again each time, so a renamed input is
        followed; a :class:`GraphError` it raises is shown like a bad save.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        overrides: Mapping[str, Any] | None = None,
        *,
        cache: bool | str | os.PathLike = True,
        play: Callable[[Path], Any] | None = None,
        echo: Callable[[str], Any] | None = None,
        bind: Callable[[Any], Mapping[str, Any]] | None = None,
    ) -> None:
        self.path = Path(path).resolve()
        self.overrides = dict(overrides or {})
        self.bind = bind
        self.cache = cache
        self.play = play
        self.echo = echo or (lambda line: None)
        self.watched: set[Path] = {self.path}
        self._state: dict[Path, Any] = {}
        self.renders = 0

    def snapshot(self) -> dict[Path, Any]:
        """The current signature of every watched file."""
        return {path: file_signature(path) for path in sorted(self.watched)}

    def changed_files(self) -> list[Path]:
        """Watched files whose signature differs from the last render's."""
        current = self.snapshot()
        return [p for p, sig in current.items() if self._state.get(p, object()) != sig]

    def render(self, changed: list[Path] | None = None) -> Change:
        """Load, validate and run the graph once; a :class:`GraphError` becomes an error Change."""
        from graphengine.api import load

        self._state = self.snapshot()
        started = time.perf_counter()
        self.renders += 1
        try:
            graph = load(self.path)
            overrides = {**self.overrides, **(self.bind(graph) if self.bind else {})}
            result = graph.run(overrides, cache=self.cache)
        except GraphError as error:
            change = Change(False, error=str(error), changed=list(changed or []))
            change.seconds = time.perf_counter() - started
            self._report(change)
            return change
        seconds = time.perf_counter() - started
        self.watched = {self.path, *referenced_files(result.valid)}
        self._state = {**self.snapshot(), **self._state}
        outputs = [summarize_output(p) for p in sink_outputs(result.valid)]
        change = Change(
            True,
            computed=result.computed,
            nodes=len(result.stats),
            outputs=outputs,
            seconds=seconds,
            changed=list(changed or []),
            warnings=list(result.warnings),
        )
        self._report(change)
        if self.play is not None:
            audio = [o.path for o in outputs if o.duration_s is not None]
            if audio:
                self.play(audio[0])
        return change

    def _report(self, change: Change) -> None:
        base = Path.cwd()
        if change.changed:
            self.echo("changed: " + ", ".join(_relative(p, base) for p in change.changed))
        for line in change.lines(base):
            self.echo(line)

    def poll(self) -> Change | None:
        """Render if a watched file changed since the last render; ``None`` otherwise."""
        changed = self.changed_files()
        if not changed:
            return None
        return self.render(changed)

    def loop(
        self,
        *,
        interval_s: float = 0.25,
        max_iterations: int | None = None,
        max_seconds: float | None = None,
        settle_s: float = 0.05,
    ) -> list[Change]:
        """Poll every ``interval_s`` until a limit is reached (forever without one).

        A detected change waits ``settle_s`` and is taken only once the files
        stop changing, so an editor's save in several writes renders once.
        Returns the renders done (the caller renders first with :meth:`render`).
        """
        changes: list[Change] = []
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        iteration = 0
        while True:
            if max_iterations is not None and iteration >= max_iterations:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            iteration += 1
            if self.changed_files():
                before = self.snapshot()
                while True:
                    time.sleep(settle_s)
                    after = self.snapshot()
                    if after == before:
                        break
                    before = after
                change = self.poll()
                if change is not None:
                    changes.append(change)
                continue
            time.sleep(interval_s)
        return changes


def sound_player(echo: Callable[[str], Any]) -> Callable[[Path], Any] | None:
    """A function playing an audio file on the default output device, or ``None``.

    Needs the optional ``sounddevice`` package and an output device; says
    plainly (through ``echo``) which is missing.
    """
    try:
        import sounddevice as sd
    except (ImportError, OSError) as error:  # OSError: PortAudio library missing
        echo(f"--play: sounddevice is not available ({error}); pip install sounddevice")
        return None
    try:
        sd.query_devices(kind="output")
    except Exception as error:  # PortAudio raises its own error types
        echo(f"--play: no sound output device found ({error}); rendering without playback")
        return None

    def play(path: Path) -> None:
        import soundfile as sf

        samples, rate = sf.read(path, dtype="float32", always_2d=True)
        sd.stop()
        sd.play(samples, rate)
        echo(f"playing {path.name}")

    return play


def watch(
    path: str | os.PathLike,
    overrides: Mapping[str, Any] | None = None,
    *,
    play: bool = False,
    cache: bool | str | os.PathLike = True,
    interval_s: float = 0.25,
    max_seconds: float | None = None,
    echo: Callable[[str], Any] = print,
    bind: Callable[[Any], Mapping[str, Any]] | None = None,
) -> list[Change]:
    """Render ``path`` now and again on every change, until ``max_seconds`` (or Ctrl-C).

    ``bind`` is as for :class:`Watcher`: the CLI binds ``in.wav -o out.wav``.
    """
    player = sound_player(echo) if play else None
    watcher = Watcher(path, overrides, cache=cache, play=player, echo=echo, bind=bind)
    echo(f"watching {_relative(watcher.path, Path.cwd())} (Ctrl-C stops)")
    changes = [watcher.render()]
    try:
        changes += watcher.loop(interval_s=interval_s, max_seconds=max_seconds)
    except KeyboardInterrupt:
        echo("stopped")
    return changes
