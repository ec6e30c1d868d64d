"""The mapping shared by ``image.to_sound`` and ``image.from_sound`` (no nodes here).

The mapping: image rows are frequencies between
``fmin_hz`` (bottom row) and ``fmax_hz`` (top row) spaced evenly on a log, mel
or linear scale; columns are time, left to right; a pixel's brightness ``b`` in
[0, 1] is a level of ``(b - 1) * range_db`` dB (so 1 is 0 dB, the loudest, and
0 is silence). ``image.from_sound`` with the same settings draws what
``image.to_sound`` played.

Pillow is an optional dependency (the ``image`` extra) imported only by
``source.image``; scipy and numba are imported inside the functions that use them.
"""

from __future__ import annotations

import numpy as np

SCALES = ("log", "mel", "linear")
METHODS = ("additive", "spectral")
PHASES = ("griffin_lim", "random")
STEREO_MODES = ("none", "colours", "images")
IMAGE_MODES = ("gray", "rgb")
TO_IMAGE_CHANNELS = ("mix", "colours")

IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP", "PPM")
"""Formats ``source.image`` opens (Pillow plugins that decode in-process)."""

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
"""ITU-R BT.601 luma weights, the ones Pillow's ``convert("L")`` uses."""

MIN_SAMPLES_PER_COLUMN = 4
"""``image.to_sound`` needs at least this many samples per image column."""

MAX_DURATION_S = 86400.0
"""Longest sound ``image.to_sound`` makes (one day): beyond it ``pixels_per_s`` is absurd."""

GRIFFIN_LIM_MOMENTUM = 0.99
"""Momentum of the fast Griffin-Lim iteration (Perraudin, Balazs and Søndergaard 2013)."""


# --------------------------------------------------------------------------- axes


def to_scale(hz: np.ndarray | float, scale: str) -> np.ndarray:
    """Frequency in Hz -> position on ``scale``: ln(Hz), HTK mel or Hz."""
    hz = np.asarray(hz, dtype=np.float64)
    if scale == "log":
        return np.log(np.maximum(hz, 1e-9))
    if scale == "mel":
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    return hz


def from_scale(value: np.ndarray | float, scale: str) -> np.ndarray:
    """Inverse of :func:`to_scale`."""
    value = np.asarray(value, dtype=np.float64)
    if scale == "log":
        return np.exp(value)
    if scale == "mel":
        return 700.0 * (10.0 ** (value / 2595.0) - 1.0)
    return value


def row_frequencies(rows: int, fmin_hz: float, fmax_hz: float, scale: str) -> np.ndarray:
    """Frequency in Hz of each image row: row 0 (top) is ``fmax_hz``, the last ``fmin_hz``.

    Rows are evenly spaced on ``scale``; a single row sits at the scale's midpoint.
    """
    lo, hi = to_scale(fmin_hz, scale), to_scale(fmax_hz, scale)
    if rows == 1:
        return from_scale(np.array([(lo + hi) / 2.0]), scale)
    height = (rows - 1 - np.arange(rows)) / (rows - 1)
    return from_scale(lo + (hi - lo) * height, scale)


def row_coordinate(hz: np.ndarray, rows: int, fmin_hz: float, fmax_hz: float, scale: str):
    """Fractional row index of frequencies (0 = top = ``fmax_hz``); inverse of row_frequencies."""
    lo, hi = to_scale(fmin_hz, scale), to_scale(fmax_hz, scale)
    height = (to_scale(hz, scale) - lo) / (hi - lo)
    return (rows - 1) * (1.0 - height) if rows > 1 else np.full_like(height, 0.0)


def brightness_to_amplitude(brightness: np.ndarray, range_db: float) -> np.ndarray:
    """Linear amplitude of brightness ``b``: ``10 ** ((b - 1) * range_db / 20)``, 0 for b <= 0."""
    b = np.asarray(brightness, dtype=np.float64)
    amplitude = 10.0 ** ((b - 1.0) * (range_db / 20.0))
    return np.where(b > 0.0, amplitude, 0.0)


def amplitude_to_brightness(amplitude: np.ndarray, reference: float, range_db: float):
    """Brightness of a linear amplitude: ``1 + 20 log10(a / reference) / range_db``, in [0, 1]."""
    a = np.asarray(amplitude, dtype=np.float64)
    if reference <= 0.0:
        return np.zeros_like(a)
    with np.errstate(divide="ignore"):
        level_db = 20.0 * np.log10(a / reference)
    return np.clip(1.0 + level_db / range_db, 0.0, 1.0)


def interp(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``values`` along axis 0 at fractional indices ``x``, held at ends."""
    n = values.shape[0]
    if n == 1:
        return np.repeat(values[:1], len(x), axis=0)
    x = np.clip(x, 0.0, n - 1.0)
    i = np.minimum(np.floor(x).astype(np.int64), n - 2)
    t = (x - i).reshape((-1,) + (1,) * (values.ndim - 1))
    return (1.0 - t) * values[i] + t * values[i + 1]


def pool_rows(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Max of ``values`` (piecewise linear along axis 0) over each interval [lo, hi].

    Where an interval holds no sample point this is linear interpolation;
    where it spans several, the largest of them, so a thin line or a lone
    sinusoid keeps its level however many samples fall in one pixel.
    """
    n = values.shape[0]
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    lo, hi = np.clip(lo, 0.0, n - 1.0), np.clip(hi, 0.0, n - 1.0)
    out = np.maximum(interp(values, lo), interp(values, hi))
    start = np.floor(lo).astype(np.int64) + 1
    stop = np.ceil(hi).astype(np.int64)
    for j in np.flatnonzero(stop > start):
        out[j] = np.maximum(out[j], values[start[j] : stop[j]].max(axis=0))
    return out


def _stft(sample_rate: float, n_fft: int):
    """scipy's ShortTimeFFT: periodic Hann window of ``n_fft``, hop ``n_fft // 4``."""
    from scipy.signal import ShortTimeFFT
    from scipy.signal.windows import hann

    return ShortTimeFFT(hann(n_fft, sym=False), hop=n_fft // 4, fs=sample_rate)


# --------------------------------------------------------------------------- source.image
