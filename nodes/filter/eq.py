"""Parametric equaliser: any number of RBJ cookbook bands in one node, one SOS cascade."""

from __future__ import annotations

import numpy as np

from graphengine.blocknode import StreamSpec
from graphengine.node import NYQUIST, node, param
from nodes.filter.iir import BIQUAD_MODES, _SosFilter, rbj_sos

DEFAULT_Q = 0.7071


@node("filter.eq", version=1)
class Eq(_SosFilter):
    """Parametric EQ: a list of peak, shelf and pass bands, run as one cascade of biquads.

    Band k is ``bands[k]`` (a shape of ``filter.biquad``: ``peak``,
    ``lowshelf``, ``highshelf``, ``lowpass``, ``highpass``, ``bandpass``,
    ``notch``) at ``freqs_hz[k]`` with ``gains_db[k]`` (peak and shelves
    only) and ``qs[k]``; the lists are parallel, one entry per band.
    ``gains_db`` may be left empty (every band 0 dB) and so may ``qs``
    (every band 0.7071, Butterworth for the pass bands and a slope of one
    for the shelves). Each band is the RBJ Audio-EQ-cookbook biquad, so
    the response is the product of theirs; the bands run as one
    second-order-section cascade in float64 in one numba kernel (the one of
    ``filter.biquad``), block by block. No bands: the signal passes
    unchanged. Output is as long as the input.

    Example
    -------
        eq = {in = "src", bands = ["highpass", "peak", "highshelf"], freqs_hz = [40.0, 2500.0, 9000.0], gains_db = [0.0, -3.0, 2.0], qs = [0.7071, 1.4, 0.7071]}
    """  # noqa: E501

    bands: list[str] = param(["peak"], choices=BIQUAD_MODES, description="shape of each band")
    freqs_hz: list[float] = param(
        [1000.0],
        unit="Hz",
        range=(1.0, 100_000.0),
        below=NYQUIST,
        description="each band's corner, centre or shelf mid-point",
    )
    gains_db: list[float] = param(
        [], unit="dB", range=(-60.0, 60.0), description="each band's boost or cut; [] all 0"
    )
    qs: list[float] = param(
        [], range=(0.05, 50.0), description="each band's quality factor; [] all 0.7071"
    )

    def prepare(self, spec: StreamSpec) -> None:
        count = len(self.bands)
        gains = self.gains_db or [0.0] * count
        qs = self.qs or [DEFAULT_Q] * count
        for name, values in (("freqs_hz", self.freqs_hz), ("gains_db", gains), ("qs", qs)):
            if len(values) != count:
                raise self.param_error(name, _mismatch(name, len(values), self.bands))
        sections = [
            rbj_sos(mode, f, q, g, spec.sample_rate_hz)
            for mode, f, g, q in zip(self.bands, self.freqs_hz, gains, qs, strict=True)
        ]
        sos = np.concatenate(sections) if sections else np.array([[1.0, 0, 0, 1.0, 0, 0]])
        self._allocate(sos, spec)


def _mismatch(name: str, given: int, bands: list[str]) -> str:
    """Which band lacks a value, or which value has no band."""
    count = len(bands)
    if given < count:
        missing = ", ".join(f"band {k + 1} ({bands[k]})" for k in range(given, count))
        return f"{given} values for {count} bands: {missing} has none"
    extra = f"value {count + 1}" if given == count + 1 else f"values {count + 1} to {given}"
    return f"{given} values for {count} bands: {extra} match no entry of bands"
