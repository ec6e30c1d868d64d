"""Rendering from an output's sidecar uses the cache where the graph lives, never one in out/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from support import TONE_GRAPH, run_cli

GRAPH = (
    TONE_GRAPH.format(duration=0.2)
    + """
[nodes.out]
type = "sink.wav"
in = "osc"
path = "out/a.wav"
"""
)


def test_a_sidecar_render_plants_no_cache_among_the_outputs(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    assert run_cli("render", "g.toml", "-q", cwd=tmp_path).returncode == 0
    (tmp_path / "out" / "a.wav").unlink()  # so the sidecar render has work to do
    again = run_cli("render", "out/a.wav.graph.json", "--explain", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "out" / "a.wav").is_file()
    assert not (tmp_path / "out" / ".graphengine-cache").exists()
    assert "osc" in again.stderr and "cache hit" in again.stderr  # the graph's own cache
    record = json.loads((tmp_path / "out" / "a.wav.graph.json").read_text())
    assert record["provenance"]["graph_home"] == str(tmp_path.resolve())
    info = run_cli("cache", "info", "out/a.wav.graph.json", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["directory"] == str(tmp_path.resolve() / ".graphengine-cache")


def test_a_sidecar_moved_away_from_its_graph_renders_without_a_disk_cache(
    tmp_path: Path,
) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    assert run_cli("render", "g.toml", "-q", cwd=tmp_path).returncode == 0
    elsewhere = tmp_path / "copy"
    elsewhere.mkdir()
    shutil.copy(tmp_path / "out" / "a.wav.graph.json", elsewhere / "a.wav.graph.json")
    record = json.loads((elsewhere / "a.wav.graph.json").read_text())
    record["provenance"]["graph_home"] = str(tmp_path / "gone")
    record["graph"]["nodes"]["out"]["path"] = str(elsewhere / "b.wav")
    (elsewhere / "a.wav.graph.json").write_text(json.dumps(record))
    again = run_cli("render", "copy/a.wav.graph.json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (elsewhere / "b.wav").is_file()
    assert not (elsewhere / ".graphengine-cache").exists()
