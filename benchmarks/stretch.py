"""Time-stretch benchmark: effect.time_stretch against its peers on 20 s of stereo music.

Each tool stretches the same 20 s stereo excerpt at 44.1 kHz by each rate,
timed in this one run (best of ``REPEATS``), and then stretches its own
output back by ``1 / rate``. Figures:

- × realtime: seconds of input per second of the forward stretch;
- × engine: the tool's time over the engine node's (default method) at that rate;
- round trip: mean |dB difference| between the log-mel spectrograms (64 mel
  bands, 80 dB floor, librosa) of the input and of the round trip, per
  channel, over the shorter of the two (0 dB = identical).

Tools: the engine node through ``Graph.run(inputs=..., cache=False)``, both
methods (``signalsmith``, the default, and ``hpss``, the engine's own HPSS
plus locked phase vocoder); ``python_stretch`` (Signalsmith Stretch) called
directly; ``librosa.effects.time_stretch`` (a plain phase vocoder).

The music is track 1 of Debian's ``drascula-music`` (the freely
redistributable soundtrack of Drascula: The Vampire Strikes Back), 20 s from
0:30, fetched once with ``apt-get download`` into ``$GRAPHENGINE_BENCH_DATA``
(default ``~/.cache/graphengine/bench``), never into the repository. Where
that fails, a synthetic music-like signal is used instead and the script says so.

Run: ``python benchmarks/stretch.py``
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from debian_data import package_root

import graphengine as ge

SR = 44100
SECONDS = 20.0
OFFSET_S = 30.0
RATES = (0.5, 0.8, 1.25, 2.0)
REPEATS = 2
PACKAGE = "drascula-music"
TRACK = "usr/share/scummvm/drascula/audio/track1.ogg"


def fetch_track() -> Path:
    """The track's path, downloading and unpacking the Debian package the first time."""
    return package_root(PACKAGE) / TRACK


def synthetic_music(seed: int = 0) -> np.ndarray:
    """Stereo chords of decaying harmonic notes with vibrato, over noise-burst drums."""
    rng = np.random.default_rng(seed)
    n = round(SECONDS * SR)
    t = np.arange(n) / SR
    x = np.zeros((2, n))
    for start in np.arange(0.0, SECONDS, 0.5):
        for midi in rng.choice([48, 52, 55, 57, 60, 64, 67, 69, 72], 3, replace=False):
            local = np.clip(t - start, 0.0, None)
            phase = 2 * np.pi * 440.0 * 2 ** ((midi - 69) / 12) * local
            note = sum(np.sin(k * phase) / k for k in range(1, 7)) * np.exp(-3.0 * local)
            pan = rng.uniform(0.2, 0.8)
            x += 0.06 * np.array([[pan], [1 - pan]]) * note * (t >= start)
    for hit in np.arange(0.25, SECONDS, 0.25):
        i = round(hit * SR)
        burst = rng.standard_normal((2, 2000)) * np.exp(-np.arange(2000) / 300)
        x[:, i : i + 2000] += 0.2 * burst[:, : n - i]
    return x.astype(np.float32)


def music() -> tuple[np.ndarray, str]:
    """(2, frames) float32 and a description of what it is."""
    try:
        track = fetch_track()
        x, rate = sf.read(track, dtype="float32", always_2d=True)
    except (OSError, subprocess.CalledProcessError, StopIteration) as error:
        print(f"music: could not fetch {PACKAGE} ({error}); using a synthetic signal")
        return synthetic_music(), "synthetic music-like signal"
    if rate != SR:
        x = librosa.resample(x.T, orig_sr=rate, target_sr=SR).T
    start = round(OFFSET_S * SR)
    excerpt = np.ascontiguousarray(x[start : start + round(SECONDS * SR)].T)
    return excerpt, f"{PACKAGE} {Path(TRACK).name}, {OFFSET_S:g} s on"


def engine(method: str) -> Callable[[np.ndarray, float], np.ndarray]:
    def stretch(x: np.ndarray, rate: float) -> np.ndarray:
        g = ge.Graph(sample_rate=SR, name="bench-stretch")
        g.add("src", "source.file", path="fed-from-python.wav")
        g.add("st", "effect.time_stretch", in_="src", rate=rate, method=method)
        result = g.run(outputs=["st"], inputs={"src": ge.Audio(x, SR)}, cache=False)
        return result["st"].samples

    return stretch


def signalsmith(x: np.ndarray, rate: float) -> np.ndarray:
    from python_stretch.Signalsmith import Stretch

    stretch = Stretch(0)
    stretch.preset(x.shape[0], float(SR))
    stretch.setTimeFactor(rate)
    return stretch.process(np.ascontiguousarray(x, dtype=np.float32))


def phase_vocoder(x: np.ndarray, rate: float) -> np.ndarray:
    return librosa.effects.time_stretch(x, rate=rate)


TOOLS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "graphengine": engine("signalsmith"),
    "graphengine hpss": engine("hpss"),
    "python_stretch": signalsmith,
    "librosa": phase_vocoder,
}


def log_mel_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |dB difference| of 64-band log-mel spectrograms (80 dB floor), per channel, in dB."""
    n = min(a.shape[-1], b.shape[-1])

    def db(y: np.ndarray) -> np.ndarray:
        mel = librosa.feature.melspectrogram(y=y[..., :n].astype(np.float32), sr=SR, n_mels=64)
        return librosa.power_to_db(mel, ref=1.0, top_db=80.0)

    return float(np.mean(np.abs(db(a) - db(b))))


def timed(fn: Callable[[np.ndarray, float], np.ndarray], x: np.ndarray, rate: float):
    best, out = float("inf"), None
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = fn(x, rate)
        best = min(best, time.perf_counter() - start)
    return best, np.asarray(out, dtype=np.float32)


def main() -> None:
    x, what = music()
    for fn in TOOLS.values():
        fn(x[:, : SR // 2], 0.8)  # warm up imports before timing
    rows = []
    for rate in RATES:
        for name, fn in TOOLS.items():
            seconds, y = timed(fn, x, rate)
            back = np.asarray(fn(y, 1.0 / rate), dtype=np.float32)
            length_error = y.shape[-1] - round(x.shape[-1] / rate)
            rows.append((rate, name, seconds, length_error, log_mel_distance(x, back)))
    base = {rate: s for rate, name, s, *_ in rows if name == "graphengine"}
    print(f"{SECONDS:g} s stereo at {SR} Hz ({what}), best of {REPEATS}")
    header = ("rate", "tool", "time s", "x realtime", "x engine", "len err", "round trip dB")
    print("{:>5} {:<17} {:>7} {:>11} {:>9} {:>8} {:>14}".format(*header))
    for rate, name, seconds, length_error, distance in rows:
        print(
            f"{rate:>5g} {name:<17} {seconds:>7.3f} {SECONDS / seconds:>11.1f} "
            f"{seconds / base[rate]:>9.2f} {length_error:>8d} {distance:>14.2f}"
        )


if __name__ == "__main__":
    main()
