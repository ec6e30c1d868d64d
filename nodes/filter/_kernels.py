"""Numba kernels of nodes/filter/iir.py: cascaded second-order sections, run in place.

Private (not scanned by the registry) and imported lazily: importing it loads numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def sosfilt_inplace(x, sos, zi, scratch):
    """Filter ``x`` (channels, frames) float32 in place through second-order sections.

    ``sos`` (sections, 6) float64 holds ``b0 b1 b2 a0 a1 a2`` per row with
    ``a0 == 1`` (scipy's layout). ``zi`` (channels, sections, 2) float64 carries
    the transposed direct form II state from call to call. ``scratch`` (2, m)
    float64, any m >= 1, holds the signal between sections so that the whole
    cascade runs in float64 and rounds to float32 once. Channels run in pairs
    through one loop: two independent recursions keep the CPU busy while each
    waits on its own previous sample. Returns ``x``.
    """
    channels, frames = x.shape
    sections = sos.shape[0]
    chunk = scratch.shape[1]
    c = 0
    while c < channels:
        pair = c + 1 < channels
        d = c + 1 if pair else c
        for start in range(0, frames, chunk):
            n = min(chunk, frames - start)
            for s in range(sections):
                b0 = sos[s, 0]
                b1 = sos[s, 1]
                b2 = sos[s, 2]
                a1 = sos[s, 4]
                a2 = sos[s, 5]
                z0 = zi[c, s, 0]
                z1 = zi[c, s, 1]
                w0 = zi[d, s, 0]
                w1 = zi[d, s, 1]
                first = s == 0
                last = s == sections - 1
                for i in range(n):
                    if first:
                        u = np.float64(x[c, start + i])
                        v = np.float64(x[d, start + i])
                    else:
                        u = scratch[0, i]
                        v = scratch[1, i]
                    y = b0 * u + z0
                    z0 = b1 * u - a1 * y + z1
                    z1 = b2 * u - a2 * y
                    q = b0 * v + w0
                    w0 = b1 * v - a1 * q + w1
                    w1 = b2 * v - a2 * q
                    if last:
                        x[c, start + i] = y
                        x[d, start + i] = q if pair else y
                    else:
                        scratch[0, i] = y
                        scratch[1, i] = q
                zi[c, s, 0] = z0
                zi[c, s, 1] = z1
                if pair:
                    zi[d, s, 0] = w0
                    zi[d, s, 1] = w1
        c += 2
    return x


@njit(cache=True, nogil=True)
def section_begin(c, sos, zi, s):
    """Sample form of section ``s`` of :func:`sosfilt_inplace` (see ``SampleStage``).

    The state: the section's coefficients and channel ``c``'s two memories.
    """
    return (sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5], zi[c, s, 0], zi[c, s, 1])


@njit(cache=True, nogil=True)
def section_step(state, u, sos, zi, s):
    """One frame through one section, the arithmetic of :func:`sosfilt_inplace`."""
    b0, b1, b2, a1, a2, z0, z1 = state
    y = b0 * u + z0
    z0 = b1 * u - a1 * y + z1
    z1 = b2 * u - a2 * y
    return (b0, b1, b2, a1, a2, z0, z1), y


@njit(cache=True, nogil=True)
def section_end(state, c, sos, zi, s):
    """Store channel ``c``'s memories of section ``s``."""
    zi[c, s, 0] = state[5]
    zi[c, s, 1] = state[6]


@njit(cache=True, nogil=True)
def section_after(n, sos, zi, s):
    """Nothing to advance."""
