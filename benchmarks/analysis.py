"""Analysis nodes against librosa on real music: HPSS, constant-Q, beats; and voice tuning.

For each of ``TRACKS`` tracks of Debian's ``drascula-music`` (the freely
redistributable soundtrack of Drascula: The Vampire Strikes Back; fetched
once with ``apt-get download`` into ``$GRAPHENGINE_BENCH_DATA``, default
``~/.cache/graphengine/bench``, never into the repository), 30 s from 0:10,
mixed to mono and resampled to 22.05 kHz, timed in this one run (best of
``REPEATS`` after a warm-up):

- hpss: ``spectral.hpss`` on one STFT against ``librosa.decompose.hpss`` on
  the same STFT (default kernels 31, power 2, margins 1); error: the largest
  |ours - librosa| / |librosa| over all non-zero bins of both parts;
- hpss audio: ``source -> spectral.hpss -> spectral.istft`` x 2 as a graph
  against ``librosa.effects.hpss``; error: max |difference| / peak;
- cqt: ``spectral.cqt`` (a graph) against ``librosa.cqt`` (84 bins from C1);
  error: max |difference| / |librosa| over bins within 60 dB of the peak;
- beats: ``spectral.stft -> feature.beats`` against
  ``librosa.beat.beat_track(y=...)``; "error" counts the tracks whose beat
  frames differ (0 = every beat on the same frame) and the largest tempo
  difference.

``x librosa`` is librosa's time over the engine's (above 1: the engine is
faster). Then the tuning of ``synth.waveguide`` and ``synth.modal`` from C1
to C8 (every semitone, 2 s notes at 44.1 kHz): the largest deviation of the
note's fundamental (or ratio-1 mode) from the note, in cents, measured by a
2^21-point Hann FFT with parabolic interpolation. Where the package cannot
be fetched, a synthetic music-like signal is used and the script says so.

Run: ``python benchmarks/analysis.py``
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stretch import PACKAGE, data_folder, fetch_track, synthetic_music
from timing import seconds_of

import graphengine as ge
from graphengine.node import NodeContext
from graphengine.types import Audio, Notes
from nodes.spectral.hpss import hpss
from nodes.spectral.stft import stft

SR = 22050
SECONDS = 30.0
OFFSET_S = 10.0
TRACKS = (1, 2, 5, 10, 13, 18)
REPEATS = 3


def tracks() -> tuple[list[tuple[str, np.ndarray]], str]:
    try:
        folder = fetch_track(data_folder()).parent
    except (OSError, subprocess.CalledProcessError, StopIteration) as error:
        print(f"music: could not fetch {PACKAGE} ({error}); using a synthetic signal")
        mono = synthetic_music().mean(axis=0)
        return [("synthetic", librosa.resample(mono, orig_sr=44100, target_sr=SR))], "synthetic"
    out = []
    for k in TRACKS:
        x, rate = sf.read(folder / f"track{k}.ogg", dtype="float32", always_2d=True)
        y = librosa.resample(x.mean(axis=1), orig_sr=rate, target_sr=SR)
        start = round(OFFSET_S * SR)
        out.append((f"track{k}", np.ascontiguousarray(y[start : start + round(SECONDS * SR)])))
    return out, f"{PACKAGE}, {len(out)} tracks, {SECONDS:g} s from {OFFSET_S:g} s"


def graph_of(*nodes: tuple[str, str, dict]) -> ge.Graph:
    g = ge.Graph(sample_rate=SR, name="bench-analysis")
    g.add("src", "source.file", path="fed-from-python.wav")
    for node_id, type_id, params in nodes:
        g.add(node_id, type_id, **params)
    return g


def run(g: ge.Graph, y: np.ndarray, outputs: list[str]) -> dict:
    result = g.run(outputs=outputs, inputs={"src": Audio(y, SR)}, cache=False)
    return {name: result[name] for name in outputs}


def relative(ours: np.ndarray, ref: np.ndarray, floor: float = 0.0) -> float:
    keep = np.abs(ref) > floor
    return float(np.max(np.abs(ours[keep] - ref[keep]) / np.abs(ref[keep])))


def bench_hpss(y: np.ndarray) -> tuple[float, float, float]:
    ctx = NodeContext("split", "spectral.hpss", SR, None)
    spec = stft.spec.function(
        Audio(y, SR), n_fft=2048, hop=512, window="hann", center=True, pad_mode="constant", ctx=ctx
    )
    params = {
        "kernel_harmonic": 31,
        "kernel_percussive": 31,
        "power": 2.0,
        "margin_harmonic": 1.0,
        "margin_percussive": 1.0,
    }
    ours = hpss.spec.function(spec, **params)
    ref_h, ref_p = librosa.decompose.hpss(spec.data[0])
    error = max(relative(ours.harmonic.data[0], ref_h), relative(ours.percussive.data[0], ref_p))
    engine_s = seconds_of(lambda: hpss.spec.function(spec, **params), REPEATS)
    librosa_s = seconds_of(lambda: librosa.decompose.hpss(spec.data[0]), REPEATS)
    return engine_s, librosa_s, error


def bench_hpss_audio(y: np.ndarray) -> tuple[float, float, float]:
    n = y.size
    g = graph_of(
        ("split", "spectral.hpss", {"in_": "src"}),
        ("h", "spectral.istft", {"in_": "split.harmonic", "length": n}),
        ("p", "spectral.istft", {"in_": "split.percussive", "length": n}),
    )
    out = run(g, y, ["h", "p"])
    ref_h, ref_p = librosa.effects.hpss(y)
    peak = max(np.abs(ref_h).max(), np.abs(ref_p).max())
    error = max(
        np.abs(out["h"].samples[0] - ref_h).max(), np.abs(out["p"].samples[0] - ref_p).max()
    )
    engine_s = seconds_of(lambda: run(g, y, ["h", "p"]), REPEATS)
    librosa_s = seconds_of(lambda: librosa.effects.hpss(y), REPEATS)
    return engine_s, librosa_s, float(error / peak)


def bench_cqt(y: np.ndarray) -> tuple[float, float, float]:
    g = graph_of(("cq", "spectral.cqt", {"in_": "src"}))
    ours = run(g, y, ["cq"])["cq"].data[0]
    ref = librosa.cqt(y, sr=SR)
    error = relative(ours, ref, floor=np.abs(ref).max() * 1e-3)
    engine_s = seconds_of(lambda: run(g, y, ["cq"]), REPEATS)
    librosa_s = seconds_of(lambda: librosa.cqt(y, sr=SR), REPEATS)
    return engine_s, librosa_s, error


def bench_beats(y: np.ndarray) -> tuple[float, float, bool, float]:
    g = graph_of(("spec", "spectral.stft", {"in_": "src"}), ("b", "feature.beats", {"in_": "spec"}))

    def ours():
        result = g.run(outputs=["b", "b.tempo"], inputs={"src": Audio(y, SR)}, cache=False)
        return np.flatnonzero(result["b"].values[0, 0]), float(result["b.tempo"].values[0])

    frames, tempo = ours()
    ref_tempo, ref_frames = librosa.beat.beat_track(y=y, sr=SR)
    same = np.array_equal(frames, ref_frames)
    engine_s = seconds_of(ours, REPEATS)
    librosa_s = seconds_of(lambda: librosa.beat.beat_track(y=y, sr=SR), REPEATS)
    return engine_s, librosa_s, same, abs(tempo - float(np.atleast_1d(ref_tempo)[0]))


def peak_cents(x: np.ndarray, f: float, rate: float) -> float:
    n = 1 << 21
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size), n))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    band = np.flatnonzero((freqs > f * 2 ** (-1 / 24)) & (freqs < f * 2 ** (1 / 24)))
    k = band[np.argmax(spectrum[band])]
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    measured = (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / n
    return 1200.0 * math.log2(measured / f)


def tuning_rows() -> list[tuple[str, float, float]]:
    rate = 44100.0
    midi = np.arange(24, 109)
    freqs = 440.0 * 2.0 ** ((midi - 69) / 12)
    slot = 2.5
    notes = Notes(np.arange(midi.size) * slot, [2.0] * midi.size, freqs, [1.0] * midi.size)
    voices = [
        ("synth.waveguide allpass", "synth.waveguide", {"decay_s": 8.0}),
        ("synth.waveguide allpass, dull", "synth.waveguide", {"decay_s": 8.0, "brightness": 0.0}),
        ("synth.waveguide lagrange", "synth.waveguide", {"interpolator": "lagrange"}),
        ("synth.pluck (for comparison)", "synth.pluck", {"decay_s": 8.0}),
        *(
            (f"synth.modal {body}", "synth.modal", {"instrument": body, "decay_s": 3.0})
            for body in ("bar", "marimba", "bell", "plate")
        ),
    ]
    rows = []
    for label, type_id, params in voices:
        g = ge.Graph(sample_rate=rate)
        g.add("m", "notes.sequence", notes=["A4"])  # replaced by the fed notes
        g.add("v", type_id, in_="m", **params)
        x = g.run(outputs=["v"], inputs={"m": notes}, cache=False)["v"].samples[0]
        errors = []
        for k, f in enumerate(freqs):
            start = round(k * slot * rate)
            segment = x[start + 2205 : start + round(2.0 * rate)].astype(np.float64)
            errors.append(peak_cents(segment, f, rate))
        errors = np.abs(errors)
        rows.append((label, float(errors.max()), float(np.median(errors))))
    return rows


def main() -> None:
    music, what = tracks()
    print(f"music: {what}; mono, {SR} Hz; best of {REPEATS}")
    header = ("task", "track", "engine s", "librosa s", "x librosa", "error")
    print("{:<11} {:<10} {:>9} {:>10} {:>10} {:>12}".format(*header))
    totals: dict[str, list[float]] = {}
    for name, y in music:
        for task, bench in (
            ("hpss", bench_hpss),
            ("hpss audio", bench_hpss_audio),
            ("cqt", bench_cqt),
            ("beats", bench_beats),
        ):
            result = bench(y)
            engine_s, librosa_s = result[0], result[1]
            if task == "beats":
                error = "same frames" if result[2] else "DIFFERENT"
                error += f", tempo {result[3]:.1e}"
            else:
                error = f"{result[2]:.1e}"
            totals.setdefault(task, []).extend([engine_s, librosa_s])
            print(
                f"{task:<11} {name:<10} {engine_s:>9.3f} {librosa_s:>10.3f} "
                f"{librosa_s / engine_s:>10.2f} {error:>12}"
            )
    for task, times in totals.items():
        engine_s, librosa_s = sum(times[0::2]), sum(times[1::2])
        print(
            f"{task:<11} {'all':<10} {engine_s:>9.3f} {librosa_s:>10.3f} "
            f"{librosa_s / engine_s:>10.2f}"
        )
    print()
    print("tuning, C1 to C8 (MIDI 24-108), every semitone, 44.1 kHz")
    print("{:<32} {:>14} {:>15}".format("voice", "max |cents|", "median |cents|"))
    for label, worst, median in tuning_rows():
        print(f"{label:<32} {worst:>14.2e} {median:>15.2e}")


if __name__ == "__main__":
    main()
