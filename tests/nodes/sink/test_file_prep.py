"""Blocks are made ready for a file alike with or without numba: NaN to 0, clipping, PCM_16."""

from __future__ import annotations

import numpy as np
import pytest

from nodes.sink._kernels import interleave_for_file, interleave_pcm16
from nodes.sink.audio import _interleave_for_file, _interleave_pcm16


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


@pytest.mark.parametrize("prepare", [interleave_pcm16, _interleave_pcm16])
def test_pcm16_integers_are_what_libsndfile_writes(prepare, tmp_path) -> None:
    import soundfile

    rng = np.random.default_rng(5)
    ticks = np.arange(-32768, 32768, dtype=np.float32)
    values = np.concatenate(
        [
            ticks / 32767,  # every integer step, and the ones just beyond full scale
            (ticks + 0.5) / 32767,  # the half-way points, where rounding decides
            np.nextafter((ticks + 0.5) / 32767, np.float32(2)),
            ticks / 32768,  # the file's own steps, and the floats either side of them
            np.nextafter(ticks / 32768, np.float32(2)),
            np.nextafter(ticks / 32768, np.float32(-2)),
            (ticks + np.float32(0.5**16)) / 32768,  # beyond 16 bits: libsndfile rounds to 32
            (ticks - np.float32(0.5**17)) / 32768,
            rng.uniform(-1.2, 1.2, 60000).astype(np.float32),
            np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype=np.float32),
        ]
    ).astype(np.float32)
    values = values[: values.size // 2 * 2]
    block = np.ascontiguousarray(values.reshape(2, -1))
    out = np.empty((block.shape[1], 2), dtype=np.int16)
    nonfinite, clipped = prepare(block, out)
    ready = np.empty_like(out, dtype=np.float32)
    interleave_for_file(block, ready, True)
    soundfile.write(tmp_path / "ref.wav", ready, 44100, subtype="PCM_16")
    reference, _ = soundfile.read(tmp_path / "ref.wav", dtype="int16")
    np.testing.assert_array_equal(out, reference)
    finite = np.isfinite(block)
    assert nonfinite == 3
    assert clipped == int(np.sum(np.abs(block[finite]) > 1))
