"""Numba kernels of nodes/effect/delay.py, each in place on a float32 block (channels, frames).

Private (not scanned by the registry) and imported lazily: importing it loads numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def delay_inplace(x, line, position, feedback, wet, dry):
    """Feedback delay over a ring buffer, in place.

    ``line`` float64 (channels, d) is the delay line of d frames and
    ``position`` int64 (1,) the slot about to be overwritten, which holds the
    line's value d frames ago. Per frame: ``delayed = line[slot]``;
    ``line[slot] = x + feedback * delayed``; ``y = dry * x + wet * delayed``.
    An impulse thus comes out with ``dry`` at 0 and ``wet * feedback**(k-1)``
    at k * d. Returns ``x``.
    """
    channels, frames = x.shape
    length = line.shape[1]
    start = position[0]
    for c in range(channels):
        p = start
        for i in range(frames):
            delayed = line[c, p]
            v = np.float64(x[c, i])
            line[c, p] = v + feedback * delayed
            x[c, i] = dry * v + wet * delayed
            p += 1
            if p == length:
                p = 0
    position[0] = (start + frames) % length
    return x


@njit(cache=True, nogil=True)
def echo_inplace(x, history, position, gains, spacing):
    """Finite echo in place: ``y[n] = x[n] + sum_k gains[k-1] * x[n - k * spacing]``, k = 1..r.

    ``r = len(gains)``. ``history`` float32 (channels, r * spacing) is a ring of the past
    input; ``position`` int64 (1,) the slot the current frame goes to, which
    holds the input ``len(gains) * spacing`` frames ago. Returns ``x``.
    """
    channels, frames = x.shape
    length = history.shape[1]
    repeats = gains.shape[0]
    start = position[0]
    for c in range(channels):
        p = start
        for i in range(frames):
            v = x[c, i]
            acc = np.float64(v)
            tap = p
            for k in range(repeats):
                tap -= spacing
                if tap < 0:
                    tap += length
                acc += gains[k] * history[c, tap]
            history[c, p] = v
            x[c, i] = acc
            p += 1
            if p == length:
                p = 0
    position[0] = (start + frames) % length
    return x
