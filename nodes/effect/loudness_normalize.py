"""Loudness normalisation: a gain to a target integrated loudness (LUFS), under a peak ceiling."""

from __future__ import annotations

import math

import numpy as np

from graphengine.node import NodeContext, node, param
from graphengine.types import Audio
from nodes.effect.reverse import infer_same

_LIMITER_LOOKAHEAD_MS = 5.0
_LIMITER_RELEASE_MS = 100.0
_TOLERANCE_LU = 0.02
"""The limited result is re-measured and the gain corrected until it is this close."""
_ROUNDS = 12
_MIN_SLOPE = 0.05
_MAX_GAIN_DB = 120.0


def _tp_db(samples: np.ndarray) -> float:
    from nodes.feature.loudness import true_peak

    peak = float(np.max(true_peak(samples), initial=0.0))
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


@node("effect.loudness_normalize", version=1, infer=infer_same)
def loudness_normalize(
    in_: Audio,
    *,
    target_lufs: float = param(
        -23.0, range=(-70.0, 0.0), description="integrated loudness to reach, LUFS"
    ),
    true_peak_dbtp: float | None = param(
        -1.0, range=(-30.0, 0.0), description="ceiling for the true peak, dBTP; unset: none"
    ),
    limit: bool = param(True, description="over the ceiling: limit (true) or lower the gain"),
    ctx: NodeContext,
) -> Audio:
    """Scale a signal so its integrated loudness (BS.1770-4, as ``feature.loudness``) is a target.

    The default target, -23 LUFS, is EBU R 128's for broadcast: programme
    mixed there keeps its peaks, so normalising it is one gain and nothing
    else. Streaming services play at about -14 LUFS (Spotify, YouTube;
    Apple Music -16): set ``target_lufs`` for them. ``true_peak_dbtp`` is
    the highest true peak (4x oversampled) allowed, -1 dBTP by R 128. When
    the gain would take the peak over it, ``limit = true`` runs
    ``effect.limiter`` in true-peak mode (5 ms look-ahead, 100 ms release)
    and corrects the gain until the limited result measures the target
    (within 0.02 LU); ``limit = false`` lowers the gain until the peak meets
    the ceiling instead, so the loudness stays under the target, with a
    warning saying by how much. Unset ``true_peak_dbtp`` for a plain gain.
    Silence (nothing above the -70 LUFS gate) passes through unchanged
    with a warning. Output is as long as the input.

    Example
    -------
        r128 = {in = "src", target_lufs = -23.0, true_peak_dbtp = -1.0}
    """
    from nodes.effect.limiter import limit as run_limiter
    from nodes.feature.loudness import measure

    x = in_.samples
    rate = in_.sample_rate
    level = measure(x, rate).integrated
    if not math.isfinite(level):
        ctx.warn("nothing louder than -70 LUFS (or shorter than 400 ms): passed through unchanged")
        return in_
    gain_db = target_lufs - level
    out = (x * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)
    if true_peak_dbtp is None:
        return in_.with_samples(out)
    peak = _tp_db(out)
    if peak <= true_peak_dbtp:
        return in_.with_samples(out)
    if not limit:
        gain_db -= peak - true_peak_dbtp
        out = (x * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)
        missed = target_lufs - (level + gain_db)
        ctx.warn(
            f"true peak {peak:+.2f} dBTP at the target would pass the {true_peak_dbtp:g} dBTP "
            f"ceiling: lowered the gain, the loudness is {missed:.2f} LU under the target"
        )
        return in_.with_samples(out)
    # the loudness of the limited signal rises slower than its gain: secant steps on the gain
    tried: list[tuple[float, float]] = []
    reached = math.nan
    for _ in range(_ROUNDS):
        out = run_limiter(
            x,
            rate,
            ceiling_dbfs=true_peak_dbtp,
            lookahead_ms=_LIMITER_LOOKAHEAD_MS,
            release_ms=_LIMITER_RELEASE_MS,
            true_peak=True,
            gain_db=gain_db,
        )
        reached = measure(out, rate).integrated
        if abs(target_lufs - reached) <= _TOLERANCE_LU:
            break
        slope = 1.0
        if tried and gain_db != tried[-1][0]:
            slope = (reached - tried[-1][1]) / (gain_db - tried[-1][0])
            slope = min(1.0, max(slope, _MIN_SLOPE))
        tried.append((gain_db, reached))
        gain_db = min(gain_db + (target_lufs - reached) / slope, _MAX_GAIN_DB)
    if abs(target_lufs - reached) > 0.1:
        ctx.warn(
            f"limited to {true_peak_dbtp:g} dBTP, the loudness reaches {reached:.2f} LUFS, "
            f"not {target_lufs:g}: the ceiling leaves too little room"
        )
    return in_.with_samples(out)
