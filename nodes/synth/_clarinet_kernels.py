"""Numba kernel of synth.clarinet (private: imported lazily by nodes/synth/clarinet.py).

Notes are added into ``out`` (float32, one channel) as in ``_kernels.py``:
note ``n`` starts at ``starts[n]``, holds ``gates[n]`` samples and lasts
``totals[n]`` samples. Arrays and scalars only, no allocation, no raising.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, nogil=True)
def render_clarinet(
    out,
    starts,
    gates,
    totals,
    delays,
    fractions,
    bell,
    bell_len,
    reflection,
    pressures,
    attack,
    release,
    noise,
    tongue,
    pulses,
    seeds,
    reed_offset,
    reed_slope,
    dc_pole,
    amps,
    line,
    history,
):  # pragma: no cover - compiled
    """A reed on a cylindrical bore: one delay loop, a bell filter, a reed reflection function.

    The loop of note n, per sample: the wave ``x`` leaving the line
    (``delays[n]`` samples after it entered) reaches the bell, which
    reflects ``r = -reflection * sum_k bell[n, k] x[t-k]`` (``bell_len[n] =
    2M + 1`` symmetric taps: linear phase, M samples of delay) and lets
    ``x[t-M] + r`` out (the sound). ``r`` travels back through the
    third-order Lagrange FIR ``fractions[n]`` to the reed, where with the
    mouth pressure ``p`` and ``d = back - p`` the reed sends ``p + d *
    clip(reed_offset + reed_slope * d, -1, 1)`` into the line, plus over
    the first ``pulses[n]`` samples the tongue's puff ``tongue *
    sin(pi (j + 1/2) / pulses[n])`` (a half sine one round trip long). The
    pressure rises linearly to ``pressures[n]`` over ``attack`` samples,
    is held (times ``1 + noise * u``, ``u`` about uniform in [-1, 1) from
    Marsaglia's xorshift32 seeded by ``seeds[n]``, in [1, 2^32)) and falls
    linearly to 0 over ``release`` samples from the end of the gate; the
    bore then rings down on its own. The sound passes a DC blocker ``(1 -
    z^-1) / (1 - dc_pole z^-1)`` (outside the loop, so it does not touch
    the tuning) and is scaled by ``amps[n]``. The sound first leaves the
    bell ``delays[n]`` samples after the breath starts, so the breath
    starts that much before ``starts[n]`` (the gate and the release count
    from it) and the sound is added from ``starts[n]`` for ``totals[n]``
    samples. ``line`` and ``history`` are
    work space at least ``max(delays)`` and ``bell.shape[1]`` long.
    """
    frames = out.shape[0]
    for n in range(starts.shape[0]):
        size = delays[n]
        for k in range(size):
            line[k] = 0.0
        taps = bell_len[n]
        for k in range(taps):
            history[k] = 0.0
        middle = taps // 2
        start = starts[n]
        gate = gates[n]
        peak = pressures[n]
        pulse = pulses[n]
        kick = tongue
        ramp = min(0.1 * pulse, 4.0)
        c0 = fractions[n, 0]
        c1 = fractions[n, 1]
        c2 = fractions[n, 2]
        c3 = fractions[n, 3]
        amp = amps[n]
        state = seeds[n]
        held = min(1.0, gate / attack)
        h1 = 0.0
        h2 = 0.0
        h3 = 0.0
        dc_in = 0.0
        dc_out = 0.0
        pointer = 0
        newest = 0
        lag = size  # the wave takes the line's length to reach the bell: start that early
        stop = min(totals[n], frames - start) + lag
        for j in range(stop):
            if j < gate:
                level = (j + 1.0) / attack if j < attack else 1.0
            else:
                k = j - gate
                level = 0.0 if k >= release else held * (1.0 - (k + 1.0) / release)
            state ^= (state << 13) & 0xFFFFFFFF
            state ^= state >> 17
            state ^= (state << 5) & 0xFFFFFFFF
            u = state * (1.0 / 2147483648.0) - 1.0
            p = peak * level * (1.0 + noise * u)
            history[newest] = line[pointer]
            lowpass = 0.0
            at = newest
            for k in range(taps):
                lowpass += bell[n, k] * history[at]
                at = at - 1 if at > 0 else taps - 1
            centre = newest - middle
            if centre < 0:
                centre += taps
            r = -reflection * lowpass
            sound = history[centre] + r
            newest = newest + 1 if newest < taps - 1 else 0
            back = c0 * r + c1 * h1 + c2 * h2 + c3 * h3
            h3 = h2
            h2 = h1
            h1 = r
            d = back - p
            rho = reed_offset + reed_slope * d
            if rho > 1.0:
                rho = 1.0
            elif rho < -1.0:
                rho = -1.0
            wave = p + d * rho
            if j < pulse:
                edge = min(j + 0.5, pulse - j - 0.5)
                wave += (
                    kick if edge >= ramp else kick * 0.5 * (1.0 - math.cos(math.pi * edge / ramp))
                )
            line[pointer] = wave
            pointer = pointer + 1 if pointer < size - 1 else 0
            y = sound - dc_in + dc_pole * dc_out
            dc_in = sound
            dc_out = y
            if j >= lag:
                out[start + j - lag] += amp * y
