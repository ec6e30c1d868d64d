"""File-to-file benchmark: ``graphengine render`` against a pedalboard script, a new process each.

The job is the one users hand to a render farm: a PCM_16 stereo WAV (10 min at
44.1 kHz by default; ``--minutes``) through gain -6 dB -> lowpass 2 kHz ->
delay 250 ms (feedback 0.5, mix 0.5) -> highpass 100 Hz, written as PCM_16.
Each side starts a new Python process, reads the file, processes and writes:

- graphengine: ``python -m graphengine render chain.toml --no-cache -q``;
- pedalboard: a script with ``pedalboard.io.AudioFile`` reading and writing in
  chunks through the same four effects (its filters are first order: less work);
- soundfile copy: read and write the file with soundfile alone, the I/O floor.

Also printed: each process's CPU seconds (user + system: on a shared machine
they vary less than the wall time) and peak resident memory (``ru_maxrss``),
and how far graphengine's file is from the same graph run in memory
(``Graph.run(inputs=...)`` on the decoded file, clipped to full scale), in
PCM_16 steps (target: at most 1). Target (issue "headless render path"):
graphengine >= 1.5x the pedalboard script, wall time. Needs ``pip install
pedalboard`` in the benchmark's environment (not a dependency).

Run: ``python benchmarks/file_to_file.py [--minutes 10]``
"""

from __future__ import annotations

import argparse
import os
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
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
"""

TARGET = 1.5


def timed(args: list[str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of a new process running ``args``.

    A small wrapper process runs it, so the figures are that process's alone.
    Python keeps compiled bytecode, as for an installed copy (under the run's
    temporary folder), and graphengine's node index lives there too.
    """
    env = {**os.environ, "GRAPHENGINE_INDEX_DIR": str(cwd / "index")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cwd / "pycache")
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, cpu, peak = done.stdout.split()
    return float(seconds), float(cpu), float(peak)


def lsb_from_memory(root: Path) -> float:
    """Largest difference, in PCM_16 steps, of graphengine's file from the in-memory run."""
    import soundfile as sf

    import graphengine as ge

    decoded, rate = sf.read(root / "in.wav", dtype="float32", always_2d=True)
    source = ge.Audio(np.ascontiguousarray(decoded.T), rate)
    graph = ge.load(root / "chain.toml")
    memory = graph.run(outputs=["hp"], cache=False, inputs={"src": source})["hp"].samples
    written, _ = sf.read(root / "out_engine.wav", dtype="float32", always_2d=True)
    return float(np.max(np.abs(written.T - np.clip(memory, -1, 1))) * 32768)


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
        copy_args = [python, "-c", COPY]
        pedalboard_args = [python, "-c", PEDALBOARD]
        # each once first: numba's disk cache and the bytecode warm, as on a machine in use
        timed(engine_args, root)
        timed(copy_args, root)
        rows = [
            ("soundfile read + write (floor)", *timed(copy_args, root)),
            ("graphengine render", *timed(engine_args, root)),
        ]
        try:
            timed(pedalboard_args, root)
            rows.append(("pedalboard AudioFile script", *timed(pedalboard_args, root)))
        except subprocess.CalledProcessError:
            rows.append(("pedalboard (not installed)", float("nan"), float("nan"), float("nan")))
        audio_s = frames / SR
        engine_s, engine_cpu = rows[1][1], rows[1][2]
        print(f"{minutes:g} min stereo PCM_16 WAV, file to file, a new process each")
        print(
            f"{'process':34} {'s':>7} {'x realtime':>11} {'engine speed-up':>16} "
            f"{'CPU s':>6} {'CPU speed-up':>13} {'MiB':>6}"
        )
        for name, seconds, cpu, peak in rows:
            print(
                f"{name:34} {seconds:7.2f} {audio_s / seconds:11.0f} "
                f"{seconds / engine_s:16.2f} {cpu:6.2f} {cpu / engine_cpu:13.2f} {peak:6.0f}"
            )
        print("engine speed-up = that process's time / graphengine's (>1: graphengine is faster)")
        ratio = rows[2][1] / engine_s
        verdict = "ok" if ratio >= TARGET else "under"
        print(f"target: graphengine >= {TARGET}x pedalboard (wall): {ratio:.2f}x {verdict}")
        lsb = lsb_from_memory(root)
        verdict = "ok" if lsb <= 1 else "over"
        print(f"graphengine's file vs the in-memory run: {lsb:.2f} PCM_16 steps at most {verdict}")


if __name__ == "__main__":
    main()
