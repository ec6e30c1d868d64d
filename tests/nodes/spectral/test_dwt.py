"""spectral.dwt and spectral.idwt against PyWavelets, hand-computed Haar sums and Parseval."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pywt
from node_harness import infer_node, make_ctx, run_node, validation_error

import graphengine as ge
from graphengine.errors import ParamError, PortError
from graphengine.node import PortInfo
from graphengine.types import Audio, Subbands
from nodes.spectral import wavelet as wavelets
from nodes.spectral.wavelet import MODES, dwt, idwt

SR = 44100.0
WAVELETS = ("haar", "db1", "db2", "db4", "db20", "db38", "sym2", "sym8", "sym20", "coif1", "coif5")


def signal(channels: int, frames: int, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio(rng.uniform(-0.5, 0.5, (channels, frames)).astype(np.float32), SR)


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("mode", MODES)
def test_coefficients_equal_pywavelets_and_idwt_reconstructs(wavelet, mode):
    audio = signal(2, 3001)  # odd: every mode has to handle an odd level
    levels = min(4, pywt.dwt_max_level(3001, pywt.Wavelet(wavelet).dec_len))
    bands = run_node(
        dwt, make_ctx("spectral.dwt"), audio, wavelet=wavelet, levels=levels, mode=mode
    )
    for c in range(2):
        expected = pywt.wavedec(audio.samples[c].astype(np.float64), wavelet, mode, levels)
        assert len(bands.bands) == len(expected) == levels + 1
        for ours, theirs in zip(bands.bands, expected, strict=True):
            np.testing.assert_array_equal(ours[c], theirs)
    assert bands.names == (f"a{levels}", *(f"d{j}" for j in range(levels, 0, -1)))
    back = run_node(idwt, make_ctx("spectral.idwt"), bands)
    assert back.samples.shape == audio.samples.shape and back.sample_rate == SR
    assert np.max(np.abs(back.samples - audio.samples)) <= 1e-6


def test_haar_periodization_is_the_pairwise_sum_and_difference():
    x = signal(1, 1024).samples[0].astype(np.float64)
    bands = run_node(
        dwt, make_ctx("spectral.dwt"), Audio(x, SR), wavelet="haar", levels=2, mode="periodization"
    )
    a1 = (x[0::2] + x[1::2]) / math.sqrt(2)
    d1 = (x[0::2] - x[1::2]) / math.sqrt(2)
    a2 = (a1[0::2] + a1[1::2]) / math.sqrt(2)
    d2 = (a1[0::2] - a1[1::2]) / math.sqrt(2)
    for name, expected in (("a2", a2), ("d2", d2), ("d1", d1)):
        np.testing.assert_allclose(bands.band(name)[0], expected, atol=1e-7)
    assert bands.rates == (SR / 4, SR / 4, SR / 2)


def test_periodization_keeps_energy_and_the_bands_find_the_octave():
    t = np.arange(8192) / SR
    tone = Audio(np.sin(2 * np.pi * 8000 * t), SR)  # in d2: 5.5 .. 11 kHz
    bands = run_node(dwt, make_ctx("spectral.dwt"), tone, wavelet="sym8", mode="periodization")
    energies = [float(np.sum(b**2)) for b in bands.bands]
    assert sum(energies) == pytest.approx(float(np.sum(tone.samples.astype(np.float64) ** 2)))
    assert bands.names[int(np.argmax(energies))] == "d2"


def test_levels_zero_takes_the_most_and_too_many_are_refused():
    ctx = make_ctx("spectral.dwt", node_id="w")
    bands = run_node(dwt, ctx, signal(1, 1000), wavelet="db4", levels=0)
    assert len(bands.bands) - 1 == pywt.dwt_max_level(1000, 8) == 7
    with pytest.raises(ParamError, match="8 levels of db4 need at least 1792 samples") as caught:
        infer_node(dwt, ctx, {"in": PortInfo("audio", (1, 1000), SR)}, wavelet="db4", levels=8)
    assert caught.value.port_or_param == "levels" and caught.value.node_id == "w"
    with pytest.raises(ParamError, match="too short for even one level"):
        run_node(dwt, ctx, signal(1, 50), wavelet="db38")
    error = validation_error(
        "spectral.dwt", upstream={"src": {"type": "source.tone"}}, in_="src", wavelet="db39"
    )
    assert isinstance(error, ParamError) and error.port_or_param == "wavelet"


def test_idwt_keeps_named_bands_and_the_parts_add_up():
    audio = signal(1, 4000)
    bands = run_node(dwt, make_ctx("spectral.dwt"), audio, wavelet="db4", levels=3)
    parts = [
        run_node(idwt, make_ctx("spectral.idwt"), bands, bands=[name]).samples.astype(np.float64)
        for name in bands.names
    ]
    np.testing.assert_allclose(sum(parts), audio.samples, atol=1e-6)
    ctx = make_ctx("spectral.idwt", node_id="back")
    with pytest.raises(ParamError, match="no band d4; the input has a3, d3, d2, d1"):
        run_node(idwt, ctx, bands, bands=["d4"])
    with pytest.raises(ParamError, match="'x1' is not a band name"):
        infer_node(idwt, ctx, {}, bands=["x1"])
    other = Subbands(bands.bands, bands.names, bands.rates, 4000, SR, {"kind": "filterbank"})
    with pytest.raises(PortError, match=r"expects the subbands of spectral\.dwt"):
        run_node(idwt, ctx, other)


def test_band_lengths_and_levels_match_pywavelets_without_importing_it():
    for wavelet in wavelets.WAVELETS:
        taps = pywt.Wavelet(wavelet).dec_len
        assert wavelets.filter_length(wavelet) == taps
        for n in (7, 100, 4411):
            assert wavelets.max_levels(n, wavelet) == pywt.dwt_max_level(n, taps)
            most = wavelets.max_levels(n, wavelet)
            for mode in ("symmetric", "periodization"):
                if most:
                    lengths = [len(b) for b in pywt.wavedec(np.zeros(n), wavelet, mode, most)]
                    assert wavelets.band_lengths(n, wavelet, mode, most) == lengths


def test_subbands_flow_through_a_graph_and_its_disk_cache(tmp_path):
    g = ge.Graph(sample_rate=22050)
    g.add("src", "source.noise", duration_s=0.5, seed=3)
    g.add("bands", "spectral.dwt", in_="src", wavelet="coif2", levels=6)
    g.add("back", "spectral.idwt", in_="bands")
    first = g.run(outputs=["src", "bands", "back"], cache=tmp_path)
    again = g.run(outputs=["bands", "back"], cache=tmp_path)
    assert again.computed == []
    assert isinstance(again["bands"], Subbands) and again["bands"].transform["wavelet"] == "coif2"
    for ours, cached in zip(first["bands"].bands, again["bands"].bands, strict=True):
        np.testing.assert_array_equal(ours, cached)
    np.testing.assert_array_equal(first["back"].samples, again["back"].samples)
    assert np.max(np.abs(first["back"].samples - first["src"].samples)) <= 1e-6
    assert "7 bands a6 d6 d5 d4 d3 d2 d1" in repr(first["bands"])


def test_subbands_refuse_inconsistent_parts():
    band = np.zeros((2, 10))
    with pytest.raises(ValueError, match="differ in channels"):
        Subbands((band, np.zeros((1, 5))), ("a1", "d1"), (1.0, 1.0), 20, SR, {"kind": "dwt"})
    with pytest.raises(ValueError, match="need as many names and rates"):
        Subbands((band,), ("a1", "d1"), (1.0,), 20, SR, {"kind": "dwt"})
    with pytest.raises(ValueError, match="must name its kind"):
        Subbands((band,), ("a1",), (1.0,), 20, SR, {})
