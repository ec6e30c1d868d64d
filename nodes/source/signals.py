"""Test signals: frequency sweeps (``source.chirp``) and silence (``source.silence``)."""

from __future__ import annotations

import math

import numpy as np

from graphengine.node import NYQUIST, Inputs, NodeContext, Params, Pitch, PortInfo, node, param
from graphengine.types import Audio

SWEEPS = ("linear", "log")
_CHUNK = 1 << 16


def _frames(duration_s: float, ctx: NodeContext) -> int:
    frames = round(duration_s * ctx.sample_rate)
    if frames < 1:
        message = f"{duration_s:g} s is shorter than one sample at {ctx.sample_rate:g} Hz"
        raise ctx.param_error("duration_s", message)
    return frames


def infer_chirp(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels, round(duration_s * rate))."""
    frames = _frames(params["duration_s"], ctx)
    shape = (params["channels"], frames)
    return {"out": PortInfo("audio", shape, sample_rate=ctx.sample_rate, itemsize=4)}


def chirp_phase(t: np.ndarray, f0: float, f1: float, duration_s: float, sweep: str) -> np.ndarray:
    """Phase in cycles at times ``t`` of a sweep from f0 to f1 over ``duration_s``.

    Linear: ``f(t) = f0 + (f1 - f0) t / T``, phase ``f0 t + (f1 - f0) t² / 2T``.
    Log (exponential): ``f(t) = f0 (f1 / f0) ** (t / T)``, phase
    ``f0 T (k ** (t / T) - 1) / ln k`` with ``k = f1 / f0`` (f0 t when equal).
    """
    if sweep == "linear":
        return f0 * t + (f1 - f0) * t * t / (2.0 * duration_s)
    if f0 == f1:
        return f0 * t
    k = f1 / f0
    return f0 * duration_s * np.expm1(t / duration_s * math.log(k)) / math.log(k)


@node("source.chirp", version=1, infer=infer_chirp)
def chirp(
    *,
    start_hz: Pitch = param(
        20.0, below=NYQUIST, description="frequency at the start, Hz or a pitch name"
    ),
    end_hz: Pitch = param(
        20_000.0, below=NYQUIST, description="frequency at the end, Hz or a pitch name"
    ),
    sweep: str = param("log", choices=SWEEPS, description="linear or log (exponential) sweep"),
    duration_s: float = param(5.0, unit="s", range=(0, None), description="length"),
    amplitude: float = param(0.5, range=(0, 1), description="peak amplitude (full scale = 1)"),
    channels: int = param(1, range=(1, 64), description="number of identical channels"),
    ctx: NodeContext,
) -> Audio:
    """A sine sweep from ``start_hz`` to ``end_hz``, linear or logarithmic.

    ``sweep = "linear"`` moves the frequency by equal Hz per second;
    ``"log"`` (an exponential sweep, the usual choice for measuring
    responses) by equal octaves per second. Both ends are in Hz or pitch
    names; sweeping down works too. The waveform
    is ``amplitude * sin(2π φ(t))`` with the exact phase integral of the
    instantaneous frequency at ``t = n / rate`` (see :func:`chirp_phase`),
    so it starts at 0 and matches ``scipy.signal.chirp(..., phi=-90)``.

    Example
    -------
        sweep = {start_hz = 20.0, end_hz = "A7", sweep = "log", duration_s = 3.0}
    """
    params = {
        "start_hz": start_hz,
        "end_hz": end_hz,
        "sweep": sweep,
        "duration_s": duration_s,
        "channels": channels,
    }
    shape = infer_chirp({}, params, ctx)["out"].shape
    samples = np.empty(shape, dtype=np.float32)
    row = samples[0]
    for start in range(0, shape[1], _CHUNK):
        stop = min(start + _CHUNK, shape[1])
        t = np.arange(start, stop, dtype=np.float64) / ctx.sample_rate
        cycles = chirp_phase(t, start_hz, end_hz, duration_s, sweep)
        row[start:stop] = amplitude * np.sin(2.0 * np.pi * (cycles - np.floor(cycles)))
    samples[1:] = row
    return Audio(samples, ctx.sample_rate)


def infer_silence(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels, round(duration_s * rate))."""
    shape = (params["channels"], _frames(params["duration_s"], ctx))
    return {"out": PortInfo("audio", shape, sample_rate=ctx.sample_rate, itemsize=4)}


@node("source.silence", version=1, infer=infer_silence)
def silence(
    *,
    duration_s: float = param(1.0, unit="s", range=(0, None), description="length"),
    channels: int = param(1, range=(1, 64), description="number of channels"),
    ctx: NodeContext,
) -> Audio:
    """Digital silence: zeros for ``duration_s`` seconds (rounded to whole samples).

    Useful to pad a mix, to give a graph a fixed length, or as a neutral
    input while building a graph.

    Example
    -------
        pad = {duration_s = 0.5, channels = 2}
    """
    shape = infer_silence({}, {"duration_s": duration_s, "channels": channels}, ctx)["out"].shape
    return Audio(np.zeros(shape, dtype=np.float32), ctx.sample_rate)
