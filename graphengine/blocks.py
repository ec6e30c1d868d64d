"""The streaming runtime: run a region of streaming nodes block by block.

A region is a set of streaming nodes (see :mod:`graphengine.blocknode`)
connected to each other, in topological order. Its inputs from outside (values
computed by whole-signal nodes, or loaded from the cache) are sliced into
blocks; its sinks write as the blocks pass; the outputs the rest of the graph
or the cache needs ("taps") are gathered into whole arrays. Everything else
lives only for one block, so a region of any length runs in bounded memory.

Consecutive members with kernels run as one compiled call per block
(:mod:`graphengine.fusion`), with the same samples as one call per member.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphengine.blocknode import DEFAULT_BLOCK_SIZE, BlockNode, StreamSpec
from graphengine.context import NodeContext
from graphengine.fusion import (
    AUTO_MIN_CALLS,
    AUTO_MIN_SAMPLES,
    MIN_RUN,
    Edge,
    FusedRun,
    RunMember,
    assign_lanes,
    fusion_mode,
    member_kernel,
    member_stages,
)
from graphengine.types import Audio

CHUNK_FRAMES = 1 << 20
"""Frames a run that loops over blocks itself is given per call: progress every ~24 s of audio."""


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
    fused: str = ""
    """The run this member was compiled into (its members' ids joined by ``>``), or ""."""
    looped: bool = False
    """Whether it ran inside a frame loop of its run (see :mod:`graphengine.fusion`)."""


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
    fuse: bool | None = None
    """Compile runs of kernel members into one call: always, never, or None for
    ``GRAPHENGINE_FUSE`` (see :mod:`graphengine.fusion`; unset: when it pays)."""
    on_warning: Callable[[str], None] | None = field(default=None, repr=False)
    """Told, in words, when a run meant to be fused had to run member by member."""


def _copy_flags(region: Region) -> dict[str, list[bool]]:
    """Per member, per source: whether it reads a copy (the block is read again later). O(e)."""
    flags: dict[str, list[bool]] = {}
    seen: set[str] = set()
    for member in reversed(region.members):
        member_flags = []
        for kind, source in reversed(member.sources):
            member_flags.append(kind == "node" and source in seen)
            if kind == "node":
                seen.add(source)
        flags[member.node_id] = member_flags[::-1]
    return flags


def _block_of(value: Audio, start: int, n: int) -> np.ndarray:
    out = np.zeros((value.channels, n), dtype=np.float32)
    stop = min(value.frames, start + n)
    if stop > start:
        out[:, : stop - start] = value.samples[:, start:stop]
    return out


def run_region(region: Region) -> dict[str, np.ndarray]:
    """Run every member block by block; returns the whole output of each tapped member.

    A member's exception is raised as :class:`MemberError` naming it (a fused
    run's failure names its first member); sinks are then aborted (deleting
    their temporary files is the caller's job).
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
        copies = _copy_flags(region)
        total = max((m.frames for m in members), default=0)
        mode = fusion_mode() if region.fuse is None else ("on" if region.fuse else "off")
        blocks = -(-total // region.block_size)
        steps = list(members) if mode == "off" else _schedule(region, taps, copies, mode, blocks)
        by_id = {m.node_id: m for m in members}
        stride = _stride(steps, region.block_size)
        start = 0
        while start < total:
            n = min(stride, total - start)
            current: dict[str, np.ndarray] = {}
            index = 0
            while index < len(steps):
                step = steps[index]
                if isinstance(step, FusedRun):
                    failing = step.members[0].node_id
                    if not _run_fused(step, by_id, taps, current, start, n):
                        steps[index : index + 1] = _unfuse(step, by_id)
                        if region.on_warning is not None:
                            label = ">".join(m.node_id for m in step.members)
                            region.on_warning(
                                f"the chain {label} could not be compiled as one; it ran node "
                                "by node (the same samples, slower)"
                            )
                        if stride != region.block_size:  # nothing ran: again, block by block
                            stride = region.block_size
                            break
                        continue
                else:
                    failing = step.node_id
                    _run_member(step, taps, copies, current, start, n)
                index += 1
            else:
                start += n
                if region.on_block is not None:
                    region.on_block(start, total)
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


def _stride(steps: Sequence[Member | FusedRun], block_size: int) -> int:
    """Frames per pass of the region loop: a block, or many for a run that loops over blocks."""
    if len(steps) == 1 and isinstance(steps[0], FusedRun) and steps[0].block_size:
        return max(1, CHUNK_FRAMES // block_size) * block_size
    return block_size


def _run_member(
    member: Member,
    taps: dict[str, np.ndarray],
    copies: dict[str, list[bool]],
    current: dict[str, np.ndarray],
    start: int,
    n: int,
) -> None:
    """One block of one member by its Python ``process``, its output kept and tapped."""
    began = time.perf_counter()
    out = _process(member, copies[member.node_id], current, start, n)
    if out is not None:
        current[member.node_id] = out
        valid = max(0, min(n, member.frames - start))
        if member.tap and valid:
            taps[member.node_id][:, start : start + valid] = out[:, :valid]
    member.seconds += time.perf_counter() - began


def _run_fused(
    run: FusedRun,
    by_id: dict[str, Member],
    taps: dict[str, np.ndarray],
    current: dict[str, np.ndarray],
    start: int,
    n: int,
) -> bool:
    """One block of a fused run; False (nothing run) when numba cannot compile its shape.

    The run's time is shared equally by its members.
    """
    began = time.perf_counter()
    blocks = [current[s].copy() if copy else current[s] for s, copy in run.outside]
    if not run.called and not run.compiles(blocks, start, n):
        return False
    run.called = True
    outs = run(blocks, start, n)
    for node_id, block in zip(run.outputs, outs, strict=True):
        current[node_id] = block
        if node_id in run.caller_taps:
            member = by_id[node_id]
            valid = max(0, min(n, member.frames - start))
            if valid:
                taps[node_id][:, start : start + valid] = block[:, :valid]
    share = (time.perf_counter() - began) / len(run.members)
    for m in run.members:
        by_id[m.node_id].seconds += share
    return True


def _unfuse(run: FusedRun, by_id: dict[str, Member]) -> list[Member]:
    """The members of a run that could not be compiled, to run one by one."""
    members = [by_id[m.node_id] for m in run.members]
    for member in members:
        member.fused = ""
        member.looped = False
    return members


def _schedule(
    region: Region,
    taps: dict[str, np.ndarray],
    copies: dict[str, list[bool]],
    mode: str,
    blocks: int,
) -> list[Member | FusedRun]:
    """The members in order, consecutive kernel members of at least MIN_RUN grouped as runs.

    In ``mode`` ``"auto"`` a run is kept only if its shape is compiled already,
    or it saves at least AUTO_MIN_CALLS kernel calls over ``blocks`` blocks, or
    its frame loops carry at least AUTO_MIN_SAMPLES samples (frames x channels,
    summed over their members).
    """
    steps: list[Member | FusedRun] = []
    pending: list[tuple[Member, Any]] = []
    members = region.members
    for index, member in enumerate([*members, None]):
        kernel = member_kernel(member.node) if member is not None else None
        if kernel is not None:
            pending.append((member, kernel))
            continue
        whole = region.block_size if len(pending) == len(members) else 0
        run = (
            _fused_run(pending, members[index:], taps, copies, whole)
            if len(pending) >= MIN_RUN
            else None
        )
        pays = mode == "on" or blocks * (len(pending) - 1) >= AUTO_MIN_CALLS
        if run is not None and not pays:
            looped = zip(pending, run.members, strict=True)
            pays = sum(m.frames * m.channels for (m, _), r in looped if r.lane) >= AUTO_MIN_SAMPLES
        if run is not None and (pays or run.known()):
            run.compile()
            for (fused, _), compiled in zip(pending, run.members, strict=True):
                fused.fused = run.label
                fused.looped = compiled.lane > 0
            steps.append(run)
        else:
            steps.extend(m for m, _ in pending)
        pending = []
        if member is not None:
            steps.append(member)
    return steps


def _fused_run(
    pending: list[tuple[Member, Any]],
    after: list[Member],
    taps: dict[str, np.ndarray],
    copies: dict[str, list[bool]],
    whole: int = 0,
) -> FusedRun:
    """The run of ``pending`` members (with their kernels); ``after`` follows it in the region.

    ``whole``: the run is the whole region, to loop over blocks of this size in one call
    (every tap then written in the call).
    """
    inside = {m.node_id: i for i, (m, _) in enumerate(pending)}
    run = FusedRun([], [], [], [])
    for member, (fn, args) in pending:
        edges = []
        for (kind, source), copy in zip(member.sources, copies[member.node_id], strict=True):
            if kind == "value":
                edges.append(Edge("value", len(run.values)))
                run.values.append(source)
            elif source in inside:
                edges.append(Edge("inside", inside[source], copy))
            else:
                edges.append(Edge("outside", len(run.outside)))
                run.outside.append((source, copy))
        run.members.append(
            RunMember(member.node_id, member.node.kind, fn, args, edges, member.frames)
        )
        run.members[-1].stages = member_stages(member.node)
    changed = {e.index for m in run.members for e in m.edges if e.kind == "inside" and not e.copy}
    run.block_size = whole
    for index, (member, _) in enumerate(pending):
        if member.tap and (whole or index in changed):  # tapped in the call
            run.members[index].tap = taps[member.node_id]
        elif member.tap:
            run.caller_taps.add(member.node_id)
    read_after = {s for m in after for kind, s in m.sources if kind == "node"}
    wanted = read_after | run.caller_taps
    run.outputs = [m.node_id for m, _ in pending if m.node_id in wanted]
    assign_lanes(run.members, run.returned)
    return run


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
    copies: list[bool],
    current: dict[str, np.ndarray],
    start: int,
    n: int,
) -> np.ndarray | None:
    """One block of one member: gather its input blocks, process, zero past its end.

    ``copies`` says per source whether this member reads a copy of the block.
    """
    blocks = []
    for (kind, source), copy in zip(member.sources, copies, strict=True):
        if kind == "value":
            blocks.append(_block_of(source, start, n))
            continue
        block = current[source]
        blocks.append(block.copy() if copy else block)
    valid = max(0, min(n, member.frames - start))
    node = member.node
    if node.kind == "sink":
        if valid:
            node.process(blocks[0][:, :valid])
        return None
    if node.kind == "source":
        made = node.process(valid) if valid else None
        if valid == n and _owned_block(made, member.channels, n):
            return made  # a new array (the BlockSource contract): no copy
        out = np.zeros((member.channels, n), np.float32)
        if valid:
            out[:, :valid] = made
        return out
    out = node.process(blocks if node.kind == "mixer" else blocks[0])
    if valid < n:
        out[:, valid:] = 0.0
    return out


def _owned_block(block: Any, channels: int, n: int) -> bool:
    """Whether a source's output can be the block itself: float32 (channels, n), C order."""
    return (
        isinstance(block, np.ndarray)
        and block.dtype == np.float32
        and block.shape == (channels, n)
        and block.flags.c_contiguous
        and block.flags.writeable
    )


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
