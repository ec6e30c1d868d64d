"""Reverse: play a whole signal backwards; the shape rule shared by whole-signal effects."""

from __future__ import annotations

from graphengine.node import Inputs, NodeContext, Params, PortInfo, node
from graphengine.types import Audio


def _frames_of(seconds: float, rate: float) -> int:
    return round(seconds * rate)


def _info(shape: tuple[int, int] | None, rate: float | None) -> dict[str, PortInfo]:
    return {"out": PortInfo("audio", shape, sample_rate=rate, itemsize=4)}


# --------------------------------------------------------------------------- reverse


def infer_same(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """Shaped and timed like the input ``in``."""
    source = inputs["in"]
    return _info(source.shape, source.sample_rate)


@node("effect.reverse", version=1, infer=infer_same)
def reverse(in_: Audio) -> Audio:
    """Play a signal backwards.

    Frame ``n`` of the output is frame ``frames - 1 - n`` of the input, on every
    channel; length, channels and rate are unchanged. Reversing twice gives the
    input back exactly.

    Example
    -------
        rev = {in = "src"}
    """
    return in_.with_samples(in_.samples[:, ::-1])


# --------------------------------------------------------------------------- layer
