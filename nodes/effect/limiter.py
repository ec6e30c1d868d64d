"""Look-ahead brickwall limiter: no output sample (or, asked, no true peak) above a ceiling.

The limiter needs to see ``lookahead_ms`` ahead of the sample it turns
down, so a causal block stream would hand its output back that much late.
The block contract has no way to declare such a latency to the engine, so
the node runs whole-signal: it feeds the signal and a tail of zeros as long
as the latency through the kernel (``nodes/effect/_limiter_kernels.py``,
which carries all its state in arrays and works in chunks of any size)
and drops the latency from the front, so the output lines up with the
input sample for sample and is exactly as long.
"""

from __future__ import annotations

import math

import numpy as np

from graphengine.node import NodeContext, node, param
from graphengine.types import Audio
from nodes.effect.reverse import infer_same

TRUE_PEAK_SPREAD = 2
"""In true-peak mode, samples on either side of a peak that get no more gain than it needs."""
TRUE_PEAK_MARGIN_DB = 0.1
"""In true-peak mode the detector aims this far under the ceiling: two good 4x interpolators
differ by up to ~0.03 dB on noise reaching Nyquist (ours against scipy's resample_poly),
and a true peak measured by either must stay under it."""
_CHUNK = 1 << 16
"""Frames per kernel call: the working memory is a few chunks, whatever the length."""


def largest_float32_at_most(value: float) -> np.float32:
    """The largest float32 that is not above ``value``."""
    v = np.float32(value)
    return np.nextafter(v, np.float32(-np.inf)) if float(v) > value else v


def limit(
    samples: np.ndarray,
    rate: float,
    *,
    ceiling_dbfs: float,
    lookahead_ms: float,
    release_ms: float,
    true_peak: bool,
    gain_db: float = 0.0,
) -> np.ndarray:
    """``samples`` (channels, frames) limited to ``ceiling_dbfs``, aligned, as float32."""
    from nodes.effect._limiter_kernels import limiter
    from nodes.feature.loudness import interpolation_phases

    channels, frames = samples.shape
    ceiling = 10.0 ** (ceiling_dbfs / 20.0)
    aim = ceiling * 10.0 ** (-TRUE_PEAK_MARGIN_DB / 20.0) if true_peak else ceiling
    lookahead = max(1, round(lookahead_ms * rate / 1000.0))
    release = math.exp(-1000.0 / (release_ms * rate)) if release_ms > 0 else 0.0
    phases = interpolation_phases() if true_peak else np.zeros((0, 0))
    taps = phases.shape[1] if true_peak else 1
    spread = TRUE_PEAK_SPREAD if true_peak else 0
    latency = (taps // 2 if true_peak else 0) + spread + lookahead - 1
    state = np.array([0.0, 1.0, float(lookahead)])
    box = np.ones(lookahead)
    deque_values = np.ones(lookahead + 2 * spread + 1)
    deque_index = np.zeros(lookahead + 2 * spread + 1, dtype=np.int64)
    delay = np.zeros((channels, latency + 1), dtype=np.float32)
    counters = np.zeros(4, dtype=np.int64)
    scale = np.float32(10.0 ** (gain_db / 20.0))
    total = frames + latency
    out = np.empty((channels, frames), dtype=np.float32)
    block = np.zeros((channels, min(_CHUNK, max(total, 1))), dtype=np.float32)
    history = np.zeros((channels, taps - 1 + block.shape[1]) if true_peak else (channels, 1))
    intervals = np.zeros(block.shape[1] if true_peak else 1)
    result = np.empty_like(block)
    arrays = (phases, state, history, intervals, box, deque_values, deque_index, delay, counters)
    scalars = (aim, largest_float32_at_most(ceiling), lookahead, spread, release)
    for start in range(0, total, _CHUNK):
        n = min(_CHUNK, total - start)
        block[:, :n] = 0.0
        stop = min(frames, start + n)
        if stop > start:
            block[:, : stop - start] = samples[:, start:stop] * scale
        limiter(block[:, :n], result[:, :n], *arrays, *scalars)
        # output sample j is kernel sample j + latency
        first = max(start, latency)
        if start + n > first:
            out[:, first - latency : start + n - latency] = result[:, first - start : n]
    return out


@node("effect.limiter", version=1, infer=infer_same)
def limiter(
    in_: Audio,
    *,
    ceiling_dbfs: float = param(
        -1.0, unit="dBFS", range=(-60.0, 0.0), description="no output sample above this"
    ),
    lookahead_ms: float = param(
        5.0, unit="ms", range=(0.01, 200.0), description="look-ahead, also the attack time"
    ),
    release_ms: float = param(
        100.0, unit="ms", range=(0.0, 10_000.0), description="time constant of the recovery"
    ),
    true_peak: bool = param(False, description="keep the 4x oversampled (true) peak under it"),
    gain_db: float = param(0.0, unit="dB", range=(-24.0, 48.0), description="gain before it"),
    ctx: NodeContext,
) -> Audio:
    """Look-ahead brickwall limiter: nothing above ``ceiling_dbfs``, with smooth gain changes.

    ``gain_db`` is applied first (drive the signal into the limiter). One
    gain for all channels, so the stereo image holds. The gain a sample
    needs (ceiling / peak, at most 1) is known ``lookahead_ms`` before the
    sample leaves: the gain ramps down over that time (the attack, a straight
    line), holds while louder samples are in view, and recovers towards 1
    with the time constant ``release_ms`` (1 - 1/e of the way). With
    ``true_peak`` the detector also sees the signal between the samples,
    interpolated 4x as BS.1770-4's true-peak meter does (24 taps per phase),
    and aims 0.1 dB under the ceiling (what two good 4x interpolators may
    disagree by), so the output's true peak stays under the ceiling too. The look-ahead is
    compensated: the output lines up with the input and is exactly as long
    (the node runs whole-signal; the numba kernel works in chunks with its
    state in arrays). No output sample is above the ceiling: the gain can
    only reach it, and float32 rounding is clamped. NaN or infinite input
    samples are taken as 0, with a warning.

    Example
    -------
        brick = {in = "src", ceiling_dbfs = -1.0, lookahead_ms = 5.0, true_peak = true}
    """
    samples = in_.samples
    bad = int(np.count_nonzero(~np.isfinite(samples)))
    if bad:
        ctx.warn(f"{bad} NaN or infinite samples were limited as 0")
        samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    out = limit(
        samples,
        in_.sample_rate,
        ceiling_dbfs=ceiling_dbfs,
        lookahead_ms=lookahead_ms,
        release_ms=release_ms,
        true_peak=true_peak,
        gain_db=gain_db,
    )
    return in_.with_samples(out)
