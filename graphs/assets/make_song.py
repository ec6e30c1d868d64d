"""Write graphs/assets/song.mid, the small multi-track MIDI file graphs/midi_song.toml renders.

Run from the repository root: ``python graphs/assets/make_song.py``. The file
(format 1, 480 ticks per beat) holds a conductor track that starts at 96 BPM,
slows to 72 BPM for the fourth bar and ends at 108 BPM; a melody on channel 1
(program 25, nylon guitar) with the sustain pedal down over bar 3; a bass
line on channel 2 (program 33); and a hi-hat on channel 10, which
source.midi leaves out unless asked (drums are unpitched).
"""

from __future__ import annotations

from pathlib import Path

import mido

TPB = 480
MELODY = [  # (key, beats) per bar of 4/4; key None is a rest
    [(64, 1), (67, 1), (72, 1.5), (71, 0.5)],
    [(69, 1), (67, 1), (64, 2)],
    [(65, 0.5), (69, 0.5), (72, 0.5), (77, 0.5), (76, 1), (72, 1)],
    [(74, 1.5), (71, 0.5), (67, 2)],
    [(72, 4)],
]
BASS = [[(48, 2), (55, 2)], [(45, 2), (52, 2)], [(41, 2), (48, 2)], [(43, 2), (50, 2)], [(36, 4)]]


def line(notes: list[list[tuple[int | None, float]]], channel: int, program: int, velocity: int):
    track = mido.MidiTrack([mido.Message("program_change", channel=channel, program=program)])
    wait = 0
    for bar, steps in enumerate(notes):
        for key, beats in steps:
            ticks = round(beats * TPB)
            pedal = channel == 0 and bar == 2
            if pedal and key == steps[0][0]:
                track.append(
                    mido.Message(
                        "control_change", channel=channel, control=64, value=127, time=wait
                    )
                )
                wait = 0
            track.append(
                mido.Message("note_on", channel=channel, note=key, velocity=velocity, time=wait)
            )
            track.append(mido.Message("note_off", channel=channel, note=key, time=ticks * 3 // 4))
            wait = ticks - ticks * 3 // 4
            velocity = max(40, min(120, velocity + (7 if bar % 2 == 0 else -5)))
        if channel == 0 and bar == 2:
            track.append(
                mido.Message("control_change", channel=channel, control=64, value=0, time=wait)
            )
            wait = 0
    return track


def main() -> None:
    smf = mido.MidiFile(type=1, ticks_per_beat=TPB)
    smf.tracks.append(
        mido.MidiTrack(
            [
                mido.MetaMessage("track_name", name="conductor"),
                mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(96)),
                mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(72), time=12 * TPB),
                mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(108), time=4 * TPB),
            ]
        )
    )
    smf.tracks.append(line(MELODY, 0, 24, 80))
    smf.tracks.append(line(BASS, 1, 32, 90))
    hats = mido.MidiTrack()
    for beat in range(16):
        hats.append(
            mido.Message(
                "note_on", channel=9, note=42, velocity=60, time=0 if beat == 0 else TPB - 60
            )
        )
        hats.append(mido.Message("note_off", channel=9, note=42, time=60))
    smf.tracks.append(hats)
    smf.save(Path(__file__).with_name("song.mid"))


if __name__ == "__main__":
    main()
