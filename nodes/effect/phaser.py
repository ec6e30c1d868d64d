"""effect.phaser: a cascade of swept first-order all-passes mixed with the dry signal."""

from __future__ import annotations

import math

import numpy as np

from graphengine.blocknode import Kernel, StreamSpec
from graphengine.node import NYQUIST, node, param
from nodes.effect._modulation import (
    LfoEffect,
    rate_param,
    shape_code,
)


def allpass_coefficient(break_hz: float | np.ndarray, rate: float) -> float | np.ndarray:
    """``a`` of ``A(z) = (a + z^-1) / (1 + a z^-1)``, whose phase is -90 degrees at ``break_hz``."""
    t = np.tan(np.pi * np.asarray(break_hz, dtype=np.float64) / rate)
    return (t - 1.0) / (t + 1.0)


def break_frequency(lfo_value: float | np.ndarray, min_hz: float, max_hz: float) -> np.ndarray:
    """The stages' break frequency for an LFO value in [-1, 1]: exponential from min to max."""
    return min_hz * (max_hz / min_hz) ** ((1.0 + np.asarray(lfo_value, dtype=np.float64)) / 2.0)


@node("effect.phaser", version=1)
class Phaser(LfoEffect):
    """Phaser: notches that sweep, from all-pass stages mixed with the dry signal.

    ``stages`` identical first-order all-passes ``A(z) = (a + z^-1) / (1 +
    a z^-1)`` (each turns the phase by -90 degrees at its break frequency
    f, ``a = (tan(pi f / rate) - 1) / (tan(pi f / rate) + 1)``) are run in
    series; the cascade's input is the signal plus ``feedback`` times its
    own output one frame earlier, and the output is ``(1 - mix) * dry +
    mix * cascade``. So at a frozen LFO the response is ``(1 - mix) + mix
    * A^N / (1 - feedback z^-1 A^N)``: with ``mix = 0.5`` it has a complete
    notch wherever the cascade turns the phase by an odd multiple of 180
    degrees (N stages: N / 2 notches). f sweeps exponentially between
    ``min_hz`` and ``max_hz``: ``f = min_hz (max_hz / min_hz) ** ((1 +
    lfo) / 2)`` with ``lfo`` a sine or triangle of peak 1 at ``rate_hz``,
    phase ``(phase_deg + c * stereo_phase_deg) / 360`` cycles on channel c
    (``rate_hz = 0`` holds it there). The coefficients are recomputed every
    frame in a numba kernel (``nodes/effect/_modulation_kernels.py``), with
    float64 state. The output is as long as the input.

    Example
    -------
        swirl = {in = "src", rate_hz = 0.4, stages = 6, min_hz = 300.0, max_hz = 3000.0}
    """

    rate_hz: float = rate_param(0.5)
    stages: int = param(4, range=(1, 24), description="first-order all-pass stages in series")
    min_hz: float = param(
        200.0, unit="Hz", above=0.0, below=NYQUIST, description="lowest break frequency"
    )
    max_hz: float = param(
        2000.0,
        unit="Hz",
        at_least="min_hz",
        below=NYQUIST,
        description="highest break frequency",
    )
    feedback: float = param(0.5, range=(-0.95, 0.95), description="share of the cascade fed back")
    mix: float = param(0.5, range=(0.0, 1.0), description="wet share: 0.5 gives full notches")

    def prepare(self, spec: StreamSpec) -> None:
        rate = spec.sample_rate_hz
        self._allocate_lfo(spec)
        self._states = np.zeros((spec.channels, int(self.stages)))
        self._last = np.zeros(spec.channels)
        self._scalars = (
            math.log(self.min_hz),
            math.log(self.max_hz / self.min_hz),
            float(self.rate_hz) / rate,
            self._phases,
            shape_code(self.waveform),
            math.pi / rate,
            float(self.feedback),
            float(self.mix),
            1.0 - float(self.mix),
        )

    def reset(self) -> None:
        super().reset()
        self._states[:] = 0.0
        self._last[:] = 0.0

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` phasing ``block`` in place."""
        from nodes.effect._modulation_kernels import phaser_inplace

        return phaser_inplace, (
            self._states,
            self._last,
            self._count,
            self._rotors,
            *self._scalars,
        )


phaser = Phaser
