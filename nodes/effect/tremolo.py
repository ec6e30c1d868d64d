"""effect.tremolo: amplitude modulation by an LFO."""

from __future__ import annotations

from graphengine.blocknode import Kernel, StreamSpec
from graphengine.node import node, param
from nodes.effect._modulation import (
    LfoEffect,
    rate_param,
    shape_code,
)


@node("effect.tremolo", version=1)
class Tremolo(LfoEffect):
    """Tremolo: the level rises and falls with an LFO.

    Channel c is multiplied by ``g(t) = 1 - depth * (1 - lfo(rate_hz * t +
    (phase_deg + c * stereo_phase_deg) / 360)) / 2``, where ``lfo`` is a
    sine or a triangle of peak 1 rising through 0 at phase 0: the gain
    swings between 1 and ``1 - depth`` (``depth = 1`` silences the troughs)
    and is ``1 - depth / 2`` at the first frame with phase 0. A
    ``stereo_phase_deg`` of 180 moves the two channels in opposition (an
    auto-pan). The output is as long as the input. The loop is a numba
    kernel (``nodes/effect/_modulation_kernels.py``).

    Example
    -------
        throb = {in = "src", rate_hz = 6.0, depth = 0.7, waveform = "triangle"}
    """

    rate_hz: float = rate_param(5.0)
    depth: float = param(0.5, range=(0.0, 1.0), description="how far the gain dips: 0 none, 1 to 0")

    def prepare(self, spec: StreamSpec) -> None:
        self._allocate_lfo(spec)
        self._step = float(self.rate_hz) / spec.sample_rate_hz

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` modulating ``block`` in place."""
        from nodes.effect._modulation_kernels import tremolo_inplace

        return tremolo_inplace, (
            self._count,
            self._rotors,
            float(self.depth),
            self._step,
            self._phases,
            shape_code(self.waveform),
        )


tremolo = Tremolo
