"""Five features of one signal: the graph (one shared STFT) against five librosa calls.

Times mfcc, chroma, centroid, bandwidth and mel computed together by a graph
(one spectral.stft feeding five feature nodes, run without cache) against the
same five librosa.feature calls made independently on the audio, on 30 s and
10 min of 22.05 kHz mono, in one run; checks that the numbers agree.

    python benchmarks/features.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import graphengine as ge
from graphengine.types import Audio

SR = 22050
FEATURES = ("mfcc", "chroma", "centroid", "bandwidth", "mel")


def signal(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    tone = 0.3 * np.sin(2 * np.pi * (220 + 50 * np.sin(0.3 * t)) * t)
    chord = 0.1 * (np.sin(2 * np.pi * 330 * t) + np.sin(2 * np.pi * 415.3 * t))
    return (tone + chord + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def graph() -> ge.Graph:
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.silence", duration_s=1.0)
    g.add("spec", "spectral.stft", in_="src")
    g.add("mfcc", "feature.mfcc", in_="spec")
    g.add("chroma", "feature.chroma", in_="spec")
    g.add("centroid", "feature.centroid", in_="spec")
    g.add("bandwidth", "feature.bandwidth", in_="spec")
    g.add("mel", "spectral.mel", in_="spec")
    return g


def run_graph(y: np.ndarray) -> tuple[float, dict[str, np.ndarray], int]:
    g = graph()
    start = time.perf_counter()
    result = g.run(outputs=FEATURES, cache=False, inputs={"src": Audio(y, SR)})
    seconds = time.perf_counter() - start
    stfts = sum(1 for s in result.stats if s.type == "spectral.stft" and s.status == "computed")
    return seconds, {name: result[name].values[0] for name in FEATURES}, stfts


def run_librosa(y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    import librosa

    start = time.perf_counter()
    out = {
        "mfcc": librosa.feature.mfcc(y=y, sr=SR),
        "chroma": librosa.feature.chroma_stft(y=y, sr=SR),
        "centroid": librosa.feature.spectral_centroid(y=y, sr=SR),
        "bandwidth": librosa.feature.spectral_bandwidth(y=y, sr=SR),
        "mel": librosa.feature.melspectrogram(y=y, sr=SR),
    }
    return time.perf_counter() - start, out


def run_librosa_shared(y: np.ndarray) -> float:
    import librosa

    start = time.perf_counter()
    mag = np.abs(librosa.stft(y))
    power = mag**2
    mel = librosa.feature.melspectrogram(S=power, sr=SR)
    librosa.feature.mfcc(S=librosa.power_to_db(mel), sr=SR)
    librosa.feature.chroma_stft(S=power, sr=SR)
    librosa.feature.spectral_centroid(S=mag, sr=SR)
    librosa.feature.spectral_bandwidth(S=mag, sr=SR)
    return time.perf_counter() - start


def worst_error(ours: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> float:
    worst = 0.0
    for name in FEATURES:
        scale = np.abs(ref[name]).max()
        # <= 1 means within rtol 1e-4 and atol 1e-5 * max|ref| (np.testing.assert_allclose)
        err = np.abs(ours[name] - ref[name]) / (1e-4 * np.abs(ref[name]) + 1e-5 * scale)
        worst = max(worst, float(err.max()))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the long signal")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    warm = signal(5.0)
    run_graph(warm)  # compile numba kernels, build filter banks
    run_librosa(warm)
    print(
        f"{'signal':>8} {'graph s':>9} {'librosa s':>10} {'shared-S s':>11} "
        f"{'ratio':>7} {'ratio S':>8} {'STFTs':>6} {'err/tol':>8}"
    )
    for seconds in (30.0, 60.0 * args.minutes):
        y = signal(seconds)
        graph_s = lib_s = shared_s = np.inf
        for _ in range(args.repeats):
            t, ours, stfts = run_graph(y)
            graph_s = min(graph_s, t)
            t, ref = run_librosa(y)
            lib_s = min(lib_s, t)
            shared_s = min(shared_s, run_librosa_shared(y))
        label = f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
        print(
            f"{label:>8} {graph_s:9.3f} {lib_s:10.3f} {shared_s:11.3f} "
            f"{lib_s / graph_s:6.2f}x {shared_s / graph_s:7.2f}x {stfts:6d} "
            f"{worst_error(ours, ref):8.3f}"
        )


if __name__ == "__main__":
    main()
