"""The mel filter bank is librosa's, bit for bit, computed without importing librosa."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
from librosa.filters import mel

from nodes.spectral.stft import mel_basis


def test_mel_basis_is_librosa_filters_mel_exactly() -> None:
    grid = [
        (8000, 64, 40, 0.0, None),  # empty filters
        (22050, 2048, 128, 0.0, None),
        (48000.0, 512, 13, 1500.0, 3000.0),  # all above Slaney's 1 kHz knee
        (16000, 1024, 1, 20.0, 900.0),  # all below it
    ]
    for (rate, n_fft, n_mels, fmin, fmax), htk, norm in itertools.product(
        grid, [False, True], ["slaney", "none"]
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # empty filters at small n_fft
            expected = mel(
                sr=rate,
                n_fft=n_fft,
                n_mels=n_mels,
                fmin=fmin,
                fmax=fmax,
                htk=htk,
                norm="slaney" if norm == "slaney" else None,
                dtype=np.float32,
            )
        got = mel_basis(rate, n_fft, n_mels, fmin, fmax, htk, norm)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, expected)
