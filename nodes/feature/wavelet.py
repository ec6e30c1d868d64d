"""Wavelets as features: statistics of every band of a decomposition, and energy per level.

``feature.wavelet`` summarises each band of a ``subbands`` value (the output
of ``spectral.dwt``, any wavelet and mode) by the statistics asked for.

``feature.wavelet_energy`` is the older, self-contained form (it reads audio
and decomposes it itself, periodic Daubechies only); it is kept so existing
graphs render bit for bit the same, and computes its transform with its own
small numba kernel
(``nodes/feature/_wavelet_kernels.py``) over Daubechies filters built by spectral
factorisation (Daubechies 1988; the construction of the former
``scipy.signal.daub``). The transform is orthonormal with periodic
extension: at each level the signal is split into approximation (low-pass)
and detail (high-pass) halves, and their energies add up to the energy of the
level's input (Parseval) when its length is even; an odd length is made even
by repeating the last sample, as PyWavelets' ``periodization`` mode does.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from graphengine.node import Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Audio, Subbands, Vector

WAVELETS = tuple(f"db{p}" for p in range(1, 21))


@cache
def daubechies(p: int) -> np.ndarray:
    """Low-pass filter of the Daubechies wavelet with p vanishing moments (2p taps, Σ = √2)."""
    if p == 1:
        return np.full(2, 1 / math.sqrt(2))
    poly = [math.comb(p - 1 + k, k) for k in range(p)][::-1]
    roots = np.roots(poly)
    q = np.poly1d([1.0])
    for y in roots:
        part = 2 * np.sqrt(y * (y - 1))
        const = 1 - 2 * y
        z = const + part
        if abs(z) < 1:
            z = const - part
        q = q * np.poly1d([1, -z])
    h = (np.poly1d([1, 1]) ** p * np.real(q)).c[::-1]
    return h / h.sum() * math.sqrt(2)


def filter_pair(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Analysis low-pass and its quadrature mirror high-pass g[k] = (-1)^k h[L-1-k]."""
    lo = daubechies(p)
    hi = lo[::-1] * (-1.0) ** np.arange(lo.size)
    return lo, hi


def wavedec(x: np.ndarray, p: int, levels: int) -> list[np.ndarray]:
    """Coefficients [a_levels, d_levels, ..., d_1] of a periodic Daubechies-p DWT (float64)."""
    from nodes.feature._wavelet_kernels import dwt_step

    lo, hi = filter_pair(p)
    current = np.asarray(x, dtype=np.float64)
    details = []
    for _ in range(levels):
        if current.size % 2:
            current = np.append(current, current[-1])
        half = current.size // 2
        approx, detail = np.empty(half), np.empty(half)
        dwt_step(current, current.size, lo, hi, approx, detail)
        details.append(detail)
        current = approx
    return [current, *details[::-1]]


def _names(levels: int, channels: int) -> tuple[str, ...]:
    bands = [f"d{j}" for j in range(1, levels + 1)] + [f"a{levels}"]
    names = []
    for c in range(channels):
        prefix = f"ch{c}_" if channels > 1 else ""
        names.extend(f"{prefix}wavelet_{band}_energy" for band in bands)
    return tuple(names)


def infer_energy(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels * (levels + 1),); the signal must hold at least 2**levels samples."""
    levels = params["levels"]
    info = inputs.get("in")
    shape = None
    if isinstance(info, PortInfo) and info.shape is not None:
        channels, samples = info.shape
        if samples < 2**levels:
            raise ctx.param_error(
                "levels",
                f"{levels} levels need at least {2**levels} samples, the signal has {samples}",
            )
        shape = (channels * (levels + 1),)
    return {"out": PortInfo("vector", shape)}


@node("feature.wavelet_energy", version=1, infer=infer_energy)
def wavelet_energy(
    in_: Audio,
    *,
    wavelet: str = param("db4", choices=WAVELETS, description="Daubechies wavelet"),
    levels: int = param(5, range=(1, 30), description="decomposition levels"),
    relative: bool = param(True, description="divide by the total so the energies sum to 1"),
    ctx: NodeContext,
) -> Vector:
    """Energy of each level of a Daubechies discrete wavelet decomposition, per channel.

    Detail level j covers roughly sample_rate / 2^(j+1) .. sample_rate / 2^j
    Hz (d1 is the top octave), and the approximation a<levels> everything
    below. The energy of a level is the sum of its squared coefficients; with
    ``relative`` each is divided by the channel's total, giving the
    distribution of energy over octaves (a timbre descriptor). Names
    ``wavelet_d1_energy`` .. ``wavelet_d<L>_energy``, ``wavelet_a<L>_energy``.

    Example
    -------
        octaves = {in = "src", wavelet = "db4", levels = 5}
    """
    infer_energy({"in": PortInfo("audio", in_.samples.shape)}, locals(), ctx)
    p = int(wavelet[2:])
    out = []
    for c in range(in_.channels):
        coeffs = wavedec(in_.samples[c], p, levels)
        energies = np.array([np.sum(k * k) for k in coeffs[::-1]])  # d1 .. dL, aL
        if relative:
            total = energies.sum()
            energies = energies / total if total > 0 else energies
        out.append(energies)
    return Vector(np.concatenate(out), _names(levels, in_.channels))


# --------------------------------------------------------------------------- feature.wavelet

WAVELET_STATS = ("energy", "relative_energy", "rms", "mean_abs", "std", "max_abs", "entropy")


def band_statistic(bands: Subbands, stat: str) -> np.ndarray:
    """One statistic of every band and channel: (channels, bands) float64."""
    columns = []
    for band in bands.bands:
        power = band * band
        if stat in ("energy", "relative_energy"):
            value = power.sum(axis=1)
        elif stat == "rms":
            value = np.sqrt(power.mean(axis=1))
        elif stat == "mean_abs":
            value = np.abs(band).mean(axis=1)
        elif stat == "std":
            value = band.std(axis=1)
        elif stat == "max_abs":
            value = np.abs(band).max(axis=1)
        else:  # entropy of the band's energy over its coefficients, in bits
            total = power.sum(axis=1, keepdims=True)
            share = np.divide(power, total, out=np.zeros_like(power), where=total > 0)
            logs = np.log2(share, out=np.zeros_like(share), where=share > 0)
            value = -(share * logs).sum(axis=1)
        columns.append(value)
    table = np.stack(columns, axis=1)
    if stat == "relative_energy":
        total = table.sum(axis=1, keepdims=True)
        table = np.divide(table, total, out=np.zeros_like(table), where=total > 0)
    return table


def infer_wavelet(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """A vector of channels x bands x stats values; at least one statistic."""
    if not params["stats"]:
        raise ctx.param_error("stats", "no statistics asked for")
    return {"out": PortInfo("vector")}


@node("feature.wavelet", version=1, infer=infer_wavelet)
def wavelet_features(
    in_: Subbands,
    *,
    stats: list[str] = param(
        ["relative_energy", "std"], choices=WAVELET_STATS, description="statistics of each band"
    ),
    ctx: NodeContext,
) -> Vector:
    """Statistics of every band of a wavelet decomposition, per channel, as one named vector.

    Reads the ``subbands`` of ``spectral.dwt`` (so any wavelet, mode and
    number of levels) and gives, for every channel, band (in the input's
    order: ``a<L>``, ``d<L>`` .. ``d1``) and statistic, one value named
    ``wavelet_<band>_<stat>`` (``ch1_wavelet_d3_std`` with several
    channels). ``energy`` is the sum of squared coefficients,
    ``relative_energy`` that over the channel's total (the distribution of
    energy over octaves: with ``mode = "periodization"`` the energies add up
    to the signal's), ``rms``, ``mean_abs``, ``std`` and ``max_abs`` what
    they say, ``entropy`` the Shannon entropy in bits of the band's energy
    spread over its coefficients (0 for one spike, log2(n) for an even
    spread). The statistics of a band are in coefficient units: a band at
    level j holds 2^-j as many values per second as the signal.

    Example
    -------
        octaves = {in = "bands", stats = ["relative_energy", "entropy"]}
    """
    infer_wavelet({}, {"stats": stats}, ctx)
    tables = np.stack([band_statistic(in_, stat) for stat in stats], axis=2)
    names = []
    for c in range(in_.channels):
        prefix = f"ch{c}_" if in_.channels > 1 else ""
        names.extend(f"{prefix}wavelet_{band}_{stat}" for band in in_.names for stat in stats)
    return Vector(tables.reshape(-1), tuple(names))
