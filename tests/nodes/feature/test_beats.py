"""feature.beats: librosa's beat tracker, frame for frame, and its beat times in CSV and JSON."""

from __future__ import annotations

import csv
import json

import librosa
import numpy as np
import pytest
from node_harness import make_ctx, run_node

from graphengine.types import Audio
from nodes.feature import beats as B
from nodes.sink import tables
from nodes.spectral import stft as spectral

SR = 22050


def drum_loop(bpm: float, seconds: float = 12.0, seed: int = 0) -> np.ndarray:
    """Kicks on the beat, softer hats between, over a held chord."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    y = 0.05 * (np.sin(2 * np.pi * 196 * t) + np.sin(2 * np.pi * 247 * t))
    period = 60.0 / bpm
    for k, start in enumerate(np.arange(0.5, seconds - 0.3, period / 2)):
        i = int(start * SR)
        m = min(3000, n - i)
        local = np.arange(m) / SR
        if k % 2 == 0:
            y[i : i + m] += 0.8 * np.sin(2 * np.pi * 60 * local) * np.exp(-local * 30)
        else:
            y[i : i + m] += 0.2 * rng.standard_normal(m) * np.exp(-local * 200)
    return y.astype(np.float32)


def beats_of(y: np.ndarray, **params):
    spec = run_node(spectral.stft, make_ctx("spectral.stft", SR), Audio(y, SR))
    return run_node(B.beats, make_ctx("feature.beats", SR), spec, **params)


@pytest.mark.parametrize(
    ("bpm", "params"),
    [
        (120.0, {}),
        (96.0, {"tightness": 400.0, "trim": False}),
        (140.0, {"start_bpm": 90.0}),
        (110.0, {"tempo_bpm": 110.0}),
    ],
)
def test_beats_are_librosas_frames(bpm, params):
    y = drum_loop(bpm)
    out = beats_of(y, **params)
    tempo, frames = librosa.beat.beat_track(
        y=y,
        sr=SR,
        start_bpm=params.get("start_bpm", 120.0),
        tightness=params.get("tightness", 100.0),
        trim=params.get("trim", True),
        bpm=params.get("tempo_bpm"),
    )
    ours = np.flatnonzero(out.out.values[0, 0])
    np.testing.assert_array_equal(ours, frames)
    assert out.out.values.sum() == frames.size
    assert out.tempo.names == ("tempo_bpm",)
    assert out.tempo.values[0] == pytest.approx(float(np.atleast_1d(tempo)[0]), rel=1e-6)
    # and they land on the hits, one beat period (60 / tempo) apart
    hits = np.arange(0.5, 11.7, 30.0 / bpm)
    times = ours * 512 / SR
    inner = times[(times > 1.0) & (times < 11.0)]
    assert np.median(np.min(np.abs(inner[:, None] - hits[None, :]), axis=1)) < 1.5 * 512 / SR
    assert np.median(np.diff(times)) == pytest.approx(60.0 / out.tempo.values[0], abs=512 / SR)


def test_sinks_write_one_line_per_beat(tmp_path):
    y = drum_loop(120.0)
    out = beats_of(y)
    _, frames = librosa.beat.beat_track(y=y, sr=SR)
    expected = librosa.frames_to_time(frames, sr=SR, hop_length=512)
    path = tmp_path / "beats.csv"
    run_node(tables.csv_table, make_ctx("sink.csv"), out.out, path=str(path), frames="nonzero")
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["time_s", "beat"]
    np.testing.assert_array_equal(np.array([float(r[0]) for r in rows[1:]]), expected)
    assert {r[1] for r in rows[1:]} == {"1.0"}
    jpath = tmp_path / "beats.json"
    run_node(tables.json_file, make_ctx("sink.json"), out.out, path=str(jpath), frames="nonzero")
    doc = json.loads(jpath.read_text())
    np.testing.assert_array_equal(doc["times_s"], expected)
    assert doc["values"] == [[[1.0] * frames.size]]
    run_node(tables.csv_table, make_ctx("sink.csv"), out.out, path=str(path))  # every frame
    assert len(list(csv.reader(path.open()))) == out.out.values.shape[2] + 1


def test_silence_has_no_beats_and_channels_are_separate():
    y = np.stack([drum_loop(120.0), np.zeros(int(12.0 * SR), dtype=np.float32)])
    out = beats_of(y)
    _, frames = librosa.beat.beat_track(y=y[0], sr=SR)
    np.testing.assert_array_equal(np.flatnonzero(out.out.values[0, 0]), frames)
    assert out.out.values[1].sum() == 0
    assert out.tempo.names == ("ch0_tempo_bpm", "ch1_tempo_bpm")
    assert out.tempo.values[1] == 0
