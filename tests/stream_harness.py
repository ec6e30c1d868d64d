"""Helpers for testing streaming nodes: whole-signal runs, runs in blocks, block-size invariance.

A plain module rather than a conftest (see node_harness.py for why).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.signal as sps

from graphengine.blocks import stream
from graphengine.node import NodeContext
from graphengine.types import Audio

SR = 44100.0
BLOCK_SIZES = (1, 7, 64, 4096)


def ctx_for(cls: type, rate: float = SR) -> NodeContext:
    """A context for one streaming node class at ``rate`` Hz."""
    return NodeContext("n", cls.spec.type_id, rate, Path("."))


def params_for(cls: type, **given) -> dict:
    """The node's parameter defaults overridden by ``given``."""
    return {p.name: p.default for p in cls.spec.params} | given


def noise(channels: int = 2, frames: int = 2000, seed: int = 0, scale: float = 0.3) -> Audio:
    """Gaussian noise of RMS ``scale`` at ``SR``."""
    rng = np.random.default_rng(seed)
    return Audio((scale * rng.standard_normal((channels, frames))).astype(np.float32), SR)


def whole(cls: type, *inputs: Audio | np.ndarray, **given) -> np.ndarray:
    """The node's whole-signal output samples (plain arrays are taken as audio at ``SR``)."""
    inputs = tuple(Audio(x, SR) if isinstance(x, np.ndarray) else x for x in inputs)
    rate = inputs[0].sample_rate if inputs and isinstance(inputs[0], Audio) else SR
    return cls.spec.function(*inputs, ctx=ctx_for(cls, rate), **params_for(cls, **given)).samples


def in_blocks(
    cls: type, inputs: list[Audio], shape: tuple[int, int], block_size: int, **given
) -> np.ndarray:
    """The node run through the streaming runtime in blocks of ``block_size`` frames."""
    return stream(
        cls,
        inputs,
        params_for(cls, **given),
        sample_rate=SR,
        block_size=block_size,
        channels=shape[0],
        frames=shape[1],
    )


def assert_block_invariant(cls: type, audio: Audio, **given) -> None:
    """Blocks of 1, 7, 64 and 4096 frames give the whole-signal samples (to 1e-6)."""
    reference = whole(cls, audio, **given)
    for block_size in BLOCK_SIZES:
        blocks = in_blocks(cls, [audio], reference.shape, block_size, **given)
        np.testing.assert_allclose(blocks, reference, atol=1e-6, err_msg=f"block {block_size}")


def feedback_comb(x: np.ndarray, spacing: int, feedback: float, mix: float) -> np.ndarray:
    """scipy's filtering of ``x`` by a dry/wet feedback comb of ``spacing`` frames (float64).

    y = (1 - mix) x + mix z^-d / (1 - feedback z^-d) x, as one transfer function.
    """
    b = np.zeros(spacing + 1)
    b[0], b[spacing] = 1 - mix, mix - (1 - mix) * feedback
    a = np.zeros(spacing + 1)
    a[0], a[spacing] = 1.0, -feedback
    return sps.lfilter(b, a, np.asarray(x, dtype=np.float64), axis=-1)
