"""feature.wavelet: band statistics of spectral.dwt against PyWavelets, numpy and scipy."""

from __future__ import annotations

import numpy as np
import pytest
import pywt
from node_harness import make_ctx, run_node, validation_error
from scipy.stats import entropy

import graphengine as ge
from graphengine.errors import ParamError
from graphengine.types import Audio
from nodes.feature.wavelet import WAVELET_STATS, wavelet_features
from nodes.spectral.wavelet import dwt

SR = 22050.0


def test_every_statistic_of_every_band_and_channel():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5000)) * np.array([[0.1], [0.5]])
    bands = run_node(dwt, make_ctx("spectral.dwt", SR), Audio(x, SR), wavelet="sym5", levels=4)
    out = run_node(wavelet_features, make_ctx("feature.wavelet"), bands, stats=list(WAVELET_STATS))
    values = dict(zip(out.names, out.values.astype(np.float64), strict=True))
    assert len(values) == 2 * 5 * len(WAVELET_STATS)
    for c in range(2):
        reference = pywt.wavedec(x[c].astype(np.float32).astype(np.float64), "sym5", level=4)
        energies = [np.sum(d**2) for d in reference]
        for name, d, energy in zip(
            ("a4", "d4", "d3", "d2", "d1"), reference, energies, strict=True
        ):
            key = f"ch{c}_wavelet_{name}_"
            assert values[key + "energy"] == pytest.approx(energy, rel=1e-6)
            assert values[key + "relative_energy"] == pytest.approx(
                energy / sum(energies), rel=1e-6
            )
            assert values[key + "rms"] == pytest.approx(np.sqrt(np.mean(d**2)), rel=1e-6)
            assert values[key + "mean_abs"] == pytest.approx(np.mean(np.abs(d)), rel=1e-6)
            assert values[key + "std"] == pytest.approx(np.std(d), rel=1e-6)
            assert values[key + "max_abs"] == pytest.approx(np.max(np.abs(d)), rel=1e-6)
            assert values[key + "entropy"] == pytest.approx(entropy(d**2, base=2), rel=1e-6)


def test_a_tone_puts_its_energy_in_its_octave_through_a_graph():
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.tone", frequency=4000.0, duration_s=0.5)  # d2: 2.8 .. 5.5 kHz
    g.add("bands", "spectral.dwt", in_="src", wavelet="db8", levels=5, mode="periodization")
    g.add("octaves", "feature.wavelet", in_="bands", stats=["relative_energy"])
    vector = g.run(outputs=["octaves"], cache=False)["octaves"]
    assert vector.names == tuple(
        f"wavelet_{b}_relative_energy" for b in ("a5", "d5", "d4", "d3", "d2", "d1")
    )
    assert vector.names[int(np.argmax(vector.values))] == "wavelet_d2_relative_energy"
    assert float(np.sum(vector.values)) == pytest.approx(1.0, abs=1e-6)


def test_a_spike_has_no_entropy_and_silence_no_relative_energy():
    x = np.zeros(1024)
    bands = run_node(dwt, make_ctx("spectral.dwt", SR), Audio(x, SR), wavelet="haar", levels=3)
    out = run_node(wavelet_features, make_ctx("x"), bands, stats=["relative_energy", "entropy"])
    assert np.all(out.values == 0)
    x[100] = 1.0
    bands = run_node(
        dwt, make_ctx("spectral.dwt", SR), Audio(x, SR), wavelet="haar", levels=1, mode="zero"
    )
    out = run_node(wavelet_features, make_ctx("x"), bands, stats=["entropy"])
    assert out.values.tolist() == [0.0, 0.0]  # one coefficient in each band


def test_no_statistics_is_refused():
    upstream = {
        "src": {"type": "source.tone", "duration_s": 0.1},
        "bands": {"type": "spectral.dwt", "in_": "src"},
    }
    error = validation_error("feature.wavelet", upstream=upstream, in_="bands", stats=[])
    assert isinstance(error, ParamError) and error.port_or_param == "stats"
    assert "no statistics" in error.message
