"""Numba kernels of nodes/feature/loudness.py (and the true-peak detector of effect.limiter).

Private (not scanned by the registry) and imported lazily: importing it loads numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def kweighted_hop_energy(x, sos, weights, bounds, out):  # pragma: no cover - compiled
    """Channel-weighted energy of the K-weighted signal in each hop.

    ``x`` (channels, frames) float32 is read, not changed. Each channel runs
    through the second-order sections ``sos`` (sections, 6), scipy's layout,
    in transposed direct form II with float64 state from rest. ``out[j]`` (float64,
    len(bounds) - 1) becomes Σ_c weights[c] Σ y_c[n]² over bounds[j] <= n < bounds[j + 1].
    """
    channels, frames = x.shape
    sections = sos.shape[0]
    hops = bounds.shape[0] - 1
    for j in range(hops):
        out[j] = 0.0
    z = np.zeros((sections, 2))
    for c in range(channels):
        w = weights[c]
        if w == 0.0:
            continue
        z[:, :] = 0.0
        for j in range(hops):
            acc = 0.0
            for i in range(bounds[j], min(bounds[j + 1], frames)):
                y = np.float64(x[c, i])
                for s in range(sections):
                    u = y
                    y = sos[s, 0] * u + z[s, 0]
                    z[s, 0] = sos[s, 1] * u - sos[s, 4] * y + z[s, 1]
                    z[s, 1] = sos[s, 2] * u - sos[s, 5] * y
                acc += y * y
            out[j] += w * acc


@njit(cache=True, nogil=True)
def true_peaks(x, phases, padded, out):  # pragma: no cover - compiled
    """Largest absolute value of each channel of ``x`` oversampled by len(phases) + 1.

    ``phases`` (p, 2k) float64 holds the interpolation taps of the fractional
    positions (q + 1) / (p + 1), q < p, between two samples: the value at
    n + (q + 1) / (p + 1) is Σ_m phases[q, m] x[n - k + 1 + m] (samples outside
    the signal are 0). The samples themselves count too. ``padded`` float64
    (frames + 2k,) is scratch for one channel with k zeros on either side;
    ``out`` (channels,) float64 receives the peaks.
    """
    channels, frames = x.shape
    taps = phases.shape[1]
    k = taps // 2
    padded[:] = 0.0
    for c in range(channels):
        peak = 0.0
        for n in range(frames):
            v = np.float64(x[c, n])
            padded[k + n] = v
            peak = max(peak, abs(v))
        # the intervals after samples -1 .. frames - 1: window start n - k + 1, padded by k
        out[c] = max(peak, _interpolated_peaks(padded, frames + 1, phases))


@njit(cache=True, nogil=True, fastmath=True)
def _interpolated_peaks(window, count, phases):  # pragma: no cover - compiled
    """Largest |value| the phases interpolate from window[s : s + taps], over s < count."""
    p, taps = phases.shape
    peak = 0.0
    for start in range(count):
        for q in range(p):
            acc = 0.0
            for m in range(taps):
                acc += phases[q, m] * window[start + m]
            peak = max(peak, abs(acc))
    return peak
