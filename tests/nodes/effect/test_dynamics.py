"""effect.compressor, effect.distortion, effect.bitcrush and effect.dcblock."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal as sps
from stream_harness import SR, assert_block_invariant, noise, whole

from graphengine.types import Audio
from nodes.effect.dynamics import Bitcrush, Compressor, DCBlock, Distortion, static_curve_db


def sine(amplitude: float, seconds: float, channels: int = 2, hz: float = 997.0) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return np.repeat((amplitude * np.sin(2 * np.pi * hz * t))[None], channels, 0).astype(np.float32)


# --------------------------------------------------------------------------- invariance


@pytest.mark.parametrize(
    ("cls", "given"),
    [
        (Compressor, {"threshold_db": -30.0, "attack_ms": 0.5, "release_ms": 20.0}),
        (Compressor, {"detector": "peak", "knee_db": 6.0, "makeup_db": 3.0}),
        (Distortion, {"mode": "tanh", "drive_db": 20.0}),
        (Distortion, {"mode": "hard", "drive_db": 6.0}),
        (Bitcrush, {"bits": 5, "downsample": 3}),
        (Bitcrush, {"bits": 12, "downsample": 1}),
        (DCBlock, {"cutoff_hz": 30.0}),
    ],
    ids=["compressor-rms", "compressor-peak", "tanh", "hard", "crush-hold", "crush", "dcblock"],
)
def test_block_size_invariance(cls, given):
    assert_block_invariant(cls, noise(), **given)


# --------------------------------------------------------------------------- compressor


@pytest.mark.parametrize(("detector", "knee_db"), [("rms", 0.0), ("rms", 12.0), ("peak", 0.0)])
def test_compressor_static_curve_matches_its_parameters(detector, knee_db):
    threshold, ratio, makeup = -20.0, 4.0, 5.0
    for level in (-50.0, -30.0, -22.0, -20.0, -16.0, -10.0, -3.0):
        # a sine whose detected level is `level`: rms is 3.01 dB below the peak
        amplitude = 10 ** (level / 20) * (math.sqrt(2) if detector == "rms" else 1.0)
        given = {
            "threshold_db": threshold,
            "ratio": ratio,
            "attack_ms": 1.0,
            "release_ms": 300.0,
            "makeup_db": makeup,
            "knee_db": knee_db,
            "detector": detector,
        }
        out = whole(Compressor, sine(amplitude, 0.8), **given)[:, -round(0.3 * SR) :]
        out = out.astype(np.float64)
        if detector == "rms":
            measured = 10 * math.log10(np.mean(out**2))
        else:
            measured = 20 * math.log10(np.max(np.abs(out)))
        expected = float(static_curve_db(level, threshold, ratio, knee_db)) + makeup
        assert measured == pytest.approx(expected, abs=0.5), f"input {level} dB"
        if level <= threshold - knee_db / 2:
            assert measured == pytest.approx(level + makeup, abs=0.05)


def test_compressor_attack_and_release_are_one_pole_time_constants():
    # peak detector on a constant signal: the level is exact, only the ballistics remain
    attack_ms, release_ms = 5.0, 50.0
    quiet, loud = 10 ** (-30 / 20), 10 ** (-10 / 20)  # threshold -20, ratio 2: 5 dB reduction
    x = np.full((1, round(0.6 * SR)), quiet, np.float32)
    x[:, round(0.1 * SR) : round(0.4 * SR)] = loud
    given = {"threshold_db": -20.0, "ratio": 2.0, "detector": "peak"}
    y = whole(Compressor, x, attack_ms=attack_ms, release_ms=release_ms, **given)
    reduction = 20 * np.log10(x[0].astype(np.float64) / y[0])
    rise = round(0.1 * SR)
    after_attack = reduction[rise + round(attack_ms * SR / 1000) - 1]
    assert after_attack == pytest.approx(5.0 * (1 - math.exp(-1)), abs=0.01)
    assert reduction[round(0.4 * SR) - 1] == pytest.approx(5.0, abs=1e-4)
    fall = round(0.4 * SR)
    after_release = reduction[fall + round(release_ms * SR / 1000) - 1]
    assert after_release == pytest.approx(5.0 * math.exp(-1), abs=0.01)


def test_compressor_at_ratio_1_only_applies_makeup():
    audio = noise(scale=0.5)
    out = whole(Compressor, audio, ratio=1.0, threshold_db=-40.0, makeup_db=-6.0)
    np.testing.assert_allclose(out, audio.samples * 10 ** (-6 / 20), rtol=1e-6)


def test_compressor_links_channels():
    x = np.stack([sine(0.9, 0.3, 1)[0], sine(0.01, 0.3, 1)[0]])
    y = whole(Compressor, x, threshold_db=-30.0, ratio=8.0)
    gains = y[:, 2000:] / np.where(np.abs(x[:, 2000:]) > 1e-3, x[:, 2000:], np.nan)
    np.testing.assert_allclose(np.nanmax(np.abs(gains[0] - gains[1])), 0.0, atol=1e-5)


# --------------------------------------------------------------------------- distortion


def test_distortion_is_tanh_of_the_driven_signal():
    audio = noise(scale=0.5)
    out = whole(Distortion, audio, mode="tanh", drive_db=12.0)
    expected = np.tanh(10 ** (12 / 20) * audio.samples.astype(np.float64))
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert np.max(np.abs(out)) < 1.0


def test_hard_clip_adds_only_odd_harmonics():
    x = sine(0.5, 1.0, 1, hz=441.0)  # 100 samples per period: harmonics on exact FFT bins
    out = whole(Distortion, x, mode="hard", drive_db=12.0)[0].astype(np.float64)
    np.testing.assert_allclose(
        out, np.clip(10 ** (12 / 20) * x[0].astype(np.float64), -1, 1), atol=1e-6
    )
    spectrum = np.abs(np.fft.rfft(out)) / (len(out) / 2)
    harmonics = {k: spectrum[441 * k] for k in range(1, 10)}
    for k in (3, 5, 7, 9):
        assert harmonics[k] > 1e-3, f"harmonic {k}"
    for k in (2, 4, 6, 8):
        assert harmonics[k] < 1e-5, f"harmonic {k}"


# --------------------------------------------------------------------------- bitcrush


def test_bitcrush_16_bits_is_what_a_16_bit_pcm_file_holds():
    audio = noise(scale=0.4)
    out = whole(Bitcrush, audio, bits=16)
    pcm = np.clip(np.floor(audio.samples.astype(np.float64) * 32768 + 0.5), -32768, 32767)
    np.testing.assert_array_equal(out, (pcm / 32768).astype(np.float32))


@pytest.mark.parametrize("bits", [1, 2, 4, 8, 12])
def test_bitcrush_levels_and_6_db_per_bit(bits):
    amplitude = 1 - 2.0 / 2**bits  # the largest level: full scale without clipping
    x = sine(amplitude, 1.0, 1, hz=441.0 * 1.013)
    out = whole(Bitcrush, x, bits=bits)[0].astype(np.float64)
    levels = np.unique(out)
    assert len(levels) <= 2**bits
    np.testing.assert_allclose(levels * 2 ** (bits - 1), np.round(levels * 2 ** (bits - 1)))
    assert levels.min() >= -1.0 and levels.max() <= 1 - 2.0 / 2**bits
    if bits >= 4:  # the textbook SNR of a full-scale sine: 6.02 * bits + 1.76 dB
        error = out - x[0]
        snr = 10 * math.log10(np.mean(x[0].astype(np.float64) ** 2) / np.mean(error**2))
        expected = 6.02 * bits + 1.76 + 20 * math.log10(amplitude)
        assert snr == pytest.approx(expected, abs=0.5)


def test_bitcrush_sample_and_hold():
    audio = noise(channels=2, frames=1001, seed=4)
    out = whole(Bitcrush, audio, bits=24, downsample=4)
    held = out.reshape(2, -1)[:, :1000].reshape(2, 250, 4)
    np.testing.assert_array_equal(held, np.repeat(held[:, :, :1], 4, axis=2))
    np.testing.assert_allclose(held[:, :, 0], audio.samples[:, :1000:4], atol=2**-23)
    np.testing.assert_allclose(out[:, 1000], audio.samples[:, 1000], atol=2**-23)


# --------------------------------------------------------------------------- dcblock


def test_dcblock_matches_scipy_lfilter_and_removes_offset():
    audio = Audio(noise(scale=0.2).samples + np.float32(0.5), SR)
    out = whole(DCBlock, audio, cutoff_hz=20.0)
    r = math.exp(-2 * math.pi * 20.0 / SR)
    reference = sps.lfilter([1.0, -1.0], [1.0, -r], audio.samples.astype(np.float64), axis=1)
    np.testing.assert_allclose(out, reference, atol=1e-5)
    long = Audio(np.full((1, round(2 * SR)), 0.5, np.float32) + sine(0.1, 2.0, 1), SR)
    settled = whole(DCBlock, long, cutoff_hz=20.0)[0, round(SR) :]
    assert abs(float(np.mean(settled))) < 1e-4
    gain = abs(sps.freqz([1.0, -1.0], [1.0, -r], [997.0], fs=SR)[1][0])
    rms = np.sqrt(np.mean(settled.astype(np.float64) ** 2))
    assert rms == pytest.approx(gain * 0.1 / math.sqrt(2), rel=1e-4)
