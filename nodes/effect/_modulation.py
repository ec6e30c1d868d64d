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


def swing_param(default: float, highest: float) -> Any:
    """``depth_ms``: how far the LFO swings the delay either way, at most ``delay_ms``."""
    return param(
        default, unit="ms", range=(0.0, highest), at_most="delay_ms",
        description="LFO swing of the delay",
    )  # fmt: skip


def centre_param(default: float, highest: float) -> Any:
    """``delay_ms``: the delay the LFO swings around."""
    return param(
        default, unit="ms", range=(0.0, highest), description="centre delay the LFO swings around"
    )


class LfoEffect(BlockEffect):
    """Base of the modulation effects: the LFO's parameters and state.

    It declares ``rate_hz``, ``waveform``, ``phase_deg`` and
    ``stereo_phase_deg`` (a subclass redeclares one to change its default)
    and keeps the per-channel start phases, the frame count and the rotors;
    a subclass calls :meth:`_allocate_lfo` in ``prepare``.
    """

    rate_hz: float = rate_param(1.0)
    waveform: str = SHAPE
    phase_deg: float = PHASE
    stereo_phase_deg: float = stereo_param(0.0)

    def _allocate_lfo(self, spec: StreamSpec, voices: int = 1) -> None:
        self._phases = channel_phases(spec.channels, self.phase_deg, self.stereo_phase_deg)
        self._count = np.zeros(1, dtype=np.int64)
        self._rotors = np.zeros((spec.channels, voices, 2))

    def reset(self) -> None:
        self._count[:] = 0
        self._rotors[:] = 0.0


class ModulatedDelay(LfoEffect):
    """Base of chorus, flanger and vibrato: LFO-swept taps on one delay line.

    A subclass declares ``depth_ms`` and ``delay_ms`` and, where it has
    them, ``voices`` (default 1), ``mix`` (default 1: wet only) and
    ``feedback`` (default 0).
    """

    def _voices(self) -> int:
        return int(getattr(self, "voices", 1))

    def _mix(self) -> float:
        return float(getattr(self, "mix", 1.0))

    def _feedback(self) -> float:
        return float(getattr(self, "feedback", 0.0))

    def prepare(self, spec: StreamSpec) -> None:
        rate = spec.sample_rate_hz
        self._centre = ms_to_frames(self.delay_ms, rate)
        self._depth = ms_to_frames(self.depth_ms, rate)
        self._step = float(self.rate_hz) / rate
        voices = self._voices()
        self._allocate_lfo(spec, voices)
        spread = np.arange(voices, dtype=np.float64) / voices
        self._phases = np.ascontiguousarray(self._phases[:, np.newaxis] + spread[np.newaxis, :])
        length = math.ceil(self._centre + self._depth) + 4
        self._line = np.zeros((spec.channels, length))  # pages untouched until the run

    def reset(self) -> None:
        super().reset()
        self._line[:] = 0.0

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
