"""Numba kernel of nodes/effect/limiter.py.

Private (not scanned by the registry) and imported lazily: importing it loads numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Layout of the limiter's float64 state array: scalars, then the rings.
_PREVIOUS_INTERVAL = 0  # largest interpolated |value| between the last two detected samples
_RELEASED = 1  # the released gain r of the last sample
_BOX_SUM = 2  # Σ of the look-ahead ring of r
_SCALARS = 3


@njit(cache=True, nogil=True)
def limiter(
    x,
    out,
    phases,
    state,
    history,
    intervals,
    box,
    deque_values,
    deque_index,
    delay,
    counters,
    ceiling,
    ceiling32,
    lookahead,
    spread,
    release_coef,
):
    """Look-ahead brickwall limiter over ``x`` (channels, n) float32, into ``out`` (same shape).

    One gain for all channels. Per input sample i the detector gives the
    peak p[m] of sample m = i - h: max over channels of |x[m]| and, when
    ``phases`` has rows (true-peak mode, h = taps / 2), of the signal
    interpolated at the fractional positions of the intervals on both sides
    of m. The gain that sample needs is g[m] = min(1, ceiling / p[m]). The
    running minimum of g over the last ``lookahead`` (L) samples is released
    with the one-pole ``release_coef`` (it falls at once, rises towards the
    minimum exponentially) and then averaged over the last L values: that
    mean reaches g[m] exactly when sample m leaves the delay line, L - 1
    samples later, and every gain it averaged was <= g[m], so no output
    sample exceeds the ceiling. With ``spread`` w > 0 the minimum runs over
    L + 2w samples and the output waits w samples more, so the gain of a
    sample is also at most what its w neighbours on either side need (the
    gain is flat across an inter-sample peak, which the interpolation of
    the output then sees at the same gain). out[:, i] = x[:, i - d] * gain
    with d = h + w + L - 1 (``delay`` is the ring (channels, d + 1) of inputs);
    float32 rounding is caught by clamping to ``ceiling32``, the largest
    float32 not above ``ceiling``.

    State carried between calls: ``state`` (scalars, see above),
    ``history`` (channels, taps - 1 + n) float64 whose first taps - 1
    columns hold the last inputs of the previous call (the rest is scratch
    for this one), ``intervals`` (n,) float64 scratch,
    ``box`` (L,) the ring of released gains, ``deque_values`` and
    ``deque_index`` (L + 2w + 1,) the monotonic queue of the running minimum, and
    ``counters`` int64 (4,): samples seen, queue head, queue length, box
    position. Returns ``out``.
    """
    channels, frames = x.shape
    rows, taps = phases.shape
    h = taps // 2
    size = deque_values.shape[0]
    slots = delay.shape[1]
    seen = counters[0]
    head = counters[1]
    length = counters[2]
    position = counters[3]
    window = lookahead + 2 * spread
    previous_interval = state[_PREVIOUS_INTERVAL]
    released = state[_RELEASED]
    box_sum = state[_BOX_SUM]
    if rows > 0:
        # the interpolated peak of each interval, the chunk at once (it vectorises)
        for c in range(channels):
            for i in range(frames):
                history[c, taps - 1 + i] = x[c, i]
        intervals[:frames] = 0.0
        for c in range(channels):
            _interval_peaks(history[c], frames, phases, intervals)
    for i in range(frames):
        n = seen + i
        slot = n % slots
        for c in range(channels):
            delay[c, slot] = x[c, i]
        # detector: the peak of sample m = n - h
        if rows > 0:
            # intervals[i]: between samples n - h and n - h + 1 (from inputs n - taps + 1 .. n)
            interval = intervals[i]
            centre = 0.0
            for c in range(channels):
                centre = max(centre, abs(history[c, i + taps - 1 - h]))
            peak = max(centre, interval, previous_interval)
            previous_interval = interval
        else:
            peak = 0.0
            for c in range(channels):
                v = abs(np.float64(x[c, i]))
                if v > peak:
                    peak = v
        m = n - h
        need = 1.0 if peak <= ceiling else ceiling / peak
        # running minimum of the needed gain over the last `lookahead` samples
        while length > 0 and deque_values[(head + length - 1) % size] >= need:
            length -= 1
        deque_values[(head + length) % size] = need
        deque_index[(head + length) % size] = m
        length += 1
        while deque_index[head] <= m - window:
            head = (head + 1) % size
            length -= 1
        lowest = deque_values[head]
        released = lowest if lowest < released else lowest + (released - lowest) * release_coef
        box_sum += released - box[position]
        box[position] = released
        position = (position + 1) % lookahead
        gain = box_sum / lookahead
        gain = min(gain, 1.0)
        source = (n - (slots - 1)) % slots
        for c in range(channels):
            v = np.float32(np.float64(delay[c, source]) * gain)
            if v > ceiling32:
                v = ceiling32
            elif v < -ceiling32:
                v = -ceiling32
            out[c, i] = v
        if position == 0:  # re-add the ring now and then, so rounding never accumulates
            total = 0.0
            for k in range(lookahead):
                total += box[k]
            box_sum = total
    if rows > 0:
        for c in range(channels):
            for j in range(taps - 1):
                history[c, j] = history[c, frames + j]
    counters[0] = seen + frames
    counters[1] = head
    counters[2] = length
    counters[3] = position
    state[_PREVIOUS_INTERVAL] = previous_interval
    state[_RELEASED] = released
    state[_BOX_SUM] = box_sum
    return out


@njit(cache=True, nogil=True, fastmath=True)
def _interval_peaks(window, count, phases, out):  # pragma: no cover - compiled
    """out[i] = max(out[i], largest |value| the phases interpolate from window[i : i + taps])."""
    p, taps = phases.shape
    for i in range(count):
        peak = out[i]
        for q in range(p):
            acc = 0.0
            for m in range(taps):
                acc += phases[q, m] * window[i + m]
            peak = max(peak, abs(acc))
        out[i] = peak
