"""feature.loudness against BS.1770-4's table, EBU Tech 3341/3342 test signals and pyloudnorm."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm as pyln
import pytest
import scipy.signal as sps
from music_signals import music_like, pink
from node_harness import make_ctx, run_node, validation_error

from graphengine.errors import ParamError
from graphengine.types import Audio
from nodes.feature.loudness import STATS, k_weighting_sos, loudness, measure

RATE = 48000


def tone(level_dbfs: float, seconds: float, rate: int = RATE, channels: int = 2) -> np.ndarray:
    """A 1 kHz sine whose peak is ``level_dbfs``, on every channel (EBU's test tone)."""
    t = np.arange(round(seconds * rate)) / rate
    return np.repeat((10 ** (level_dbfs / 20) * np.sin(2 * np.pi * 1000.0 * t))[None], channels, 0)


def sequence(*parts: tuple[float, float], rate: int = RATE) -> np.ndarray:
    return np.concatenate([tone(db, s, rate) for db, s in parts], axis=1).astype(np.float32)


def pyloudnorm_integrated(x: np.ndarray, rate: int) -> float:
    return pyln.Meter(rate).integrated_loudness(x.T.astype(np.float64))


# --------------------------------------------------------------------------- the filter


def test_k_weighting_at_48k_is_bs1770_table_1():
    # ITU-R BS.1770-4, Tables 1 and 2: the pre-filter's coefficients at 48 kHz
    shelf = [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0]
    shelf += [-1.69065929318241, 0.73248077421585]
    highpass = [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621]
    np.testing.assert_allclose(k_weighting_sos(48000), [shelf, highpass], atol=1e-10)


# --------------------------------------------------------------------------- EBU Tech 3341


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (((-23.0, 20.0),), -23.0),  # case 1
        (((-33.0, 20.0),), -33.0),  # case 2
        (((-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)), -23.0),  # case 3
        (((-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)), -23.0),
        (((-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)), -23.0),  # case 5
    ],
    ids=["case1", "case2", "case3", "case4", "case5"],
)
def test_ebu_3341_integrated(parts, expected):
    assert abs(measure(sequence(*parts), RATE).integrated - expected) <= 0.1


def test_ebu_3341_case6_five_channels():
    # L, R at -28 dBFS, C at -24, Ls, Rs at -30: the surrounds weigh 1.41
    levels = (-28.0, -28.0, -24.0, -30.0, -30.0)
    x = np.concatenate([tone(db, 20.0, channels=1) for db in levels]).astype(np.float32)
    out = run_node(loudness, make_ctx("feature.loudness", RATE), Audio(x, RATE))
    assert abs(out.out.values[0] - -23.0) <= 0.1


@pytest.mark.parametrize("level", [-23.0, -33.0])
def test_ebu_3341_momentary_and_short_term_of_a_steady_tone(level):
    out = run_node(loudness, make_ctx("feature.loudness", RATE), Audio(tone(level, 20.0), RATE))
    momentary, short_term = out.momentary.values[0, 0], out.short_term.values[0, 0]
    assert out.momentary.frame_rate == out.short_term.frame_rate == 10.0
    assert momentary.shape == short_term.shape == (200,)
    np.testing.assert_allclose(momentary[3:], level, atol=0.1)  # whole 400 ms windows
    np.testing.assert_allclose(short_term[29:], level, atol=0.1)  # whole 3 s windows
    # before the window is full, the time before the start counts as silence
    np.testing.assert_allclose(momentary[0], level + 10 * math.log10(1 / 4), atol=0.1)


# --------------------------------------------------------------------------- EBU Tech 3342


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (((-20.0, 20.0), (-30.0, 20.0)), 10.0),
        (((-20.0, 20.0), (-15.0, 20.0)), 5.0),
        (((-40.0, 20.0), (-20.0, 20.0)), 20.0),
        (((-50.0, 20.0), (-35.0, 20.0), (-20.0, 20.0), (-35.0, 20.0), (-50.0, 20.0)), 15.0),
    ],
    ids=["case1", "case2", "case3", "case4"],
)
def test_ebu_3342_loudness_range(parts, expected):
    # the standard allows +-1 LU; these synthetic cases come out exact
    assert abs(measure(sequence(*parts), RATE).loudness_range - expected) <= 0.1


# --------------------------------------------------------------------------- pyloudnorm


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("kind", ["music", "pink", "mono"])
def test_integrated_loudness_equals_pyloudnorm(kind, rate):
    if kind == "music":
        x = music_like(30.0, rate, seed=2)
    elif kind == "pink":
        x = pink(20.0, rate, seed=3)
    else:
        x = music_like(12.0, rate, seed=4)[:1]
    out = run_node(loudness, make_ctx("feature.loudness", rate), Audio(x, rate))
    assert abs(out.out.values[0] - pyloudnorm_integrated(x, rate)) <= 0.1


@pytest.mark.parametrize("rate", [11025, 22050, 44100, 96000])
def test_integrated_loudness_equals_pyloudnorm_with_the_exact_bs1770_filter(rate):
    # pyloudnorm's default K-weighting is an RBJ approximation (0.04 LU off at 44.1 kHz,
    # 0.18 LU at 11025 Hz); its "DeMan" filter class is BS.1770's own pre-filter, like ours
    x = music_like(20.0, rate, seed=9)
    meter = pyln.Meter(rate, filter_class="DeMan")
    reference = meter.integrated_loudness(x.T.astype(np.float64))
    assert abs(measure(x, rate).integrated - reference) <= 0.001


def test_momentary_blocks_equal_pyloudnorms_gating_blocks():
    x = music_like(10.0, RATE, seed=5)
    meter = pyln.Meter(RATE)
    meter.integrated_loudness(x.T.astype(np.float64))
    reference = np.asarray(meter.blockwise_loudness)  # block j ends at (j + 4) x 100 ms
    ours = measure(x, RATE).momentary[3:]
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, atol=0.1)


def test_loudness_range_is_close_to_pyloudnorms():
    # pyloudnorm's LRA steps by 90 ms and pads 1.5 s of silence; EBU 3342 steps by 100 ms
    x = music_like(40.0, RATE, seed=6)
    ours = measure(x, RATE).loudness_range
    theirs = pyln.Meter(RATE).loudness_range(x.T.astype(np.float64))
    assert abs(ours - theirs) <= 0.5


# --------------------------------------------------------------------------- peaks


def test_true_peak_finds_the_peak_between_samples():
    # a sine at a quarter of the rate sampled 45 degrees off its crests: samples read -3.01 dB
    n = np.arange(RATE)
    fade = np.minimum(1.0, np.minimum(n, n[::-1]) / 2000)  # no step at the ends to ring
    x = np.sin(2 * np.pi * n / 4 + np.pi / 4) * fade
    x = np.repeat(x[None], 2, 0).astype(np.float32)
    out = run_node(loudness, make_ctx("feature.loudness", RATE), Audio(0.5 * x, RATE))
    stats = dict(zip(STATS, out.out.values, strict=True))
    assert abs(stats["sample_peak_dbfs"] - (20 * math.log10(0.5) - 3.0103)) < 1e-3
    assert abs(stats["true_peak_dbtp"] - 20 * math.log10(0.5)) < 0.02


def test_true_peak_agrees_with_scipy_oversampling():
    x = music_like(6.0, 44100, seed=7) + pink(6.0, 44100, seed=8) * 0.5
    out = run_node(loudness, make_ctx("feature.loudness", 44100), Audio(x, 44100))
    reference = np.abs(sps.resample_poly(x.astype(np.float64), 4, 1, axis=1)).max()
    assert abs(out.out.values[STATS.index("true_peak_dbtp")] - 20 * math.log10(reference)) < 0.05


# --------------------------------------------------------------------------- edges, errors


def test_silence_is_minus_infinity_and_too_short_warns():
    ctx = make_ctx("feature.loudness", RATE)
    out = run_node(loudness, ctx, Audio(np.zeros((2, RATE * 4), np.float32), RATE))
    stats = dict(zip(STATS, out.out.values, strict=True))
    assert stats["integrated_lufs"] == -math.inf and math.isnan(stats["loudness_range_lu"])
    short = run_node(loudness, ctx, Audio(np.ones((1, 100), np.float32) * 0.1, RATE))
    assert short.momentary.values.shape == (1, 1, 0)
    assert any("shorter than 100 ms" in w for w in ctx.warnings)


def test_channel_weights_must_match_the_channels():
    error = validation_error(
        "feature.loudness",
        upstream={"src": {"type": "source.tone", "duration_s": 1.0}},
        in_="src",
        channel_weights=[1.0, 1.0],
    )
    assert isinstance(error, ParamError) and error.port_or_param == "channel_weights"
    assert "2 weights for a signal of 1 channels" in str(error)


def test_channel_weights_weigh_the_channels():
    x = np.concatenate([tone(-23.0, 10.0, channels=1), tone(-40.0, 10.0, channels=1)])
    ctx = make_ctx("feature.loudness", RATE)
    only_first = run_node(loudness, ctx, Audio(x.astype(np.float32), RATE), channel_weights=[1, 0])
    assert abs(only_first.out.values[0] - (-23.0 - 3.0103)) < 0.1  # one channel of the pair
