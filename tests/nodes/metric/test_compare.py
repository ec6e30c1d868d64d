"""metric.*: distances between a test signal and its reference, against direct formulas."""

from __future__ import annotations

import numpy as np
import pytest
from node_harness import infer_node, make_ctx, run_node

from graphengine.errors import PortError
from graphengine.node import PortInfo
from graphengine.types import Audio
from nodes.metric import compare as metrics

SR = 22050


def test_metrics_against_direct_formulas():
    rng = np.random.default_rng(3)
    ref = Audio(rng.standard_normal((2, 5000)).astype(np.float32) * 0.3, SR)
    noise = rng.standard_normal((2, 5000)).astype(np.float32) * 0.03
    test = Audio(ref.samples + noise, SR)
    r, t = ref.samples.astype(np.float64), test.samples.astype(np.float64)
    ctx = make_ctx("metric.mse", SR)
    assert run_node(metrics.mse, ctx, ref, test).values[0] == pytest.approx(np.mean((t - r) ** 2))
    corr = run_node(metrics.correlation, ctx, ref, test)
    assert corr.names == ("correlation",)
    assert corr.values[0] == pytest.approx(np.corrcoef(r.ravel(), t.ravel())[0, 1], rel=1e-6)
    snr = run_node(metrics.snr, ctx, ref, test).values[0]
    assert snr == pytest.approx(10 * np.log10(np.sum(r**2) / np.sum((t - r) ** 2)), rel=1e-5)
    assert 19 < snr < 21
    assert run_node(metrics.lsd, ctx, ref, ref).values[0] == 0.0
    assert run_node(metrics.lsd, ctx, ref, test).values[0] > 0.1
    with pytest.raises(PortError, match="differs"):
        infer_node(
            metrics.mse,
            ctx,
            {"ref": PortInfo("audio", (1, 10)), "test": PortInfo("audio", (1, 11))},
        )
