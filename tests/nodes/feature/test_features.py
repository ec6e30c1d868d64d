"""feature.*: every feature equals the librosa function called with the same parameters."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from node_harness import infer_node, make_ctx, run_node, validation_error

import graphengine as ge
from graphengine.errors import ParamError
from graphengine.node import PortInfo
from graphengine.types import Audio, Features
from nodes.feature import extract as F
from nodes.feature import wavelet as wavelets
from nodes.spectral import stft as spectral

SR = 22050


def make_signal(kind: str, seconds: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * SR)) / SR
    if kind == "noise":
        y = 0.2 * rng.standard_normal(t.size)
    elif kind == "tones":  # an A minor chord, slightly detuned (exercises the tuning estimate)
        y = sum(0.2 * np.sin(2 * np.pi * f * 1.004 * t) for f in (220.0, 261.63, 329.63))
    else:  # a chirp over a soft noise floor, with a silent stretch
        y = 0.4 * np.sin(2 * np.pi * (80 * t + 600 * t**2)) + 0.01 * rng.standard_normal(t.size)
        y[: SR // 4] = 0.0
    return y.astype(np.float32)


SIGNALS = ("noise", "tones", "chirp")


def spectrum_of(y: np.ndarray, **params):
    return run_node(spectral.stft, make_ctx("spectral.stft", SR), Audio(y, SR), **params)


def close(ours: Features, ref: np.ndarray, rtol: float = 1e-4) -> None:
    ref = np.asarray(ref, dtype=np.float64).reshape(ours.values.shape[1:])
    scale = np.abs(ref).max()
    np.testing.assert_allclose(ours.values[0], ref, rtol=rtol, atol=1e-5 * scale + 1e-12)


CASES = {
    "centroid": (F.centroid, {}, lambda y: librosa.feature.spectral_centroid(y=y, sr=SR)),
    "bandwidth": (F.bandwidth, {}, lambda y: librosa.feature.spectral_bandwidth(y=y, sr=SR)),
    "bandwidth_p1": (
        F.bandwidth,
        {"p": 1.0},
        lambda y: librosa.feature.spectral_bandwidth(y=y, sr=SR, p=1),
    ),
    "rolloff": (
        F.rolloff,
        {"roll_percent": 0.9},
        lambda y: librosa.feature.spectral_rolloff(y=y, sr=SR, roll_percent=0.9),
    ),
    "flatness": (F.flatness, {}, lambda y: librosa.feature.spectral_flatness(y=y)),
    "contrast": (F.contrast, {}, lambda y: librosa.feature.spectral_contrast(y=y, sr=SR)),
    "rms": (F.rms, {}, lambda y: librosa.feature.rms(S=np.abs(librosa.stft(y)))),
    "mfcc": (
        F.mfcc,
        {"n_mfcc": 13, "lifter": 22.0},
        lambda y: librosa.feature.mfcc(y=y, sr=SR, n_mfcc=13, lifter=22),
    ),
    "chroma": (F.chroma, {}, lambda y: librosa.feature.chroma_stft(y=y, sr=SR)),
    "onset": (F.onset_strength, {}, lambda y: librosa.onset.onset_strength(y=y, sr=SR)),
    "tempo": (
        F.tempo,
        {"aggregate": "none"},
        lambda y: librosa.feature.tempo(y=y, sr=SR, aggregate=None),
    ),
}


@pytest.mark.parametrize("kind", SIGNALS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_spectral_feature_equals_librosa(case, kind):
    fn, params, reference = CASES[case]
    y = make_signal(kind)
    out = run_node(fn, make_ctx(fn.spec.type_id, SR), spectrum_of(y), **params)
    assert out.frame_rate == SR / 512
    close(out, reference(y))


def test_mfcc_atol_scales_with_the_coefficients():
    # mfcc coefficients cross zero, so relative error alone is meaningless there.
    y = make_signal("chirp")
    out = run_node(F.mfcc, make_ctx("feature.mfcc", SR), spectrum_of(y))
    ref = librosa.feature.mfcc(y=y, sr=SR)
    np.testing.assert_allclose(out.values[0], ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    assert out.names[3] == "mfcc_3"


def test_chroma_tuning_estimate_is_librosas():
    y = make_signal("tones")
    power = np.abs(librosa.stft(y)) ** 2
    ours = F.estimate_tuning(power, SR, 2048, 12)
    assert ours == pytest.approx(librosa.estimate_tuning(S=power, sr=SR, bins_per_octave=12))
    assert ours != 0.0  # the chord is detuned by +7 cents


@pytest.mark.parametrize("kind", SIGNALS)
def test_zcr_equals_librosa(kind):
    y = make_signal(kind)
    out = run_node(F.zcr, make_ctx("feature.zcr", SR), Audio(y, SR))
    close(out, librosa.feature.zero_crossing_rate(y))


def test_pitch_yin_equals_librosa_and_finds_the_tone():
    t = np.arange(SR) / SR
    y = (0.5 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    out = run_node(
        F.pitch,
        make_ctx("feature.pitch", SR),
        Audio(y, SR),
        method="yin",
        fmin_hz=100.0,
        fmax_hz=1000.0,
    )
    ref = librosa.yin(y, fmin=100, fmax=1000, sr=SR)
    close(out, ref)
    assert np.median(out.values[0, 0]) == pytest.approx(330, rel=1e-3)


def test_multichannel_is_per_channel():
    left, right = make_signal("chirp"), make_signal("tones")
    spec = run_node(
        spectral.stft, make_ctx("spectral.stft", SR), Audio(np.stack([left, right]), SR)
    )
    out = run_node(F.mfcc, make_ctx("feature.mfcc", SR), spec)
    for c, y in enumerate((left, right)):
        ref = librosa.feature.mfcc(y=y, sr=SR)
        np.testing.assert_allclose(out.values[c], ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_summary_names_and_values():
    values = np.arange(24, dtype=np.float32).reshape(1, 2, 12)
    feats = Features(values, 10.0, ("mfcc_0", "mfcc_3"))
    out = run_node(F.summary, make_ctx("feature.summary"), feats, percentiles=[50.0, 90.0])
    expected = [
        f"mfcc_{k}_{s}" for k in (0, 3) for s in ("mean", "std", "min", "max", "p50", "p90")
    ]
    assert list(out.names) == expected
    row = values[0, 1]
    np.testing.assert_allclose(
        out.values[6:],
        [
            row.mean(),
            row.std(),
            row.min(),
            row.max(),
            np.percentile(row, 50),
            np.percentile(row, 90),
        ],
        rtol=1e-6,
    )


def test_stack_joins_rows_and_checks_frames():
    a = Features(np.zeros((1, 2, 5)), 10.0, ("a", "b"))
    b = Features(np.ones((1, 1, 5)), 10.0, ("a",))
    out = run_node(F.stack, make_ctx("feature.stack"), [a, b])
    assert out.values.shape == (1, 3, 5) and out.names == ("a", "b", "a_2")
    with pytest.raises(Exception, match="frame counts"):
        infer_node(
            F.stack,
            make_ctx("feature.stack"),
            {"in": [PortInfo("features", (1, 2, 5)), PortInfo("features", (1, 1, 6))]},
        )


def test_wavelet_energy_is_parseval_and_finds_the_octave():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4096)
    coeffs = wavelets.wavedec(x, 4, 5)
    assert sum(float(np.sum(c * c)) for c in coeffs) == pytest.approx(float(np.sum(x * x)))
    for p in (1, 2, 4, 8):
        lo, hi = wavelets.filter_pair(p)
        assert np.sum(lo) == pytest.approx(np.sqrt(2)) and np.dot(lo, hi) == pytest.approx(0)
    np.testing.assert_allclose(
        wavelets.daubechies(2), [0.48296291, 0.8365163, 0.22414387, -0.12940952]
    )
    t = np.arange(SR) / SR  # 4 kHz sits in d2 (2.76 .. 5.5 kHz at 22.05 kHz)
    tone = Audio((0.5 * np.sin(2 * np.pi * 4000 * t)).astype(np.float32), SR)
    out = run_node(wavelets.wavelet_energy, make_ctx("feature.wavelet_energy", SR), tone)
    assert out.names[1] == "wavelet_d2_energy" and np.argmax(out.values) == 1
    assert out.values.sum() == pytest.approx(1.0, rel=1e-6)


def test_bad_feature_parameters_name_the_parameter():
    spec = PortInfo("spectrum", (1, 1025, 10), SR, itemsize=8)
    with pytest.raises(ParamError, match="Nyquist") as caught:
        infer_node(F.contrast, make_ctx("feature.contrast", SR), {"in": spec}, n_bands=8)
    assert caught.value.port_or_param == "n_bands"
    upstream = {
        "src": {"type": "source.tone", "duration_s": 0.1},
        "spec": {"type": "spectral.stft", "in": "src"},
    }
    error = validation_error(
        "feature.mfcc", sample_rate=SR, upstream=upstream, in_="spec", fmax_hz=20000.0
    )
    assert isinstance(error, ParamError) and error.port_or_param == "fmax_hz"
    assert f"20000 Hz is above Nyquist ({SR / 2:g} Hz at {SR:g} Hz)" in error.message
    error = validation_error("feature.mfcc", upstream=upstream, in_="spec", n_mfcc=200)
    assert error.port_or_param == "n_mfcc" and "200 is above n_mels (128)" in error.message
    error = validation_error("feature.mfcc", upstream=upstream, in_="spec", lifter=-1.0)
    assert error.port_or_param == "lifter" and "-1.0 is out of range [0, inf]" in error.message
    tone = {"src": upstream["src"]}
    error = validation_error("feature.wavelet_energy", upstream=tone, in_="src", wavelet="db21")
    assert error.port_or_param == "wavelet" and error.node_id == "n"
    assert "'db21' is not one of db1, db2" in error.message
    error = validation_error("feature.wavelet_energy", upstream=tone, in_="src", levels=0)
    assert error.port_or_param == "levels" and "0 is out of range [1, 30]" in error.message


def test_five_features_share_one_stft():
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.chirp", start_hz=100, end_hz=3000, duration_s=1.0)
    g.add("spec", "spectral.stft", in_="src")
    for name, kind in (
        ("mfcc", "feature.mfcc"),
        ("chroma", "feature.chroma"),
        ("centroid", "feature.centroid"),
        ("bandwidth", "feature.bandwidth"),
        ("mel", "spectral.mel"),
    ):
        g.add(name, kind, in_="spec")
    result = g.run(outputs=["src", "mfcc", "chroma", "centroid", "bandwidth", "mel"], cache=False)
    stfts = [s for s in result.stats if s.type == "spectral.stft"]
    assert len(stfts) == 1 and stfts[0].status == "computed"
    y = result["src"].samples[0]
    close(result["centroid"], librosa.feature.spectral_centroid(y=y, sr=SR))


def test_pitch_names_frame_length_in_its_errors():
    tone = {"src": {"type": "source.tone", "duration_s": 0.1}}
    error = validation_error("feature.pitch", upstream=tone, in_="src", frame_length=0)
    assert error.port_or_param == "frame_length" and "out of range [1, inf]" in error.message
    error = validation_error("feature.pitch", upstream=tone, in_="src", hop=4096)
    assert error.port_or_param == "hop" and "4096 is above frame_length (2048)" in error.message
    error = validation_error("feature.pitch", upstream=tone, in_="src", fmin_hz=3000.0)
    assert error.port_or_param == "fmin_hz"
    assert "3000 Hz is not below fmax_hz (2093 Hz)" in error.message
