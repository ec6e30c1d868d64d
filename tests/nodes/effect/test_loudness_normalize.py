"""effect.loudness_normalize: on target by pyloudnorm, true peak under the ceiling."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm as pyln
import pytest
import scipy.signal as sps
from music_signals import RATE, loud_mix, music_like
from node_harness import make_ctx, run_node

from graphengine.types import Audio
from nodes.effect.loudness_normalize import loudness_normalize


def lufs(x: np.ndarray) -> float:
    return pyln.Meter(RATE).integrated_loudness(x.T.astype(np.float64))


def true_peak_db(y: np.ndarray) -> float:
    return 20 * math.log10(np.abs(sps.resample_poly(y.astype(np.float64), 4, 1, axis=1)).max())


def normalize(x: np.ndarray, **params):
    ctx = make_ctx("effect.loudness_normalize", RATE)
    return run_node(loudness_normalize, ctx, Audio(x, RATE), **params).samples, ctx.warnings


@pytest.mark.parametrize("target", [-23.0, -16.0, -14.0, -9.0])
@pytest.mark.parametrize("source", ["quiet-music", "loud-mix"])
def test_the_result_measures_the_target_and_keeps_under_the_ceiling(target, source):
    x = 0.05 * music_like(20.0, RATE, seed=11) if source == "quiet-music" else loud_mix(20.0)
    y, _ = normalize(x, target_lufs=target, true_peak_dbtp=-1.0)
    assert y.shape == x.shape
    assert abs(lufs(y) - target) <= 0.1
    assert true_peak_db(y) <= -1.0


def test_without_a_ceiling_it_is_one_gain():
    x = 0.05 * music_like(12.0, RATE, seed=12)
    y, _ = normalize(x, target_lufs=-14.0, true_peak_dbtp=None)
    ratio = y[np.abs(x) > 1e-3] / x[np.abs(x) > 1e-3]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)
    assert abs(lufs(y) - -14.0) <= 0.1


def test_lowering_the_gain_instead_of_limiting_misses_the_target_and_says_so():
    x = loud_mix(10.0)
    y, warnings = normalize(x, target_lufs=-9.0, true_peak_dbtp=-1.0, limit=False)
    assert abs(true_peak_db(y) - -1.0) < 0.05
    assert lufs(y) < -9.5
    ratio = y[np.abs(x) > 1e-3] / x[np.abs(x) > 1e-3]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)
    assert any("under the target" in w for w in warnings)


def test_silence_passes_through_with_a_warning():
    x = np.zeros((2, RATE), np.float32)
    y, warnings = normalize(x)
    np.testing.assert_array_equal(y, x)
    assert any("passed through unchanged" in w for w in warnings)
