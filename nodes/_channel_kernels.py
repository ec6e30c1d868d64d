"""Numba kernels of nodes/channels.py: channel remixing, selection, merging and fades.

Kernels that change the channel count write into ``out`` (at least as many
frames as the block) and return the view ``out[:, :frames]``, so a caller can
hand them a buffer it keeps from block to block. Private (not scanned by the
registry) and imported lazily: importing it loads numba.
"""

from __future__ import annotations

import math

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


@njit(cache=True, nogil=True)
def fade_inplace(x, position, fade_in, fade_out, total, equal_power):
    """Fade a block in place: gain rises over frames [0, fade_in), falls over the last fade_out.

    ``position`` int64 (1,) is the index of the block's first frame in the
    whole signal of ``total`` frames. The rise at frame j is ``t = j /
    fade_in`` (0 on the first frame); the fall is its complement, ``t = (total
    - j) / fade_out`` (1/fade_out on the last frame); the gain is ``t``
    (linear) or ``sin(t * pi / 2)`` (``equal_power``), and the product of both
    where they overlap. Frames at or beyond ``total`` get 0. Returns ``x``.
    """
    channels, frames = x.shape
    start = position[0]
    fall_from = total - fade_out
    for i in range(frames):
        j = start + i
        if j >= fade_in and j < fall_from:
            continue
        gain = 1.0
        if j >= total:
            gain = 0.0
        else:
            if j < fade_in:
                t = j / fade_in
                gain *= math.sin(t * (0.5 * math.pi)) if equal_power else t
            if j >= fall_from:
                t = (total - j) / fade_out
                gain *= math.sin(t * (0.5 * math.pi)) if equal_power else t
        for c in range(channels):
            x[c, i] = x[c, i] * gain
    position[0] = start + frames
    return x
