"""effect.gate: timing within 1 ms of its parameters on tone bursts, hysteresis, range."""

from __future__ import annotations

import numpy as np
import pytest
from node_harness import validation_error
from stream_harness import SR, assert_block_invariant, whole

from graphengine.errors import ParamError
from graphengine.types import Audio
from nodes.effect.gate import Gate

MS = SR / 1000.0


def bursts(*segments: tuple[float, float, float], seconds: float = 1.2) -> np.ndarray:
    """A -80 dBFS noise floor (never exactly 0) with 1 kHz bursts (start s, stop s, dBFS)."""
    rng = np.random.default_rng(0)
    n = round(seconds * SR)
    x = 10 ** (-80 / 20) * rng.uniform(0.5, 1.0, n) * rng.choice([-1.0, 1.0], n)
    t = np.arange(n) / SR
    for start, stop, level in segments:
        inside = (t >= start) & (t < stop)
        x[inside] += 10 ** (level / 20) * np.sin(2 * np.pi * 1000.0 * (t[inside] - start))
    return np.vstack([x, 0.5 * x]).astype(np.float32)


def gain_db(x: np.ndarray, **params) -> np.ndarray:
    y = whole(Gate, x, **params)
    return 20 * np.log10(np.abs(y[0].astype(np.float64) / x[0]))


TIMING = {
    "open_dbfs": -40.0,
    "close_dbfs": -46.0,
    "attack_ms": 5.0,
    "hold_ms": 20.0,
    "release_ms": 50.0,
    "range_db": 60.0,
}


def first(condition: np.ndarray) -> float:
    """Time (ms) of the first sample where ``condition`` holds."""
    return float(np.argmax(condition)) / MS


@pytest.mark.parametrize(
    "timing",
    [TIMING, TIMING | {"attack_ms": 0.5, "hold_ms": 5.0, "release_ms": 200.0, "range_db": 90.0}],
    ids=["default", "fast-open-slow-close"],
)
def test_gate_timing_follows_its_parameters_within_1_ms(timing):
    start_ms, stop_ms = 200.0, 500.0
    x = bursts((start_ms / 1000, stop_ms / 1000, -20.0))
    g = gain_db(x, **timing)
    floor = -timing["range_db"]
    np.testing.assert_allclose(g[: round(start_ms * MS)], floor, atol=1e-3)  # starts closed
    # opens at the burst and is fully open attack_ms later
    assert abs(first(g > floor + 1e-3) - start_ms) <= 1.0
    assert abs(first(g > -1e-3) - (start_ms + timing["attack_ms"])) <= 1.0
    # after the burst: held for hold_ms, then closes over release_ms
    after = g[round(stop_ms * MS) :]
    assert abs(first(after < -1e-3) - timing["hold_ms"]) <= 1.0
    closed = timing["hold_ms"] + timing["release_ms"]
    assert abs(first(after <= floor + 1e-3) - closed) <= 1.0
    np.testing.assert_allclose(g[round((stop_ms + closed + 2) * MS) :], floor, atol=1e-3)


def test_hysteresis_between_the_thresholds():
    # -43 dBFS sits between close (-46) and open (-40): it neither opens a closed gate ...
    x = bursts((0.1, 0.4, -43.0), (0.6, 0.7, -20.0), (0.7, 1.0, -43.0))
    g = gain_db(x, **TIMING)
    np.testing.assert_allclose(g[: round(0.6 * SR)], -60.0, atol=1e-3)
    # ... nor closes an open one: open from the loud burst on, through the -43 dBFS tail
    np.testing.assert_allclose(g[round(0.61 * SR) : round(1.0 * SR)], 0.0, atol=1e-3)
    assert g[-1] == pytest.approx(-60.0, abs=1e-3)


def test_range_sets_the_attenuation_of_the_closed_gate():
    x = bursts((0.5, 0.6, -20.0))
    for range_db in (6.0, 20.0, 80.0):
        g = gain_db(x, **(TIMING | {"range_db": range_db}))
        np.testing.assert_allclose(g[: round(0.4 * SR)], -range_db, atol=1e-3)


def test_block_size_invariance_on_bursts():
    x = bursts((0.01, 0.03, -20.0), (0.05, 0.06, -43.0), seconds=0.1)
    assert_block_invariant(Gate, Audio(x, SR), **(TIMING | {"hold_ms": 3.0, "release_ms": 5.0}))


def test_close_threshold_above_open_is_refused():
    error = validation_error(
        "effect.gate",
        upstream={"src": {"type": "source.tone", "duration_s": 0.1}},
        in_="src",
        open_dbfs=-40.0,
        close_dbfs=-30.0,
    )
    assert isinstance(error, ParamError) and error.port_or_param == "close_dbfs"
