"""Numba kernel of effect.gain: scale a block in place."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def scale_inplace(block, factor):
    """Multiply ``block`` (channels, frames) float32 by ``factor`` in place; returns it."""
    channels, frames = block.shape
    for c in range(channels):
        for i in range(frames):
            block[c, i] *= factor
    return block
