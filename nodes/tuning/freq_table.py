"""The seed article's ``freq_table`` in Python: pitch and interval tables, tunings from a root.

Thin over :mod:`graphengine.pitch` (twelve-tone equal temperament from
A4 = 440 Hz) and the ``tuning.*`` nodes, in the article's words::

    >>> from nodes.tuning import freq_table
    >>> freq_table.pitch_to_frequency["A"][4]
    440.0
    >>> freq_table.interval_systems["semi_tones"]
    1.0594630943592953
    >>> round(freq_table.Hz(8.175798915643707).make_system("semi_tones")["freq_0"], 2)
    8.18

Frequencies are in Hz, intervals in semitones (``semitone_intervals``) or
as frequency ratios (``interval_ratios``, ``just_ratios``).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import graphengine as ge
from graphengine.pitch import (
    DEFAULT_A4_HZ,
    QUARTER_TONE_RATIO,
    SEMITONE_RATIO,
    midi_to_hz,
    to_hz,
)

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


def _pitch_table(a4_hz: float = DEFAULT_A4_HZ) -> dict[str, dict[int, float]]:
    """Name -> octave -> Hz over the 128 MIDI notes (C-1 = note 0 .. G9 = note 127)."""
    table: dict[str, dict[int, float]] = {}
    for midi in range(128):
        octave, step = divmod(midi, 12)
        for name in {NOTE_NAMES[step], FLAT_NAMES[step]}:
            table.setdefault(name, {})[octave - 1] = midi_to_hz(midi, a4_hz)
    return table


pitch_to_frequency: dict[str, dict[int, float]] = _pitch_table()
"""``pitch_to_frequency["A"][4]`` = 440.0; sharps and flats (``"C#"``, ``"Db"``); octaves -1..9."""

semitone_intervals: dict[str, int] = {
    "P1": 0, "m2": 1, "M2": 2, "m3": 3, "M3": 4, "P4": 5, "TT": 6, "A4": 6, "d5": 6,
    "P5": 7, "m6": 8, "M6": 9, "m7": 10, "M7": 11, "P8": 12,
}  # fmt: skip
"""Interval name -> size in semitones (``"P8"`` = 12, ``"M3"`` = 4)."""

interval_ratios: dict[str, float] = {
    name: 2.0 ** (steps / 12) for name, steps in semitone_intervals.items()
}
"""Interval name -> equal-tempered frequency ratio (``"P8"`` = 2.0, ``"P5"`` = 1.4983...)."""

just_ratios: dict[str, Fraction] = {
    "P1": Fraction(1), "m2": Fraction(16, 15), "M2": Fraction(9, 8), "m3": Fraction(6, 5),
    "M3": Fraction(5, 4), "P4": Fraction(4, 3), "TT": Fraction(45, 32), "A4": Fraction(45, 32),
    "d5": Fraction(64, 45), "P5": Fraction(3, 2), "m6": Fraction(8, 5), "M6": Fraction(5, 3),
    "m7": Fraction(9, 5), "M7": Fraction(15, 8), "P8": Fraction(2),
}  # fmt: skip
"""Interval name -> 5-limit just ratio (``"M3"`` = 5/4, ``"P5"`` = 3/2)."""

interval_systems: dict[str, float] = {
    "semi_tones": SEMITONE_RATIO,
    "quarter_tones": QUARTER_TONE_RATIO,
    "whole_tones": 2.0 ** (1 / 6),
}
"""Equal step ratios by name: ``"semi_tones"`` = 2 ** (1/12) = 1.0594630943592953."""

_DIVISIONS = {"semi_tones": 12, "quarter_tones": 24, "whole_tones": 6}


def _run(type_id: str, **params: object) -> list[float]:
    graph = ge.Graph()
    graph.add("system", type_id, **params)
    return [float(hz) for hz in graph.run(outputs=["system"], cache=False)["system"].hz]


class Hz:
    """A root frequency from which tuning systems are built (the article's ``Hz``).

    ``hz`` is in Hz, or a pitch name such as ``"C-1"`` (8.18 Hz).
    """

    def __init__(self, hz: float | str) -> None:
        value = to_hz(hz) if isinstance(hz, str) else float(hz)
        if not value > 0:
            raise ValueError(f"Hz: the root must be a positive frequency, got {hz!r}")
        self.hz = value

    def make_system(
        self, system_type: str | int = "semi_tones", system_size: Sequence[int] = range(128)
    ) -> dict[str, float]:
        """``{"freq_i": Hz}`` for each step ``i`` of ``system_size`` above (or below) the root.

        ``system_type`` is ``"semi_tones"``, ``"quarter_tones"``, ``"whole_tones"``,
        a number of equal divisions of the octave (``19``), ``"just"`` (the
        5-limit just major scale, repeating by octaves) or ``"overtone"``
        (step ``i`` is harmonic ``i + 1`` of the root).
        """
        steps = list(system_size)
        if not steps:
            return {}
        low, high = min(steps), max(steps)
        if system_type == "just":
            if low < 0:
                raise ValueError("make_system: just steps count up from the root (0, 1, ...)")
            octaves = high // 7 + 1
            table = _run("tuning.just", root=f"{self.hz!r} Hz", octaves=octaves)
        elif system_type == "overtone":
            if low < 0:
                raise ValueError("make_system: overtone steps count up from the root (0, 1, ...)")
            table = _run("tuning.harmonic", frequency=self.hz, first=1, partials=high + 1)
        else:
            divisions = _DIVISIONS.get(system_type) if isinstance(system_type, str) else None
            if isinstance(system_type, int) and not isinstance(system_type, bool):
                divisions = system_type
            if divisions is None or divisions < 1:
                known = ", ".join([*_DIVISIONS, "just", "overtone"])
                raise ValueError(
                    f"make_system: system_type {system_type!r} is not one of {known} "
                    "or a number of divisions of the octave"
                )
            table = _run(
                "tuning.equal",
                divisions=divisions,
                reference=f"{self.hz!r} Hz",
                first=low,
                count=high - low + 1,
            )
            return {f"freq_{i}": table[i - low] for i in steps}
        return {f"freq_{i}": table[i] for i in steps}
