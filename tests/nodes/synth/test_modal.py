"""synth.modal: mode tables against the physics, tuning within 1 cent, decays, mallet, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fine_pitch import cents, peak_hz
from node_harness import make_ctx, run_node, validation_error
from scipy.optimize import brentq
from scipy.special import iv, ivp, jv, jvp

from graphengine.types import Notes
from nodes.synth import modal as M

SR = 44100.0


def hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12)


def render(notes: Notes, **params) -> np.ndarray:
    return run_node(M.modal, make_ctx("synth.modal"), notes, **params).samples[0].astype(np.float64)


def test_bar_and_plate_tables_are_the_roots_of_their_frequency_equations():
    roots = [
        brentq(
            lambda x: math.cos(x) * math.cosh(x) - 1,
            (k + 0.5) * math.pi - 0.5,
            (k + 0.5) * math.pi + 0.5,
        )
        for k in range(1, 7)
    ]
    np.testing.assert_allclose(
        M.MODE_TABLES["bar"][0], (np.array(roots) / roots[0]) ** 2, rtol=2e-5
    )
    found = []
    for n in range(6):  # clamped circular plate: J_n(x) I_n'(x) - I_n(x) J_n'(x) = 0

        def g(x, n=n):
            return jv(n, x) * ivp(n, x) - iv(n, x) * jvp(n, x)

        xs = np.linspace(0.5, 10.0, 3000)
        v = g(xs)
        found += [
            brentq(g, xs[i], xs[i + 1]) for i in np.flatnonzero(np.sign(v[:-1]) != np.sign(v[1:]))
        ]
    squares = np.sort(np.array(found) ** 2)[:9]
    np.testing.assert_allclose(M.MODE_TABLES["plate"][0], squares / squares[0], rtol=1e-4)
    bell = M.MODE_TABLES["bell"][0]
    np.testing.assert_allclose(bell, [1 / 2, 1, 6 / 5, 3 / 2, 2, 5 / 2, 8 / 3, 3, 4], rtol=1e-12)
    assert M.MODE_TABLES["marimba"][0] == (1.0, 4.0, 10.0)


@pytest.mark.parametrize("instrument", ["bar", "marimba", "bell", "plate"])
def test_the_note_mode_is_within_a_cent_from_c1_to_c8(instrument):
    midi = np.arange(24, 109, 6)
    onsets = np.arange(midi.size) * 2.0
    notes = Notes(onsets, [1.0] * midi.size, [hz(m) for m in midi], [1.0] * midi.size)
    x = render(notes, instrument=instrument, decay_s=1.5, release_ms=100.0)
    worst = 0.0
    for k, f in enumerate(notes.frequency_hz):
        start = round(onsets[k] * SR)
        assert x[start] == 0.0 and x[start + 1] != 0.0  # every mode starts at phase 0
        worst = max(worst, abs(cents(peak_hz(x[start : start + round(1.0 * SR)], f, SR, 50.0), f)))
    assert worst < 1.0, worst


def test_every_bar_mode_sounds_at_its_ratio():
    f = 110.0
    x = render(Notes([0.0], [3.0], [f], [1.0]), decay_s=4.0, damping=0.5, hardness=1.0)
    for ratio in M.MODE_TABLES["bar"][0]:
        assert abs(cents(peak_hz(x, ratio * f, SR, 20.0), ratio * f)) < 0.05


def mode_t60(x: np.ndarray, f: float, times: tuple[float, float]) -> float:
    t = np.arange(x.size) / SR
    base = x * np.exp(-2j * np.pi * f * t)
    w = 2205
    levels = [abs(base[round(s * SR) : round(s * SR) + w].mean()) for s in times]
    return 60.0 * (times[1] - times[0]) / (20 * math.log10(levels[0] / levels[1]))


def test_modes_decay_in_decay_s_over_ratio_to_the_damping():
    f = 200.0
    x = render(Notes([0.0], [3.0], [f], [1.0]), instrument="marimba", decay_s=2.0, damping=0.5)
    assert mode_t60(x, f, (0.2, 1.2)) == pytest.approx(2.0, rel=0.02)
    assert mode_t60(x, 4 * f, (0.2, 0.7)) == pytest.approx(2.0 / 4**0.5, rel=0.02)
    assert x.size == round(2.0 * SR)  # it rings until the slowest mode is 60 dB down


def test_release_damps_and_the_peak_stays_below_amplitude():
    x = render(Notes([0.0], [0.5], [hz(60)], [0.8]), instrument="bell", release_ms=100.0)
    assert x.size == round(0.5 * SR) + round(0.1 * SR)
    assert np.max(np.abs(x)) <= 0.25 * 0.8
    held = np.sqrt(np.mean(x[round(0.45 * SR) : round(0.5 * SR)] ** 2))
    assert 20 * math.log10(np.sqrt(np.mean(x[-100:] ** 2)) / held) < -50.0


def test_a_hard_mallet_brings_out_the_high_modes():
    f = 220.0
    soft = render(Notes([0.0], [1.0], [f], [1.0]), hardness=0.0)
    hard = render(Notes([0.0], [1.0], [f], [1.0]), hardness=1.0)
    t = np.arange(soft.size) / SR

    def ratio(x):
        top = abs(np.mean(x * np.exp(-2j * np.pi * 5.4039 * f * t)))
        return top / abs(np.mean(x * np.exp(-2j * np.pi * f * t)))

    assert ratio(hard) > 10 * ratio(soft)


def test_custom_tables_are_checked_before_the_run():
    upstream = {"m": {"type": "notes.sequence", "notes": ["A4"]}}
    error = validation_error("synth.modal", upstream=upstream, in_="m", ratios=[1.0, 2.0])
    assert "ratios" in str(error) and "custom" in str(error)
    error = validation_error("synth.modal", upstream=upstream, in_="m", instrument="custom")
    assert "ratios" in str(error)
    error = validation_error(
        "synth.modal", upstream=upstream, in_="m", instrument="custom", ratios=[1, 2], gains=[1]
    )
    assert "gains" in str(error)
    x = render(Notes([0.0], [1.0], [300.0], [1.0]), instrument="custom", ratios=[1.0, 2.5])
    assert abs(cents(peak_hz(x, 750.0, SR, 20.0), 750.0)) < 0.05
