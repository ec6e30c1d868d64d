"""effect.speed, resample, effect.time_stretch, effect.pitch_shift, effect.frequency_shift.

Frequencies are measured by a zero-padded, Hann-windowed FFT with parabolic
interpolation of the peak (error well under 0.01 % on these lengths); f0 by
librosa's YIN as an independent reference.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from node_harness import infer_node, make_ctx, run_node

import graphengine as ge
from graphengine.errors import GraphError, ParamError
from graphengine.node import PortInfo
from graphengine.types import Audio
from nodes.effect.timefreq import frequency_shift, pitch_shift, speed, time_stretch
from nodes.signal.resample import resample

SR = 44100.0
F0 = 220.0


def harmonic_tone(seconds: float = 1.5, f0: float = F0, partials: int = 5) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, partials + 1))


def peak_hz(y: np.ndarray, low: float, high: float) -> float:
    n = y.size
    spectrum = np.abs(np.fft.rfft(y * np.hanning(n), 8 * n))
    freqs = np.fft.rfftfreq(8 * n, 1 / SR)
    band = (freqs > low) & (freqs < high)
    i = int(np.argmax(np.where(band, spectrum, 0)))
    a, b, c = np.log(spectrum[i - 1 : i + 2])
    return float(freqs[i] + 0.5 * (a - c) / (a - 2 * b + c) * (freqs[1] - freqs[0]))


def yin_f0(y: np.ndarray) -> float:
    f = librosa.yin(y.astype(np.float64), fmin=60, fmax=1000, sr=SR, frame_length=4096)
    return float(np.median(f[4:-4]))


def test_speed_half_doubles_duration_and_halves_every_partial():
    x = harmonic_tone(1.0)
    out = run_node(speed, make_ctx("effect.speed"), Audio(x, SR), factor=0.5).samples[0]
    assert out.size == 2 * x.size
    for k in range(1, 6):
        measured = peak_hz(out, k * F0 / 2 - 20, k * F0 / 2 + 20)
        assert measured == pytest.approx(k * F0 / 2, rel=1e-3)
    info = infer_node(speed, make_ctx("effect.speed"), {"in": PortInfo("audio", (1, 44100), SR)})
    assert info["out"].shape == (1, 44100)
    shape = infer_node(
        speed, make_ctx("effect.speed"), {"in": PortInfo("audio", (2, 44101), SR)}, factor=3.0
    )["out"].shape
    assert shape == (2, round(44101 / 3))


def test_resample_keeps_pitch_and_duration():
    x = harmonic_tone(1.0)
    out = run_node(resample, make_ctx("signal.resample"), Audio(x, SR), rate_hz=48000.0)
    assert out.sample_rate == 48000.0 and out.frames == 48000
    reference = librosa.resample(x, orig_sr=SR, target_sr=48000, res_type="soxr_vhq")
    np.testing.assert_allclose(out.samples[0], reference[:48000], atol=1e-5)


@pytest.mark.parametrize("rate", [0.5, 0.8, 1.25, 2.0])
def test_time_stretch_keeps_f0_and_scales_duration(rate):
    x = harmonic_tone(1.5)
    out = run_node(time_stretch, make_ctx("effect.time_stretch"), Audio(x, SR), rate=rate)
    y = out.samples[0]
    assert abs(y.size - x.size / rate) <= 0.01 * x.size / rate
    assert y.size == round(x.size / rate)
    assert yin_f0(y) == pytest.approx(F0, rel=0.01)
    assert peak_hz(y[2048:-2048], 200, 240) == pytest.approx(F0, rel=1e-3)
    assert peak_hz(y[2048:-2048], 640, 680) == pytest.approx(3 * F0, rel=1e-3)


@pytest.mark.parametrize("rate", [0.5, 0.8, 1.25, 2.0])
def test_time_stretch_keeps_clicks_single(rate):
    period = round(0.25 * SR)
    x = np.zeros(round(2 * SR))
    positions = np.arange(period // 2, x.size, period)
    x[positions] = 0.9
    y = run_node(time_stretch, make_ctx("effect.time_stretch"), Audio(x, SR), rate=rate).samples[0]
    window = round(0.010 * SR)
    for p in positions:
        centre, half = round(p / rate), round(period / rate / 2)
        region = y[max(0, centre - half) : centre + half].astype(np.float64) ** 2
        peak = int(np.argmax(region))
        near = region[max(0, peak - window) : peak + window].sum()
        assert near >= 0.99 * region.sum(), f"click at {p} smeared"  # one click, within 10 ms
        assert abs(max(0, centre - half) + peak - centre) <= window
    # librosa's plain phase vocoder smears the same clicks (what the method choice avoids)
    smeared = librosa.effects.time_stretch(x, rate=0.5)
    region = smeared[round(positions[2] / 0.5) - period : round(positions[2] / 0.5) + period] ** 2
    peak = int(np.argmax(region))
    assert region[peak - window : peak + window].sum() < 0.9 * region.sum()


@pytest.mark.parametrize("semitones", [12.0, -12.0])
def test_pitch_shift_by_an_octave(semitones):
    x = harmonic_tone(1.0)
    out = run_node(
        pitch_shift, make_ctx("effect.pitch_shift"), Audio(x, SR), shift_semitones=semitones
    )
    y = out.samples[0]
    assert y.size == x.size
    target = F0 * 2 ** (semitones / 12)
    assert peak_hz(y[2048:-2048], 0.9 * target, 1.1 * target) == pytest.approx(target, rel=0.01)
    assert yin_f0(y) == pytest.approx(target, rel=0.01)


def test_pitch_shift_in_cents():
    x = harmonic_tone(1.0)
    y = run_node(pitch_shift, make_ctx("effect.pitch_shift"), Audio(x, SR), shift_cents=50.0)
    target = F0 * 2 ** (0.5 / 12)
    assert peak_hz(y.samples[0][2048:-2048], 215, 240) == pytest.approx(target, rel=1e-3)


def test_frequency_shift_moves_440_to_540_with_the_image_40_db_down():
    t = np.arange(round(SR)) / SR
    x = Audio(0.5 * np.sin(2 * np.pi * 440 * t), SR)
    y = run_node(frequency_shift, make_ctx("effect.frequency_shift"), x, shift_hz=100.0)
    samples = y.samples[0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    freqs = np.fft.rfftfreq(samples.size, 1 / SR)
    wanted = spectrum[np.abs(freqs - 540) < 3].max()
    image = spectrum[np.abs(freqs - 340) < 3].max()
    original = spectrum[np.abs(freqs - 440) < 3].max()
    assert 20 * np.log10(image / wanted) < -40
    assert 20 * np.log10(original / wanted) < -40
    assert peak_hz(samples, 500, 580) == pytest.approx(540.0, abs=0.05)


def test_frequency_shift_must_stay_below_nyquist():
    with pytest.raises(ParamError, match="Nyquist") as caught:
        infer_node(
            frequency_shift,
            make_ctx("effect.frequency_shift"),
            {"in": PortInfo("audio", (1, 10), SR)},
            shift_hz=30000.0,
        )
    assert caught.value.port_or_param == "shift_hz"


@pytest.mark.parametrize(
    ("node_type", "name", "value"),
    [
        ("effect.speed", "factor", 0),
        ("effect.speed", "factor", -1.0),
        ("effect.speed", "factor", 1e6),
        ("effect.time_stretch", "rate", 0),
        ("effect.time_stretch", "rate", -0.5),
        ("effect.time_stretch", "rate", 1000.0),
        ("signal.resample", "rate_hz", 0),
        ("signal.resample", "rate_hz", 1e9),
        ("effect.pitch_shift", "shift_semitones", 100.0),
    ],
)
def test_bad_rates_and_factors_are_validation_errors(node_type, name, value):
    graph = ge.Graph(sample_rate=SR)
    graph.add("src", "source.tone", duration_s=0.1)
    graph.add("fx", node_type, **{name: value})
    graph.connect("src", "fx.in")
    with pytest.raises(GraphError, match=rf"fx\.{name} \[{node_type}\]"):
        graph.validate()
