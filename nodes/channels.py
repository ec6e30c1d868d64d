"""Channels and envelopes: pan, downmix, pick and merge channels, fade in and out.

Streaming nodes (see :mod:`graphengine.blocknode`) whose work is done by the
numba kernels of ``nodes._channel_kernels``. ``kernel()`` returns ``(fn,
args)`` such that ``fn(block, *args)`` gives what ``process(block)`` gives:
``effect.fade`` works in place; the nodes that change the channel count write
into an output buffer of ``block_size`` frames held in ``args`` and return a
view of it (``process`` itself returns a fresh array each block).
``channels.merge`` is a mixer: its ``fn`` takes a tuple of blocks.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from graphengine.blocknode import BlockEffect, BlockMixer, StreamSpec
from graphengine.errors import ParamError, PortError
from graphengine.node import node, param

FADE_CURVES = ("linear", "equal_power")


class _Remix(BlockEffect):
    """An effect whose output channels are a fixed function of its input channels."""

    def _buffer(self) -> np.ndarray:
        channels = self.output_channels((self._spec.channels,))
        return np.empty((channels, self._spec.block_size), dtype=np.float32)

    def process(self, block: np.ndarray) -> np.ndarray:
        fn, args = self._kernel_with(
            np.empty((self.output_channels((block.shape[0],)), block.shape[1]), np.float32)
        )
        return fn(block, *args)

    def kernel(self) -> tuple[Callable, tuple]:
        """``(fn, args)``: ``fn(block, *args)`` returns the block's output, a view of a buffer."""
        return self._kernel_with(self._buffer())

    def _kernel_with(self, out: np.ndarray) -> tuple[Callable, tuple]:
        raise NotImplementedError


@node("effect.pan", version=1)
class Pan(_Remix):
    """Place a mono signal in the stereo field, or shift the balance of a stereo one.

    ``pan`` in [-1, 1]: -1 is hard left, 0 the centre, 1 hard right. The
    constant-power law sets the angle ``theta = (pan + 1) * pi / 4`` and the
    gains ``cos(theta)`` (left) and ``sin(theta)`` (right), so the total power
    stays the same wherever the sound is placed. A mono input becomes stereo
    with those gains (each -3 dB at the centre). A stereo input keeps its two
    channels, scaled by ``sqrt(2) * cos(theta)`` and ``sqrt(2) * sin(theta)``:
    unchanged at the centre, one side silent at the extremes while the other
    rises by 3 dB. Inputs with more than two channels are an error. The output
    is stereo and as long as the input.

    Example
    -------
        [nodes.left]
        type = "effect.pan"
        in = "src"
        pan = -0.5
    """

    pan: float = param(0.0, range=(-1.0, 1.0), description="-1 hard left, 0 centre, 1 hard right")

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        return 2

    def prepare(self, spec: StreamSpec) -> None:
        if spec.channels not in (1, 2):
            raise PortError(
                self.node_id,
                "in",
                f"pans mono or stereo audio, got {spec.channels} channels; "
                "mix them down with channels.mono or pick two with channels.split",
                self.node_type,
            )
        self._spec = spec
        theta = (self.pan + 1.0) * math.pi / 4.0
        # cos(pi / 2) is 6e-17, not 0: hard left or right must silence the other side
        left, right = (0.0 if abs(g) < 1e-12 else g for g in (math.cos(theta), math.sin(theta)))
        if spec.channels == 1:
            self._matrix = np.array([[left], [right]])
        else:
            self._matrix = math.sqrt(2.0) * np.array([[left, 0.0], [0.0, right]])

    def _kernel_with(self, out: np.ndarray) -> tuple[Callable, tuple]:
        from nodes._channel_kernels import remix_into

        return remix_into, (out, self._matrix)


@node("channels.mono", version=1)
class Mono(_Remix):
    """Mix all channels down to one: their average.

    Each output sample is the mean of the input's channels at that frame, so a
    signal identical on every channel passes unchanged and out-of-phase
    channels cancel. Mono input passes through. The output has one channel and
    is as long as the input.

    Example
    -------
        [nodes.down]
        type = "channels.mono"
        in = "src"
    """

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        return 1

    def prepare(self, spec: StreamSpec) -> None:
        self._spec = spec
        self._matrix = np.full((1, spec.channels), 1.0 / spec.channels)

    def _kernel_with(self, out: np.ndarray) -> tuple[Callable, tuple]:
        from nodes._channel_kernels import remix_into

        return remix_into, (out, self._matrix)


@node("channels.split", version=1)
class Split(_Remix):
    """Pick channels out of a signal, in a given order (0 is the first channel).

    ``channels`` lists input channel indices, counted from 0: ``[0]`` takes the
    left channel of a stereo signal, ``[1]`` the right, ``[1, 0]`` swaps them,
    ``[0, 0]`` doubles the first. The output has one channel per entry, in that
    order, and is as long as the input. To take a stereo file apart into two
    signals, use two split nodes on the same input. An index at or beyond the
    input's channel count is an error.

    Example
    -------
        [nodes.left]
        type = "channels.split"
        in = "src"
        channels = [0]
    """

    channels: list[int] = param(
        [0], range=(0, 1023), description="input channel indices (from 0) to output, in order"
    )

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        return len(self.channels)

    def prepare(self, spec: StreamSpec) -> None:
        if not self.channels:
            raise ParamError(
                self.node_id, "channels", "lists no channels; give at least one", self.node_type
            )
        beyond = [c for c in self.channels if not 0 <= c < spec.channels]
        if beyond:
            raise ParamError(
                self.node_id,
                "channels",
                f"channel {beyond[0]} does not exist: the input has {spec.channels} "
                f"(indices 0 to {spec.channels - 1})",
                self.node_type,
            )
        self._spec = spec
        self._picks = np.array(self.channels, dtype=np.int64)

    def _kernel_with(self, out: np.ndarray) -> tuple[Callable, tuple]:
        from nodes._channel_kernels import select_into

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
        [nodes.stereo]
        type = "channels.merge"
        in = ["left", "right"]
    """

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        return sum(input_channels)

    def prepare(self, spec: StreamSpec) -> None:
        if not spec.input_channels:
            raise PortError(self.node_id, "in", "needs at least one input", self.node_type)
        self._spec = spec

    def kernel(self) -> tuple[Callable, tuple]:
        """``(fn, args)``: ``fn(tuple_of_blocks, *args)`` returns the merged block (a view)."""
        from nodes._channel_kernels import merge_into

        channels = sum(self._spec.input_channels)
        return merge_into, (np.empty((channels, self._spec.block_size), np.float32),)

    def process(self, blocks: list[np.ndarray]) -> np.ndarray:
        from nodes._channel_kernels import merge_into

        out = np.empty((sum(b.shape[0] for b in blocks), blocks[0].shape[1]), np.float32)
        return merge_into(tuple(blocks), out)


@node("effect.fade", version=1)
class Fade(BlockEffect):
    """Fade the start in from silence and the end out to silence.

    The first ``fade_in_s`` seconds rise from 0 to full level and the last
    ``fade_out_s`` seconds fall back to 0 (each in [0, 3600] s, rounded to
    frames; 0 leaves that end alone). ``curve = "linear"`` ramps the amplitude
    straight; ``"equal_power"`` follows a quarter sine, which sounds even and
    sums to constant power with the opposite fade in a crossfade. The fade-in
    starts at 0 on the first frame; the fade-out is its complement, reaching 0
    one frame after the last (a fade-in and a fade-out of one length laid over
    each other sum to 1, linear, or to constant power, equal_power). Where the
    two overlap (fades longer than the signal) their gains multiply. The
    output is as long as the input.

    Example
    -------
        [nodes.soft]
        type = "effect.fade"
        in = "src"
        fade_in_s = 0.05
        fade_out_s = 0.05
        curve = "equal_power"
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

    def kernel(self) -> tuple[Callable, tuple]:
        """``(fn, args)`` with ``fn(block, *args)`` fading ``block`` in place."""
        from nodes._channel_kernels import fade_inplace

        args = (
            self._position,
            self._fade_in,
            self._fade_out,
            self._total,
            self.curve == "equal_power",
        )
        return fade_inplace, args

    def process(self, block: np.ndarray) -> np.ndarray:
        fn, args = self.kernel()
        return fn(block, *args)
