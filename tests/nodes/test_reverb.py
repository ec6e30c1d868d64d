"""effect.reverb (Freeverb) and effect.convolution_reverb, whole and in blocks."""

from __future__ import annotations

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
