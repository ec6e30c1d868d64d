"""source.midi against files built here with mido and timed by mido's own playback."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest
from node_harness import make_ctx, run_node

import graphengine as ge
from nodes.source.midi import midi as source_midi

TPB = 480


def note(kind, key, velocity=0, time=0, channel=0):
    return mido.Message(kind, note=key, velocity=velocity, time=time, channel=channel)


def tempo_changing_song(path: Path) -> None:
    """Format 1: a conductor track with three tempos, two instrument tracks on channels 1 and 2."""
    smf = mido.MidiFile(type=1, ticks_per_beat=TPB)
    conductor = mido.MidiTrack(
        [
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100), time=0),
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60), time=4 * TPB),
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(150), time=3 * TPB + 240),
        ]
    )
    melody = mido.MidiTrack([mido.Message("program_change", program=40, channel=0)])
    for k, key in enumerate([60, 62, 64, 65, 67, 69, 71, 72, 74, 76]):
        melody.append(note("note_on", key, 40 + 8 * k, time=0 if k == 0 else 3 * TPB // 4))
        melody.append(note("note_off", key, time=TPB // 4))
    bass = mido.MidiTrack([mido.Message("program_change", program=32, channel=1)])
    for k, key in enumerate([36, 43, 41, 38]):
        bass.append(note("note_on", key, 100, time=(TPB // 2) if k == 0 else TPB, channel=1))
        bass.append(note("note_on", key, 0, time=TPB, channel=1))  # velocity 0: a note-off
    smf.tracks += [conductor, melody, bass]
    smf.save(path)


def mido_playback(path: Path):
    """(onset s, key, channel, velocity) of every note-on, from mido's own tempo-aware playback."""
    now, found = 0.0, []
    for message in mido.MidiFile(path):
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            found.append((now, message.note, message.channel + 1, message.velocity))
    return sorted(found, key=lambda f: (f[0], f[1]))


def read(path: Path, **params):
    ctx = make_ctx("source.midi")
    return run_node(source_midi, ctx, path=str(path), **params), ctx


def test_onsets_follow_the_tempo_map_as_mido_plays_it(tmp_path: Path) -> None:
    path = tmp_path / "song.mid"
    tempo_changing_song(path)
    notes, ctx = read(path)
    expected = mido_playback(path)
    assert notes.onset_s.size == len(expected) == 14
    np.testing.assert_allclose(notes.onset_s, [e[0] for e in expected], rtol=0, atol=1e-12)
    keys = 69 + 12 * np.log2(notes.frequency_hz / 440.0)
    np.testing.assert_allclose(keys, [e[1] for e in expected], atol=1e-9)
    np.testing.assert_allclose(notes.velocity, [e[3] / 127 for e in expected], atol=1e-15)

    # the same from the tempo map written out by hand: 100 BPM for 4 beats, 60 for 3.5, then 150
    def seconds(tick):
        beats = tick / TPB
        if beats <= 4:
            return beats * 0.6
        if beats <= 7.5:
            return 2.4 + (beats - 4) * 1.0
        return 2.4 + 3.5 + (beats - 7.5) * 0.4

    melody_ticks = [k * TPB for k in range(10)]
    melody = notes.onset_s[np.isin(np.round(keys), [60, 62, 64, 65, 67, 69, 71, 72, 74, 76])]
    np.testing.assert_allclose(melody, [seconds(t) for t in melody_ticks], atol=1e-12)
    durations = notes.duration_s[np.argsort(notes.onset_s, kind="stable")]
    assert np.all(durations > 0)
    assert ctx.warnings == []


def test_a_multi_track_file_renders_through_a_synth_voice_with_onsets_where_the_tempo_map_says(
    tmp_path: Path,
) -> None:
    path = tmp_path / "song.mid"
    tempo_changing_song(path)
    rate = 22050
    graph = ge.Graph(sample_rate=rate)
    graph.add("song", "source.midi", path=str(path), tracks=[2])
    graph.add("voice", "synth.osc", in_="song", waveform="sine", attack_ms=0, release_ms=1)
    audio = graph.run(outputs=["voice"], cache=False)["voice"].samples[0]
    onsets = [e[0] for e in mido_playback(path) if e[2] == 1]
    # each melody note sounds 1/4 beat, then silence: its first non-zero sample follows the onset
    nonzero = np.abs(audio) > 0
    starts = np.flatnonzero(nonzero & ~np.concatenate([[False], nonzero[:-1]]))
    np.testing.assert_array_equal(starts - 1, np.round(np.array(onsets) * rate).astype(int))


def test_tracks_channels_programs_and_drums_select(tmp_path: Path) -> None:
    path = tmp_path / "song.mid"
    tempo_changing_song(path)
    smf = mido.MidiFile(path)
    smf.tracks.append(
        mido.MidiTrack(
            [note("note_on", 38, 90, channel=9), note("note_off", 38, time=10, channel=9)]
        )
    )
    smf.save(path)
    assert read(path)[0].onset_s.size == 14  # drums left out
    assert read(path, drums=True)[0].onset_s.size == 15
    assert read(path, channels=[10])[0].onset_s.size == 1
    assert read(path, tracks=[3])[0].onset_s.size == 4
    assert read(path, channels=[1])[0].onset_s.size == 10
    assert read(path, programs=[33])[0].onset_s.size == 4  # GM 33, program byte 32: the bass
    with pytest.raises(
        ge.ParamError, match=r"keeps no notes of 'song.mid': it has notes on track 2"
    ):
        read(path, programs=[41], channels=[2])


def pedal_file(path: Path) -> None:
    """C4 released under the pedal, E4 struck again under it, then the pedal comes up."""
    cc = lambda value, time: mido.Message("control_change", control=64, value=value, time=time)  # noqa: E731
    track = mido.MidiTrack(
        [
            note("note_on", 60, 100),  # 0
            cc(127, 10),  # pedal down at 10
            note("note_off", 60, time=90),  # C4 released at 100: held
            note("note_on", 64, 80, time=100),  # E4 at 200
            note("note_off", 64, time=100),  # released at 300: held
            note("note_on", 64, 70, time=100),  # E4 again at 400: the held E4 ends here
            note("note_off", 64, time=50),  # 450: held
            cc(0, 150),  # pedal up at 600: C4 and the second E4 end
        ]
    )
    smf = mido.MidiFile(type=0, ticks_per_beat=100)  # 120 BPM: one tick is 5 ms
    smf.tracks.append(track)
    smf.save(path)


def test_the_sustain_pedal_holds_released_notes_until_it_comes_up(tmp_path: Path) -> None:
    path = tmp_path / "pedal.mid"
    pedal_file(path)
    notes, _ = read(path)
    ends = notes.onset_s + notes.duration_s
    np.testing.assert_allclose(notes.onset_s, [0.0, 1.0, 2.0], atol=1e-12)
    np.testing.assert_allclose(ends, [3.0, 2.0, 3.0], atol=1e-12)
    dry, _ = read(path, sustain=False)
    np.testing.assert_allclose(dry.onset_s + dry.duration_s, [0.5, 1.5, 2.25], atol=1e-12)


def test_format_2_tracks_keep_their_own_tempo(tmp_path: Path) -> None:
    path = tmp_path / "two.mid"
    smf = mido.MidiFile(type=2, ticks_per_beat=TPB)
    for bpm in (60, 120):
        smf.tracks.append(
            mido.MidiTrack(
                [
                    mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)),
                    note("note_on", 60, 64, time=TPB),
                    note("note_off", 60, time=TPB),
                ]
            )
        )
    smf.save(path)
    notes, _ = read(path)
    np.testing.assert_allclose(notes.onset_s, [0.5, 1.0])
    np.testing.assert_allclose(notes.duration_s, [0.5, 1.0])


def test_notes_without_note_off_end_with_their_track_and_say_so(tmp_path: Path) -> None:
    path = tmp_path / "open.mid"
    smf = mido.MidiFile(type=0, ticks_per_beat=TPB)
    smf.tracks.append(mido.MidiTrack([note("note_on", 60, 64), note("note_off", 61, time=TPB)]))
    smf.tracks[0].append(mido.MetaMessage("end_of_track", time=TPB))
    smf.save(path)
    notes, ctx = read(path)
    np.testing.assert_allclose(notes.duration_s, [1.0])
    assert any("no note-off" in w for w in ctx.warnings)
    assert any("matched no sounding note" in w for w in ctx.warnings)


def test_a4_tunes_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "pedal.mid"
    pedal_file(path)
    notes, _ = read(path, a4_hz=432.0)
    np.testing.assert_allclose(notes.frequency_hz[0], 432.0 * 2 ** (-9 / 12))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a Standard MIDI File (it does not start with MThd)"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\x10\x00\x90", "truncated"),
        (b"", "not a Standard MIDI File (the file is empty)"),
        (b"MThd\x00\x00", "truncated"),
        ("late", "corrupt delta time"),
        (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\xe7\x28MTrk\x00\x00\x00\x04\x00\xff/\x00", "SMPTE"),
    ],
    ids=["not-midi", "truncated", "empty", "header-cut", "late", "smpte"],
)
def test_a_bad_file_is_an_error_naming_the_graph_file_node_and_parameter(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    if content == "late":  # a delta time of 2**28 - 1 ticks: 3.2 days at 120 BPM
        smf = mido.MidiFile(type=0, ticks_per_beat=TPB)
        smf.tracks.append(
            mido.MidiTrack([note("note_on", 60, 64), note("note_off", 60, time=2**28 - 1)])
        )
        smf.save(tmp_path / "song.mid")
    else:
        (tmp_path / "song.mid").write_bytes(content)
    graph_file = tmp_path / "render.toml"
    graph_file.write_text(
        'format = 1\n[nodes.score]\ntype = "source.midi"\npath = "song.mid"\n'
        '[nodes.voice]\ntype = "synth.osc"\nin = "score"\n'
    )
    with pytest.raises(ge.GraphError) as caught:
        ge.load(graph_file).validate()
    message = str(caught.value)
    assert "render.toml" in message and "score.path" in message and "[source.midi]" in message
    assert "cannot read MIDI file 'song.mid'" in message and reason in message


def test_a_file_without_notes_is_an_error_on_path(tmp_path: Path) -> None:
    smf = mido.MidiFile(type=0)
    smf.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=400000)]))
    smf.save(tmp_path / "silent.mid")
    with pytest.raises(ge.ParamError, match=r"path \[source.midi\]: 'silent.mid' holds no notes"):
        read(tmp_path / "silent.mid")
