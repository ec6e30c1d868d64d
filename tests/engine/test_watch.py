"""Watch mode re-renders exactly what an edit changed and survives a malformed save."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from graphengine import cli
from graphengine.watch import Watcher, summarize_output
from support import graph_toml, run_cli

TONE = {"type": "source.tone", "frequency": "A4", "duration_s": 0.5, "amplitude": 0.5}


def watched_graph(gain_db: float, source: dict = TONE) -> str:
    """A source, a sub-graph ``fx.toml`` and a gain of ``gain_db`` into ``out/watched.wav``."""
    return graph_toml(
        {
            "osc": source,
            "fx": {"type": "graph", "path": "fx.toml", "in": "osc"},
            "master": {"type": "effect.gain", "in": "fx", "gain_db": gain_db},
            "out": {"type": "sink.wav", "in": "master", "path": "out/watched.wav"},
        },
        format=1,
        name="watched",
        sample_rate=22050,
    )


def sub_graph(gain_db: float) -> str:
    """``fx.toml``: one gain of ``gain_db`` between the sub-graph's ``in`` and ``out``."""
    return graph_toml(
        {"g": {"type": "effect.gain", "gain_db": gain_db}},
        inputs={"in": "g.in"},
        outputs={"out": "g"},
    )


def _descendants(valid, node: str) -> set[str]:
    consumers = valid.consumers()
    found, pending = {node}, [node]
    while pending:
        for child in consumers[pending.pop()]:
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _peak_db(path: Path) -> float:
    samples, _ = sf.read(path)
    return 20 * np.log10(np.abs(samples).max())


def test_an_edit_re_renders_once_only_what_changed_and_bad_saves_are_reported(
    tmp_path: Path,
) -> None:
    graph = tmp_path / "watched.toml"
    graph.write_text(watched_graph(-3))
    (tmp_path / "fx.toml").write_text(sub_graph(0))
    lines: list[str] = []
    watcher = Watcher(graph, cache=tmp_path / "cache", echo=lines.append)
    first = watcher.render()
    assert first.ok and set(first.computed) == {"osc", "fx/g", "master", "out"}
    assert watcher.watched == {graph, (tmp_path / "fx.toml").resolve()}
    assert abs(first.outputs[0].peak_dbfs - (20 * np.log10(0.5) - 3)) < 0.05
    assert watcher.loop(interval_s=0.01, max_iterations=3) == []  # nothing changed: no render

    graph.write_text(watched_graph(-12))  # a downstream parameter
    changes = watcher.loop(interval_s=0.01, max_iterations=5, settle_s=0.01)
    assert len(changes) == 1, [c.lines() for c in changes]
    change = changes[0]
    valid = __import__("graphengine").load(graph).validate()
    assert set(change.computed) == _descendants(valid, "master") == {"master", "out"}
    assert abs(_peak_db(tmp_path / "out" / "watched.wav") - (20 * np.log10(0.5) - 12)) < 0.05
    assert lines[-2].startswith("recomputed master, out (2 of 4 nodes)")
    assert "out/watched.wav" in lines[-1] and "0.500 s" in lines[-1] and "dBFS" in lines[-1]

    graph.write_text(watched_graph(-12).replace('in = "fx"', 'in = "fx'))  # malformed
    changes = watcher.loop(interval_s=0.01, max_iterations=5, settle_s=0.01)
    assert len(changes) == 1 and not changes[0].ok
    assert lines[-1].startswith("error: ") and "watched.toml:" in lines[-1]

    graph.write_text(watched_graph(-12).replace("gain_db = -12", "gain_db = 99"))
    changes = watcher.loop(interval_s=0.01, max_iterations=5, settle_s=0.01)
    assert len(changes) == 1 and not changes[0].ok  # out of range: a validation error
    assert "master.gain_db [effect.gain]" in changes[0].error

    graph.write_text(watched_graph(-12))  # fixed: everything is in the cache
    changes = watcher.loop(interval_s=0.01, max_iterations=5, settle_s=0.01)
    assert len(changes) == 1 and changes[0].ok and changes[0].computed == []


def test_sub_graph_and_input_file_edits_are_watched(tmp_path: Path) -> None:
    graph = tmp_path / "g.toml"
    t = np.arange(2205) / 22050
    sf.write(tmp_path / "in.wav", 0.5 * np.sin(2 * np.pi * 440 * t), 22050)
    graph.write_text(watched_graph(0, source={"type": "source.file", "path": "in.wav"}))
    (tmp_path / "fx.toml").write_text(sub_graph(0))
    watcher = Watcher(graph, cache=False)
    assert watcher.render().ok
    assert (tmp_path / "in.wav").resolve() in watcher.watched

    (tmp_path / "fx.toml").write_text(sub_graph(-6))
    [change] = watcher.loop(interval_s=0.01, max_iterations=4, settle_s=0.01)
    assert change.ok and change.changed == [(tmp_path / "fx.toml").resolve()]
    assert abs(change.outputs[0].peak_dbfs - (20 * np.log10(0.5) - 6)) < 0.05

    sf.write(tmp_path / "in.wav", 0.25 * np.sin(2 * np.pi * 440 * t[:1000]), 22050)
    os.utime(tmp_path / "in.wav", ns=(1, 1))  # a different mtime even on coarse clocks
    [change] = watcher.loop(interval_s=0.01, max_iterations=4, settle_s=0.01)
    assert change.ok and abs(change.outputs[0].duration_s - 1000 / 22050) < 1e-9


def test_summaries_of_audio_and_other_outputs(tmp_path: Path) -> None:
    sf.write(tmp_path / "a.wav", np.full((4410, 2), 0.25), 44100)
    summary = summarize_output(tmp_path / "a.wav")
    assert summary.channels == 2 and abs(summary.duration_s - 0.1) < 1e-9
    assert abs(summary.peak_dbfs - 20 * np.log10(0.25)) < 1e-3
    (tmp_path / "b.json").write_text("{}")
    assert summarize_output(tmp_path / "b.json").line(tmp_path) == "b.json  2 bytes"


def test_watch_command_renders_and_stops(tmp_path: Path) -> None:
    graph = tmp_path / "watched.toml"
    graph.write_text(watched_graph(-3))
    (tmp_path / "fx.toml").write_text(sub_graph(0))
    done = run_cli("watch", str(graph), "--max-seconds", "0.3", "--play", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "recomputed osc, fx/g, master, out (4 of 4 nodes)" in done.stdout
    assert "out/watched.wav  0.500 s  peak -9.0 dBFS  1 ch 22050 Hz" in done.stdout
    assert "--play:" in done.stdout or "playing watched.wav" in done.stdout  # either, plainly


def test_watch_says_the_warnings_of_a_render(tmp_path: Path) -> None:
    """A warning of the run (here: a cache folder that is a file's child) is printed, not lost."""
    graph = tmp_path / "watched.toml"
    graph.write_text(watched_graph(-3))
    (tmp_path / "fx.toml").write_text(sub_graph(0))
    (tmp_path / "blocker").write_text("a file where the cache folder's parent would be")
    lines: list[str] = []
    watcher = Watcher(graph, cache=tmp_path / "blocker" / "cache", echo=lines.append)
    assert watcher.render().ok
    assert any(line.startswith("warning: ") and "cache" in line for line in lines), lines


def test_watch_binds_files_like_render_and_follows_the_input_file(tmp_path, monkeypatch, capsys):
    """``watch FX.toml in.wav -o out.wav``: paths from the shell; saving in.wav re-renders."""
    fx = tmp_path / "graphs" / "fx.toml"
    fx.parent.mkdir()
    fx.write_text(
        graph_toml(
            {
                "src": {"type": "source.file", "path": "$input"},
                "quiet": {"type": "effect.gain", "in": "src", "gain_db": -6.0},
                "out": {"type": "sink.wav", "in": "quiet", "path": "$output"},
            },
            format=1,
            sample_rate=22050,
            params={"input": "missing.wav", "output": "out/fx.wav"},
        )
    )
    work = tmp_path / "session"
    work.mkdir()
    t = np.arange(2205) / 22050
    sf.write(work / "in.wav", 0.5 * np.sin(2 * np.pi * 440 * t), 22050)
    monkeypatch.chdir(work)
    args = [str(fx), "in.wav", "-o", "wet.wav", "--no-cache", "--interval", "0.02"]
    watcher = threading.Thread(target=cli.main, args=(["watch", *args, "--max-seconds", "2"],))
    watcher.start()
    deadline = time.monotonic() + 10
    while not (work / "wet.wav").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    first, _ = sf.read(work / "wet.wav")
    assert first.shape == (2205,)
    expected = 0.5 * 10 ** (-6 / 20) * np.sin(2 * np.pi * 440 * t)
    np.testing.assert_allclose(first, expected, atol=1e-4)
    sf.write(work / "in.wav", 0.25 * np.ones(1000), 22050)
    os.utime(work / "in.wav", ns=(1, 1))  # a different mtime even on coarse clocks
    watcher.join()
    second, _ = sf.read(work / "wet.wav")
    np.testing.assert_allclose(second, np.full(1000, 0.25 * 10 ** (-6 / 20)), atol=1e-4)
    out = capsys.readouterr().out
    assert "changed: in.wav" in out and out.count("recomputed src, quiet, out") == 2, out
    assert "  wet.wav  0.100 s" in out and not (fx.parent / "out").exists()
