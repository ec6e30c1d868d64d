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

Compiled chains: the same chain with the region's kernels fused into one
numba call per block (the default), run per node (``GRAPHENGINE_FUSE=0``),
against a hand-fused numba kernel of the chain written here (one per-sample
loop: the limit) and pedalboard; and the compile cost of the fused shape in a
fresh process, then from numba's disk cache.

Run: ``python benchmarks/streaming.py`` (``python benchmarks/streaming.py fusion``:
that section only; ``BENCH_MINUTES=1`` for a shorter signal)
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import seconds_of

import graphengine as ge
from graphengine.blocks import DEFAULT_BLOCK_SIZE

SR = 44100
MINUTES = int(os.environ.get("BENCH_MINUTES", "10"))
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
    return seconds_of(action, repeats, warm_up=False)


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


@functools.cache
def hand_fused_kernel():
    """The chain as one per-sample numba loop, rounding to float32 between stages as nodes do."""
    from numba import njit

    @njit(cache=True, nogil=True)
    def chain(x, g, s1, z1, line, position, feedback, wet, dry, s2, z2):
        channels, frames = x.shape
        length = line.shape[1]
        b10, b11, b12, a11, a12 = s1[0, 0], s1[0, 1], s1[0, 2], s1[0, 4], s1[0, 5]
        b20, b21, b22, a21, a22 = s2[0, 0], s2[0, 1], s2[0, 2], s2[0, 4], s2[0, 5]
        for c in range(channels):
            p = position[0]
            u0, u1, w0, w1 = z1[c, 0, 0], z1[c, 0, 1], z2[c, 0, 0], z2[c, 0, 1]
            for i in range(frames):
                v = np.float64(x[c, i] * g)
                y = b10 * v + u0
                u0 = b11 * v - a11 * y + u1
                u1 = b12 * v - a12 * y
                v = np.float64(np.float32(y))
                delayed = line[c, p]
                line[c, p] = v + feedback * delayed
                v = np.float64(np.float32(dry * v + wet * delayed))
                p += 1
                if p == length:
                    p = 0
                y = b20 * v + w0
                w0 = b21 * v - a21 * y + w1
                w1 = b22 * v - a22 * y
                x[c, i] = y
            z1[c, 0, 0], z1[c, 0, 1], z2[c, 0, 0], z2[c, 0, 1] = u0, u1, w0, w1
        position[0] = (position[0] + frames) % length
        return x

    return chain


def hand_fused(x: np.ndarray) -> np.ndarray:
    """The chain over ``x`` in one call of :func:`hand_fused_kernel`; returns a new array."""
    from nodes.filter.iir import rbj_sos

    chain = hand_fused_kernel()
    channels = x.shape[0]
    return chain(
        x.copy(),
        np.float32(10 ** (-6 / 20)),
        rbj_sos("lowpass", 2000.0, 0.7071, 0.0, SR),
        np.zeros((channels, 1, 2)),
        np.zeros((channels, round(0.25 * SR))),
        np.zeros(1, np.int64),
        0.5,
        0.5,
        0.5,
        rbj_sos("highpass", 100.0, 0.7071, 0.0, SR),
        np.zeros((channels, 1, 2)),
    )


def engine_fused(
    audio: ge.Audio, fuse: bool, block_size: int = DEFAULT_BLOCK_SIZE
) -> tuple[np.ndarray, str]:
    """The chain through the engine with fusion on or off; the output and the fused run."""
    os.environ["GRAPHENGINE_FUSE"] = "1" if fuse else "0"
    try:
        graph = chain_graph()
        result = graph.run(
            outputs=["hp"], inputs={"src": audio}, cache=False, block_size=block_size
        )
    finally:
        del os.environ["GRAPHENGINE_FUSE"]
    return result["hp"].samples, next(s.fused for s in result.stats if s.node == "hp")


COMPILE = """
import os, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import graphengine as ge
from streaming import chain_graph
x = ge.Audio(np.zeros((2, 4410), np.float32), 44100)
started = time.perf_counter()
chain_graph().run(outputs=["hp"], inputs={"src": x}, cache=False)
print(time.perf_counter() - started)
"""


def compile_times() -> dict[str, tuple[float, float]]:
    """Seconds of a tiny chain render in a new process, fused and not: first (empty numba
    cache, everything compiled) and second (loaded from the disk cache)."""
    times = {}
    for fuse in ("1", "0"):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, GRAPHENGINE_FUSE=fuse)
            env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), env.get("PYTHONPATH", "")])
            runs = []
            for _ in range(2):
                done = subprocess.run(
                    [sys.executable, "-c", COMPILE, str(Path(__file__).parent)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(float(done.stdout))
        times[fuse] = (runs[0], runs[1])
    return times


def fusion_section(x: np.ndarray) -> None:
    """Fused, per node, hand-fused, pedalboard on the chain; the fused shape's compile cost."""
    seconds_of_audio = x.shape[1] / SR
    audio = ge.Audio(x, SR)
    warm = ge.Audio(x[:, :SR], SR)
    engine_fused(warm, True), engine_fused(warm, False), hand_fused(x[:, :SR])
    fused_out, run = engine_fused(audio, True)
    same = np.array_equal(fused_out, engine_fused(audio, False)[0])
    hand_same = np.array_equal(fused_out, hand_fused(x))
    rows = [
        (
            "engine, fused (GRAPHENGINE_FUSE=1)",
            best(lambda: engine_fused(audio, True), REPEATS + 2),
        ),
        (
            "engine, per node (GRAPHENGINE_FUSE=0)",
            best(lambda: engine_fused(audio, False), REPEATS + 2),
        ),
        ("hand-fused numba kernel (the limit)", best(lambda: hand_fused(x), REPEATS + 2)),
    ]
    for fuse, label in ((True, "fused"), (False, "per node")):  # where fusion pays: small blocks
        rows.append(
            (f"engine, block 256, {label}", best(lambda f=fuse: engine_fused(audio, f, 256), 2))
        )
    try:
        pedalboard_chain(x[:, :SR])
        rows.append(("pedalboard", best(lambda: pedalboard_chain(x), REPEATS + 2)))
    except ImportError:
        rows.append(("pedalboard (not installed)", float("nan")))
    fused_s = rows[0][1]
    print(f"\ncompiled chains: fused run {run!r}, block {DEFAULT_BLOCK_SIZE}, {MINUTES} min stereo")
    print(f"fused == per node, bit for bit: {same}; fused == hand-fused kernel: {hand_same}")
    print(f"{'implementation':<40} {'seconds':>8} {'x realtime':>11} {'fused / this':>13}")
    for name, t in rows:
        print(f"{name:<40} {t:>8.3f} {seconds_of_audio / t:>11.0f} {t / fused_s:>13.2f}")
    print("(fused / this: the fused engine's speed relative to the row; targets >= 0.9 against")
    print(" the hand-fused kernel, >= 3 against pedalboard)")
    times = compile_times()
    for fuse, label in (("1", "fused"), ("0", "per node")):
        first, second = times[fuse]
        print(
            f"tiny chain render in a new process, {label}: empty numba cache {first:.2f} s,", end=""
        )
        print(f" disk cache {second:.2f} s")


def main() -> None:
    import soundfile as sf

    seconds_of_audio = MINUTES * 60
    x = noise()
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
    fusion_section(x)


def noise() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.25 * rng.standard_normal((2, MINUTES * 60 * SR))).astype(np.float32)


if __name__ == "__main__":
    if sys.argv[1:] == ["fusion"]:
        fusion_section(noise())
    else:
        main()
