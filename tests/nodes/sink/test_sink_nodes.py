"""sink.wav and sink.npy: files that soundfile and numpy read back."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from node_harness import make_ctx, run_node, validation_error

import graphengine as ge
from graphengine.errors import ParamError
from graphengine.types import Audio, Features, Vector
from nodes.sink.audio import npy, wav

SR = 44100.0


def ramp_audio(channels: int, frames: int, peak: float = 0.9, rate: float = SR) -> Audio:
    ramp = np.linspace(-peak, peak, frames)
    return Audio(np.stack([ramp * (1 - 0.1 * c) for c in range(channels)]), rate)


@pytest.mark.parametrize(
    ("subtype", "atol"), [("PCM_16", 1 / 32768), ("PCM_24", 2.0**-23), ("FLOAT", 0.0)]
)
def test_wav_writes_what_soundfile_reads_back(tmp_path, subtype, atol):
    audio = ramp_audio(2, 70_000)  # longer than one write chunk
    path = tmp_path / "out.wav"
    ctx = make_ctx("sink.wav")
    assert run_node(wav, ctx, audio, path=str(path), subtype=subtype) is None
    info = soundfile.info(path)
    assert (info.format, info.subtype) == ("WAV", subtype)
    assert (info.samplerate, info.channels, info.frames) == (44100, 2, 70_000)
    data, _ = soundfile.read(path, dtype="float64", always_2d=True)
    np.testing.assert_allclose(data.T, audio.samples, rtol=0, atol=atol)
    assert ctx.warnings == []


def test_wav_clips_integer_formats_and_says_how_much(tmp_path):
    samples = np.array([[0.5, 1.5, -2.0, 1.0], [0.0, 0.25, 1.0001, -0.5]], dtype=np.float32)
    path = tmp_path / "loud.wav"
    ctx = make_ctx("sink.wav")
    run_node(wav, ctx, Audio(samples, SR), path=str(path))
    data, _ = soundfile.read(path, always_2d=True)
    np.testing.assert_allclose(data.T, np.clip(samples, -1, 1), atol=1 / 32768)
    assert len(ctx.warnings) == 1
    assert "3 of 8 samples" in ctx.warnings[0] and "clipped" in ctx.warnings[0]


def test_wav_float_keeps_samples_beyond_full_scale(tmp_path):
    samples = np.array([[0.5, 1.5, -2.0]], dtype=np.float32)
    path = tmp_path / "hot.wav"
    ctx = make_ctx("sink.wav")
    run_node(wav, ctx, Audio(samples, SR), path=str(path), subtype="FLOAT")
    data, _ = soundfile.read(path, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(data.T, samples)
    assert ctx.warnings == []


def test_wav_writes_non_finite_samples_as_zero(tmp_path):
    samples = np.array([[0.5, np.nan, np.inf, -0.5]], dtype=np.float32)
    path = tmp_path / "nan.wav"
    ctx = make_ctx("sink.wav")
    run_node(wav, ctx, Audio(samples, SR), path=str(path), subtype="FLOAT")
    data, _ = soundfile.read(path, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(data.T, [[0.5, 0.0, 0.0, -0.5]])
    assert any("2 of 4 samples were NaN or infinite" in w for w in ctx.warnings)


def test_wav_rounds_a_fractional_sample_rate(tmp_path):
    path = tmp_path / "odd.wav"
    ctx = make_ctx("sink.wav")
    run_node(wav, ctx, ramp_audio(1, 100, rate=22050.4), path=str(path))
    assert soundfile.info(path).samplerate == 22050
    assert any("22050.4 Hz written as 22050 Hz" in w for w in ctx.warnings)


TONE = {"src": {"type": "source.tone", "duration_s": 0.01}}


@pytest.mark.parametrize(
    ("sink", "name", "suffix"),
    [
        ("sink.wav", "out.flac", ".wav"),
        ("sink.wav", "out", ".wav"),
        ("sink.wav", "out.wav.tmp", ".wav"),
        ("sink.npy", "x.npz", ".npy"),
        ("sink.json", "x.csv", ".json"),
        ("sink.image", "x.jpg", ".png"),
    ],
)
def test_an_output_path_must_end_in_the_declared_suffix(tmp_path, sink, name, suffix):
    error = validation_error(sink, upstream=TONE, in_="src", path=str(tmp_path / name))
    assert isinstance(error, ParamError) and error.port_or_param == "path"
    assert f"{name!r} does not end in {suffix}" in error.message


def test_the_suffix_is_matched_in_any_case(tmp_path):
    graph = ge.Graph(sample_rate=SR)
    graph.add("src", "source.tone", duration_s=0.01)
    graph.add("out", "sink.wav", in_="src", path=str(tmp_path / "x.WAV"))
    graph.validate()


@pytest.mark.parametrize(
    "value",
    [
        ramp_audio(2, 1000),
        Vector(np.arange(5.0), names=tuple("abcde")),
        Features(np.ones((1, 3, 7)), frame_rate=100.0),
    ],
)
def test_npy_round_trip(tmp_path, value):
    path = tmp_path / "value.npy"
    run_node(npy, make_ctx("sink.npy"), value, path=str(path))
    loaded = np.load(path, allow_pickle=False)
    assert loaded.dtype == value.primary.dtype
    np.testing.assert_array_equal(loaded, value.primary)


def test_wav_beyond_the_riff_size_limit_is_written_as_rf64(tmp_path, monkeypatch):
    monkeypatch.setattr("nodes.sink.audio._WAV_MAX_DATA_BYTES", 1000)  # instead of ~4 GiB
    audio = ramp_audio(2, 1000)
    path = tmp_path / "big.wav"
    ctx = make_ctx("sink.wav")
    run_node(wav, ctx, audio, path=str(path), subtype="PCM_24")
    assert soundfile.info(path).format == "RF64"
    data, _ = soundfile.read(path, always_2d=True)
    np.testing.assert_allclose(data.T, audio.samples, atol=2.0**-23)
    assert any("RF64" in w for w in ctx.warnings)


def test_wav_chunk_files_split_the_output_at_exact_frames(tmp_path) -> None:
    import graphengine as ge

    g = ge.Graph(sample_rate=1000)
    g.add("n", "source.noise", duration_s=2.5, seed=1)
    g.add("out", "sink.wav", in_="n", path=str(tmp_path / "take.wav"), subtype="FLOAT", chunk_s=1.0)
    result = g.run(cache=False, block_size=300)
    whole, _ = soundfile.read(tmp_path / "take.wav", dtype="float32")
    chunks = [soundfile.read(tmp_path / f"take_00{i}.wav", dtype="float32")[0] for i in (1, 2, 3)]
    assert [len(c) for c in chunks] == [1000, 1000, 500]
    np.testing.assert_array_equal(np.concatenate(chunks), whole)
    assert sorted(p.name for p in result.outputs) == [
        "take.wav",
        "take_001.wav",
        "take_002.wav",
        "take_003.wav",
    ]
