"""effect.limiter: never above the ceiling (sample and true peak), aligned, timed as declared."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal as sps
from music_signals import RATE, loud_mix
from node_harness import make_ctx, run_node

import nodes.effect.limiter as limiter_module
from graphengine.types import Audio
from nodes.effect.limiter import limiter

SR = RATE


def run(x: np.ndarray, **params) -> np.ndarray:
    return run_node(limiter, make_ctx("effect.limiter", SR), Audio(x, SR), **params).samples


def true_peak_db(y: np.ndarray) -> float:
    """The true peak by an independent 4x oversampling (scipy's polyphase resampler)."""
    return 20 * math.log10(np.abs(sps.resample_poly(y.astype(np.float64), 4, 1, axis=1)).max())


@pytest.mark.parametrize(
    "params",
    [
        {"ceiling_dbfs": -1.0},
        {"ceiling_dbfs": -0.1, "lookahead_ms": 1.0, "release_ms": 20.0},
        {"ceiling_dbfs": -6.0, "lookahead_ms": 10.0, "release_ms": 500.0, "gain_db": 6.0},
        {"ceiling_dbfs": -3.0, "lookahead_ms": 0.01, "release_ms": 0.0},
    ],
    ids=["default", "fast", "slow-driven", "no-lookahead"],
)
def test_no_sample_above_the_ceiling(params):
    x = loud_mix()
    y = run(x, **params)
    assert y.shape == x.shape
    ceiling = 10 ** (params["ceiling_dbfs"] / 20)
    assert np.abs(y).max() <= ceiling
    assert np.abs(y).max() > 0.999 * ceiling  # it limits, it does not just turn down


@pytest.mark.parametrize("ceiling_dbfs", [-1.0, -0.3])
@pytest.mark.parametrize("lookahead_ms", [0.5, 5.0])
def test_true_peak_mode_keeps_the_oversampled_peak_under_the_ceiling(ceiling_dbfs, lookahead_ms):
    x = loud_mix()
    plain = run(x, ceiling_dbfs=ceiling_dbfs, lookahead_ms=lookahead_ms)
    assert true_peak_db(plain) > ceiling_dbfs + 0.5  # sample-peak limiting lets them through
    y = run(x, ceiling_dbfs=ceiling_dbfs, lookahead_ms=lookahead_ms, true_peak=True)
    assert true_peak_db(y) <= ceiling_dbfs
    assert np.abs(y).max() <= 10 ** (ceiling_dbfs / 20)
    assert true_peak_db(y) > ceiling_dbfs - 0.3


def test_a_signal_under_the_ceiling_passes_unchanged_and_aligned():
    x = 0.5 * loud_mix() / np.abs(loud_mix()).max()
    np.testing.assert_array_equal(run(x, ceiling_dbfs=-1.0), x)
    np.testing.assert_array_equal(run(x, ceiling_dbfs=-1.0, true_peak=True), x)


@pytest.mark.parametrize("frames", [1, 50, 220, 221, 4000])
def test_output_is_exactly_as_long_as_the_input(frames):
    x = np.full((2, frames), 2.0, np.float32)
    y = run(x, ceiling_dbfs=-1.0, lookahead_ms=5.0, true_peak=True)
    assert y.shape == x.shape
    assert np.abs(y).max() <= 10 ** (-1 / 20)


def test_attack_is_the_lookahead_and_the_gain_meets_the_peak_exactly():
    lookahead = round(5.0 * SR / 1000)  # 220 samples
    x = np.full((2, 8000), 0.1, np.float32)
    peak_at = 3000
    x[:, peak_at] = 1.0
    y = run(x, ceiling_dbfs=-6.0, lookahead_ms=5.0, release_ms=50.0)
    gain = (y / x)[0]
    ceiling = 10 ** (-6 / 20)
    # untouched until the ramp starts lookahead - 1 samples before the peak (latency compensated)
    first = peak_at - (lookahead - 1)
    np.testing.assert_allclose(gain[:first], 1.0, rtol=1e-6)
    assert gain[first] < 1.0
    # a straight line down to exactly what the peak needs
    np.testing.assert_allclose(y[:, peak_at], ceiling, rtol=1e-6)
    ramp = gain[first - 1 : peak_at + 1]
    np.testing.assert_allclose(np.diff(ramp), (ceiling - 1.0) / lookahead, rtol=1e-4)
    np.testing.assert_array_equal(y[0], y[1])  # one gain for both channels


def test_release_recovers_with_its_time_constant():
    x = np.full((1, 40000), 0.1, np.float32)
    x[:, 5000] = 1.0
    release_ms = 100.0
    y = run(x, ceiling_dbfs=-6.0, lookahead_ms=2.0, release_ms=release_ms)
    gain = (y / x)[0]
    ceiling = 10 ** (-6 / 20)
    lookahead = round(2.0 * SR / 1000)
    start = 5000 + lookahead  # held while the peak is in view, then released
    tau = round(release_ms * SR / 1000)
    # box-smoothed exponential: at tau + lookahead / 2 the deficit is ~1/e of its start
    deficit = (1 - gain[start + tau + lookahead // 2]) / (1 - ceiling)
    assert abs(deficit - math.exp(-1)) < 0.02


@pytest.mark.parametrize("chunk", [7, 64, 1000])
@pytest.mark.parametrize("true_peak", [False, True])
def test_the_kernel_gives_the_same_samples_in_any_chunks(chunk, true_peak, monkeypatch):
    x = loud_mix(1.0)
    whole = run(x, true_peak=true_peak)
    monkeypatch.setattr(limiter_module, "_CHUNK", chunk)
    np.testing.assert_array_equal(run(x, true_peak=true_peak), whole)


def test_a_nan_does_not_poison_the_rest():
    x = loud_mix(0.5)
    x[:, 1000] = np.nan
    x[1, 2000] = np.inf
    ctx = make_ctx("effect.limiter", SR)
    y = run_node(limiter, ctx, Audio(x, SR), ceiling_dbfs=-1.0).samples
    assert np.isfinite(y).all() and np.abs(y).max() <= 10 ** (-1 / 20)
    assert y[0, 1000] == 0.0
    assert any("3 NaN or infinite samples" in w for w in ctx.warnings)
