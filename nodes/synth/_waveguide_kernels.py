"""Numba kernel of synth.waveguide (private: imported lazily by nodes/synth/waveguide.py).

Notes are added into ``out`` (float32, one channel) as in ``_kernels.py``:
note ``n`` starts at ``starts[n]``, holds ``gates[n]`` samples and lasts
``totals[n]`` samples. Arrays and scalars only, no allocation, no raising.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def render_waveguide(
    out,
    starts,
    gates,
    totals,
    delays,
    loss_gains,
    release_gains,
    poles,
    fractions,
    lagrange,
    amps,
    excitation,
    excitation_at,
    excitation_len,
    line,
):  # pragma: no cover - compiled
    """Single-delay-loop strings: delay line, one-pole loss filter, fractional delay.

    The loop of note n: ``delays[n]`` samples of delay line, the loss filter
    ``l[t] = g (1 + a) y[t] - a l[t-1]`` (``a = poles[n]`` ``g = loss_gains[n]``, then
    ``release_gains[n]`` after the gate) and the fractional delay: with
    ``lagrange`` false the allpass ``(C + z^-1) / (1 + C z^-1)``, ``C =
    fractions[n, 0]``; with it the third-order Lagrange FIR ``sum_k
    fractions[n, k] l[t-k]``. The excitation ``excitation[excitation_at[n]:
    + excitation_len[n]]`` is added to what the loop writes back, and what
    it writes is the output (times ``amps[n]``). ``line`` is work space at
    least ``max(delays)`` long.
    """
    frames = out.shape[0]
    for n in range(starts.shape[0]):
        size = delays[n]
        for k in range(size):
            line[k] = 0.0
        start = starts[n]
        gate = gates[n]
        amp = amps[n]
        pole = poles[n]
        b = loss_gains[n] * (1.0 + pole)
        b_release = release_gains[n] * (1.0 + pole)
        c0 = fractions[n, 0]
        c1 = fractions[n, 1]
        c2 = fractions[n, 2]
        c3 = fractions[n, 3]
        low = 0.0
        h1 = 0.0
        h2 = 0.0
        h3 = 0.0
        ap_in = 0.0
        ap_out = 0.0
        offset = excitation_at[n]
        length = excitation_len[n]
        pointer = 0
        stop = min(totals[n], frames - start)
        for j in range(stop):
            y = line[pointer]
            low = (b if j < gate else b_release) * y - pole * low
            if lagrange:
                v = c0 * low + c1 * h1 + c2 * h2 + c3 * h3
                h3 = h2
                h2 = h1
                h1 = low
            else:
                v = c0 * low + ap_in - c0 * ap_out
                ap_in = low
                ap_out = v
            if j < length:
                v += excitation[offset + j]
            line[pointer] = v
            out[start + j] += amp * v
            pointer += 1
            if pointer == size:
                pointer = 0
