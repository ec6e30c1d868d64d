"""Numba kernel of effect.fade: a gain curve applied in place."""

from __future__ import annotations

import math

from numba import njit


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


@njit(cache=True, nogil=True)
def fade_begin(c, position, fade_in, fade_out, total, equal_power):
    """Sample form of :func:`fade_inplace` (see ``SampleStage``): the frame index."""
    return position[0]


@njit(cache=True, nogil=True)
def fade_step(j, v, position, fade_in, fade_out, total, equal_power):
    """One frame of :func:`fade_inplace` at frame ``j`` of the signal, the same arithmetic."""
    if j >= fade_in and j < total - fade_out:
        return j + 1, v
    gain = 1.0
    if j >= total:
        gain = 0.0
    else:
        if j < fade_in:
            t = j / fade_in
            gain *= math.sin(t * (0.5 * math.pi)) if equal_power else t
        if j >= total - fade_out:
            t = (total - j) / fade_out
            gain *= math.sin(t * (0.5 * math.pi)) if equal_power else t
    return j + 1, v * gain


@njit(cache=True, nogil=True)
def fade_end(j, c, position, fade_in, fade_out, total, equal_power):
    """Nothing to store per channel: every channel ends on the same frame."""


@njit(cache=True, nogil=True)
def fade_after(n, position, fade_in, fade_out, total, equal_power):
    """Advance the frame index by the block's ``n`` frames."""
    position[0] += n
