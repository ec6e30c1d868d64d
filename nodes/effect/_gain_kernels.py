"""Numba kernel of effect.gain: scale a block in place."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def scale_inplace(block, factor):
    """Multiply ``block`` (channels, frames) float32 by ``factor`` in place; returns it."""
    channels, frames = block.shape
    for c in range(channels):
        for i in range(frames):
            block[c, i] *= factor
    return block


@njit(cache=True, nogil=True)
def scale_begin(c, factor):
    """Sample form of :func:`scale_inplace` (see ``SampleStage``): no state."""
    return 0


@njit(cache=True, nogil=True)
def scale_step(state, v, factor):
    """One frame of :func:`scale_inplace`: ``v`` (a float32 value) times ``factor`` in float32."""
    return state, np.float64(np.float32(v) * factor)


@njit(cache=True, nogil=True)
def scale_end(state, c, factor):
    """Nothing to store."""


@njit(cache=True, nogil=True)
def scale_after(n, factor):
    """Nothing to advance."""
