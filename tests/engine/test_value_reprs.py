"""Every port value prints as one short line, however many numbers it holds."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

import graphengine as ge
from graphengine.types import (
    PORT_TYPES,
    ConstantQ,
    Frequencies,
    Notes,
    Prediction,
    Subbands,
    Vector,
)

BIG = 1_000_000


def _big(port_type: str) -> ge.types.Value:
    rng = np.random.default_rng(0)
    values = {
        "audio": lambda: ge.Audio(rng.standard_normal((2, BIG)) * 0.1, 44100),
        "spectrum": lambda: ge.Spectrum(np.ones((1, 1025, 1000)), 2048, 512, "hann", 44100),
        "features": lambda: ge.Features(np.zeros((1, 100, 10_000)), 86.1),
        "vector": lambda: Vector(rng.standard_normal(BIG)),
        "image": lambda: ge.Image(np.zeros((1000, 1000, 3))),
        "notes": lambda: Notes(np.arange(BIG) / 100, np.full(BIG, 0.01), np.full(BIG, 440.0)),
        "frequencies": lambda: Frequencies(np.linspace(20, 20000, BIG)),
        "prediction": lambda: Prediction(rng.random((1000, 50))),
        "cqt": lambda: ConstantQ(np.ones((1, 84, 10_000), np.complex64), 512, 22050.0, 32.7, 12),
        "subbands": lambda: Subbands(
            [np.zeros((1, BIG // 2**k)) for k in (3, 3, 2, 1)],
            ("a3", "d3", "d2", "d1"),
            (5512.5, 5512.5, 11025.0, 22050.0),
            BIG,
            44100.0,
            {"kind": "dwt", "wavelet": "db4", "mode": "symmetric"},
        ),
    }
    return values[port_type]()


@pytest.mark.parametrize("port_type", sorted(PORT_TYPES))
def test_every_value_type_prints_one_short_line(port_type: str) -> None:
    text = repr(_big(port_type))
    assert "\n" not in text and len(text) < 120, text
    assert text.startswith(PORT_TYPES[port_type].__name__ + "(")


def test_notes_say_count_time_span_and_pitch_range() -> None:
    midi = np.array([60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 79, 81])  # C4 ... A5
    notes = Notes(np.arange(12) * 0.5, np.full(12, 0.5), librosa.midi_to_hz(midi))
    assert repr(notes) == "Notes(12 notes, 0.0–6.0 s, C4–A5)"
    assert repr(Notes([1.0], [0.25], [440.0 * 2 ** (0.3 / 12)])) == "Notes(1 note, 1.0–1.2 s, A4)"
    assert repr(Notes([], [], [])) == "Notes(0 notes)"


def test_frequencies_say_count_span_and_the_pitch_names_of_the_ends() -> None:
    table = librosa.midi_to_hz(np.arange(128))  # the 128-note equal-tempered table
    low, high = librosa.midi_to_note([0, 127], unicode=False)
    assert (low, high) == ("C-1", "G9")
    assert repr(Frequencies(table)) == f"Frequencies(128 values, 8.1758–12543.9 Hz, {low}–{high})"


def test_vectors_and_predictions_name_their_entries() -> None:
    metrics = Vector([0.00125, 0.98, 12.3], ("mse", "correlation", "snr_db"))
    assert repr(metrics) == "Vector(3 values: mse=0.00125, correlation=0.98, snr_db=12.3)"
    long = Vector(np.arange(50.0), tuple(f"b{k}" for k in range(50)))
    assert repr(long) == "Vector(50 values: b0=0, b1=1, b2=2, ..., b49=49)"
    assert repr(Prediction([0.1, 0.7, 0.2], ("cat", "dog", "owl"))) == (
        "Prediction(3 classes, top dog 0.70)"
    )
    per_item = Prediction(np.eye(2, 3), ("cat", "dog", "owl"))
    assert repr(per_item) == "Prediction(2 items x 3 classes, top: cat, dog)"
