"""Filters: streaming IIR filters built from second-order sections.

Both nodes keep their coefficients as a float64 array of second-order sections
in scipy's layout (one row ``b0 b1 b2 a0 a1 a2`` per section, ``a0 == 1``) and
run them with one numba kernel (``nodes.filter._kernels.sosfilt_inplace``) in
transposed direct form II with float64 state, so a chain of blocks gives the
same samples as one pass over the whole signal. Coefficients are designed here
with numpy alone: validating a graph calls ``prepare`` and must not load
scipy.signal or numba.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphengine.blocknode import BlockEffect, Kernel, SampleStage, StreamSpec
from graphengine.node import NYQUIST, node, param

BIQUAD_MODES = ("lowpass", "highpass", "bandpass", "notch", "peak", "lowshelf", "highshelf")
BUTTERWORTH_MODES = ("lowpass", "highpass", "bandpass")
_SCRATCH_FRAMES = 4096
"""Length of the float64 buffer that carries the signal between sections."""


def rbj_sos(
    mode: str, cutoff_hz: float, q: float, gain_db: float, sample_rate: float
) -> np.ndarray:
    """One second-order section from the RBJ Audio-EQ cookbook, shaped (1, 6), a0 == 1.

    Parameters
    ----------
    mode : one of BIQUAD_MODES
    cutoff_hz : float, 0 < cutoff_hz < sample_rate / 2
        Corner (lowpass, highpass), centre (bandpass, notch, peak) or
        mid-slope point (shelves) frequency.
    q : float > 0
        Quality factor; 1/sqrt(2) gives the flattest lowpass/highpass.
    gain_db : float
        Boost (positive) or cut of ``peak``, ``lowshelf`` and ``highshelf``;
        ignored by the other modes.
    sample_rate : float > 0
    """
    w0 = 2.0 * math.pi * cutoff_hz / sample_rate
    cos_w0, sin_w0 = math.cos(w0), math.sin(w0)
    alpha = sin_w0 / (2.0 * q)
    a = 10.0 ** (gain_db / 40.0)
    if mode == "lowpass":
        b = [(1 - cos_w0) / 2, 1 - cos_w0, (1 - cos_w0) / 2]
        den = [1 + alpha, -2 * cos_w0, 1 - alpha]
    elif mode == "highpass":
        b = [(1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2]
        den = [1 + alpha, -2 * cos_w0, 1 - alpha]
    elif mode == "bandpass":  # constant 0 dB peak gain
        b = [alpha, 0.0, -alpha]
        den = [1 + alpha, -2 * cos_w0, 1 - alpha]
    elif mode == "notch":
        b = [1.0, -2 * cos_w0, 1.0]
        den = [1 + alpha, -2 * cos_w0, 1 - alpha]
    elif mode == "peak":
        b = [1 + alpha * a, -2 * cos_w0, 1 - alpha * a]
        den = [1 + alpha / a, -2 * cos_w0, 1 - alpha / a]
    elif mode in ("lowshelf", "highshelf"):
        s = (
            1.0 if mode == "lowshelf" else -1.0
        )  # highshelf: the lowshelf with cos -> -cos, b1, a1 negated
        k = 2 * math.sqrt(a) * alpha
        b = [
            a * ((a + 1) - s * (a - 1) * cos_w0 + k),
            s * 2 * a * ((a - 1) - s * (a + 1) * cos_w0),
            a * ((a + 1) - s * (a - 1) * cos_w0 - k),
        ]
        den = [
            (a + 1) + s * (a - 1) * cos_w0 + k,
            -s * 2 * ((a - 1) + s * (a + 1) * cos_w0),
            (a + 1) + s * (a - 1) * cos_w0 - k,
        ]
    else:
        raise ValueError(f"unknown biquad mode {mode!r}")
    a0 = den[0]
    return np.array([[b[0] / a0, b[1] / a0, b[2] / a0, 1.0, den[1] / a0, den[2] / a0]])


def butterworth_sos(
    mode: str, order: int, edges_hz: tuple[float, ...], sample_rate: float
) -> np.ndarray:
    """Digital Butterworth filter as second-order sections, shaped (sections, 6).

    The analog prototype's poles are moved to the cutoff (or band) prewarped
    for the bilinear transform, mapped to the z-plane, and paired into
    sections: each conjugate pair of poles (or two real ones) with two zeros;
    an odd pole left over makes a first-order last section. The overall gain
    sits in the first section. Same response as
    ``scipy.signal.butter(order, edges_hz, mode, fs=sample_rate, output="sos")``.

    Parameters
    ----------
    mode : "lowpass", "highpass" or "bandpass"
    order : int >= 1
        Order of the prototype; a bandpass has twice as many poles.
    edges_hz : (cutoff,) or (low, high) for bandpass, each in (0, sample_rate / 2)
    sample_rate : float > 0
    """
    fs2 = 2.0 * sample_rate
    warped = [fs2 * math.tan(math.pi * f / sample_rate) for f in edges_hz]
    m = np.arange(-order + 1, order, 2)
    prototype = -np.exp(1j * np.pi * m / (2 * order))
    if mode == "lowpass":
        poles = prototype * warped[0]
        gain = warped[0] ** order
        zeros = np.full(order, -1.0)  # zeros at infinity map to z = -1
    elif mode == "highpass":
        poles = warped[0] / prototype
        gain = float(np.real(1.0 / np.prod(-prototype)))
        zeros = np.full(order, 1.0)  # zeros at s = 0 map to z = +1
    elif mode == "bandpass":
        centre, width = math.sqrt(warped[0] * warped[1]), warped[1] - warped[0]
        half = prototype * width / 2
        root = np.sqrt(half**2 - centre**2)
        poles = np.concatenate([half + root, half - root])
        gain = width**order
        zeros = np.concatenate([np.full(order, 1.0), np.full(order, -1.0)])
    else:
        raise ValueError(f"unknown Butterworth mode {mode!r}")
    digital = (fs2 + poles) / (fs2 - poles)
    analog_zeros = 0 if mode == "lowpass" else order  # zeros at s = 0 (highpass, bandpass)
    gain *= float(np.real(fs2**analog_zeros / np.prod(fs2 - poles)))
    return _pair_sections(digital, zeros, gain)


def _pair_sections(poles: np.ndarray, zeros: np.ndarray, gain: float) -> np.ndarray:
    """Group z-plane poles into conjugate pairs (or real pairs), two zeros to each section."""
    tol = 1e-10
    upper = sorted((p for p in poles if p.imag > tol), key=lambda p: -abs(p))
    real = sorted((p.real for p in poles if abs(p.imag) <= tol), key=abs)
    sections: list[np.ndarray] = []
    for p in upper:
        sections.append(np.array([1.0, -2.0 * p.real, abs(p) ** 2]))
    while len(real) >= 2:
        p1, p2 = real.pop(), real.pop()
        sections.append(np.array([1.0, -(p1 + p2), p1 * p2]))
    if real:
        sections.append(np.array([1.0, -real.pop(), 0.0]))
    zero_list = sorted(float(np.real(z)) for z in zeros)
    sos = np.zeros((len(sections), 6))
    for i, den in enumerate(sections):
        pair = zero_list[2 * i : 2 * i + 2]
        if len(pair) == 2:
            num = np.array([1.0, -(pair[0] + pair[1]), pair[0] * pair[1]])
        elif len(pair) == 1:
            num = np.array([1.0, -pair[0], 0.0])
        else:
            num = np.array([1.0, 0.0, 0.0])
        sos[i, :3] = num
        sos[i, 3:] = den
    sos[0, :3] *= gain
    return sos


class _SosFilter(BlockEffect):
    """Shared state and processing of the second-order-section filters."""

    def _allocate(self, sos: np.ndarray, spec: StreamSpec) -> None:
        self._sos = np.ascontiguousarray(sos, dtype=np.float64)
        self._zi = np.zeros((spec.channels, len(self._sos), 2))
        self._scratch = np.zeros((2, max(1, min(spec.block_size, _SCRATCH_FRAMES))))

    def reset(self) -> None:
        self._zi[:] = 0.0

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` filtering ``block`` in place, as ``process``."""
        from nodes.filter._kernels import sosfilt_inplace

        return sosfilt_inplace, (self._sos, self._zi, self._scratch)

    def sample_kernel(self) -> tuple[SampleStage, ...]:
        """The kernel frame by frame: one stage per section, float64 between them."""
        from nodes.filter import _kernels as k

        begin, step, end, after = k.section_begin, k.section_step, k.section_end, k.section_after
        return tuple(
            SampleStage(begin, step, end, after, (self._sos, self._zi, s))
            for s in range(len(self._sos))
        )

    def process(self, block: np.ndarray) -> np.ndarray:
        from nodes.filter._kernels import sosfilt_inplace

        return sosfilt_inplace(block, self._sos, self._zi, self._scratch)


FREQUENCY_RANGE_HZ = (1.0, 100_000.0)


def frequency_param(default: float | None, description: str, *, below_nyquist: bool = True) -> Any:
    """A filter frequency in Hz within FREQUENCY_RANGE_HZ and, by default, below Nyquist."""
    return param(
        default,
        unit="Hz",
        range=FREQUENCY_RANGE_HZ,
        below=NYQUIST if below_nyquist else None,
        description=description,
    )


@node("filter.biquad", version=1)
class Biquad(_SosFilter):
    """Second-order filter from the RBJ Audio-EQ cookbook: pass, cut, peak or shelf.

    ``mode`` picks the shape: ``lowpass``/``highpass`` (12 dB/octave beyond
    ``cutoff_hz``; -3 dB there at ``q`` = 0.7071), ``bandpass`` (0 dB at
    ``cutoff_hz``, bandwidth ``cutoff_hz / q``), ``notch`` (silence at
    ``cutoff_hz``), ``peak`` (``gain_db`` at ``cutoff_hz``, width set by
    ``q``), ``lowshelf``/``highshelf`` (``gain_db`` below/above, ``gain_db / 2``
    at ``cutoff_hz``). ``gain_db`` matters only for peak and shelves. Streams
    block by block in a numba kernel with float64 state; output is as long as
    the input, channels filtered independently.

    Example
    -------
        lp = {in = "src", mode = "lowpass", cutoff_hz = 2000.0, q = 0.7071}
    """

    mode: str = param("lowpass", choices=BIQUAD_MODES, description="filter shape")
    cutoff_hz: float = frequency_param(1000.0, "corner, centre or shelf mid-point frequency")
    q: float = param(0.7071, range=(0.05, 50.0), description="quality factor (resonance, width)")
    gain_db: float = param(
        0.0, unit="dB", range=(-60.0, 60.0), description="boost or cut of peak and shelf modes"
    )

    def prepare(self, spec: StreamSpec) -> None:
        sos = rbj_sos(self.mode, self.cutoff_hz, self.q, self.gain_db, spec.sample_rate_hz)
        self._allocate(sos, spec)


@node("filter.butterworth", version=1)
class Butterworth(_SosFilter):
    """Butterworth lowpass, highpass or bandpass of order 1 to 8, maximally flat.

    ``order`` sets the slope: 6 dB/octave per order beyond the cutoff (a
    bandpass of order n has n poles on each side). ``cutoff_hz`` is the -3 dB
    corner of a lowpass or highpass and the lower -3 dB edge of a bandpass,
    whose upper edge is ``high_cutoff_hz`` (required for bandpass, ignored
    otherwise). The filter is designed by the bilinear transform
    (same response as ``scipy.signal.butter(..., output="sos")``) and runs as
    cascaded second-order sections with float64 state, block by block.

    Example
    -------
        band = {in = "src", mode = "bandpass", cutoff_hz = 300.0, high_cutoff_hz = 3400.0}
    """

    mode: str = param("lowpass", choices=BUTTERWORTH_MODES, description="filter type")
    order: int = param(4, range=(1, 8), description="filter order (6 dB/octave each)")
    cutoff_hz: float = frequency_param(
        1000.0, "-3 dB corner (lowpass, highpass) or lower band edge (bandpass)"
    )
    high_cutoff_hz: float | None = frequency_param(
        None, "upper -3 dB band edge; bandpass only", below_nyquist=False
    )

    def prepare(self, spec: StreamSpec) -> None:
        edges: tuple[float, ...] = (self.cutoff_hz,)
        if self.mode == "bandpass":
            high = self.high_cutoff_hz
            if high is None:
                raise self.param_error(
                    "high_cutoff_hz",
                    "a bandpass needs its upper edge: set high_cutoff_hz above cutoff_hz",
                )
            # Not declared as above/below: outside bandpass mode the upper edge is ignored.
            if high <= self.cutoff_hz:
                raise self.param_error(
                    "high_cutoff_hz",
                    f"{high:g} Hz is not above cutoff_hz ({self.cutoff_hz:g} Hz)",
                )
            rate = spec.sample_rate_hz
            if high >= rate / 2:
                raise self.param_error(
                    "high_cutoff_hz",
                    f"{high:g} Hz is not below Nyquist ({rate / 2:g} Hz at {rate:g} Hz)",
                )
            edges = (self.cutoff_hz, high)
        sos = butterworth_sos(self.mode, int(self.order), edges, spec.sample_rate_hz)
        self._allocate(sos, spec)
