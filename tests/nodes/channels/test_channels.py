"""effect.pan, channels.mono/split/merge, effect.fade, and a mixed chain in blocks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from stream_harness import BLOCK_SIZES, SR, ctx_for, in_blocks, noise, params_for, whole

from graphengine.errors import ParamError, PortError
from graphengine.node import PortInfo
from graphengine.types import Audio
from nodes.channels.remix import Merge, Mono, Split
from nodes.effect.delay import Delay, Echo
from nodes.effect.dynamics import Bitcrush, Compressor, DCBlock, Distortion
from nodes.effect.fade import Fade
from nodes.effect.pan import Pan
from nodes.filter.iir import Biquad, Butterworth


def infer(cls: type, *shapes: tuple[int, int], **given) -> PortInfo:
    ports = [PortInfo("audio", shape, SR) for shape in shapes]
    port = ports if cls is Merge else ports[0]
    return cls.spec.infer({"in": port}, params_for(cls, **given), ctx_for(cls))["out"]


# --------------------------------------------------------------------------- invariance


@pytest.mark.parametrize(
    ("cls", "channels", "given"),
    [
        (Pan, 1, {"pan": 0.3}),
        (Pan, 2, {"pan": -0.8}),
        (Mono, 3, {}),
        (Split, 3, {"channels": [2, 0, 2]}),
        (Fade, 2, {"fade_in_s": 0.01, "fade_out_s": 0.02}),
        (Fade, 1, {"fade_in_s": 0.03, "fade_out_s": 0.03, "curve": "equal_power"}),
    ],
    ids=["pan-mono", "pan-stereo", "mono", "split", "fade", "fade-overlap"],
)
def test_block_size_invariance(cls, channels, given):
    audio = noise(channels=channels)
    reference = whole(cls, audio, **given)
    assert reference.shape == infer(cls, audio.samples.shape, **given).shape
    for block_size in BLOCK_SIZES:
        blocks = in_blocks(cls, [audio], reference.shape, block_size, **given)
        np.testing.assert_allclose(blocks, reference, atol=1e-6, err_msg=f"block {block_size}")


def test_merge_block_size_invariance():
    inputs = [noise(2, 2000, 1), noise(1, 1500, 2), noise(1, 1800, 3)]
    reference = whole(Merge, inputs)
    assert reference.shape == (4, 2000)
    for block_size in BLOCK_SIZES:
        blocks = in_blocks(Merge, inputs, reference.shape, block_size)
        np.testing.assert_allclose(blocks, reference, atol=1e-6, err_msg=f"block {block_size}")


# --------------------------------------------------------------------------- pan


@pytest.mark.parametrize("pan", [-1.0, -0.5, 0.0, 0.25, 1.0])
def test_pan_of_mono_keeps_constant_power(pan):
    audio = noise(channels=1)
    out = whole(Pan, audio, pan=pan).astype(np.float64)
    assert out.shape == (2, 2000)
    x = audio.samples[0].astype(np.float64)
    np.testing.assert_allclose(out[0] ** 2 + out[1] ** 2, x**2, atol=1e-6)
    theta = (pan + 1) * math.pi / 4
    np.testing.assert_allclose(out, [math.cos(theta) * x, math.sin(theta) * x], atol=1e-6)


def test_pan_ends_and_centre():
    mono = noise(channels=1)
    centre = whole(Pan, mono, pan=0.0)
    np.testing.assert_allclose(centre, np.repeat(mono.samples, 2, 0) / math.sqrt(2), atol=1e-7)
    assert not whole(Pan, mono, pan=-1.0)[1].any()
    stereo = noise(channels=2)
    np.testing.assert_allclose(whole(Pan, stereo, pan=0.0), stereo.samples, atol=1e-7)
    right = whole(Pan, stereo, pan=1.0)
    assert not right[0].any()
    np.testing.assert_allclose(right[1], math.sqrt(2) * stereo.samples[1], atol=1e-6)


def test_pan_refuses_more_than_two_channels():
    with pytest.raises(PortError, match=r"in.*pans mono or stereo audio, got 3 channels"):
        infer(Pan, (3, 100))


# --------------------------------------------------------------------------- mono, split, merge


def test_mono_is_the_channel_mean():
    audio = noise(channels=3)
    out = whole(Mono, audio)
    assert out.shape == (1, 2000)
    np.testing.assert_allclose(out[0], audio.samples.astype(np.float64).mean(axis=0), atol=1e-7)
    assert infer(Mono, (3, 2000)).shape == (1, 2000)


def test_split_picks_channels_in_order():
    audio = noise(channels=3)
    np.testing.assert_array_equal(whole(Split, audio, channels=[1]), audio.samples[1:2])
    np.testing.assert_array_equal(whole(Split, audio, channels=[2, 0]), audio.samples[[2, 0]])
    assert infer(Split, (3, 2000), channels=[0, 0, 1, 2]).shape == (4, 2000)


def test_split_checks_its_channel_list():
    with pytest.raises(ParamError, match=r"channels.*channel 2 does not exist: the input has 2"):
        infer(Split, (2, 100), channels=[0, 2])
    with pytest.raises(ParamError, match=r"channels.*lists no channels"):
        infer(Split, (2, 100), channels=[])


def test_merge_stacks_channels_and_pads_shorter_inputs():
    left, right = noise(1, 1000, 1), noise(1, 600, 2)
    out = whole(Merge, [left, right])
    assert out.shape == (2, 1000) == infer(Merge, (1, 1000), (1, 600)).shape
    np.testing.assert_array_equal(out[0], left.samples[0])
    np.testing.assert_array_equal(out[1, :600], right.samples[0])
    assert not out[1, 600:].any()


def test_split_then_merge_restores_the_signal():
    audio = noise(channels=2)
    parts = [Audio(whole(Split, audio, channels=[c]), SR) for c in (0, 1)]
    np.testing.assert_array_equal(whole(Merge, parts), audio.samples)


# --------------------------------------------------------------------------- fade


def test_linear_fade_ramps():
    ones = Audio(np.ones((2, 1000), np.float32), SR)
    out = whole(Fade, ones, fade_in_s=100 / SR, fade_out_s=200 / SR)
    np.testing.assert_allclose(out[:, :100], np.tile(np.arange(100) / 100, (2, 1)), atol=1e-7)
    np.testing.assert_array_equal(out[:, 100:800], 1.0)
    np.testing.assert_allclose(
        out[:, 800:], np.tile(np.arange(200, 0, -1) / 200, (2, 1)), atol=1e-7
    )


def test_equal_power_fades_cross_at_constant_power():
    n = 441
    ones = Audio(np.ones((1, n), np.float32), SR)
    fade_in = whole(Fade, ones, fade_in_s=n / SR, curve="equal_power")[0].astype(np.float64)
    fade_out = whole(Fade, ones, fade_out_s=n / SR, curve="equal_power")[0].astype(np.float64)
    np.testing.assert_allclose(fade_in, np.sin(np.arange(n) / n * np.pi / 2), atol=1e-7)
    np.testing.assert_allclose(fade_in**2 + fade_out**2, 1.0, atol=1e-6)
    linear_in = whole(Fade, ones, fade_in_s=n / SR)[0].astype(np.float64)
    linear_out = whole(Fade, ones, fade_out_s=n / SR)[0].astype(np.float64)
    np.testing.assert_allclose(linear_in + linear_out, 1.0, atol=1e-6)


def test_fade_out_follows_the_output_length_in_blocks():
    audio = noise(channels=1, frames=5000)
    ref = whole(Fade, audio, fade_out_s=0.05)
    assert not np.array_equal(ref[:, -2205:], audio.samples[:, -2205:])
    np.testing.assert_array_equal(ref[:, :-2205], audio.samples[:, :-2205])
    blocks = in_blocks(Fade, [audio], ref.shape, 1000, fade_out_s=0.05)
    np.testing.assert_allclose(blocks, ref, atol=1e-7)


# --------------------------------------------------------------------------- mixed chain


CHAIN = [
    (DCBlock, {"cutoff_hz": 15.0}),
    (Biquad, {"mode": "lowpass", "cutoff_hz": 3000.0}),
    (Butterworth, {"mode": "highpass", "order": 3, "cutoff_hz": 120.0}),
    (Compressor, {"threshold_db": -24.0, "ratio": 3.0, "attack_ms": 0.3, "release_ms": 10.0}),
    (Distortion, {"drive_db": 6.0}),
    (Delay, {"time_ms": 2.0, "feedback": 0.6, "tail_s": 0.005}),
    (Echo, {"time_ms": 1.5, "decay": 0.5, "repeats": 2}),
    (Bitcrush, {"bits": 14, "downsample": 2}),
    (Mono, {}),
    (Pan, {"pan": 0.4}),
    (Split, {"channels": [1, 0]}),
    (Fade, {"fade_in_s": 0.005, "fade_out_s": 0.01, "curve": "equal_power"}),
]


def test_mixed_chain_is_block_size_invariant():
    source = noise(channels=2, frames=3000, seed=9)
    signal = source
    for cls, given in CHAIN:
        signal = Audio(whole(cls, signal, **given), SR)
    reference = signal.samples
    assert reference.shape == (2, 3000 + round(0.005 * SR) + 2 * round(1.5e-3 * SR))
    assert np.abs(reference).max() > 0.01
    for block_size in BLOCK_SIZES:
        signal = source
        for cls, given in CHAIN:
            shape = infer(cls, signal.samples.shape, **given).shape
            signal = Audio(in_blocks(cls, [signal], shape, block_size, **given), SR)
        np.testing.assert_allclose(signal.samples, reference, atol=1e-6, err_msg=f"{block_size}")
