"""Resampling with soxr (libsoxr at very high quality: passband to 95 % of Nyquist,
175 dB stop band, linear phase), and the frame counts it returns."""

from __future__ import annotations

import numpy as np

from graphengine.node import Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Audio

SOXR_QUALITIES = ("VHQ", "HQ", "MQ", "LQ", "QQ")


def resampled_frames(frames: int, in_rate: float, out_rate: float) -> int:
    """Frames soxr returns for ``frames`` input frames: ``int(frames * out / in + 0.5)``.

    libsoxr flushes until it has produced ``(uint64)(samples_in / factor + .5)``
    samples, ``factor = in_rate / out_rate`` in double precision (as
    ``source.file`` predicts the length of a file at another rate).
    """
    if in_rate == out_rate:
        return frames
    return int(frames / (in_rate / out_rate) + 0.5)


def audio_info(shape: tuple[int, int] | None, rate: float | None) -> dict[str, PortInfo]:
    return {"out": PortInfo("audio", shape, sample_rate=rate, itemsize=4)}


def fit_frames(samples: np.ndarray, frames: int) -> np.ndarray:
    """``samples`` (channels, n) cut or zero-padded at the end to ``frames`` frames."""
    if samples.shape[1] >= frames:
        return samples[:, :frames]
    return np.pad(samples, ((0, 0), (0, frames - samples.shape[1])))


def soxr_resample(samples: np.ndarray, in_rate: float, out_rate: float, quality: str) -> np.ndarray:
    """Resample (channels, frames) float32 with soxr; returns (channels, frames')."""
    import soxr

    if samples.shape[1] == 0:
        return samples
    out = soxr.resample(np.ascontiguousarray(samples.T), in_rate, out_rate, quality=quality)
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(-1, samples.shape[0]).T)


# --------------------------------------------------------------------------- speed


def infer_resample(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """Frames converted to ``rate_hz`` as soxr rounds them; the output is at ``rate_hz``."""
    source = inputs["in"]
    in_rate = source.sample_rate or ctx.sample_rate
    shape = source.shape
    if shape is not None:
        shape = (shape[0], resampled_frames(shape[1], in_rate, params["rate_hz"]))
    return audio_info(shape, float(params["rate_hz"]))


@node("signal.resample", version=1, infer=infer_resample, aliases=("resample",))
def resample(
    in_: Audio,
    *,
    rate_hz: float = param(48000.0, unit="Hz", range=(1000, 768_000), description="new rate"),
    quality: str = param(
        "VHQ", choices=SOXR_QUALITIES, description="soxr quality: VHQ best, QQ quickest"
    ),
) -> Audio:
    """Convert a signal to another sample rate, keeping its duration and pitch.

    Uses soxr (libsoxr). ``VHQ`` (the default) and ``HQ`` are linear-phase
    with a passband flat to 95 % (VHQ: 96 %) of the lower Nyquist and a stop
    band 175 dB (HQ: 144 dB) down; ``MQ``, ``LQ`` and ``QQ`` trade quality
    for speed. The output has ``int(frames * rate_hz / rate + 0.5)`` frames
    and the rate ``rate_hz``. Nodes after this one work
    at the new rate; a node mixing it with other signals needs them at the
    same rate.

    Example
    -------
        to48k = {in = "src", rate_hz = 48000.0}
    """
    if rate_hz == in_.sample_rate:
        return in_
    frames = resampled_frames(in_.frames, in_.sample_rate, rate_hz)
    out = soxr_resample(in_.samples, in_.sample_rate, rate_hz, quality)
    return Audio(fit_frames(out, frames), rate_hz)


# --------------------------------------------------------------------------- STFT
