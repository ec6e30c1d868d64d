"""A multidelay block frequency-domain echo canceller with a double-talk-robust step (private).

The algorithm of Speex's MDF canceller (Soo & Pang 1990, "Multidelay block
frequency domain adaptive filter", IEEE Trans. ASSP 38(2); Valin 2007, "On
adjusting the learning rate in frequency domain echo cancellation with
double-talk", IEEE Trans. ASLP 15(3)), written here in numpy: the filter is
``P`` partitions of ``B`` taps, each an overlap-save block of 2B points,
adapted per frequency bin with the step normalised by that bin's reference
power (a coloured signal such as speech converges as fast in every bin).
The step is Valin's: the residual echo's share of the error in each bin,
``min(leak |Y(k)|^2, 0.5 |E(k)|^2) / |E(k)|^2`` (``leak`` the estimated
fraction of the echo estimate's power that is still left in the error,
from the correlation of their power spectra over time), so the filter
slows down by itself when the near end talks, with no detector to miss
or fire late. Two filters run side by side (foreground/background, Speex's
test): the background adapts, the output comes from the foreground, which
takes the background's weights when the background's error is lower, and
gives them back when the background has diverged.
"""

from __future__ import annotations

import numpy as np

BLOCK = 128
"""Block (partition) length in samples: the filter adapts once per block."""
UNADAPTED_STEP = 0.5
"""The largest step before the leak estimate is trusted (the filter's first second or so)."""
MAX_STEP = 0.5
"""The step of a bin is at most this once adapted (Speex's RER cap)."""


def mdf_cancel(mic: np.ndarray, reference: np.ndarray, rate: float, taps: int) -> np.ndarray:
    """The microphone with the echo of ``reference`` removed: float64 (n,) from (n,) and (n,).

    ``taps`` is rounded up to whole partitions of :data:`BLOCK` samples
    (or one partition of ``taps`` when it is shorter).
    """
    b = min(BLOCK, taps)
    parts = -(-taps // b)
    n = mic.size
    blocks = -(-n // b)
    d_all = np.zeros(blocks * b)
    d_all[:n] = mic
    x_all = np.zeros(blocks * b)
    x_all[: min(n, reference.size)] = reference[:n]
    bins = b + 1
    spectra = np.zeros((parts, bins), complex)
    background = np.zeros((parts, bins), complex)
    foreground = np.zeros((parts, bins), complex)
    frame = np.zeros(2 * b)
    padded = np.zeros(2 * b)
    out = np.zeros(blocks * b)
    power = np.zeros(bins)
    smoothing = 0.35 / parts
    beta0, beta_max, spectral = 2.0 * b / rate, 0.5 * b / rate, b / rate
    pey = pyy = 1.0
    mean_error = np.zeros(bins)
    mean_echo = np.zeros(bins)
    adapted, sum_adapt = False, 0.0
    davg1 = davg2 = dvar1 = dvar2 = 0.0
    tiny = 1e-12
    for j in range(blocks):
        span = slice(j * b, (j + 1) * b)
        frame[:b] = frame[b:]
        frame[b:] = x_all[span]
        spectra[1:] = spectra[:-1]
        spectra[0] = np.fft.rfft(frame)
        d = d_all[span]
        y_b = np.fft.irfft(np.sum(background * spectra, axis=0), 2 * b)[b:]
        y_f = np.fft.irfft(np.sum(foreground * spectra, axis=0), 2 * b)[b:]
        e_b, e_f = d - y_b, d - y_f
        sff, see = e_f @ e_f, e_b @ e_b
        dbf = (y_f - y_b) @ (y_f - y_b) + tiny
        gap = sff - see
        davg1, davg2 = 0.6 * davg1 + 0.4 * gap, 0.85 * davg2 + 0.15 * gap
        dvar1, dvar2 = 0.36 * dvar1 + 0.16 * sff * dbf, 0.7225 * dvar2 + 0.0225 * sff * dbf
        better = gap * abs(gap) > sff * dbf
        if better or davg1 * abs(davg1) > 0.5 * dvar1 or davg2 * abs(davg2) > 0.25 * dvar2:
            foreground = background.copy()
            davg1 = davg2 = dvar1 = dvar2 = 0.0
            e_f, sff = e_b, see
        elif -gap * abs(gap) > 4.0 * sff * dbf:  # the background diverged: back to the foreground
            background = foreground.copy()
            davg1 = davg2 = dvar1 = dvar2 = 0.0
            e_b, see, y_b = e_f, sff, y_f
        out[span] = e_f
        padded[b:] = e_b
        error_spec = np.fft.rfft(padded)
        padded[b:] = y_b
        rf = np.abs(error_spec) ** 2
        yf = np.abs(np.fft.rfft(padded)) ** 2
        syy = y_b @ y_b
        sxx = x_all[span] @ x_all[span]
        current = np.abs(spectra[0]) ** 2
        power = current if j == 0 else (1.0 - smoothing) * power + smoothing * current
        mean_error = (1.0 - spectral) * mean_error + spectral * rf
        mean_echo = (1.0 - spectral) * mean_echo + spectral * yf
        alpha = min(beta0 * syy / (see + tiny), beta_max)
        pey = (1.0 - alpha) * pey + alpha * np.sum((rf - mean_error) * (yf - mean_echo))
        pyy = max((1.0 - alpha) * pyy + alpha * np.sum((yf - mean_echo) ** 2), tiny)
        pey = min(max(pey, 0.005 * pyy), pyy)
        leak = pey / pyy
        if not adapted and sum_adapt > parts and leak * syy > 0.03 * syy:
            adapted = True
        if adapted:
            rer = min((1e-4 * sxx + 3.0 * leak * syy) / (see + tiny), MAX_STEP)
            e = rf + tiny
            r = 0.7 * np.minimum(leak * yf, MAX_STEP * e) + 0.3 * rer * e
            step = r / e
        else:
            rate_now = min(UNADAPTED_STEP * sxx, UNADAPTED_STEP * see) / (see + tiny)
            step = np.full(bins, rate_now)
            sum_adapt += rate_now
        norm = parts * power + 1e-3 * np.mean(power) + tiny
        size = np.sqrt(np.sum(np.abs(background) ** 2, axis=1))
        weight = 0.99 * size + 0.01 * size.max() + tiny  # proportionate: where the path is
        weight *= parts / weight.sum()
        background += weight[:, None] * np.conj(spectra) * (error_spec * step / norm)[None, :]
        taps_b = np.fft.irfft(background, 2 * b, axis=1)
        taps_b[:, b:] = 0.0  # the gradient constraint: linear, not circular, convolution
        background = np.fft.rfft(taps_b, axis=1)
    return out[:n]
