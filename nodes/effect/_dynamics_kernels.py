"""Numba kernels of nodes/effect/dynamics.py, in place on a float32 block (channels, frames).

Private (not scanned by the registry) and imported lazily: importing it loads numba.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def compressor_inplace(
    x,
    state,
    threshold_db,
    ratio,
    knee_db,
    attack_coef,
    release_coef,
    detector_coef,
    makeup,
    use_rms,
):
    """Feed-forward compressor with one gain for all channels (linked).

    The detector gives a level in dB per frame: with ``use_rms``, the mean over
    channels of the squared samples, averaged by a one-pole filter of
    coefficient ``detector_coef``; otherwise the largest absolute sample. The
    static curve turns the level into a gain reduction in dB (``knee_db`` wide
    quadratic knee centred on ``threshold_db``, ``1 - 1/ratio`` of the excess
    above it), which is smoothed by a one-pole filter with ``attack_coef`` while
    it grows and ``release_coef`` while it shrinks. Output = input * makeup *
    10 ** (-reduction / 20). ``state`` float64 (2,) carries the detector's mean
    square and the smoothed reduction in dB. Returns ``x``.
    """
    channels, frames = x.shape
    slope = 1.0 - 1.0 / ratio
    half_knee = 0.5 * knee_db
    power_to_db = 10.0 / math.log(10.0)  # log and exp: cheaper than log10 and pow
    db_to_gain = -math.log(10.0) / 20.0
    mean_square = state[0]
    reduction = state[1]
    for i in range(frames):
        if use_rms:
            acc = 0.0
            for c in range(channels):
                v = np.float64(x[c, i])
                acc += v * v
            mean_square = detector_coef * mean_square + (1.0 - detector_coef) * (acc / channels)
            level = power_to_db * math.log(mean_square + 1e-30)
        else:
            peak = 0.0
            for c in range(channels):
                v = abs(np.float64(x[c, i]))
                if v > peak:
                    peak = v
            level = 2.0 * power_to_db * math.log(peak + 1e-30)
        over = level - threshold_db
        if over <= -half_knee:
            target = 0.0
        elif over < half_knee:
            t = over + half_knee
            target = slope * t * t / (2.0 * knee_db)
        else:
            target = slope * over
        coef = attack_coef if target > reduction else release_coef
        reduction = coef * reduction + (1.0 - coef) * target
        gain = makeup * math.exp(reduction * db_to_gain)
        for c in range(channels):
            x[c, i] = x[c, i] * gain
    state[0] = mean_square
    state[1] = reduction
    return x


@njit(cache=True, nogil=True)
def distortion_inplace(x, drive, hard):
    """In place: ``tanh(drive * x)`` (soft clip), or with ``hard`` ``drive * x`` cut at +-1."""
    channels, frames = x.shape
    for c in range(channels):
        for i in range(frames):
            v = drive * np.float64(x[c, i])
            if hard:
                if v > 1.0:
                    v = 1.0
                elif v < -1.0:
                    v = -1.0
            else:  # tanh through exp, about twice as fast; exact to ~1e-16 absolute
                v = 1.0 - 2.0 / (math.exp(2.0 * v) + 1.0)
            x[c, i] = v
    return x


@njit(cache=True, nogil=True)
def bitcrush_inplace(x, held, counter, levels, hold):
    """Quantise to ``bits`` and sample-and-hold every ``hold`` frames, in place.

    ``levels`` = 2 ** (bits - 1): a sample becomes round(x * levels) / levels,
    clamped to [-1, 1 - 1/levels] (what a signed PCM file of that many bits
    stores). A new sample is taken every ``hold`` frames and repeated in
    between. ``held`` float64 (channels,) keeps the sample being held and
    ``counter`` int64 (1,) the frames since it was taken. Returns ``x``.
    """
    channels, frames = x.shape
    count = counter[0]
    top = (levels - 1.0) / levels
    for i in range(frames):
        if count == 0:
            for c in range(channels):
                v = math.floor(np.float64(x[c, i]) * levels + 0.5) / levels
                if v > top:
                    v = top
                elif v < -1.0:
                    v = -1.0
                held[c] = v
        for c in range(channels):
            x[c, i] = held[c]
        count += 1
        if count >= hold:
            count = 0
    counter[0] = count
    return x


@njit(cache=True, nogil=True)
def dcblock_inplace(x, state, r):
    """DC blocker ``y[n] = x[n] - x[n-1] + r * y[n-1]`` per channel, in place.

    ``state`` float64 (channels, 2) holds ``x[n-1]`` and ``y[n-1]``. Returns ``x``.
    """
    channels, frames = x.shape
    for c in range(channels):
        previous_in = state[c, 0]
        previous_out = state[c, 1]
        for i in range(frames):
            v = np.float64(x[c, i])
            previous_out = v - previous_in + r * previous_out
            previous_in = v
            x[c, i] = previous_out
        state[c, 0] = previous_in
        state[c, 1] = previous_out
    return x


@njit(cache=True, nogil=True)
def distortion_begin(c, drive, hard):
    """Sample form of :func:`distortion_inplace` (see ``SampleStage``): no state."""
    return 0


@njit(cache=True, nogil=True)
def distortion_step(state, v, drive, hard):
    """One frame of :func:`distortion_inplace`, the same arithmetic."""
    v = drive * v
    if hard:
        if v > 1.0:
            v = 1.0
        elif v < -1.0:
            v = -1.0
    else:
        v = 1.0 - 2.0 / (math.exp(2.0 * v) + 1.0)
    return state, v


@njit(cache=True, nogil=True)
def distortion_end(state, c, drive, hard):
    """Nothing to store."""


@njit(cache=True, nogil=True)
def distortion_after(n, drive, hard):
    """Nothing to advance."""


@njit(cache=True, nogil=True)
def dcblock_begin(c, state, r):
    """Sample form of :func:`dcblock_inplace` (see ``SampleStage``): channel ``c``'s
    ``(x[n-1], y[n-1], r)``."""
    return (state[c, 0], state[c, 1], r)


@njit(cache=True, nogil=True)
def dcblock_step(memory, v, state, r):
    """One frame of :func:`dcblock_inplace`, the same arithmetic."""
    previous_in, previous_out, r = memory
    previous_out = v - previous_in + r * previous_out
    return (v, previous_out, r), previous_out


@njit(cache=True, nogil=True)
def dcblock_end(memory, c, state, r):
    """Store channel ``c``'s ``x[n-1]`` and ``y[n-1]``."""
    state[c, 0] = memory[0]
    state[c, 1] = memory[1]


@njit(cache=True, nogil=True)
def dcblock_after(n, state, r):
    """Nothing to advance."""
