"""Numba kernels of the spectral features (private: not scanned by the registry).

Every kernel walks a (bins, frames) float32 array row by row, so memory is
read contiguously, and accumulates per frame. They take arrays and scalars
only and write into arrays the caller allocates.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def spectral_moments(S, freq, s0, s1, s2):  # pragma: no cover - compiled
    """Per frame: s0 = Σ S, s1 = Σ S·f, s2 = Σ S·f² over bins, in float64."""
    bins, frames = S.shape
    for j in range(frames):
        s0[j] = 0.0
        s1[j] = 0.0
        s2[j] = 0.0
    for i in range(bins):
        f = freq[i]
        f2 = f * f
        row = S[i]
        for j in range(frames):
            v = np.float64(row[j])
            s0[j] += v
            s1[j] += v * f
            s2[j] += v * f2


@njit(cache=True, nogil=True)
def deviation_moment(S, freq, centroid, p, out):  # pragma: no cover - compiled
    """Per frame: Σ S·|f - centroid|**p over bins, in float64."""
    bins, frames = S.shape
    for j in range(frames):
        out[j] = 0.0
    for i in range(bins):
        f = freq[i]
        row = S[i]
        for j in range(frames):
            out[j] += np.float64(row[j]) * np.abs(f - centroid[j]) ** p


@njit(cache=True, nogil=True)
def rolloff(S, freq, roll_percent, total, acc, out):  # pragma: no cover - compiled
    """First bin frequency where the float32 cumulative sum reaches roll_percent of the total.

    ``total`` and ``acc`` are float32 work arrays of one value per frame;
    ``out`` receives the frequency (float64). The sums run bin by bin in
    float32, the order np.cumsum uses, so the threshold crossing is librosa's.
    """
    bins, frames = S.shape
    for j in range(frames):
        total[j] = 0.0
        acc[j] = 0.0
        out[j] = -1.0
    for i in range(bins):
        row = S[i]
        for j in range(frames):
            total[j] += row[j]
    for j in range(frames):
        total[j] = roll_percent * total[j]
    for i in range(bins):
        row = S[i]
        f = freq[i]
        for j in range(frames):
            acc[j] += row[j]
            if out[j] < 0.0 and acc[j] >= total[j]:
                out[j] = f
    for j in range(frames):
        if out[j] < 0.0:
            out[j] = np.nan


@njit(cache=True, nogil=True)
def piptrack_count(S, in_band, threshold, ref):  # pragma: no cover - compiled
    """Count librosa.piptrack's peaks; fills ``ref`` with threshold * max over bins per frame."""
    bins, frames = S.shape
    for j in range(frames):
        ref[j] = 0.0
    for i in range(bins):
        for j in range(frames):
            if S[i, j] > ref[j]:
                ref[j] = S[i, j]
    for j in range(frames):
        ref[j] = threshold * ref[j]
    count = 0
    for i in range(1, bins):
        if not in_band[i]:
            continue
        for j in range(frames):
            if _is_peak(S, ref, i, j, bins):
                count += 1
    return count


@njit(cache=True, nogil=True)
def _thresholded(S, ref, i, j):  # pragma: no cover - compiled
    v = S[i, j]
    return v if v > ref[j] else np.float32(0.0)


@njit(cache=True, nogil=True)
def _is_peak(S, ref, i, j, bins):  # pragma: no cover - compiled
    t = _thresholded(S, ref, i, j)
    if i == bins - 1:
        return t > _thresholded(S, ref, i - 1, j)
    return t > _thresholded(S, ref, i - 1, j) and t >= _thresholded(S, ref, i + 1, j)


@njit(cache=True, nogil=True)
def piptrack_fill(S, in_band, ref, sr, n_fft, pitches, mags):  # pragma: no cover - compiled
    """Pitch and magnitude of every peak, with librosa.piptrack's parabolic interpolation.

    The arithmetic follows librosa's stencils operation for operation (float32
    sums, float64 quotients stored as float32), so the tuning histogram built
    from these pitches is the one librosa.estimate_tuning builds.
    """
    bins, frames = S.shape
    k = 0
    for i in range(1, bins):
        if not in_band[i]:
            continue
        for j in range(frames):
            if not _is_peak(S, ref, i, j, bins):
                continue
            x0 = S[i, j]
            shift = np.float32(0.0)
            if i < bins - 1:
                x1 = S[i + 1, j]
                xm1 = S[i - 1, j]
                a = np.float64(x1 + xm1) - 2.0 * np.float64(x0)
                b = np.float64(x1 - xm1) / 2.0
                if not np.abs(b) >= np.abs(a):
                    shift = np.float32(-b / a)
                avg = (x1 - xm1) / np.float32(2.0)
            else:
                avg = x0 - S[i - 1, j]
            pitches[k] = np.float32((np.float64(i) + np.float64(shift)) * sr / n_fft)
            mags[k] = x0 + (np.float32(0.5) * avg) * shift
            k += 1
    return k


@njit(cache=True, nogil=True)
def zero_crossing_counts(y, threshold, frame_length, hop, out):  # pragma: no cover - compiled
    """Crossings inside each frame of a padded signal, as librosa.zero_crossings(pad=False).

    A crossing at sample n (n >= 1 within the frame) is a change of sign bit
    between samples n - 1 and n, after setting |y| <= threshold to 0.
    """
    n = y.shape[0]
    frames = out.shape[0]
    prefix = np.zeros(n, dtype=np.int64)
    prev = y[0]
    if -threshold <= prev <= threshold:
        prev = 0.0
    prev_sign = prev < 0.0 or (prev == 0.0 and np.signbit(prev))
    for m in range(1, n):
        v = y[m]
        if -threshold <= v <= threshold:
            v = 0.0
        sign = np.signbit(v)
        prefix[m] = prefix[m - 1] + (1 if sign != prev_sign else 0)
        prev_sign = sign
    for k in range(frames):
        start = k * hop
        out[k] = prefix[start + frame_length - 1] - prefix[start]
