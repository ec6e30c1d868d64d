"""Fades: fade a signal in and out with a linear or equal-power curve (streaming)."""

from __future__ import annotations

import numpy as np

from graphengine.blocknode import BlockEffect, Kernel, SampleStage, StreamSpec
from graphengine.node import node, param

FADE_CURVES = ("linear", "equal_power")


@node("effect.fade", version=1)
class Fade(BlockEffect):
    """Fade the start in from silence and the end out to silence.

    The first ``fade_in_s`` seconds rise from 0 to full level and the last
    ``fade_out_s`` seconds fall back to 0 (each rounded to frames; 0 leaves
    that end alone). ``curve = "linear"`` ramps the amplitude straight;
    ``"equal_power"`` follows a quarter sine, which sounds even and sums to
    constant power with the opposite fade in a crossfade. The fade-in starts
    at 0 on the first frame; the fade-out is its complement, reaching 0 one
    frame after the last (a fade-in and a fade-out of one length laid over
    each other sum to 1, linear, or to constant power, equal_power). Where the
    two overlap (fades longer than the signal) their gains multiply. The
    output is as long as the input.

    Example
    -------
        soft = {in = "src", fade_in_s = 0.05, fade_out_s = 0.05, curve = "equal_power"}
    """

    fade_in_s: float = param(
        0.0, unit="s", range=(0.0, 3600.0), description="length of the rise from silence"
    )
    fade_out_s: float = param(
        0.0, unit="s", range=(0.0, 3600.0), description="length of the fall to silence"
    )
    curve: str = param("linear", choices=FADE_CURVES, description="shape of both fades")

    def prepare(self, spec: StreamSpec) -> None:
        rate = spec.sample_rate_hz
        self._fade_in = round(self.fade_in_s * rate)
        self._fade_out = round(self.fade_out_s * rate)
        self._total = spec.frames
        self._position = np.zeros(1, dtype=np.int64)

    def reset(self) -> None:
        self._position[:] = 0

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` fading ``block`` in place."""
        from nodes.effect._fade_kernels import fade_inplace

        args = (
            self._position,
            self._fade_in,
            self._fade_out,
            self._total,
            self.curve == "equal_power",
        )
        return fade_inplace, args

    def sample_kernel(self) -> tuple[SampleStage, ...]:
        """The kernel frame by frame: one stage, the frame index as state."""
        from nodes.effect import _fade_kernels as k

        _, args = self.kernel()
        return (SampleStage(k.fade_begin, k.fade_step, k.fade_end, k.fade_after, args),)
