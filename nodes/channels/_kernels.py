"""Numba kernels of nodes/channels/remix.py and effect.pan: channel remixing, selection and merging.

Kernels that change the channel count write into ``out`` (at least as many
frames as the block) and return the view ``out[:, :frames]``, so a caller can
hand them a buffer it keeps from block to block. Private (not scanned by the
registry) and imported lazily: importing it loads numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def remix_into(x, out, matrix):
    """``out[o] = sum_c matrix[o, c] * x[c]`` over a block ``x``; returns a view."""
    channels, frames = x.shape
    outputs = matrix.shape[0]
    for o in range(outputs):
        for i in range(frames):
            acc = 0.0
            for c in range(channels):
                acc += matrix[o, c] * np.float64(x[c, i])
            out[o, i] = acc
    return out[:, :frames]


@njit(cache=True, nogil=True)
def select_into(x, out, picks):
    """``out[k] = x[picks[k]]`` for a block ``x`` (channels, frames); returns the view."""
    frames = x.shape[1]
    for k in range(picks.shape[0]):
        source = picks[k]
        for i in range(frames):
            out[k, i] = x[source, i]
    return out[:, :frames]


@njit(cache=True, nogil=True)
def merge_into(blocks, out):
    """Stack the channels of a tuple of blocks (channels_i, n) into ``out``; returns a view."""
    frames = blocks[0].shape[1]
    row = 0
    for block in blocks:
        for c in range(block.shape[0]):
            for i in range(frames):
                out[row, i] = block[c, i]
            row += 1
    return out[:, :frames]
