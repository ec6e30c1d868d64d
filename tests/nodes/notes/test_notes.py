"""notes.* nodes: scales, chords, Roman numerals and sequences against textbook tables."""

from __future__ import annotations

import numpy as np
import pytest
from node_harness import infer_node, make_ctx, run_node, validation_error

from graphengine.errors import ParamError, PortError
from graphengine.node import PortInfo
from graphengine.pitch import midi_of, midi_to_hz, to_hz
from graphengine.types import Frequencies, Notes
from nodes.notes.events import chord, from_tuning, merge, progression, roman_chord, scale, sequence


def hz(*names: str) -> list[float]:
    return [to_hz(n) for n in names]


def midi(*names: str) -> list[float]:
    return [midi_of(n) for n in names]


def test_diatonic_scale_440_to_880():
    out = run_node(scale, make_ctx("notes.scale"), root="A4", mode="major", tempo_bpm=120)
    assert isinstance(out, Notes)
    np.testing.assert_allclose(
        out.frequency_hz, hz("A4", "B4", "C#5", "D5", "E5", "F#5", "G#5", "A5")
    )
    np.testing.assert_allclose(out.onset_s, np.arange(8) * 0.5)
    np.testing.assert_allclose(out.duration_s, 0.5)
    np.testing.assert_allclose(out.velocity, 0.8)


def test_quarter_tone_and_semitone_scales():
    q = run_node(scale, make_ctx("notes.scale"), root="A4", mode="quarter_tone")
    assert q.frequency_hz.size == 25 and q.frequency_hz[-1] == pytest.approx(880.0)
    np.testing.assert_allclose(q.frequency_hz[1:] / q.frequency_hz[:-1], 2 ** (1 / 24))
    down = run_node(scale, make_ctx("notes.scale"), root="A5", mode="chromatic", direction="down")
    assert down.frequency_hz[0] == pytest.approx(880.0) and down.frequency_hz[-1] == pytest.approx(
        440.0
    )
    np.testing.assert_allclose(down.frequency_hz[:-1] / down.frequency_hz[1:], 2 ** (1 / 12))


@pytest.mark.parametrize(
    ("mode", "names"),
    [
        ("minor", ["A4", "B4", "C5", "D5", "E5", "F5", "G5", "A5"]),
        ("dorian", ["A4", "B4", "C5", "D5", "E5", "F#5", "G5", "A5"]),
        ("phrygian", ["A4", "Bb4", "C5", "D5", "E5", "F5", "G5", "A5"]),
        ("lydian", ["A4", "B4", "C#5", "D#5", "E5", "F#5", "G#5", "A5"]),
        ("mixolydian", ["A4", "B4", "C#5", "D5", "E5", "F#5", "G5", "A5"]),
        ("locrian", ["A4", "Bb4", "C5", "D5", "Eb5", "F5", "G5", "A5"]),
        ("harmonic_minor", ["A4", "B4", "C5", "D5", "E5", "F5", "G#5", "A5"]),
        ("melodic_minor", ["A4", "B4", "C5", "D5", "E5", "F#5", "G#5", "A5"]),
    ],
)
def test_modes_on_a(mode, names):
    out = run_node(scale, make_ctx("notes.scale"), root="A4", mode=mode)
    np.testing.assert_allclose(out.frequency_hz, hz(*names))


def test_melodic_minor_descends_as_natural_minor_and_up_down():
    out = run_node(
        scale, make_ctx("notes.scale"), root="A4", mode="melodic_minor", direction="up_down"
    )
    up = hz("A4", "B4", "C5", "D5", "E5", "F#5", "G#5", "A5")
    down = hz("G5", "F5", "E5", "D5", "C5", "B4", "A4")
    np.testing.assert_allclose(out.frequency_hz, up + down)


def test_scale_of_a_tuning():
    tuning = Frequencies(440.0 * 2 ** (np.arange(-30, 60) / 19))
    out = run_node(scale, make_ctx("notes.scale"), tuning, root="A4", mode="tuning")
    assert out.frequency_hz.size == 20
    np.testing.assert_allclose(out.frequency_hz[[0, -1]], [440.0, 880.0])


def test_chord_qualities_and_inversions():
    c = run_node(chord, make_ctx("notes.chord"), root="C4", quality="major7", inversion=1)
    np.testing.assert_allclose(c.frequency_hz, hz("E4", "G4", "B4", "C5"))
    assert np.all(c.onset_s == 0) and np.all(c.duration_s == 2.0)
    n = run_node(chord, make_ctx("notes.chord"), root="A3", quality="neutral")
    np.testing.assert_allclose(n.frequency_hz, hz("A3", "C4+50c", "E4"))


@pytest.mark.parametrize(
    ("numeral", "key", "mode", "names"),
    [
        ("I", "C4", "major", ["C4", "E4", "G4"]),
        ("ii", "C4", "major", ["D4", "F4", "A4"]),
        ("V6", "C4", "major", ["B3", "D4", "G4"]),
        ("V64", "C4", "major", ["D4", "G4", "B4"]),
        ("IV64", "C4", "major", ["C4", "F4", "A4"]),
        ("V7", "C4", "major", ["G3", "B3", "D4", "F4"]),
        ("V65", "C4", "major", ["B3", "D4", "F4", "G4"]),
        ("V43", "C4", "major", ["D4", "F4", "G4", "B4"]),
        ("V42", "C4", "major", ["F4", "G4", "B4", "D5"]),
        ("IV7", "C4", "major", ["F4", "A4", "C5", "E5"]),
        ("ii7", "C4", "major", ["D4", "F4", "A4", "C5"]),
        ("viiø7", "C4", "major", ["B3", "D4", "F4", "A4"]),
        ("V7/V", "C4", "major", ["D4", "F#4", "A4", "C5"]),
        ("bVII", "C4", "major", ["Bb3", "D4", "F4"]),
        ("bII6", "C4", "major", ["F4", "Ab4", "Db5"]),
        ("i", "A3", "minor", ["A3", "C4", "E4"]),
        ("V", "A3", "minor", ["E3", "G#3", "B3"]),
        ("vii°7", "A3", "minor", ["G#3", "B3", "D4", "F4"]),
        ("III", "A3", "minor", ["C4", "E4", "G4"]),
        ("iv6", "A3", "minor", ["F3", "A3", "D4"]),
    ],
)
def test_roman_numerals(numeral, key, mode, names):
    assert list(roman_chord(numeral, midi_of(key), mode).midi) == midi(*names)


def test_progression_i_ii_v6_i():
    out = run_node(
        progression, make_ctx("notes.progression"), chords="I ii V6 I", tempo_bpm=60, beats=[2.0]
    )
    expected = ["C4", "E4", "G4", "D4", "F4", "A4", "B3", "D4", "G4", "C4", "E4", "G4"]
    np.testing.assert_allclose(out.frequency_hz, hz(*expected))
    np.testing.assert_allclose(out.onset_s, np.repeat([0.0, 2.0, 4.0, 6.0], 3))
    assert infer_node(progression, make_ctx("notes.progression"), chords="I ii V6 I")[
        "out"
    ].shape == (12,)
    timed = run_node(
        progression, make_ctx("notes.progression"), chords="I | r V", beats=[1, 1, 2], legato=0.5
    )
    np.testing.assert_allclose(timed.onset_s, [0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(timed.duration_s, [0.25] * 3 + [0.5] * 3)


QUARTER_TONES = Frequencies(440.0 * 2 ** (np.arange(25) / 24))
"""The 25 quarter tones from A4 to A5, written as 440 * 2 ** (k / 24)."""


def test_sequence_pitches_chords_rests_and_tuning_steps():
    tuning = QUARTER_TONES
    out = run_node(
        sequence,
        make_ctx("notes.sequence"),
        tuning,
        notes=["A4", "C4 E4+50c, 3.14 Hz", "r", "@1 midi:60"],
        beats=[1, 2, 1, 1],
        tempo_bpm=60,
        start_s=10.0,
    )
    np.testing.assert_allclose(
        out.frequency_hz, [440.0, *hz("C4", "E4+50c"), 3.14, 440 * 2 ** (1 / 24), midi_to_hz(60)]
    )
    np.testing.assert_allclose(out.onset_s, [10, 11, 11, 11, 14, 14])


def test_from_tuning_and_merge():
    tuning = QUARTER_TONES
    chords = run_node(
        from_tuning,
        make_ctx("notes.from_tuning"),
        tuning,
        steps=["0 7 14", "r", "24"],
        tempo_bpm=60,
    )
    np.testing.assert_allclose(chords.frequency_hz, tuning.hz[[0, 7, 14, 24]])
    np.testing.assert_allclose(chords.onset_s, [0, 0, 0, 2])
    every = run_node(from_tuning, make_ctx("notes.from_tuning"), tuning)
    np.testing.assert_allclose(every.frequency_hz, tuning.hz)
    both = merge([every, chords])
    assert both.onset_s.size == 29 and np.all(np.diff(both.onset_s) >= 0)


@pytest.mark.parametrize(
    ("fn", "params", "name", "fragment"),
    [
        (scale, {"root": "H4"}, "root", "'H4' is not a pitch name"),
        (chord, {"numeral": "VIII"}, "numeral", "'VIII' is not a Roman numeral"),
        (chord, {"numeral": "V63"}, "numeral", "not a Roman numeral"),
        (chord, {"quality": "major", "inversion": 3}, "inversion", "no inversion 3"),
        (progression, {"chords": "I IV X I"}, "chords", "chord 3: 'X' is not a Roman numeral"),
        (progression, {"chords": "  "}, "chords", "is empty"),
        (progression, {"chords": "I V", "beats": [1, 2, 3]}, "beats", "3 values for 2 items"),
        (sequence, {"notes": []}, "notes", "is empty"),
        (sequence, {"notes": ["C4", "Q9"]}, "notes", "item 2: 'Q9' is not a pitch name"),
        (sequence, {"notes": ["@3"]}, "notes", "needs a tuning"),
    ],
)
def test_bad_parameters_name_node_and_parameter(fn, params, name, fragment):
    ctx = make_ctx(fn.spec.type_id, node_id="bad")
    with pytest.raises(ParamError, match=fragment) as error:
        infer_node(fn, ctx, **({"notes": ["C4"]} if fn is sequence else {}) | params)
    assert (error.value.node_id, error.value.port_or_param) == ("bad", name)


@pytest.mark.parametrize(
    ("type_id", "params", "name", "fragment"),
    [
        ("notes.scale", {"mode": "hypermixolydian"}, "mode", "'hypermixolydian' is not one of"),
        ("notes.scale", {"direction": "sideways"}, "direction", "is not one of up, down, up_down"),
        ("notes.scale", {"beats": 0.0}, "beats", "0 is not above 0"),
        ("notes.chord", {"quality": "mega"}, "quality", "'mega' is not one of major, minor"),
        ("notes.chord", {"key_mode": "dorian"}, "key_mode", "'dorian' is not one of major, minor"),
        ("notes.chord", {"beats": -1.0}, "beats", "-1 is not above 0"),
        ("notes.progression", {"key_mode": "lydian"}, "key_mode", "is not one of major, minor"),
        ("notes.progression", {"beats": [1.0, 0.0]}, "beats", "0 is not above 0"),
        ("notes.sequence", {"beats": [0.0]}, "beats", "0 is not above 0"),
        (
            "notes.scale",
            {"tempo_bpm": 0.0},
            "tempo_bpm",
            "0 BPM is out of range [1.0, 10000.0] BPM",
        ),
    ],
)
def test_declared_rules_are_checked_by_the_engine(type_id, params, name, fragment):
    error = validation_error(type_id, **params)
    assert isinstance(error, ParamError) and fragment in error.message, error
    assert error.node_id == "n" and error.port_or_param == name and error.node_type == type_id


def test_tuning_errors():
    with pytest.raises(PortError, match="needs a tuning connected"):
        infer_node(scale, make_ctx("notes.scale"), mode="tuning")
    with pytest.raises(ParamError, match="step 30 is beyond the tuning's 25 steps"):
        infer_node(
            from_tuning,
            make_ctx("notes.from_tuning"),
            {"tuning": PortInfo("frequencies", (25,))},
            steps=["0 30"],
        )
