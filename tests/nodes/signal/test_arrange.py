"""effect.reverse, layer, concat, trim, split, effect.normalize: exact lengths and positions."""

from __future__ import annotations

import numpy as np
import pytest
from node_harness import infer_node, info, make_ctx, noise_audio, run_node

from graphengine.errors import ParamError, PortError
from graphengine.types import Audio
from nodes.effect.normalize import normalize
from nodes.effect.reverse import reverse
from nodes.signal.arrange import chunk_bounds, concat, layer, split, trim

SR = 44100.0


def test_reverse_twice_is_the_identity_exactly():
    a = noise_audio(2, 12345)
    once = run_node(reverse, make_ctx("effect.reverse"), a)
    np.testing.assert_array_equal(once.samples[:, 0], a.samples[:, -1])
    np.testing.assert_array_equal(once.samples[:, -1], a.samples[:, 0])
    twice = run_node(reverse, make_ctx("effect.reverse"), once)
    np.testing.assert_array_equal(twice.samples, a.samples)


def test_layer_places_inputs_at_exact_frames_with_gains():
    a, b = noise_audio(1, 1000, 1), noise_audio(2, 500, 2)
    ctx = make_ctx("signal.layer")
    out = run_node(layer, ctx, [a, b], offsets_s=[0.0, 1200 / SR], gains=[1.0, -0.5])
    assert out.samples.shape == (2, 1700)
    expected = np.zeros((2, 1700), np.float32)
    expected[:, :1000] += a.samples
    expected[:, 1200:1700] -= 0.5 * b.samples
    np.testing.assert_allclose(out.samples, expected, atol=1e-7)
    assert infer_node(layer, ctx, {"in": [info(a), info(b)]}, offsets_s=[0.0, 1200 / SR])[
        "out"
    ].shape == (2, 1700)


def test_layer_checks_lists_rates_and_channels():
    ctx = make_ctx("signal.layer", node_id="stack")
    a, b = info(noise_audio(1, 10)), info(noise_audio(1, 10))
    with pytest.raises(ParamError, match="3 values for 2 inputs") as caught:
        infer_node(layer, ctx, {"in": [a, b]}, offsets_s=[0.0, 0.1, 0.2])
    assert caught.value.port_or_param == "offsets_s" and caught.value.node_id == "stack"
    with pytest.raises(PortError, match="different sample rates"):
        infer_node(layer, ctx, {"in": [a, info(noise_audio(1, 10, rate=48000.0))]})
    with pytest.raises(PortError, match="2 channels but another has 3"):
        infer_node(layer, ctx, {"in": [info(noise_audio(2, 10)), info(noise_audio(3, 10))]})


def test_split_then_concat_reproduces_the_input():
    a = noise_audio(2, 10_001)
    chunk_s = 2500 / SR
    ctx = make_ctx("signal.split")
    pieces = [run_node(split, ctx, a, chunk_s=chunk_s, index=i) for i in range(5)]
    assert [p.frames for p in pieces] == [2500, 2500, 2500, 2500, 1]
    assert [(s, e) for s, e in chunk_bounds(10_001, 2500)] == [
        (0, 2500),
        (2500, 5000),
        (5000, 7500),
        (7500, 10_000),
        (10_000, 10_001),
    ]
    np.testing.assert_array_equal(pieces[1].samples, a.samples[:, 2500:5000])
    joined = run_node(concat, make_ctx("signal.concat"), pieces)
    np.testing.assert_array_equal(joined.samples, a.samples)
    assert infer_node(split, ctx, {"in": info(a)}, chunk_s=chunk_s, index=4)["out"].shape == (2, 1)
    padded = run_node(split, ctx, a, chunk_s=chunk_s, index=4, pad=True)
    assert padded.frames == 2500 and np.all(padded.samples[:, 1:] == 0)


def test_split_index_past_the_end_says_how_many_chunks():
    a = info(noise_audio(1, 100))
    with pytest.raises(ParamError, match=r"makes 4 \(indices 0 to 3\)") as caught:
        infer_node(split, make_ctx("signal.split"), {"in": a}, chunk_s=25 / SR, index=4)
    assert caught.value.port_or_param == "index"


def test_concat_crossfade_lengths_and_gains():
    ones = Audio(np.ones((1, 1000), np.float32), SR)
    fade_ms = 100 / SR * 1000
    ctx = make_ctx("signal.concat")
    out = run_node(concat, ctx, [ones, ones, ones], crossfade_ms=fade_ms, curve="linear")
    assert out.frames == 3000 - 2 * 100
    np.testing.assert_allclose(out.samples, 1.0, atol=1e-6)  # linear fades sum to 1
    power = run_node(concat, ctx, [ones, ones], crossfade_ms=fade_ms)
    middle = power.samples[0, 900:1000]
    assert np.all(middle >= 1.0 - 1e-6) and middle.max() == pytest.approx(np.sqrt(2), abs=0.01)
    with pytest.raises(ParamError, match="longer than the shortest input"):
        inputs = {"in": [info(ones), info(noise_audio(1, 50))]}
        infer_node(concat, ctx, inputs, crossfade_ms=fade_ms)


def test_trim_keeps_exact_frames():
    a = noise_audio(2, 44100)
    ctx = make_ctx("signal.trim")
    out = run_node(trim, ctx, a, start_s=0.25, duration_s=0.5)
    np.testing.assert_array_equal(out.samples, a.samples[:, 11025:33075])
    out = run_node(trim, ctx, a, start_s=0.5, end_s=0.75)
    np.testing.assert_array_equal(out.samples, a.samples[:, 22050:33075])
    assert run_node(trim, ctx, a, start_s=0.9, duration_s=5.0).frames == 44100 - 39690
    assert infer_node(trim, ctx, {"in": info(a)}, start_s=0.25)["out"].shape == (2, 33075)
    with pytest.raises(ParamError, match="not both"):
        infer_node(trim, ctx, {"in": info(a)}, end_s=0.5, duration_s=0.5)
    with pytest.raises(ParamError, match="at or after the end") as caught:
        infer_node(trim, ctx, {"in": info(a)}, start_s=1.0)
    assert caught.value.port_or_param == "start_s"
    with pytest.raises(ParamError, match="not after start_s"):
        infer_node(trim, ctx, {"in": info(a)}, start_s=0.5, end_s=0.5)


@pytest.mark.parametrize("mode", ["peak", "rms"])
def test_normalize_reaches_the_target(mode):
    a = Audio(noise_audio(2, 5000).samples * np.array([[1.0], [0.25]], np.float32), SR)
    ctx = make_ctx("effect.normalize")
    out = run_node(normalize, ctx, a, mode=mode, target_dbfs=-6.0).samples.astype(np.float64)
    level = np.abs(out).max() if mode == "peak" else np.sqrt(np.mean(out**2))
    assert 20 * np.log10(level) == pytest.approx(-6.0, abs=1e-4)
    ratio = np.abs(out[1]).max() / np.abs(out[0]).max()
    assert ratio == pytest.approx(np.abs(a.samples[1]).max() / np.abs(a.samples[0]).max(), 1e-5)
    unlinked = run_node(normalize, ctx, a, mode=mode, target_dbfs=-6.0, linked=False).samples
    for row in unlinked.astype(np.float64):
        level = np.abs(row).max() if mode == "peak" else np.sqrt(np.mean(row**2))
        assert 20 * np.log10(level) == pytest.approx(-6.0, abs=1e-4)


def test_normalize_passes_silence_through_with_a_warning():
    ctx = make_ctx("effect.normalize")
    silent = Audio(np.zeros((1, 10), np.float32), SR)
    np.testing.assert_array_equal(run_node(normalize, ctx, silent).samples, silent.samples)
    assert any("silent" in w for w in ctx.warnings)
