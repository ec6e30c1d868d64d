"""Blocks are made ready for a file alike with or without numba: NaN to 0, clipping, interleaving."""

from __future__ import annotations

import numpy as np
import pytest

from nodes.sink._kernels import interleave_for_file
from nodes.sink.audio import _interleave_for_file


@pytest.mark.parametrize("prepare", [interleave_for_file, _interleave_for_file])
@pytest.mark.parametrize("clip", [True, False])
def test_prep_matches_numpy_reference(prepare, clip: bool) -> None:
    rng = np.random.default_rng(3)
    block = rng.uniform(-1.5, 1.5, (3, 1001)).astype(np.float32)
    block[1, 5], block[0, 7], block[2, 9] = np.nan, np.inf, -np.inf
    finite = np.isfinite(block)
    expected = np.where(finite, block, np.float32(0)).astype(np.float32)
    expected_clipped = int(np.sum(np.abs(expected) > 1)) if clip else 0
    if clip:
        expected = np.clip(expected, -1, 1)
    out = np.empty((1001, 3), dtype=np.float32)
    nonfinite, clipped = prepare(block, out, clip)
    np.testing.assert_array_equal(out, expected.T)
    assert (nonfinite, clipped) == (3, expected_clipped)
