"""Scientific pitch notation: ``A4``, ``C#-1``, ``Bb3``, ``F##2``, ``A4+50c``.

A name is a letter A-G, any number of accidentals (``#``/``♯`` sharp,
``b``/``♭`` flat, ``x`` double sharp), an octave number (negative allowed;
C4 is middle C, C-1 is MIDI note 0) and an optional cents offset such as
``+50c`` or ``-14.2c`` (a quarter tone is ``+50c``). Frequencies are
twelve-tone equal temperament from a reference A4 (440 Hz unless given).
"""

from __future__ import annotations

import math
import re

_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"#": 1, "♯": 1, "x": 2, "b": -1, "♭": -1}
_NAME = re.compile(
    r"^\s*(?P<letter>[A-Ga-g])(?P<acc>[#♯x♭b]*)(?P<octave>-?\d+)"
    r"(?:\s*(?P<cents>[+-]\d+(?:\.\d*)?)\s*c(?:ents?)?)?\s*$"
)
_HZ = re.compile(r"^\s*(?P<hz>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*(?:hz|Hz|HZ)?\s*$")


class PitchError(ValueError):
    """A string that is not a pitch name or a frequency."""


def midi_of(name: str) -> float:
    """MIDI note number of a pitch name (fractional with a cents offset).

    >>> midi_of("A4"), midi_of("C-1"), midi_of("A4+50c")
    (69.0, 0.0, 69.5)
    """
    match = _NAME.match(name)
    if match is None:
        raise PitchError(
            f"{name!r} is not a pitch name (like 'A4', 'C#-1', 'Bb3', 'A4+50c') or a number of Hz"
        )
    semitone = _STEPS[match["letter"].upper()] + sum(_ACCIDENTALS[a] for a in match["acc"])
    cents = float(match["cents"]) if match["cents"] else 0.0
    return 12.0 * (int(match["octave"]) + 1) + semitone + cents / 100.0


def midi_to_hz(midi: float, a4_hz: float = 440.0) -> float:
    """Twelve-tone equal-tempered frequency of a (fractional) MIDI note number, in Hz."""
    return a4_hz * 2.0 ** ((midi - 69.0) / 12.0)


def hz_to_midi(hz: float, a4_hz: float = 440.0) -> float:
    """Fractional MIDI note number of a frequency in Hz."""
    return 69.0 + 12.0 * math.log2(hz / a4_hz)


def to_hz(value: float | int | str, a4_hz: float = 440.0) -> float:
    """A frequency in Hz from a number of Hz, ``"440 Hz"`` or a pitch name.

    Raises
    ------
    PitchError
        If ``value`` is neither.
    """
    if isinstance(value, bool):
        raise PitchError(f"{value!r} is not a frequency")
    if isinstance(value, int | float):
        return float(value)
    match = _HZ.match(value)
    try:
        if match is not None:
            return float(match["hz"])
        return midi_to_hz(midi_of(value), a4_hz)
    except OverflowError:
        raise PitchError(f"{value!r} is too high a pitch") from None
