"""Measuring a partial's frequency to a small fraction of a cent, for the tuning tests.

A plain module rather than a conftest (see node_harness.py for why).
"""

from __future__ import annotations

import math

import numpy as np


def peak_hz(x: np.ndarray, near: float, rate: float, width_cents: float = 100.0) -> float:
    """The strongest peak within ``width_cents`` of ``near`` Hz, in Hz.

    A 2^21-point Hann-windowed FFT with a parabolic fit through the log
    magnitudes of the peak bin and its neighbours.
    """
    n = 1 << 21
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size), n))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    r = 2 ** (width_cents / 1200)
    band = np.flatnonzero((freqs > near / r) & (freqs < near * r))
    k = band[np.argmax(spectrum[band])]
    assert band[0] < k < band[-1], "the peak is at the edge of the band: not a partial"
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / n


def cents(measured: float, target: float) -> float:
    return 1200.0 * math.log2(measured / target)
