"""Wavelets: a Daubechies discrete wavelet decomposition and its energy per level.

PyWavelets is not a dependency, so the transform is a small numba kernel
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
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np

from graphengine.node import NodeContext, PortInfo, node, param
from graphengine.types import Audio, Vector

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


def infer_energy(
    inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
) -> dict[str, PortInfo]:
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
