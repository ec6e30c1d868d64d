"""Effects benchmark: time-stretch x0.5 and pitch-shift +4 semitones of 30 s of audio.

Each tool processes the same 30 s mono signal at 44.1 kHz (a 220 Hz tone with
five harmonics, plus a click every 0.5 s), timed in this one run (best of
``REPEATS``), with quality figures beside the times:

- duration error: output length against the ideal (60 s for the stretch,
  30 s for the shift), in percent;
- f0 error: median YIN f0 (librosa.yin) of the output against the ideal
  (220 Hz for the stretch, 220 * 2 ** (4 / 12) = 277.18 Hz for the shift),
  in percent;
- click spread: for the stretch, the mean share of each click's energy that
  lies more than 10 ms from its peak (0 % = every click stays one click).

Tools: the engine's nodes (effect.time_stretch, effect.pitch_shift),
librosa.effects (plain phase vocoder + soxr resampling), pedalboard
(Rubber Band; only if it imports: it is not a dependency) and the sox
command line (WSOLA ``tempo`` and ``pitch``; only if ``sox`` is on PATH;
its times include writing and reading WAV files).

Run: ``python benchmarks/effects.py``
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graphengine.types import Audio
from nodes.effect.timefreq import pitch_shift, time_stretch

SR = 44100
SECONDS = 30.0
F0 = 220.0
RATE = 0.5
SEMITONES = 4.0
REPEATS = 2
CLICK_PERIOD_S = 0.5


def test_signal() -> np.ndarray:
    t = np.arange(round(SECONDS * SR)) / SR
    x = sum(0.25 / k * np.sin(2 * np.pi * k * F0 * t) for k in range(1, 6))
    x[np.arange(round(0.25 * SR), x.size, round(CLICK_PERIOD_S * SR))] += 0.5
    return x.astype(np.float32)


def f0_error(y: np.ndarray, target: float) -> float:
    f = librosa.yin(y.astype(np.float64), fmin=80, fmax=1000, sr=SR, frame_length=4096)
    return 100.0 * (float(np.median(f[4:-4])) / target - 1.0)


def click_spread(y: np.ndarray, stretch: float) -> float:
    """Mean share of click energy beyond 10 ms of its peak (tone removed by a notch comb)."""
    from scipy.signal import lfilter

    period = round(SR / F0)  # 220 Hz: 200.45 samples; the comb notches the harmonics closely
    residual = lfilter([1.0, -1.0], [1.0], y.astype(np.float64))  # emphasise clicks over tone
    residual = residual[period:] - residual[:-period]
    spreads = []
    step = CLICK_PERIOD_S * SR / stretch
    for centre in np.arange(0.25 * SR / stretch, residual.size - step, step)[1:-1]:
        lo, hi = round(centre - step / 2), round(centre + step / 2)
        energy = residual[lo:hi] ** 2
        peak = int(np.argmax(energy))
        w = round(0.010 * SR)
        spreads.append(1.0 - energy[max(0, peak - w) : peak + w].sum() / energy.sum())
    return 100.0 * float(np.mean(spreads))


def engine_stretch(x: np.ndarray) -> np.ndarray:
    return time_stretch(Audio(x, SR), rate=RATE, method="signalsmith").samples[0]


def engine_shift(x: np.ndarray) -> np.ndarray:
    engine = pitch_shift(
        Audio(x, SR), shift_semitones=SEMITONES, shift_cents=0.0, method="signalsmith"
    )
    return engine.samples[0]


def sox(x: np.ndarray, *effect: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        src, dst = Path(folder) / "in.wav", Path(folder) / "out.wav"
        sf.write(src, x, SR, subtype="FLOAT")
        subprocess.run(["sox", str(src), str(dst), *effect], check=True, capture_output=True)
        return sf.read(dst, dtype="float32")[0]


def tools() -> dict[str, tuple[Callable, Callable]]:
    found: dict[str, tuple[Callable, Callable]] = {
        "graphengine": (engine_stretch, engine_shift),
        "librosa": (
            lambda x: librosa.effects.time_stretch(x, rate=RATE),
            lambda x: librosa.effects.pitch_shift(x, sr=SR, n_steps=SEMITONES),
        ),
    }
    try:
        import pedalboard
    except ImportError:
        print("pedalboard: not installed, skipped")
    else:
        found["pedalboard"] = (
            lambda x: pedalboard.time_stretch(x[None], SR, stretch_factor=RATE)[0],
            lambda x: pedalboard.PitchShift(semitones=SEMITONES)(x[None], SR)[0],
        )
    if shutil.which("sox"):
        found["sox"] = (
            lambda x: sox(x, "tempo", "-m", str(RATE)),
            lambda x: sox(x, "pitch", str(100 * SEMITONES)),
        )
    else:
        print("sox: not on PATH, skipped")
    return found


def timed(fn: Callable, x: np.ndarray) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = fn(x)
        best = min(best, time.perf_counter() - start)
    return best, np.asarray(out, dtype=np.float32).reshape(-1)


def main() -> None:
    x = test_signal()
    engine_stretch(x[: SR // 2])  # warm up imports before timing
    rows = []
    for name, (stretch, shift) in tools().items():
        seconds, y = timed(stretch, x)
        ideal = x.size / RATE
        rows.append(
            (
                name,
                "stretch x0.5",
                seconds,
                100.0 * (y.size / ideal - 1.0),
                f0_error(y, F0),
                click_spread(y, RATE),
            )
        )
        seconds, y = timed(shift, x)
        target = F0 * 2 ** (SEMITONES / 12)
        rows.append(
            (
                name,
                "shift +4 st",
                seconds,
                100.0 * (y.size / x.size - 1.0),
                f0_error(y, target),
                float("nan"),
            )
        )
    base = {task: s for name, task, s, *_ in rows if name == "graphengine"}
    print(f"30 s mono at {SR} Hz, best of {REPEATS}")
    header = ("tool", "task", "time s", "x engine", "dur err %", "f0 err %", "click spread %")
    print("{:<12} {:<13} {:>8} {:>9} {:>10} {:>9} {:>15}".format(*header))
    for name, task, seconds, dur, f0, spread in rows:
        print(
            f"{name:<12} {task:<13} {seconds:>8.3f} {seconds / base[task]:>9.2f} "
            f"{dur:>10.3f} {f0:>9.3f} {spread:>15.1f}"
        )


if __name__ == "__main__":
    main()
