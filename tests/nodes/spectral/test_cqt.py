"""spectral.cqt: librosa's constant-Q transform on its own port type, drawn by sink.image."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from node_harness import make_ctx, run_node, validation_error
from PIL import Image as PILImage

import graphengine as ge
from graphengine.types import Audio, ConstantQ, decode
from nodes.spectral import cqt as Q

SR = 22050


def chord(seconds: float = 3.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    rows = []
    for c in range(channels):
        notes = (220.0, 277.18, 329.63) if c == 0 else (98.0, 146.83, 440.0)
        rows.append(sum(0.2 * np.sin(2 * np.pi * f * t) * np.exp(-t) for f in notes))
    return np.stack(rows).astype(np.float32)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"hop": 256, "n_bins": 72, "bins_per_octave": 24, "fmin_hz": 55.0},
        {"gamma_hz": 10.0, "filter_scale": 0.8, "norm": "2", "window": "hamming"},
        {"tuning": None, "scale": False, "hop": 384},
    ],
)
def test_cqt_equals_librosa(params):
    y = chord(channels=2)
    out = run_node(Q.cqt, make_ctx("spectral.cqt", SR), Audio(y, SR), **params)
    p = {"hop": 512, "fmin_hz": Q.C1_HZ, "n_bins": 84, "bins_per_octave": 12, "tuning": 0.0}
    p |= params
    tuning = p["tuning"]
    if tuning is None:
        tuning = librosa.estimate_tuning(y=y.mean(axis=0), sr=SR, bins_per_octave=12)
    for c in range(2):
        ref = librosa.vqt(
            y[c],
            sr=SR,
            hop_length=p["hop"],
            fmin=p["fmin_hz"],
            n_bins=p["n_bins"],
            bins_per_octave=p["bins_per_octave"],
            tuning=tuning,
            gamma=p.get("gamma_hz", 0.0),
            filter_scale=p.get("filter_scale", 1.0),
            norm={"1": 1, "2": 2}[p.get("norm", "1")],
            window=p.get("window", "hann"),
            scale=p.get("scale", True),
        )
        np.testing.assert_allclose(out.data[c], ref, rtol=1e-4, atol=1e-6 * np.abs(ref).max())
    fmin = p["fmin_hz"] * 2 ** (tuning / p["bins_per_octave"])
    np.testing.assert_allclose(
        out.frequencies_hz,
        librosa.cqt_frequencies(p["n_bins"], fmin=fmin, bins_per_octave=p["bins_per_octave"]),
        rtol=1e-12,
    )


def test_default_cqt_is_librosa_cqt_and_peaks_at_the_notes():
    y = chord()
    out = run_node(Q.cqt, make_ctx("spectral.cqt", SR), Audio(y, SR))
    ref = librosa.cqt(y[0], sr=SR)
    np.testing.assert_allclose(out.data[0], ref, rtol=1e-4, atol=1e-6 * np.abs(ref).max())
    energy = np.abs(out.data[0]).mean(axis=1)
    top3 = np.sort(out.frequencies_hz[np.argsort(energy)[-3:]])
    np.testing.assert_allclose(top3, [220.0, 277.18, 329.63], rtol=0.01)


def test_window_bandwidths_and_cutoff_are_librosas():
    for window, width in Q.WINDOW_BANDWIDTHS.items():
        assert width == pytest.approx(librosa.filters.window_bandwidth(window), rel=1e-12)
    freqs = Q.bin_frequencies(40.0, 90, 12)
    for gamma in (0.0, 7.5):
        _, cutoff = librosa.filters.wavelet_lengths(
            freqs=freqs, sr=SR, window="hann", filter_scale=1.0, gamma=gamma
        )
        assert Q.filter_cutoff(freqs, 12, "hann", 1.0, gamma) == pytest.approx(cutoff, rel=1e-12)


def test_filters_above_nyquist_fail_validation_and_types_do_not_mix():
    upstream = {"src": {"type": "source.tone", "duration_s": 0.5}}
    error = validation_error(
        "spectral.cqt", sample_rate=SR, upstream=upstream, in_="src", n_bins=108
    )
    assert "n_bins" in str(error) and "Nyquist" in str(error)
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.tone", duration_s=0.5)
    g.add("cq", "spectral.cqt", in_="src")
    g.add("m", "feature.mfcc", in_="cq")
    with pytest.raises(ge.GraphError, match="expects spectrum, got cqt"):
        g.validate()


def test_constant_q_round_trips_and_draws(tmp_path):
    y = chord(seconds=1.0)
    out = run_node(Q.cqt, make_ctx("spectral.cqt", SR), Audio(y, SR), n_bins=60)
    back = decode("cqt", *out.to_arrays())
    assert isinstance(back, ConstantQ)
    np.testing.assert_array_equal(back.data, out.data)
    assert (back.hop, back.fmin_hz, back.bins_per_octave) == (512, out.fmin_hz, 12)
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.tone", frequency="A4", duration_s=1.0)
    g.add("cq", "spectral.cqt", in_="src", n_bins=60)
    g.add("pic", "sink.image", in_="cq", path=str(tmp_path / "cq.png"), width_px=400)
    g.run(cache=False)
    with PILImage.open(tmp_path / "cq.png") as picture:
        assert picture.size == (400, 500)
