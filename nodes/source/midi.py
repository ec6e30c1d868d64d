"""source.midi: the notes of a Standard MIDI File, timed by its tempo map.

Read with ``mido``. Channel state (program, sustain pedal) is the MIDI
bus's, shared by every track of a file; a note-off is matched to the oldest
sounding note of the same key, channel and track (first in, first out).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.node import InputPath, NodeContext, PortInfo, node, param
from graphengine.pitch import DEFAULT_A4_HZ, midi_to_hz
from graphengine.types import Notes

DEFAULT_TEMPO_US = 500_000
"""Microseconds per beat before the first tempo event (120 BPM), as the SMF standard says."""
MAX_SECONDS = 24 * 3600.0
"""Events later than this mean a corrupt file (a wrong delta time), not a very long song."""
DRUM_CHANNEL = 10
SUSTAIN_CC = 64
ALL_NOTES_OFF_CC = 123


@dataclass
class MidiNote:
    """One note as read: ticks, key, velocity 1..127, 1-based track, channel and program."""

    on: int
    key: int
    velocity: int
    track: int
    channel: int
    program: int
    off: int = -1


class TempoMap:
    """Ticks to seconds under a list of tempo changes, in exact integer arithmetic.

    ``changes`` are ``(tick, microseconds per beat)``; before the first (and
    with none) the tempo is 500000 us (120 BPM). At one tick the last change
    wins. Seconds at tick T are ``sum of (ticks in each segment * its tempo) /
    (ticks_per_beat * 1e6)``, summed as integers and divided once, so a time
    on the tick grid comes back as the nearest double.
    """

    def __init__(self, changes: Sequence[tuple[int, int]], ticks_per_beat: int) -> None:
        by_tick: dict[int, int] = {0: DEFAULT_TEMPO_US}
        for tick, tempo in sorted(changes, key=lambda c: c[0]):
            by_tick[int(tick)] = int(tempo)
        self.ticks = sorted(by_tick)
        self.tempos = [by_tick[t] for t in self.ticks]
        self.ticks_per_beat = int(ticks_per_beat)
        self.micro_ticks = [0]  # tick * tempo accumulated up to each change
        for k in range(1, len(self.ticks)):
            span = self.ticks[k] - self.ticks[k - 1]
            self.micro_ticks.append(self.micro_ticks[-1] + span * self.tempos[k - 1])

    def seconds(self, tick: int) -> float:
        k = int(np.searchsorted(self.ticks, tick, side="right")) - 1
        total = self.micro_ticks[k] + (int(tick) - self.ticks[k]) * self.tempos[k]
        return total / (self.ticks_per_beat * 1_000_000)


class BadMidi(Exception):
    """Why a file cannot be read as a Standard MIDI File (the reason, without the path)."""


def open_midi(path: str) -> Any:
    """``mido.MidiFile`` of ``path``, or :class:`BadMidi` saying why not."""
    import mido

    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError as error:
        raise BadMidi(error.strerror or str(error)) from None
    if head != b"MThd":
        what = "the file is empty" if not head else "it does not start with MThd"
        raise BadMidi(f"not a Standard MIDI File ({what})")
    try:
        midi = mido.MidiFile(path, clip=False)
    except EOFError:
        raise BadMidi("it ends in the middle of its data (truncated?)") from None
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise BadMidi(str(error).strip().rstrip(".") or type(error).__name__) from None
    if midi.type not in (0, 1, 2):
        raise BadMidi(f"unknown SMF format type {midi.type}")
    if midi.ticks_per_beat < 0 or midi.ticks_per_beat >= 0x8000:  # mido reads it signed
        raise BadMidi("SMPTE time division is not supported (only ticks per beat)")
    if midi.ticks_per_beat == 0:
        raise BadMidi("its header says 0 ticks per beat")
    return midi


def _timeline(
    tracks: Sequence[tuple[int, Any]],
) -> tuple[list[tuple[int, int, Any]], dict[int, int]]:
    """Every message of ``tracks`` ((1-based number, track)) in time order, and each one's end."""
    events = []
    ends = {}
    for number, track in tracks:
        tick = 0
        for index, message in enumerate(track):
            tick += message.time
            events.append((tick, number, index, message))
        ends[number] = tick
    events.sort(key=lambda e: e[:3])
    return [(tick, number, message) for tick, number, _, message in events], ends


class _Reading:
    """The notes of one timeline as they are read, with what went wrong on the way."""

    def __init__(self) -> None:
        self.notes: list[MidiNote] = []
        self.unmatched_offs = 0
        self.unended = 0


def _read_group(
    tracks: Sequence[tuple[int, Any]], ticks_per_beat: int, sustain: bool, reading: _Reading
) -> TempoMap:
    """Add the notes of tracks that share one timeline and one bus; return their tempo map."""
    events, ends = _timeline(tracks)
    tempos = [(tick, m.tempo) for tick, _, m in events if m.type == "set_tempo"]
    program = [1] * 17
    pedal = [False] * 17
    sounding: dict[tuple[int, int, int], list[MidiNote]] = defaultdict(list)
    held: dict[int, list[MidiNote]] = defaultdict(list)  # released while the pedal was down

    def end(note: MidiNote, tick: int) -> None:
        note.off = tick
        reading.notes.append(note)

    def release(note: MidiNote, tick: int) -> None:
        if pedal[note.channel]:
            held[note.channel].append(note)
        else:
            end(note, tick)

    for tick, number, message in events:
        kind = message.type
        if kind in ("note_on", "note_off"):
            channel = message.channel + 1
            key = (number, channel, message.note)
            if kind == "note_on" and message.velocity > 0:
                for note in [n for n in held[channel] if n.key == message.note]:
                    held[channel].remove(note)  # struck again: the sustained sound stops
                    end(note, tick)
                note = MidiNote(
                    tick, message.note, message.velocity, number, channel, program[channel]
                )
                sounding[key].append(note)
            elif sounding[key]:
                release(sounding[key].pop(0), tick)
            else:
                reading.unmatched_offs += 1
        elif kind == "program_change":
            program[message.channel + 1] = message.program + 1
        elif kind == "control_change" and message.control == SUSTAIN_CC and sustain:
            channel = message.channel + 1
            down = message.value >= 64
            if pedal[channel] and not down:
                for note in held.pop(channel, []):
                    end(note, tick)
            pedal[channel] = down
        elif kind == "control_change" and message.control == ALL_NOTES_OFF_CC:
            channel = message.channel + 1
            for key in [k for k in sounding if k[1] == channel]:
                for note in sounding.pop(key):
                    release(note, tick)
    for notes in sounding.values():
        reading.unended += len(notes)
        for note in notes:
            end(note, ends[note.track])
    for notes in held.values():
        for note in notes:
            end(note, max(ends[note.track], note.on))
    return TempoMap(tempos, ticks_per_beat)


@dataclass(frozen=True)
class Selection:
    """Which notes to keep: empty tuples keep all; ``drums`` keeps channel 10 when not named."""

    tracks: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    programs: tuple[int, ...] = ()
    drums: bool = False

    def keeps(self, note: MidiNote) -> bool:
        if self.tracks and note.track not in self.tracks:
            return False
        if self.channels:
            if note.channel not in self.channels:
                return False
        elif note.channel == DRUM_CHANNEL and not self.drums:
            return False
        return not self.programs or note.program in self.programs


def read_notes(path: str, ctx: NodeContext, sustain: bool = True) -> tuple[list, list[str]]:
    """Every note of the file as ``(MidiNote, onset_s, end_s)``, and the warnings to give.

    ``sustain``: a note released while its channel's sustain pedal (CC64 >=
    64) is down sounds until the pedal comes up, or until its key is struck
    again, or the track ends. A file that cannot be read is a ParamError on
    ``path``. One version of a file (its size and time) is read once for
    validation and run together.
    """
    try:
        stat = Path(path).stat()
        if not Path(path).is_file():
            raise BadMidi("not a file")
        timed, warnings = _read_version(path, stat.st_size, stat.st_mtime_ns, sustain)
    except FileNotFoundError:
        reason = "no such file"
    except OSError as error:
        reason = error.strerror or str(error)
    except BadMidi as error:
        reason = str(error)
    else:
        return list(timed), list(warnings)
    message = f"cannot read MIDI file {Path(path).name!r}: {reason}"
    raise ctx.param_error("path", message) from None


@functools.lru_cache(maxsize=16)
def _read_version(path: str, size: int, mtime_ns: int, sustain: bool) -> tuple[tuple, tuple]:
    """:func:`read_notes` for one version of a file; raises :class:`BadMidi`."""
    midi = open_midi(path)
    numbered = list(enumerate(midi.tracks, start=1))
    groups = [[t] for t in numbered] if midi.type == 2 else [numbered]
    reading = _Reading()
    timed = []
    for group in groups:
        first = len(reading.notes)
        tempo = _read_group(group, midi.ticks_per_beat, sustain, reading)
        for note in reading.notes[first:]:
            timed.append((note, tempo.seconds(note.on), tempo.seconds(note.off)))
    late = [t for t in timed if t[2] > MAX_SECONDS]
    if late:
        note, _, end = late[0]
        hours = f"{end / 3600:.3g} h"
        raise BadMidi(f"track {note.track} has an event {hours} in (a corrupt delta time?)")
    warnings = []
    if reading.unended:
        warnings.append(f"{reading.unended} note(s) had no note-off: they end with their track")
    if reading.unmatched_offs:
        warnings.append(f"{reading.unmatched_offs} note-off(s) matched no sounding note: ignored")
    return tuple(timed), tuple(warnings)


def select(timed: list, selection: Selection, a4_hz: float, path: str, ctx: NodeContext) -> Notes:
    """The selected notes as ``Notes``, sorted by onset then key; an error when none is left."""
    chosen = [t for t in timed if selection.keeps(t[0])]
    if not chosen:
        found = sorted({(t[0].track, t[0].channel) for t in timed})
        where = ", ".join(f"track {track} channel {channel}" for track, channel in found)
        if not found:
            raise ctx.param_error("path", f"{Path(path).name!r} holds no notes")
        what = f"it has notes on {where}"
        drums_left_out = not selection.channels and not selection.drums
        if drums_left_out and any(channel == DRUM_CHANNEL for _, channel in found):
            what += " (channel 10, drums, is left out unless drums = true or channels names it)"
        name = "tracks" if selection.tracks else "channels" if selection.channels else "programs"
        raise ctx.param_error(name, f"keeps no notes of {Path(path).name!r}: {what}")
    chosen.sort(key=lambda t: (t[1], t[0].key, t[0].track, t[0].channel))
    onset = np.array([t[1] for t in chosen])
    end = np.array([t[2] for t in chosen])
    velocity = np.array([t[0].velocity for t in chosen], dtype=np.float64) / 127.0
    hz = np.array([midi_to_hz(t[0].key, a4_hz) for t in chosen])
    return Notes(onset, end - onset, hz, velocity)


def _selection(params: Mapping[str, Any]) -> Selection:
    names = ("tracks", "channels", "programs")
    return Selection(*(tuple(params[n]) for n in names), bool(params["drums"]))


def infer_midi(
    inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
) -> dict[str, PortInfo]:
    """(notes,): the file is read and the selection applied here, so a bad file fails validation."""
    timed, _ = read_notes(params["path"], ctx, params["sustain"])
    notes = select(timed, _selection(params), params["a4_hz"], params["path"], ctx)
    return {"out": PortInfo("notes", (notes.onset_s.size,), itemsize=8)}


@node("source.midi", version=1, infer=infer_midi)
def midi(
    *,
    path: InputPath = param(description="a Standard MIDI File (.mid) to read"),
    tracks: list[int] = param(
        [], range=(1, None), description="track numbers to keep, from 1 (all)"
    ),
    channels: list[int] = param([], range=(1, 16), description="MIDI channels to keep (all)"),
    programs: list[int] = param(
        [], range=(1, 128), description="General MIDI programs to keep (all)"
    ),
    drums: bool = param(False, description="keep channel 10 (drums) when channels is empty"),
    sustain: bool = param(True, description="the sustain pedal (CC64) holds released notes"),
    a4_hz: float = param(
        DEFAULT_A4_HZ, unit="Hz", range=(1.0, 20_000.0), description="tuning of key 69 (A4)"
    ),
    ctx: NodeContext,
) -> Notes:
    """The notes of a Standard MIDI File (format 0, 1 or 2), timed by its tempo map.

    Times follow every tempo change of the file exactly (ticks are converted
    in integer arithmetic, segment by segment; in a format 2 file each track
    has its own). A note's frequency is ``a4_hz * 2 ** ((key - 69) / 12)``
    (pitch bend is not applied) and its velocity ``velocity / 127``. A
    note-on of velocity 0 is a note-off; a note-off ends the oldest sounding
    note of its key on the same channel and track; All Notes Off (CC123)
    ends all of its channel's. With ``sustain``, a note released while its
    channel's pedal (CC64 at 64 or more) is down lasts until the pedal comes
    up, or until its key is struck again. Notes still sounding when the
    track ends (with a warning when they never got a note-off) end there.

    ``tracks`` (numbered from 1 in file order), ``channels`` (numbered
    from 1) and ``programs`` (numbered from 1 as in the General MIDI list: the channel's last
    Program Change before the note; 1 without one) select notes; empty
    lists keep all, except that channel 10 (General MIDI drums, unpitched)
    is left out unless ``drums`` is set or ``channels`` names it. Notes are
    sorted by onset, then key. A file that cannot be read, a selection that
    keeps nothing, or an event more than a day in (a corrupt delta time) is
    an error on the parameter, naming the file, before anything runs.

    Example
    -------
        song = {path = "song.mid", channels = [1, 2], sustain = true}
    """
    timed, warnings = read_notes(path, ctx, sustain)
    for warning in warnings:
        ctx.warn(warning)
    selection = Selection(tuple(tracks), tuple(channels), tuple(programs), drums)
    return select(timed, selection, a4_hz, path, ctx)
