"""Loudness and limiter benchmark: feature.loudness and effect.limiter against peers on real music.

The music is Debian's ``drascula-music`` (the freely redistributable
soundtrack of Drascula: The Vampire Strikes Back, stereo Ogg Vorbis at
44.1 kHz), the first ``TRACKS`` tracks whole, fetched once with
``apt-get download`` into ``$GRAPHENGINE_BENCH_DATA`` (default
``~/.cache/graphengine/bench``; see benchmarks/stretch.py), never into the
repository. Where that fails, a synthetic music-like signal is used and the
script says so.

Three tables, every figure measured in this one run:

1. Loudness per track: integrated loudness by ``feature.loudness`` (through
   ``Graph.run``), by pyloudnorm with its default filter (an RBJ
   approximation of the K-weighting) and with its ``DeMan`` filter
   (BS.1770's own), their differences in LU; loudness range by both;
   true peak by ours against an independent 4x oversampling
   (``scipy.signal.resample_poly``).
2. Time over all tracks: ours (everything, one node; integrated and LRA
   only, ``nodes.feature.loudness.measure``) against pyloudnorm's
   ``integrated_loudness`` and ``loudness_range``; × engine is a tool's time
   over ours.
3. Limiting each track driven 12 dB into a -1 dBFS ceiling: ours in sample-
   and true-peak mode (5 ms look-ahead, 100 ms release) and, when installed,
   pedalboard's ``Limiter`` (JUCE's: two compressors and a hard clipper,
   here ``Limiter(threshold_db=-12, release_ms=100)`` then ``Gain(-1)``),
   with each output's highest sample and true peak (scipy 4x), the samples
   above the ceiling, the integrated loudness reached and the time.

Run: ``python benchmarks/loudness.py`` (``--tracks N`` for fewer or more).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyloudnorm as pyln
import scipy.signal as sps
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from debian_data import package_root
from signals import synthetic_music

import graphengine as ge
from nodes.feature.loudness import STATS, measure

SR = 44100
TRACKS = 6
PACKAGE = "drascula-music"
AUDIO = "usr/share/scummvm/drascula/audio"
DRIVE_DB = 12.0
CEILING_DBFS = -1.0


def tracks(count: int) -> list[tuple[str, np.ndarray]]:
    """(name, (2, frames) float32 at SR) of the first ``count`` tracks, in track order."""
    try:
        audio = package_root(PACKAGE) / AUDIO
    except (OSError, subprocess.CalledProcessError, StopIteration) as error:
        print(f"music: could not fetch {PACKAGE} ({error}); using a synthetic signal")
        return [
            (
                "synthetic",
                synthetic_music(
                    60.0, SR, pitches=(48, 52, 55, 57, 60, 64, 67), partials=5, quiet_middle=True
                ),
            )
        ]
    files = sorted(audio.glob("track*.ogg"), key=lambda p: int(p.stem[5:]))[:count]
    out = []
    for path in files:
        x, rate = sf.read(path, dtype="float32", always_2d=True)
        assert rate == SR, f"{path.name} is {rate} Hz"
        out.append((path.stem, np.ascontiguousarray(x.T)))
    return out


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def engine_loudness(x: np.ndarray) -> dict[str, float]:
    g = ge.Graph(sample_rate=SR, name="bench-loudness")
    g.add("src", "source.file", path="fed-from-python.wav")
    g.add("lufs", "feature.loudness", in_="src")
    result = g.run(outputs=["lufs"], inputs={"src": ge.Audio(x, SR)}, cache=False)
    return dict(zip(STATS, result["lufs"].values.tolist(), strict=True))


def engine_limiter(true_peak: bool) -> Callable[[np.ndarray], np.ndarray]:
    def run(x: np.ndarray) -> np.ndarray:
        g = ge.Graph(sample_rate=SR, name="bench-limiter")
        g.add("src", "source.file", path="fed-from-python.wav")
        g.add(
            "lim",
            "effect.limiter",
            in_="src",
            gain_db=DRIVE_DB,
            ceiling_dbfs=CEILING_DBFS,
            lookahead_ms=5.0,
            release_ms=100.0,
            true_peak=true_peak,
        )
        return g.run(outputs=["lim"], inputs={"src": ge.Audio(x, SR)}, cache=False)["lim"].samples

    return run


def pedalboard_limiter(x: np.ndarray) -> np.ndarray:
    from pedalboard import Gain, Limiter, Pedalboard

    board = Pedalboard([Limiter(threshold_db=-DRIVE_DB, release_ms=100.0), Gain(CEILING_DBFS)])
    return board(x, SR)


def scipy_true_peak_db(x: np.ndarray) -> float:
    peak = np.abs(sps.resample_poly(x.astype(np.float64), 4, 1, axis=1)).max()
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=TRACKS)
    music = tracks(parser.parse_args(argv).tracks)
    seconds_total = sum(x.shape[1] for _, x in music) / SR
    engine_loudness(music[0][1][:, :SR])  # compile and import before timing
    engine_limiter(True)(music[0][1][:, :SR])
    engine_limiter(False)(music[0][1][:, :SR])

    print(f"\n{len(music)} tracks of {PACKAGE}, {seconds_total:.0f} s of stereo at {SR} Hz\n")
    print("1. loudness per track (LUFS, LU, dBTP)")
    header = ("track", "s", "ours I", "pyln I", "Δ", "DeMan I", "Δ", "ours LRA", "pyln LRA")
    header += ("ours TP", "scipy TP", "Δ")
    print("{:<8} {:>5} {:>7} {:>7} {:>6} {:>7} {:>7} {:>8} {:>8} {:>7} {:>8} {:>6}".format(*header))
    times = {"ours, all": 0.0, "ours, I + LRA": 0.0, "pyln I": 0.0, "pyln LRA": 0.0}
    for name, x in music:
        t_all, ours = timed(lambda x=x: engine_loudness(x))
        t_measure, _ = timed(lambda x=x: measure(x, SR))
        meter = pyln.Meter(SR)
        frames = x.T.astype(np.float64)
        t_pyln, pyln_i = timed(lambda m=meter, f=frames: m.integrated_loudness(f))
        t_lra, pyln_lra = timed(lambda m=meter, f=frames: m.loudness_range(f))
        deman = pyln.Meter(SR, filter_class="DeMan").integrated_loudness(frames)
        times["ours, all"] += t_all
        times["ours, I + LRA"] += t_measure
        times["pyln I"] += t_pyln
        times["pyln LRA"] += t_lra
        tp = scipy_true_peak_db(x)
        i = ours["integrated_lufs"]
        print(
            f"{name:<8} {x.shape[1] / SR:>5.0f} {i:>7.2f} {pyln_i:>7.2f} {i - pyln_i:>+6.3f} "
            f"{deman:>7.2f} {i - deman:>+7.4f} {ours['loudness_range_lu']:>8.2f} "
            f"{pyln_lra:>8.2f} {ours['true_peak_dbtp']:>7.2f} {tp:>8.2f} "
            f"{ours['true_peak_dbtp'] - tp:>+6.3f}"
        )

    print(f"\n2. time over all tracks ({seconds_total:.0f} s of audio)")
    base = times["ours, I + LRA"]
    print("{:<34} {:>8} {:>11} {:>9}".format("tool", "time s", "x realtime", "x engine"))
    for tool, label in (
        ("ours, all", "feature.loudness (I, LRA, TP, M, S)"),
        ("ours, I + LRA", "ours: measure() (I, LRA, M, S)"),
        ("pyln I", "pyloudnorm integrated_loudness"),
        ("pyln LRA", "pyloudnorm loudness_range"),
    ):
        s = times[tool]
        print(f"{label:<34} {s:>8.2f} {seconds_total / s:>11.0f} {s / base:>9.2f}")
    pyln_both = times["pyln I"] + times["pyln LRA"]
    print(
        f"{'pyloudnorm I + LRA':<34} {pyln_both:>8.2f} {seconds_total / pyln_both:>11.0f} "
        f"{pyln_both / base:>9.2f}"
    )

    print(f"\n3. limiting, +{DRIVE_DB:g} dB into {CEILING_DBFS:g} dBFS")
    limiters: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "ours, sample peak": engine_limiter(False),
        "ours, true peak": engine_limiter(True),
    }
    try:
        import pedalboard  # noqa: F401

        limiters["pedalboard Limiter"] = pedalboard_limiter
        pedalboard_limiter(music[0][1][:, :SR])
    except ImportError:
        print("(pedalboard is not installed: its Limiter is left out)")
    ceiling = 10 ** (CEILING_DBFS / 20)
    head = ("limiter", "time s", "x realtime", "x engine", "max dBFS", "max dBTP", "over", "LUFS")
    print("{:<20} {:>7} {:>11} {:>9} {:>9} {:>9} {:>8} {:>7}".format(*head))
    base_time = None
    for label, fn in limiters.items():
        total, worst_sample, worst_tp, over, levels = 0.0, -math.inf, -math.inf, 0, []
        for _, x in music:
            seconds, y = timed(lambda fn=fn, x=x: np.asarray(fn(x), dtype=np.float32))
            total += seconds
            assert y.shape == x.shape, f"{label}: {y.shape} for {x.shape}"
            worst_sample = max(worst_sample, 20 * math.log10(np.abs(y).max()))
            worst_tp = max(worst_tp, scipy_true_peak_db(y))
            over += int(np.count_nonzero(np.abs(y) > ceiling))
            levels.append(measure(y, SR).integrated)
        base_time = base_time or total
        print(
            f"{label:<20} {total:>7.2f} {seconds_total / total:>11.0f} {total / base_time:>9.2f} "
            f"{worst_sample:>9.3f} {worst_tp:>9.3f} {over:>8d} {np.mean(levels):>7.2f}"
        )
    print("max: the highest over all tracks; over: samples above the ceiling; LUFS: mean of tracks")


if __name__ == "__main__":
    main()
