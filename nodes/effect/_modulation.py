"""What the modulation effects share: LFO parameters, their arrays, the modulated delay line.

Private (the registry does not scan it); it imports nothing heavy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphengine.blocknode import BlockEffect, Kernel, StreamSpec
from graphengine.node import param

SHAPES = ("sine", "triangle")
"""LFO shapes, in the order of the kernels' shape codes (0 sine, 1 triangle)."""


def rate_param(default: float) -> Any:
    """The LFO rate, 0 (frozen at ``phase_deg``) to 20 Hz."""
    return param(default, unit="Hz", range=(0.0, 20.0), description="LFO rate (0 holds it still)")


SHAPE = param("sine", choices=SHAPES, description="LFO wave shape")
PHASE = param(0.0, range=(0.0, 360.0), description="LFO phase at the first frame, degrees")


def stereo_param(default: float) -> Any:
    """The LFO phase added per channel, in degrees (channel c starts at ``phase + c * this``)."""
    return param(default, range=(0.0, 360.0), description="LFO phase added per channel, degrees")


def shape_code(shape: str) -> int:
    return SHAPES.index(shape)


def channel_phases(channels: int, phase_deg: float, stereo_phase_deg: float) -> np.ndarray:
    """Start phase of each channel's LFO in cycles, float64 (channels,)."""
    return (phase_deg + stereo_phase_deg * np.arange(channels, dtype=np.float64)) / 360.0


def ms_to_frames(ms: float, rate: float) -> float:
    return ms * rate / 1000.0


class ModulatedDelay(BlockEffect):
    """Base of chorus, flanger and vibrato: LFO-swept taps on one delay line.

    A subclass declares ``rate_hz``, ``depth_ms``, ``delay_ms``, ``waveform``,
    ``phase_deg`` and ``stereo_phase_deg`` and sets :meth:`_voices`,
    :meth:`_mix` and :meth:`_feedback`.
    """

    def _voices(self) -> int:
        return 1

    def _mix(self) -> float:
        return 1.0

    def _feedback(self) -> float:
        return 0.0

    def prepare(self, spec: StreamSpec) -> None:
        rate = spec.sample_rate_hz
        self._centre = ms_to_frames(self.delay_ms, rate)
        self._depth = ms_to_frames(self.depth_ms, rate)
        self._step = float(self.rate_hz) / rate
        voices = self._voices()
        starts = channel_phases(spec.channels, self.phase_deg, self.stereo_phase_deg)
        spread = np.arange(voices, dtype=np.float64) / voices
        self._phases = np.ascontiguousarray(starts[:, np.newaxis] + spread[np.newaxis, :])
        length = math.ceil(self._centre + self._depth) + 4
        self._line = np.zeros((spec.channels, length))  # pages untouched until the run
        self._count = np.zeros(1, dtype=np.int64)
        self._rotors = np.zeros((spec.channels, voices, 2))

    def reset(self) -> None:
        self._line[:] = 0.0
        self._count[:] = 0
        self._rotors[:] = 0.0

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` processing ``block`` in place."""
        from nodes.effect._modulation_kernels import modulated_delay_inplace

        mix = float(self._mix())
        return modulated_delay_inplace, (
            self._line,
            self._count,
            self._rotors,
            self._centre,
            self._depth,
            self._step,
            self._phases,
            shape_code(self.waveform),
            float(self._feedback()),
            mix,
            1.0 - mix,
        )
