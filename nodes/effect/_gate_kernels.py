"""Numba kernel of nodes/effect/gate.py.

Private (not scanned by the registry) and imported lazily: importing it loads numba.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def gate_inplace(
    x, state, counters, open_level, close_level, hold, attack_step, release_step, floor_db
):
    """Noise gate with hysteresis, hold and linear-in-dB attack and release, in place.

    The detector is the largest |sample| across channels (one gain for all).
    The gate opens on the first sample at or above ``open_level`` and closes
    once every sample for more than ``hold`` samples has stayed below
    ``close_level``; between the two levels it keeps its state. The gain in
    dB moves towards 0 (open) by ``attack_step`` dB per sample and towards
    ``floor_db`` (closed) by ``release_step`` (a step of 0 or less jumps).
    ``state`` float64 (1,) holds the gain in dB, ``counters`` int64 (2,)
    whether the gate is open and the samples since the level was last at
    or above ``close_level``. Returns ``x``.
    """
    channels, frames = x.shape
    gain_db = state[0]
    is_open = counters[0]
    below = counters[1]
    to_gain = math.log(10.0) / 20.0
    for i in range(frames):
        level = 0.0
        for c in range(channels):
            v = abs(np.float64(x[c, i]))
            if v > level:
                level = v
        if level >= open_level:
            is_open = 1
            below = 0
        elif is_open == 1:
            if level >= close_level:
                below = 0
            else:
                below += 1
                if below > hold:
                    is_open = 0
        if is_open == 1:
            gain_db = 0.0 if attack_step <= 0.0 else min(0.0, gain_db + attack_step)
        else:
            gain_db = floor_db if release_step <= 0.0 else max(floor_db, gain_db - release_step)
        gain = math.exp(gain_db * to_gain)
        for c in range(channels):
            x[c, i] = x[c, i] * gain
    state[0] = gain_db
    counters[0] = is_open
    counters[1] = below
    return x
