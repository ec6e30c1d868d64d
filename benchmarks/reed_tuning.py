"""Tuning of synth.clarinet over its range, by two estimators that know nothing of the model.

Run as a script: ``python benchmarks/reed_tuning.py``. Every third semitone
from A1 (55 Hz) to C7 (2093 Hz) is held for 0.8 s at velocity 0.3 and 1.0
(default parameters: breath noise 0.02, tongue 1). The steady part (0.15 s
to 0.75 s) is measured by (a) the peak of a 2^21-point Hann-windowed FFT with
a parabolic fit through the log magnitudes (tests/fine_pitch.py), and (b)
``librosa.pyin`` with 1-cent resolution, the median f0 of its voiced frames.
pyin's own bias is shown beside it: its reading of an exact odd-harmonic
wave (harmonics 1, 3, 5, 7, 9 at 1/k) of the same frequency and length (it
reads such a wave up to 3 cents sharp above 1.5 kHz, where a period is
under 30 samples). Also printed: the level of harmonics 2 and 3 against the
fundamental (a clarinet's even harmonics are weak).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fine_pitch import cents, peak_hz  # noqa: E402

from graphengine.node import NodeContext  # noqa: E402
from graphengine.types import Notes  # noqa: E402
from nodes.synth import clarinet as reed  # noqa: E402

RATE = 44100.0


def render(notes: Notes) -> np.ndarray:
    spec = reed.clarinet.spec
    kwargs = {p.name: p.default for p in spec.params if not p.required}
    ctx = NodeContext("bench", spec.type_id, RATE, Path("."))
    return reed.clarinet(notes, **kwargs, ctx=ctx).samples[0].astype(np.float64)


def harmonic_db(x: np.ndarray, f: float, k: int) -> float:
    t = np.arange(x.size) / RATE
    w = np.hanning(x.size)
    level = [abs(np.sum(w * x * np.exp(-2j * np.pi * h * f * t))) for h in (1, k)]
    return 20 * np.log10(level[1] / level[0])


def pyin_cents(x: np.ndarray, f: float) -> float:
    import librosa

    track, voiced, _ = librosa.pyin(
        x.astype(np.float32), fmin=f / 2, fmax=f * 2, sr=RATE, frame_length=4096, resolution=0.01
    )
    return cents(float(np.median(track[voiced])), f)


def main() -> None:

    midi = np.arange(33, 97, 3)
    f0 = 440.0 * 2.0 ** ((midi - 69) / 12)
    header = ("note Hz", "vel", "FFT cents", "pyin cents", "pyin exact", "H2 dB", "H3 dB")
    print("".join(f"{h:>{w}}" for h, w in zip(header, (9, 5, 11, 12, 12, 8, 8), strict=True)))
    worst_fft = worst_pyin = worst_gap = 0.0
    for velocity in (0.3, 1.0):
        notes = Notes(np.arange(midi.size) * 0.8, [0.75] * midi.size, f0, [velocity] * midi.size)
        x = render(notes)
        for k, f in enumerate(f0):
            start = round(notes.onset_s[k] * RATE)
            steady = x[start + round(0.15 * RATE) : start + round(0.75 * RATE)]
            fft = cents(peak_hz(steady, f, RATE), f)
            pyin = pyin_cents(steady, f)
            t = np.arange(steady.size) / RATE
            exact = sum(
                np.sin(2 * np.pi * h * f * t) / h for h in (1, 3, 5, 7, 9) if h * f < RATE / 2
            )
            bias = pyin_cents(exact, f)
            worst_fft, worst_pyin = max(worst_fft, abs(fft)), max(worst_pyin, abs(pyin))
            worst_gap = max(worst_gap, abs(pyin - bias))
            h2, h3 = harmonic_db(steady, f, 2), harmonic_db(steady, f, 3)
            print(
                f"{f:>9.1f}{velocity:>5.1f}{fft:>11.3f}{pyin:>12.2f}{bias:>12.2f}{h2:>8.1f}{h3:>8.1f}"
            )
    print(f"worst |error|: FFT peak {worst_fft:.3f} cent, pyin {worst_pyin:.2f} cent")
    print(f"worst |pyin - pyin on the exact wave|: {worst_gap:.2f} cent")


if __name__ == "__main__":
    main()
