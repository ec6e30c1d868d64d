"""source.tone, source.noise and source.file against analytic and numerical references."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import soundfile
from node_harness import infer_node, make_ctx, run_node, validation_error
from scipy.signal import welch
from scipy.signal.windows import blackmanharris

from graphengine.errors import ParamError
from graphengine.types import Audio
from nodes.signal.resample import resampled_frames
from nodes.source.file import audio_file
from nodes.source.generators import (
    _KELLET_DELAYED,
    _KELLET_DIRECT,
    _KELLET_GAINS,
    _KELLET_POLES,
    kellet_power_gain,
    noise,
    tone,
)

SR = 44100.0


def zero_crossing_frequency(x: np.ndarray, sample_rate: float) -> float:
    """Frequency from the interpolated times of the first and last rising zero crossings."""
    x = np.asarray(x, dtype=np.float64)
    below = x < 0
    idx = np.flatnonzero(below[:-1] & ~below[1:])
    times = idx + x[idx] / (x[idx] - x[idx + 1])
    return (times.size - 1) * sample_rate / (times[-1] - times[0])


def naive(waveform: str, frequency: float, frames: int, sample_rate: float) -> np.ndarray:
    """The trivially sampled (aliasing) waveform, aligned like source.tone's."""
    t = np.arange(frames) * frequency / sample_rate % 1.0
    if waveform == "saw":
        return 2.0 * ((t + 0.5) % 1.0) - 1.0
    if waveform == "square":
        return np.where(t < 0.5, 1.0, -1.0)
    u = (t + 0.25) % 1.0
    return np.where(u < 0.5, 4.0 * u - 1.0, 3.0 - 4.0 * u)


def alias_to_fundamental_db(x: np.ndarray, f0: float, sample_rate: float, below_hz: float) -> float:
    """Power below ``below_hz`` that is not at a harmonic of f0, relative to the fundamental."""
    spectrum = np.abs(np.fft.rfft(x * blackmanharris(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / sample_rate)
    nearest = np.round(freqs / f0) * f0
    at_harmonic = np.abs(freqs - nearest) <= 8.0
    fundamental = spectrum[np.abs(freqs - f0) <= 8.0].sum()
    aliases = spectrum[~at_harmonic & (freqs < below_hz)].sum()
    return 10.0 * math.log10(aliases / fundamental)


# --------------------------------------------------------------------------- tone


@pytest.mark.parametrize("frequency", [27.5, 440.0, 1000.5, 12345.6])
def test_sine_frequency_and_rms(frequency):
    out = run_node(tone, make_ctx("source.tone"), frequency=frequency, duration_s=2.0)
    assert isinstance(out, Audio)
    assert out.samples.dtype == np.float32 and out.samples.shape == (1, 88200)
    assert out.sample_rate == SR
    x = out.samples[0]
    assert zero_crossing_frequency(x, SR) == pytest.approx(frequency, rel=1e-4)
    spectrum = np.abs(np.fft.rfft(x * blackmanharris(x.size)))
    peak = np.argmax(spectrum) * SR / x.size
    assert peak == pytest.approx(frequency, abs=SR / x.size)
    cycles = math.floor(2.0 * frequency)  # RMS over whole cycles
    whole = x[: round(cycles / frequency * SR)]
    assert np.sqrt(np.mean(whole.astype(np.float64) ** 2)) == pytest.approx(
        0.5 / math.sqrt(2), rel=1e-3
    )


def test_sine_matches_reference_with_phase_offset():
    out = run_node(
        tone, make_ctx("source.tone"), frequency=997.0, amplitude=0.8, phase=0.25, duration_s=0.5
    )
    n = np.arange(out.frames)
    reference = 0.8 * np.sin(2 * np.pi * (n * 997.0 / SR + 0.25))
    np.testing.assert_allclose(out.samples[0], reference, atol=2e-7)
    assert out.samples[0, 0] == pytest.approx(0.8)  # a quarter cycle in: the peak


def test_phase_does_not_drift_over_long_durations():
    # 1 kHz at 48 kHz repeats every 48 samples exactly; after 60 s (2.88 M samples,
    # dozens of chunks) the last period must still equal the first.
    out = run_node(tone, make_ctx("source.tone", 48000.0), frequency=1000.0, duration_s=60.0)
    x = out.samples[0]
    assert x.size == 2_880_000
    np.testing.assert_allclose(x[-48:], x[:48], atol=2e-6)


@pytest.mark.parametrize("waveform", ["square", "saw", "triangle"])
def test_band_limited_waveforms_alias_far_less_than_naive(waveform):
    f0 = 3000.0
    out = run_node(tone, make_ctx("source.tone"), waveform=waveform, frequency=f0, amplitude=1.0)
    x = out.samples[0].astype(np.float64)
    reference = naive(waveform, f0, x.size, SR)
    # over the whole band: the residual aliases of a 2-point PolyBLEP lie near Nyquist
    total = alias_to_fundamental_db(x, f0, SR, SR / 2)
    total_naive = alias_to_fundamental_db(reference, f0, SR, SR / 2)
    assert total < total_naive - 12.0
    # below 5 kHz, where aliases are most audible, they all but vanish
    low = alias_to_fundamental_db(x, f0, SR, 5000.0)
    low_naive = alias_to_fundamental_db(reference, f0, SR, 5000.0)
    assert low < low_naive - 40.0
    assert low < -60.0


@pytest.mark.parametrize(
    ("waveform", "coefficient"),
    [
        ("square", lambda k: 4 / (math.pi * k) if k % 2 else 0.0),
        ("saw", lambda k: 2 / (math.pi * k)),
        ("triangle", lambda k: 8 / (math.pi * k) ** 2 if k % 2 else 0.0),
    ],
)
def test_harmonics_match_fourier_series_times_blep_response(waveform, coefficient):
    # 441 Hz: exactly 100 samples a period, so every harmonic falls on a DFT bin.
    out = run_node(tone, make_ctx("source.tone"), waveform=waveform, frequency=441.0, amplitude=1)
    spectrum = np.fft.rfft(out.samples[0].astype(np.float64)) / (out.frames / 2)
    sine = run_node(tone, make_ctx("source.tone"), frequency=441.0, amplitude=1.0)
    sine_phase = np.angle(np.fft.rfft(sine.samples[0])[441])
    for k in range(1, 16):
        f = 441.0 * k
        expected = coefficient(k) * np.sinc(f / SR) ** 2  # linear-kernel BLEP response
        if expected == 0.0:
            assert abs(spectrum[441 * k]) < 1e-4
        else:
            assert abs(spectrum[441 * k]) == pytest.approx(expected, rel=5e-3)
    # the fundamental is in phase with the sine
    assert np.angle(spectrum[441]) == pytest.approx(sine_phase, abs=1e-3)


@pytest.mark.parametrize("waveform", ["sine", "square", "saw", "triangle"])
@pytest.mark.parametrize("frequency", [100.0, 441.0, 5000.0, 15000.0])
def test_waveforms_stay_within_amplitude_and_have_no_dc(waveform, frequency):
    out = run_node(
        tone, make_ctx("source.tone"), waveform=waveform, frequency=frequency, amplitude=0.7
    )
    x = out.samples[0].astype(np.float64)
    assert np.max(np.abs(x)) <= 0.7 + 1e-6
    # band-limiting rounds a corner or edge over about two samples, so the sampled
    # peak lies at most a few phase increments (f / rate) below the amplitude
    assert np.max(np.abs(x)) >= 0.7 * (1.0 - 4.0 * frequency / SR)
    # one second is a whole number of cycles for every frequency here
    assert abs(np.mean(x)) < 1e-5


def test_channels_are_identical_and_infer_predicts_shape():
    ctx = make_ctx("source.tone", 48000.0)
    params = {"waveform": "square", "frequency": 220.0, "duration_s": 0.123456, "channels": 3}
    out = run_node(tone, ctx, **params)
    assert out.samples.shape == (3, round(0.123456 * 48000))
    np.testing.assert_array_equal(out.samples[1], out.samples[0])
    np.testing.assert_array_equal(out.samples[2], out.samples[0])
    info = infer_node(tone, ctx, **params)["out"]
    assert info.type == "audio" and info.shape == out.samples.shape
    assert info.sample_rate == 48000.0 and info.itemsize == 4


@pytest.mark.parametrize(
    ("params", "name", "message"),
    [
        ({"frequency": 22050.0}, "frequency", r"22050 Hz is not below Nyquist \(22050 Hz at 44100"),
        ({"frequency": 30000.0}, "frequency", r"30000 Hz is not below Nyquist \(22050 Hz"),
        ({"frequency": 0.0}, "frequency", "must be a positive number of Hz, got 0"),
        ({"duration_s": 1e-6}, "duration_s", "shorter than one sample"),
        (
            {"waveform": "sqaure"},
            "waveform",
            r"'sqaure' is not one of sine, square, saw, triangle \(did you mean 'square'",
        ),
    ],
)
def test_tone_rejects_bad_values(params, name, message):
    error = validation_error("source.tone", **params)
    assert isinstance(error, ParamError) and re.search(message, error.message), error
    assert error.port_or_param == name and error.node_id == "n"
    assert error.node_type == "source.tone"


def test_tone_frequency_is_checked_against_the_graphs_rate():
    error = validation_error("source.tone", sample_rate=8000.0, frequency="C8")
    assert re.search(r"4186\.\d+ Hz is not below Nyquist \(4000 Hz at 8000 Hz\)", error.message)


# --------------------------------------------------------------------------- noise


@pytest.mark.parametrize("color", ["white", "pink", "brown"])
def test_noise_rms_equals_amplitude(color):
    out = run_node(
        noise, make_ctx("source.noise"), color=color, amplitude=0.2, duration_s=4.0, channels=32
    )
    assert out.samples.shape == (32, 176400) and out.samples.dtype == np.float32
    rms = np.sqrt(np.mean(out.samples.astype(np.float64) ** 2))
    assert rms == pytest.approx(0.2, rel=0.03)


@pytest.mark.parametrize(("color", "slope_db"), [("white", 0.0), ("pink", -3.0), ("brown", -6.0)])
def test_noise_spectral_slope(color, slope_db):
    out = run_node(noise, make_ctx("source.noise"), color=color, duration_s=4.0, channels=2)
    freqs, psd = welch(out.samples.astype(np.float64), fs=SR, nperseg=4096)
    psd = psd.mean(axis=0)
    band = (freqs >= 100.0) & (freqs <= 10_000.0)
    slope, _ = np.polyfit(np.log2(freqs[band]), 10.0 * np.log10(psd[band]), 1)
    assert slope == pytest.approx(slope_db, abs=1.0)


@pytest.mark.parametrize("color", ["white", "pink", "brown"])
def test_noise_is_deterministic_per_seed_and_independent_per_channel(color):
    ctx = make_ctx("source.noise")
    a = run_node(noise, ctx, color=color, seed=7, channels=2, duration_s=0.5).samples
    b = run_node(noise, ctx, color=color, seed=7, channels=2, duration_s=0.5).samples
    c = run_node(noise, ctx, color=color, seed=8, channels=2, duration_s=0.5).samples
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a[0], a[1])
    if color == "white":  # coloured noise has too few independent samples for a tight bound
        assert abs(np.corrcoef(a[0], a[1])[0, 1]) < 0.05
        assert abs(np.corrcoef(a[0], c[0])[0, 1]) < 0.05
    # a longer render, or one with more channels, starts with the same samples
    longer = run_node(noise, ctx, color=color, seed=7, channels=3, duration_s=2.0).samples
    np.testing.assert_array_equal(longer[:2, : a.shape[1]], a)


def test_noise_seed_none_is_seed_zero():
    ctx = make_ctx("source.noise")
    np.testing.assert_array_equal(
        run_node(noise, ctx, seed=None, duration_s=0.1).samples,
        run_node(noise, ctx, seed=0, duration_s=0.1).samples,
    )


def test_kellet_power_gain_is_the_impulse_response_energy():
    n = np.arange(60_000)  # 0.99886 ** 60000 ~ 1e-30
    h = (_KELLET_GAINS[:, None] * _KELLET_POLES[:, None] ** n).sum(axis=0)
    h[0] += _KELLET_DIRECT
    h[1] += _KELLET_DELAYED
    assert kellet_power_gain() == pytest.approx(np.sum(h**2), rel=1e-12)


@pytest.mark.parametrize("color", ["pink", "brown"])
def test_coloured_noise_starts_at_full_level(color):
    # Filters that started from rest would make the first samples far quieter
    # (brown: -25 dB, pink: -5 dB); a stationary start keeps them at the RMS level.
    out = run_node(
        noise, make_ctx("source.noise"), color=color, amplitude=0.1, duration_s=1e-4, channels=64
    )
    first = out.samples[:, :2].astype(np.float64)
    assert np.sqrt(np.mean(first**2)) == pytest.approx(0.1, rel=0.2)


def test_noise_infer_predicts_shape():
    ctx = make_ctx("source.noise", 22050.0)
    out = run_node(noise, ctx, color="pink", duration_s=0.3, channels=4)
    assert infer_node(noise, ctx, duration_s=0.3, channels=4)["out"].shape == out.samples.shape
    with pytest.raises(ParamError, match="shorter than one sample"):
        infer_node(noise, ctx, duration_s=1e-5)


# --------------------------------------------------------------------------- file


def sine(frequency: float, frames: int, sample_rate: float, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * frequency * np.arange(frames) / sample_rate)


@pytest.mark.parametrize(
    ("name", "subtype", "atol"),
    [
        ("a.wav", "PCM_16", 1 / 32768),
        ("b.wav", "PCM_24", 2.0**-23),
        ("c.wav", "FLOAT", 2.0**-25),  # float32 rounding of values below 1
        ("d.flac", "PCM_24", 2.0**-23),
        ("e.ogg", "VORBIS", None),
    ],
)
def test_file_round_trip(tmp_path, name, subtype, atol):
    left = sine(440.0, 20_000, SR)
    right = sine(660.0, 20_000, SR, 0.25)
    path = tmp_path / name
    soundfile.write(path, np.stack([left, right], axis=1), int(SR), subtype=subtype)
    ctx = make_ctx("source.file")
    out = run_node(audio_file, ctx, path=str(path))
    assert out.samples.shape == (2, 20_000) and out.sample_rate == SR
    assert infer_node(audio_file, ctx, path=str(path))["out"].shape == out.samples.shape
    if atol is None:  # lossy: check the content survived, not the samples
        assert zero_crossing_frequency(out.samples[0, 1000:-1000], SR) == pytest.approx(
            440.0, rel=1e-3
        )
        error = out.samples[:, 1000:-1000] - np.stack([left, right])[:, 1000:-1000]
        assert np.sqrt(np.mean(error**2)) < 0.01
    else:
        np.testing.assert_allclose(out.samples[0], left, rtol=0, atol=atol)
        np.testing.assert_allclose(out.samples[1], right, rtol=0, atol=atol)


def test_file_is_resampled_to_the_graph_rate(tmp_path):
    path = tmp_path / "tone48k.wav"
    soundfile.write(path, sine(1000.0, 48000, 48000.0), 48000, subtype="FLOAT")
    ctx = make_ctx("source.file", SR)
    out = run_node(audio_file, ctx, path=str(path))
    assert out.samples.shape == infer_node(audio_file, ctx, path=str(path))["out"].shape
    assert out.samples.shape == (1, 44100) and out.sample_rate == SR
    middle = out.samples[0, 2000:-2000].astype(np.float64)
    assert zero_crossing_frequency(middle, SR) == pytest.approx(1000.0, rel=1e-5)
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / math.sqrt(2), rel=1e-3)


@pytest.mark.parametrize(
    ("frames", "file_rate", "graph_rate"),
    [
        (12345, 22050, 44100.0),
        (99999, 48000, 44100.0),
        (7, 44100, 48000.0),
        (1001, 44100, 22050.0),  # 500.5 -> 501
        (90520, 24000, 44100.0),  # 166330.5 -> 166330 in libsoxr's double arithmetic
    ],
)
def test_infer_predicts_the_resampled_length(tmp_path, frames, file_rate, graph_rate):
    path = tmp_path / "x.wav"
    soundfile.write(path, np.zeros((frames, 2)), file_rate)
    ctx = make_ctx("source.file", graph_rate)
    out = run_node(audio_file, ctx, path=str(path))
    predicted = infer_node(audio_file, ctx, path=str(path))["out"].shape
    assert out.samples.shape == predicted == (2, resampled_frames(frames, file_rate, graph_rate))


def test_file_mono_mixdown_is_the_channel_mean(tmp_path):
    left = sine(300.0, 5000, SR)
    right = sine(500.0, 5000, SR, 0.3)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1), int(SR), subtype="FLOAT")
    ctx = make_ctx("source.file")
    out = run_node(audio_file, ctx, path=str(path), mono=True)
    assert out.samples.shape == (1, 5000)
    assert infer_node(audio_file, ctx, path=str(path), mono=True)["out"].shape == (1, 5000)
    np.testing.assert_allclose(out.samples[0], (left + right) / 2, atol=1e-7)


@pytest.mark.parametrize(
    ("content", "reason"), [(b"RIFF\x00\x00\x00\x00garbage" * 20, "format"), (None, "no such file")]
)
def test_unreadable_file_is_a_param_error_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "broken.wav"
    if content is not None:
        path.write_bytes(content)
    ctx = make_ctx("source.file", node_id="src")
    with pytest.raises(ParamError, match=rf"cannot read audio file 'broken\.wav': .*{reason}") as e:
        infer_node(audio_file, ctx, path=str(path))
    assert e.value.port_or_param == "path" and e.value.node_id == "src"
    with pytest.raises(ParamError, match=r"cannot read audio file 'broken\.wav'"):
        run_node(audio_file, ctx, path=str(path))


def test_empty_file_gives_empty_audio(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros((0, 2)), 48000)
    ctx = make_ctx("source.file")
    out = run_node(audio_file, ctx, path=str(path))
    assert out.samples.shape == infer_node(audio_file, ctx, path=str(path))["out"].shape == (2, 0)


def test_an_unknown_noise_color_is_refused_by_its_declared_choices():
    error = validation_error("source.noise", color="grey")
    assert isinstance(error, ParamError) and error.port_or_param == "color"
    assert "'grey' is not one of white, pink, brown" in error.message
