"""Chroma from a constant-Q transform (librosa.feature.chroma_cqt)."""

from __future__ import annotations

import numpy as np

from graphengine.node import Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import ConstantQ, Features
from nodes.feature.extract import CHROMA_NORMS, PITCH_CLASSES


def infer_chroma_cqt(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels, n_chroma, frames) at the transform's frame rate."""
    info = inputs.get("in")
    shape = None
    if isinstance(info, PortInfo) and info.shape is not None:
        shape = (info.shape[0], params["n_chroma"], info.shape[2])
    return {"out": PortInfo("features", shape)}


@node("feature.chroma_cqt", version=1, infer=infer_chroma_cqt)
def chroma_cqt(
    in_: ConstantQ,
    *,
    n_chroma: int = param(12, range=(1, 120), description="pitch classes per octave"),
    norm: str = param("inf", choices=CHROMA_NORMS, description="per-frame normalisation"),
    threshold: float = param(0.0, range=(0, None), description="values below become 0"),
    ctx: NodeContext,
) -> Features:
    """Chromagram from a constant-Q transform: |C| folded into pitch classes, C first.

    Each constant-Q bin is given to the pitch class it lies in (the
    transform's ``bins_per_octave`` must be a multiple of ``n_chroma``;
    ``bins_per_octave / n_chroma`` neighbouring bins merge into one class,
    centred on it), values below ``threshold`` are set to 0 and each frame
    is normalised (``"inf"``: peak 1): ``librosa.feature.chroma_cqt(C=|C|)``.
    With a ``spectral.cqt`` of 36 bins per octave, 252 bins and estimated
    tuning it equals ``librosa.feature.chroma_cqt(y=...)``. Sharper in the
    bass than ``feature.chroma`` (an STFT's bins are wider than a semitone
    down there). Rows ``chroma_C`` .. ``chroma_B`` for 12 classes, else
    ``chroma_0`` ...

    Example
    -------
        pitchclass = {in = "cq", n_chroma = 12}
    """
    import librosa

    if in_.bins_per_octave % n_chroma:
        message = (
            f"{n_chroma} does not divide the transform's {in_.bins_per_octave} bins per octave"
        )
        raise ctx.param_error("n_chroma", message)
    order = {"inf": np.inf, "1": 1.0, "2": 2.0, "none": None}[norm]
    magnitude = np.abs(in_.data)
    bank = librosa.filters.cq_to_chroma(
        magnitude.shape[1],
        bins_per_octave=in_.bins_per_octave,
        n_chroma=n_chroma,
        fmin=in_.fmin_hz,
    )
    out = np.einsum("cf,kft->kct", bank, magnitude, optimize=True)
    out[out < threshold] = 0.0
    if order is not None:
        out = librosa.util.normalize(out, norm=order, axis=-2)
    names = (
        tuple(f"chroma_{p}" for p in PITCH_CLASSES)
        if n_chroma == 12
        else tuple(f"chroma_{k}" for k in range(n_chroma))
    )
    return Features(out, in_.frame_rate, names)
