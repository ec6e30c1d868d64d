"""Mixing: sum several signals, each with its own gain."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphengine.blocknode import BlockMixer, StreamSpec
from graphengine.node import NodeContext, PortInfo, node, param


def common_format(ports: Sequence[PortInfo], ctx: NodeContext) -> tuple[int | None, float]:
    """Channel count (None when any is unknown) and the one sample rate of several inputs.

    Inputs must share a sample rate; a mono input is spread over every channel
    of the widest one, any other difference in channel count is a PortError on ``in``.
    """
    if not ports:
        raise ctx.port_error("in", "needs at least one input")
    rates = [p.sample_rate for p in ports if p.sample_rate is not None]
    if any(rate != rates[0] for rate in rates):
        listed = ", ".join(f"{r:g}" for r in rates)
        raise ctx.port_error(
            "in",
            f"inputs have different sample rates ({listed} Hz); resample them to one rate first",
        )
    known = [(i, p.shape[0]) for i, p in enumerate(ports) if p.shape is not None]
    widest = max((c for _, c in known), default=0)
    for i, channels in known:
        if channels not in (1, widest):
            raise ctx.port_error(
                "in",
                f"input {i + 1} has {channels} channels but another has {widest}; "
                "only mono inputs are spread over the other channels",
            )
    rate = rates[0] if rates else ctx.sample_rate
    return (widest if len(known) == len(ports) else None), rate


def _check_gains(gains: Sequence[float], count: int, ctx: NodeContext) -> None:
    if gains and len(gains) != count:
        raise ctx.param_error(
            "gains",
            f"{len(gains)} gains for {count} inputs; give one per input, or none for all 1.0",
        )


@node("signal.mix", version=1, aliases=("mix",))
class Mix(BlockMixer):
    """Sum several signals, each scaled by a linear gain.

    ``gains`` holds one linear factor per input, in the order of ``in``
    (``[1.0, 0.5]``: the second input at half amplitude, about -6 dB; negative
    factors invert polarity); an empty list means 1.0 for every input. The
    output is as long as the longest input (shorter ones are padded with
    silence) and has as many channels as the widest; a mono input is added to
    every channel, any other difference in channel count is an error. All
    inputs must share one sample rate. The sum is not normalised or clipped.

    Example
    -------
        bus = {in = ["drums", "bass"], gains = [1.0, 0.5]}
    """

    gains: list[float] = param(
        [], description="linear gain per input, in input order; empty means all 1.0"
    )

    def prepare(self, spec: StreamSpec) -> None:
        count = len(spec.input_channels)
        shapes = zip(spec.input_channels, spec.input_frames, strict=True)
        common_format([PortInfo("audio", shape, spec.sample_rate_hz) for shape in shapes], self.ctx)
        _check_gains(self.gains, count, self.ctx)
        self._factors = [np.float32(g) for g in (self.gains or [1.0] * count)]
        self._channels = max(spec.input_channels)

    def process(self, blocks: list[np.ndarray]) -> np.ndarray:
        from nodes.signal._mix_kernels import accumulate

        out = np.zeros((self._channels, blocks[0].shape[1]), dtype=np.float32)
        for block, factor in zip(blocks, self._factors, strict=True):
            accumulate(out, block, factor)
        return out


mix = Mix
