"""Streaming benchmark: an effect chain over 10 minutes of stereo, and an hour in bounded memory.

The chain is gain(-6 dB) -> lowpass 2 kHz -> delay 250 ms feedback 0.5 -> highpass 100 Hz
on 10 minutes of stereo 44.1 kHz noise, in one process:

- engine: the chain as a graph, the input fed from Python, the output asked for;
- pedalboard: Gain, LowpassFilter, Delay, HighpassFilter (if installed);
- scipy: sosfilt for the filters and a vectorised feedback delay;
- sox: the same chain file to file (if the ``sox`` command is installed).

Each is reported as a realtime factor (seconds of audio per second) and the
engine's speed relative to it. Then: numba start-up in a first and a second
process, the gain kernel's memory bandwidth, and the peak RSS of rendering one
hour of stereo through tone -> biquad -> delay -> sink.wav.

Run: ``python benchmarks/streaming.py``
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import graphengine as ge
from graphengine.blocks import DEFAULT_BLOCK_SIZE

SR = 44100
MINUTES = 10
REPEATS = 3


def chain_graph() -> ge.Graph:
    g = ge.Graph(sample_rate=SR, name="bench-chain")
    g.add("src", "source.file", path="fed-from-python.wav")
    g.add("gain", "effect.gain", in_="src", gain_db=-6.0)
    g.add("lp", "filter.biquad", in_="gain", mode="lowpass", cutoff_hz=2000.0, q=0.7071)
    g.add("delay", "effect.delay", in_="lp", time_ms=250.0, feedback=0.5, mix=0.5)
    g.add("hp", "filter.biquad", in_="delay", mode="highpass", cutoff_hz=100.0, q=0.7071)
    return g


def engine(audio: ge.Audio, block_size: int) -> np.ndarray:
    result = chain_graph().run(
        outputs=["hp"], inputs={"src": audio}, cache=False, block_size=block_size
    )
    return result["hp"].samples


def pedalboard_chain(x: np.ndarray) -> np.ndarray:
    import pedalboard

    board = pedalboard.Pedalboard(
        [
            pedalboard.Gain(gain_db=-6.0),
            pedalboard.LowpassFilter(cutoff_frequency_hz=2000.0),
            pedalboard.Delay(delay_seconds=0.25, feedback=0.5, mix=0.5),
            pedalboard.HighpassFilter(cutoff_frequency_hz=100.0),
        ]
    )
    return board(x, SR)


def scipy_chain(x: np.ndarray) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    y = x * np.float32(10 ** (-6 / 20))
    y = sosfilt(butter(2, 2000.0, "lowpass", fs=SR, output="sos"), y, axis=1)
    d = round(0.25 * SR)
    wet = np.array(y)
    for start in range(d, wet.shape[1], d):  # y[n] = x[n] + 0.5 y[n - d], d frames at a time
        stop = min(start + d, wet.shape[1])
        wet[:, start:stop] += 0.5 * wet[:, start - d : stop - d]
    delayed = np.zeros_like(wet)
    delayed[:, d:] = wet[:, :-d]
    y = 0.5 * y + 0.5 * delayed
    return sosfilt(butter(2, 100.0, "highpass", fs=SR, output="sos"), y, axis=1).astype(np.float32)


def sox_chain(folder: Path) -> float | None:
    if shutil.which("sox") is None:
        return None
    started = time.perf_counter()
    subprocess.run(
        [
            "sox",
            str(folder / "in.wav"),
            str(folder / "sox.wav"),
            "gain",
            "-6",
            "lowpass",
            "2000",
            "echos",
            "0.5",
            "0.5",
            "250",
            "0.5",
            "highpass",
            "100",
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def best(action, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


STARTUP = """
import time
started = time.perf_counter()
import graphengine as ge
g = ge.Graph(sample_rate=44100)
g.add("osc", "source.tone", duration_s=0.1)
g.add("lp", "filter.biquad", in_="osc", cutoff_hz=2000.0)
g.add("d", "effect.delay", in_="lp", time_ms=20.0)
g.run(outputs=["d"], cache=False)
print(time.perf_counter() - started)
"""

HOUR = """
import json, sys, time
import graphengine as ge
g = ge.Graph(sample_rate=44100)
g.add("osc", "source.tone", waveform="saw", frequency=110.0, duration_s=3600.0, channels=2)
g.add("lp", "filter.biquad", in_="osc", mode="lowpass", cutoff_hz=2000.0)
g.add("d", "effect.delay", in_="lp", time_ms=250.0, feedback=0.5)
g.add("out", "sink.wav", in_="d", path=sys.argv[1], subtype="PCM_16")
started = time.perf_counter()
g.run(cache=sys.argv[2])
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: the latter keeps the parent's size across fork + exec
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))
print(json.dumps([peak, seconds]))
"""


def startup_times() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        runs = []
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-c", STARTUP], env=env, capture_output=True, text=True, check=True
            )
            runs.append(float(done.stdout))
    return runs[0], runs[1]


def gain_bandwidth() -> float:
    from nodes.effect._gain_kernels import scale_inplace

    x = np.ones((2, 50_000_000), np.float32)
    scale_inplace(x[:, :10], np.float32(1.0))
    seconds = best(lambda: scale_inplace(x, np.float32(1.0)))
    return 2 * x.nbytes / seconds / 1e9


def main() -> None:
    import soundfile as sf

    seconds_of_audio = MINUTES * 60
    rng = np.random.default_rng(0)
    x = (0.25 * rng.standard_normal((2, seconds_of_audio * SR))).astype(np.float32)
    audio = ge.Audio(x, SR)
    engine(ge.Audio(x[:, :SR], SR), 4096)  # compile / load the kernels first

    rows = []
    for block_size in (DEFAULT_BLOCK_SIZE, 4096):
        t = best(lambda b=block_size: engine(audio, b))
        rows.append((f"graphengine (block {block_size})", t))
    engine_s = rows[0][1]
    try:
        pedalboard_chain(x[:, :SR])
        rows.append(("pedalboard", best(lambda: pedalboard_chain(x))))
    except ImportError:
        rows.append(("pedalboard (not installed)", float("nan")))
    rows.append(("scipy sosfilt + vectorised delay", best(lambda: scipy_chain(x))))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sf.write(folder / "in.wav", x.T, SR, subtype="FLOAT")
        sox = sox_chain(folder)
        rows.append(("sox (file to file)" if sox else "sox (not installed)", sox or float("nan")))

    print(f"chain over {MINUTES} min of stereo {SR} Hz (best of {REPEATS})")
    print(f"{'implementation':<36} {'seconds':>8} {'x realtime':>11} {'engine speed-up':>16}")
    for name, t in rows:
        print(f"{name:<36} {t:>8.3f} {seconds_of_audio / t:>11.0f} {t / engine_s:>16.2f}")

    first, second = startup_times()
    print(f"\nnumba start-up, tiny render in a new process: first {first:.2f} s,", end=" ")
    print(f"second {second:.2f} s")
    print(f"gain kernel: {gain_bandwidth():.1f} GB/s read+write")

    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [sys.executable, "-c", HOUR, str(Path(tmp) / "hour.wav"), str(Path(tmp) / "cache")],
            capture_output=True,
            text=True,
            check=True,
        )
        rss, seconds = json.loads(done.stdout)
    whole = 3600 * SR * 2 * 4
    print(
        f"one hour of stereo, tone -> biquad -> delay -> sink.wav: peak RSS {rss / 2**20:.0f} MiB "
        f"(the signal alone is {whole / 2**20:.0f} MiB), {seconds:.1f} s "
        f"({3600 / seconds:.0f}x realtime)"
    )
    print("targets: engine >= 2x pedalboard (aim 3x); hour render peak RSS < 250 MB (aim 200 MB)")


if __name__ == "__main__":
    main()
