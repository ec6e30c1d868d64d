"""Numba kernel of synth.modal (private: imported lazily by nodes/synth/modal.py).

Notes are added into ``out`` (float32, one channel) as in ``_kernels.py``.
Arrays and scalars only, no allocation, no raising.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, nogil=True)
def render_modes(
    out, starts, gates, totals, omegas, gains, radii, release_radii
):  # pragma: no cover - compiled
    """Sums of exponentially decaying sines, one per mode, each exactly at its frequency.

    Mode m of note n is ``gains[n, m] * r^t * sin(omegas[n, m] t)`` from the
    onset (phase 0 there), with ``r = radii[n, m]`` per sample while the
    gate holds and ``release_radii[n, m]`` after it: a complex phasor
    ``r e^{i omega}`` multiplied in once per sample (float64), so the
    frequency is exact and only the decay changes at the note's end. A mode
    with gain 0 (above Nyquist) is skipped.
    """
    frames = out.shape[0]
    for n in range(starts.shape[0]):
        start = starts[n]
        gate = gates[n]
        stop = min(totals[n], frames - start)
        for m in range(omegas.shape[1]):
            g = gains[n, m]
            if g == 0.0:
                continue
            w = omegas[n, m]
            cw = math.cos(w)
            sw = math.sin(w)
            r = radii[n, m]
            rr = release_radii[n, m]
            zr = r * cw
            zi = r * sw
            re = 1.0
            im = 0.0
            for j in range(stop):
                out[start + j] += g * im
                if j == gate:
                    zr = rr * cw
                    zi = rr * sw
                t = re * zr - im * zi
                im = re * zi + im * zr
                re = t
