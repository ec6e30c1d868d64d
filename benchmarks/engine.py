"""Engine benchmark: cold, warm and incremental renders of a 10-node graph.

The graph mixes a 60 s stereo file (48 kHz, resampled to 44.1 kHz), two
tones, pink noise and gains into a WAV. Measured in one process through the
API, each figure the median of several runs:

- cold: empty memory and disk cache, every node computed and stored;
- warm: the same graph again, nothing changed (everything cached);
- incremental: one downstream parameter changed (the master gain);
- peer: the same computation as a plain numpy/soxr/soundfile script, no engine;
- validate: wall time of ``graphengine validate`` in a fresh process.

Run: ``python benchmarks/engine.py``
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

import graphengine as ge
from graphengine import api

SECONDS = 60.0
SR = 44100
REPEATS = 5


def build(folder: Path) -> ge.Graph:
    g = ge.Graph(sample_rate=SR, name="bench", params={"master_db": -1.0})
    g.add("file", "source.file", path=str(folder / "in.wav"))
    g.add("low", "source.tone", waveform="saw", frequency="A2", duration_s=SECONDS, channels=2)
    g.add("high", "source.tone", waveform="sine", frequency="E5", duration_s=SECONDS, channels=2)
    g.add("hiss", "source.noise", color="pink", duration_s=SECONDS, channels=2, amplitude=0.05)
    g.add("file_gain", "effect.gain", in_="file", gain_db=-6)
    g.add("low_gain", "effect.gain", in_="low", gain_db=-9)
    g.add("high_gain", "effect.gain", in_="high", gain_db=-12)
    g.add("mix", "signal.mix", in_=["file_gain", "low_gain", "high_gain", "hiss"])
    g.add("master", "effect.gain", in_="mix", gain_db="$master_db")
    g.add("out", "sink.wav", in_="master", path=str(folder / "out.wav"), subtype="PCM_24")
    return g


def plain_script(folder: Path) -> None:
    """The same signal chain without the engine: the peer to compare overhead against."""
    import soxr

    data, rate = sf.read(folder / "in.wav", dtype="float32", always_2d=True)
    file = soxr.resample(data, rate, SR, quality="VHQ").T
    n = round(SECONDS * SR)
    t = np.arange(n) / SR
    low = np.tile(2 * ((110.0 * t) % 1.0) - 1, (2, 1)) * 0.5
    high = np.tile(np.sin(2 * np.pi * 659.255 * t), (2, 1)) * 0.5
    hiss = np.random.default_rng(0).standard_normal((2, n)) * 0.05
    length = max(file.shape[1], n)
    mix = np.zeros((2, length), np.float32)
    mix[:, : file.shape[1]] += file * 10 ** (-6 / 20)
    mix[:, :n] += low * 10 ** (-9 / 20) + high * 10 ** (-12 / 20) + hiss
    sf.write(folder / "plain.wav", (mix * 10 ** (-1 / 20)).T, SR, subtype="PCM_24")


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rng = np.random.default_rng(1)
        sf.write(folder / "in.wav", rng.uniform(-0.5, 0.5, (int(SECONDS * 48000), 2)), 48000)
        graph = build(folder)
        graph.run(cache=False)  # warm up imports (scipy, soxr, soundfile) before timing

        cold, warm, incremental = [], [], []
        for repeat in range(REPEATS):
            cache = folder / f"cache{repeat}"
            api._MEMORY.clear()
            (folder / "out.wav").unlink(missing_ok=True)
            cold.append(timed(lambda c=cache: graph.run(cache=c)))
            warm.append(timed(lambda c=cache: graph.run(cache=c)))
            result = graph.run(cache=cache)
            assert all(s.status == "cached" for s in result.stats)
            level = -2.0 - repeat
            incremental.append(
                timed(lambda c=cache, v=level: graph.run(params={"master_db": v}, cache=c))
            )
        peer = [timed(lambda: plain_script(folder)) for _ in range(REPEATS)]
        validate = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "graphengine", "validate", "graphs/demo.toml"],
                check=True,
                capture_output=True,
                cwd=Path(__file__).resolve().parent.parent,
            )
            validate.append(time.perf_counter() - started)

    cold_s = statistics.median(cold)
    rows = [
        ("cold render (empty cache)", cold_s, "1.00"),
        (
            "warm render (all cached)",
            statistics.median(warm),
            f"{statistics.median(warm) / cold_s:.3f}",
        ),
        (
            "incremental (master gain changed)",
            statistics.median(incremental),
            f"{statistics.median(incremental) / cold_s:.3f}",
        ),
        (
            "peer: plain numpy script, no engine",
            statistics.median(peer),
            f"{statistics.median(peer) / cold_s:.3f}",
        ),
        ("graphengine validate (fresh process)", statistics.median(validate), "-"),
    ]
    print(f"10-node graph, {SECONDS:.0f} s stereo at {SR} Hz, median of {REPEATS} runs")
    print(f"{'measurement':<40} {'seconds':>9} {'ratio to cold':>14}")
    for name, seconds, ratio in rows:
        print(f"{name:<40} {seconds:>9.4f} {ratio:>14}")
    print("targets: warm < 0.05, incremental < 0.30 of cold; validate < 0.5 s")


if __name__ == "__main__":
    main()
