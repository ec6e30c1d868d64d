"""sink.midi: what mido reads from the file, and the exact round trip through source.midi."""

from __future__ import annotations

import itertools
from pathlib import Path

import mido
import numpy as np
import pytest
from node_harness import make_ctx, run_node

import graphengine as ge
from graphengine.types import Notes
from nodes.sink.midi import midi as sink_midi
from nodes.source.midi import midi as source_midi

TICKS_PER_S = 1920  # the defaults: 120 BPM, 960 ticks per beat


def grid_notes(seed: int = 0, count: int = 60) -> Notes:
    """Random notes that MIDI holds exactly: keys, velocities k/127, onsets and ends on ticks.

    A time on the grid is the double nearest to ``tick / 1920`` s; a duration is end - onset.
    """
    rng = np.random.default_rng(seed)
    keys = rng.integers(21, 109, count)
    on = rng.integers(0, 20000, count)
    off = on + rng.integers(0, 3000, count)
    velocity = rng.integers(1, 128, count) / 127
    # one note per key at a time: MIDI sounds a key once
    order = np.lexsort((on, keys))
    for a, b in itertools.pairwise(order):
        if keys[a] == keys[b] and off[a] > on[b]:
            off[a] = on[b]
    onset = on / TICKS_PER_S
    return Notes(onset, off / TICKS_PER_S - onset, 440.0 * 2.0 ** ((keys - 69) / 12), velocity)


def write(notes: Notes, path: Path, **params):
    ctx = make_ctx("sink.midi")
    run_node(sink_midi, ctx, notes, path=str(path), **params)
    return ctx


def test_the_file_holds_the_notes_as_mido_reads_them(tmp_path: Path) -> None:
    notes = grid_notes()
    path = tmp_path / "out.mid"
    write(notes, path, tempo_bpm=90, ticks_per_beat=480, channel=3, program=25)
    smf = mido.MidiFile(path)
    assert smf.type == 0 and smf.ticks_per_beat == 480
    tick, ons, offs = 0, [], []
    for message in smf.tracks[0]:
        tick += message.time
        if message.type == "set_tempo":
            assert message.tempo == round(60e6 / 90)
        elif message.type == "program_change":
            assert (message.channel, message.program) == (2, 24)
        elif message.type == "note_on":
            ons.append((tick, message.note, message.velocity, message.channel))
        elif message.type == "note_off":
            offs.append((tick, message.note))
    ticks_per_s = 480 / (round(60e6 / 90) / 1e6)
    keys = np.round(69 + 12 * np.log2(notes.frequency_hz / 440)).astype(int)
    want = sorted(
        (round(t * ticks_per_s), int(k), round(v * 127), 2)
        for t, k, v in zip(notes.onset_s, keys, notes.velocity, strict=True)
    )
    assert sorted(ons) == want
    ends = notes.onset_s + notes.duration_s
    assert sorted(offs) == sorted(
        (round(e * ticks_per_s), int(k)) for e, k in zip(ends, keys, strict=True)
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_notes_sink_midi_source_midi_round_trip_is_exact(tmp_path: Path, seed: int) -> None:
    notes = grid_notes(seed)
    path = tmp_path / "trip.mid"
    ctx = write(notes, path)
    assert ctx.warnings == []
    back = run_node(source_midi, make_ctx("source.midi"), path=str(path))
    order = np.lexsort((notes.frequency_hz, notes.onset_s))
    np.testing.assert_array_equal(back.onset_s, notes.onset_s[order])
    np.testing.assert_array_equal(back.duration_s, notes.duration_s[order])
    np.testing.assert_array_equal(back.velocity, notes.velocity[order])
    np.testing.assert_allclose(back.frequency_hz, notes.frequency_hz[order], rtol=1e-15)


def test_a_graph_of_chords_round_trips_through_the_file(tmp_path: Path) -> None:
    graph = ge.Graph()
    graph.add("chords", "notes.progression", chords="I vi IV V7 I", key="D4", tempo_bpm=96)
    graph.add("score", "sink.midi", in_="chords", path=str(tmp_path / "chords.mid"), tempo_bpm=96)
    result = graph.run(cache=False)
    assert result.outputs == [tmp_path / "chords.mid"]
    assert (tmp_path / "chords.mid.graph.json").is_file()
    assert not [p for p in tmp_path.iterdir() if "graphengine-tmp" in p.name]
    original = graph.run(outputs=["chords"], cache=False)["chords"]
    back = run_node(source_midi, make_ctx("source.midi"), path=str(tmp_path / "chords.mid"))
    order = np.lexsort((original.frequency_hz, original.onset_s))
    ticks = lambda s: np.round(s * 960 / 0.625)  # noqa: E731  96 BPM: 0.625 s per beat
    np.testing.assert_array_equal(ticks(back.onset_s), ticks(original.onset_s[order]))
    np.testing.assert_allclose(back.onset_s, original.onset_s[order], atol=1e-12)
    np.testing.assert_allclose(back.duration_s, original.duration_s[order], atol=1e-12)
    np.testing.assert_allclose(back.frequency_hz, original.frequency_hz[order], rtol=1e-12)
    np.testing.assert_allclose(back.velocity, np.round(original.velocity[order] * 127) / 127)


def test_off_key_pitches_are_rounded_with_a_warning_and_out_of_range_ones_refused(
    tmp_path: Path,
) -> None:
    quarter = Notes([0.0, 0.5], [0.5, 0.5], [440.0, 440.0 * 2 ** (0.5 / 12)], [1.0, 1.0])
    ctx = write(quarter, tmp_path / "q.mid")
    assert any("off the equal-tempered keys (by up to 50 cents)" in w for w in ctx.warnings)
    with pytest.raises(ge.PortError, match=r"note 1 \(15000 Hz\) is outside the MIDI keys 0-127"):
        write(Notes([0.0], [1.0], [15000.0], [1.0]), tmp_path / "high.mid")


def test_overlapping_notes_of_one_key_are_cut_where_the_next_starts(tmp_path: Path) -> None:
    notes = Notes([0.0, 0.25], [1.0, 0.25], [440.0, 440.0], [0.5, 0.5])
    ctx = write(notes, tmp_path / "o.mid")
    assert any("overlapped a later note" in w for w in ctx.warnings)
    back = run_node(source_midi, make_ctx("source.midi"), path=str(tmp_path / "o.mid"))
    np.testing.assert_allclose(back.onset_s, [0.0, 0.25])
    np.testing.assert_allclose(back.duration_s, [0.25, 0.25])
