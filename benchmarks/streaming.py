"""Streaming benchmark: an effect chain over 10 minutes of stereo, and an hour in bounded memory.

The chain is gain(-6 dB) -> lowpass 2 kHz -> delay 250 ms feedback 0.5 -> highpass 100 Hz
on 10 minutes of stereo 44.1 kHz noise, in one process:

- engine: the chain as a graph, the input fed from Python, the output asked for;
- pedalboard: Gain, LowpassFilter, Delay, HighpassFilter (if installed);
- scipy: sosfilt for the filters and a vectorised feedback delay;
- sox: the same chain file to file (if the ``sox`` command is installed).

Each is reported as a realtime factor (seconds of audio per second) and the
engine's speed relative to it. Then: numba start-up in a first and a second
process and the gain kernel's memory bandwidth.

Compiled chains (the ``fusion`` section): the chain through the engine by
default (``auto``: one fused run, a loop over frames), per node
(``GRAPHENGINE_FUSE=0``) and at block 256, against a hand-fused numba kernel
of the chain written here (one per-sample loop: the limit) and pedalboard,
interleaved repeats and medians, ratios from the same run; the first run in a
new process with an empty numba cache (what compiling costs); and one hour
of PCM_16 WAV through the chain to a PCM_16 WAV in a new process, its peak
RSS (VmHWM) and speed.

Run: ``python benchmarks/streaming.py`` (``python benchmarks/streaming.py fusion``:
that section only; ``BENCH_MINUTES=1`` for a shorter signal, ``BENCH_HOUR_S=600``
for a shorter file run, ``BENCH_REPEATS`` for the in-memory repeats)
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import statistics
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
FUSION_REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
HOUR_SECONDS = float(os.environ.get("BENCH_HOUR_S", "3600"))
HOUR_REPEATS = 3


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
    audio: ge.Audio, fuse: bool | None, block_size: int = DEFAULT_BLOCK_SIZE
) -> tuple[np.ndarray, str]:
    """The chain through the engine, fusion on, off or ``auto`` (None); output and fused run."""
    if fuse is not None:
        os.environ["GRAPHENGINE_FUSE"] = "1" if fuse else "0"
    try:
        graph = chain_graph()
        result = graph.run(
            outputs=["hp"], inputs={"src": audio}, cache=False, block_size=block_size
        )
    finally:
        os.environ.pop("GRAPHENGINE_FUSE", None)
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


FIRST_RUN = """
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import graphengine as ge
from streaming import chain_graph, noise
audio = ge.Audio(noise(), 44100)
started = time.perf_counter()
result = chain_graph().run(outputs=["hp"], inputs={"src": audio}, cache=False)
seconds = time.perf_counter() - started
print(json.dumps([seconds, next(s.fused for s in result.stats if s.node == "hp")]))
"""


def first_run() -> tuple[float, str]:
    """The chain over the whole signal in a new process, ``auto``, empty numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        env.pop("GRAPHENGINE_FUSE", None)
        env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), env.get("PYTHONPATH", "")])
        done = subprocess.run(
            [sys.executable, "-c", FIRST_RUN, str(Path(__file__).parent)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    seconds, run = json.loads(done.stdout)
    return seconds, run


HOUR = """
import json, sys, time
import graphengine as ge
g = ge.Graph(sample_rate=44100)
g.add("src", "source.file", path=sys.argv[1])
g.add("gain", "effect.gain", in_="src", gain_db=-6.0)
g.add("lp", "filter.biquad", in_="gain", mode="lowpass", cutoff_hz=2000.0, q=0.7071)
g.add("delay", "effect.delay", in_="lp", time_ms=250.0, feedback=0.5, mix=0.5)
g.add("hp", "filter.biquad", in_="delay", mode="highpass", cutoff_hz=100.0, q=0.7071)
g.add("out", "sink.wav", in_="hp", path=sys.argv[2], subtype="PCM_16")
started = time.perf_counter()
result = g.run(cache=False)
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: the latter keeps the parent's size across fork + exec
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))
stats = {s.node: s.seconds for s in result.stats}
print(json.dumps([peak, seconds, stats, result.stats[1].fused]))
"""


def write_hour(path: Path, seconds: float) -> None:
    """``seconds`` of stereo noise as PCM_16 WAV, written in 10 s blocks (bounded memory)."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    block = (0.25 * rng.standard_normal((10 * SR, 2))).clip(-1, 1).astype(np.float32)
    left = round(seconds * SR)
    with sf.SoundFile(path, "w", SR, 2, "PCM_16") as file:
        while left > 0:
            file.write(block[: min(left, len(block))])
            left -= len(block)


def hour_rows(repeats: int) -> list[tuple[float, float, dict, str]]:
    """The chain file to file over one hour, each run a new process: peak RSS, seconds, stats."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "hour.wav"
        write_hour(source, HOUR_SECONDS)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), env.get("PYTHONPATH", "")])
        for _ in range(repeats):
            done = subprocess.run(
                [sys.executable, "-c", HOUR, str(source), str(Path(tmp) / "out.wav")],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(tuple(json.loads(done.stdout)))
    return runs


def load() -> str:
    """The 1-minute load average and the core count, to print beside timings."""
    return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def fusion_section(x: np.ndarray) -> None:
    """The chain in memory: engine (auto, per node), hand-fused kernel, pedalboard; one hour
    file to file in a new process; the fused shape's compile cost.

    Every repeat runs each implementation once, in turn, so that load on a shared
    machine hits them alike; the table shows medians.
    """
    seconds_of_audio = x.shape[1] / SR
    audio = ge.Audio(x, SR)
    warm = ge.Audio(x[:, :SR], SR)
    engine_fused(warm, True), engine_fused(warm, False), hand_fused(x[:, :SR])
    fused_out, run = engine_fused(audio, None)
    same = np.array_equal(fused_out, engine_fused(audio, False)[0])
    hand_same = np.array_equal(fused_out, hand_fused(x))
    actions = {
        "engine (auto: fused)": lambda: engine_fused(audio, None),
        "engine, per node (GRAPHENGINE_FUSE=0)": lambda: engine_fused(audio, False),
        "engine, block 256 (auto)": lambda: engine_fused(audio, None, 256),
        "hand-fused numba kernel (the limit)": lambda: hand_fused(x),
    }
    try:
        pedalboard_chain(x[:, :SR])
        actions["pedalboard"] = lambda: pedalboard_chain(x)
    except ImportError:
        pass
    before = load()
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(FUSION_REPEATS):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(t) for name, t in times.items()}
    engine_s = medians["engine (auto: fused)"]
    print(f"\ncompiled chains, {MINUTES} min stereo, block {DEFAULT_BLOCK_SIZE}:", end=" ")
    print(f"fused run {run!r}; median of {FUSION_REPEATS}, interleaved")
    print(f"({before} before, {load()} after)")
    print(f"fused == per node, bit for bit: {same}; fused == hand-fused kernel: {hand_same}")
    print(f"{'implementation':<40} {'seconds':>8} {'x realtime':>11} {'engine speed / this':>20}")
    for name, t in medians.items():
        print(f"{name:<40} {t:>8.3f} {seconds_of_audio / t:>11.0f} {t / engine_s:>20.2f}")
    if "pedalboard" not in medians:
        print("pedalboard: not installed")
    print("targets: engine >= 3x pedalboard, >= 0.9x the hand-fused kernel")

    first, fused_first = first_run()
    print(
        f"the same, first run in a new process with an empty numba cache (auto, compiling): "
        f"{first:.2f} s, fused run {fused_first!r}"
    )
    compile_s = compile_times()
    for fuse, label in (("1", "fused"), ("0", "per node")):
        first, second = compile_s[fuse]
        print(
            f"tiny chain render in a new process, {label}: empty numba cache {first:.2f} s,", end=""
        )
        print(f" disk cache {second:.2f} s")

    hours = hour_rows(HOUR_REPEATS)
    peak = statistics.median(h[0] for h in hours)
    seconds = statistics.median(h[1] for h in hours)
    stages = {k: statistics.median(h[2][k] for h in hours) for k in hours[0][2]}
    chain = sum(v for k, v in stages.items() if k not in ("src", "out"))
    minutes = HOUR_SECONDS / 60
    print(
        f"\n{minutes:.0f} min stereo PCM_16 WAV -> chain -> PCM_16 WAV, new process each "
        f"(median of {HOUR_REPEATS}, {load()}): peak RSS (VmHWM) {peak / 2**20:.0f} MiB, "
        f"{seconds:.2f} s ({HOUR_SECONDS / seconds:.0f}x realtime); src {stages['src']:.2f} s, "
        f"chain {chain:.2f} s (fused run {hours[0][3]!r}), sink {stages['out']:.2f} s"
    )
    print("targets: peak RSS <= 200 MB, >= 600x realtime")


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

    fusion_section(x)


def noise() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.25 * rng.standard_normal((2, MINUTES * 60 * SR))).astype(np.float32)


if __name__ == "__main__":
    if sys.argv[1:] == ["fusion"]:
        fusion_section(noise())
    else:
        main()
