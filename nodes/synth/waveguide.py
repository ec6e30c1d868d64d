"""synth.waveguide: a digital waveguide string (extended Karplus-Strong), tuned exactly.

The string is a single delay loop (Karjalainen, Välimäki & Tolonen 1998,
"Plucked-string models: from the Karplus-Strong algorithm to digital
waveguides and beyond", Computer Music Journal 22(3)): the two travelling
waves of a bidirectional waveguide with rigid, inverting terminations folded
into one delay line of one period, closed through a loss filter (the
string's frequency-dependent damping, Jaffe & Smith 1983) and a
fractional-delay filter (a first-order allpass or a third-order Lagrange
interpolator, Laakso et al. 1996) that supplies the part of the period
that is not a whole number of samples. The pluck position is a comb filter
on the excitation (Jaffe & Smith 1983): plucking at a fraction ``beta`` of
the length removes the harmonics that have a node there.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from graphengine.node import NodeContext, node, param
from graphengine.types import Audio, Notes
from nodes.synth.voices import (
    AMPLITUDE,
    CHANNELS,
    _render,
    _samples,
    amplitudes,
    check_notes,
    infer_voice,
)

INTERPOLATORS = ("allpass", "lagrange")
MIN_DELAY = 2
LAGRANGE_LIMIT = 8
"""Lagrange notes lie below rate / 8: higher, an order-3 FIR cannot supply the delay."""
MAX_LOOP_GAIN = 0.99999
"""The loss filter's DC gain is capped here: a loop gain of 1 or more would never decay."""


class Tuning(NamedTuple):
    """Per note: whole-sample delay, fractional-delay coefficients (4 per note), loss gain."""

    delays: np.ndarray
    fractions: np.ndarray
    loss_gains: np.ndarray
    release_gains: np.ndarray
    detuning: np.ndarray
    """Relative error of the resonance left when the iteration stopped (about 1e-12)."""


REFERENCE_HARMONIC = 4
"""The loss filter is fitted to the decay times of the fundamental and of this harmonic."""


def harmonic_decay_s(decay_s: float, brightness: float, k: float) -> float:
    """The 60 dB decay time of harmonic k: ``decay_s / k ** (3 (1 - brightness))``."""
    return decay_s / k ** (3.0 * (1.0 - brightness))


def loss_poles(
    frequency_hz: np.ndarray, rate: float, decay_s: float, brightness: float
) -> np.ndarray:
    """Per note, the pole ``a`` in (-1, 0] of the loss filter that damps harmonic 4 as asked.

    The loop's gain per period at harmonic k must be ``10^(-3 / (f T_k))``;
    ``(1 + a) / |1 + a e^{-i w}|`` falls with frequency, so the ratio of its
    gains at harmonic 4 and at the fundamental fixes ``a`` (bisection). The
    pole is kept no nearer -1 than lets the fundamental still decay in
    ``decay_s`` with a loop gain below 1 at DC (a one-pole cannot make
    harmonic 4 die faster than that); where harmonic 4 is above 0.9 Nyquist
    the filter is flat (``a = 0``).
    """
    omega = 2.0 * np.pi * frequency_hz / rate
    k = REFERENCE_HARMONIC
    fundamental = 10.0 ** (-3.0 / (frequency_hz * decay_s))
    wanted = 10.0 ** (-3.0 / (frequency_hz * harmonic_decay_s(decay_s, brightness, k)))
    wanted = wanted / fundamental
    need = np.minimum(fundamental / MAX_LOOP_GAIN, 1.0)
    lo = np.full(omega.shape, -0.999)
    hi = np.zeros(omega.shape)
    dull, sharp = lo.copy(), hi.copy()
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        ratio = loss_response(mid, k * omega)[0] / loss_response(mid, omega)[0]
        damped = ratio < wanted  # too much damping: move the pole towards 0
        lo = np.where(damped, mid, lo)
        hi = np.where(damped, hi, mid)
        edge = 0.5 * (dull + sharp)
        rings = loss_response(edge, omega)[0] >= need
        sharp = np.where(rings, edge, sharp)
        dull = np.where(rings, dull, edge)
    fitted = np.maximum(0.5 * (lo + hi), sharp)
    return np.where(k * omega < 0.9 * np.pi, fitted, 0.0)


def loss_response(pole: np.ndarray | float, omega: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gain and phase delay (samples) of ``(1 + pole) / (1 + pole z^-1)`` at ``omega`` (rad)."""
    h = (1.0 + pole) / (1.0 + pole * np.exp(-1j * omega))
    return np.abs(h), -np.angle(h) / omega


def allpass_coefficient(delay: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """C of ``(C + z^-1) / (1 + C z^-1)`` whose phase delay at ``omega`` is exactly ``delay``."""
    return np.sin(omega * (1.0 - delay) / 2.0) / np.sin(omega * (1.0 + delay) / 2.0)


def lagrange_taps(d: np.ndarray) -> np.ndarray:
    """Third-order Lagrange fractional-delay taps h_k = prod_{m != k} (d - m) / (k - m), (n, 4)."""
    d = np.asarray(d, dtype=np.float64)[:, np.newaxis]
    taps = np.ones((d.shape[0], 4))
    for k in range(4):
        for m in range(4):
            if m != k:
                taps[:, k] *= (d[:, 0] - m) / (k - m)
    return taps


def fir_response(taps: np.ndarray, omega: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gain and phase delay of FIRs ``taps`` (n, k) at ``omega`` (n,)."""
    k = np.arange(taps.shape[1])
    h = np.sum(taps * np.exp(-1j * omega[:, np.newaxis] * k), axis=1)
    return np.abs(h), -np.angle(h) / omega


def lagrange_for_phase_delay(target: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """Lagrange taps whose phase delay at ``omega`` is ``target`` (in [1, 2)), by bisection on d.

    At low frequencies the phase delay of the order-3 interpolator is its
    nominal delay d; higher up it departs from d, so d is solved for.
    """
    lo = np.full(target.shape, 0.5)
    hi = np.full(target.shape, 2.5)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        _, delay = fir_response(lagrange_taps(mid), omega)
        low = delay < target
        lo = np.where(low, mid, lo)
        hi = np.where(low, hi, mid)
    return lagrange_taps(0.5 * (lo + hi))


def _split(
    total: np.ndarray, loss_delay: np.ndarray, omega: np.ndarray, interpolator: str
) -> tuple[np.ndarray, np.ndarray]:
    """A loop delay of ``total`` samples at ``omega`` as whole samples and a fractional filter."""
    base = 0.5 if interpolator == "allpass" else 1.0
    delays = np.floor(total - loss_delay - base).astype(np.int64)
    fraction = total - loss_delay - delays
    fractions = np.zeros((total.size, 4))
    if interpolator == "allpass":
        fractions[:, 0] = allpass_coefficient(fraction, omega)
    else:
        fractions[:] = lagrange_for_phase_delay(fraction, omega)
    return delays, fractions


def _polynomial(coefficients: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p(u) = sum_k c_k u^k and u p'(u), per row of ``coefficients``."""
    k = np.arange(coefficients.shape[1])
    powers = u[:, np.newaxis] ** k
    return np.sum(coefficients * powers, axis=1), np.sum(k * coefficients * powers, axis=1)


def pole_angles(
    delays: np.ndarray,
    fractions: np.ndarray,
    gains: np.ndarray,
    poles: np.ndarray,
    start: np.ndarray,
    interpolator: str,
) -> np.ndarray:
    """The angle (rad/sample) of each loop's resonance near ``start``: a root of 1 - L(z).

    The loop is ``L(z) = g (1 + a) z^-N F(z) / (1 + a z^-1)`` with ``F`` the
    fractional delay; Newton's method on ``log L(e^w) = -2 pi i`` (w = log z)
    finds the pole. Where the loop gain changes with frequency the pole is
    not quite where the loop's phase delay is one period, which is why the
    tuning corrects for it.
    """
    if interpolator == "allpass":
        numerator = np.stack([fractions[:, 0], np.ones(delays.size)], axis=1)
        denominator = np.stack([np.ones(delays.size), fractions[:, 0]], axis=1)
    else:
        numerator = fractions
        denominator = np.ones((delays.size, 1))
    loss = np.stack([np.ones(delays.size), poles], axis=1)
    w = start.astype(np.complex128)
    for _ in range(30):
        u = np.exp(-w)
        num, dnum = _polynomial(numerator, u)
        den, dden = _polynomial(denominator, u)
        low, dlow = _polynomial(loss, u)
        value = np.log(gains * (1.0 + poles)) + np.log(num) - np.log(den) - np.log(low) - delays * w
        slope = -dnum / num + dden / den + dlow / low - delays
        w = w - (value + 2j * np.pi) / slope
    return w.imag


def waveguide_tuning(
    frequency_hz: np.ndarray,
    rate: float,
    poles: np.ndarray,
    decay_s: float,
    release_s: float,
    interpolator: str,
) -> Tuning:
    """Delay lengths, fractional delays and loss gains that put each note's fundamental exactly.

    First the loop is made to delay the fundamental by ``P = rate / f``
    samples: ``N`` in the line, the loss filter's phase delay at f and the
    fractional delay's, which is exact at f (an allpass coefficient from
    the closed form of :func:`allpass_coefficient`, or Lagrange taps solved
    numerically). The loss gain makes the fundamental lose 60 dB in
    ``decay_s`` (``g |H(f)| = 10^(-3 / (decay_s f))`` per period), at most
    :data:`MAX_LOOP_GAIN` at DC. Then the loop's actual resonance is found
    (:func:`pole_angles`) and the total delay scaled until it lies at f to
    1e-12: a loss filter whose gain falls steeply across f moves it.
    """
    omega = 2.0 * np.pi * frequency_hz / rate
    period = rate / frequency_hz
    gain_at_f, loss_delay = loss_response(poles, omega)

    def gain_for(seconds: float, fractions: np.ndarray) -> np.ndarray:
        frac_gain = 1.0 if interpolator == "allpass" else fir_response(fractions, omega)[0]
        per_period = 10.0 ** (-3.0 / (seconds * frequency_hz))
        return np.minimum(per_period / (gain_at_f * frac_gain), MAX_LOOP_GAIN)

    total = period.copy()
    delays, fractions = _split(total, loss_delay, omega, interpolator)
    gains = gain_for(decay_s, fractions)
    start = np.log(gains * gain_at_f) / period + 1j * omega
    for _ in range(12):
        angle = pole_angles(delays, fractions, gains, poles, start, interpolator)
        if np.all(np.abs(angle - omega) <= 1e-12 * omega):
            break
        total = total * angle / omega
        delays, fractions = _split(total, loss_delay, omega, interpolator)
        gains = gain_for(decay_s, fractions)
    angle = pole_angles(delays, fractions, gains, poles, start, interpolator)
    detuning = np.abs(angle / omega - 1.0)
    return Tuning(delays, fractions, gains, gain_for(release_s, fractions), detuning)


@node("synth.waveguide", version=1, infer=infer_voice)
def waveguide(
    in_: Notes,
    *,
    decay_s: float = param(
        4.0, unit="s", range=(0.01, 600.0), description="time for the fundamental to fall 60 dB"
    ),
    brightness: float = param(
        0.5, range=(0.0, 1.0), description="0 dull (high partials die fast) to 1 bright"
    ),
    pluck_position: float = param(
        0.2, range=(0.0, 0.5), above=0, description="where the string is plucked (0-0.5 of it)"
    ),
    interpolator: str = param(
        "allpass", choices=INTERPOLATORS, description="fractional delay: allpass or Lagrange"
    ),
    amplitude: float = AMPLITUDE,
    release_ms: float = param(80.0, unit="ms", range=(1.0, 60_000.0), description="damping time"),
    seed: int | None = param(None, description="seed of the excitation noise"),
    channels: int = CHANNELS,
    ctx: NodeContext,
) -> Audio:
    """Digital waveguide strings: a delay loop with loss filter, pluck position and exact tuning.

    Each note is its own string: a delay line one period long, closed
    through a one-pole loss filter ``g (1 + a) / (1 + a z^-1)`` and a
    fractional delay (``interpolator``: a first-order allpass, flat in
    gain, or a third-order Lagrange FIR, which also damps the highest
    partials a little). ``decay_s`` is the fundamental's 60 dB decay while
    the note is held; harmonic k decays in ``decay_s / k ** (3 (1 -
    brightness))`` (``brightness`` 1: all alike, a metallic string; 0: the
    highs die at once), which fixes ``a`` per note from harmonic 4 (as far
    as a one-pole allows with the fundamental still ringing for
    ``decay_s``, see :func:`loss_poles`). The fundamental is tuned exactly:
    the loop's phase delay is made one period at the note's frequency,
    then the loop's resonance (a root of its characteristic equation) is
    found and the delay corrected until it lies at the note to 1e-12
    (:func:`waveguide_tuning`); measured within 0.0001 cent from C1 to C8
    (``tests/nodes/synth/test_waveguide.py``). The loss filter's
    frequency-dependent delay leaves the upper partials slightly flat, as
    in a real string. At the note's end the string is damped to 60 dB
    down over ``release_ms``. The excitation is one period of noise
    (``numpy.random.SeedSequence(seed)``, per note), smoothed by a one-pole
    lowpass that follows ``brightness`` and comb-filtered for
    ``pluck_position`` (0.5: the middle, no even harmonics; near 0: the
    bridge, thin and bright). Peaks are about ``amplitude * velocity``
    (up to 1.8 times it: the loop adds to the excitation).
    The loop needs a period of at least 2.5 samples plus the loss
    filter's delay (notes up to about 17 kHz at 44.1 kHz); with the
    Lagrange interpolator notes must lie below rate / 8 (5.5 kHz). The
    loop is a numba kernel (``_waveguide_kernels.py``).

    Example
    -------
        string = {in = "melody", decay_s = 3.0, brightness = 0.6, pluck_position = 0.15}
    """
    from nodes.synth._waveguide_kernels import render_waveguide

    check_notes(in_, ctx)
    rate = ctx.sample_rate
    if interpolator == "lagrange" and np.any(in_.frequency_hz >= rate / LAGRANGE_LIMIT):
        k = int(np.flatnonzero(in_.frequency_hz >= rate / LAGRANGE_LIMIT)[0])
        message = (
            f"note {k + 1} at {in_.frequency_hz[k]:g} Hz is too high for the Lagrange "
            f"interpolator (below {rate / LAGRANGE_LIMIT:g} Hz); use interpolator = allpass"
        )
        raise ctx.port_error("in", message)
    poles = loss_poles(in_.frequency_hz, rate, decay_s, brightness)
    omega = 2.0 * np.pi * in_.frequency_hz / rate
    first, _ = _split(rate / in_.frequency_hz, loss_response(poles, omega)[1], omega, "allpass")
    if np.any(first < MIN_DELAY):
        k = int(np.flatnonzero(first < MIN_DELAY)[0])
        message = (
            f"note {k + 1} at {in_.frequency_hz[k]:g} Hz is too high for the string's loop "
            f"(its period of {rate / in_.frequency_hz[k]:.2f} samples must exceed "
            f"{MIN_DELAY} samples plus the loss and fractional delays)"
        )
        raise ctx.port_error("in", message)
    tuning = waveguide_tuning(
        in_.frequency_hz, rate, poles, decay_s, release_ms / 1000.0, interpolator
    )
    if np.any(tuning.detuning > 1e-9):  # a safety net: the tuning converges where it is allowed
        k = int(np.argmax(tuning.detuning))
        message = f"note {k + 1} at {in_.frequency_hz[k]:g} Hz cannot be tuned by this loop"
        raise ctx.port_error("in", message)
    excitation, at, lengths = excitations(in_.frequency_hz, rate, brightness, pluck_position, seed)
    line = np.zeros(int(np.max(tuning.delays)), dtype=np.float64)
    return _render(
        render_waveguide,
        in_,
        _samples(release_ms, rate),
        channels,
        ctx,
        tuning.delays,
        tuning.loss_gains,
        tuning.release_gains,
        poles,
        tuning.fractions,
        interpolator == "lagrange",
        amplitudes(in_, amplitude),
        excitation,
        at,
        lengths,
        line,
    )


def excitations(
    frequency_hz: np.ndarray, rate: float, brightness: float, position: float, seed: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One period of smoothed, comb-filtered noise per note, peak 1: (all, starts, lengths).

    The comb ``e[t] - e[t - M]``, ``M = round(position * period)``, is the
    pluck position's (a string plucked at a node of harmonic k cannot sound it).
    """
    rng = np.random.default_rng(np.random.SeedSequence(0 if seed is None else seed))
    smoothing = 0.95 * (1.0 - brightness)
    parts = []
    for f in frequency_hz:
        period = max(2, round(rate / f))
        noise = rng.uniform(-1.0, 1.0, period)
        smooth = np.empty(period)
        low = 0.0
        for k in range(period):
            low = (1.0 - smoothing) * noise[k] + smoothing * low
            smooth[k] = low
        smooth -= smooth.mean()
        shift = max(1, round(position * period))
        combed = np.concatenate([smooth, np.zeros(shift)])
        combed[shift:] -= smooth
        peak = np.max(np.abs(combed))
        parts.append(combed / peak if peak > 0 else combed)
    lengths = np.array([p.size for p in parts], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return np.concatenate(parts), starts, lengths
