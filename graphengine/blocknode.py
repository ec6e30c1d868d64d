"""Streaming nodes: prepare -> reset -> process(block), block after block.

A streaming node is a class deriving from one of:

- :class:`BlockEffect`: one audio input ``in``, one audio output ``out``;
- :class:`BlockMixer`: a list of audio inputs ``in``, one audio output ``out``;
- :class:`BlockSource`: no input, one audio output ``out``;
- :class:`BlockSink`: one audio input ``in``, no output (it writes files).

Parameters are class attributes declared with :func:`graphengine.node.param`
and type annotations, exactly like a function node's keyword-only arguments;
``@node`` turns the class into a node type. The engine creates one instance
per run with the parameters set as attributes, calls :meth:`prepare` (also
during validation, so checks that need the stream fail before anything runs),
:meth:`reset`, then :meth:`process` once per block, and for sinks
:meth:`finish`. The work of ``process`` is done by a numba kernel that takes
only arrays and scalars and updates the node's state arrays in place.

Blocks are float32 arrays shaped (channels, frames); every call gets at most
``spec.block_size`` frames and the last one may be shorter. A block handed to
``process`` belongs to the node: it may be changed in place and returned.
Output must not depend on how the signal is cut into blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from graphengine.context import NodeContext
from graphengine.defaults import DEFAULT_BLOCK_SIZE as DEFAULT_BLOCK_SIZE
from graphengine.errors import ParamError, PortError

Kernel = tuple[Callable[..., Any], tuple[Any, ...]]
"""``(fn, args)``: a compiled block function and the state and scalars it takes."""


@dataclass(frozen=True)
class SampleStage:
    """One stage of a node's computation sample by sample (see :meth:`BlockNode.sample_kernel`).

    Four numba functions over the same ``args`` (arrays and scalars only):
    ``begin(c, *args) -> state`` when channel ``c`` of a block starts (the
    state: a tuple of scalars, kept in registers); ``step(state, v, *args) ->
    (state, y)`` per frame, ``v`` and ``y`` float64; ``end(state, c, *args)``
    when the channel's frames of the block are done (store the state);
    ``after(n, *args)`` once per block of ``n`` frames, after every channel.
    """

    begin: Callable[..., Any]
    step: Callable[..., Any]
    end: Callable[..., Any]
    after: Callable[..., Any]
    args: tuple[Any, ...]


@dataclass(frozen=True)
class StreamSpec:
    """What a streaming node is prepared for.

    Attributes
    ----------
    sample_rate_hz : float
    channels : int
        Channels of the node's input (of its output, for a source).
    block_size : int
        Largest number of frames one ``process`` call receives.
    frames : int
        Total frames of the node's output.
    input_channels : tuple of int
        Channels of each input (a mixer has several).
    input_frames : tuple of int
        Frames of each input.
    """

    sample_rate_hz: float
    channels: int
    block_size: int
    frames: int
    input_channels: tuple[int, ...] = ()
    input_frames: tuple[int, ...] = ()


class BlockNode:
    """Common base of streaming nodes; derive from one of its four subclasses."""

    kind: ClassVar[str] = ""

    def __init__(self, ctx: NodeContext, **params: Any) -> None:
        self.ctx = ctx
        self.node_id = ctx.node_id
        self.node_type = ctx.node_type
        spec = getattr(type(self), "spec", None)
        for declared in spec.params if spec is not None else ():
            if declared.name not in params and not declared.required:
                setattr(self, declared.name, declared.default)  # not the param() marker
        for name, value in params.items():
            setattr(self, name, value)

    def output_frames(self, input_frames: tuple[int, ...]) -> int:
        """Frames of the output for inputs of these lengths (default: the longest input)."""
        return max(input_frames, default=0)

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        """Channels of the output for inputs with these channel counts (default: the most)."""
        return max(input_channels, default=1)

    def prepare(self, spec: StreamSpec) -> None:
        """Allocate state for ``spec`` and check what only the stream knows.

        This is a streaming node's one validation hook: validation calls it
        with the stream the node will see, so a shape rule (channel counts,
        lengths) fails before anything runs. Declared parameter rules (ranges,
        choices, Nyquist, cross-parameter bounds) are the engine's: never
        re-check them here.
        """

    def kernel(self) -> Kernel | None:
        """The node's block computation as ``(fn, args)``, or None when it has none.

        The kernel protocol: after :meth:`prepare` and :meth:`reset`, ``fn`` is
        a numba-compiled function and ``args`` holds only arrays and scalars
        (state arrays are updated in place, so the pair stays valid block
        after block). An effect's ``fn(block, *args)`` and a mixer's
        ``fn(blocks_tuple, *args)`` return the output block: the input changed
        in place, or a view of a buffer held in ``args``. The default
        :meth:`process` of effects and mixers calls it, and an executor may
        compose the kernels of a chain into one compiled loop.
        """
        return None

    def sample_kernel(self) -> tuple[SampleStage, ...] | None:
        """The node's computation frame by frame, as stages, or None when it offers none.

        Only for an effect whose output channel ``c`` depends on its input
        channel ``c`` alone, with as many channels out as in. Per block and
        channel, its stages run in order on every frame (each stage's ``y`` is
        the next one's ``v``, in float64), and the last ``y`` rounded to
        float32 is the output: exactly the samples :meth:`kernel` gives, with
        the same state after the block. An executor may run a chain of such
        nodes as one loop over frames, holding every state in registers.
        """
        return None

    def param_error(self, name: str, message: str) -> ParamError:
        """The error to raise for a bad value of parameter ``name`` of this node."""
        return self.ctx.param_error(name, message)

    def port_error(self, name: str, message: str) -> PortError:
        """The error to raise for a bad signal arriving at port ``name``."""
        return self.ctx.port_error(name, message)

    def reset(self) -> None:
        """Clear state: delay lines, filter memories, tails."""

    def start(self) -> None:
        """Open what a run needs (files); called after ``reset``, never during validation."""

    def close(self) -> None:
        """Release what :meth:`start` opened; called after the last block, or on failure."""


class BlockEffect(BlockNode):
    """One audio input, one audio output."""

    kind: ClassVar[str] = "effect"

    def process(self, block: np.ndarray) -> np.ndarray:
        """Process one block (channels, n); may work in place and return ``block``."""
        fn, args = _required_kernel(self)
        return fn(block, *args)


class BlockMixer(BlockNode):
    """A list of audio inputs, one audio output."""

    kind: ClassVar[str] = "mixer"

    def process(self, blocks: list[np.ndarray]) -> np.ndarray:
        """Combine one block of each input (each (channels_i, n)) into one output block."""
        fn, args = _required_kernel(self)
        return fn(tuple(blocks), *args)


class BlockSource(BlockNode):
    """No input, one audio output of a length known before running."""

    kind: ClassVar[str] = "source"

    def output_frames(self, input_frames: tuple[int, ...]) -> int:
        raise NotImplementedError

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        return int(getattr(self, "channels", 1))

    def process(self, frames: int) -> np.ndarray:
        """The next ``frames`` frames of the output, shaped (channels, frames).

        A new array: the engine hands it on as the next member's block, which
        may change it in place.
        """
        raise NotImplementedError


class BlockSink(BlockNode):
    """One audio input, no output: writes what it receives."""

    kind: ClassVar[str] = "sink"

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        return 0

    def process(self, block: np.ndarray) -> None:
        """Consume one block."""
        raise NotImplementedError

    def finish(self) -> None:
        """Called once after the last block: flush and close what was written."""

    def abort(self) -> None:
        """Called instead of :meth:`finish` when the run fails: release resources."""


def _required_kernel(node: BlockNode) -> Kernel:
    kernel = node.kernel()
    if kernel is None:
        raise NotImplementedError(f"{type(node).__name__} defines neither process() nor kernel()")
    return kernel


def fit(block: np.ndarray, channels: int, frames: int) -> np.ndarray:
    """``block`` cut or zero-padded to ``frames`` frames, as an owned float32 array."""
    out = np.zeros((channels, frames), dtype=np.float32)
    n = min(frames, block.shape[1])
    out[:, :n] = block[:, :n]
    return out


def run_whole(node: BlockNode, inputs: list[Any], sample_rate: float) -> np.ndarray | None:
    """Run a streaming node over complete signals as one block (its whole-signal form)."""
    input_frames = tuple(a.frames for a in inputs)
    input_channels = tuple(a.channels for a in inputs)
    frames = node.output_frames(input_frames)
    channels = input_channels[0] if input_channels else node.output_channels(())
    spec = StreamSpec(sample_rate, channels, max(frames, 1), frames, input_channels, input_frames)
    node.prepare(spec)
    node.reset()
    node.start()
    try:
        return _process_whole(node, inputs, frames)
    finally:
        node.close()


def _process_whole(node: BlockNode, inputs: list[Any], frames: int) -> np.ndarray | None:
    if node.kind == "source":
        return node.process(frames)
    padded = [fit(a.samples, a.channels, frames) for a in inputs]
    if node.kind == "mixer":
        return node.process(padded)
    if node.kind == "effect":
        return node.process(padded[0])
    try:
        node.process(padded[0])
    except BaseException:
        node.abort()
        raise
    node.finish()
    return None
