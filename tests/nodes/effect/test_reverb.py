"""effect.reverb (Freeverb) and effect.convolution_reverb, whole and in blocks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf
from node_harness import infer_node, make_ctx, run_node
from scipy.signal import fftconvolve

from graphengine.blocknode import StreamSpec
from graphengine.errors import ParamError
from graphengine.node import PortInfo
from graphengine.types import Audio
from nodes.effect.reverb import ConvolutionReverb, Reverb

SR = 44100.0


def noise(channels: int, frames: int, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio((0.1 * rng.standard_normal((channels, frames))).astype(np.float32), SR)


def in_blocks(cls: type, audio: Audio, block: int, **params) -> np.ndarray:
    """Run a streaming node block by block, as the streaming runtime does."""
    values = {p.name: p.default for p in cls.spec.params if not p.required} | params
    node = cls(make_ctx(cls.spec.type_id), **values)
    frames = node.output_frames((audio.frames,))
    node.prepare(StreamSpec(SR, audio.channels, block, frames, (audio.channels,), (audio.frames,)))
    node.reset()
    node.start()
    padded = np.zeros((audio.channels, frames), np.float32)
    padded[:, : audio.frames] = audio.samples
    return np.concatenate(
        [node.process(padded[:, i : i + block].copy()) for i in range(0, frames, block)], axis=1
    )


def decay_time_s(y: np.ndarray, drop_db: float = 30.0) -> float:
    """Time for the Schroeder backward-integrated energy to fall by ``drop_db``."""
    energy = np.cumsum((y.astype(np.float64) ** 2)[::-1])[::-1]
    curve = 10 * np.log10(energy / energy[0] + 1e-300)
    return float(np.argmax(curve < -drop_db) / SR)


def test_freeverb_in_blocks_matches_the_whole_signal():
    x = noise(2, 20_000)
    whole = run_node(Reverb, make_ctx("effect.reverb"), x, room_size=0.8, tail_s=0.5)
    assert whole.samples.shape == (2, 20_000 + 22050)
    for block in (1, 256, 4097):
        blocks = in_blocks(Reverb, x, block, room_size=0.8, tail_s=0.5)
        np.testing.assert_array_equal(blocks, whole.samples)


def test_freeverb_room_size_sets_the_decay_and_mix_zero_is_dry():
    impulse = np.zeros((1, 4410), np.float32)
    impulse[0, 0] = 1.0
    x = Audio(impulse, SR)
    ctx = make_ctx("effect.reverb")
    decays = []
    for room in (0.2, 0.5, 0.9):
        y = run_node(Reverb, ctx, x, room_size=room, mix=1.0, tail_s=6.0).samples[0]
        assert np.isfinite(y).all() and np.abs(y).max() < 1.0
        decays.append(decay_time_s(y))
    assert decays[0] < decays[1] < decays[2]
    # comb feedback 0.7 + 0.28 * 0.9 = 0.952 over ~30 ms loops: T30 = 30/60 * RT60 ~ 1.0 s
    assert 0.5 < decays[2] < 2.5
    dry = run_node(Reverb, ctx, x, mix=0.0)
    np.testing.assert_array_equal(dry.samples, x.samples)


def test_freeverb_stereo_channels_differ():
    y = run_node(Reverb, make_ctx("effect.reverb"), noise(2, 8000), mix=1.0).samples
    correlation = np.corrcoef(y[0, 4000:], y[1, 4000:])[0, 1]
    assert correlation < 0.9


@pytest.fixture
def ir_file(tmp_path):
    rng = np.random.default_rng(3)
    frames = 24_000
    decay = np.exp(-np.arange(frames) / 4000.0)
    ir = np.stack([rng.standard_normal(frames) * decay, rng.standard_normal(frames) * decay], 1)
    path = tmp_path / "hall.wav"
    sf.write(path, ir, 48000, subtype="FLOAT")
    return path


def test_convolution_matches_fftconvolve_with_the_resampled_normalised_response(ir_file):
    import soxr

    x = noise(1, 10_000)
    ctx = make_ctx("effect.convolution_reverb")
    y = run_node(ConvolutionReverb, ctx, x, ir_path=str(ir_file), mix=1.0, tail_s=0.2)
    assert y.samples.shape == (2, 10_000 + 8820)  # mono in, stereo response: stereo out
    ir, rate = sf.read(ir_file, always_2d=True)
    ir = soxr.resample(ir, rate, SR, quality="VHQ").T
    ir /= np.linalg.norm(ir, axis=1, keepdims=True)
    for c in range(2):
        expected = fftconvolve(x.samples[0].astype(np.float64), ir[c])[: 10_000 + 8820]
        np.testing.assert_allclose(y.samples[c], expected, atol=2e-5)
    blocks = in_blocks(ConvolutionReverb, x, 1000, ir_path=str(ir_file), mix=1.0, tail_s=0.2)
    np.testing.assert_allclose(blocks, y.samples, atol=1e-6)
    shape = infer_node(
        ConvolutionReverb,
        ctx,
        {"in": PortInfo("audio", (1, 10_000), SR)},
        ir_path=str(ir_file),
        tail_s=0.2,
    )["out"].shape
    assert shape == (2, 18_820)


def test_convolution_needs_a_readable_response_with_matching_channels(ir_file, tmp_path):
    ctx = make_ctx("effect.convolution_reverb", node_id="room")
    with pytest.raises(ParamError, match="2 channels and the input 3") as caught:
        infer_node(
            ConvolutionReverb, ctx, {"in": PortInfo("audio", (3, 100), SR)}, ir_path=str(ir_file)
        )
    assert caught.value.port_or_param == "ir_path" and caught.value.node_id == "room"
    stereo = infer_node(
        ConvolutionReverb, ctx, {"in": PortInfo("audio", (2, 100), SR)}, ir_path=str(ir_file)
    )
    assert stereo["out"].shape == (2, 100)
    (tmp_path / "junk.wav").write_bytes(b"not audio")
    with pytest.raises(ParamError, match=r"cannot read impulse response 'junk\.wav'"):
        infer_node(
            ConvolutionReverb,
            ctx,
            {"in": PortInfo("audio", (1, 100), SR)},
            ir_path=str(tmp_path / "junk.wav"),
        )


def full_scale(channels: int, frames: int, seed: int = 0) -> np.ndarray:
    """Music-like test input at full scale: decaying plucked partials over noise and clicks."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / SR
    x = 0.2 * rng.uniform(-1, 1, (channels, frames))
    notes = (110.0, 164.8, 220.0, 293.7, 196.0)
    for i, start in enumerate(range(0, frames, 7919)):
        f0 = notes[i % len(notes)]
        envelope = np.where(t >= start / SR, np.exp(-(t - start / SR) * 6.0), 0.0)
        x += 0.15 * envelope * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5))
    x[:, ::5003] = 1.0
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def write_ir(path, frames: int, channels: int = 1, seed: int = 3) -> np.ndarray:
    """A decaying-noise response written at the test rate; returns it with unit energy."""
    rng = np.random.default_rng(seed)
    decay = np.exp(-np.arange(frames) / max(frames / 6.0, 1.0))
    ir = rng.standard_normal((channels, frames)) * decay
    sf.write(path, ir.T, int(SR), subtype="DOUBLE")
    return ir / np.linalg.norm(ir, axis=1, keepdims=True)


def expected(x: np.ndarray, ir: np.ndarray, frames: int, mix: float, predelay: int = 0):
    """The node's rules through scipy: wet = x * ir delayed, a mono side on every channel."""
    x = x.astype(np.float64)
    wet = fftconvolve(np.pad(x, ((0, 0), (0, max(0, frames - x.shape[1])))), ir, axes=1)
    wet = np.pad(wet, ((0, 0), (predelay, 0)))[:, :frames]
    dry = np.zeros((x.shape[0], frames))
    dry[:, : x.shape[1]] = x[:, :frames]
    return (1.0 - mix) * dry + mix * wet


@pytest.mark.parametrize("block", [64, 1024, 16384, 20_000])  # 20000: partitions of 16384
@pytest.mark.parametrize("ir_frames", [40, 3000, 40_000])
def test_convolution_equals_fftconvolve_at_every_block_and_response_length(
    tmp_path, block, ir_frames
):
    ir = write_ir(tmp_path / "ir.wav", ir_frames)
    x = full_scale(1, 60_000)
    y = in_blocks(ConvolutionReverb, Audio(x, SR), block, ir_path=str(tmp_path / "ir.wav"), mix=1.0)
    want = expected(x, ir, 60_000, 1.0)
    assert np.abs(x).max() == 1.0 and np.abs(want).max() > 0.5
    np.testing.assert_allclose(y, want, atol=1e-6, rtol=0)


@pytest.mark.parametrize(("x_channels", "ir_channels"), [(2, 2), (1, 2), (2, 1), (1, 1)])
def test_convolution_channel_layouts_equal_fftconvolve(tmp_path, x_channels, ir_channels):
    ir = write_ir(tmp_path / "ir.wav", 20_000, ir_channels)
    x = full_scale(x_channels, 30_000, seed=x_channels)
    params = {"ir_path": str(tmp_path / "ir.wav"), "mix": 0.4, "predelay_ms": 10.0, "tail_s": 0.3}
    whole = run_node(
        ConvolutionReverb, make_ctx("effect.convolution_reverb"), Audio(x, SR), **params
    )
    frames = 30_000 + round(0.3 * SR)
    assert whole.samples.shape == (max(x_channels, ir_channels), frames)
    want = expected(x, ir, frames, 0.4, predelay=441)
    np.testing.assert_allclose(whole.samples, want, atol=1e-6, rtol=0)
    for block in (7, 1000):
        got = in_blocks(ConvolutionReverb, Audio(x, SR), block, **params)
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=0, err_msg=f"{block=}")


def test_convolution_tail_rings_out_and_zero_tail_keeps_the_length(tmp_path):
    ir = write_ir(tmp_path / "ir.wav", 10_000)
    x = full_scale(1, 5000)
    ctx = make_ctx("effect.convolution_reverb")
    for tail_s, frames in ((0.0, 5000), (0.5, 5000 + 22050)):
        y = run_node(
            ConvolutionReverb,
            ctx,
            Audio(x, SR),
            ir_path=str(tmp_path / "ir.wav"),
            mix=1.0,
            tail_s=tail_s,
        ).samples
        assert y.shape == (1, frames)
        np.testing.assert_allclose(y, expected(x, ir, frames, 1.0), atol=1e-6, rtol=0)
    assert np.abs(y[:, 5000 + 10_000 :]).max() < 1e-12  # past the response's end: FFT rounding only


def test_convolution_reset_restarts_the_stream(tmp_path):
    write_ir(tmp_path / "ir.wav", 5000)
    x = full_scale(1, 8000)
    values = {p.name: p.default for p in ConvolutionReverb.spec.params if not p.required}
    node = ConvolutionReverb(make_ctx("effect.convolution_reverb"), **values)
    node.ir_path = str(tmp_path / "ir.wav")
    node.prepare(StreamSpec(SR, 1, 1024, 8000, (1,), (8000,)))
    node.reset()
    node.start()
    first = [node.process(x[:, i : i + 1024].copy()) for i in range(0, 8000, 1024)]
    node.reset()
    again = [node.process(x[:, i : i + 1024].copy()) for i in range(0, 8000, 1024)]
    np.testing.assert_array_equal(np.concatenate(first, 1), np.concatenate(again, 1))


@pytest.mark.parametrize("block", [1, 64, 1000, 1024, 4097, 16384, 10**6])
@pytest.mark.parametrize("ir_frames", [1, 500, 132_300, 1_000_000])
def test_stages_tile_the_response_without_latency(block, ir_frames):
    from nodes.effect.reverb import plan_stages

    stages = plan_stages(ir_frames, block)
    assert stages[0].offset == 0
    for before, after in itertools.pairwise(stages):
        assert after.offset == before.offset + before.count * before.size
        assert after.offset >= after.size  # output due no earlier than its input is complete
        assert after.size % stages[0].size == 0  # segment ends are first-stage ends
    last = stages[-1]
    assert (
        last.offset + last.count * last.size
        >= ir_frames
        > last.offset + (last.count - 1) * last.size
        or len(stages) == 1
    )
