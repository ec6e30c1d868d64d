"""Numba kernels of the spectral transforms (private)."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def banded_product(bank, lo, hi, S, out):  # pragma: no cover - compiled
    """out = bank @ S for a filter bank whose row m is zero outside bins lo[m] .. hi[m] - 1.

    Mel filters are triangles a few bins wide, so this reads each spectrogram
    row about twice instead of n_mels times (float32 accumulation, like sgemm).
    """
    bands, frames = out.shape
    for m in range(bands):
        row_out = out[m]
        for j in range(frames):
            row_out[j] = 0.0
        for i in range(lo[m], hi[m]):
            w = bank[m, i]
            row = S[i]
            for j in range(frames):
                row_out[j] += w * row[j]
