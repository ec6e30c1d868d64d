"""feature.chroma_cqt: chroma from spectral.cqt equal to librosa.feature.chroma_cqt."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from node_harness import make_ctx, run_node

from graphengine.errors import ParamError
from graphengine.types import Audio
from nodes.feature.chroma_cqt import chroma_cqt
from nodes.spectral.cqt import cqt

SR = 22050


def triad(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    notes = (130.81, 164.81, 196.0)  # C3 E3 G3
    return sum(0.2 * np.sin(2 * np.pi * f * t) for f in notes).astype(np.float32)


def test_chroma_cqt_equals_librosa_from_audio():
    y = triad()
    cq = run_node(
        cqt,
        make_ctx("spectral.cqt", SR),
        Audio(y, SR),
        bins_per_octave=36,
        n_bins=252,
        tuning=None,
    )
    out = run_node(chroma_cqt, make_ctx("feature.chroma_cqt", SR), cq)
    ref = librosa.feature.chroma_cqt(y=y, sr=SR)
    np.testing.assert_allclose(out.values[0], ref, rtol=1e-4, atol=1e-6)
    assert out.names[0] == "chroma_C" and out.frame_rate == SR / 512
    strongest = {out.names[k] for k in np.argsort(out.values[0].mean(axis=1))[-3:]}
    assert strongest == {"chroma_C", "chroma_E", "chroma_G"}


def test_chroma_cqt_options_equal_librosa_on_the_transform():
    y = triad()
    cq = run_node(cqt, make_ctx("spectral.cqt", SR), Audio(y, SR), bins_per_octave=24, n_bins=144)
    out = run_node(
        chroma_cqt, make_ctx("feature.chroma_cqt", SR), cq, n_chroma=24, norm="2", threshold=0.1
    )
    ref = librosa.feature.chroma_cqt(
        C=np.abs(cq.data[0]),
        sr=SR,
        bins_per_octave=24,
        n_chroma=24,
        norm=2,
        threshold=0.1,
        fmin=cq.fmin_hz,
    )
    np.testing.assert_allclose(out.values[0], ref, rtol=1e-4, atol=1e-6)
    with pytest.raises(ParamError, match="does not divide"):
        run_node(chroma_cqt, make_ctx("feature.chroma_cqt", SR), cq, n_chroma=36)
