"""Normalize: scale a whole signal to a peak or RMS level."""

from __future__ import annotations

import math

import numpy as np

from graphengine.node import NodeContext, node, param
from graphengine.types import Audio
from nodes.effect.reverse import infer_same

NORMALIZE_MODES = ("peak", "rms")


@node("effect.normalize", version=1, infer=infer_same)
def normalize(
    in_: Audio,
    *,
    mode: str = param("peak", choices=NORMALIZE_MODES, description="what to measure"),
    target_dbfs: float = param(
        -1.0, unit="dBFS", range=(-120, 24), description="level to reach, in dB re full scale"
    ),
    linked: bool = param(True, description="one gain for all channels (keeps the stereo image)"),
    ctx: NodeContext,
) -> Audio:
    """Scale a signal so its peak or RMS level reaches a target in dBFS.

    ``mode = "peak"`` makes the largest absolute sample ``10 ** (target_dbfs /
    20)`` (-1 dBFS: 0.891); ``mode = "rms"`` makes the root mean square of the
    samples that level (a full-scale sine has an RMS of -3.01 dBFS, so an RMS
    target above about -3 dBFS can push peaks past full scale: nothing is
    clipped here, a warning says by how much). With ``linked = true`` (the
    default) one gain applies to all channels, measured over all of them;
    with ``false`` each channel is levelled on its own. A silent signal (or
    channel) is passed through unchanged with a warning.

    Example
    -------
        level = {in = "src", mode = "peak", target_dbfs = -1.0}
    """
    x = in_.samples.astype(np.float64)
    axis = None if linked else 1
    if mode == "peak":
        level = np.max(np.abs(x), axis=axis, keepdims=True, initial=0.0)
    else:
        level = np.sqrt(np.mean(x * x, axis=axis, keepdims=True)) if x.size else np.zeros((1, 1))
    target = 10.0 ** (target_dbfs / 20.0)
    silent = level <= 0.0
    if np.any(silent):
        ctx.warn("silent input: nothing to normalise, passed through unchanged")
    gain = np.where(silent, 1.0, target / np.where(silent, 1.0, level))
    out = x * gain
    peak = float(np.max(np.abs(out), initial=0.0))
    if peak > 1.0:
        ctx.warn(f"peak after normalising is {20 * math.log10(peak):+.2f} dBFS (above full scale)")
    return in_.with_samples(out.astype(np.float32))
