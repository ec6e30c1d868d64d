"""denoise.wavelet: SNR gain on speech-like signals, scikit-image as reference, SURE."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pywt
from node_harness import make_ctx, run_node, validation_error
from skimage.restoration import denoise_wavelet as skimage_denoise
from speechlike import HIGH, LOW, speech_like

from graphengine.errors import ParamError
from graphengine.types import Audio
from nodes.denoise.wavelet import mad_sigma, sure_threshold, wavelet_denoise


def snr_db(clean: np.ndarray, y: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(clean**2) / np.sum((y - clean) ** 2)))


def noisy_at(clean: np.ndarray, snr: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(clean.size)
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2)) * 10 ** (-snr / 20)
    return clean + noise


@pytest.mark.parametrize(("speaker", "rate"), [(HIGH, 16000.0), (LOW, 44100.0)])
def test_defaults_gain_6_db_on_speech_in_white_noise_at_5_db(speaker, rate):
    clean = speech_like(4.0, rate, speaker)
    noisy = noisy_at(clean, 5.0, seed=11)
    assert snr_db(clean, noisy) == pytest.approx(5.0, abs=1e-9)
    out = run_node(wavelet_denoise, make_ctx("denoise.wavelet", rate), Audio(noisy, rate))
    assert out.samples.shape == (1, clean.size)
    assert snr_db(clean, out.samples[0].astype(np.float64)) - 5.0 >= 6.0


@pytest.mark.parametrize(
    ("threshold", "method"), [("bayes", "BayesShrink"), ("universal", "VisuShrink")]
)
@pytest.mark.parametrize("thresholding", ["soft", "hard"])
def test_global_rules_equal_scikit_image(threshold, method, thresholding):
    rate = 16000.0
    noisy = noisy_at(speech_like(2.0, rate, HIGH), 5.0, seed=12)
    expected = skimage_denoise(noisy, wavelet="db6", method=method, mode=thresholding)
    out = run_node(
        wavelet_denoise,
        make_ctx("denoise.wavelet", rate),
        Audio(noisy, rate),
        wavelet="db6",
        threshold=threshold,
        thresholding=thresholding,
        local_ms=0.0,
    )
    np.testing.assert_allclose(out.samples[0], expected, atol=1e-6)


def test_sure_threshold_minimises_the_risk_found_by_brute_force():
    rng = np.random.default_rng(3)
    sigma = 0.3
    # a level that is not sparse (else the hybrid rule takes the universal threshold)
    detail = sigma * rng.standard_normal(2000) + np.where(rng.random(2000) < 0.3, 1.5, 0.0)
    x = np.abs(detail) / sigma
    grid = np.linspace(0, math.sqrt(2 * math.log(x.size)), 20001)
    risk = [x.size - 2 * np.sum(x <= t) + np.sum(np.minimum(x, t) ** 2) for t in grid]
    t = sure_threshold(detail, sigma) / sigma
    at_t = x.size - 2 * np.sum(x <= t) + np.sum(np.minimum(x, t) ** 2)
    assert at_t <= min(risk) + 1e-9
    assert 0 < t < math.sqrt(2 * math.log(x.size))
    sparse = sigma * rng.standard_normal(2000)  # noise only: the hybrid rule's universal
    assert sure_threshold(sparse, sigma) == pytest.approx(sigma * math.sqrt(2 * math.log(2000)))


def test_noise_sigma_is_estimated_per_channel_and_universal_clears_pure_noise():
    rng = np.random.default_rng(4)
    levels = (0.01, 0.1)
    noise = np.stack([s * rng.standard_normal(1 << 15) for s in levels])
    for row, sigma in zip(noise, levels, strict=True):
        finest = pywt.wavedec(row, "sym8", "symmetric", 1)[-1]
        assert mad_sigma(finest) == pytest.approx(sigma, rel=0.03)
    out = run_node(
        wavelet_denoise,
        make_ctx("denoise.wavelet"),
        Audio(noise, 44100.0),
        threshold="universal",
        thresholding="hard",
    ).samples.astype(np.float64)
    for c in range(2):
        left = np.sum(out[c] ** 2) / np.sum(noise[c] ** 2)
        assert left < 1e-2  # all but the coarse approximation (below ~40 Hz) goes


def test_channels_are_denoised_apart_and_a_given_sigma_is_used():
    rate = 16000.0
    a = noisy_at(speech_like(1.5, rate, HIGH), 5.0, seed=5)
    b = noisy_at(speech_like(1.5, rate, LOW), 0.0, seed=6)
    ctx = make_ctx("denoise.wavelet", rate)
    both = run_node(wavelet_denoise, ctx, Audio(np.stack([a, b]), rate), threshold="sure")
    alone = run_node(wavelet_denoise, ctx, Audio(b, rate), threshold="sure")
    np.testing.assert_array_equal(both.samples[1], alone.samples[0])
    sigma = float(np.std(a - speech_like(1.5, rate, HIGH)))
    given = run_node(wavelet_denoise, ctx, Audio(a, rate), threshold="universal", noise_sigma=sigma)
    bands = pywt.wavedec(a, "sym8", "symmetric", pywt.dwt_max_level(a.size, 16) - 3)
    t = sigma * math.sqrt(2 * math.log(a.size))
    expected = pywt.waverec([bands[0]] + [pywt.threshold(d, t) for d in bands[1:]], "sym8")
    np.testing.assert_allclose(given.samples[0], expected[: a.size], atol=1e-6)


def test_cycle_spinning_and_the_local_rule_each_gain_over_the_plain_rule():
    rate = 16000.0
    clean = speech_like(3.0, rate, HIGH)
    noisy = Audio(noisy_at(clean, 5.0, seed=8), rate)
    ctx = make_ctx("denoise.wavelet", rate)

    def gain(**params):
        out = run_node(wavelet_denoise, ctx, noisy, **params).samples[0].astype(np.float64)
        return snr_db(clean, out) - 5.0

    plain, local, spun = gain(local_ms=0.0), gain(), gain(shifts=4)
    assert local > plain + 0.5 and spun > local + 0.2


def test_levels_must_fit_the_signal():
    tone = {"src": {"type": "source.tone", "duration_s": 0.01}}  # 441 samples
    error = validation_error("denoise.wavelet", upstream=tone, in_="src", levels=6)
    assert isinstance(error, ParamError) and error.port_or_param == "levels"
    assert "at most 4 levels" in error.message
