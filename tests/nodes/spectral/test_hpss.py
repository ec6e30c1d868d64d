"""spectral.hpss: median-filter harmonic/percussive separation equal to librosa's."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from node_harness import make_ctx, run_node, validation_error
from scipy.ndimage import median_filter as scipy_median

import graphengine as ge
from graphengine.types import Audio, Spectrum
from nodes.spectral import hpss as H
from nodes.spectral import stft as spectral

SR = 22050


def tones_and_clicks(seconds: float = 4.0, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Steady harmonic tones (the harmonic part) over sharp noise clicks (the percussive one)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    rows = []
    for c in range(channels):
        y = sum(0.2 / k * np.sin(2 * np.pi * 220.0 * (1 + 0.5 * c) * k * t) for k in range(1, 6))
        for hit in np.arange(0.1, seconds - 0.05, 0.25):
            i = int(hit * SR)
            y[i : i + 200] += rng.standard_normal(200) * np.exp(-np.arange(200) / 30.0)
        rows.append(y)
    return np.stack(rows).astype(np.float32)


def spectrum_of(y: np.ndarray) -> Spectrum:
    return run_node(spectral.stft, make_ctx("spectral.stft", SR), Audio(y, SR))


def max_relative_error(got: np.ndarray, ref: np.ndarray) -> float:
    nonzero = np.abs(ref) > 0
    assert np.array_equal(np.abs(got) > 0, nonzero)
    return float(np.max(np.abs(got[nonzero] - ref[nonzero]) / np.abs(ref[nonzero])))


@pytest.mark.parametrize("size", [1, 2, 4, 7, 31, 40])
@pytest.mark.parametrize("axis", [0, 1])
def test_running_median_equals_scipy_ndimage(size, axis):
    rng = np.random.default_rng(size)
    x = rng.random((23, 37)).astype(np.float32)
    x[3, 5:9] = x[3, 4]  # repeated values
    footprint = (1, size) if axis == 1 else (size, 1)
    ref = scipy_median(x, size=footprint, mode="reflect")
    np.testing.assert_array_equal(H.median_filter(x, size, axis), ref)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"margin_harmonic": 2.0, "margin_percussive": 4.0},
        {"power": float("inf")},
        {"power": 1.0, "kernel_harmonic": 17, "kernel_percussive": 12},
    ],
)
def test_hpss_equals_librosa(params):
    y = tones_and_clicks(channels=2)
    spec = spectrum_of(y)
    out = run_node(H.hpss, make_ctx("spectral.hpss", SR), spec, **params)
    kernel = (params.get("kernel_harmonic", 31), params.get("kernel_percussive", 31))
    margin = (params.get("margin_harmonic", 1.0), params.get("margin_percussive", 1.0))
    for c in range(2):
        ref_h, ref_p = librosa.decompose.hpss(
            spec.data[c], kernel_size=kernel, power=params.get("power", 2.0), margin=margin
        )
        assert max_relative_error(out.harmonic.data[c], ref_h) < 1e-4
        assert max_relative_error(out.percussive.data[c], ref_p) < 1e-4
        np.testing.assert_allclose(
            out.residual.data[c], spec.data[c] - ref_h - ref_p, atol=1e-5 * np.abs(ref_h).max()
        )
    assert out.harmonic.n_fft == spec.n_fft and out.percussive.hop == spec.hop


def test_hpss_then_istft_equals_librosa_effects_hpss():
    y = tones_and_clicks()
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.file", path="fed.wav")
    g.add("split", "spectral.hpss", in_="src")  # audio: a default spectral.stft goes before it
    g.add("h", "spectral.istft", in_="split.harmonic", length=y.shape[1])
    g.add("p", "spectral.istft", in_="split.percussive", length=y.shape[1])
    result = g.run(outputs=["h", "p"], inputs={"src": Audio(y, SR)}, cache=False)
    ref_h, ref_p = librosa.effects.hpss(y[0])
    np.testing.assert_allclose(result["h"].samples[0], ref_h, atol=1e-5)
    np.testing.assert_allclose(result["p"].samples[0], ref_p, atol=1e-5)
    # and it separates: the clicks go to the percussive part, the tones to the harmonic one
    clicks = np.zeros_like(y[0], dtype=bool)
    for hit in np.arange(0.1, 3.95, 0.25):
        clicks[int(hit * SR) : int(hit * SR) + 200] = True
    h, p = result["h"].samples[0], result["p"].samples[0]
    assert np.sum(p[clicks] ** 2) > 4 * np.sum(p[~clicks] ** 2) * clicks.mean() / (
        1 - clicks.mean()
    )
    assert np.sum(h**2) > 5 * np.sum(p[~clicks] ** 2)


def test_margins_below_one_and_empty_kernels_fail_validation():
    upstream = {"src": {"type": "source.tone", "duration_s": 0.5}}
    error = validation_error("spectral.hpss", upstream=upstream, in_="src", margin_percussive=0.5)
    assert "margin_percussive" in str(error)
    error = validation_error("spectral.hpss", upstream=upstream, in_="src", kernel_harmonic=0)
    assert "kernel_harmonic" in str(error)
