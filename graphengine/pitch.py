"""Scientific pitch notation: ``A4``, ``C#-1``, ``Bb3``, ``F##2``, ``A4+50c``, ``midi:69``.

A name is a letter A-G, any number of accidentals (``#``/``♯`` sharp,
``b``/``♭`` flat, ``x`` double sharp), an octave number (negative allowed;
C4 is middle C, C-1 is MIDI note 0) and an optional cents offset such as
``+50c`` or ``-14.2c``.

Quarter tones (and any other microtone) are written as cents offsets: a
quarter tone above A4 is ``A4+50c``, a quarter tone below it ``A4-50c``.
This one form was chosen over arrow accidentals (``A4↑``) because it is
plain ASCII, says exactly how far the pitch is moved, and covers every
microtonal system (``C4+33.3c`` for a third of a tone), not only 24-tone
equal temperament.

A MIDI note number is written ``midi:69`` (fractions allowed:
``midi:69.5`` is a quarter tone above A4). A bare number, or a number
followed by ``Hz`` (``"440"``, ``"261.6 Hz"``), is a frequency in Hz.

Frequencies are twelve-tone equal temperament from a reference A4, 440 Hz
unless another is given (``a4_hz=432``): A3 = 220 Hz, A5 = 880 Hz and
C-1 = 8.18 Hz; each semitone is a ratio of 2 ** (1/12) = 1.0594630943592953
and each quarter tone 2 ** (1/24).
"""

from __future__ import annotations

import math
import re

DEFAULT_A4_HZ = 440.0
"""The reference pitch A4 in Hz (MIDI note 69) unless a node is told otherwise."""

SEMITONE_RATIO = 2.0 ** (1.0 / 12.0)
QUARTER_TONE_RATIO = 2.0 ** (1.0 / 24.0)

_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"#": 1, "♯": 1, "x": 2, "b": -1, "♭": -1}
_NAME = re.compile(
    r"^\s*(?P<letter>[A-Ga-g])(?P<acc>[#♯x♭b]*)(?P<octave>-?\d{1,6})"
    r"(?:\s*(?P<cents>[+-]\d{1,12}(?:\.\d*)?)\s*c(?:ents?)?)?\s*$"
)
_HZ = re.compile(r"^\s*(?P<hz>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*(?:hz|Hz|HZ)?\s*$")
_MIDI = re.compile(r"^\s*(?:midi|MIDI)\s*[: ]\s*(?P<midi>-?\d{1,12}(?:\.\d*)?)\s*$")
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_EXAMPLES = "'A4', 'C#-1', 'Bb3', 'A4+50c', 'midi:69'"


class PitchError(ValueError):
    """A string that is not a pitch name or a frequency."""


def midi_of(name: str) -> float:
    """MIDI note number of a pitch name (fractional with a cents offset).

    Also accepts ``midi:N``, which is ``N``.

    >>> midi_of("A4"), midi_of("C-1"), midi_of("A4+50c"), midi_of("midi:60")
    (69.0, 0.0, 69.5, 60.0)

    Raises
    ------
    PitchError
        If ``name`` is not a pitch name.
    """
    if not isinstance(name, str):
        raise PitchError(f"{name!r} is not a pitch name (like {_EXAMPLES})")
    midi = _MIDI.match(name)
    if midi is not None:
        return float(midi["midi"])
    match = _NAME.match(name)
    if match is None:
        raise PitchError(f"{name!r} is not a pitch name (like {_EXAMPLES}) or a number of Hz")
    semitone = _STEPS[match["letter"].upper()] + sum(_ACCIDENTALS[a] for a in match["acc"])
    cents = float(match["cents"]) if match["cents"] else 0.0
    return 12.0 * (int(match["octave"]) + 1) + semitone + cents / 100.0


def midi_to_hz(midi: float, a4_hz: float = DEFAULT_A4_HZ) -> float:
    """Twelve-tone equal-tempered frequency of a (fractional) MIDI note number, in Hz."""
    return a4_hz * 2.0 ** ((midi - 69.0) / 12.0)


def hz_to_midi(hz: float, a4_hz: float = DEFAULT_A4_HZ) -> float:
    """Fractional MIDI note number of a frequency in Hz."""
    return 69.0 + 12.0 * math.log2(hz / a4_hz)


def name_of(hz: float, a4_hz: float = DEFAULT_A4_HZ, *, flats: bool = False) -> str:
    """The nearest pitch name of a frequency, with a cents offset when it is off by 0.05 c or more.

    >>> name_of(440.0), name_of(452.89), name_of(8.1758), name_of(466.16, flats=True)
    ('A4', 'A4+50c', 'C-1', 'Bb4')
    """
    midi = hz_to_midi(hz, a4_hz)
    nearest = math.floor(midi + 0.5 - 1e-9)  # exactly half way: the lower note, +50c
    cents = round((midi - nearest) * 100.0, 1)
    names = _FLAT_NAMES if flats else _SHARP_NAMES
    name = f"{names[nearest % 12]}{nearest // 12 - 1}"
    if abs(cents) >= 0.05:
        name += f"{cents:+g}c"
    return name


def to_hz(value: float | int | str, a4_hz: float = DEFAULT_A4_HZ) -> float:
    """A frequency in Hz from a number of Hz, ``"440 Hz"``, ``"midi:69"`` or a pitch name.

    Numbers pass through unchanged (including non-finite ones: the caller
    checks the range). Pitch names and MIDI numbers are converted from the
    reference ``a4_hz``.

    Raises
    ------
    PitchError
        If ``value`` is none of these, or names a pitch too high or too low
        for a float. Never any other exception.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PitchError(f"{value!r} is not a frequency")
    if isinstance(a4_hz, bool) or not (isinstance(a4_hz, int | float) and 0 < a4_hz < math.inf):
        raise PitchError(f"the reference A4 must be a positive number of Hz, got {a4_hz!r}")
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            raise PitchError(f"{value} Hz is too large a frequency") from None
    match = _HZ.match(value)
    try:
        if match is not None:
            hz = float(match["hz"])
            if not math.isfinite(hz):
                raise PitchError(f"{value!r} is too large a frequency")
            return hz
        hz = midi_to_hz(midi_of(value), a4_hz)
    except OverflowError:
        raise PitchError(f"{value!r} is too high a pitch") from None
    if not math.isfinite(hz):
        raise PitchError(f"{value!r} is too high a pitch")
    if hz <= 0.0:
        raise PitchError(f"{value!r} is too low a pitch")
    return hz
