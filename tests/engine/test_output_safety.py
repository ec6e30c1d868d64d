"""A render never overwrites what the graph reads, its own graph file, or another sink's sidecar."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import graphengine as ge
from support import run_cli

GRAPH = """
sample_rate = 8000
[nodes.src]
type = "source.file"
path = "files/victim.wav"
[nodes.quiet]
type = "effect.gain"
in = "src"
gain_db = -6.0
[nodes.out]
type = "sink.wav"
in = "quiet"
path = "out/copy.wav"
[nodes.table]
type = "sink.json"
in = "level"
path = "out/level.json"
[nodes.level]
type = "feature.summary"
in = "rms"
[nodes.rms]
type = "feature.rms"
in = "spec"
[nodes.spec]
type = "spectral.stft"
in = "quiet"
"""


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def case(tmp_path: Path) -> Path:
    (tmp_path / "files").mkdir()
    t = np.arange(8000) / 8000
    sf.write(tmp_path / "files" / "victim.wav", 0.3 * np.sin(2 * np.pi * 220 * t), 8000)
    (tmp_path / "g.toml").write_text(GRAPH)
    return tmp_path


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("out.path='files/victim.wav'", "which the graph reads (src.path reads it)"),
        ("table.path='g.json'", "which the graph reads (the graph file)"),
        ("out.path='files/../files/victim.wav'", "which the graph reads (src.path reads it)"),
        ("table.path='out/copy.wav.graph.json'", "its sidecar"),
        ("out.path='files/victim.wav.graph.json'", "does not end in .wav"),
        ("out.path='/proc/x/y.wav'", "cannot write to /proc"),
        ("out.path='g.toml/y.wav'", "is not a directory"),
    ],
    ids=[
        "the-input",
        "the-graph-file",
        "the-input-by-another-name",
        "a-sidecar",
        "suffix",
        "a-folder-that-cannot-exist",
        "under-a-file",
    ],
)
def test_an_output_over_something_the_render_needs_is_refused(
    case: Path, setting: str, fragment: str
) -> None:
    ge.load(case / "g.toml").save(case / "g.json")
    before = _digest(case)
    for command in ("validate", "render"):
        done = run_cli(command, "g.json", "--set", setting, cwd=case)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and fragment in done.stderr, done.stderr
    assert _digest(case) == before


def test_a_sink_writing_another_sinks_sidecar_is_refused(case: Path) -> None:
    text = (case / "g.toml").read_text().replace('path = "out/level.json"', 'path = "x.json"')
    text = text.replace('path = "out/copy.wav"', 'path = "x.json.graph.json.wav"')
    (case / "g.toml").write_text(
        text + '\n[nodes.side]\ntype = "sink.json"\nin = "level"\npath = "x.json.graph.json"\n'
    )
    done = run_cli("validate", "g.toml", cwd=case)
    assert done.returncode == 2 and "is the output of side.path" in done.stderr, done.stderr


def test_the_input_survives_repeated_renders(case: Path) -> None:
    before = (case / "files" / "victim.wav").read_bytes()
    for _ in range(2):
        assert run_cli("render", "g.toml", cwd=case).returncode == 0
    assert (case / "files" / "victim.wav").read_bytes() == before
