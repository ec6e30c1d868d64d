"""Loudness after ITU-R BS.1770-4 and EBU R 128: momentary, short-term, integrated, range, peaks.

The signal is K-weighted (BS.1770's two-stage pre-filter: a +4 dB high shelf
near 1.7 kHz and a 38 Hz highpass, designed for any sample rate from the
analog prototype whose bilinear transform at 48 kHz gives the coefficients
printed in BS.1770-4 Table 1), squared, weighted per channel and summed
into 100 ms hops by one numba pass (``nodes/feature/_loudness_kernels.py``).
Everything else is arithmetic on those hop energies:

- momentary loudness: the 400 ms window ending at each hop;
- short-term loudness: the 3 s window ending at each hop;
- integrated loudness: BS.1770-4's gated mean of the 400 ms blocks (75 %
  overlap: one every hop) above -70 LUFS and above the mean of those minus 10 LU;
- loudness range (EBU Tech 3342): the 10th to 95th percentile spread of the
  short-term values above -70 LUFS and above their mean minus 20 LU;
- true peak: the largest absolute value of the signal oversampled four times
  (BS.1770-4 Annex 2), in dBTP.

Loudness is L = -0.691 + 10 log10(Σ_c G_c · mean square of the weighted
channel c), in LUFS; silence is -inf.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from graphengine.node import Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Audio, Features, Vector

HOP_S = 0.1
"""Hop of the momentary and short-term series, and of BS.1770's gating blocks (75 % overlap)."""
MOMENTARY_HOPS = 4
SHORT_TERM_HOPS = 30
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
LRA_PERCENTILES = (10.0, 95.0)
TRUE_PEAK_FACTOR = 4
STATS = (
    "integrated_lufs",
    "loudness_range_lu",
    "true_peak_dbtp",
    "sample_peak_dbfs",
    "max_momentary_lufs",
    "max_short_term_lufs",
)

# The analog prototype of BS.1770's pre-filter (as libebur128 and BS.1770 implementations
# derive it), which reproduces the standard's 48 kHz coefficients.
_SHELF_HZ, _SHELF_DB, _SHELF_Q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
_SHELF_VB_EXPONENT = 0.4996667741545416
_HIGHPASS_HZ, _HIGHPASS_Q = 38.13547087602444, 0.5003270373238773


def k_weighting_sos(sample_rate: float) -> np.ndarray:
    """BS.1770-4's K-weighting pre-filter at ``sample_rate`` Hz, as two sections (2, 6)."""
    k = math.tan(math.pi * _SHELF_HZ / sample_rate)
    vh = 10.0 ** (_SHELF_DB / 20.0)
    vb = vh**_SHELF_VB_EXPONENT
    a0 = 1.0 + k / _SHELF_Q + k * k
    shelf = [
        (vh + vb * k / _SHELF_Q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / _SHELF_Q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / _SHELF_Q + k * k) / a0,
    ]
    k = math.tan(math.pi * _HIGHPASS_HZ / sample_rate)
    a0 = 1.0 + k / _HIGHPASS_Q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _HIGHPASS_Q + k * k) / a0]
    return np.array([shelf, highpass])


def default_channel_weights(channels: int) -> np.ndarray:
    """BS.1770-4's channel gains: 1 for L, R, C; 1.41 for the surrounds; LFE left out.

    Five channels are taken as L R C Ls Rs, six as L R C LFE Ls Rs (5.1);
    any other count weighs every channel 1.
    """
    if channels == 5:
        return np.array([1.0, 1.0, 1.0, 1.41, 1.41])
    if channels == 6:
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41])
    return np.ones(channels)


def _boundary(j: np.ndarray | int, rate: float) -> np.ndarray:
    """Sample index where hop ``j`` starts: floor(j * HOP_S * rate), for any integer j."""
    return np.floor(np.asarray(j, dtype=np.float64) * (rate * HOP_S) + 1e-9).astype(np.int64)


def hop_count(frames: int, rate: float) -> int:
    """Whole 100 ms hops in ``frames`` samples at ``rate`` Hz."""
    hops = int(frames / (rate * HOP_S))
    while hops > 0 and _boundary(hops, rate) > frames:
        hops -= 1
    while _boundary(hops + 1, rate) <= frames:
        hops += 1
    return hops


class Loudness(NamedTuple):
    """One signal's loudness: series at 10 Hz (frame k ends at (k + 1) 100 ms) and figures."""

    momentary: np.ndarray
    short_term: np.ndarray
    integrated: float
    loudness_range: float


def _to_lufs(mean_square: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(mean_square)


def measure(samples: np.ndarray, rate: float, weights: np.ndarray | None = None) -> Loudness:
    """BS.1770-4 / EBU R 128 loudness of ``samples`` (channels, frames) at ``rate`` Hz.

    Only whole 100 ms hops count (a shorter remainder at the end is left
    out); the windows of the first frames reach back before the start, where
    the signal is taken as silence, and count in the gated figures only once
    they lie wholly inside it.
    """
    from nodes.feature._loudness_kernels import kweighted_hop_energy

    channels, frames = samples.shape
    weights = default_channel_weights(channels) if weights is None else weights
    hops = hop_count(frames, rate)
    bounds = _boundary(np.arange(hops + 1), rate)
    energy = np.empty(hops)
    x = np.ascontiguousarray(samples, dtype=np.float32)
    kweighted_hop_energy(x, k_weighting_sos(rate), np.asarray(weights, np.float64), bounds, energy)
    cumulative = np.concatenate([[0.0], np.cumsum(energy)])

    def windows(width: int) -> tuple[np.ndarray, np.ndarray]:
        end = np.arange(1, hops + 1)
        start = end - width
        total = cumulative[end] - cumulative[np.maximum(start, 0)]
        length = _boundary(end, rate) - _boundary(start, rate)
        return np.maximum(total, 0.0) / length, start >= 0

    block_power, block_whole = windows(MOMENTARY_HOPS)
    short_power, short_whole = windows(SHORT_TERM_HOPS)
    momentary = _to_lufs(block_power)
    short_term = _to_lufs(short_power)
    return Loudness(
        momentary,
        short_term,
        gated_loudness(block_power[block_whole]),
        loudness_range(short_term[short_whole]),
    )


def gated_loudness(block_power: np.ndarray) -> float:
    """BS.1770-4's integrated loudness of the 400 ms blocks' weighted mean squares (-inf: none)."""
    loudness = _to_lufs(block_power)
    above = loudness > ABSOLUTE_GATE_LUFS
    if not np.any(above):
        return -math.inf
    relative = float(_to_lufs(np.mean(block_power[above]))) + RELATIVE_GATE_LU
    kept = above & (loudness > relative)
    return float(_to_lufs(np.mean(block_power[kept])))


def loudness_range(short_term: np.ndarray) -> float:
    """EBU Tech 3342's loudness range of whole 3 s short-term values, in LU (NaN: none)."""
    above = short_term[short_term > ABSOLUTE_GATE_LUFS]
    if above.size == 0:
        return math.nan
    mean = float(_to_lufs(np.mean(10.0 ** ((above + 0.691) / 10.0))))
    kept = above[above > mean + LRA_RELATIVE_GATE_LU]
    low, high = np.percentile(kept, LRA_PERCENTILES)
    return float(high - low)


def interpolation_phases(factor: int = TRUE_PEAK_FACTOR, half_taps: int = 12) -> np.ndarray:
    """Taps of a windowed-sinc interpolator, one row per fractional position q / factor, q >= 1.

    Row ``q - 1`` evaluates the band-limited signal at n + q / factor from the
    ``2 * half_taps`` samples n - half_taps + 1 .. n + half_taps: sinc weights
    under a Kaiser window (beta 7), scaled to sum to 1 (unit gain at 0 Hz).
    BS.1770-4 Annex 2 asks for 4x oversampling by a filter of at least 48
    taps (12 per phase); this one has ``2 * half_taps`` per phase.
    """
    offsets = np.arange(-half_taps + 1, half_taps + 1, dtype=np.float64)
    rows = []
    for q in range(1, factor):
        t = offsets - q / factor
        window = np.i0(7.0 * np.sqrt(np.clip(1.0 - (t / half_taps) ** 2, 0.0, None)))
        taps = np.sinc(t) * window
        rows.append(taps / taps.sum())
    return np.ascontiguousarray(np.array(rows))


@functools.cache
def _phases() -> np.ndarray:
    return interpolation_phases()


def true_peak(samples: np.ndarray) -> np.ndarray:
    """Per channel, the largest absolute value of ``samples`` oversampled 4 times (linear)."""
    from nodes.feature._loudness_kernels import true_peaks

    x = np.ascontiguousarray(samples, dtype=np.float32)
    out = np.zeros(x.shape[0])
    phases = _phases()
    true_peaks(x, phases, np.zeros(x.shape[1] + phases.shape[1]), out)
    return out


def _db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else -math.inf


def infer_loudness(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """A vector of the figures; two one-row series at 10 Hz; one weight per channel."""
    info = inputs.get("in")
    series = None
    if isinstance(info, PortInfo) and info.shape is not None:
        channels, frames = info.shape
        weights = params["channel_weights"]
        if weights and len(weights) != channels:
            message = f"{len(weights)} weights for a signal of {channels} channels"
            raise ctx.param_error("channel_weights", message)
        rate = info.sample_rate or ctx.sample_rate
        series = (1, 1, hop_count(frames, rate))
    return {
        "out": PortInfo("vector", (len(STATS),), names=tuple(STATS)),
        "momentary": PortInfo("features", series, names=("momentary_lufs",)),
        "short_term": PortInfo("features", series, names=("short_term_lufs",)),
    }


class LoudnessOut(NamedTuple):
    """The figures, and the momentary and short-term series."""

    out: Vector
    momentary: Features
    short_term: Features


@node("feature.loudness", version=1, infer=infer_loudness)
def loudness(
    in_: Audio,
    *,
    channel_weights: list[float] = param(
        [],
        range=(0.0, 10.0),
        description="gain of each channel's power; [] takes BS.1770's by channel count",
    ),
    ctx: NodeContext,
) -> LoudnessOut:
    """Loudness after ITU-R BS.1770-4 and EBU R 128 (LUFS), loudness range, true peak.

    ``out`` is a vector of ``integrated_lufs`` (gated at -70 LUFS absolute
    and -10 LU relative), ``loudness_range_lu`` (EBU Tech 3342: 10th to 95th
    percentile of the short-term values gated at -70 LUFS and -20 LU; NaN
    when none is above the gates or the signal is shorter than 3 s),
    ``true_peak_dbtp`` (4x oversampled), ``sample_peak_dbfs``,
    ``max_momentary_lufs`` and ``max_short_term_lufs``. ``momentary`` and
    ``short_term`` are features at 10 Hz, one channel, one row each
    (``momentary_lufs``, ``short_term_lufs``): frame k is the loudness of the
    400 ms or 3 s ending at (k + 1) × 100 ms, the time before the start
    counting as silence. Channels are summed with BS.1770's gains: 1 for
    L, R, C and 1.41 for the surrounds of a 5-channel (L R C Ls Rs) or
    5.1 (L R C LFE Ls Rs, LFE left out) signal; ``channel_weights`` sets
    them instead, one per channel. A 1 kHz sine at -23 dBFS on both channels
    of a stereo signal reads -23.0 LUFS. Silence reads -inf.

    Example
    -------
        lufs = {in = "src"}
    """
    samples = in_.samples
    infer_loudness({"in": PortInfo("audio", samples.shape, in_.sample_rate)}, locals(), ctx)
    weights = np.asarray(channel_weights, dtype=np.float64) if channel_weights else None
    rate = in_.sample_rate
    result = measure(samples, rate, weights)
    if result.momentary.size == 0:
        ctx.warn(f"the signal is shorter than {HOP_S * 1000:g} ms: no loudness to measure")
    peaks = true_peak(samples)
    sample_peak = float(np.max(np.abs(samples), initial=0.0))
    values = [
        result.integrated,
        result.loudness_range,
        _db(float(np.max(peaks, initial=0.0))),
        _db(sample_peak),
        float(np.max(result.momentary, initial=-math.inf)),
        float(np.max(result.short_term, initial=-math.inf)),
    ]
    rate_out = 1.0 / HOP_S
    return LoudnessOut(
        Vector(values, STATS),
        Features(result.momentary[np.newaxis, np.newaxis], rate_out, ("momentary_lufs",)),
        Features(result.short_term[np.newaxis, np.newaxis], rate_out, ("short_term_lufs",)),
    )
