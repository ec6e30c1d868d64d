"""Numba kernels of the sinks: one pass from the engine's blocks to what a file takes."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def interleave_for_file(block: np.ndarray, out: np.ndarray, clip: bool) -> tuple[int, int]:
    """Copy ``block`` (channels, n) into ``out`` (n, channels), made safe for a file.

    NaN and infinite samples become 0; with ``clip`` samples beyond full scale
    are clipped to [-1, 1]. Returns (non-finite samples, clipped samples):
    what numpy's transpose, ``isfinite`` and ``clip`` give, in one pass
    instead of four.
    """
    channels, frames = block.shape
    nonfinite = 0
    clipped = 0
    for i in range(frames):
        for c in range(channels):
            x = block[c, i]
            if not np.isfinite(x):
                nonfinite += 1
                x = np.float32(0.0)
            elif clip:
                if x > 1.0:
                    clipped += 1
                    x = np.float32(1.0)
                elif x < -1.0:
                    clipped += 1
                    x = np.float32(-1.0)
            out[i, c] = x
    return nonfinite, clipped


@njit(cache=True, nogil=True)
def interleave_pcm16(block: np.ndarray, out: np.ndarray) -> tuple[int, int]:
    """:func:`interleave_for_file` (clipping) straight to 16-bit integers ``out`` (n, channels).

    A sample ``x`` in [-1, 1] becomes ``floor(rint(x * 2**31) / 2**16)``, at
    most 32767, all exact in float32 (rint rounds half to even): what
    libsndfile writes for a float sample in a PCM_16 file (it rounds to 32
    bits, then keeps the top 16), so the bytes are the same as when it
    converts, in one pass instead of two.
    """
    channels, frames = block.shape
    up = np.float32(2.0**31)
    down = np.float32(2.0**-16)
    nonfinite = 0
    clipped = 0
    for i in range(frames):
        for c in range(channels):
            x = block[c, i]
            if not np.isfinite(x):
                nonfinite += 1
                x = np.float32(0.0)
            elif x > 1.0:
                clipped += 1
                x = np.float32(1.0)
            elif x < -1.0:
                clipped += 1
                x = np.float32(-1.0)
            out[i, c] = np.int16(min(np.floor(np.rint(x * up) * down), np.float32(32767.0)))
    return nonfinite, clipped
