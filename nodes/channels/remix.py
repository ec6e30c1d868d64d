"""Channel layout: downmix, pick and merge channels (``effect.pan`` builds on :class:`Remix`).

Streaming nodes (see :mod:`graphengine.blocknode`) whose work is done by the
numba kernels of ``nodes.channels._kernels``. ``kernel()`` returns ``(fn,
args)`` such that ``fn(block, *args)`` gives what ``process(block)`` gives:
the nodes that change the channel count write into an output buffer of
``block_size`` frames held in ``args`` and return a view of it (``process``
itself returns a fresh array each block).
``channels.merge`` is a mixer: its ``fn`` takes a tuple of blocks.
"""

from __future__ import annotations

import numpy as np

from graphengine.blocknode import BlockEffect, BlockMixer, Kernel, StreamSpec
from graphengine.node import node, param

FADE_CURVES = ("linear", "equal_power")


class Remix(BlockEffect):
    """An effect whose output channels are a fixed function of its input channels."""

    def _buffer(self) -> np.ndarray:
        channels = self.output_channels((self._spec.channels,))
        return np.empty((channels, self._spec.block_size), dtype=np.float32)

    def kernel(self) -> Kernel:
        """``(fn, args)``: ``fn(block, *args)`` returns the block's output, a view of a buffer."""
        return self._kernel_with(self._buffer())

    def _kernel_with(self, out: np.ndarray) -> Kernel:
        raise NotImplementedError


@node("channels.mono", version=1)
class Mono(Remix):
    """Mix all channels down to one: their average.

    Each output sample is the mean of the input's channels at that frame, so a
    signal identical on every channel passes unchanged and out-of-phase
    channels cancel. Mono input passes through. The output has one channel and
    is as long as the input.

    Example
    -------
        down = {in = "src"}
    """

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        return 1

    def prepare(self, spec: StreamSpec) -> None:
        self._spec = spec
        self._matrix = np.full((1, spec.channels), 1.0 / spec.channels)

    def _kernel_with(self, out: np.ndarray) -> Kernel:
        from nodes.channels._kernels import remix_into

        return remix_into, (out, self._matrix)


@node("channels.split", version=1)
class Split(Remix):
    """Pick channels out of a signal, in a given order (0 is the first channel).

    ``channels`` lists input channel indices, counted from 0: ``[0]`` takes the
    left channel of a stereo signal, ``[1]`` the right, ``[1, 0]`` swaps them,
    ``[0, 0]`` doubles the first. The output has one channel per entry, in that
    order, and is as long as the input. To take a stereo file apart into two
    signals, use two split nodes on the same input. An index at or beyond the
    input's channel count is an error.

    Example
    -------
        left = {in = "src", channels = [0]}
    """

    channels: list[int] = param(
        [0], range=(0, 1023), description="input channel indices (from 0) to output, in order"
    )

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        return len(self.channels)

    def prepare(self, spec: StreamSpec) -> None:
        if not self.channels:
            raise self.param_error("channels", "lists no channels; give at least one")
        beyond = [c for c in self.channels if not 0 <= c < spec.channels]
        if beyond:
            raise self.param_error(
                "channels",
                f"channel {beyond[0]} does not exist: the input has {spec.channels} "
                f"(indices 0 to {spec.channels - 1})",
            )
        self._spec = spec
        self._picks = np.array(self.channels, dtype=np.int64)

    def _kernel_with(self, out: np.ndarray) -> Kernel:
        from nodes.channels._kernels import select_into

        return select_into, (out, self._picks)


@node("channels.merge", version=1)
class Merge(BlockMixer):
    """Stack the channels of several signals into one multichannel signal.

    The output holds the channels of the first input, then those of the
    second, and so on: two mono inputs make a stereo signal (first = left).
    It is as long as the longest input; shorter ones are padded with silence.
    All inputs share the graph's sample rate.

    Example
    -------
        stereo = {in = ["left", "right"]}
    """

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        return sum(input_channels)

    def prepare(self, spec: StreamSpec) -> None:
        if not spec.input_channels:
            raise self.port_error("in", "needs at least one input")
        self._spec = spec

    def kernel(self) -> Kernel:
        """``(fn, args)``: ``fn(tuple_of_blocks, *args)`` returns the merged block (a view)."""
        from nodes.channels._kernels import merge_into

        channels = sum(self._spec.input_channels)
        return merge_into, (np.empty((channels, self._spec.block_size), np.float32),)
