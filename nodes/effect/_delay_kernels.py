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


@njit(cache=True, nogil=True)
def delay_begin(c, line, position, feedback, wet, dry):
    """Sample form of :func:`delay_inplace` (see ``SampleStage``): state ``(c, slot)``."""
    return (c, position[0])


@njit(cache=True, nogil=True)
def delay_step(state, v, line, position, feedback, wet, dry):
    """One frame of :func:`delay_inplace` on channel ``state[0]`` at slot ``state[1]``."""
    c, p = state
    delayed = line[c, p]
    line[c, p] = v + feedback * delayed
    y = dry * v + wet * delayed
    p += 1
    if p == line.shape[1]:
        p = 0
    return (c, p), y


@njit(cache=True, nogil=True)
def delay_end(state, c, line, position, feedback, wet, dry):
    """Nothing to store per channel: every channel ends on the same slot."""


@njit(cache=True, nogil=True)
def delay_after(n, line, position, feedback, wet, dry):
    """Advance the slot by the block's ``n`` frames, as :func:`delay_inplace` does."""
    position[0] = (position[0] + n) % line.shape[1]
