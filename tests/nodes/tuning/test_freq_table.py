"""The article's freq_table: its numbers against librosa and the known constants."""

from __future__ import annotations

from fractions import Fraction

import librosa
import numpy as np
import pytest

from nodes.tuning import freq_table


def test_the_pitch_table_is_the_128_midi_notes():
    table = freq_table.pitch_to_frequency
    assert table["A"][4] == 440.0
    assert round(table["C"][-1], 2) == 8.18
    names = freq_table.NOTE_NAMES
    ours = [table[names[m % 12]][m // 12 - 1] for m in range(128)]
    np.testing.assert_allclose(ours, librosa.midi_to_hz(np.arange(128)), rtol=1e-12)
    assert (table["Db"][4] == table["C#"][4] and "G#" not in table) or 9 not in table["G#"]


def test_interval_names_and_ratios():
    assert freq_table.interval_systems["semi_tones"] == 1.0594630943592953
    assert freq_table.interval_systems["quarter_tones"] == pytest.approx(2 ** (1 / 24), rel=1e-15)
    assert freq_table.semitone_intervals["P8"] == 12
    assert freq_table.semitone_intervals["M3"] == 4
    assert freq_table.interval_ratios["P8"] == 2.0
    assert freq_table.interval_ratios["P5"] == pytest.approx(1.4983070768766815, rel=1e-15)
    assert freq_table.just_ratios["P5"] == Fraction(3, 2)
    assert freq_table.just_ratios["M3"] == Fraction(5, 4)


def test_make_system_from_a_root():
    system = freq_table.Hz(8.175798915643707).make_system("semi_tones", range(0, 128))
    assert list(system) == [f"freq_{i}" for i in range(128)]
    np.testing.assert_allclose(
        list(system.values()), librosa.midi_to_hz(np.arange(128)), rtol=1e-12
    )
    assert round(system["freq_0"], 2) == 8.18
    quarter = freq_table.Hz("A4").make_system("quarter_tones", range(0, 25))
    assert quarter["freq_24"] == pytest.approx(880.0, rel=1e-12)
    assert quarter["freq_1"] == pytest.approx(440.0 * 2 ** (1 / 24), rel=1e-12)
    edo = freq_table.Hz(440.0).make_system(19, range(-1, 2))
    assert edo["freq_-1"] == pytest.approx(440.0 / 2 ** (1 / 19), rel=1e-12)
    just = freq_table.Hz(220.0).make_system("just", range(0, 8))
    ratios = [1, 9 / 8, 5 / 4, 4 / 3, 3 / 2, 5 / 3, 15 / 8, 2]
    np.testing.assert_allclose(list(just.values()), [220.0 * r for r in ratios], rtol=1e-12)
    overtones = freq_table.Hz(3.14).make_system("overtone", range(31, 34))
    np.testing.assert_allclose(list(overtones.values()), [3.14 * k for k in (32, 33, 34)])


def test_bad_systems_say_what_is_allowed():
    with pytest.raises(ValueError, match="'cents' is not one of semi_tones, quarter_tones"):
        freq_table.Hz(440.0).make_system("cents")
    with pytest.raises(ValueError, match="positive frequency"):
        freq_table.Hz(0.0)
