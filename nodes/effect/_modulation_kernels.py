"""Numba kernels of the modulation effects (chorus, flanger, vibrato, phaser, tremolo).

Each works in place on a float32 block (channels, frames). The LFO is a pure
function of the absolute frame index ``n`` (``count`` carries the frames
already processed), so its phase continues across blocks exactly and a run
in blocks gives the same samples as one run over the whole signal.

Private (not scanned by the registry) and imported lazily: importing it loads numba.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SINE = 0
TRIANGLE = 1
MIN_DELAY_FRAMES = 2.0
"""Shortest delay the 4-point read can take with the current frame not yet written."""
ANCHOR_MASK = 1023
"""A sine LFO is computed exactly at every frame n with ``n & ANCHOR_MASK == 0`` and rotated
(a complex multiply, exact to rounding) from there: 1024 steps drift by about 1e-13."""


@njit(cache=True, nogil=True, inline="always")
def lfo(cycles, shape):
    """The LFO at ``cycles`` (its phase in cycles), in [-1, 1]; both shapes rise through 0 at 0.

    Sine: ``sin(2 pi cycles)``. Triangle: linear from 0 up to 1 at a quarter
    cycle, down to -1 at three quarters, back to 0 at one cycle.
    """
    if shape == SINE:
        return math.sin(2.0 * math.pi * cycles)
    f = cycles + 0.75
    f -= math.floor(f)
    return 4.0 * abs(f - 0.5) - 1.0


@njit(cache=True, nogil=True, inline="always")
def lfo_at(state, c, k, n, cycles, shape, cos_step, sin_step):
    """The LFO of voice k of channel c at frame n (phase ``cycles``), stepping its rotator.

    ``state[c, k]`` holds (sin, cos) of the sine LFO's angle at frame n - 1;
    at each anchor frame they are computed afresh, and in between rotated by
    one step (``cos_step``, ``sin_step``: of the angle it advances per frame),
    so the value depends only on n, not on how the frames were cut into blocks.
    """
    if shape != SINE:
        return lfo(cycles, shape)
    if n & ANCHOR_MASK == 0:
        angle = 2.0 * math.pi * cycles
        sine = math.sin(angle)
        cosine = math.cos(angle)
    else:
        previous_sin = state[c, k, 0]
        previous_cos = state[c, k, 1]
        sine = previous_sin * cos_step + previous_cos * sin_step
        cosine = previous_cos * cos_step - previous_sin * sin_step
    state[c, k, 0] = sine
    state[c, k, 1] = cosine
    return sine


@njit(cache=True, nogil=True, inline="always")
def _back(index, frames, length):
    """The ring index ``frames`` (0 <= frames <= length) before ``index``."""
    earlier = index - frames
    return earlier + length if earlier < 0 else earlier


@njit(cache=True, nogil=True, inline="always")
def read_lagrange(line, c, slot, delay, length):
    """``line[c]`` read ``delay`` frames (>= 2) before ``slot`` by 4-point cubic Lagrange.

    The ring's newest frame sits at ``slot - 1``. With ``D = floor(delay)``
    and ``u = delay - D`` the taps are the frames D-1, D, D+1, D+2 back
    (Lagrange nodes -1, 0, 1, 2 evaluated at u): exact for cubics, so for a
    sine the read is accurate in both amplitude and phase well into the
    audio band.
    """
    whole = int(delay)
    u = delay - whole
    i0 = _back(slot, whole - 1, length)
    i1 = _back(i0, 1, length)
    i2 = _back(i1, 1, length)
    i3 = _back(i2, 1, length)
    um1 = u - 1.0
    um2 = u - 2.0
    up1 = u + 1.0
    return (
        -u * um1 * um2 / 6.0 * line[c, i0]
        + up1 * um1 * um2 / 2.0 * line[c, i1]
        - up1 * u * um2 / 2.0 * line[c, i2]
        + up1 * u * um1 / 6.0 * line[c, i3]
    )


@njit(cache=True, nogil=True)
def modulated_delay_inplace(
    x, line, count, rotors, centre, depth, step, phases, shape, feedback, wet, dry
):
    """Voices reading a delay line at LFO-swept delays, mixed with the dry signal, in place.

    ``line`` float64 (channels, L) is a ring (frame n goes to slot n % L);
    ``count`` int64 (1,) the frames processed before this block. Voice k of
    channel c reads, at frame n, the input ``d = centre + depth * lfo(step * n
    + phases[c, k])`` frames back (``centre``, ``depth`` in frames, ``step``
    the LFO rate in cycles per frame; ``d`` below 2 frames is read at 2),
    by :func:`read_lagrange`; ``rotors`` float64 (channels, voices, 2) is the
    state of :func:`lfo_at`. With ``wet_n`` the mean over the voices:
    ``line[n] = x[n] + feedback * wet_n`` and ``y[n] = dry * x[n] + wet * wet_n``.
    L must exceed ``centre + depth + 3``. Returns ``x``.
    """
    channels, frames = x.shape
    length = line.shape[1]
    voices = phases.shape[1]
    start = count[0]
    scale = 1.0 / voices
    cos_step = math.cos(2.0 * math.pi * step)
    sin_step = math.sin(2.0 * math.pi * step)
    for c in range(channels):
        slot = start % length
        for i in range(frames):
            n = start + i
            cycles = step * n
            acc = 0.0
            for k in range(voices):
                m = lfo_at(rotors, c, k, n, cycles + phases[c, k], shape, cos_step, sin_step)
                d = centre + depth * m
                if d < MIN_DELAY_FRAMES:
                    d = MIN_DELAY_FRAMES
                acc += read_lagrange(line, c, slot, d, length)
            acc *= scale
            v = np.float64(x[c, i])
            line[c, slot] = v + feedback * acc
            x[c, i] = dry * v + wet * acc
            slot += 1
            if slot == length:
                slot = 0
    count[0] = start + frames
    return x


@njit(cache=True, nogil=True)
def tremolo_inplace(x, count, rotors, depth, step, phases, shape):
    """``y[n] = x[n] * (1 - depth * (1 - lfo(step * n + phases[c])) / 2)`` in place.

    The gain swings between 1 (LFO at +1) and ``1 - depth`` (LFO at -1);
    ``count`` int64 (1,) holds the frames processed before this block and
    ``rotors`` float64 (channels, 1, 2) the state of :func:`lfo_at`. Returns ``x``.
    """
    channels, frames = x.shape
    start = count[0]
    half = 0.5 * depth
    cos_step = math.cos(2.0 * math.pi * step)
    sin_step = math.sin(2.0 * math.pi * step)
    for c in range(channels):
        for i in range(frames):
            n = start + i
            m = lfo_at(rotors, c, 0, n, step * n + phases[c], shape, cos_step, sin_step)
            x[c, i] = x[c, i] * (1.0 - half * (1.0 - m))
    count[0] = start + frames
    return x


@njit(cache=True, nogil=True)
def phaser_inplace(
    x,
    states,
    last,
    count,
    rotors,
    log_low,
    log_span,
    step,
    phases,
    shape,
    pi_per_frame,
    feedback,
    wet,
    dry,
):
    """A cascade of first-order all-passes with swept break frequency and feedback, in place.

    At frame n the break frequency is ``f = exp(log_low + log_span * (1 +
    lfo(step * n + phases[c])) / 2)`` Hz and every stage is ``A(z) = (a +
    z^-1) / (1 + a z^-1)``, ``a = (tan(pi f / rate) - 1) / (tan(pi f / rate) +
    1)`` (phase -90 degrees at f; ``pi_per_frame`` is pi / rate), run in
    transposed direct form II: ``states`` float64 (channels, stages). The
    cascade's input is ``x[n] + feedback * out[n-1]`` (``last`` float64
    (channels,) holds out[n-1]); ``y[n] = dry * x[n] + wet * out[n]``.
    ``count`` int64 (1,) holds the frames processed before this block and
    ``rotors`` float64 (channels, 1, 2) the state of :func:`lfo_at`.
    Returns ``x``.
    """
    channels, frames = x.shape
    stages = states.shape[1]
    start = count[0]
    cos_step = math.cos(2.0 * math.pi * step)
    sin_step = math.sin(2.0 * math.pi * step)
    quarter = 0.25 * math.pi
    for c in range(channels):
        previous = last[c]
        for i in range(frames):
            n = start + i
            m = lfo_at(rotors, c, 0, n, step * n + phases[c], shape, cos_step, sin_step)
            # (tan x - 1) / (tan x + 1) = tan(x - pi / 4)
            a = math.tan(pi_per_frame * math.exp(log_low + log_span * 0.5 * (1.0 + m)) - quarter)
            v = np.float64(x[c, i])
            u = v + feedback * previous
            for s in range(stages):
                y = a * u + states[c, s]
                states[c, s] = u - a * y
                u = y
            previous = u
            x[c, i] = dry * v + wet * u
        last[c] = previous
    count[0] = start + frames
    return x
