"""Notes: scales, chords, progressions and sequences as note events (port type ``notes``).

A ``notes`` value holds one row per note: onset and duration in seconds,
frequency in Hz and velocity in [0, 1]; ``synth.*`` nodes render it to audio.

Timing is musical: a note lasts ``beats`` beats at ``tempo_bpm`` beats per
minute (one beat is ``60 / tempo_bpm`` seconds), notes follow each other
without gaps, and ``legato`` is the fraction of its slot each note sounds
(1.0: until the next onset; 0.5: staccato). ``start_s`` shifts every onset,
so several generators can be laid end to end and joined with
``notes.merge``.

Pitches are strings: scientific pitch names (``"A4"``, ``"C#-1"``,
``"Bb3"``), quarter tones and other microtones as cents offsets
(``"A4+50c"``), ``"midi:69"``, or a number of Hz (``"440"``,
``"3.14 Hz"``); names are tuned from ``a4_hz`` (440 Hz by default).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from graphengine.node import Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.paramgroup import ParamGroup
from graphengine.pitch import DEFAULT_A4_HZ, PitchError, hz_to_midi, midi_to_hz, to_hz
from graphengine.types import Frequencies, Notes
from nodes.tuning.systems import pitch_param

# ----------------------------------------------------------------------------- theory

MODES: dict[str, tuple[float, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic_minor": (0, 2, 3, 5, 7, 9, 11),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "whole_tone": (0, 2, 4, 6, 8, 10),
    "chromatic": tuple(range(12)),
    "quarter_tone": tuple(k / 2 for k in range(24)),
}
"""Scale steps in semitones above the root, within one octave."""

SCALE_MODES = (*MODES, "tuning")
DIRECTIONS = ("up", "down", "up_down")

CHORDS: dict[str, tuple[float, ...]] = {
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "diminished": (0, 3, 6),
    "augmented": (0, 4, 8),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "power": (0, 7),
    "major6": (0, 4, 7, 9),
    "minor6": (0, 3, 7, 9),
    "major7": (0, 4, 7, 11),
    "dominant7": (0, 4, 7, 10),
    "minor7": (0, 3, 7, 10),
    "half_diminished7": (0, 3, 6, 10),
    "diminished7": (0, 3, 6, 9),
    "minor_major7": (0, 3, 7, 11),
    "augmented7": (0, 4, 8, 10),
    "dominant9": (0, 4, 7, 10, 14),
    "neutral": (0, 3.5, 7),
    "neutral7": (0, 3.5, 7, 10.5),
}
"""Chord qualities in semitones above the root (``neutral``: a quarter-tone third)."""

KEY_MODES = ("major", "minor")
_DEGREES = {"I": 0, "II": 1, "III": 2, "IV": 3, "V": 4, "VI": 5, "VII": 6}
_NUMERAL = re.compile(
    r"^(?P<acc>[b#♭♯]?)(?P<num>VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)"
    r"(?P<qual>°|o|ø|\+|M|maj)?(?P<fig>7|65|43|42|2|64|6)?$"
)
_FIGURES = {None: (0, False), "6": (1, False), "64": (2, False), "7": (0, True)}
_FIGURES |= {"65": (1, True), "43": (2, True), "42": (3, True), "2": (3, True)}
_RESTS = ("r", "-", "rest")
_HZ_SPACE = re.compile(r"(\d\.?)\s+hz\b", re.IGNORECASE)


class NumeralError(ValueError):
    """A string that is not a Roman numeral chord."""


class Chord(NamedTuple):
    """A chord as MIDI note numbers (fractional for microtones), lowest first."""

    midi: tuple[float, ...]


def numeral_root(numeral: str, tonic: float, key_mode: str) -> tuple[float, str, bool, int]:
    """Parse a numeral (without ``/``): its root (MIDI), triad quality, seventh, inversion."""
    match = _NUMERAL.match(numeral)
    if match is None:
        raise NumeralError(
            f"{numeral!r} is not a Roman numeral chord (like 'I', 'ii', 'V7', 'V6', "
            "'V64', 'vii°7', 'bVII', 'V/V')"
        )
    num, qual, fig = match["num"], match["qual"], match["fig"]
    degree = _DEGREES[num.upper()]
    upper = num.isupper()
    steps = MODES[key_mode]
    semitone = steps[degree]
    if key_mode == "minor" and degree == 6 and (not upper or qual in ("°", "o", "ø")):
        semitone = 11  # the leading-tone chord uses the raised seventh
    semitone += {"": 0, "b": -1, "♭": -1, "#": 1, "♯": 1}[match["acc"]]
    inversion, seventh = _FIGURES[fig]
    if qual in ("°", "o"):
        quality = "diminished"
    elif qual == "ø":
        quality, seventh = "half_diminished", True
    elif qual == "+":
        quality = "augmented"
    elif qual in ("M", "maj"):
        quality = "major7" if upper else "minor_major7"
        seventh = True
    else:
        quality = "major" if upper else "minor"
    return tonic + semitone, quality, seventh, inversion


def _seventh_of(quality: str, root_semitone: float, key_mode: str, is_dominant: bool) -> float:
    if quality == "diminished":
        return 9.0
    if quality in ("major7", "minor_major7"):
        return 11.0
    if quality == "major" and not is_dominant:
        diatonic = {s % 12 for s in MODES[key_mode]}
        if (root_semitone + 11) % 12 in diatonic:
            return 11.0  # a diatonic major seventh: Imaj7, IVmaj7 (major); IIImaj7, VImaj7 (minor)
    return 10.0


_TRIAD_OF = {"half_diminished": "diminished", "major7": "major", "minor_major7": "minor"}
"""The :data:`CHORDS` triad under a seventh-chord quality of :func:`numeral_root`."""


def roman_chord(numeral: str, tonic_midi: float, key_mode: str = "major") -> Chord:
    """A chord from a Roman numeral in a key, voiced around the key's tonic.

    Upper case is a major triad, lower case minor, ``°``/``o`` diminished,
    ``+`` augmented, ``ø`` half-diminished seventh; ``b``/``#`` before the
    numeral lower/raise its root (``bVII``, ``bII6``). Figured-bass suffixes
    give inversions and sevenths: ``6`` (first inversion), ``64`` (second),
    ``7`` (seventh chord), ``65``, ``43``, ``42``/``2`` (its inversions);
    ``M7`` asks for a major seventh. The seventh is the key's diatonic one
    (``Imaj7``, ``IVmaj7``; ``V7`` always dominant). ``X/Y`` is X in the key
    of Y (``V7/V``). In minor keys ``vii°`` sits on the raised seventh degree.
    The chord is voiced with its bass within a tritone of the tonic (from 6
    semitones below to 5 above), so progressions move smoothly: in C4 major
    ``V6`` is B3 D4 G4.
    """
    if key_mode not in KEY_MODES:
        raise NumeralError(f"{key_mode!r} is not a key mode ({', '.join(KEY_MODES)})")
    numeral = numeral.strip()
    head, slash, target = numeral.partition("/")
    tonic, mode = tonic_midi, key_mode
    if slash:
        if not target:
            raise NumeralError(f"{numeral!r}: nothing after '/'")
        roman_chord(target, tonic_midi, key_mode)  # checks the whole target, chains included
        target_root, target_quality, _, _ = numeral_root(target.split("/")[0], tonic_midi, key_mode)
        tonic = target_root
        mode = "major" if target_quality in ("major", "augmented", "major7") else "minor"
    root, quality, seventh, inversion = numeral_root(head, tonic, mode)
    intervals = list(CHORDS[_TRIAD_OF.get(quality, quality)])
    match = _NUMERAL.match(head)
    assert match is not None
    if seventh:
        is_dominant = match["num"] == "V"
        intervals.append(
            10.0
            if quality == "half_diminished"
            else _seventh_of(quality, root - tonic, mode, is_dominant)
        )
    if inversion >= len(intervals):
        raise NumeralError(f"{numeral!r}: a triad has no third inversion")
    midi = _rotate(root, intervals, inversion)
    shift = 12.0 * math.floor((midi[0] - tonic_midi + 6.0) / 12.0)
    return Chord(tuple(m - shift for m in midi))


def _rotate(root: float, intervals: Sequence[float], inversion: int) -> list[float]:
    """Chord tones lowest first, the lowest ``inversion`` moved up an octave."""
    tones = sorted(root + i for i in intervals)
    return tones[inversion:] + [t + 12.0 for t in tones[:inversion]]


def quality_chord(root_midi: float, quality: str, inversion: int) -> Chord:
    """A chord from a root, a quality of :data:`CHORDS` and an inversion (root stays put)."""
    intervals = CHORDS[quality]
    if inversion >= len(intervals):
        raise ValueError(f"a {quality} chord has {len(intervals)} notes: no inversion {inversion}")
    return Chord(tuple(_rotate(root_midi, intervals, inversion)))


def scale_steps(mode: str, octaves: int, direction: str) -> list[float]:
    """Semitones above the root of each note of a scale, in playing order.

    Up: root to the root ``octaves`` up, both included. Down: from the root
    down to ``octaves`` below. ``melodic_minor`` descends as natural minor.
    ``up_down``: up then back down, the top note once.
    """
    up = [12.0 * o + s for o in range(octaves) for s in MODES[mode]] + [12.0 * octaves]
    descending = MODES["minor"] if mode == "melodic_minor" else MODES[mode]
    down_set = [12.0 * o + s for o in range(octaves) for s in descending] + [12.0 * octaves]
    if direction == "up":
        return up
    if direction == "down":
        return [s - 12.0 * octaves for s in reversed(down_set)]
    return up + list(reversed(down_set))[1:]


# ----------------------------------------------------------------------------- helpers


def _beats_per_item(beats: Sequence[float], count: int, ctx: NodeContext) -> np.ndarray:
    if len(beats) not in (1, count):
        raise ctx.param_error(
            "beats", f"{len(beats)} values for {count} items: give one for all, or one per item"
        )
    return np.broadcast_to(np.asarray(beats, dtype=np.float64), (count,))


def _events(
    slots: Sequence[Sequence[float]],
    beats: np.ndarray,
    timing: Mapping[str, Any],
    ctx: NodeContext,
) -> Notes:
    """Notes from one chord (list of Hz, empty for a rest) per slot, laid end to end.

    ``timing`` holds the :data:`TIMING` parameters; without ``legato`` notes fill their slots.
    """
    beat_s = 60.0 / timing["tempo_bpm"]
    legato = timing.get("legato", 1.0)
    starts = timing["start_s"] + beat_s * np.concatenate([[0.0], np.cumsum(beats)[:-1]])
    onset, duration, hz = [], [], []
    for start, length, chord in zip(starts, beats, slots, strict=True):
        for f in chord:
            onset.append(start)
            duration.append(length * beat_s * legato)
            hz.append(f)
    velocity = np.full(len(hz), timing["velocity"])
    return Notes(np.array(onset), np.array(duration), np.array(hz), velocity)


def _notes_info(count: int | None) -> dict[str, PortInfo]:
    return {"out": PortInfo("notes", (count,) if count is not None else None, itemsize=8)}


def _slots_info(
    slots: Sequence[Sequence[Any]], params: Mapping[str, Any], ctx: NodeContext
) -> dict[str, PortInfo]:
    """(notes,) of parsed slots, once the count of their ``beats`` is checked."""
    _beats_per_item(params["beats"], len(slots), ctx)
    return _notes_info(sum(len(s) for s in slots))


def _item_events(
    slots: Sequence[Sequence[float | int]],
    tuning: Frequencies | None,
    name: str,
    beats: Sequence[float],
    timing: Mapping[str, Any],
    ctx: NodeContext,
) -> Notes:
    """Notes of parsed items (tuning steps resolved), ``beats`` one for all or one per item."""
    beats_array = _beats_per_item(beats, len(slots), ctx)
    return _events(_resolve(slots, tuning, name, ctx), beats_array, timing, ctx)


TEMPO = param(120.0, unit="BPM", range=(1.0, 10_000.0), description="beats per minute")
LEGATO = param(1.0, range=(0.01, 1.0), description="fraction of its slot each note sounds")
VELOCITY = param(0.8, range=(0.0, 1.0), description="loudness of every note")
START = param(0.0, unit="s", range=(0.0, None), description="onset of the first note")
A4 = param(DEFAULT_A4_HZ, unit="Hz", range=(1.0, 20_000.0), description="reference pitch A4")
TIMING = ParamGroup(
    tempo_bpm=(float, TEMPO),
    legato=(float, LEGATO),
    velocity=(float, VELOCITY),
    start_s=(float, START),
    a4_hz=(float, A4),
)
"""Tempo, articulation, loudness, start and tuning reference of the note generators."""
ITEM_BEATS = param([1.0], above=0, description="beats per item: one for all or one each")


# ----------------------------------------------------------------------------- scale


def _scale_check(
    inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
) -> int | None:
    mode = params["mode"]
    has_tuning = inputs.get("tuning") is not None
    if mode == "tuning" and not has_tuning:
        message = "mode 'tuning' needs a tuning connected to the 'tuning' input"
        raise ctx.port_error("tuning", message)
    if mode != "tuning" and has_tuning:
        message = f"a tuning is connected but mode is {mode!r}: set mode = 'tuning' to use it"
        raise ctx.port_error("tuning", message)
    pitch_param(params["root"], "root", params["a4_hz"], ctx)
    if mode == "tuning":
        return None
    return len(scale_steps(mode, params["octaves"], params["direction"]))


def infer_scale(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(notes,): the count follows from the mode, span and direction (unknown for a tuning)."""
    return _notes_info(_scale_check(inputs, params, ctx))


def _tuning_scale(
    hz: np.ndarray, root: float, octaves: int, direction: str, ctx: NodeContext
) -> list[float]:
    top = root * 2.0**octaves
    bottom = root / 2.0**octaves
    tol = 1e-9
    up = np.sort(hz[(hz >= root * (1 - tol)) & (hz <= top * (1 + tol))])
    down = np.sort(hz[(hz >= bottom * (1 - tol)) & (hz <= root * (1 + tol))])[::-1]
    chosen = {"up": up, "down": down, "up_down": np.concatenate([up, up[::-1][1:]])}[direction]
    if chosen.size == 0:
        raise ctx.port_error(
            "tuning",
            f"no step of the tuning lies within {octaves} octave(s) of the root ({root:g} Hz)",
        )
    return [float(f) for f in chosen]


@node("notes.scale", version=1, infer=infer_scale)
@TIMING
def scale(
    tuning: Frequencies | None = None,
    *,
    root: str = param("A4", description="the tonic the scale starts from: pitch name or Hz"),
    mode: str = param("major", choices=SCALE_MODES, description="the scale's steps"),
    direction: str = param("up", choices=DIRECTIONS, description="up, down or up_down"),
    octaves: int = param(1, range=(1, 10), description="span in octaves"),
    beats: float = param(1.0, above=0, description="beats per note"),
    ctx: NodeContext,
    **timing: Any,
) -> Notes:
    """A scale from a root: major, minor, church modes, chromatic, quarter tones, a tuning.

    ``mode`` picks the steps: major, minor (natural), the church modes
    (ionian, dorian, phrygian, lydian, mixolydian, aeolian, locrian),
    harmonic_minor, melodic_minor (descending as natural minor, as taught),
    the pentatonics, blues, whole_tone, chromatic (semitones), quarter_tone
    (24 steps per octave, ratio 2 ** (1/24)), or ``tuning``: the steps of the
    connected ``tuning`` input that lie within the span (starting at the first
    step at or above the root going up, at or below it going down).

    ``up`` plays from ``root`` to the root ``octaves`` higher, both included
    (A4 major: 8 notes from 440 to 880 Hz); ``down`` from ``root`` down to
    ``octaves`` lower; ``up_down`` goes up and back (the top note once).
    Each note lasts ``beats`` at ``tempo_bpm``.

    Example
    -------
        a_major = {root = "A4", mode = "major", direction = "up", tempo_bpm = 120}
    """
    params = {"root": root, "mode": mode, "direction": direction, "octaves": octaves, **timing}
    inputs = {"tuning": None if tuning is None else PortInfo("frequencies", tuning.hz.shape)}
    _scale_check(inputs, params, ctx)
    root_hz = pitch_param(root, "root", timing["a4_hz"], ctx)
    if tuning is None:
        hz = [root_hz * 2.0 ** (s / 12.0) for s in scale_steps(mode, octaves, direction)]
    else:
        hz = _tuning_scale(tuning.hz, root_hz, octaves, direction, ctx)
    beats_array = np.full(len(hz), float(beats))
    return _events([[f] for f in hz], beats_array, timing, ctx)


# ----------------------------------------------------------------------------- chord


def _chord_midi(params: Mapping[str, Any], ctx: NodeContext) -> tuple[float, ...]:
    a4_hz = params["a4_hz"]
    if params["numeral"].strip():
        tonic = hz_to_midi(pitch_param(params["key"], "key", a4_hz, ctx), a4_hz)
        try:
            return roman_chord(params["numeral"], tonic, params["key_mode"]).midi
        except NumeralError as error:
            raise ctx.param_error("numeral", str(error)) from None
    root = hz_to_midi(pitch_param(params["root"], "root", a4_hz, ctx), a4_hz)
    try:
        return quality_chord(root, params["quality"], params["inversion"]).midi
    except ValueError as error:
        raise ctx.param_error("inversion", str(error)) from None


def infer_chord(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(notes in the chord,); the numeral is parsed here."""
    return _notes_info(len(_chord_midi(params, ctx)))


@node("notes.chord", version=1, infer=infer_chord)
@TIMING.without("legato")
def chord(
    *,
    root: str = param("C4", description="the chord's root: pitch name or Hz"),
    quality: str = param("major", choices=tuple(CHORDS), description="the chord's intervals"),
    inversion: int = param(0, range=(0, 4), description="0 root position, 1 first, 2 second..."),
    numeral: str = param("", description="a Roman numeral in the key ('V6', 'ii7'); replaces root"),
    key: str = param("C4", description="tonic of the key, for numerals"),
    key_mode: str = param("major", choices=KEY_MODES, description="major or minor, for numerals"),
    beats: float = param(4.0, above=0, description="length in beats"),
    ctx: NodeContext,
    **timing: Any,
) -> Notes:
    """A chord, from a root and a quality or from a Roman numeral in a key.

    With a root: ``quality`` is a triad (major, minor, diminished, augmented,
    sus2, sus4, power), a sixth or seventh chord (major6, minor6, major7,
    dominant7, minor7, half_diminished7, diminished7, minor_major7,
    augmented7), dominant9, or a microtonal neutral / neutral7 chord (thirds
    of 3.5 semitones). ``inversion`` moves that many of the lowest notes up an
    octave; the root stays where it is named.

    With ``numeral`` (non-empty, replacing ``root``, ``quality`` and
    ``inversion``): upper case is major, lower case minor, ``°`` diminished,
    ``+`` augmented, ``ø`` half-diminished; figured bass gives the inversion
    (``V6``, ``V64``, ``V7``, ``V65``, ``V43``, ``V42``); ``bVII``,
    ``V7/V`` and ``vii°7`` work as in a harmony textbook. The chord is voiced
    near ``key`` (its bass within a tritone of the tonic). All notes start
    together and last ``beats``.

    Example
    -------
        dominant = {numeral = "V65", key = "G3", key_mode = "minor", beats = 2}
    """
    params = {
        "root": root,
        "quality": quality,
        "inversion": inversion,
        "numeral": numeral,
        "key": key,
        "key_mode": key_mode,
        "a4_hz": timing["a4_hz"],
    }
    hz = [midi_to_hz(m, timing["a4_hz"]) for m in _chord_midi(params, ctx)]
    return _events([hz], np.array([beats]), timing, ctx)


# ----------------------------------------------------------------------------- progression


def _progression(params: Mapping[str, Any], ctx: NodeContext) -> list[list[float]]:
    tokens = params["chords"].replace("|", " ").split()
    if not tokens:
        raise ctx.param_error("chords", "is empty: write numerals like 'I IV V I'")
    a4_hz = params["a4_hz"]
    tonic = hz_to_midi(pitch_param(params["key"], "key", a4_hz, ctx), a4_hz)
    slots = []
    for position, token in enumerate(tokens, start=1):
        if token.lower() in _RESTS:
            slots.append([])
            continue
        try:
            midi = roman_chord(token, tonic, params["key_mode"]).midi
        except NumeralError as error:
            message = f"chord {position}: {error}"
            raise ctx.param_error("chords", message) from None
        slots.append([midi_to_hz(m, a4_hz) for m in midi])
    return slots


def infer_progression(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(notes,): every numeral is parsed here."""
    return _slots_info(_progression(params, ctx), params, ctx)


@node("notes.progression", version=1, infer=infer_progression)
@TIMING
def progression(
    *,
    chords: str = param("I IV V I", description="Roman numerals separated by spaces ('r' rests)"),
    key: str = param("C4", description="tonic of the key: pitch name or Hz"),
    key_mode: str = param("major", choices=KEY_MODES, description="major or minor"),
    beats: list[float] = param(
        [4.0], above=0, description="beats per chord: one for all or one each"
    ),
    ctx: NodeContext,
    **timing: Any,
) -> Notes:
    """A chord progression written as Roman numerals in a key: ``"I ii V6 I"``.

    Each whitespace-separated numeral is a chord as in ``notes.chord``
    (``I``, ``ii``, ``V7``, ``V6``, ``V64``, ``vii°``, ``bVII``, ``V7/V``);
    ``r`` is a rest and ``|`` bar lines are ignored. Chords are voiced near
    ``key`` (bass within a tritone of the tonic), so ``I ii V6 I`` in C4 is
    C4-E4-G4, D4-F4-A4, B3-D4-G4, C4-E4-G4. ``beats`` is one length for all
    chords or one per chord, at ``tempo_bpm``.

    Example
    -------
        cadence = {chords = "I ii V6 I", key = "C4", beats = [2.0], tempo_bpm = 90}
    """
    params = {"chords": chords, "key": key, "key_mode": key_mode, "a4_hz": timing["a4_hz"]}
    return _item_events(_progression(params, ctx), None, "chords", beats, timing, ctx)


# ----------------------------------------------------------------------------- sequence


def _parse_items(
    items: Sequence[str],
    name: str,
    a4_hz: float,
    tuning_size: int | None,
    allow_pitches: bool,
    ctx: NodeContext,
) -> list[list[float | int]]:
    """Each item a chord of Hz (floats) or tuning indices (ints); [] is a rest."""
    if not items:
        raise ctx.param_error(name, "is empty: give at least one note")
    slots: list[list[float | int]] = []
    for position, item in enumerate(items, start=1):
        tokens = _HZ_SPACE.sub(r"\1Hz", item).replace(",", " ").split()
        if not tokens:
            message = f"item {position} is blank (write 'r' for a rest)"
            raise ctx.param_error(name, message)
        chord: list[float | int] = []
        for token in tokens:
            if token.lower() in _RESTS:
                if len(tokens) > 1:
                    message = f"item {position}: a rest cannot be part of a chord ({item!r})"
                    raise ctx.param_error(name, message)
                continue
            index_text = token[1:] if allow_pitches and token.startswith("@") else token
            if not allow_pitches or token.startswith("@"):
                if not re.fullmatch(r"\d{1,9}", index_text):
                    expected = (
                        "a tuning index like '@12'" if allow_pitches else "a step index like '12'"
                    )
                    message = f"item {position}: {token!r} is not {expected}"
                    raise ctx.param_error(name, message)
                index = int(index_text)
                if tuning_size is None and allow_pitches:
                    message = f"item {position}: {token!r} needs a tuning connected to 'tuning'"
                    raise ctx.param_error(name, message)
                if tuning_size is not None and tuning_size >= 0 and index >= tuning_size:
                    message = (
                        f"item {position}: step {index} is beyond the tuning's {tuning_size} steps"
                    )
                    raise ctx.param_error(name, message)
                chord.append(index)
                continue
            try:
                hz = to_hz(token, a4_hz)
            except PitchError as error:
                raise ctx.param_error(name, f"item {position}: {error}") from None
            if not 0.0 < hz < math.inf:
                message = f"item {position}: {token!r} is not a positive frequency"
                raise ctx.param_error(name, message)
            chord.append(hz)
        slots.append(chord)
    return slots


def _tuning_size(inputs: Mapping[str, Any]) -> int | None:
    """Steps of the connected tuning: None when unconnected, -1 when its size is unknown."""
    info = inputs.get("tuning")
    if info is None:
        return None
    return info.shape[0] if info.shape else -1


def _resolve(
    slots: list[list[float | int]], tuning: Frequencies | None, name: str, ctx: NodeContext
) -> list[list[float]]:
    out = []
    for chord in slots:
        row = []
        for value in chord:
            if isinstance(value, int):
                assert tuning is not None
                if value >= tuning.hz.size:
                    message = f"step {value} is beyond the tuning's {tuning.hz.size} steps"
                    raise ctx.param_error(name, message)
                row.append(float(tuning.hz[value]))
            else:
                row.append(value)
        out.append(row)
    return out


def infer_sequence(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(notes,): every item is parsed here."""
    slots = _parse_items(params["notes"], "notes", params["a4_hz"], _tuning_size(inputs), True, ctx)
    return _slots_info(slots, params, ctx)


@node("notes.sequence", version=1, infer=infer_sequence)
@TIMING
def sequence(
    tuning: Frequencies | None = None,
    *,
    notes: list[str] = param(
        ["C4", "E4", "G4", "C5"],
        description="one item per step: 'C4', 'C4 E4 G4' (chord), 'r' (rest)",
    ),
    beats: list[float] = ITEM_BEATS,
    ctx: NodeContext,
    **timing: Any,
) -> Notes:
    """An explicit sequence of notes and chords: pitch names, Hz or tuning steps.

    Each item of ``notes`` is one step: a pitch (``"A4"``, ``"A4+50c"``,
    ``"midi:60"``, ``"440"`` Hz), a chord of several separated by spaces or
    commas (``"C4 E4 G4"``), a tuning step ``"@12"`` (index 12 of the
    connected ``tuning``; mix freely: ``"C4 @14"``), or ``"r"`` for a rest.
    ``beats`` gives one length for every item or one per item.

    Example
    -------
        tune = {notes = ["C4", "E4", "G4", "C4 E4 G4", "r", "A4+50c"], beats = [1, 1, 1, 2, 1, 2]}
    """
    size = None if tuning is None else tuning.hz.size
    slots = _parse_items(notes, "notes", timing["a4_hz"], size, True, ctx)
    return _item_events(slots, tuning, "notes", beats, timing, ctx)


def infer_from_tuning(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(notes,): indices are checked against the tuning's size when it is known."""
    size = _tuning_size(inputs)
    if not params["steps"]:
        return _notes_info(size if size is not None and size >= 0 else None)
    slots = _parse_items(params["steps"], "steps", DEFAULT_A4_HZ, size, False, ctx)
    return _slots_info(slots, params, ctx)


@node("notes.from_tuning", version=1, infer=infer_from_tuning)
@TIMING.without("a4_hz")
def from_tuning(
    tuning: Frequencies,
    *,
    steps: list[str] = param([], description="step indices per item ('0 8 14' a chord); [] = all"),
    beats: list[float] = ITEM_BEATS,
    ctx: NodeContext,
    **timing: Any,
) -> Notes:
    """Notes picked from a tuning by step index: melodies and (microtonal) chords.

    Each item of ``steps`` is one step in time: an index into the tuning
    (``"7"``), several separated by spaces or commas to sound together
    (``"0 7 14"``: in a 24-step tuning from A4, A4, a three-quarter-tone
    step up, and a neutral third above that), or ``"r"`` for a rest. An
    empty ``steps`` plays every step of the tuning in order, one per item.

    Example
    -------
        chords = {tuning = "quarter_tones", steps = ["0 7 14", "2 9 16", "0 7 14"], beats = [2.0]}
    """
    items = steps or [str(i) for i in range(tuning.hz.size)]
    if not items:
        raise ctx.port_error("tuning", "the tuning is empty")
    slots = _parse_items(items, "steps", DEFAULT_A4_HZ, tuning.hz.size, False, ctx)
    return _item_events(slots, tuning, "steps", beats, timing, ctx)


# ----------------------------------------------------------------------------- merge


def infer_merge(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(sum of the inputs' notes,) when all are known."""
    ports = list(inputs.get("in") or [])
    if not ports:
        raise ctx.port_error("in", "needs at least one notes input")
    if any(p.shape is None for p in ports):
        return _notes_info(None)
    return _notes_info(sum(p.shape[0] for p in ports))


@node("notes.merge", version=1, infer=infer_merge)
def merge(in_: list[Notes]) -> Notes:
    """Join several note streams into one, ordered by onset.

    Notes keep their onsets, so generators given different ``start_s`` play
    one after the other and overlapping ones play together. Notes with the
    same onset keep the order of the inputs.

    Example
    -------
        all = {in = ["verse", "chorus"]}
    """
    onset = np.concatenate([n.onset_s for n in in_])
    order = np.argsort(onset, kind="stable")
    return Notes(
        onset[order],
        np.concatenate([n.duration_s for n in in_])[order],
        np.concatenate([n.frequency_hz for n in in_])[order],
        np.concatenate([n.velocity for n in in_])[order],
    )
