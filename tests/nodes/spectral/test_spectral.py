"""spectral.*: the STFT, its inverse and its views equal librosa's."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from node_harness import infer_node, make_ctx, run_node, validation_error

import graphengine as ge
from graphengine.errors import GraphError, ParamError
from graphengine.node import PortInfo
from graphengine.types import Audio
from nodes.spectral import stft as spectral

SR = 22050


def chirp(seconds: float = 2.0, channels: int = 1) -> Audio:
    t = np.arange(int(seconds * SR)) / SR
    y = 0.5 * np.sin(2 * np.pi * (100 * t + 1500 * t**2))
    rows = [y * (1 - 0.3 * c) for c in range(channels)]
    return Audio(np.stack(rows).astype(np.float32), SR)


@pytest.mark.parametrize(
    ("n_fft", "hop", "center", "window"),
    [(2048, 512, True, "hann"), (1024, 256, False, "hamming"), (512, 512, True, "blackman")],
)
def test_stft_equals_librosa(n_fft, hop, center, window):
    audio = chirp()
    spec = run_node(
        spectral.stft,
        make_ctx("spectral.stft", SR),
        audio,
        n_fft=n_fft,
        hop=hop,
        center=center,
        window=window,
    )
    ref = librosa.stft(audio.samples[0], n_fft=n_fft, hop_length=hop, center=center, window=window)
    assert spec.data.shape == (1, *ref.shape)
    np.testing.assert_allclose(spec.data[0], ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
    info = infer_node(
        spectral.stft,
        make_ctx("spectral.stft", SR),
        {"in": PortInfo("audio", (1, SR * 2), SR)},
        n_fft=n_fft,
        hop=hop,
        center=center,
        window=window,
    )
    assert info["out"].shape == spec.data.shape


def test_istft_reconstructs_the_signal():
    audio = chirp(channels=2)
    ctx = make_ctx("spectral.stft", SR)
    spec = run_node(spectral.stft, ctx, audio)
    back = run_node(spectral.istft, make_ctx("spectral.istft", SR), spec, length=audio.frames)
    np.testing.assert_allclose(back.samples, audio.samples, atol=1e-5)


def test_istft_follows_the_centring_the_spectrum_records():
    audio = chirp()
    spec = run_node(spectral.stft, make_ctx("spectral.stft", SR), audio, center=False)
    assert spec.center is False
    back = run_node(spectral.istft, make_ctx("spectral.istft", SR), spec)
    ref = librosa.istft(
        librosa.stft(audio.samples[0], center=False), center=False, dtype=np.float32
    )
    np.testing.assert_allclose(back.samples[0], ref, atol=1e-6)
    inner = slice(2048, len(ref) - 2048)  # away from the edges the window does not cover
    np.testing.assert_allclose(back.samples[0, inner], audio.samples[0, inner], atol=1e-5)


def test_mel_and_db_equal_librosa():
    audio = chirp()
    spec = run_node(spectral.stft, make_ctx("spectral.stft", SR), audio)
    y = audio.samples[0]
    mel = run_node(spectral.mel, make_ctx("spectral.mel", SR), spec, n_mels=64, fmax_hz=8000.0)
    ref = librosa.feature.melspectrogram(y=y, sr=SR, n_mels=64, fmax=8000)
    np.testing.assert_allclose(mel.values[0], ref, rtol=1e-4, atol=1e-6 * ref.max())
    assert mel.names[0] == "mel_0" and mel.frame_rate == SR / 512
    htk = run_node(spectral.mel, make_ctx("spectral.mel", SR), spec, scale="htk", norm="none")
    ref = librosa.feature.melspectrogram(y=y, sr=SR, htk=True, norm=None)
    np.testing.assert_allclose(htk.values[0], ref, rtol=1e-4, atol=1e-6 * ref.max())
    level = run_node(spectral.db, make_ctx("spectral.db", SR), spec)
    ref = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    np.testing.assert_allclose(level.values[0], ref, atol=1e-3)
    assert level.names[1] == f"{SR / 2048:.1f}Hz"


@pytest.mark.parametrize(
    ("params", "name", "fragment"),
    [
        ({"n_fft": 0}, "n_fft", "0 is out of range [1, inf]"),
        ({"hop": 4096}, "hop", "4096 is above n_fft (2048)"),
        ({"window": "hanning"}, "window", "'hanning' is not one of hann, hamming"),
    ],
)
def test_stft_sizes_are_declared_rules_the_engine_checks(params, name, fragment):
    tone = {"src": {"type": "source.tone", "duration_s": 0.1}}
    error = validation_error("spectral.stft", sample_rate=SR, upstream=tone, in_="src", **params)
    assert isinstance(error, ParamError) and fragment in error.message, error
    assert error.port_or_param == name and error.node_id == "n"


def test_stft_without_centring_needs_one_frame_of_signal():
    ctx = make_ctx("spectral.stft", SR, node_id="spec")
    with pytest.raises(ParamError, match="fewer than one frame") as caught:
        infer_node(
            spectral.stft, ctx, {"in": PortInfo("audio", (1, 1000), SR)}, center=False, n_fft=4096
        )
    assert caught.value.port_or_param == "n_fft" and caught.value.node_id == "spec"


def test_mel_fmax_above_nyquist_is_a_validation_error():
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.tone", duration_s=0.5)
    g.add("spec", "spectral.stft", in_="src")
    g.add("mel", "spectral.mel", in_="spec", fmax_hz=16000.0)
    with pytest.raises(GraphError, match=r"mel\.fmax_hz.*above Nyquist"):
        g.validate()


def test_features_into_an_audio_port_is_a_validation_error():
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.tone", duration_s=0.5)
    g.add("spec", "spectral.stft", in_="src")
    g.add("bright", "feature.centroid", in_="spec")
    g.add("out", "sink.wav", in_="bright", path="x.wav")
    with pytest.raises(GraphError, match=r"out\.in.*audio.*features|features.*audio"):
        g.validate()


def test_n_fft_must_be_an_integer_in_a_graph():
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.tone", duration_s=0.5)
    g.add("spec", "spectral.stft", in_="src", n_fft=1000.5)
    with pytest.raises(GraphError, match=r"spec\.n_fft"):
        g.validate()


@pytest.mark.parametrize(
    "name", ["hann", "hamming", "blackman", "blackmanharris", "bartlett", "boxcar"]
)
def test_windows_are_scipys_bit_for_bit(name):
    from scipy.signal import get_window

    from nodes.spectral.stft import WINDOWS, periodic_window

    assert name in WINDOWS
    for n in (1, 2, 3, 16, 255, 256, 1024, 2048, 4096):
        np.testing.assert_array_equal(periodic_window(name, n), get_window(name, n, fftbins=True))
