"""Synthetic signals with the dynamics of music, for the loudness and dynamics tests.

A plain module (see node_harness.py for why not a conftest). Nothing is
downloaded: real recordings are measured in benchmarks/loudness.py.
"""

from __future__ import annotations

import numpy as np
import scipy.signal as sps

RATE = 44100


def music_like(seconds: float, rate: int, seed: int) -> np.ndarray:
    """A stereo mix of chords, bass, kicks, hats and a quiet bridge: music-like dynamics."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    out = np.zeros((2, n))
    for bar in range(int(seconds / 2)):
        start, stop = int(bar * 2 * rate), min(n, int((bar + 1) * 2 * rate))
        root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
        seg = t[start:stop] - t[start]
        env = np.exp(-seg * 1.5)
        for k, ratio in enumerate((1.0, 1.26, 1.5, 2.0)):
            partial = np.sin(2 * np.pi * root * ratio * seg + rng.uniform(0, 6))
            out[k % 2, start:stop] += 0.15 * env * partial
        out[:, start:stop] += 0.25 * np.sin(2 * np.pi * root / 2 * seg) * env
    kick = np.exp(-np.arange(4000) / 400) * np.sin(2 * np.pi * 55 * np.arange(4000) / rate)
    hat = rng.standard_normal(600) * np.exp(-np.arange(600) / 80)
    for beat in np.arange(0, seconds, 0.5):
        i = int(beat * rate)
        out[:, i : i + 4000] += 0.6 * kick[: n - i]
        j = i + int(0.25 * rate)
        if j < n:
            out[0, j : j + 600] += 0.2 * hat[: n - j]
            out[1, j : j + 600] += 0.15 * hat[: n - j]
    quiet = (t > seconds * 0.4) & (t < seconds * 0.6)  # a bridge 12 dB down
    out[:, quiet] *= 0.25
    return out.astype(np.float32)


def pink(seconds: float, rate: int, seed: int, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    white = rng.standard_normal((channels, round(seconds * rate)))
    b, a = [0.049922035, -0.095993537, 0.050612699, -0.004408786], [1, -2.494956, 2.017265, -0.5221]
    slow = 1.0 + 0.7 * np.sin(2 * np.pi * 0.13 * np.arange(white.shape[1]) / rate)
    return (0.3 * sps.lfilter(b, a, white) * slow).astype(np.float32)


def loud_mix(seconds: float = 6.0, seed: int = 1) -> np.ndarray:
    """A stereo mix far over full scale: bass, gated noise, kicks and bright hats (transients)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    bed = 0.5 * np.sin(2 * np.pi * 110 * t) + 0.3 * rng.standard_normal(n) * (
        np.sin(2 * np.pi * 0.5 * t) > 0
    )
    hits = np.zeros(n)
    hits[:: RATE // 2] = 1.0
    body = np.exp(-np.arange(2000) / 300) * np.sin(2 * np.pi * 60 * np.arange(2000) / RATE)
    kick = 1.5 * np.convolve(hits, body)[:n]
    ticks = np.zeros(n)
    ticks[RATE // 4 :: RATE // 2] = 1.0
    hat = np.convolve(ticks, rng.standard_normal(300) * np.exp(-np.arange(300) / 50))[:n]
    return (2.0 * np.vstack([bed + kick + hat, 0.8 * bed + kick - hat])).astype(np.float32)
