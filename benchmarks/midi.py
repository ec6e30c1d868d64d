"""Real MIDI files through source.midi and the synth voices, checked against mido's own player.

Run as a script::

    python benchmarks/midi.py [--render 3]

The files are the ten multi-track songs of Debian's ``planetblupi-music-midi``
(fetched once with ``apt-get download`` into ``$GRAPHENGINE_BENCH_DATA``,
default ``~/.cache/graphengine/bench``, never into the repository). For each:

- notes: what source.midi reads (all channels, drums included, pedal off so
  every note ends at its own note-off) against the note-ons mido's playback
  (``for message in MidiFile(path)``, which applies the tempo map itself)
  yields; the onset column is the largest difference between the two, in
  seconds (ours is integer arithmetic, mido's a running float sum);
- end: the last note end against ``MidiFile.length``;
- tempos: how many tempo changes the file holds;
- read: time to read the file with source.midi (mido parse included).

Then the first ``--render`` files are rendered through the graph
source.midi (pitched channels, pedal on) -> synth.pluck at 44.1 kHz, with
the render time as x realtime.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import mido
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from debian_data import package_root

import graphengine as ge
from graphengine.node import NodeContext
from nodes.source.midi import midi as source_midi

PACKAGE = "planetblupi-music-midi"
FOLDER = "usr/share/planetblupi/music"


def fetch_songs() -> list[Path]:
    """The package's .mid files, downloading and unpacking it the first time."""
    return sorted((package_root(PACKAGE) / FOLDER).glob("*.mid"))


def mido_onsets(path: Path) -> tuple[np.ndarray, float, int]:
    """Note-on times (s) from mido's playback, the file's length, and its tempo changes."""
    smf = mido.MidiFile(path)
    now, onsets = 0.0, []
    for message in smf:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            onsets.append(now)
    tempos = sum(m.type == "set_tempo" for track in smf.tracks for m in track)
    return np.sort(np.array(onsets)), smf.length, tempos


def read(path: Path, **params):
    ctx = NodeContext("song", "source.midi", 44100.0, Path("."))
    defaults = {p.name: p.default for p in source_midi.spec.params if not p.required}
    return source_midi.spec.function(ctx=ctx, **(defaults | {"path": str(path)} | params))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--render", type=int, default=3, help="files to render through a voice")
    args = parser.parse_args()
    try:
        songs = fetch_songs()
    except (OSError, subprocess.CalledProcessError, StopIteration) as error:
        print(f"could not fetch {PACKAGE} ({error}); nothing to measure")
        return
    header = (
        f"{'file':<14} {'tracks':>6} {'tempos':>6} {'notes':>6} {'mido':>6} "
        f"{'onset err s':>12} {'end s':>8} {'mido len s':>10} {'read ms':>8}"
    )
    print(header)
    for path in songs:
        start = time.perf_counter()
        notes = read(path, drums=True, sustain=False)
        took = time.perf_counter() - start
        theirs, length, tempos = mido_onsets(path)
        ours = np.sort(notes.onset_s)
        error = float(np.abs(ours - theirs).max()) if ours.size == theirs.size else float("nan")
        end = float(np.max(notes.onset_s + notes.duration_s))
        tracks = len(mido.MidiFile(path).tracks)
        print(
            f"{path.name:<14} {tracks:>6} {tempos:>6} {ours.size:>6} {theirs.size:>6} "
            f"{error:>12.1e} {end:>8.2f} {length:>10.2f} {took * 1000:>8.1f}"
        )
    print()
    print(f"{'render (pluck)':<14} {'notes':>6} {'audio s':>8} {'peak':>6} {'x realtime':>11}")
    for path in songs[: args.render]:
        graph = ge.Graph(sample_rate=44100)
        graph.add("song", "source.midi", path=str(path))
        graph.add("voice", "synth.pluck", in_="song", amplitude=0.1, decay_s=1.5)
        start = time.perf_counter()
        audio = graph.run(outputs=["voice"], cache=False)["voice"]
        took = time.perf_counter() - start
        count = read(path).onset_s.size
        peak = float(np.abs(audio.samples).max())
        print(
            f"{path.name:<14} {count:>6} {audio.duration_s:>8.1f} {peak:>6.2f} "
            f"{audio.duration_s / took:>11.0f}"
        )


if __name__ == "__main__":
    main()
