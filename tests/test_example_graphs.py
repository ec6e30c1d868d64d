"""Every graph in graphs/ renders as shipped, and writes what it promises."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import graphengine as ge
from support import REPO_ROOT

GRAPHS = sorted(p for p in (REPO_ROOT / "graphs").iterdir() if p.suffix in (".toml", ".json"))


@pytest.fixture
def graphs_copy(tmp_path: Path) -> Path:
    target = tmp_path / "graphs"
    shutil.copytree(
        REPO_ROOT / "graphs", target, ignore=shutil.ignore_patterns("out", ".graphengine-cache")
    )
    return target


@pytest.mark.parametrize("graph", GRAPHS, ids=lambda p: p.name)
def test_graph_renders(graph: Path, graphs_copy: Path) -> None:
    result = ge.load(graphs_copy / graph.name).run(cache=False)
    assert result.outputs, f"{graph.name} writes nothing"
    for output in result.outputs:
        assert output.is_file() and output.stat().st_size > 0
        assert output.with_name(output.name + ".graph.json").is_file()
        if output.suffix in (".wav", ".flac", ".ogg"):
            samples, rate = sf.read(output, always_2d=True)
            assert rate == result.valid.graph.sample_rate
            assert np.isfinite(samples).all()
            assert 0.01 < np.abs(samples).max() <= 1.0, f"{output.name}: silent or clipping"


def test_demo_sounds_like_an_a_major_chord(graphs_copy: Path) -> None:
    result = ge.load(graphs_copy / "demo.toml").run(cache=False)
    samples, rate = sf.read(result.outputs[0], always_2d=True)
    assert samples.shape[1] == 2 and abs(samples.shape[0] / rate - 4.0) < 1e-3
    spectrum = np.abs(np.fft.rfft(samples[:, 0] * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    for pitch_hz in (110.0, 277.18, 329.63):  # A2, C#4, E4
        band = (freqs > pitch_hz * 0.99) & (freqs < pitch_hz * 1.01)
        floor = np.median(spectrum[(freqs > 50) & (freqs < 2000)])
        assert spectrum[band].max() > 30 * floor, f"no partial near {pitch_hz} Hz"
