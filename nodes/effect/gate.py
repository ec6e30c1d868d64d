"""Noise gate: silence (or turn down by a range) what stays below a threshold.

A streaming node (see :mod:`graphengine.blocknode`) whose work is the numba
kernel ``gate_inplace`` in ``nodes/effect/_gate_kernels.py``.
"""

from __future__ import annotations

import numpy as np

from graphengine.blocknode import BlockEffect, Kernel, StreamSpec
from graphengine.node import node, param


@node("effect.gate", version=1)
class Gate(BlockEffect):
    """Noise gate with hysteresis, hold, attack, release and a range of attenuation.

    The detector is the largest absolute sample across channels, and one
    gain applies to all of them. The gate opens on the first sample at or
    above ``open_dbfs`` and closes when the signal has stayed below
    ``close_dbfs`` for longer than ``hold_ms``; between the two thresholds
    (the hysteresis) it keeps its state, so a signal hovering near one
    threshold does not chatter. Opening, the gain rises from
    ``-range_db`` to 0 dB in a straight line (in dB) over ``attack_ms``;
    closing, it falls back over ``release_ms`` (0 ms: at once). ``range_db``
    is how far a closed gate turns the signal down: 80 dB or more is a
    gate, 6 to 20 dB a gentle expander that only lowers the floor. The gate
    starts closed. Output is as long as the input.

    Example
    -------
        gate = {in = "src", open_dbfs = -40.0, close_dbfs = -46.0, hold_ms = 20.0}
    """

    open_dbfs: float = param(
        -40.0, unit="dBFS", range=(-120.0, 0.0), description="level that opens the gate"
    )
    close_dbfs: float = param(
        -46.0,
        unit="dBFS",
        range=(-120.0, 0.0),
        at_most="open_dbfs",
        description="level the signal must stay below for the gate to close",
    )
    attack_ms: float = param(1.0, unit="ms", range=(0.0, 1000.0), description="opening time")
    hold_ms: float = param(
        20.0, unit="ms", range=(0.0, 10_000.0), description="time below close_dbfs before closing"
    )
    release_ms: float = param(100.0, unit="ms", range=(0.0, 10_000.0), description="closing time")
    range_db: float = param(
        80.0, unit="dB", range=(0.0, 200.0), description="attenuation of the closed gate"
    )

    def prepare(self, spec: StreamSpec) -> None:
        rate = spec.sample_rate_hz / 1000.0

        def step(ms: float) -> float:
            samples = ms * rate
            return self.range_db / samples if samples >= 1.0 else 0.0

        self._scalars = (
            10.0 ** (self.open_dbfs / 20.0),
            10.0 ** (self.close_dbfs / 20.0),
            round(self.hold_ms * rate),
            step(self.attack_ms),
            step(self.release_ms),
            -float(self.range_db),
        )
        self._state = np.zeros(1)
        self._counters = np.zeros(2, dtype=np.int64)

    def reset(self) -> None:
        self._state[:] = -float(self.range_db)
        self._counters[:] = 0

    def kernel(self) -> Kernel:
        """``(fn, args)`` with ``fn(block, *args)`` gating ``block`` in place."""
        from nodes.effect._gate_kernels import gate_inplace

        return gate_inplace, (self._state, self._counters, *self._scalars)
