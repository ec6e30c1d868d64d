"""File-to-file benchmark: ``graphengine render`` against a pedalboard script, a new process each.

The job is the one users hand to a render farm: a PCM_16 stereo WAV (10 min at
44.1 kHz by default; ``--minutes``) through gain -6 dB -> lowpass 2 kHz ->
delay 250 ms (feedback 0.5, mix 0.5) -> highpass 100 Hz, written as PCM_16.
Each side starts a new Python process, reads the file, processes and writes:

- graphengine: ``python -m graphengine render chain.toml --no-cache -q``;
- pedalboard: a script with ``pedalboard.io.AudioFile`` reading and writing in
  chunks through the same four effects (its filters are first order: less work);
- soundfile copy: read and write the file with soundfile alone, the I/O floor.

Also printed: the peak resident memory of each process (``ru_maxrss``). Needs
``pip install pedalboard`` in the benchmark's environment (not a dependency).

Run: ``python benchmarks/file_to_file.py [--minutes 10]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SR = 44100

GRAPH = """
sample_rate = 44100
[nodes.src]
type = "source.file"
path = "in.wav"
[nodes.gain]
type = "effect.gain"
in = "src"
gain_db = -6.0
[nodes.lp]
type = "filter.biquad"
in = "gain"
cutoff_hz = 2000.0
[nodes.delay]
type = "effect.delay"
in = "lp"
time_ms = 250.0
feedback = 0.5
mix = 0.5
[nodes.hp]
type = "filter.biquad"
in = "delay"
mode = "highpass"
cutoff_hz = 100.0
[nodes.out]
type = "sink.wav"
in = "hp"
path = "out_engine.wav"
subtype = "PCM_16"
"""

PEDALBOARD = """
from pedalboard import Delay, Gain, HighpassFilter, LowpassFilter, Pedalboard
from pedalboard.io import AudioFile

effects = [Gain(-6.0), LowpassFilter(2000.0), Delay(0.25, 0.5, 0.5), HighpassFilter(100.0)]
board = Pedalboard(effects)
with AudioFile("in.wav") as f, AudioFile(
    "out_pb.wav", "w", f.samplerate, f.num_channels, bit_depth=16
) as o:
    while f.tell() < f.frames:
        chunk = f.read(65536)
        o.write(board(chunk, f.samplerate, reset=False))
"""

COPY = """
import soundfile as sf
data, rate = sf.read("in.wav", dtype="int16")
sf.write("out_copy.wav", data, rate, subtype="PCM_16")
"""


MEASURE = """
import resource, subprocess, sys, time
started = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, capture_output=True)
seconds = time.perf_counter() - started
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def timed(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a new process running ``args``.

    A small wrapper process runs it, so the peak is that process's alone.
    """
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *args], cwd=cwd, check=True, capture_output=True, text=True
    )
    seconds, peak = done.stdout.split()
    return float(seconds), float(peak)


def main() -> None:
    import soundfile as sf

    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    minutes = parser.parse_args().minutes
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        frames = int(minutes * 60 * SR)
        noise = np.random.default_rng(0).uniform(-0.5, 0.5, (frames, 2)).astype(np.float32)
        sf.write(root / "in.wav", noise, SR, subtype="PCM_16")
        (root / "chain.toml").write_text(GRAPH)
        python = sys.executable
        engine_args = [python, "-m", "graphengine", "render", "chain.toml", "--no-cache", "-q"]
        timed(engine_args, root)  # warm numba's disk cache, as on a machine in use
        rows = [
            ("soundfile read + write (floor)", *timed([python, "-c", COPY], root)),
            ("graphengine render", *timed(engine_args, root)),
        ]
        try:
            rows.append(("pedalboard AudioFile script", *timed([python, "-c", PEDALBOARD], root)))
        except subprocess.CalledProcessError:
            rows.append(("pedalboard (not installed)", float("nan"), float("nan")))
        audio_s = frames / SR
        engine_s = rows[1][1]
        print(f"{minutes:g} min stereo PCM_16 WAV, file to file, a new process each")
        print(f"{'process':34} {'s':>7} {'x realtime':>11} {'engine speed-up':>16} {'MiB':>6}")
        for name, seconds, peak in rows:
            print(
                f"{name:34} {seconds:7.2f} {audio_s / seconds:11.0f} "
                f"{seconds / engine_s:16.2f} {peak:6.0f}"
            )
        print("engine speed-up = that process's time / graphengine's (>1: graphengine is faster)")


if __name__ == "__main__":
    main()
