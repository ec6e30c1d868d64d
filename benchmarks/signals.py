"""Synthetic music for the benchmarks, used where a real recording cannot be fetched."""

from __future__ import annotations

import numpy as np


def synthetic_music(
    seconds: float,
    rate: float = 44100.0,
    seed: int = 0,
    *,
    pitches: tuple[int, ...] = (48, 52, 55, 57, 60, 64, 67, 69, 72),
    partials: int = 6,
    quiet_middle: bool = False,
) -> np.ndarray:
    """Stereo chords of decaying harmonic notes over noise-burst drums, float32 (2, frames).

    Three notes from ``pitches`` (MIDI) start every 0.5 s, panned at random;
    a burst hits every 0.25 s. ``quiet_middle`` turns the second sixth down
    by 14 dB, for music-like dynamics.
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    x = np.zeros((2, n))
    for start in np.arange(0.0, seconds, 0.5):
        for midi in rng.choice(pitches, 3, replace=False):
            local = np.clip(t - start, 0.0, None)
            phase = 2 * np.pi * 440.0 * 2 ** ((midi - 69) / 12) * local
            note = sum(np.sin(k * phase) / k for k in range(1, partials + 1)) * np.exp(-3 * local)
            pan = rng.uniform(0.2, 0.8)
            x += 0.06 * np.array([[pan], [1 - pan]]) * note * (t >= start)
    for hit in np.arange(0.25, seconds, 0.25):
        i = round(hit * rate)
        burst = rng.standard_normal((2, 2000)) * np.exp(-np.arange(2000) / 300)
        x[:, i : i + 2000] += 0.2 * burst[:, : n - i]
    if quiet_middle:
        x[:, (t > seconds / 3) & (t < seconds / 2)] *= 0.2
    return x.astype(np.float32)
