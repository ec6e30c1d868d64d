"""denoise.spectral_subtraction, denoise.wiener and echo.cancel, by measured SNR and ERLE."""

from __future__ import annotations

import numpy as np
import pytest
from node_harness import infer_node, make_ctx, run_node, validation_error
from scipy.ndimage import uniform_filter1d

from graphengine.errors import ParamError, PortError
from graphengine.node import PortInfo
from graphengine.types import Audio
from nodes.denoise.enhance import echo_cancel, spectral_subtraction, wiener

SR = 44100.0
LEAD_S = 1.0  # noise alone before the signal starts


def clean_signal(kind: str) -> np.ndarray:
    """A 1 kHz sine, or a speech-like vibrato harmonic tone in 200 ms syllables."""
    t = np.arange(round(4 * SR)) / SR
    on = t >= LEAD_S
    if kind == "sine":
        x = np.sin(2 * np.pi * 1000 * t) * on
    else:
        phase = 2 * np.pi * np.cumsum(150 * (1 + 0.03 * np.sin(2 * np.pi * 3 * t))) / SR
        syllables = uniform_filter1d((((t * 1000) % 300) < 200) * on * 1.0, 441)
        x = sum(np.sin(k * phase) / k for k in range(1, 15)) * syllables
    return x * 0.2 / np.std(x[on])


def snr_db(clean: np.ndarray, y: np.ndarray) -> float:
    part = slice(round(LEAD_S * SR), None)
    return float(10 * np.log10(np.sum(clean[part] ** 2) / np.sum((y - clean)[part] ** 2)))


@pytest.mark.parametrize("kind", ["sine", "speech"])
@pytest.mark.parametrize("node_fn", [spectral_subtraction, wiener], ids=lambda f: f.spec.type_id)
@pytest.mark.parametrize("estimate", ["noise input", "leading"])
def test_denoise_improves_snr_by_8_db_at_0_db(kind, node_fn, estimate):
    rng = np.random.default_rng(7)
    clean = clean_signal(kind)
    level = np.std(clean[round(LEAD_S * SR) :])
    noisy = clean + level * rng.standard_normal(clean.size)
    assert abs(snr_db(clean, noisy)) < 0.2  # 0 dB SNR
    ctx = make_ctx(node_fn.spec.type_id)
    if estimate == "noise input":
        noise_only = Audio(level * rng.standard_normal(round(SR)), SR)
        y = run_node(node_fn, ctx, Audio(noisy, SR), noise_only)
    else:
        y = run_node(node_fn, ctx, Audio(noisy, SR), noise_estimate="leading", noise_ms=900.0)
    assert y.samples.shape == (1, clean.size)
    assert snr_db(clean, y.samples[0].astype(np.float64)) >= 8.0


@pytest.mark.parametrize("node_fn", [spectral_subtraction, wiener], ids=lambda f: f.spec.type_id)
def test_minimum_statistics_tracks_noise_without_a_quiet_start(node_fn):
    rng = np.random.default_rng(8)
    clean = clean_signal("speech")
    noisy = clean + np.std(clean[round(SR) :]) * rng.standard_normal(clean.size)
    y = run_node(node_fn, make_ctx("x"), Audio(noisy, SR))
    assert snr_db(clean, y.samples[0].astype(np.float64)) >= 3.0


def test_denoise_checks_the_noise_input_against_the_signal():
    ctx = make_ctx("denoise.wiener", node_id="clean")
    signal = PortInfo("audio", (2, 1000), SR)
    with pytest.raises(PortError, match="noise is at 48000 Hz but in at 44100 Hz") as caught:
        infer_node(wiener, ctx, {"in": signal, "noise": PortInfo("audio", (2, 100), 48000.0)})
    assert caught.value.port_or_param == "noise" and caught.value.node_id == "clean"
    with pytest.raises(PortError, match="noise has 3 channels but in has 2"):
        infer_node(wiener, ctx, {"in": signal, "noise": PortInfo("audio", (3, 100), SR)})
    mono = infer_node(wiener, ctx, {"in": signal, "noise": PortInfo("audio", (1, 10), SR)})
    assert mono["out"].shape == (2, 1000)


def test_echo_cancel_reaches_20_db_erle_on_a_64_tap_path():
    rng = np.random.default_rng(9)
    frames = round(3 * SR)
    far = 0.3 * rng.standard_normal(frames)
    path = rng.standard_normal(64) * np.exp(-np.arange(64) / 12.0)
    path *= 0.6 / np.linalg.norm(path)
    echo = np.convolve(far, path)[:frames]
    near = 0.3 * 10 ** (-40 / 20) * rng.standard_normal(frames)  # near-end noise, 40 dB down
    mic = np.stack([echo + near, 0.5 * echo + near])
    out = run_node(
        echo_cancel,
        make_ctx("denoise.echo_cancel"),
        Audio(mic, SR),
        Audio(far, SR),
        taps=128,
        step=0.5,
    ).samples.astype(np.float64)
    assert out.shape == mic.shape
    converged = slice(frames // 2, None)
    for c, gain in enumerate((1.0, 0.5)):
        residual = out[c, converged] - near[converged]
        erle = 10 * np.log10(np.sum((gain * echo[converged]) ** 2) / np.sum(residual**2))
        assert erle >= 20.0


def test_echo_cancel_names_both_ports_on_a_mismatch():
    ctx = make_ctx("denoise.echo_cancel", node_id="aec")
    mic = PortInfo("audio", (2, 100), SR)
    with pytest.raises(PortError, match="reference is at 22050 Hz but mic at 44100 Hz") as caught:
        infer_node(
            echo_cancel, ctx, {"mic": mic, "reference": PortInfo("audio", (1, 100), 22050.0)}
        )
    assert caught.value.port_or_param == "reference"
    with pytest.raises(PortError, match="reference has 3 channels but mic has 2"):
        infer_node(echo_cancel, ctx, {"mic": mic, "reference": PortInfo("audio", (3, 100), SR)})
    with pytest.raises(PortError, match="reference has 3 channels"):
        run_node(
            echo_cancel,
            ctx,
            Audio(np.zeros((2, 100)), SR),
            Audio(np.zeros((3, 100)), SR),
        )


@pytest.mark.parametrize(
    ("type_id", "params", "name", "fragment"),
    [
        ("denoise.wiener", {"in_": "src", "n_fft": 1000}, "n_fft", "1000 is not one of 256, 512"),
        (
            "denoise.spectral_subtraction",
            {"in_": "src", "n_fft": 300},
            "n_fft",
            "300 is not one of 256, 512",
        ),
        (
            "denoise.echo_cancel",
            {"mic": "src", "reference": "src", "step": 2.0},
            "step",
            "2.0 is out of range [0.0001, 1.999]",
        ),
    ],
)
def test_declared_rules_are_checked_by_the_engine(type_id, params, name, fragment):
    tone = {"src": {"type": "source.tone", "duration_s": 0.1}}
    error = validation_error(type_id, upstream=tone, **params)
    assert isinstance(error, ParamError) and fragment in error.message, error
    assert error.node_id == "n" and error.port_or_param == name and error.node_type == type_id
