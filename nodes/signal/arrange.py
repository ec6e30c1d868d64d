"""Arrangement: nodes that place, join, cut and split whole signals.

``signal.layer``, ``signal.concat``, ``signal.trim`` and ``signal.split`` work
on complete signals (they need the whole input, or
its end, before they can write the first output sample). Every position is a
whole number of frames: a time in seconds becomes ``round(seconds * rate)``
frames, so lengths and positions are exact and predictable from validation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from graphengine.node import Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Audio
from nodes.signal.mix import common_format


def _frames_of(seconds: float, rate: float) -> int:
    return round(seconds * rate)


def _info(shape: tuple[int, int] | None, rate: float | None) -> dict[str, PortInfo]:
    return {"out": PortInfo("audio", shape, sample_rate=rate, itemsize=4)}


def _port_info(audio: Audio) -> PortInfo:
    return PortInfo("audio", audio.samples.shape, sample_rate=audio.sample_rate)


def _check_per_input(name: str, values: Sequence[float], count: int, ctx: NodeContext) -> None:
    if values and len(values) != count:
        raise ctx.param_error(
            name, f"{len(values)} values for {count} inputs; give one per input, or none"
        )


def _layer_shape(
    ports: Sequence[PortInfo], offsets_s: Sequence[float], ctx: NodeContext
) -> tuple[tuple[int, int] | None, float, list[int]]:
    channels, rate = common_format(ports, ctx)
    _check_per_input("offsets_s", offsets_s, len(ports), ctx)
    offsets = [_frames_of(s, rate) for s in (offsets_s or [0.0] * len(ports))]
    if channels is None:
        return None, rate, offsets
    frames = max(offset + p.shape[1] for offset, p in zip(offsets, ports, strict=True))
    return (channels, frames), rate, offsets


def infer_layer(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """Channels: the widest input's; frames: the latest end of any offset input."""
    ports = list(inputs.get("in") or [])
    shape, rate, _ = _layer_shape(ports, params["offsets_s"], ctx)
    _check_per_input("gains", params["gains"], len(ports), ctx)
    return _info(shape, rate)


@node("signal.layer", version=1, infer=infer_layer, aliases=("layer",))
def layer(
    in_: list[Audio],
    *,
    offsets_s: list[float] = param(
        [],
        unit="s",
        range=(0, None),
        description="start time of each input in the output, in input order; empty means all 0",
    ),
    gains: list[float] = param(
        [], description="linear gain per input, in input order; empty means all 1.0"
    ),
    ctx: NodeContext,
) -> Audio:
    """Mix several signals, each starting at its own offset and scaled by its own gain.

    Input ``i`` starts at ``round(offsets_s[i] * rate)`` frames into the output
    and is multiplied by ``gains[i]`` (linear: 0.5 is about -6 dB; negative
    values invert polarity). Empty lists mean offset 0 and gain 1.0 for every
    input. The output lasts until the last input ends (silence fills the
    gaps) and has as many channels as the widest input; a mono input is added
    to every channel, any other difference in channel count is an error. All
    inputs must share one sample rate. The sum is neither normalised nor
    clipped.

    Example
    -------
        stack = {in = ["src", "echo"], offsets_s = [0.0, 0.25], gains = [1.0, 0.5]}
    """
    infos = [_port_info(a) for a in in_]
    shape, rate, offsets = _layer_shape(infos, offsets_s, ctx)
    _check_per_input("gains", gains, len(in_), ctx)
    assert shape is not None
    out = np.zeros(shape, dtype=np.float32)
    for audio, offset, factor in zip(in_, offsets, gains or [1.0] * len(in_), strict=True):
        out[:, offset : offset + audio.frames] += np.float32(factor) * audio.samples
    return Audio(out, rate)


# --------------------------------------------------------------------------- concat

CROSSFADE_CURVES = ("equal_power", "linear")


def _crossfade_frames(
    ports: Sequence[PortInfo], crossfade_ms: float, rate: float, ctx: NodeContext
) -> int:
    fade = _frames_of(crossfade_ms / 1000.0, rate)
    shortest = min((p.shape[1] for p in ports if p.shape is not None), default=None)
    if fade and len(ports) > 1 and shortest is not None and fade > shortest:
        raise ctx.param_error(
            "crossfade_ms",
            f"{crossfade_ms:g} ms ({fade} frames) is longer than the shortest input "
            f"({shortest} frames)",
        )
    return fade


def infer_concat(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """Frames: the sum of the inputs' minus one crossfade per join."""
    ports = list(inputs.get("in") or [])
    channels, rate = common_format(ports, ctx)
    fade = _crossfade_frames(ports, params["crossfade_ms"], rate, ctx)
    if channels is None:
        return _info(None, rate)
    frames = sum(p.shape[1] for p in ports) - fade * (len(ports) - 1)
    return _info((channels, frames), rate)


def _fades(fade: int, curve: str) -> tuple[np.ndarray, np.ndarray]:
    """Fade-out and fade-in gains over ``fade`` frames (sample centres, so no 0 or 1 repeats)."""
    t = (np.arange(fade, dtype=np.float64) + 0.5) / fade
    if curve == "linear":
        return (1.0 - t).astype(np.float32), t.astype(np.float32)
    return np.cos(0.5 * np.pi * t).astype(np.float32), np.sin(0.5 * np.pi * t).astype(np.float32)


@node("signal.concat", version=1, infer=infer_concat, aliases=("concat",))
def concat(
    in_: list[Audio],
    *,
    crossfade_ms: float = param(
        0.0, unit="ms", range=(0, 60_000), description="overlap of consecutive inputs"
    ),
    curve: str = param(
        "equal_power", choices=CROSSFADE_CURVES, description="shape of the crossfade"
    ),
    ctx: NodeContext,
) -> Audio:
    """Join signals end to end, optionally crossfading each join.

    Without a crossfade the output is the inputs one after another, sample for
    sample, so splitting a signal and joining the pieces gives it back
    exactly. With ``crossfade_ms`` > 0 the last ``round(crossfade_ms * rate /
    1000)`` frames of each input overlap the first as many of the next: the
    output is that many frames shorter per join. ``curve`` is ``equal_power``
    (cos/sin gains: constant power for uncorrelated material, the usual choice
    for music) or ``linear`` (gains summing to 1: constant amplitude for
    identical material). The crossfade must not be longer than the shortest
    input. Channels follow the widest input (mono inputs are spread); all
    inputs must share one rate.

    Example
    -------
        joined = {in = ["intro", "loop"], crossfade_ms = 20.0}
    """
    infos = [_port_info(a) for a in in_]
    channels, rate = common_format(infos, ctx)
    fade = _crossfade_frames(infos, crossfade_ms, rate, ctx)
    frames = sum(a.frames for a in in_) - fade * (len(in_) - 1)
    out = np.zeros((channels, frames), dtype=np.float32)
    fade_out, fade_in = _fades(fade, curve) if fade else (None, None)
    position = 0
    for i, audio in enumerate(in_):
        piece = audio.samples
        if fade and (i > 0 or i < len(in_) - 1):
            piece = piece.copy()
            if i > 0:
                piece[:, :fade] *= fade_in
            if i < len(in_) - 1:
                piece[:, piece.shape[1] - fade :] *= fade_out
        out[:, position : position + audio.frames] += piece
        position += audio.frames - fade
    return Audio(out, rate)


# --------------------------------------------------------------------------- trim


def _trim_bounds(
    frames: int | None, rate: float, params: Mapping[str, Any], ctx: NodeContext
) -> tuple[int, int | None]:
    """First frame and end frame (exclusive; None when the input length is unknown)."""
    start_s, end_s, duration_s = params["start_s"], params["end_s"], params["duration_s"]
    if end_s is not None and duration_s is not None:
        raise ctx.param_error("duration_s", "give end_s or duration_s, not both")
    start = _frames_of(start_s, rate)
    if end_s is not None:
        end: int | None = _frames_of(end_s, rate)
        if end <= start:
            raise ctx.param_error("end_s", f"{end_s:g} s is not after start_s ({start_s:g} s)")
    elif duration_s is not None:
        length = _frames_of(duration_s, rate)
        if length < 1:
            raise ctx.param_error(
                "duration_s", f"{duration_s:g} s is shorter than one sample at {rate:g} Hz"
            )
        end = start + length
    else:
        end = frames
    if frames is not None:
        if start >= frames:
            raise ctx.param_error(
                "start_s",
                f"{start_s:g} s is at or after the end of the input ({frames / rate:g} s)",
            )
        end = min(end, frames) if end is not None else frames
    return start, end


def _cut_infer(bounds: Callable[..., tuple[Any, ...]]) -> Callable[..., dict[str, PortInfo]]:
    """The infer of a node keeping frames ``start, stop, ... = bounds(frames, rate, params, ctx)``.

    The length is unknown while ``stop`` (None) or the input's shape is.
    """

    def infer(
        inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
    ) -> dict[str, PortInfo]:
        source = inputs["in"]
        rate = source.sample_rate or ctx.sample_rate
        start, stop = bounds(source.frames, rate, params, ctx)[:2]
        shape = None if stop is None or source.shape is None else (source.shape[0], stop - start)
        return _info(shape, rate)

    return infer


@node("signal.trim", version=1, infer=_cut_infer(_trim_bounds), aliases=("trim",))
def trim(
    in_: Audio,
    *,
    start_s: float = param(0.0, unit="s", range=(0, None), description="first kept time"),
    end_s: float | None = param(
        None, unit="s", range=(0, None), description="time where the kept part ends (exclusive)"
    ),
    duration_s: float | None = param(
        None, unit="s", range=(0, None), description="length kept from start_s (instead of end_s)"
    ),
    ctx: NodeContext,
) -> Audio:
    """Keep a time range of a signal.

    Keeps frames ``round(start_s * rate)`` up to (not including)
    ``round(end_s * rate)``, or ``round(duration_s * rate)`` frames from the
    start; give ``end_s`` or ``duration_s``, not both, or neither to keep
    everything after ``start_s``. A range reaching past the end of the input
    stops at its end (the output is shorter, never padded); a start at or
    after the end is an error.

    Example
    -------
        cut = {in = "src", start_s = 0.1, duration_s = 0.5}
    """
    params = {"start_s": start_s, "end_s": end_s, "duration_s": duration_s}
    start, end = _trim_bounds(in_.frames, in_.sample_rate, params, ctx)
    return in_.with_samples(in_.samples[:, start:end])


# --------------------------------------------------------------------------- split


def chunk_bounds(frames: int, chunk_frames: int) -> list[tuple[int, int]]:
    """``(start, stop)`` frames of consecutive chunks of ``chunk_frames`` (the last may be short).

    The one definition of chunk boundaries, for ``split`` and for any sink
    that writes numbered chunk files, so both cut at the same frames.
    """
    return [(s, min(s + chunk_frames, frames)) for s in range(0, frames, chunk_frames)]


def _split_bounds(
    frames: int | None, rate: float, params: Mapping[str, Any], ctx: NodeContext
) -> tuple[int, int | None, int]:
    """Start frame, stop frame (None when unknown) and chunk length in frames."""
    chunk = _frames_of(params["chunk_s"], rate)
    if chunk < 1:
        raise ctx.param_error(
            "chunk_s", f"{params['chunk_s']:g} s is shorter than one sample at {rate:g} Hz"
        )
    index = params["index"]
    start = index * chunk
    if frames is None:
        return start, None, chunk
    count = max(1, math.ceil(frames / chunk))
    if index >= count:
        raise ctx.param_error(
            "index",
            f"chunk {index} does not exist: {frames / rate:g} s in chunks of "
            f"{params['chunk_s']:g} s makes {count} (indices 0 to {count - 1})",
        )
    stop = start + chunk if params["pad"] else min(start + chunk, frames)
    return start, stop, chunk


@node("signal.split", version=1, infer=_cut_infer(_split_bounds), aliases=("split",))
def split(
    in_: Audio,
    *,
    chunk_s: float = param(30.0, unit="s", range=(0, None), description="length of each chunk"),
    index: int = param(0, range=(0, None), description="which chunk to output, from 0"),
    pad: bool = param(False, description="pad the last chunk with silence to the full length"),
    ctx: NodeContext,
) -> Audio:
    """One fixed-length chunk of a signal: chunk ``index`` of ``chunk_s`` seconds.

    Chunk ``k`` holds frames ``k * L`` to ``(k + 1) * L`` (exclusive) with
    ``L = round(chunk_s * rate)``; the last chunk holds what is left (shorter
    than ``L``, or padded with silence to ``L`` when ``pad = true``). An index
    past the last chunk is an error that says how many there are. The chunks
    in order, joined with ``concat``, give the input back exactly.

    Design: ``split`` outputs one chunk per node, chosen by ``index``, rather
    than a list of chunks on one port. An audio value composes with every
    node and sink as it is (a chunk can be filtered, analysed or written like
    any signal), and validation knows its exact length. To write a whole file
    as numbered chunk files, the chunking belongs in the sink, which alone
    knows how many files the input makes: ``sink.wav`` with ``chunk_s`` (see
    its reference) cuts at exactly these boundaries (``chunk_bounds`` in this
    module).

    Example
    -------
        first = {in = "src", chunk_s = 30.0, index = 0}
    """
    params = {"chunk_s": chunk_s, "index": index, "pad": pad}
    start, stop, _ = _split_bounds(in_.frames, in_.sample_rate, params, ctx)
    assert stop is not None
    piece = in_.samples[:, start:stop]
    if piece.shape[1] < stop - start:
        piece = np.pad(piece, ((0, 0), (0, stop - start - piece.shape[1])))
    return in_.with_samples(piece)


# --------------------------------------------------------------------------- normalize
