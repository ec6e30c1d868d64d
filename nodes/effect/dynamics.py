"""Dynamics and waveshaping: compressor, distortion, bitcrusher, DC blocker.

Streaming nodes (see :mod:`graphengine.blocknode`): each keeps its state in
small arrays and does its work in a numba kernel from
``nodes.effect._dynamics_kernels``, which ``kernel()`` exposes as ``(fn, args)`` with
``fn(block, *args)`` processing ``block`` in place exactly like ``process``.
"""

from __future__ import annotations

import math

import numpy as np

from graphengine.blocknode import BlockEffect, Kernel, SampleStage, StreamSpec
from graphengine.node import node, param

DETECTORS = ("rms", "peak")
DISTORTION_MODES = ("tanh", "hard")


def _one_pole(time_ms: float, sample_rate: float) -> float:
    """Coefficient of a one-pole smoother reaching 1 - 1/e of a step in ``time_ms`` (0: instant)."""
    if time_ms <= 0.0:
        return 0.0
    return math.exp(-1000.0 / (time_ms * sample_rate))


def static_curve_db(
    level_db: np.ndarray | float, threshold_db: float, ratio: float, knee_db: float = 0.0
) -> np.ndarray:
    """Output level of the compressor's static curve (before make-up gain) for ``level_db``."""
    level = np.asarray(level_db, dtype=np.float64)
    over = level - threshold_db
    slope = 1.0 - 1.0 / ratio
    reduction = np.where(over > 0, slope * over, 0.0)
    if knee_db > 0:
        inside = np.abs(over) < knee_db / 2
        reduction = np.where(inside, slope * (over + knee_db / 2) ** 2 / (2 * knee_db), reduction)
    return level - reduction


@node("effect.compressor", version=1)
class Compressor(BlockEffect):
    """Feed-forward compressor: turn down what rises above a threshold by a ratio.

    The detector measures each frame across all channels (the channels share
    one gain, so the stereo image holds): ``rms`` averages the squared samples
    over ``rms_window_ms``; ``peak`` takes the largest absolute sample. Above
    ``threshold_db`` (dBFS) the static curve lets through one dB for every
    ``ratio`` dB (1 does nothing); ``knee_db`` rounds the corner over that
    many dB around the threshold. The gain reduction follows with time
    constants ``attack_ms`` while it grows and ``release_ms`` while it falls
    (1 - 1/e of a step; 0 is instant), then ``makeup_db`` is added. A steady
    tone whose detected level is L dB above the threshold comes out at
    threshold + L / ratio + makeup. Output is as long as the input.

    Example
    -------
        comp = {in = "src", threshold_db = -18.0, ratio = 4.0, attack_ms = 5.0, makeup_db = 6.0}
    """

    threshold_db: float = param(
        -20.0, unit="dB", range=(-100.0, 0.0), description="level where compression starts, dBFS"
    )
    ratio: float = param(4.0, range=(1.0, 100.0), description="input dB per output dB above it")
    attack_ms: float = param(
        10.0, unit="ms", range=(0.0, 2000.0), description="time constant of rising reduction"
    )
    release_ms: float = param(
        100.0, unit="ms", range=(0.0, 10_000.0), description="time constant of falling reduction"
    )
    makeup_db: float = param(
        0.0, unit="dB", range=(-24.0, 48.0), description="gain added after compression"
    )
    knee_db: float = param(0.0, unit="dB", range=(0.0, 24.0), description="soft-knee width")
    detector: str = param("rms", choices=DETECTORS, description="level detector")
    rms_window_ms: float = param(
        10.0, unit="ms", range=(0.1, 1000.0), description="averaging time of the rms detector"
    )

    def prepare(self, spec: StreamSpec) -> None:
        rate = spec.sample_rate_hz
        self._state = np.zeros(2)
        self._scalars = (
            float(self.threshold_db),
            float(self.ratio),
            float(self.knee_db),
            _one_pole(self.attack_ms, rate),
            _one_pole(self.release_ms, rate),
            _one_pole(self.rms_window_ms, rate),
            10.0 ** (self.makeup_db / 20.0),
            self.detector == "rms",
        )

    def reset(self) -> None:
        self._state[:] = 0.0

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` compressing ``block`` in place."""
        from nodes.effect._dynamics_kernels import compressor_inplace

        return compressor_inplace, (self._state, *self._scalars)


@node("effect.distortion", version=1)
class Distortion(BlockEffect):
    """Waveshaping distortion: amplify by a drive, then soft-clip (tanh) or hard-clip.

    ``drive_db`` multiplies the signal before the shaper: with
    ``mode = "tanh"`` the output is ``tanh(drive * x)``, smooth saturation
    that approaches but never reaches +-1; with ``"hard"`` it is ``drive * x``
    cut at +-1, which adds odd harmonics abruptly. At 0 dB drive a quiet
    signal passes almost unchanged through tanh and exactly through hard
    clipping. Samples are shaped one by one, so output is as long as the
    input.

    Example
    -------
        fuzz = {in = "src", mode = "tanh", drive_db = 18.0}
    """

    mode: str = param("tanh", choices=DISTORTION_MODES, description="soft (tanh) or hard clip")
    drive_db: float = param(
        12.0, unit="dB", range=(0.0, 60.0), description="gain before the clipper"
    )

    def prepare(self, spec: StreamSpec) -> None:
        self._drive = 10.0 ** (self.drive_db / 20.0)

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` shaping ``block`` in place."""
        from nodes.effect._dynamics_kernels import distortion_inplace

        return distortion_inplace, (self._drive, self.mode == "hard")

    def sample_kernel(self) -> tuple[SampleStage, ...]:
        """The kernel frame by frame: one stage, no state."""
        from nodes.effect import _dynamics_kernels as k

        _, args = self.kernel()
        parts = (k.distortion_begin, k.distortion_step, k.distortion_end, k.distortion_after)
        return (SampleStage(*parts, args),)


@node("effect.bitcrush", version=1)
class Bitcrush(BlockEffect):
    """Reduce bit depth and sample rate: the sound of fewer bits and a sample-and-hold.

    ``bits``: every sample is rounded to the nearest of the 2**bits levels a
    signed PCM file of that depth stores (steps of 2 / 2**bits, from
    -1 up to 1 - 2 / 2**bits; 16 bits gives what a 16-bit WAV holds, 1 bit only
    -1 and 0). Each bit removed doubles the step and raises the noise floor by
    about 6 dB. ``downsample`` keeps every n-th sample and holds it
    for n frames (sample-and-hold, no anti-alias filter, so high frequencies
    fold down audibly); 1 keeps every sample. Output is as long as the input.

    Example
    -------
        crush = {in = "src", bits = 6, downsample = 4}
    """

    bits: int = param(8, range=(1, 24), description="bit depth of the quantiser")
    downsample: int = param(
        1, range=(1, 256), description="hold each kept sample for this many frames"
    )

    def prepare(self, spec: StreamSpec) -> None:
        self._held = np.zeros(spec.channels)
        self._counter = np.zeros(1, dtype=np.int64)
        self._levels = float(2 ** (int(self.bits) - 1))

    def reset(self) -> None:
        self._held[:] = 0.0
        self._counter[:] = 0

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` crushing ``block`` in place."""
        from nodes.effect._dynamics_kernels import bitcrush_inplace

        return bitcrush_inplace, (self._held, self._counter, self._levels, int(self.downsample))


@node("effect.dcblock", version=1)
class DCBlock(BlockEffect):
    """Remove DC offset with a first-order highpass: y[n] = x[n] - x[n-1] + r * y[n-1].

    ``cutoff_hz`` sets the pole ``r = exp(-2 pi cutoff_hz / sample_rate)``:
    near 10 Hz the filter leaves audible bass alone and removes a constant
    offset with a time constant of about 1 / (2 pi cutoff_hz) seconds.
    Channels are filtered independently with float64 state; output is as long
    as the input.

    Example
    -------
        nodc = {in = "src", cutoff_hz = 10.0}
    """

    cutoff_hz: float = param(
        10.0, unit="Hz", range=(0.1, 1000.0), description="corner of the highpass"
    )

    def prepare(self, spec: StreamSpec) -> None:
        self._r = math.exp(-2.0 * math.pi * self.cutoff_hz / spec.sample_rate_hz)
        self._state = np.zeros((spec.channels, 2))

    def reset(self) -> None:
        self._state[:] = 0.0

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` filtering ``block`` in place."""
        from nodes.effect._dynamics_kernels import dcblock_inplace

        return dcblock_inplace, (self._state, self._r)

    def sample_kernel(self) -> tuple[SampleStage, ...]:
        """The kernel frame by frame: one stage, channel memories in registers."""
        from nodes.effect import _dynamics_kernels as k

        parts = (k.dcblock_begin, k.dcblock_step, k.dcblock_end, k.dcblock_after)
        return (SampleStage(*parts, (self._state, self._r)),)
