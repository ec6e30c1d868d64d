"""synth.clarinet: a single-reed woodwind as a digital waveguide, tuned exactly.

The clarinet is a cylindrical bore closed at the mouthpiece by a reed and
open at the bell (McIntyre, Schumacher & Woodhouse 1983, "On the
oscillations of musical instruments", JASA 74(5); Smith 1986, "Efficient
simulation of the reed-bore and bow-string mechanisms", ICMC). The bore is
one delay loop holding a pressure wave's round trip: out to the bell,
which reflects it inverted through a lowpass (an open end reflects low
frequencies, lets the highs out), and back to the reed. The reed is a
pressure-controlled valve, a memoryless reflection function of the
pressure difference across it (Smith's reed table: ``rho(d) =
clip(0.7 - 0.3 d, -1, 1)``, the reed closing as the bore's pressure falls
below the mouth's), through which the player's breath drives the loop.
The inverting bell makes a round trip half a period, so the bore
resonates at the odd harmonics only: the hollow, square-wave-like tone of
the clarinet's low register.

The pitch of a self-sustained oscillation is where the loop's phase turns
by a whole number of cycles, and with a nonlinear reed every harmonic the
bore resonates pulls on it: a loss filter whose phase delay changes with
frequency puts the resonances at inharmonic places, and the reed locks
the harmonics to a compromise (with a one-pole bell, compensated at the
fundamental only, notes came out up to 1.4 cents sharp). So here the
bell's lowpass is linear phase (symmetric taps: a delay of exactly M
samples at every frequency), the reed is memoryless, and only the
fractional delay (a third-order Lagrange interpolator, nearly linear phase
below a quarter of the rate) is dispersive: the resonances are harmonic
and the delay line is set so the loop's phase delay at the note is exactly
half its period.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from graphengine.node import NodeContext, node, param
from graphengine.types import Audio, Notes
from nodes.synth.voices import AMPLITUDE, CHANNELS, _render, _samples, check_notes, infer_voice
from nodes.synth.waveguide import LAGRANGE_LIMIT, fir_response, lagrange_for_phase_delay

REFLECTION = 0.95
"""Gain of the bell's reflection at 0 Hz: the bore's losses that do not depend on frequency."""
REED_OFFSET = 0.7
REED_SLOPE = -0.3
"""Smith's reed table ``rho(d) = clip(REED_OFFSET + REED_SLOPE d, -1, 1)``, d = bore - mouth."""
PRESSURE_TOP = 0.98
"""The breath pressure at ``breath * velocity`` = 1, just below where the reed shuts (1.0)."""
START = 0.12
"""Pressure at velocity 0+ as a fraction of the way from the threshold to PRESSURE_TOP."""
MIN_FUNDAMENTAL_GAIN = 0.97
"""The bell's lowpass passes the note itself at least this much (so every note can sound)."""
TONGUE_PUFF = 0.135
"""The tongue's puff at ``tongue = 1``: a pulse one round trip long that starts the oscillation.

The breath alone starts it from nothing, growing by the loop's excess gain per
round trip (0.2-0.5 s near the threshold in the low register); a pulse of
about the oscillation's own amplitude, written into the bore as the reed is
released, lets it speak within a period (measured: below 0.1 it still grows
from small, above 0.2 the attack overshoots the steady level by 40 %).
"""
DC_HZ = 20.0
"""Corner of the DC blocker on the output (the breath pushes the bore's mean pressure up)."""
OUTPUT_GAIN = 20.0
"""Scales the sound (the wave let out at the bell): at velocity 1 it peaks near ``amplitude``."""


class Bore(NamedTuple):
    """Per note: line length, Lagrange taps (n, 4), bell taps (n, L), their count, threshold."""

    delays: np.ndarray
    fractions: np.ndarray
    bell: np.ndarray
    bell_len: np.ndarray
    loop_gain: np.ndarray
    """The loop's gain at the note without the reed: bell reflection times interpolator."""


def bell_taps(frequency_hz: np.ndarray, rate: float, cutoff_hz: float) -> list[np.ndarray]:
    """Sampled-Gaussian lowpass taps per note, symmetric, summing to 1, -3 dB near ``cutoff_hz``.

    ``exp(-k^2 / (2 s^2))`` for ``|k| <= M``, ``s = sqrt(ln 2) / w_c`` (the
    continuous Gaussian's response ``exp(-s^2 w^2 / 2)`` is 1/sqrt(2) at
    ``w_c``), where ``w_c`` is the cutoff but no lower than lets the note
    itself through at :data:`MIN_FUNDAMENTAL_GAIN`. ``M = ceil(3.5 s)``,
    shortened where the loop is too short for it (high notes, whose
    harmonics lie far above the cutoff anyway).
    """
    taps = []
    for f in frequency_hz:
        w0 = 2.0 * np.pi * f / rate
        sigma = min(
            np.sqrt(np.log(2.0)) / (2.0 * np.pi * cutoff_hz / rate),
            np.sqrt(-2.0 * np.log(MIN_FUNDAMENTAL_GAIN)) / w0,
        )
        half = rate / f / 2.0
        m = int(min(np.ceil(3.5 * sigma), np.floor(half) - 2))
        k = np.arange(-m, m + 1, dtype=np.float64)
        g = np.exp(-(k**2) / (2.0 * sigma**2))
        taps.append(g / g.sum())
    return taps


def bore(frequency_hz: np.ndarray, rate: float, cutoff_hz: float) -> Bore:
    """Line lengths and filters whose loop delays each note's fundamental by half a period.

    The loop is ``N`` samples of line, the bell's ``M`` (linear phase, so
    exact at every frequency) and the Lagrange interpolator's phase delay
    ``D`` at the note, solved so that ``N + M + D = rate / (2 f)`` exactly
    (``D`` in [1, 2)); the bell's inversion makes that half period a half
    cycle, so the loop turns by a whole cycle at f.
    """
    omega = 2.0 * np.pi * frequency_hz / rate
    taps = bell_taps(frequency_hz, rate, cutoff_hz)
    middles = np.array([t.size // 2 for t in taps], dtype=np.int64)
    total = rate / frequency_hz / 2.0
    delays = np.floor(total - middles - 1.0).astype(np.int64)
    fractions = lagrange_for_phase_delay(total - middles - delays, omega)
    width = max(t.size for t in taps)
    bell = np.zeros((frequency_hz.size, width))
    for n, t in enumerate(taps):
        bell[n, : t.size] = t
    lengths = np.array([t.size for t in taps], dtype=np.int64)
    bell_gain = np.array(
        [
            abs(np.sum(t * np.exp(-1j * w * np.arange(t.size))))
            for t, w in zip(taps, omega, strict=True)
        ]
    )
    loop_gain = REFLECTION * bell_gain * fir_response(fractions, omega)[0]
    return Bore(delays, fractions, bell, lengths, loop_gain)


def rest_point(pressure: np.ndarray) -> np.ndarray:
    """The pressure difference ``d`` across the reed when the bore is still (the loop's DC).

    At 0 Hz the loop reflects ``back = -REFLECTION x`` and the reed sends
    ``x = p + d rho(d)`` with ``d = back - p``: solved by bisection on d in [-p - 1, 0].
    """
    lo = -pressure - 1.0
    hi = np.zeros_like(pressure)
    for _ in range(80):
        d = 0.5 * (lo + hi)
        rho = np.clip(REED_OFFSET + REED_SLOPE * d, -1.0, 1.0)
        x = pressure + d * rho
        residual = -REFLECTION * x - pressure - d  # decreasing in d
        lo = np.where(residual > 0, d, lo)
        hi = np.where(residual > 0, hi, d)
    return 0.5 * (lo + hi)


def reed_gain(pressure: np.ndarray) -> np.ndarray:
    """Small-signal gain of the reed at rest: ``d(p + d rho(d)) / dd`` at :func:`rest_point`."""
    d = rest_point(pressure)
    shut = REED_OFFSET + REED_SLOPE * d >= 1.0
    return np.where(shut, 1.0, REED_OFFSET + 2.0 * REED_SLOPE * d)


def thresholds(loop_gain: np.ndarray) -> np.ndarray:
    """The breath pressure above which each note starts: ``loop_gain * reed_gain(p) = 1``.

    ``nan`` where the loop is too lossy to sound below the reed shutting.
    """
    lo = np.zeros_like(loop_gain)
    hi = np.full(loop_gain.shape, PRESSURE_TOP)
    sounds = loop_gain * reed_gain(hi) > 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        up = loop_gain * reed_gain(mid) > 1.0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
    return np.where(sounds, hi, np.nan)


def breath_pressures(threshold: np.ndarray, velocity: np.ndarray, breath: float) -> np.ndarray:
    """Mouth pressure per note, between its threshold and :data:`PRESSURE_TOP`.

    ``threshold + (PRESSURE_TOP - threshold) * (START + (1 - START) * breath * velocity)``;
    a note of velocity 0 is silent (its output is scaled by 0).
    """
    blow = START + (1.0 - START) * breath * np.clip(velocity, 0.0, 1.0)
    return threshold + (PRESSURE_TOP - threshold) * blow


@node("synth.clarinet", version=1, infer=infer_voice)
def clarinet(
    in_: Notes,
    *,
    breath: float = param(
        0.7, range=(0.0, 1.0), description="how hard velocity 1 blows (0 soft to 1 reedy)"
    ),
    cutoff_hz: float = param(
        1800.0, unit="Hz", range=(200.0, 20_000.0), description="the bell's lowpass: the tone"
    ),
    noise: float = param(0.02, range=(0.0, 0.5), description="breath noise (relative)"),
    tongue: float = param(
        1.0, range=(0.0, 3.0), description="the tongued attack (0: breath only, slow to speak)"
    ),
    attack_ms: float = param(
        25.0, unit="ms", range=(0.1, 10_000.0), description="breath pressure rise time"
    ),
    release_ms: float = param(
        40.0, unit="ms", range=(0.1, 10_000.0), description="breath pressure fall time"
    ),
    amplitude: float = AMPLITUDE,
    seed: int | None = param(None, description="seed of the breath noise"),
    channels: int = CHANNELS,
    ctx: NodeContext,
) -> Audio:
    """A clarinet: a reed blown into a cylindrical bore (digital waveguide), tuned exactly.

    Each note is its own instrument: a delay loop holding the bore's round
    trip (half a period), closed at one end by the bell, which reflects
    the wave inverted through a linear-phase lowpass (``cutoff_hz``: low,
    a dark, woody tone; high, a bright, buzzy one) and lets the rest out
    as the sound, and at the other by the reed (Smith's reed table, a
    memoryless valve) through which the breath drives it. The bore
    resonates at the odd harmonics: the even ones are 25 dB or more below
    the fundamental. The mouth pressure rises over ``attack_ms``, is held
    with ``noise`` (relative, uniform, from ``seed``) and falls over
    ``release_ms`` at the note's end; the bore then rings down by itself.
    ``tongue`` is the tongued attack: a puff one round trip long, about
    the oscillation's own amplitude at 1, so the note speaks within a
    period (0: the breath alone, and low soft notes take 0.2-0.5 s to
    grow; 2-3: an accent that overshoots). The pressure lies between the
    note's threshold (where the reed starts to oscillate, computed from
    the loop's gain) and the reed shutting: ``breath * velocity`` 0 just
    above the threshold, 1 just below the shutting (the even harmonics
    fall from about -35 dB to -50 dB and lower). The sound is scaled by
    ``amplitude * velocity``; held notes peak at 0.75-1 times that, the
    attack up to 1.2 times (sub-millisecond attacks or releases and a
    strong ``tongue`` make transients up to 5 times). Nothing runs away:
    the bell's taps are positive and with the reflection sum to 0.95, and
    the reed passes at most the wave it gets plus twice the mouth pressure.

    Tuning: the loop's phase delay at the note is made exactly half its
    period (line, the bell's delay and a Lagrange fractional delay solved
    at the note); with the linear-phase bell the bore's resonances are
    harmonic, so the reed's nonlinearity does not pull the pitch. Measured
    within 0.3 cent from 73 Hz to 2.3 kHz (``tests/nodes/synth/
    test_clarinet.py``). The bell's cutoff is raised where needed to pass
    the note itself (to 3.4 times it), so high notes still speak; notes
    must lie below rate / 8 (5.5 kHz at 44.1 kHz). The loop is a numba
    kernel (``_clarinet_kernels.py``).

    Example
    -------
        reed = {in = "melody", breath = 0.8, cutoff_hz = 1500, attack_ms = 40}
    """
    from nodes.synth._clarinet_kernels import render_clarinet

    check_notes(in_, ctx)
    rate = ctx.sample_rate
    too_high = np.flatnonzero(in_.frequency_hz >= rate / LAGRANGE_LIMIT)
    if too_high.size:
        k = int(too_high[0])
        message = (
            f"note {k + 1} at {in_.frequency_hz[k]:g} Hz is too high for the bore "
            f"(below {rate / LAGRANGE_LIMIT:g} Hz, rate / {LAGRANGE_LIMIT})"
        )
        raise ctx.port_error("in", message)
    tube = bore(in_.frequency_hz, rate, cutoff_hz)
    threshold = thresholds(tube.loop_gain)
    if np.any(np.isnan(threshold)):  # a safety net: MIN_FUNDAMENTAL_GAIN keeps every note sounding
        k = int(np.flatnonzero(np.isnan(threshold))[0])
        raise ctx.port_error("in", f"note {k + 1} at {in_.frequency_hz[k]:g} Hz cannot sound")
    pressures = breath_pressures(threshold, in_.velocity, breath)
    # After the breath stops the bore decays by about the loop's gain times the
    # reed's at rest (0.7) per round trip: ring for 80 dB of that.
    decay = tube.loop_gain * REED_OFFSET
    ring = np.ceil(4.0 / -np.log10(decay) * rate / in_.frequency_hz / 2.0)
    release = _samples(release_ms, rate)
    rng = np.random.default_rng(np.random.SeedSequence(0 if seed is None else seed))
    seeds = rng.integers(1, 2**32, size=in_.frequency_hz.size, dtype=np.int64)
    amps = amplitude * OUTPUT_GAIN * np.clip(in_.velocity, 0.0, 1.0)
    return _render(
        render_clarinet,
        in_,
        release + int(np.max(ring)),
        channels,
        ctx,
        tube.delays,
        tube.fractions,
        tube.bell,
        tube.bell_len,
        REFLECTION,
        pressures,
        _samples(attack_ms, rate),
        release,
        noise,
        tongue * TONGUE_PUFF,
        np.maximum(1, np.round(rate / in_.frequency_hz / 2.0)).astype(np.int64),
        seeds,
        REED_OFFSET,
        REED_SLOPE,
        float(np.exp(-2.0 * np.pi * DC_HZ / rate)),
        amps,
        np.zeros(int(np.max(tube.delays)), dtype=np.float64),
        np.zeros(tube.bell.shape[1], dtype=np.float64),
    )
