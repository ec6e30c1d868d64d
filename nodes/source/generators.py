"""Generators: ``source.tone`` and ``source.noise`` make audio from parameters alone.

Every source renders at the graph's sample rate (``ctx.sample_rate``) and
returns float32 audio shaped (channels, frames). Long signals are generated in
chunks, so the only large allocation is the output itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import cache

import numpy as np

from graphengine.blocknode import BlockSource, StreamSpec
from graphengine.node import NYQUIST, NodeContext, Pitch, PortInfo, node, param

WAVEFORMS = ("sine", "square", "saw", "triangle")
NOISE_COLORS = ("white", "pink", "brown")
BROWN_CORNER_HZ = 20.0
"""Corner of the brown-noise leaky integrator: -6 dB/octave above it, flat below."""

_CHUNK = 1 << 16
"""Frames generated per step; bounds the float64 temporaries of long renders."""


def _chunks(frames: int) -> Iterator[tuple[int, int]]:
    for start in range(0, frames, _CHUNK):
        yield start, min(start + _CHUNK, frames)


def _frames(duration_s: float, ctx: NodeContext) -> int:
    """Frames in ``duration_s`` at the graph rate (rounded); at least one or a ParamError."""
    exact = duration_s * ctx.sample_rate
    if not math.isfinite(exact) or exact > 2**53:
        message = f"{duration_s:g} s is too long to count in samples at {ctx.sample_rate:g} Hz"
        raise ctx.param_error("duration_s", message)
    frames = round(exact)
    if frames < 1:
        raise ctx.param_error(
            "duration_s", f"{duration_s:g} s is shorter than one sample at {ctx.sample_rate:g} Hz"
        )
    return frames


def _audio_info(channels: int, frames: int, ctx: NodeContext) -> dict[str, PortInfo]:
    return {"out": PortInfo("audio", (channels, frames), sample_rate=ctx.sample_rate, itemsize=4)}


# --------------------------------------------------------------------------- tone


def _wrap(t: np.ndarray) -> np.ndarray:
    """Fractional part, in [0, 1) exactly (subtracting the floor is exact in float64)."""
    return t - np.floor(t)


def _polyblep(t: np.ndarray, dt: float) -> np.ndarray:
    """2-point polynomial BLEP residual of a step of +2 at phase 0 (mod 1).

    ``t`` is the phase in [0, 1), ``dt`` the phase increment per sample (< 0.5).
    The residual is the difference between a step smoothed by a linear
    (triangular) interpolation kernel two samples wide and the ideal step:
    ``-(1 - x)**2`` for ``x = t / dt`` in the sample after the step and
    ``(1 + x)**2`` for ``x = (t - 1) / dt`` in the sample before it.
    """
    residual = np.zeros_like(t)
    after = t < dt
    x = t[after] / dt
    residual[after] = -((1.0 - x) ** 2)
    before = t > 1.0 - dt
    x = (t[before] - 1.0) / dt
    residual[before] = (1.0 + x) ** 2
    return residual


def _polyblamp(t: np.ndarray, dt: float) -> np.ndarray:
    """2-point polynomial BLAMP residual of a unit slope change (per sample) at phase 0.

    The integral of the BLEP residual above for a unit step: ``(1 - d)**3 / 6``
    where ``d`` is the distance from the corner in samples (``d < 1``).
    """
    residual = np.zeros_like(t)
    near = (t < dt) | (t > 1.0 - dt)
    distance = np.minimum(t[near], 1.0 - t[near]) / dt
    residual[near] = (1.0 - distance) ** 3 / 6.0
    return residual


def _cycle(waveform: str, t: np.ndarray, dt: float) -> np.ndarray:
    """One waveform of peak 1 at phases ``t`` in [0, 1), fundamental in phase with sin(2πt)."""
    if waveform == "sine":
        return np.sin(2.0 * np.pi * t)
    if waveform == "saw":
        # rising ramp through 0 at t = 0, falling edge (a step of -2) at t = 0.5
        u = _wrap(t + 0.5)
        return 2.0 * u - 1.0 - _polyblep(u, dt)
    if waveform == "square":
        # +1 on [0, 0.5), -1 on [0.5, 1): a step of +2 at t = 0 and of -2 at t = 0.5
        naive = np.where(t < 0.5, 1.0, -1.0)
        return naive + _polyblep(t, dt) - _polyblep(_wrap(t + 0.5), dt)
    # triangle: through 0 rising at t = 0, peak at t = 0.25; with u = t + 1/4 the
    # trough is at u = 0 and the peak at u = 0.5. The slope is ±4 per cycle, i.e.
    # ±4·dt per sample, so each corner changes it by ±8·dt per sample.
    u = _wrap(t + 0.25)
    naive = np.where(u < 0.5, 4.0 * u - 1.0, 3.0 - 4.0 * u)
    return naive + 8.0 * dt * (_polyblamp(u, dt) - _polyblamp(_wrap(u + 0.5), dt))


@node("source.tone", version=1)
class Tone(BlockSource):
    """A periodic waveform at a fixed frequency: sine, square, saw or triangle.

    ``frequency`` is in Hz or a pitch name (``"A4"``). ``amplitude`` is the
    peak of the ideal waveform. ``phase`` is the start phase as a fraction of a
    cycle. All four shapes are aligned so that their fundamental is in
    phase with the sine: at phase 0 each crosses zero rising (the square jumps
    from -1 to +1, the saw's falling edge is half a cycle later). The output
    has ``channels`` identical channels of ``round(duration_s * sample_rate)``
    frames.

    Square and saw are band-limited with a 2-point polynomial BLEP (PolyBLEP,
    Välimäki and Huovilainen 2007) and the triangle with its integral, the
    2-point PolyBLAMP (Esqueda, Välimäki and Bilbao 2016), applied at its two
    corners; unlike integrating a band-limited square this has no integrator
    state, DC drift or frequency-dependent level. Aliasing is strongly
    reduced rather than removed (what remains lies mostly close to Nyquist),
    and harmonics are softened by the linear kernel's sinc² response: -1.5 dB
    at 10 kHz and -3.4 dB at 15 kHz at a 44.1 kHz rate. There is no Gibbs
    overshoot, so samples never exceed ``amplitude``; sampled peaks of high
    saw and triangle notes lie a little below it. The phase is computed in
    float64 as ``n * f / rate`` (no running sum), so it does not drift over
    long durations.

    Example
    -------
        osc = {waveform = "saw", frequency = "A3", duration_s = 2.0, amplitude = 0.3}
    """

    waveform: str = param("sine", choices=WAVEFORMS, description="the wave shape")
    frequency: Pitch = param(440.0, below=NYQUIST, description="fundamental in Hz or a pitch name")
    duration_s: float = param(1.0, unit="s", range=(0, None), description="length")
    amplitude: float = param(0.5, range=(0, 1), description="peak amplitude (full scale = 1)")
    phase: float = param(
        0.0, range=(0, 1), description="start phase as a fraction of a cycle (0.25 = 90°)"
    )
    channels: int = param(1, range=(1, 64), description="number of identical channels")

    def output_frames(self, input_frames: tuple[int, ...]) -> int:
        return _frames(self.duration_s, self.ctx)

    def prepare(self, spec: StreamSpec) -> None:
        self._dt = self.frequency / spec.sample_rate_hz

    def reset(self) -> None:
        self._position = 0

    def process(self, frames: int) -> np.ndarray:
        out = np.empty((self.channels, frames), dtype=np.float32)
        for start, stop in _chunks(frames):
            first = self._position + start
            n = np.arange(first, first + stop - start, dtype=np.float64)
            t = _wrap(n * self._dt + self.phase)
            out[0, start:stop] = self.amplitude * _cycle(self.waveform, t, self._dt)
        out[1:] = out[0]
        self._position += frames
        return out


tone = Tone


# --------------------------------------------------------------------------- noise

# Paul Kellet's "refined" pink filter (music-dsp, 1999): six one-pole sections in
# parallel plus a direct and a one-sample-delayed path,
#   H(z) = sum_k g_k / (1 - p_k z^-1) + d0 + d1 z^-1,
# within ±0.05 dB of -3 dB/octave from about 9 Hz (at 44.1 kHz; the band scales
# with the sample rate) up to Nyquist.
_KELLET_POLES = np.array([0.99886, 0.99332, 0.96900, 0.86650, 0.55000, -0.7616])
_KELLET_GAINS = np.array([0.0555179, 0.0750759, 0.1538520, 0.3104856, 0.5329522, -0.0168980])
_KELLET_DIRECT = 0.5362
_KELLET_DELAYED = 0.115926


@cache
def _kellet_state_covariance() -> np.ndarray:
    """Stationary covariance of the pink filter's state under unit white noise.

    The state is the six sections' outputs at n - 1 and the white sample
    w[n - 1]. Each section output is ``sum_k g p^k w[n-1-k]``, so
    ``E[b_i b_j] = g_i g_j / (1 - p_i p_j)``, ``E[b_i w] = g_i`` and ``E[w w] = 1``.
    """
    g, p = _KELLET_GAINS, _KELLET_POLES
    cov = np.empty((7, 7))
    cov[:6, :6] = np.outer(g, g) / (1.0 - np.outer(p, p))
    cov[:6, 6] = cov[6, :6] = g
    cov[6, 6] = 1.0
    return cov


def kellet_power_gain() -> float:
    """Energy of the pink filter's impulse response, ``sum_n h[n]**2`` (closed form).

    ``h[0] = sum g + d0``, ``h[1] = sum g p + d1``, ``h[n] = sum g p**n``, so
    ``sum h**2 = sum_ij g_i g_j / (1 - p_i p_j) + 2 sum_i g_i (d0 + d1 p_i) + d0**2 + d1**2``:
    the output variance for unit-variance white input.
    """
    g, p = _KELLET_GAINS, _KELLET_POLES
    d0, d1 = _KELLET_DIRECT, _KELLET_DELAYED
    sections = float(np.sum(np.outer(g, g) / (1.0 - np.outer(p, p))))
    return sections + 2.0 * float(np.sum(g * (d0 + d1 * p))) + d0 * d0 + d1 * d1


def _brown_pole(sample_rate: float) -> float:
    return math.exp(-2.0 * math.pi * BROWN_CORNER_HZ / sample_rate)


class _Stream:
    """One channel's noise generator: its random stream and colouring-filter state."""

    def __init__(self, color: str, rng: np.random.Generator, sample_rate: float) -> None:
        self.color = color
        self.rng = rng
        if color == "pink":
            # start from a draw of the stationary state, so the level holds from the first sample
            cov = _kellet_state_covariance()
            state = np.linalg.cholesky(cov) @ rng.standard_normal(cov.shape[0])
            self.zi = _KELLET_POLES * state[:6]  # transposed direct form II state per one-pole
            self.w_prev = float(state[6])
            self.scale = 1.0 / math.sqrt(kellet_power_gain())
        elif color == "brown":
            self.pole = _brown_pole(sample_rate)
            power_gain = 1.0 / (1.0 - self.pole * self.pole)  # sum_n pole**(2n)
            y_prev = rng.standard_normal() * math.sqrt(power_gain)  # stationary start
            self.zi = np.array([self.pole * y_prev])
            self.scale = 1.0 / math.sqrt(power_gain)

    def fill(self, row: np.ndarray, amplitude: float) -> None:
        """The next ``row.size`` samples, at RMS ``amplitude``."""
        for start, stop in _chunks(row.size):
            w = self.rng.standard_normal(stop - start)
            if self.color == "white":
                row[start:stop] = amplitude * w
            elif self.color == "pink":
                row[start:stop] = amplitude * self.scale * self._pink(w)
            else:
                row[start:stop] = amplitude * self.scale * self._brown(w)

    def _pink(self, w: np.ndarray) -> np.ndarray:
        from scipy.signal import lfilter

        y = _KELLET_DIRECT * w
        y[0] += _KELLET_DELAYED * self.w_prev
        y[1:] += _KELLET_DELAYED * w[:-1]
        for k, (gain, pole) in enumerate(zip(_KELLET_GAINS, _KELLET_POLES, strict=True)):
            section, zf = lfilter([gain], [1.0, -pole], w, zi=self.zi[k : k + 1])
            y += section
            self.zi[k] = zf[0]
        self.w_prev = float(w[-1])
        return y

    def _brown(self, w: np.ndarray) -> np.ndarray:
        from scipy.signal import lfilter

        y, self.zi = lfilter([1.0], [1.0, -self.pole], w, zi=self.zi)
        return y


@node("source.noise", version=1)
class Noise(BlockSource):
    """Gaussian noise, white, pink (-3 dB/octave) or brown (-6 dB/octave).

    ``amplitude`` is the RMS level of the output (not its peak): Gaussian noise
    peaks at about four times its RMS, so keep ``amplitude`` at or below 0.25
    to stay within full scale. The level is set from the colouring filter's
    theoretical power gain (the energy of its impulse response), not measured,
    so it does not depend on the duration, and each filter starts from a random
    draw of its stationary state, so there is no fade-in.

    - white: independent standard normal samples.
    - pink: Paul Kellet's refined filter (six parallel one-poles), within
      0.05 dB of -3 dB/octave from about ``9 Hz * rate / 44100`` to Nyquist.
    - brown: a leaky integrator ``y[n] = p y[n-1] + w[n]`` with its corner at
      20 Hz: -6 dB/octave above it, flat below, so it does not wander off.

    Channel ``k`` draws from child ``k`` of ``numpy.random.SeedSequence(seed)``,
    so channels are independent, the same seed gives the same noise, and a
    longer render starts with the same samples as a shorter one. The engine
    passes a seed derived from the graph's seed and the node id; a direct call
    with ``seed=None`` uses seed 0.

    Example
    -------
        hiss = {color = "pink", duration_s = 5.0, amplitude = 0.05, channels = 2}
    """

    color: str = param("white", choices=NOISE_COLORS, description="spectral tilt")
    duration_s: float = param(1.0, unit="s", range=(0, None), description="length")
    amplitude: float = param(0.1, range=(0, 1), description="RMS level (full scale = 1)")
    seed: int | None = param(None, description="random seed; by default derived from the graph's")
    channels: int = param(1, range=(1, 64), description="number of independent channels")

    def output_frames(self, input_frames: tuple[int, ...]) -> int:
        return _frames(self.duration_s, self.ctx)

    def prepare(self, spec: StreamSpec) -> None:
        self._rate = spec.sample_rate_hz

    def reset(self) -> None:
        seeds = np.random.SeedSequence(0 if self.seed is None else self.seed).spawn(self.channels)
        self._streams = [
            _Stream(self.color, np.random.default_rng(seed), self._rate) for seed in seeds
        ]

    def process(self, frames: int) -> np.ndarray:
        out = np.empty((self.channels, frames), dtype=np.float32)
        for row, stream in zip(out, self._streams, strict=True):
            stream.fill(row, self.amplitude)
        return out


noise = Noise
