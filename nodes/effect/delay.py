"""Delays: a feedback delay line and a finite echo.

Streaming nodes (see :mod:`graphengine.blocknode`) whose state is a ring
buffer; the work is done by the numba kernels of ``nodes.effect._delay_kernels``,
which ``kernel()`` exposes as ``(fn, args)`` with ``fn(block, *args)``
processing ``block`` in place exactly like ``process``. Delay times are
rounded to whole frames at the graph's sample rate (at least one frame), so
taps land on exact samples.
"""

from __future__ import annotations

import numpy as np

from graphengine.blocknode import BlockEffect, Kernel, SampleStage, StreamSpec
from graphengine.node import node, param


def delay_frames(time_ms: float, sample_rate: float) -> int:
    """``time_ms`` in frames at ``sample_rate``, rounded, at least 1."""
    return max(1, round(time_ms * sample_rate / 1000.0))


class _RingEffect(BlockEffect):
    """A block effect whose state is a ring buffer ``_ring`` (channels, frames) and its slot.

    ``_position`` int64 (1,) is the slot the next frame goes to; both start at zero.
    """

    def _make_ring(self, channels: int, frames: int, dtype: type) -> None:
        self._ring = np.zeros((channels, frames), dtype=dtype)  # pages untouched until the run
        self._position = np.zeros(1, dtype=np.int64)

    def reset(self) -> None:
        self._ring[:] = 0.0
        self._position[:] = 0


@node("effect.delay", version=1)
class Delay(_RingEffect):
    """Feedback delay: the signal repeats every ``time_ms``, each repeat scaled by ``feedback``.

    A delay line of ``time_ms`` (rounded to whole frames) feeds its output
    back into its input scaled by ``feedback`` (negative values flip the
    polarity of every other repeat); ``mix`` blends dry and delayed signal as
    ``(1 - mix) * dry + mix * wet``, so an impulse comes out as ``1 - mix`` at
    once and ``mix * feedback**(k-1)`` after k delay times. The output is as
    long as the input plus ``tail_s`` seconds (default 0, like a pedal:
    repeats still sounding when the input ends are cut off) during which the
    repeats ring out.

    Example
    -------
        slap = {in = "src", time_ms = 250.0, feedback = 0.5, mix = 0.5, tail_s = 1.0}
    """

    time_ms: float = param(
        250.0, unit="ms", range=(0.1, 10_000.0), description="delay between repeats"
    )
    feedback: float = param(
        0.5, range=(-0.99, 0.99), description="gain of each repeat relative to the last"
    )
    mix: float = param(0.5, range=(0.0, 1.0), description="wet share: 0 dry only, 1 wet only")
    tail_s: float = param(
        0.0, unit="s", range=(0.0, 600.0), description="seconds added after the input ends"
    )

    def output_frames(self, input_frames: tuple[int, ...]) -> int:
        return max(input_frames, default=0) + round(self.tail_s * self.ctx.sample_rate)

    def prepare(self, spec: StreamSpec) -> None:
        self._make_ring(spec.channels, delay_frames(self.time_ms, spec.sample_rate_hz), np.float64)

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` delaying ``block`` in place."""
        from nodes.effect._delay_kernels import delay_inplace

        mix = float(self.mix)
        return delay_inplace, (self._ring, self._position, float(self.feedback), mix, 1.0 - mix)

    def sample_kernel(self) -> tuple[SampleStage, ...]:
        """The kernel frame by frame: one stage over the same ring buffer."""
        from nodes.effect import _delay_kernels as k

        _, args = self.kernel()
        return (SampleStage(k.delay_begin, k.delay_step, k.delay_end, k.delay_after, args),)


@node("effect.echo", version=1)
class Echo(_RingEffect):
    """Echo: the signal, then ``repeats`` copies ``time_ms`` apart, each ``decay`` times the last.

    The k-th repeat (k = 1 .. ``repeats``) starts k * ``time_ms`` after the
    original (``time_ms`` rounded to whole frames) at ``decay ** k`` of its
    amplitude: 1000 ms, 0.5 and 3 repeats give copies at 1, 2 and 3 s at 0.5,
    0.25 and 0.125. Nothing feeds back, so the echo stops after the last
    repeat: the output is the input plus ``repeats * time_ms`` of tail, and
    holds the last repeat whole.

    Example
    -------
        echo = {in = "src", time_ms = 1000.0, decay = 0.5, repeats = 3}
    """

    time_ms: float = param(
        250.0, unit="ms", range=(1.0, 10_000.0), description="time between repeats"
    )
    decay: float = param(
        0.5, range=(0.0, 1.0), description="amplitude of each repeat relative to the last"
    )
    repeats: int = param(3, range=(1, 32), description="number of repeats after the original")

    def output_frames(self, input_frames: tuple[int, ...]) -> int:
        spacing = delay_frames(self.time_ms, self.ctx.sample_rate)
        return max(input_frames, default=0) + int(self.repeats) * spacing

    def prepare(self, spec: StreamSpec) -> None:
        self._spacing = delay_frames(self.time_ms, spec.sample_rate_hz)
        repeats = int(self.repeats)
        self._gains = float(self.decay) ** np.arange(1, repeats + 1, dtype=np.float64)
        # the past input: float32 holds it exactly
        self._make_ring(spec.channels, repeats * self._spacing, np.float32)

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` echoing ``block`` in place."""
        from nodes.effect._delay_kernels import echo_inplace

        return echo_inplace, (self._ring, self._position, self._gains, self._spacing)
