"""synth.clarinet: tuning (within 1 cent, measured), odd harmonics, attack, tail, bounds, errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from fine_pitch import cents, peak_hz
from node_harness import make_ctx, run_node
from scipy.signal import freqz

from graphengine.errors import PortError
from graphengine.types import Notes
from nodes.synth import clarinet as C

SR = 44100.0


def hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12)


def render(notes: Notes, **params) -> np.ndarray:
    out = run_node(C.clarinet, make_ctx("synth.clarinet"), notes, **params)
    return out.samples[0].astype(np.float64)


def harmonic_levels(x: np.ndarray, f: float, count: int) -> np.ndarray:
    """|DFT| of a Hann-windowed segment at harmonics 1..count of f."""
    t = np.arange(x.size) / SR
    w = np.hanning(x.size)
    return np.array(
        [abs(np.sum(w * x * np.exp(-2j * np.pi * k * f * t))) for k in range(1, count + 1)]
    )


@pytest.mark.parametrize(("velocity", "noise"), [(1.0, 0.02), (0.3, 0.0)])
def test_held_notes_from_a1_to_d7_are_within_a_cent(velocity, noise):
    midi = np.array([33, 50, 69, 86, 98])  # 55 Hz to 2349 Hz
    slot = 0.8
    notes = Notes(
        np.arange(midi.size) * slot,
        [0.7] * midi.size,
        [hz(m) for m in midi],
        [velocity] * midi.size,
    )
    x = render(notes, noise=noise, seed=2)
    for k, f in enumerate(notes.frequency_hz):
        start = round(notes.onset_s[k] * SR)
        steady = x[start + round(0.15 * SR) : start + round(0.7 * SR)]
        assert abs(cents(peak_hz(steady, f, SR), f)) < 1.0, (midi[k], velocity)


def test_the_loop_delays_the_note_by_half_its_period_by_its_transfer_function():
    f = np.array([hz(40), hz(69), hz(100)])
    tube = C.bore(f, SR, 1800.0)
    for k in range(f.size):
        bell = tube.bell[k, : tube.bell_len[k]]
        loop = np.convolve(np.concatenate([np.zeros(tube.delays[k]), bell]), tube.fractions[k])
        w = 2 * np.pi * f[k] / SR
        _, h = freqz(loop, [1.0], worN=[w])
        # a delay of half a period turns the note by exactly pi: h is real and negative,
        # so with the bell's inversion the loop turns by a whole cycle
        assert np.angle(-h[0]) == pytest.approx(0.0, abs=1e-9)
        assert abs(h[0]) == pytest.approx(tube.loop_gain[k] / C.REFLECTION, rel=1e-9)


def test_the_bell_is_a_symmetric_positive_lowpass_with_its_cutoff():
    (taps,) = C.bell_taps(np.array([110.0]), SR, 1500.0)
    np.testing.assert_allclose(taps, taps[::-1], rtol=0, atol=0)
    assert np.all(taps > 0) and taps.sum() == pytest.approx(1.0, abs=1e-12)
    _, h = freqz(taps, [1.0], worN=[2 * np.pi * 1500.0 / SR])
    assert 20 * math.log10(abs(h[0])) == pytest.approx(-3.01, abs=0.3)


def test_odd_harmonics_dominate():
    for m in (50, 62):
        f = hz(m)
        x = render(Notes([0.0], [1.0], [f], [1.0]), noise=0.0)
        levels = harmonic_levels(x[round(0.3 * SR) : round(0.95 * SR)], f, 6)
        db = 20 * np.log10(levels / levels[0])
        assert db[2] > -15.0  # the third harmonic is strong
        for even in (1, 3, 5):  # harmonics 2, 4, 6
            assert db[even] < db[even - 1] - 25.0 and db[even] < -25.0, (m, db)


def test_the_tongue_makes_a_low_note_speak_at_once():
    f = hz(40)

    def rise_s(x: np.ndarray) -> float:
        hop = 441
        env = np.array([np.max(np.abs(x[i : i + hop])) for i in range(0, round(0.9 * SR), hop)])
        return float(np.argmax(env > 0.9 * env[-1]) * hop / SR)

    tongued = render(Notes([0.0], [1.0], [f], [0.3]))
    breathed = render(Notes([0.0], [1.0], [f], [0.3]), tongue=0.0)
    assert rise_s(tongued) <= 0.03 < 0.1 < rise_s(breathed)


def test_onset_is_sample_accurate_level_follows_velocity_and_the_tail_dies():
    onset, duration = 0.1234, 0.5
    loud = render(Notes([onset], [duration], [hz(57)], [1.0]), seed=1)
    soft = render(Notes([onset], [duration], [hz(57)], [0.25]), seed=1)
    start = round(onset * SR)
    assert np.all(loud[:start] == 0.0) and loud[start] != 0.0
    held = slice(start + round(0.2 * SR), start + round(duration * SR))
    peak = np.max(np.abs(loud[held]))
    assert 0.7 * 0.25 < peak <= 0.25 and np.max(np.abs(loud)) < 1.3 * 0.25
    ratio = np.sqrt(np.mean(soft[held] ** 2) / np.mean(loud[held] ** 2))
    assert 0.15 < ratio < 0.3
    assert np.all(render(Notes([0.0], [0.2], [hz(57)], [0.0])) == 0.0)
    rms = np.sqrt(np.mean(loud[held] ** 2))
    assert 20 * math.log10(np.sqrt(np.mean(loud[-200:] ** 2)) / rms) < -60.0
    again = render(Notes([onset], [duration], [hz(57)], [1.0]), seed=1)
    other = render(Notes([onset], [duration], [hz(57)], [1.0]), seed=2)
    np.testing.assert_array_equal(loud, again)
    assert not np.array_equal(loud, other)


def test_no_blow_up_across_the_parameter_ranges():
    notes = Notes([0.0, 0.1, 0.2, 0.3], [0.1] * 4, [20.0, 110.0, 1500.0, 5400.0], [1.0] * 4)
    corners = itertools.product((200.0, 20000.0), (0.0, 1.0), ((0.0, 0.0), (3.0, 0.5)))
    for cutoff, breath, (tongue, noise) in corners:
        x = render(
            notes,
            cutoff_hz=cutoff,
            breath=breath,
            tongue=tongue,
            noise=noise,
            attack_ms=0.1,
            release_ms=0.1,
        )
        assert np.all(np.isfinite(x)) and np.max(np.abs(x)) < 6 * 0.25


def test_notes_too_high_for_the_bore_are_refused():
    with pytest.raises(PortError, match=r"note 2 at 6000 Hz is too high for the bore"):
        render(Notes([0.0, 0.5], [0.2, 0.2], [440.0, 6000.0], [1.0, 1.0]))
