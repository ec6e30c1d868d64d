"""The streaming runtime: run a region of streaming nodes block by block.

A region is a set of streaming nodes (see :mod:`graphengine.blocknode`)
connected to each other, in topological order. Its inputs from outside (values
computed by whole-signal nodes, or loaded from the cache) are sliced into
blocks; its sinks write as the blocks pass; the outputs the rest of the graph
or the cache needs ("taps") are gathered into whole arrays. Everything else
lives only for one block, so a region of any length runs in bounded memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphengine.blocknode import DEFAULT_BLOCK_SIZE, BlockNode, StreamSpec
from graphengine.context import NodeContext
from graphengine.types import Audio


@dataclass
class Member:
    """One node of a region: its instance, where its inputs come from, its output shape.

    ``sources`` lists, per input (a mixer has several), either ``("node", id)``
    for another member or ``("value", audio)`` for a whole signal from outside.
    """

    node_id: str
    node: BlockNode
    sources: list[tuple[str, Any]]
    channels: int
    frames: int
    tap: bool = False
    seconds: float = 0.0


class MemberError(Exception):
    """A member of a region failed; ``error`` is what it raised."""

    def __init__(self, node_id: str, error: BaseException) -> None:
        super().__init__(f"{node_id}: {error}")
        self.node_id = node_id
        self.error = error


@dataclass
class Region:
    """Members in topological order and the block size to run them with."""

    members: list[Member]
    block_size: int = DEFAULT_BLOCK_SIZE
    sample_rate: float = 44100.0
    on_block: Callable[[int, int], None] | None = field(default=None, repr=False)


def _consumer_counts(region: Region) -> dict[str, int]:
    counts = {m.node_id: 0 for m in region.members}
    for member in region.members:
        for kind, source in member.sources:
            if kind == "node":
                counts[source] += 1
    return counts


def _block_of(value: Audio, start: int, n: int) -> np.ndarray:
    out = np.zeros((value.channels, n), dtype=np.float32)
    stop = min(value.frames, start + n)
    if stop > start:
        out[:, : stop - start] = value.samples[:, start:stop]
    return out


def run_region(region: Region) -> dict[str, np.ndarray]:
    """Run every member block by block; returns the whole output of each tapped member.

    A member's exception is raised as :class:`MemberError` naming it; sinks
    are then aborted (deleting their temporary files is the caller's job).
    """
    members = region.members
    failing = members[0].node_id if members else ""
    try:
        shapes = {m.node_id: (m.channels, m.frames) for m in members}
        for member in members:
            failing = member.node_id
            _prepare_member(region, member, shapes)
        for member in members:
            failing = member.node_id
            member.node.start()
        taps = {m.node_id: np.zeros((m.channels, m.frames), np.float32) for m in members if m.tap}
        total = max((m.frames for m in members), default=0)
        uses = _consumer_counts(region)
        clock = time.perf_counter
        for start in range(0, total, region.block_size):
            n = min(region.block_size, total - start)
            current: dict[str, np.ndarray] = {}
            remaining = dict(uses)
            for member in members:
                failing = member.node_id
                began = clock()
                out = _process(member, current, remaining, start, n)
                if out is not None:
                    current[member.node_id] = out
                    valid = max(0, min(n, member.frames - start))
                    if member.tap and valid:
                        taps[member.node_id][:, start : start + valid] = out[:, :valid]
                member.seconds += clock() - began
            if region.on_block is not None:
                region.on_block(start + n, total)
        for member in members:
            failing = member.node_id
            if member.node.kind == "sink":
                member.node.finish()
    except Exception as error:
        for member in members:
            if member.node.kind == "sink":
                member.node.abort()
        raise MemberError(failing, error) from error
    finally:
        for member in members:
            member.node.close()
    return taps


def _prepare_member(region: Region, member: Member, shapes: dict[str, tuple[int, int]]) -> None:
    in_channels, in_frames = [], []
    for kind, source in member.sources:
        channels, frames = shapes[source] if kind == "node" else (source.channels, source.frames)
        in_channels.append(channels)
        in_frames.append(frames)
    spec = StreamSpec(
        region.sample_rate,
        in_channels[0] if in_channels else member.channels,
        region.block_size,
        member.frames,
        tuple(in_channels),
        tuple(in_frames),
    )
    member.node.prepare(spec)
    member.node.reset()


def _process(
    member: Member,
    current: dict[str, np.ndarray],
    remaining: dict[str, int],
    start: int,
    n: int,
) -> np.ndarray | None:
    """One block of one member: gather its input blocks, process, zero past its end."""
    blocks = []
    for kind, source in member.sources:
        if kind == "value":
            blocks.append(_block_of(source, start, n))
            continue
        block = current[source]
        remaining[source] -= 1
        blocks.append(block if remaining[source] == 0 else block.copy())
    valid = max(0, min(n, member.frames - start))
    node = member.node
    if node.kind == "sink":
        if valid:
            node.process(blocks[0][:, :valid])
        return None
    if node.kind == "source":
        out = np.zeros((member.channels, n), np.float32)
        if valid:
            out[:, :valid] = node.process(valid)
        return out
    out = node.process(blocks if node.kind == "mixer" else blocks[0])
    if valid < n:
        out[:, valid:] = 0.0
    return out


def stream(
    node_class: type,
    inputs: Sequence[Audio],
    params: Mapping[str, Any],
    *,
    sample_rate: float,
    block_size: int,
    channels: int,
    frames: int,
    ctx: NodeContext | None = None,
) -> np.ndarray:
    """Run one streaming node over whole inputs in blocks of ``block_size`` frames.

    ``channels`` and ``frames`` give the node's output shape (what its infer
    says). Handy for tests of block-size invariance.
    """
    ctx = ctx or NodeContext("node", getattr(node_class, "spec", None).type_id, sample_rate, None)
    node = node_class(ctx, **params)
    member = Member("node", node, [("value", a) for a in inputs], channels, frames, tap=True)
    try:
        result = run_region(Region([member], block_size, sample_rate))
    except MemberError as failure:
        raise failure.error from None
    return result.get("node")
