"""Numba kernels for gain and mixing: arrays and scalars in, state updated in place."""

from numba import njit


@njit(cache=True, nogil=True)
def scale_inplace(block, factor):
    """Multiply ``block`` (channels, frames) float32 by ``factor`` in place."""
    channels, frames = block.shape
    for c in range(channels):
        for i in range(frames):
            block[c, i] *= factor


@njit(cache=True, nogil=True)
def accumulate(out, block, factor):
    """``out += factor * block``; a one-channel ``block`` is added to every channel of ``out``."""
    channels, frames = out.shape
    mono = block.shape[0] == 1
    for c in range(channels):
        source = 0 if mono else c
        for i in range(frames):
            out[c, i] += factor * block[source, i]
