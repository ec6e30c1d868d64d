"""The discrete wavelet transform: ``spectral.dwt`` (audio -> subbands) and its inverse.

PyWavelets is the implementation: ``pywt.wavedec`` / ``pywt.waverec`` along
the time axis, in float64. It is faster than the numba kernel this package
had (``nodes/feature/_wavelet_kernels.py``, periodic Daubechies only, kept
for ``feature.wavelet_energy``): on 30 s of 44.1 kHz audio, 8 levels,
periodization, db4 8.6 ms against 17.7, db8 16.6 against 35.6, db20 54.5
against 88.2 (``benchmarks/wavelets.py``), and it has every boundary mode
and wavelet family.

A decomposition of ``levels`` levels holds ``levels + 1`` bands, coarsest
first as ``pywt.wavedec`` orders them: the approximation ``a<L>`` (below
about sample_rate / 2^(L+1) Hz), then the details ``d<L>`` .. ``d1``
(detail j spans about sample_rate / 2^(j+1) .. sample_rate / 2^j Hz, so
``d1`` is the top octave). Band j holds about frames / 2^j coefficients.
"""

from __future__ import annotations

import math
import re

import numpy as np

from graphengine.node import Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Audio, Subbands

WAVELETS = (
    "haar",
    *(f"db{p}" for p in range(1, 39)),
    *(f"sym{p}" for p in range(2, 21)),
    *(f"coif{p}" for p in range(1, 18)),
)
"""The orthogonal wavelets PyWavelets builds: Haar, Daubechies, symlets and coiflets."""

MODES = (
    "symmetric",
    "periodization",
    "zero",
    "constant",
    "periodic",
    "smooth",
    "reflect",
    "antisymmetric",
    "antireflect",
)
"""Signal extension at the edges, as PyWavelets names them (``pywt.Modes``)."""

_BAND = re.compile(r"^[ad][1-9][0-9]*$")


def filter_length(wavelet: str) -> int:
    """Taps of the wavelet's filters (``pywt.Wavelet(wavelet).dec_len``), without importing pywt."""
    if wavelet == "haar":
        return 2
    family, order = re.match(r"([a-z]+)(\d+)", wavelet).groups()
    return (6 if family == "coif" else 2) * int(order)


def max_levels(frames: int, wavelet: str) -> int:
    """The deepest useful decomposition (``pywt.dwt_max_level``): 0 if the signal is too short."""
    taps = filter_length(wavelet)
    if frames < taps - 1:
        return 0
    return math.floor(math.log2(frames / (taps - 1)))


def band_lengths(frames: int, wavelet: str, mode: str, levels: int) -> list[int]:
    """Coefficients per band, coarsest first (``pywt.dwt_coeff_len`` level after level)."""
    taps = filter_length(wavelet)
    lengths = []
    n = frames
    for _ in range(levels):
        n = (n + 1) // 2 if mode == "periodization" else (n + taps - 1) // 2
        lengths.append(n)
    return [lengths[-1], *lengths[::-1]]


def band_names(levels: int) -> tuple[str, ...]:
    """``("a<L>", "d<L>", ..., "d1")``."""
    return (f"a{levels}", *(f"d{j}" for j in range(levels, 0, -1)))


def resolve_levels(
    levels: int, frames: int, wavelet: str, ctx: NodeContext, name: str = "levels"
) -> int:
    """``levels``, or the most the signal allows for 0; refuses more than that."""
    most = max_levels(frames, wavelet)
    if most < 1:
        raise ctx.param_error(
            "wavelet",
            f"{wavelet} has {filter_length(wavelet)} taps; a signal of {frames} samples "
            "is too short for even one level",
        )
    if levels == 0:
        return most
    if levels > most:
        raise ctx.param_error(
            name,
            f"{levels} levels of {wavelet} need at least {(filter_length(wavelet) - 1) << levels} "
            f"samples, the signal has {frames} (at most {most} levels; 0 = the most)",
        )
    return levels


def wavedec(samples: np.ndarray, wavelet: str, mode: str, levels: int) -> list[np.ndarray]:
    """``pywt.wavedec`` of (channels, frames) along time, float64: [a_L, d_L, ..., d_1]."""
    import pywt

    return pywt.wavedec(np.asarray(samples, dtype=np.float64), wavelet, mode=mode, level=levels)


def waverec(bands: list[np.ndarray], wavelet: str, mode: str, frames: int) -> np.ndarray:
    """``pywt.waverec`` along time, cut to ``frames`` (an odd length gains one sample)."""
    import pywt

    return pywt.waverec(bands, wavelet, mode=mode)[..., :frames]


def decompose(audio: Audio, wavelet: str, mode: str, levels: int) -> Subbands:
    """The ``levels``-level DWT of ``audio`` as a Subbands value."""
    bands = wavedec(audio.samples, wavelet, mode, levels)
    rates = [audio.sample_rate / 2**levels] + [
        audio.sample_rate / 2**j for j in range(levels, 0, -1)
    ]
    transform = {"kind": "dwt", "wavelet": wavelet, "mode": mode}
    return Subbands(bands, band_names(levels), rates, audio.frames, audio.sample_rate, transform)


# --------------------------------------------------------------------------- dwt


def infer_dwt(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """Subbands of the input signal (described by its (channels, frames)); levels must fit."""
    info = inputs.get("in")
    shape = rate = None
    if isinstance(info, PortInfo):
        rate = info.sample_rate
        if info.shape is not None:
            resolve_levels(params["levels"], info.shape[1], params["wavelet"], ctx)
            shape = info.shape
    return {"out": PortInfo("subbands", shape, sample_rate=rate, itemsize=8)}


@node("spectral.dwt", version=1, infer=infer_dwt)
def dwt(
    in_: Audio,
    *,
    wavelet: str = param("db4", choices=WAVELETS, description="orthogonal wavelet"),
    levels: int = param(5, range=(0, 30), description="decomposition levels; 0 = the most"),
    mode: str = param("symmetric", choices=MODES, description="signal extension at the edges"),
    ctx: NodeContext,
) -> Subbands:
    """Multi-level discrete wavelet transform of every channel (PyWavelets' ``wavedec``).

    The output holds ``levels + 1`` bands of float64 coefficients, coarsest
    first: ``a<L>`` (the approximation), ``d<L>`` .. ``d1`` (detail ``j``
    covers about sample_rate / 2^(j+1) .. sample_rate / 2^j Hz), exactly the
    arrays of ``pywt.wavedec(x, wavelet, mode, level=levels)``. ``levels``
    0 takes the most the signal allows (``pywt.dwt_max_level``: floor(log2(
    frames / (taps - 1)))); more than that is refused. ``mode`` is how the
    signal is extended past its ends; ``periodization`` gives exactly
    ceil(n / 2) coefficients per level and an orthonormal (energy-keeping)
    transform, the others floor((n + taps - 1) / 2). ``spectral.idwt``
    inverts it exactly.

    Example
    -------
        bands = {in = "src", wavelet = "sym8", levels = 4, mode = "periodization"}
    """
    levels = resolve_levels(levels, in_.frames, wavelet, ctx)
    return decompose(in_, wavelet, mode, levels)


# --------------------------------------------------------------------------- idwt


def infer_idwt(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """Audio shaped like the signal that was decomposed; band names must look like a5 or d1."""
    for name in params["bands"]:
        if not _BAND.match(name):
            raise ctx.param_error("bands", f"{name!r} is not a band name like 'a5' or 'd1'")
    info = inputs.get("in")
    if not isinstance(info, PortInfo):
        return {"out": PortInfo("audio")}
    return {"out": PortInfo("audio", info.shape, sample_rate=info.sample_rate)}


@node("spectral.idwt", version=1, infer=infer_idwt)
def idwt(
    in_: Subbands,
    *,
    bands: list[str] = param([], description="bands to keep ('a5', 'd3'); [] = all"),
    ctx: NodeContext,
) -> Audio:
    """Inverse discrete wavelet transform: subbands back to audio (PyWavelets' ``waverec``).

    Takes the output of ``spectral.dwt`` (or of a node that changed its
    coefficients) and rebuilds the signal with the wavelet and mode that
    made it, exactly as long as the signal that was decomposed. With all
    bands the reconstruction is perfect (to float64 rounding, then stored as
    float32); ``bands`` keeps only the named ones and zeroes the rest, so
    ``["d3"]`` gives the part of the signal in detail band 3 (a wavelet
    band-pass), and the parts of all bands add up to the whole.

    Example
    -------
        back = {in = "bands"}
    """
    infer_idwt({}, {"bands": bands}, ctx)
    if in_.transform.get("kind") != "dwt":
        raise ctx.port_error(
            "in", f"expects the subbands of spectral.dwt, got a {in_.transform.get('kind')!r}"
        )
    unknown = [name for name in bands if name not in in_.names]
    if unknown:
        raise ctx.param_error(
            "bands", f"no band {', '.join(unknown)}; the input has {', '.join(in_.names)}"
        )
    coeffs = [
        band if not bands or name in bands else np.zeros_like(band)
        for name, band in zip(in_.names, in_.bands, strict=True)
    ]
    samples = waverec(coeffs, in_.transform["wavelet"], in_.transform["mode"], in_.frames)
    return Audio(samples, in_.sample_rate)
