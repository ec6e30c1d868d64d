"""effect.gain and mix."""

from __future__ import annotations

import math

import numpy as np
import pytest
from node_harness import infer_node, info, make_ctx, noise_audio, run_node

from graphengine.errors import ParamError, PortError
from graphengine.node import PortInfo
from graphengine.types import Audio
from nodes.effect.gain import gain
from nodes.signal.mix import mix

SR = 44100.0


# --------------------------------------------------------------------------- gain


@pytest.mark.parametrize("gain_db", [-120.0, -60.0, -6.0, 0.0, 3.5, 24.0])
def test_gain_is_exact_in_db(gain_db):
    audio = noise_audio(2, 1000)
    out = run_node(gain, make_ctx("effect.gain"), audio, gain_db=gain_db)
    assert out.samples.dtype == np.float32 and out.samples.shape == (2, 1000)
    assert out.sample_rate == SR
    ratio = np.linalg.norm(out.samples.astype(np.float64)) / np.linalg.norm(audio.samples)
    assert 20 * math.log10(ratio) == pytest.approx(gain_db, abs=1e-5)
    np.testing.assert_allclose(out.samples, audio.samples * 10 ** (gain_db / 20), rtol=1e-6)


def test_gain_of_minus_6_02_db_halves_the_amplitude():
    audio = Audio(np.array([[0.8, -0.4, 0.0]], dtype=np.float32), SR)
    out = run_node(gain, make_ctx("effect.gain"), audio, gain_db=20 * math.log10(0.5))
    np.testing.assert_allclose(out.samples, [[0.4, -0.2, 0.0]], rtol=1e-6)


def test_gain_infer_passes_the_input_through():
    ctx = make_ctx("effect.gain")
    known = PortInfo("audio", (3, 500), sample_rate=48000.0)
    assert infer_node(gain, ctx, {"in": known})["out"] == PortInfo("audio", (3, 500), 48000.0, 4)
    unknown = PortInfo("audio", None, sample_rate=SR)
    assert infer_node(gain, ctx, {"in": unknown})["out"].shape is None


# --------------------------------------------------------------------------- mix


def test_mix_sums_and_pads_shorter_inputs():
    a, b = noise_audio(2, 1000, 1), noise_audio(2, 600, 2)
    ctx = make_ctx("mix")
    out = run_node(mix, ctx, [a, b])
    assert out.samples.shape == (2, 1000) and out.sample_rate == SR
    expected = a.samples.copy()
    expected[:, :600] += b.samples
    np.testing.assert_allclose(out.samples, expected, atol=1e-7)
    assert infer_node(mix, ctx, {"in": [info(a), info(b)]})["out"].shape == (2, 1000)


def test_mix_broadcasts_mono_to_every_channel():
    mono, stereo = noise_audio(1, 800, 3), noise_audio(2, 500, 4)
    ctx = make_ctx("mix")
    out = run_node(mix, ctx, [mono, stereo])
    assert out.samples.shape == (2, 800)
    expected = np.repeat(mono.samples, 2, axis=0)
    expected[:, :500] += stereo.samples
    np.testing.assert_allclose(out.samples, expected, atol=1e-7)
    assert infer_node(mix, ctx, {"in": [info(mono), info(stereo)]})["out"].shape == (2, 800)


def test_mix_applies_linear_gains_in_input_order():
    a, b, c = noise_audio(1, 300, 5), noise_audio(1, 300, 6), noise_audio(1, 300, 7)
    out = run_node(mix, make_ctx("mix"), [a, b, c], gains=[1.0, 0.5, -2.0])
    expected = a.samples + 0.5 * b.samples - 2.0 * c.samples
    np.testing.assert_allclose(out.samples, expected, atol=1e-6)


def test_mix_of_one_input_is_that_input():
    a = noise_audio(3, 100)
    np.testing.assert_array_equal(run_node(mix, make_ctx("mix"), [a]).samples, a.samples)


def test_mix_gains_must_match_the_inputs():
    a, b = noise_audio(1, 10), noise_audio(1, 10)
    ctx = make_ctx("mix", node_id="bus")
    with pytest.raises(ParamError, match="3 gains for 2 inputs") as caught:
        infer_node(mix, ctx, {"in": [info(a), info(b)]}, gains=[1.0, 1.0, 1.0])
    assert caught.value.port_or_param == "gains" and caught.value.node_id == "bus"
    with pytest.raises(ParamError, match="1 gains for 2 inputs"):
        run_node(mix, ctx, [a, b], gains=[0.5])


def test_mix_rejects_channel_counts_other_than_mono_or_the_widest():
    stereo, surround = noise_audio(2, 10), noise_audio(3, 10)
    ctx = make_ctx("mix")
    with pytest.raises(PortError, match="input 1 has 2 channels but another has 3") as caught:
        infer_node(mix, ctx, {"in": [info(stereo), info(surround)]})
    assert caught.value.port_or_param == "in"
    with pytest.raises(PortError, match="only mono inputs"):
        run_node(mix, ctx, [stereo, surround])


def test_mix_rejects_different_sample_rates():
    a, b = noise_audio(1, 10, rate=44100.0), noise_audio(1, 10, rate=48000.0)
    ctx = make_ctx("mix")
    with pytest.raises(PortError, match=r"different sample rates \(44100, 48000 Hz\)") as caught:
        infer_node(mix, ctx, {"in": [info(a), info(b)]})
    assert caught.value.port_or_param == "in"
    with pytest.raises(PortError, match="different sample rates"):
        run_node(mix, ctx, [a, b])


def test_mix_needs_an_input():
    with pytest.raises(PortError, match="at least one input"):
        infer_node(mix, make_ctx("mix"), {"in": []})


def test_mix_infer_with_unknown_shapes():
    ctx = make_ctx("mix")
    unknown = PortInfo("audio", None, sample_rate=SR)
    out = infer_node(mix, ctx, {"in": [unknown, PortInfo("audio", (2, 50), SR)]})["out"]
    assert out.shape is None and out.sample_rate == SR and out.type == "audio"
    # the rates are known, so they are still checked
    with pytest.raises(PortError, match="different sample rates"):
        infer_node(mix, ctx, {"in": [unknown, PortInfo("audio", (2, 50), 48000.0)]})
