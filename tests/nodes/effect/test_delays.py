"""effect.delay and effect.echo: taps at exact samples, tails, block-size invariance."""

from __future__ import annotations

import numpy as np
import pytest
from stream_harness import (
    SR,
    assert_block_invariant,
    ctx_for,
    feedback_comb,
    noise,
    params_for,
    whole,
)

from graphengine.node import PortInfo
from graphengine.types import Audio
from nodes.effect.delay import Delay, Echo


def impulse(frames: int, at: int = 0, channels: int = 1, rate: float = SR) -> Audio:
    x = np.zeros((channels, frames), np.float32)
    x[:, at] = 1.0
    return Audio(x, rate)


@pytest.mark.parametrize(
    ("cls", "given"),
    [
        (Delay, {"time_ms": 3.0, "feedback": 0.7, "mix": 0.4}),
        (Delay, {"time_ms": 0.1, "feedback": -0.9, "mix": 1.0, "tail_s": 0.02}),
        (Echo, {"time_ms": 5.0, "decay": 0.6, "repeats": 4}),
        (Echo, {"time_ms": 1.0, "decay": 1.0, "repeats": 1}),
    ],
    ids=["delay", "delay-tail", "echo", "echo-1"],
)
def test_block_size_invariance(cls, given):
    assert_block_invariant(cls, noise(), **given)


# --------------------------------------------------------------------------- delay


def test_delay_impulse_taps_land_on_exact_samples():
    spacing = 441  # 10 ms at 44.1 kHz
    out = whole(Delay, impulse(3000, at=17), time_ms=10.0, feedback=0.5, mix=0.25)[0]
    taps = np.nonzero(out)[0]
    np.testing.assert_array_equal(taps, [17 + k * spacing for k in range(7)])
    expected = [0.75] + [0.25 * 0.5 ** (k - 1) for k in range(1, 7)]
    np.testing.assert_allclose(out[taps], expected, rtol=1e-6)


def test_delay_matches_scipy_lfilter_of_its_transfer_function():
    audio, spacing, feedback, mix = noise(frames=5000, seed=1), 130, -0.8, 0.6
    out = whole(Delay, audio, time_ms=spacing * 1000 / SR, feedback=feedback, mix=mix)
    reference = feedback_comb(audio.samples, spacing, feedback, mix)
    np.testing.assert_allclose(out, reference, atol=1e-5)


def test_delay_is_as_long_as_its_input_plus_tail():
    audio = impulse(1000, at=999, channels=2)
    plain = whole(Delay, audio, time_ms=5.0)
    assert plain.shape == (2, 1000)
    tailed = whole(Delay, audio, time_ms=5.0, tail_s=0.5)
    assert tailed.shape == (2, 1000 + 22050)
    np.testing.assert_array_equal(tailed[:, :1000], plain)
    assert tailed[0, 999 + 220] == pytest.approx(0.5)  # 5 ms = 220.5 frames, rounded to 220
    info = Delay.spec.infer(
        {"in": PortInfo("audio", (2, 1000), SR)}, params_for(Delay, tail_s=0.5), ctx_for(Delay)
    )
    assert info["out"].shape == (2, 23050)


def test_delay_time_rounds_to_whole_frames_at_the_graph_rate():
    rate = 8000.0
    out = whole(Delay, impulse(100, rate=rate), time_ms=1.3, feedback=0.0, mix=1.0)
    assert np.nonzero(out[0])[0].tolist() == [10]  # 10.4 frames -> 10


# --------------------------------------------------------------------------- echo


def test_echo_1000_ms_decay_half_3_repeats():
    audio = impulse(500, at=3, channels=2)
    out = whole(Echo, audio, time_ms=1000.0, decay=0.5, repeats=3)
    assert out.shape == (2, 500 + 3 * 44100)
    for channel in out:
        taps = np.nonzero(channel)[0]
        np.testing.assert_array_equal(taps, [3, 44103, 88203, 132303])
        np.testing.assert_array_equal(channel[taps], [1.0, 0.5, 0.25, 0.125])


def test_echo_output_is_the_sum_of_decayed_copies_and_keeps_the_last_whole():
    audio, spacing, decay, repeats = noise(frames=3000, seed=2), 97, 0.7, 5
    out = whole(Echo, audio, time_ms=spacing * 1000 / SR, decay=decay, repeats=repeats)
    assert out.shape == (2, 3000 + repeats * spacing)
    expected = np.zeros(out.shape)
    for k in range(repeats + 1):
        expected[:, k * spacing : k * spacing + 3000] += decay**k * audio.samples
    np.testing.assert_allclose(out, expected, atol=1e-6)
    info = Echo.spec.infer(
        {"in": PortInfo("audio", (2, 3000), SR)},
        params_for(Echo, time_ms=spacing * 1000 / SR, repeats=repeats),
        ctx_for(Echo),
    )
    assert info["out"].shape == out.shape
