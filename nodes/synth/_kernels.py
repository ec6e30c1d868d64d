"""Numba kernels of the synth.* voices (private: imported lazily by nodes/synth/voices.py).

Every kernel adds whole notes into ``out`` (float32, one channel): note ``n``
starts at sample ``starts[n]``, holds its gate for ``gates[n]`` samples and
lasts ``totals[n]`` samples (gate plus release). Kernels take only arrays and
scalars, allocate nothing and never raise; the node validates everything.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, nogil=True, inline="always")
def adsr(j, gate, attack, decay, sustain, release, gate_level):
    """Linear ADSR level at sample ``j`` after the onset (attack/decay/release >= 1 sample).

    The attack rises to 1 over ``attack`` samples (reaching (j + 1) / attack
    at sample j, so the onset sample already sounds), the decay falls to
    ``sustain`` over ``decay`` samples, and from the end of the gate the level
    (``gate_level``, whatever it had reached) falls linearly to 0 over
    ``release`` samples.
    """
    if j < gate:
        if j < attack:
            return (j + 1.0) / attack
        k = j - attack
        if k < decay:
            return 1.0 - (1.0 - sustain) * (k + 1.0) / decay
        return sustain
    k = j - gate
    if k >= release:
        return 0.0
    return gate_level * (1.0 - (k + 1.0) / release)


@njit(cache=True, nogil=True)
def render_tables(
    out, starts, gates, totals, steps, amps, table_of, tables, attack, decay, sustain, release
):
    """Wavetable voices: note n reads ``tables[table_of[n]]`` at ``steps[n]`` cycles per sample.

    Cubic (Catmull-Rom) interpolation on a power-of-two table; the phase
    starts at 0 at the onset sample and is accumulated in float64.
    """
    size = tables.shape[1]
    mask = size - 1
    frames = out.shape[0]
    for n in range(starts.shape[0]):
        table = tables[table_of[n]]
        start = starts[n]
        gate = gates[n]
        gate_level = adsr(gate - 1, gate, attack, decay, sustain, release, 1.0)
        increment = steps[n] * size
        phase = 0.0
        amp = amps[n]
        stop = min(totals[n], frames - start)
        for j in range(stop):
            i = int(phase)
            f = phase - i
            x0 = table[(i - 1) & mask]
            x1 = table[i & mask]
            x2 = table[(i + 1) & mask]
            x3 = table[(i + 2) & mask]
            c1 = 0.5 * (x2 - x0)
            c2 = x0 - 2.5 * x1 + 2.0 * x2 - 0.5 * x3
            c3 = 0.5 * (x3 - x0) + 1.5 * (x1 - x2)
            y = ((c3 * f + c2) * f + c1) * f + x1
            level = adsr(j, gate, attack, decay, sustain, release, gate_level)
            out[start + j] += amp * level * y
            phase += increment
            if phase >= size:
                phase -= size


@njit(cache=True, nogil=True)
def render_additive(
    out, starts, gates, totals, steps, partial_amps, amps, attack, decay, sustain, release, state
):
    """Sine-bank voices: partial k of note n at ``steps[n, k]`` cycles per sample.

    Each partial is a rotating phasor (sin, cos) advanced by one complex
    multiplication per sample, starting at phase 0; partials of amplitude 0
    are skipped. ``state`` is work space shaped (partials, 5).
    """
    frames = out.shape[0]
    partials = steps.shape[1]
    for n in range(starts.shape[0]):
        active = 0
        for k in range(partials):
            if partial_amps[n, k] != 0.0:
                w = 2.0 * math.pi * steps[n, k]
                state[active, 0] = 0.0
                state[active, 1] = 1.0
                state[active, 2] = math.sin(w)
                state[active, 3] = math.cos(w)
                state[active, 4] = partial_amps[n, k]
                active += 1
        start = starts[n]
        gate = gates[n]
        gate_level = adsr(gate - 1, gate, attack, decay, sustain, release, 1.0)
        amp = amps[n]
        stop = min(totals[n], frames - start)
        for j in range(stop):
            y = 0.0
            for k in range(active):
                s = state[k, 0]
                c = state[k, 1]
                y += state[k, 4] * s
                state[k, 0] = s * state[k, 3] + c * state[k, 2]
                state[k, 1] = c * state[k, 3] - s * state[k, 2]
            level = adsr(j, gate, attack, decay, sustain, release, gate_level)
            out[start + j] += amp * level * y


@njit(cache=True, nogil=True)
def render_fm(
    out,
    starts,
    gates,
    totals,
    carrier_steps,
    modulator_steps,
    amps,
    index,
    index_follows,
    attack,
    decay,
    sustain,
    release,
):
    """Two-operator FM (phase modulation): sin(2π φc + I sin(2π φm)), phases in cycles."""
    frames = out.shape[0]
    two_pi = 2.0 * math.pi
    for n in range(starts.shape[0]):
        start = starts[n]
        gate = gates[n]
        gate_level = adsr(gate - 1, gate, attack, decay, sustain, release, 1.0)
        amp = amps[n]
        fc = carrier_steps[n]
        fm = modulator_steps[n]
        pc = 0.0
        pm = 0.0
        stop = min(totals[n], frames - start)
        for j in range(stop):
            level = adsr(j, gate, attack, decay, sustain, release, gate_level)
            depth = index * level if index_follows else index
            y = math.sin(two_pi * pc + depth * math.sin(two_pi * pm))
            out[start + j] += amp * level * y
            pc += fc
            if pc >= 1.0:
                pc -= 1.0
            pm += fm
            if pm >= 1.0:
                pm -= 1.0


@njit(cache=True, nogil=True)
def render_pluck(
    out,
    starts,
    gates,
    totals,
    delays,
    coefficients,
    losses,
    release_losses,
    amps,
    noise,
    noise_at,
    smoothing,
    line,
):
    """Karplus-Strong strings with first-order allpass fractional-delay tuning.

    The loop of note n: a delay line of ``delays[n]`` samples, the two-point
    average (x[n] + x[n-1]) / 2 (half a sample of delay, linear phase), a gain
    ``losses[n]`` (``release_losses[n]`` after the gate) and the allpass
    ``(C + z^-1) / (1 + C z^-1)`` with ``C = coefficients[n]`` supplying the
    remaining fractional delay. The line starts filled with
    ``noise[noise_at[n]:noise_at[n] + delays[n]]`` (zero mean, unit RMS),
    smoothed by a one-pole lowpass of pole ``smoothing``. ``line`` is work
    space at least ``max(delays)`` long.
    """
    frames = out.shape[0]
    for n in range(starts.shape[0]):
        size = delays[n]
        offset = noise_at[n]
        low = 0.0
        mean = 0.0
        for k in range(size):
            low = (1.0 - smoothing) * noise[offset + k] + smoothing * low
            line[k] = low
            mean += low
        mean /= size
        power = 0.0
        for k in range(size):
            line[k] -= mean
            power += line[k] * line[k]
        scale = 1.0 / math.sqrt(power / size) if power > 0.0 else 0.0
        for k in range(size):
            line[k] *= scale
        start = starts[n]
        gate = gates[n]
        c = coefficients[n]
        amp = amps[n]
        previous = 0.0
        ap_in = 0.0
        ap_out = 0.0
        pointer = 0
        stop = min(totals[n], frames - start)
        for j in range(stop):
            x = line[pointer]
            out[start + j] += amp * x
            gain = losses[n] if j < gate else release_losses[n]
            averaged = 0.5 * (x + previous) * gain
            previous = x
            y = c * averaged + ap_in - c * ap_out
            ap_in = averaged
            ap_out = y
            line[pointer] = y
            pointer += 1
            if pointer == size:
                pointer = 0
