"""Gain: scale every channel by a level in decibels."""

from __future__ import annotations

import numpy as np

from graphengine.blocknode import BlockEffect, Kernel, SampleStage, StreamSpec
from graphengine.node import node, param


@node("effect.gain", version=1)
class Gain(BlockEffect):
    """Scale every channel by a gain in decibels.

    ``gain_db`` multiplies the samples by ``10 ** (gain_db / 20)``:
    -6.02 dB halves the amplitude, 0 dB leaves it unchanged. Nothing is clipped;
    a sink decides what to do with samples beyond full scale.

    Example
    -------
        quiet = {in = "src", gain_db = -6.0}
    """

    gain_db: float = param(0.0, unit="dB", range=(-120, 24), description="gain in decibels")

    def prepare(self, spec: StreamSpec) -> None:
        self._factor = np.float32(10.0 ** (self.gain_db / 20.0))

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` scaling ``block`` in place."""
        from nodes.effect._gain_kernels import scale_inplace

        return scale_inplace, (self._factor,)

    def sample_kernel(self) -> tuple[SampleStage, ...]:
        """The kernel frame by frame: one stage of the same float32 product."""
        from nodes.effect import _gain_kernels as k

        args = (self._factor,)
        return (SampleStage(k.scale_begin, k.scale_step, k.scale_end, k.scale_after, args),)


gain = Gain
