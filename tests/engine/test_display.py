"""Notebook display: short reprs, an embedded WAV that decodes to the samples, real pictures."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image as PILImage

import graphengine as ge


def _tone(seconds: float = 0.5, rate: int = 22050) -> ge.Audio:
    t = np.arange(int(seconds * rate)) / rate
    return ge.Audio(
        np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 660 * t)]), rate
    )


def _payloads(html: str, mime: str) -> list[bytes]:
    return [base64.b64decode(d) for d in re.findall(rf"data:{mime};base64,([A-Za-z0-9+/=]+)", html)]


def _picture(png: bytes) -> np.ndarray:
    with PILImage.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


def test_plain_reprs_are_short_and_say_shape_rate_duration_peak() -> None:
    audio = _tone()
    assert repr(audio) == "Audio(2 ch, 11025 frames, 22050 Hz, 0.500 s, peak -6.0 dBFS)"
    spectrum = ge.Spectrum(np.ones((1, 513, 20)), 1024, 256, "hann", 22050)
    assert (
        repr(spectrum) == "Spectrum(1 ch, 513 bins, 20 frames, n_fft 1024, hop 256, hann, 22050 Hz)"
    )
    names = tuple(f"mfcc_{i}" for i in range(13))
    features = ge.Features(np.zeros((1, 13, 40)), 43.066, names)
    assert (
        repr(features) == "Features(1 ch, 13 rows, 40 frames, 43.07 frames/s, mfcc_0 ... mfcc_12)"
    )
    assert repr(ge.Image(np.zeros((32, 64)))) == "Image(32 x 64, grey)"
    assert repr(ge.Audio(np.zeros((1, 10)), 8000)).endswith("peak -inf dBFS)")
    assert len(repr(ge.Audio(np.zeros((2, 10_000_000)), 44100))) < 100


def test_audio_html_embeds_a_player_of_the_samples_and_a_spectrogram() -> None:
    audio = _tone()
    html = audio._repr_html_()
    [wav] = _payloads(html, "audio/wav")
    samples, rate = sf.read(io.BytesIO(wav), always_2d=True)
    assert rate == 22050 and samples.shape == (11025, 2)
    np.testing.assert_allclose(samples.T, audio.samples, atol=1 / 32768 + 1e-6)
    [png] = _payloads(html, "image/png")
    grey = _picture(png)
    assert grey.shape == (300, 800) and grey.std() > 20
    assert html.startswith("<div><code>Audio(2 ch")


def test_long_audio_embeds_only_the_first_minute() -> None:
    audio = ge.Audio(np.zeros((1, 8000 * 90), dtype=np.float32), 8000)
    html = audio._repr_html_()
    [wav] = _payloads(html, "audio/wav")
    assert sf.info(io.BytesIO(wav)).duration == 60.0 and "the first 60 s of 90.0 s" in html


def test_spectrum_features_and_image_show_pictures() -> None:
    rate = 22050
    g = ge.Graph(sample_rate=rate)
    g.add("osc", "source.chirp", start_hz=200, end_hz=4000, duration_s=1.0)
    g.add("spec", "spectral.stft", in_="osc")
    g.add("mfcc", "feature.mfcc", in_="spec")
    g.add("centroid", "feature.centroid", in_="spec")
    result = g.run(outputs=["spec", "mfcc", "centroid"], cache=False)
    for name in ("spec", "mfcc", "centroid"):
        [png] = _payloads(result[name]._repr_html_(), "image/png")
        assert _picture(png).std() > 10, name
    pixels = np.tile(np.linspace(0, 1, 64), (16, 1))
    [png] = _payloads(ge.Image(pixels)._repr_html_(), "image/png")
    np.testing.assert_allclose(_picture(png), np.round(pixels * 255), atol=1)


def test_result_shows_its_outputs_and_kept_values(tmp_path: Path) -> None:
    g = ge.Graph(sample_rate=22050)
    g.add("osc", "source.tone", frequency="A4", duration_s=0.25)
    g.add("out", "sink.wav", in_="osc", path=str(tmp_path / "a.wav"))
    result = g.run(cache=False)
    assert repr(result) == "Result(2 nodes: 2 computed; outputs: a.wav)"
    html = result._repr_html_()
    assert len(_payloads(html, "audio/wav")) == 1 and len(_payloads(html, "image/png")) == 1
    kept = g.run(outputs=["osc"], cache=False)
    assert len(_payloads(kept._repr_html_(), "audio/wav")) == 1
