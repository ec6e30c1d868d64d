"""synth.waveguide: tuning (within 1 cent, measured), decay, pluck position, release, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fine_pitch import cents, peak_hz
from node_harness import make_ctx, run_node, validation_error
from scipy.signal import freqz

from graphengine.errors import PortError
from graphengine.types import Notes
from nodes.synth import waveguide as W

SR = 44100.0
MIDI = np.arange(24, 109, 4)


def hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12)


def render(notes: Notes, **params) -> np.ndarray:
    out = run_node(W.waveguide, make_ctx("synth.waveguide"), notes, **params)
    return out.samples[0].astype(np.float64)


def sequence(midi: np.ndarray, slot_s: float = 2.5) -> Notes:
    onsets = np.arange(midi.size) * slot_s
    return Notes(onsets, [slot_s] * midi.size, [hz(m) for m in midi], [1.0] * midi.size)


def test_the_measurement_resolves_a_tenth_of_a_cent():
    t = np.arange(int(2.0 * SR)) / SR
    for f in (hz(24), hz(108)):
        sharp = f * 2 ** (0.1 / 1200)
        x = np.sin(2 * np.pi * sharp * t) * np.exp(-t) + 0.3 * np.sin(2 * np.pi * 2 * sharp * t)
        assert cents(peak_hz(x, f, SR), f) == pytest.approx(0.1, abs=0.01)


@pytest.mark.parametrize(
    ("interpolator", "brightness"), [("allpass", 0.5), ("lagrange", 0.0), ("allpass", 1.0)]
)
def test_every_note_from_c1_to_c8_is_within_a_cent(interpolator, brightness):
    notes = sequence(MIDI)
    x = render(notes, interpolator=interpolator, brightness=brightness, decay_s=8.0)
    worst = 0.0
    for k, f in enumerate(notes.frequency_hz):
        start = round(notes.onset_s[k] * SR)
        assert np.all(x[start - 100 : start] != 0.0) if k else True  # the previous one rings
        segment = x[start + 2205 : start + round(2.0 * SR)]
        worst = max(worst, abs(cents(peak_hz(segment, f, SR), f)))
    assert worst < 1.0, worst


def test_fundamental_decays_60_db_in_decay_s():
    f = hz(57)  # A3
    x = render(Notes([0.0], [4.0], [f], [1.0]), decay_s=2.0, brightness=0.5)
    t = np.arange(x.size) / SR
    base = x * np.exp(-2j * np.pi * f * t)  # the fundamental brought to 0 Hz
    window = 4410
    levels = [abs(base[i : i + window].mean()) for i in (round(0.5 * SR), round(1.5 * SR))]
    t60 = 60.0 / (20 * math.log10(levels[0] / levels[1]) / 1.0)
    assert t60 == pytest.approx(2.0, rel=0.05)


def harmonic_levels(x: np.ndarray, f: float, count: int) -> np.ndarray:
    t = np.arange(x.size) / SR
    return np.array(
        [abs(np.mean(x * np.exp(-2j * np.pi * k * f * t))) for k in range(1, count + 1)]
    )


def test_plucking_in_the_middle_removes_the_even_harmonics():
    f = 220.5
    middle = render(Notes([0.0], [1.0], [f], [1.0]), pluck_position=0.5, brightness=0.8)
    near_end = render(Notes([0.0], [1.0], [f], [1.0]), pluck_position=0.1, brightness=0.8)
    seg = slice(2000, 2000 + 8 * 4410)
    m = harmonic_levels(middle[seg], f, 4)
    e = harmonic_levels(near_end[seg], f, 4)
    assert 20 * math.log10(m[1] / m[0]) < -30.0 and 20 * math.log10(m[3] / m[2]) < -25.0
    assert 20 * math.log10(e[1] / e[0]) > -15.0


def test_brightness_keeps_the_high_partials():
    f = hz(45)
    dull = render(Notes([0.0], [2.0], [f], [1.0]), brightness=0.1)
    bright = render(Notes([0.0], [2.0], [f], [1.0]), brightness=0.9)
    seg = slice(round(0.5 * SR), round(1.5 * SR))
    d, b = harmonic_levels(dull[seg], f, 12), harmonic_levels(bright[seg], f, 12)
    assert b[8:].sum() / b[0] > 10 * d[8:].sum() / d[0]


def test_onset_is_sample_accurate_and_release_ends_the_note():
    onset, duration, release_ms = 0.123456, 0.5, 50.0
    x = render(Notes([onset], [duration], [330.0], [1.0]), release_ms=release_ms, seed=3)
    start = round(onset * SR)
    assert np.all(x[:start] == 0.0) and x[start] != 0.0
    gate_end = start + round(duration * SR)
    assert x.size == gate_end + round(release_ms * SR / 1000)
    held = np.sqrt(np.mean(x[gate_end - 2000 : gate_end] ** 2))
    tail = np.sqrt(np.mean(x[-200:] ** 2))
    assert 20 * math.log10(tail / held) < -45.0
    assert np.max(np.abs(x)) <= 2 * 0.25  # about amplitude at velocity 1
    again = render(Notes([onset], [duration], [330.0], [1.0]), release_ms=release_ms, seed=3)
    other = render(Notes([onset], [duration], [330.0], [1.0]), release_ms=release_ms, seed=4)
    np.testing.assert_array_equal(x, again)
    assert not np.array_equal(x, other)


def test_allpass_and_lagrange_delay_exactly_what_the_tuning_asks():
    w = np.array([0.01, 0.2, 0.9])
    d = np.array([0.6, 1.0, 1.45])
    c = W.allpass_coefficient(d, w)
    for k in range(3):
        _, h = freqz([c[k], 1.0], [1.0, c[k]], worN=[w[k]])
        assert -np.angle(h[0]) / w[k] == pytest.approx(d[k], rel=1e-12)
    taps = W.lagrange_for_phase_delay(np.array([1.3, 1.7]), np.array([0.05, 1.0]))
    for k, (target, omega) in enumerate(((1.3, 0.05), (1.7, 1.0))):
        _, h = freqz(taps[k], [1.0], worN=[omega])
        assert -np.angle(h[0]) / omega == pytest.approx(target, rel=1e-9)
    # Lagrange taps interpolate any cubic exactly: sum_k h_k p(-k) = p(-D)
    cubic = np.polynomial.Polynomial([0.3, -1.2, 0.7, 0.25])
    for delay in (0.8, 1.4, 2.1):
        h = W.lagrange_taps(np.array([delay]))[0]
        assert np.dot(h, cubic(-np.arange(4.0))) == pytest.approx(cubic(-delay), rel=1e-12)


def test_the_tuned_loop_resonates_at_the_note_by_its_characteristic_polynomial():
    f = np.array([hz(60), hz(96)])  # short loops, so numpy.roots can take them
    poles = W.loss_poles(f, SR, 2.0, 0.2)
    tuning = W.waveguide_tuning(f, SR, poles, 2.0, 0.1, "allpass")
    for k in range(2):
        n, c, a = tuning.delays[k], tuning.fractions[k, 0], poles[k]
        b = tuning.loss_gains[k] * (1 + a)
        # 1 = b z^-N (c + z^-1) / ((1 + a z^-1)(1 + c z^-1)), times z^(N + 2):
        # z^N (z + a)(z + c) - b (c z^2 + z) = 0
        poly = np.concatenate([np.polymul([1.0, a], [1.0, c]), np.zeros(n)])
        poly[-3:-1] -= b * np.array([c, 1.0])
        roots = np.roots(poly)
        target = 2 * np.pi * f[k] / SR
        nearest = roots[np.argmin(np.abs(np.angle(roots) - target))]
        assert np.angle(nearest) == pytest.approx(target, rel=1e-9)


def test_notes_too_high_for_the_loop_are_refused():
    with pytest.raises(PortError, match=r"note 2 at 20000 Hz is too high"):
        render(Notes([0.0, 0.5], [0.2, 0.2], [440.0, 20000.0], [1.0, 1.0]))
    upstream = {"m": {"type": "notes.sequence", "notes": ["A4"]}}
    error = validation_error("synth.waveguide", upstream=upstream, in_="m", pluck_position=0.0)
    assert "pluck_position" in str(error)
