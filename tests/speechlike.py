"""Speech-like test signals: formant-filtered glottal pulse trains with moving pitch and formants.

No recording is needed (tests download nothing): a "speaker" is a pitch range
and a vocal-tract length. Syllables of 120 to 320 ms, separated by pauses of
40 to 200 ms, glide between vowel targets (Peterson and Barney's mean
formants of an adult male, scaled by the speaker's ``formant_scale``) while
the pitch follows an intonation contour with jitter; some syllables start
with a fricative (band-passed noise). The source is a Rosenberg glottal
pulse per period, the tract a cascade of four two-pole resonators whose
frequencies are updated every 2.5 ms (``scipy.signal.lfilter`` with its state
carried over), followed by a +6 dB/octave lip radiation (first difference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VOWELS = {
    "i": (270, 2290, 3010, 3500),
    "e": (530, 1840, 2480, 3500),
    "a": (730, 1090, 2440, 3400),
    "o": (570, 840, 2410, 3300),
    "u": (300, 870, 2240, 3300),
    "er": (490, 1350, 1690, 3300),
}
BANDWIDTHS_HZ = (80.0, 100.0, 140.0, 200.0)


@dataclass(frozen=True)
class Speaker:
    f0_hz: float
    formant_scale: float
    seed: int


LOW = Speaker(f0_hz=110.0, formant_scale=1.0, seed=1)
"""A low-pitched, long-tract talker (adult male-like)."""
HIGH = Speaker(f0_hz=215.0, formant_scale=1.18, seed=2)
"""A high-pitched, short-tract talker (adult female-like)."""


def _rosenberg(n: int, open_share: float = 0.6, closing_share: float = 0.25) -> np.ndarray:
    """One Rosenberg (1971) glottal flow pulse of n samples."""
    t = np.arange(n) / max(n, 1)
    rise, fall = open_share - closing_share, closing_share
    pulse = np.zeros(n)
    up = t < rise
    pulse[up] = 0.5 * (1 - np.cos(np.pi * t[up] / rise))
    down = (t >= rise) & (t < rise + fall)
    pulse[down] = np.cos(0.5 * np.pi * (t[down] - rise) / fall)
    return pulse


def speech_like(
    duration_s: float, sample_rate: float, speaker: Speaker = LOW, *, seed: int | None = None
) -> np.ndarray:
    """A float64 mono speech-like signal, RMS 0.1 over its voiced parts."""
    from scipy.signal import butter, lfilter, sosfilt

    rng = np.random.default_rng(speaker.seed if seed is None else seed)
    n = round(duration_s * sample_rate)
    # syllable plan: (start, end, vowel a, vowel b, fricative?)
    envelope = np.zeros(n)
    targets = np.zeros((n, 4))
    fricative = np.zeros(n)
    t = 0.05 + 0.1 * rng.random()
    names = list(VOWELS)
    previous = np.array(VOWELS[names[rng.integers(len(names))]], dtype=float)
    while t < duration_s - 0.15:
        length = rng.uniform(0.12, 0.32)
        start, end = round(t * sample_rate), min(n, round((t + length) * sample_rate))
        target = np.array(VOWELS[names[rng.integers(len(names))]], dtype=float)
        ramp = np.linspace(0.0, 1.0, end - start)[:, None]
        targets[start:end] = previous + (target - previous) * ramp
        previous = target
        span = end - start
        attack = min(span // 3, round(0.02 * sample_rate))
        shape = np.ones(span)
        shape[:attack] = np.linspace(0, 1, attack)
        shape[span - attack :] = np.linspace(1, 0, attack)
        envelope[start:end] = shape * rng.uniform(0.6, 1.0)
        if rng.random() < 0.35:
            fric = round(rng.uniform(0.04, 0.09) * sample_rate)
            f_start = max(0, start - fric)
            fricative[f_start:start] = np.hanning(start - f_start) * rng.uniform(0.2, 0.5)
        t += length + rng.uniform(0.04, 0.2)
    targets[envelope == 0] = previous
    targets *= speaker.formant_scale

    # glottal source: one Rosenberg pulse per period, f0 following an intonation contour
    time = np.arange(n) / sample_rate
    contour = (
        1
        + 0.12 * np.sin(2 * np.pi * 0.6 * time + rng.uniform(0, 6))
        + 0.04 * np.sin(2 * np.pi * 2.3 * time)
    )
    f0 = speaker.f0_hz * contour
    source = np.zeros(n)
    i = 0
    while i < n:
        period = max(2, round(sample_rate / (f0[i] * (1 + 0.01 * rng.standard_normal()))))
        pulse = _rosenberg(period)[: n - i]
        source[i : i + pulse.size] = pulse * (1 + 0.05 * rng.standard_normal())
        i += period
    source = np.diff(source, prepend=0.0)  # flow derivative
    source += 0.002 * rng.standard_normal(n)  # aspiration
    source *= envelope

    # vocal tract: four resonators, coefficients updated every 2.5 ms
    step = max(1, round(0.0025 * sample_rate))
    out = source.copy()
    for k in range(4):
        state = np.zeros(2)
        width = BANDWIDTHS_HZ[k]
        for s in range(0, n, step):
            f = min(targets[s, k], 0.45 * sample_rate)
            r = np.exp(-np.pi * width / sample_rate)
            a = [1.0, -2 * r * np.cos(2 * np.pi * f / sample_rate), r * r]
            gain = sum(a)
            out[s : s + step], state = lfilter([gain], a, out[s : s + step], zi=state)
    noise = sosfilt(
        butter(4, [3000, min(7000, 0.45 * sample_rate)], "bandpass", fs=sample_rate, output="sos"),
        rng.standard_normal(n),
    )
    out = np.diff(out, prepend=0.0) + 0.0  # lip radiation
    voiced = envelope > 0
    out *= 0.1 / np.sqrt(np.mean(out[voiced] ** 2))
    noise *= fricative * 0.1 / np.sqrt(np.mean(noise**2) + 1e-30)
    return out + noise
