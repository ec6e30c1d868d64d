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
