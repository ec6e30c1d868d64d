"""sink.audio: WAV, FLAC, Ogg and MP3 by extension, each written and read back; subtypes checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from node_harness import validation_error

import graphengine as ge
from graphengine.errors import ParamError, PortError
from nodes.sink.audio import DEFAULT_SUBTYPES, FORMAT_SUBTYPES

RATE = 48000


def render(tmp_path: Path, name: str, seconds: float = 1.0, rate: int = RATE, **params) -> Path:
    g = ge.Graph(sample_rate=rate)
    g.add("a", "source.tone", frequency=440.0, duration_s=seconds, amplitude=0.5)
    g.add("b", "source.tone", frequency=1250.0, duration_s=seconds, amplitude=0.3)
    g.add("mix", "signal.mix", in_=["a", "b"])
    g.add("out", "sink.audio", in_="mix", path=str(tmp_path / name), **params)
    result = g.run(cache=False)
    assert result.outputs[0].name == name
    return result.outputs[0]


def reference(seconds: float = 1.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return 0.5 * np.sin(2 * np.pi * 440.0 * t) + 0.3 * np.sin(2 * np.pi * 1250.0 * t)


LOSSLESS = [
    ("wav", "PCM_16", 2**-15),
    ("wav", "PCM_24", 2**-23),
    ("wav", "PCM_32", 1e-7),
    ("wav", "FLOAT", 1e-7),
    ("wav", "DOUBLE", 1e-7),
    ("flac", "PCM_16", 2**-15),
    ("flac", "PCM_24", 2**-23),
    ("flac", "PCM_S8", 2**-7),
]


@pytest.mark.parametrize(("ext", "subtype", "step"), LOSSLESS)
def test_lossless_formats_read_back_the_samples(tmp_path, ext, subtype, step):
    path = render(tmp_path, f"out.{ext}", subtype=subtype)
    info = sf.info(path)
    assert (info.format, info.subtype, info.samplerate) == (ext.upper(), subtype, RATE)
    samples, _ = sf.read(path, always_2d=True)
    want = reference()
    assert samples.shape == (want.size, 1)
    np.testing.assert_allclose(samples[:, 0], want, atol=step)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporaries left


@pytest.mark.parametrize(
    ("ext", "subtype", "rate"),
    [("ogg", "VORBIS", 44100), ("ogg", "OPUS", 48000), ("mp3", "MPEG_LAYER_III", 44100)],
)
def test_lossy_formats_read_back_the_sound(tmp_path, ext, subtype, rate):
    path = render(tmp_path, f"out.{ext}", seconds=2.0, rate=rate, subtype=subtype)
    info = sf.info(path)
    assert (info.format, info.subtype, info.samplerate) == (ext.upper(), subtype, rate)
    samples, _ = sf.read(path, always_2d=True)
    want = reference(2.0, rate)
    assert abs(samples.shape[0] - want.size) <= 2304  # encoders may pad a frame or two
    # the same two partials at the same levels (decoders may delay or pad a little)
    spectrum = np.abs(np.fft.rfft(samples[:, 0] * np.hanning(samples.shape[0])))
    freqs = np.fft.rfftfreq(samples.shape[0], 1 / rate)
    level = {f: spectrum[np.abs(freqs - f) < 5].max() for f in (440.0, 1250.0)}
    assert abs(20 * np.log10(level[1250.0] / level[440.0]) - 20 * np.log10(0.3 / 0.5)) < 0.5
    rms = np.sqrt(np.mean(samples[rate // 4 : -rate // 4, 0] ** 2))
    assert abs(20 * np.log10(rms / np.sqrt(np.mean(want**2)))) < 0.5


def test_the_subtype_defaults_to_the_containers_usual(tmp_path):
    for ext, container in (("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG")):
        assert sf.info(render(tmp_path, f"d.{ext}")).subtype == DEFAULT_SUBTYPES[container]


@pytest.mark.parametrize(("ext", "rate"), [("flac", 48000), ("ogg", 48000), ("mp3", 44100)])
def test_compression_trades_size(tmp_path, ext, rate):
    small = render(tmp_path / "a", f"x.{ext}", seconds=2.0, rate=rate, compression=1.0)
    big = render(tmp_path / "b", f"x.{ext}", seconds=2.0, rate=rate, compression=0.0)
    assert small.stat().st_size < big.stat().st_size
    if ext == "flac":  # lossless: the effort changes, the samples do not
        np.testing.assert_array_equal(sf.read(small)[0], sf.read(big)[0])


def test_flac_bytes_depend_only_on_the_samples(tmp_path):
    first = render(tmp_path / "a", "x.flac").read_bytes()
    assert render(tmp_path / "b", "x.flac").read_bytes() == first


def test_beyond_full_scale_is_clipped_in_flac_and_kept_in_float_wav(tmp_path):
    g = ge.Graph(sample_rate=RATE)
    g.add("a", "source.tone", frequency=440.0, duration_s=0.2, amplitude=1.0)
    g.add("loud", "effect.gain", in_="a", gain_db=6.0)
    g.add("f", "sink.audio", in_="loud", path=str(tmp_path / "c.flac"))
    g.add("w", "sink.audio", in_="loud", path=str(tmp_path / "c.wav"), subtype="FLOAT")
    result = g.run(cache=False)
    assert np.abs(sf.read(tmp_path / "c.flac")[0]).max() <= 1.0
    assert np.abs(sf.read(tmp_path / "c.wav")[0]).max() > 1.9
    assert any("clipped" in w and "PCM_24" in w for w in result.warnings)


def test_chunk_files_are_in_the_same_format(tmp_path):
    render(tmp_path, "take.flac", seconds=1.0, chunk_s=0.4)
    pieces = sorted(p.name for p in tmp_path.glob("take_*.flac"))
    assert pieces == ["take_001.flac", "take_002.flac", "take_003.flac"]
    assert [sf.info(tmp_path / p).frames for p in pieces] == [19200, 19200, 9600]
    assert all(sf.info(tmp_path / p).format == "FLAC" for p in pieces)


UPSTREAM = {"src": {"type": "source.tone", "duration_s": 0.1}}


@pytest.mark.parametrize(
    ("rate", "params", "error_type", "where", "fragment"),
    [
        (RATE, {"path": "o.flac", "subtype": "FLOAT"}, ParamError, "subtype", "FLAC holds"),
        (RATE, {"path": "o.ogg", "subtype": "PCM_16"}, ParamError, "subtype", "VORBIS, OPUS"),
        (RATE, {"path": "o.mp3", "subtype": "PCM_24"}, ParamError, "subtype", "MPEG_LAYER_III"),
        (RATE, {"path": "o.aiff"}, ParamError, "path", "writes .wav, .flac, .ogg, .mp3"),
        (96000, {"path": "o.mp3"}, PortError, "in", "signal.resample"),
        (44100, {"path": "o.ogg", "subtype": "OPUS"}, PortError, "in", "48000 Hz"),
    ],
    ids=["flac-float", "ogg-pcm", "mp3-pcm", "unknown-extension", "mp3-96k", "opus-44k"],
)
def test_what_a_format_cannot_hold_is_refused_at_validation(
    tmp_path, rate, params, error_type, where, fragment
):
    params = params | {"path": str(tmp_path / params["path"])}
    error = validation_error("sink.audio", sample_rate=rate, upstream=UPSTREAM, in_="src", **params)
    assert isinstance(error, error_type) and error.port_or_param == where
    assert fragment in str(error)
    assert not list(tmp_path.iterdir())


def test_every_subtype_is_allowed_somewhere():
    from nodes.sink.audio import AUDIO_SUBTYPES

    assert set(AUDIO_SUBTYPES) == {t for types in FORMAT_SUBTYPES.values() for t in types}
