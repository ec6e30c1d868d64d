"""Numba kernel of the periodic discrete wavelet transform (private: not scanned)."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def dwt_step(x, n, lo, hi, approx, detail):  # pragma: no cover - compiled
    """One analysis level on x[:n] (n even), periodic extension.

    approx[i] = Σ_k lo[k] x[(2i + k) mod n], detail[i] likewise with hi;
    both hold n // 2 values. With an orthonormal filter pair the energy of
    approx and detail together equals that of x[:n] (Parseval).
    """
    half = n // 2
    taps = lo.shape[0]
    for i in range(half):
        a = 0.0
        d = 0.0
        base = 2 * i
        for k in range(taps):
            v = x[(base + k) % n]
            a += lo[k] * v
            d += hi[k] * v
        approx[i] = a
        detail[i] = d
