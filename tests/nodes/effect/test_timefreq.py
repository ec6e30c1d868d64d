"""effect.speed, resample, effect.time_stretch, effect.pitch_shift, effect.frequency_shift.

Frequencies are measured by a zero-padded, Hann-windowed FFT with parabolic
interpolation of the peak (error well under 0.01 % on these lengths); f0 by
librosa's YIN as an independent reference. Round-trip quality is the mean
absolute difference of log-mel spectrograms (librosa, 64 bands, 80 dB floor).
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


def cents(measured: float, target: float) -> float:
    return 1200.0 * abs(np.log2(measured / target))


def music_like(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Chords of decaying harmonic notes (with vibrato) over noise-burst drums, mono."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    t = np.arange(n) / SR
    x = np.zeros(n)
    for start in np.arange(0.0, seconds, 0.5):
        for midi in rng.choice([48, 52, 55, 57, 60, 64, 67, 69, 72], 3, replace=False):
            f0 = 440.0 * 2 ** ((midi - 69) / 12)
            local = np.clip(t - start, 0.0, None)
            phase = 2 * np.pi * f0 * (local + 0.002 * np.sin(2 * np.pi * 5 * local))
            note = sum(np.sin(k * phase) / k for k in range(1, 7))
            x += 0.08 * note * np.exp(-3.0 * local) * (t >= start)
    for hit in np.arange(0.25, seconds, 0.25):
        i = round(hit * SR)
        burst = rng.standard_normal(min(2000, n - i)) * np.exp(-np.arange(min(2000, n - i)) / 300)
        x[i : i + burst.size] += 0.3 * burst
    return x


def log_mel_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |dB| difference of 64-band log-mel spectrograms (80 dB floor), over the shorter."""
    n = min(a.size, b.size)

    def db(y: np.ndarray) -> np.ndarray:
        mel = librosa.feature.melspectrogram(y=y[:n].astype(np.float32), sr=SR, n_mels=64)
        return librosa.power_to_db(mel, ref=1.0, top_db=80.0)

    return float(np.mean(np.abs(db(a) - db(b))))


def click_train(seconds: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    period = round(0.25 * SR)
    x = np.zeros(round(seconds * SR))
    positions = np.arange(period // 2, x.size, period)
    x[positions] = 0.9
    return x, positions


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


@pytest.mark.parametrize("method", ["signalsmith", "hpss"])
@pytest.mark.parametrize("rate", [0.5, 0.8, 1.25, 2.0])
def test_time_stretch_keeps_clicks_single(rate, method):
    x, positions = click_train()
    period = round(0.25 * SR)
    ctx = make_ctx("effect.time_stretch")
    y = run_node(time_stretch, ctx, Audio(x, SR), rate=rate, method=method).samples[0]
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


@pytest.mark.parametrize("rate", [0.5, 0.8, 1.25, 2.0])
def test_time_stretch_is_latency_compensated(rate):
    """Each click's onset (its loudest sample) lands within 1 ms of its scaled time."""
    x, positions = click_train()
    y = run_node(time_stretch, make_ctx("effect.time_stretch"), Audio(x, SR), rate=rate)
    y = np.abs(y.samples[0].astype(np.float64))
    half = round(0.1 * SR / rate)
    for p in positions:
        centre = round(p / rate)
        start = max(0, centre - half)
        onset = start + int(np.argmax(y[start : centre + half]))
        assert abs(onset - centre) <= 0.001 * SR, f"click at {p / SR:.3f} s lands off"


@pytest.mark.parametrize("rate", [0.5, 0.8, 1.25, 2.0])
def test_time_stretch_holds_a_440_hz_tone_within_a_cent(rate):
    t = np.arange(round(2.0 * SR)) / SR
    x = np.stack([0.5 * np.sin(2 * np.pi * 440.0 * t), 0.3 * np.sin(2 * np.pi * 440.0 * t)])
    y = run_node(time_stretch, make_ctx("effect.time_stretch"), Audio(x, SR), rate=rate).samples
    assert y.shape == (2, round(x.shape[1] / rate))
    for row in y:
        assert cents(peak_hz(row[4096:-4096], 400, 480), 440.0) < 1.0


def test_time_stretch_round_trip_beats_the_hpss_method():
    """Stretch by r then 1/r: the default comes back closer to the input than hpss does."""
    x = music_like(3.0)
    ctx = make_ctx("effect.time_stretch")
    for rate in (0.8, 1.25):
        distances = {}
        for method in ("signalsmith", "hpss"):
            there = run_node(time_stretch, ctx, Audio(x, SR), rate=rate, method=method)
            back = run_node(time_stretch, ctx, there, rate=1.0 / rate, method=method)
            assert back.frames == x.size
            distances[method] = log_mel_distance(x, back.samples[0])
        assert distances["signalsmith"] < 0.7 * distances["hpss"], distances


def test_time_stretch_is_deterministic_and_keeps_three_channels_apart():
    rng = np.random.default_rng(3)
    x = rng.uniform(-0.5, 0.5, (3, 20000))
    x[2] = 0.0
    ctx = make_ctx("effect.time_stretch")
    first = run_node(time_stretch, ctx, Audio(x, SR), rate=0.7).samples
    again = run_node(time_stretch, ctx, Audio(x, SR), rate=0.7).samples
    np.testing.assert_array_equal(first, again)
    assert first.shape == (3, round(20000 / 0.7))
    assert np.abs(first[2]).max() == 0.0 and np.abs(first[0]).max() > 0.1


@pytest.mark.parametrize("node", [time_stretch, pitch_shift])
def test_read_only_input_as_the_cache_hands_it_over(node):
    x = np.random.default_rng(4).uniform(-0.5, 0.5, (2, 8000)).astype(np.float32)
    frozen = x.copy()
    frozen.setflags(write=False)
    ctx = make_ctx(node.spec.type_id)
    change = {"rate": 0.8} if node is time_stretch else {"shift_semitones": 3.0}
    expected = run_node(node, ctx, Audio(x, SR), **change).samples
    np.testing.assert_array_equal(
        run_node(node, ctx, Audio(frozen, SR), **change).samples, expected
    )


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


@pytest.mark.parametrize("method", ["signalsmith", "hpss"])
def test_pitch_shift_by_a_fifth_within_a_cent(method):
    t = np.arange(round(2.0 * SR)) / SR
    x = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    ctx = make_ctx("effect.pitch_shift")
    y = run_node(pitch_shift, ctx, Audio(x, SR), shift_semitones=7.0, method=method).samples[0]
    assert y.size == x.size
    target = 440.0 * 2 ** (7 / 12)
    assert cents(peak_hz(y[4096:-4096], 600, 720), target) < 1.0


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
