"""Metrics: numbers comparing a test signal with a reference, as named vectors.

Each ``metric.*`` node takes two audio inputs, ``ref`` (the reference, e.g.
the original) and ``test`` (e.g. a reconstruction), of the same shape, and
returns a one-value ``vector`` named after the measure, computed over all
channels and samples together.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphengine.node import InferFn, Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Audio, Vector


def _check_shapes(ref: Any, test: Any, ctx: NodeContext) -> None:
    ref_shape = getattr(ref, "shape", None)
    test_shape = getattr(test, "shape", None)
    if ref_shape is not None and test_shape is not None and tuple(ref_shape) != tuple(test_shape):
        raise ctx.port_error(
            "test",
            f"shape (channels, samples) {tuple(test_shape)} differs from ref's {tuple(ref_shape)}",
        )


def infer_metric(name: str) -> InferFn:
    """The infer function of a metric whose one value is named ``name``."""

    def infer(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
        _check_shapes(inputs.get("ref"), inputs.get("test"), ctx)
        return {"out": PortInfo("vector", (1,), names=(name,))}

    infer.__doc__ = f"(1,), named {name!r}; ref and test must have the same (channels, samples)."
    return infer


def _pair(ref: Audio, test: Audio, ctx: NodeContext) -> tuple[np.ndarray, np.ndarray]:
    _check_shapes(ref.samples, test.samples, ctx)
    return ref.samples.astype(np.float64), test.samples.astype(np.float64)


@node("metric.mse", version=1, infer=infer_metric("mse"))
def mse(ref: Audio, test: Audio, *, ctx: NodeContext) -> Vector:
    """Mean squared error between test and reference samples (full scale = 1).

    Example
    -------
        err = {ref = "src", test = "rebuilt"}
    """
    r, t = _pair(ref, test, ctx)
    return Vector([np.mean((t - r) ** 2)], ("mse",))


@node("metric.correlation", version=1, infer=infer_metric("correlation"))
def correlation(ref: Audio, test: Audio, *, ctx: NodeContext) -> Vector:
    """Pearson correlation coefficient of test and reference samples, in [-1, 1].

    NaN when either signal is constant.

    Example
    -------
        corr = {ref = "src", test = "rebuilt"}
    """
    r, t = _pair(ref, test, ctx)
    r, t = r.ravel() - r.mean(), t.ravel() - t.mean()
    denom = np.sqrt(np.dot(r, r) * np.dot(t, t))
    value = np.dot(r, t) / denom if denom > 0 else np.nan
    return Vector([value], ("correlation",))


@node("metric.snr", version=1, infer=infer_metric("snr_db"))
def snr(ref: Audio, test: Audio, *, ctx: NodeContext) -> Vector:
    """Signal-to-noise ratio in dB: 10 log10(Σ ref² / Σ (test - ref)²).

    +inf when the two are identical. Named ``snr_db``.

    Example
    -------
        quality = {ref = "src", test = "rebuilt"}
    """
    r, t = _pair(ref, test, ctx)
    noise = np.sum((t - r) ** 2)
    signal = np.sum(r**2)
    with np.errstate(divide="ignore"):
        value = 10 * np.log10(signal / noise) if noise > 0 else np.inf
    return Vector([value], ("snr_db",))


@node("metric.lsd", version=1, infer=infer_metric("lsd_db"))
def lsd(
    ref: Audio,
    test: Audio,
    *,
    n_fft: int = param(2048, range=(1, None), description="FFT size in samples"),
    hop: int = param(512, range=(1, None), at_most="n_fft", description="samples between frames"),
    amin: float = param(1e-10, above=0, description="power floor before the log"),
    ctx: NodeContext,
) -> Vector:
    """Log-spectral distance in dB between the power spectrograms of test and reference.

    Both are analysed with a centred Hann STFT (``n_fft``, ``hop``); per
    frame the RMS over bins of 10 log10((|R|² + amin) / (|T|² + amin)),
    then the mean over frames and channels. 0 for identical signals. Named
    ``lsd_db``.

    Example
    -------
        dist = {ref = "src", test = "rebuilt", n_fft = 2048}
    """
    from nodes.spectral.stft import stft

    def power(audio: Audio) -> np.ndarray:
        spec = stft(
            audio, n_fft=n_fft, hop=hop, window="hann", center=True, pad_mode="constant", ctx=ctx
        )
        return np.abs(spec.data).astype(np.float64) ** 2

    _check_shapes(ref.samples, test.samples, ctx)
    diff = 10 * np.log10((power(ref) + amin) / (power(test) + amin))
    value = np.mean(np.sqrt(np.mean(diff**2, axis=1)))
    return Vector([value], ("lsd_db",))
