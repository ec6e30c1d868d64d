"""Numba kernel of signal.mix: accumulate a scaled block into an output."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def accumulate(out, block, factor):
    """``out += factor * block``; a one-channel ``block`` is added to every channel of ``out``."""
    channels, frames = out.shape
    mono = block.shape[0] == 1
    for c in range(channels):
        source = 0 if mono else c
        for i in range(frames):
            out[c, i] += factor * block[source, i]
