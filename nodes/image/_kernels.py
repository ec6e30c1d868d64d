"""Numba kernels of ``image.to_sound``: the additive oscillator bank.

Private module (not scanned by the registry); imported lazily by ``nodes/image/to_sound.py``.
"""

from __future__ import annotations

import math

from numba import njit

RESYNC = 4096
"""Longest run of samples over which an oscillator is advanced by complex rotation
before its phase is recomputed exactly from the sample index."""


@njit(cache=True, nogil=True, fastmath=True)
def additive_bank(amps, cycles, phase0, centres, out, state, active):
    """Add one phase-continuous sine per image row to ``out``.

    Parameters
    ----------
    amps : float64 (rows, cols)
        Linear peak amplitude of each row's sine at each column's centre.
    cycles : float64 (rows,)
        Each row's frequency in cycles per sample (0 < cycles < 0.5).
    phase0 : float64 (rows,)
        Each row's phase at sample 0, in cycles.
    centres : float64 (cols,)
        Sample position of each column's centre, increasing.
    out : float64 (frames,)
        Accumulated into (not cleared).
    state : float64 (6, rows)
        Scratch: cos/sin of the per-sample rotation, the oscillators' real and
        imaginary parts, amplitude and amplitude step, of the active rows.
    active : int64 (rows,)
        Scratch: indices of the rows sounding in the current segment.

    Between two column centres each row's amplitude moves linearly from one
    column's value to the next; before the first centre and after the last it
    holds. The phase of row ``r`` at sample ``n`` is ``n * cycles[r] + phase0[r]``:
    it is advanced by rotation inside a segment (vectorised across rows) and
    recomputed exactly at every segment start and every ``RESYNC`` samples, so
    it neither drifts nor jumps.
    """
    rows, cols = amps.shape
    frames = out.shape[0]
    two_pi = 2.0 * math.pi
    rot_c, rot_s, re, im, amp, step = state[0], state[1], state[2], state[3], state[4], state[5]
    for seg in range(cols + 1):
        # segment ``seg`` lies between the centres of columns seg-1 and seg
        n_start = 0 if seg == 0 else min(max(math.ceil(centres[seg - 1]), 0), frames)
        n_stop = frames if seg == cols else min(max(math.ceil(centres[seg]), 0), frames)
        if n_stop <= n_start:
            continue
        left = max(seg - 1, 0)
        right = min(seg, cols - 1)
        if left == right:
            width = 1.0
            origin = 0.0
        else:
            width = centres[right] - centres[left]
            origin = centres[left]
        count = 0
        for r in range(rows):
            if amps[r, left] != 0.0 or amps[r, right] != 0.0:
                active[count] = r
                count += 1
        if count == 0:
            continue
        for k in range(count):
            r = active[k]
            w = two_pi * cycles[r]
            rot_c[k] = math.cos(w)
            rot_s[k] = math.sin(w)
            slope = (amps[r, right] - amps[r, left]) / width
            step[k] = slope if left != right else 0.0
        chunk_start = n_start
        while chunk_start < n_stop:
            chunk_stop = min(chunk_start + RESYNC, n_stop)
            for k in range(count):
                r = active[k]
                turns = chunk_start * cycles[r] + phase0[r]
                turns -= math.floor(turns)
                re[k] = math.cos(two_pi * turns)
                im[k] = math.sin(two_pi * turns)
                amp[k] = amps[r, left] + step[k] * (chunk_start - origin)
            for n in range(chunk_start, chunk_stop):
                acc = 0.0
                for k in range(count):
                    acc += amp[k] * im[k]
                    new_re = re[k] * rot_c[k] - im[k] * rot_s[k]
                    im[k] = re[k] * rot_s[k] + im[k] * rot_c[k]
                    re[k] = new_re
                    amp[k] += step[k]
                out[n] += acc
            chunk_start = chunk_stop
