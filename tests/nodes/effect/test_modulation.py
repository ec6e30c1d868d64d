"""Modulation effects against analytic references: delay curves, gain curves, all-pass responses.

The modulated delays (chorus, flanger, vibrato) are measured two ways: the
centroid of each delayed impulse of an impulse train (exact for the 4-point
Lagrange read, whose weights sum to 1 with first moment equal to the
fractional delay) compared with ``d(t) = delay + depth * sin(2 pi rate t +
phase)``, and the output for a sine compared with ``sin(w (t - d(t)))``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sps
from stream_harness import SR, assert_block_invariant, feedback_comb, noise, whole

from graphengine.types import Audio
from nodes.effect.chorus import Chorus
from nodes.effect.flanger import Flanger
from nodes.effect.phaser import Phaser
from nodes.effect.tremolo import Tremolo
from nodes.effect.vibrato import Vibrato


def analytic_delay(n, delay_ms, depth_ms, rate_hz, phase_deg, shape="sine"):
    """d(n) in frames at output frame n, from the documented formula (not the node's code)."""
    theta = 2 * np.pi * rate_hz * n / SR + np.deg2rad(phase_deg)
    wave = np.sin(theta) if shape == "sine" else sps.sawtooth(theta + np.pi / 2, width=0.5)
    return (delay_ms + depth_ms * wave) * SR / 1000.0


def impulse_train(frames, spacing, first=100, channels=1):
    x = np.zeros((channels, frames), np.float32)
    x[:, first::spacing] = 1.0
    return Audio(x, SR), np.arange(first, frames, spacing)


def measured_delays(y, onsets, lo, hi):
    """Centroid of each impulse's response within [onset + lo, onset + hi), minus the onset."""
    found, at = [], []
    for n0 in onsets:
        window = np.arange(n0 + lo, n0 + hi)
        if window[-1] >= y.size:
            break
        w = y[window].astype(np.float64)
        centroid = np.sum(window * w) / np.sum(w)
        found.append(centroid - n0)
        at.append(centroid)
    return np.array(found), np.array(at)


CURVES = [
    (Vibrato, {"rate_hz": 3.0, "depth_ms": 2.0, "delay_ms": 2.5, "phase_deg": 30.0}),
    (Vibrato, {"rate_hz": 7.0, "depth_ms": 1.0, "delay_ms": 1.5, "waveform": "triangle"}),
    (Chorus, {"rate_hz": 1.5, "depth_ms": 4.0, "delay_ms": 10.0, "voices": 1, "mix": 1.0}),
    (Flanger, {"rate_hz": 2.0, "depth_ms": 2.5, "delay_ms": 3.0, "feedback": 0.0, "mix": 1.0}),
]


@pytest.mark.parametrize(("cls", "given"), CURVES, ids=lambda v: getattr(v, "__name__", ""))
def test_impulse_delays_follow_the_analytic_delay_curve(cls, given):
    lo = 0
    hi = int((given["delay_ms"] + given["depth_ms"]) * SR / 1000) + 4
    frames, spacing = 88200, hi + 40
    audio, onsets = impulse_train(frames, spacing)
    y = whole(cls, audio, **given)[0]
    delays, at = measured_delays(y, onsets, lo, hi)
    # the read at output frame n takes the input d(n) back: the centroid is where n - d(n) = n0
    params = {k: given.get(k, cls.spec.param(k).default) for k in ("phase_deg", "waveform")}
    expected = analytic_delay(
        at,
        given["delay_ms"],
        given["depth_ms"],
        given["rate_hz"],
        params["phase_deg"],
        params["waveform"],
    )
    error = np.abs(delays - expected)
    # d changes by up to |d'| = 2 pi rate depth (4 for the triangle) per frame, which skews the
    # centroid of a response spread over 4 frames by a fraction of that; the read itself is exact
    slope = (4.0 if params["waveform"] == "triangle" else 2 * np.pi) * given["rate_hz"]
    slope *= given["depth_ms"] / 1000.0
    assert error.max() < 0.5 * slope + 1e-3, f"largest delay error {error.max():.4f} frames"
    assert np.ptp(delays) > 0.9 * 2 * given["depth_ms"] * SR / 1000  # the sweep is all there


def test_vibrato_of_a_sine_is_the_sine_at_the_swept_delay():
    n = np.arange(88200)
    omega = 2 * np.pi * 440.0 / SR
    x = np.sin(omega * n).astype(np.float32)
    given = {"rate_hz": 5.0, "depth_ms": 0.5, "delay_ms": 1.0, "phase_deg": 90.0}
    y = whole(Vibrato, x[np.newaxis], **given)[0]
    d = analytic_delay(n, 1.0, 0.5, 5.0, 90.0)
    expected = np.sin(omega * (n - d))
    start = 200  # once the delay line holds signal
    np.testing.assert_allclose(y[start:], expected[start:], atol=1e-5)
    # the measured phase delay, from the analytic signal, follows d(t)
    phase = np.unwrap(np.angle(sps.hilbert(y[start:].astype(np.float64)))) + np.pi / 2
    measured = n[start:] - phase / omega
    inner = slice(4000, -4000)  # away from the Hilbert transform's ends
    offset = np.round(np.median(measured[inner] - d[start:][inner]) * omega / (2 * np.pi))
    error = np.abs(measured[inner] - d[start:][inner] - offset * 2 * np.pi / omega)
    assert error.max() < 2e-3, f"phase-delay error {error.max():.4f} frames"


def test_chorus_is_the_dry_sine_plus_the_mean_of_evenly_phased_voices():
    n = np.arange(30000)
    omega = 2 * np.pi * 300.0 / SR
    x = np.sin(omega * n)
    stereo = np.stack([x, x]).astype(np.float32)
    given = {"rate_hz": 2.0, "depth_ms": 3.0, "delay_ms": 8.0, "voices": 3, "mix": 0.6}
    given |= {"stereo_phase_deg": 90.0, "phase_deg": 10.0}
    y = whole(Chorus, stereo, **given)
    for c in range(2):
        voices = [
            np.sin(omega * (n - analytic_delay(n, 8.0, 3.0, 2.0, 10.0 + 90.0 * c + 120.0 * k)))
            for k in range(3)
        ]
        expected = 0.4 * x + 0.6 * np.mean(voices, axis=0)
        start = 600
        np.testing.assert_allclose(y[c, start:], expected[start:], atol=2e-4, err_msg=f"{c=}")


def test_frozen_flanger_is_the_feedback_comb_of_scipy():
    audio = noise(channels=1, frames=6000, seed=3)
    spacing, feedback, mix = 97, 0.7, 0.4
    delay_ms = spacing * 1000.0 / SR
    out = whole(
        Flanger, audio, rate_hz=0.0, depth_ms=0.0, delay_ms=delay_ms, feedback=feedback, mix=mix
    )
    reference = feedback_comb(audio.samples, spacing, feedback, mix)
    np.testing.assert_allclose(out, reference, atol=1e-5)


def test_frozen_flanger_with_fractional_delay_has_notches_where_the_comb_puts_them():
    frames = 1 << 15
    x = np.zeros((1, frames), np.float32)
    x[0, 0] = 1.0
    delay_ms = 2.3  # 101.43 frames
    h = whole(Flanger, x, rate_hz=0.0, depth_ms=0.0, delay_ms=delay_ms, feedback=0.0, mix=0.5)[0]
    spectrum = np.abs(np.fft.rfft(h))
    freqs = np.fft.rfftfreq(frames, 1 / SR)
    d = delay_ms / 1000.0
    for k in range(5):  # notches of 1 + e^{-iwd} at (k + 1/2) / d
        notch = (k + 0.5) / d
        band = (freqs > notch - 150) & (freqs < notch + 150)
        found = freqs[band][np.argmin(spectrum[band])]
        assert abs(found - notch) < 2 * SR / frames, f"notch {k}: {found:.1f} vs {notch:.1f} Hz"
        assert spectrum[band].min() < 0.01


def phaser_response(break_hz, stages, feedback, mix, worN):
    """freqz of (1 - mix) + mix A^N / (1 - feedback z^-1 A^N), A(z) = (a + z^-1) / (1 + a z^-1)."""
    t = np.tan(np.pi * break_hz / SR)
    a = (t - 1) / (t + 1)
    p = np.poly1d([1.0])
    q = np.poly1d([1.0])
    for _ in range(stages):  # polynomials in z^-1, highest power first reversed below
        p = p * np.poly1d([1.0, a])  # z^-1 + a  (coefficients of z^-1: [1, a] -> 1*z^-1 + a)
        q = q * np.poly1d([a, 1.0])  # a z^-1 + 1
    num = p.coeffs[::-1]  # ascending powers of z^-1
    den = q.coeffs[::-1]
    shifted = np.concatenate([[0.0], num])  # z^-1 P
    den_total = np.concatenate([den, [0.0]]) - feedback * shifted
    num_total = (1 - mix) * den_total + mix * np.concatenate([num, [0.0]])
    return sps.freqz(num_total, den_total, worN=worN, fs=SR)


@pytest.mark.parametrize(
    ("stages", "feedback", "phase_deg"), [(4, 0.0, 0.0), (6, 0.6, 90.0), (2, -0.5, 250.0)]
)
def test_frozen_phaser_response_is_the_all_pass_cascade_of_freqz(stages, feedback, phase_deg):
    frames = 1 << 16
    x = np.zeros((1, frames), np.float32)
    x[0, 0] = 1.0
    given = {"rate_hz": 0.0, "stages": stages, "feedback": feedback, "mix": 0.5}
    given |= {"min_hz": 300.0, "max_hz": 4000.0, "phase_deg": phase_deg}
    h = whole(Phaser, x, **given)[0].astype(np.float64)
    lfo = np.sin(np.deg2rad(phase_deg))
    break_hz = 300.0 * (4000.0 / 300.0) ** ((1 + lfo) / 2)
    freqs, expected = phaser_response(
        break_hz, stages, feedback, 0.5, np.fft.rfftfreq(frames, 1 / SR)
    )
    got = np.fft.rfft(h)
    np.testing.assert_allclose(np.abs(got), np.abs(expected), atol=2e-4)
    # notches: without feedback, where the cascade's phase -2N arctan(tan(w/2)/t) is an odd
    # multiple of 180 degrees; with it, at the minima of the freqz response
    t = np.tan(np.pi * break_hz / SR)
    for k in range(stages // 2):
        notch = SR / np.pi * np.arctan(t * np.tan((2 * k + 1) * np.pi / (2 * stages)))
        band = (freqs > notch * 0.7) & (freqs < notch * 1.4)
        if feedback:
            notch = freqs[band][np.argmin(np.abs(expected[band]))]
        found = freqs[band][np.argmin(np.abs(got[band]))]
        assert abs(found - notch) <= max(2.0, 0.002 * notch), f"{found:.1f} vs {notch:.1f} Hz"


@pytest.mark.parametrize("shape", ["sine", "triangle"])
def test_tremolo_gain_is_the_analytic_curve(shape):
    frames = 40000
    ones = np.ones((2, frames), np.float32)
    given = {"rate_hz": 4.5, "depth": 0.8, "waveform": shape, "phase_deg": 45.0}
    given |= {"stereo_phase_deg": 180.0}
    y = whole(Tremolo, ones, **given)
    n = np.arange(frames)
    for c in range(2):
        theta = 2 * np.pi * 4.5 * n / SR + np.deg2rad(45.0 + 180.0 * c)
        wave = np.sin(theta) if shape == "sine" else sps.sawtooth(theta + np.pi / 2, width=0.5)
        np.testing.assert_allclose(y[c], 1 - 0.8 * (1 - wave) / 2, atol=1e-6, err_msg=f"{c=}")


@pytest.mark.parametrize(
    ("cls", "given"),
    [
        (Chorus, {"rate_hz": 20.0, "voices": 4, "feedback": 0.5}),
        (Flanger, {"rate_hz": 20.0, "feedback": -0.9, "waveform": "triangle"}),
        (Vibrato, {"rate_hz": 20.0, "stereo_phase_deg": 90.0}),
        (Phaser, {"rate_hz": 20.0, "stages": 8, "feedback": 0.9, "stereo_phase_deg": 45.0}),
        (Tremolo, {"rate_hz": 20.0, "depth": 1.0, "waveform": "triangle"}),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_the_lfo_phase_carries_across_blocks(cls, given):
    assert_block_invariant(cls, noise(frames=6000, seed=4), **given)


def test_zero_depth_or_rate_zero_and_mix_zero_pass_the_signal():
    audio = noise(frames=3000, seed=5)
    for cls, given in [
        (Chorus, {"mix": 0.0}),
        (Flanger, {"mix": 0.0, "feedback": 0.0}),
        (Phaser, {"mix": 0.0}),
        (Tremolo, {"depth": 0.0}),
    ]:
        np.testing.assert_allclose(whole(cls, audio, **given), audio.samples, atol=1e-7)
