"""sink.midi: notes written to a Standard MIDI File, for a DAW or a MIDI player."""

from __future__ import annotations

import itertools

import numpy as np

from graphengine.node import NodeContext, OutputPath, node, param
from graphengine.pitch import DEFAULT_A4_HZ
from graphengine.types import Notes
from nodes.sink.audio import writing

OFF_PITCH_CENTS = 0.01
"""A frequency further than this from an equal-tempered key is reported as rounded."""


def check_notes(notes: Notes, ctx: NodeContext) -> None:
    """Refuse non-finite values, negative onsets and durations, non-positive frequencies."""
    for name in ("onset_s", "duration_s", "frequency_hz", "velocity"):
        values = getattr(notes, name)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ctx.port_error("in", f"note {bad[0] + 1} has a non-finite {name}")
    for mask, what in (
        (notes.onset_s < 0, "starts before 0 s"),
        (notes.duration_s < 0, "has a negative duration"),
        (notes.frequency_hz <= 0, "has a frequency not above 0 Hz"),
    ):
        bad = np.flatnonzero(mask)
        if bad.size:
            raise ctx.port_error("in", f"note {bad[0] + 1} {what}")


def midi_keys(notes: Notes, a4_hz: float, ctx: NodeContext) -> tuple[np.ndarray, float, int]:
    """The nearest key of each note, the largest deviation in cents, and how many deviate."""
    exact = 69.0 + 12.0 * np.log2(notes.frequency_hz / a4_hz)
    keys = np.round(exact).astype(np.int64)
    outside = np.flatnonzero((keys < 0) | (keys > 127))
    if outside.size:
        k = outside[0]
        message = (
            f"note {k + 1} ({notes.frequency_hz[k]:g} Hz) is outside the MIDI keys 0-127 "
            f"({a4_hz * 2 ** (-69 / 12):.4g} to {a4_hz * 2 ** (58 / 12):.5g} Hz)"
        )
        raise ctx.port_error("in", message)
    cents = 100.0 * np.abs(exact - keys)
    return keys, float(cents.max(initial=0.0)), int(np.sum(cents > OFF_PITCH_CENTS))


@node("sink.midi", version=1)
def midi(
    in_: Notes,
    *,
    path: OutputPath = param(suffix=".mid", description="the MIDI file to write"),
    tempo_bpm: float = param(
        120.0, unit="BPM", range=(4.0, 60_000_000.0), description="tempo stored in the file"
    ),
    ticks_per_beat: int = param(960, range=(1, 32767), description="time resolution"),
    channel: int = param(1, range=(1, 16), description="MIDI channel of every note"),
    program: int = param(1, range=(1, 128), description="General MIDI program (1: piano)"),
    a4_hz: float = param(
        DEFAULT_A4_HZ, unit="Hz", range=(1.0, 20_000.0), description="tuning of key 69 (A4)"
    ),
    ctx: NodeContext,
) -> None:
    """Write notes to a Standard MIDI File (format 0: one track, one tempo).

    The file holds a tempo of ``round(60e6 / tempo_bpm)`` microseconds per
    beat and ``ticks_per_beat`` ticks per beat, so one tick is ``tempo /
    ticks_per_beat`` seconds (1/1920 s at the defaults); onsets and note ends
    are rounded to the nearest tick. Each note becomes a note-on and a
    note-off on ``channel`` after a Program Change to ``program`` (numbered
    1-128 as in the General MIDI list), with key ``round(69 + 12 log2(f /
    a4_hz))`` and velocity ``round(127 velocity)`` (at least 1, since 0 would
    be a note-off). A frequency off an equal-tempered key by more than 0.01
    cent is written at the nearest key, with a warning (MIDI notes have no
    finer pitch); a note outside keys 0-127 is an error. When two notes of
    one key overlap, the earlier one ends where the later starts (a MIDI
    key sounds once), with a warning. At one tick note-offs come before
    note-ons, so repeated notes stay separate.

    What ``source.midi`` reads back from the file is exactly what was
    written, for notes on the tick grid, with velocities that are multiples
    of 1/127 and frequencies on equal-tempered keys.

    Example
    -------
        score = {in = "melody", path = "out/melody.mid", tempo_bpm = 90}
    """
    import mido

    check_notes(in_, ctx)
    tempo = max(1, min(0xFFFFFF, round(60_000_000 / tempo_bpm)))
    ticks_per_second = ticks_per_beat * 1_000_000 / tempo
    keys, worst_cents, off_pitch = midi_keys(in_, a4_hz, ctx)
    if off_pitch:
        ctx.warn(
            f"{off_pitch} note(s) are off the equal-tempered keys (by up to {worst_cents:.3g} "
            "cents) and were written at the nearest key"
        )
    on = np.round(in_.onset_s * ticks_per_second).astype(np.int64)
    off = np.round((in_.onset_s + in_.duration_s) * ticks_per_second).astype(np.int64)
    off = np.maximum(off, on)
    velocity = np.clip(np.round(np.clip(in_.velocity, 0.0, 1.0) * 127), 1, 127).astype(np.int64)
    cut = 0
    by_key = np.lexsort((on, keys))
    for first, second in itertools.pairwise(by_key):
        if keys[first] == keys[second] and off[first] > on[second]:
            off[first] = on[second]
            cut += 1
    if cut:
        ctx.warn(f"{cut} note(s) overlapped a later note of the same key and end where it starts")
    # at one tick: note-offs of sounding notes, then note-ons, then offs of zero-length notes
    events = [(int(t), 1, int(k), int(v)) for t, k, v in zip(on, keys, velocity, strict=True)]
    events += [
        (int(t), 2 if t == start else 0, int(k), 0)
        for t, start, k in zip(off, on, keys, strict=True)
    ]
    events.sort()
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    track.append(mido.Message("program_change", channel=channel - 1, program=program - 1, time=0))
    now = 0
    for tick, order, key, vel in events:
        kind = "note_on" if order == 1 else "note_off"
        track.append(
            mido.Message(kind, channel=channel - 1, note=key, velocity=vel, time=tick - now)
        )
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    smf = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
    smf.tracks.append(track)
    with writing(path, ctx):
        smf.save(path)
