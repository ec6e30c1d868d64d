"""Numba kernels of spectral.hpss (private): running medians and soft masks."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, inline="always")
def _reflect(i, n):  # pragma: no cover - compiled
    """scipy.ndimage's ``reflect`` boundary (d c b a | a b c d | d c b a) for index i of n."""
    period = 2 * n
    i = i % period
    return period - 1 - i if i >= n else i


@njit(cache=True, nogil=True, parallel=True)
def median_rows(x, size, out):  # pragma: no cover - compiled
    """out[r, i] = median of x[r, i - size // 2 : i - size // 2 + size], reflected at the ends.

    The element of rank ``size // 2`` of the window (the upper of the two
    middle values for an even size), exactly as
    ``scipy.ndimage.median_filter(x, size=(1, size), mode="reflect")``. A
    sorted copy of the window slides along each row: the value leaving is
    overwritten by the one entering, which is then moved to its place
    (O(size) per sample, no selection from scratch). Rows run in parallel;
    each allocates its own window of ``size`` values.
    """
    rows, n = x.shape
    half = size // 2
    rank = size // 2
    for r in prange(rows):
        row = x[r]
        window = np.empty(size, dtype=x.dtype)
        for j in range(size):
            window[j] = row[_reflect(j - half, n)]
        window.sort()
        dst = out[r]
        for i in range(n):
            dst[i] = window[rank]
            if i == n - 1:
                break
            leaving = row[_reflect(i - half, n)]
            entering = row[_reflect(i - half + size, n)]
            lo, hi = 0, size - 1  # binary search for one copy of the leaving value
            while lo < hi:
                mid = (lo + hi) // 2
                if window[mid] < leaving:
                    lo = mid + 1
                else:
                    hi = mid
            k = lo
            window[k] = entering
            while k > 0 and window[k - 1] > entering:
                window[k] = window[k - 1]
                k -= 1
                window[k] = entering
            while k < size - 1 and window[k + 1] < entering:
                window[k] = window[k + 1]
                k += 1
                window[k] = entering


@njit(cache=True, nogil=True, parallel=True)
def apply_masks(
    spec, mag, harm, perc, power, margin_h, margin_p, split_zeros, out_h, out_p, out_r
):  # pragma: no cover - compiled
    """Soft (Wiener-like) masks of librosa.decompose.hpss applied to the complex spectrum.

    For each bin, with H and P the harmonic and percussive medians, the
    harmonic mask is ``H^p / (H^p + (m_h P)^p)`` computed relative to
    ``max(H, m_h P)`` as librosa.util.softmask does (0, or 0.5 when both
    margins are 1, where both are below float32's tiny); the percussive mask
    likewise with ``m_p``; ``power = inf`` gives the hard masks ``H > m_h P``
    and ``P > m_p H``. The outputs are the spectrum times each mask, and
    the residual ``spec - out_h - out_p`` (zero but for rounding when both
    margins are 1). float32 arithmetic throughout, as librosa's.
    """
    rows, n = mag.shape
    tiny = np.float32(np.finfo(np.float32).tiny)
    hard = np.isinf(power)
    p = np.float32(power)
    mh = np.float32(margin_h)
    mp = np.float32(margin_p)
    zero_mask = np.float32(0.5) if split_zeros else np.float32(0.0)
    for r in prange(rows):
        for i in range(n):
            h = harm[r, i]
            q = perc[r, i]
            ref_h = q * mh
            ref_p = h * mp
            if hard:
                wh = np.float32(1.0) if h > ref_h else np.float32(0.0)
                wp = np.float32(1.0) if q > ref_p else np.float32(0.0)
            else:
                z = max(h, ref_h)
                if z < tiny:
                    wh = zero_mask
                else:
                    a = (h / z) ** p
                    b = (ref_h / z) ** p
                    wh = a / (a + b)
                z = max(q, ref_p)
                if z < tiny:
                    wp = zero_mask
                else:
                    a = (q / z) ** p
                    b = (ref_p / z) ** p
                    wp = a / (a + b)
            x = spec[r, i]
            m = mag[r, i]
            ph = np.complex64(1.0) if m == 0 else np.complex64(complex(x.real / m, x.imag / m))
            yh = ph * (m * wh)
            yp = ph * (m * wp)
            out_h[r, i] = yh
            out_p[r, i] = yp
            out_r[r, i] = x - yh - yp
