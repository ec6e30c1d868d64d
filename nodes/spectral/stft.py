"""Spectral analysis: the short-time Fourier transform, its inverse, and views of it.

``spectral.stft`` is the one converter from ``audio`` to ``spectrum``; every
spectral feature takes its output, so several features of one signal share one
STFT node and one cache entry. Its defaults and its arithmetic are librosa's
(``librosa.stft``: n_fft 2048, hop 512, periodic Hann window, centred frames
with zero padding; the frames are windowed and transformed in float64 and
stored as complex64), so features computed from it equal librosa's own.

Frame ``k`` of a centred STFT is centred on sample ``k * hop``, i.e. on
``k * hop / sample_rate`` seconds; without centring it starts there.

Magnitudes, powers and mel spectrograms computed from one spectrum are
memoised per spectrum object for the life of that object (``magnitude_of``,
``power_of``, ``mel_power``), so five features reading one spectrum take its
absolute value once and mfcc reuses the mel node's product.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np

from graphengine.node import NYQUIST, Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Audio, Features, Spectrum

WINDOWS = ("hann", "hamming", "blackman", "blackmanharris", "bartlett", "boxcar")
PAD_MODES = ("constant", "reflect", "edge")
DB_REFERENCES = ("max", "one")
_BLOCK_FRAMES = 1024
"""Frames windowed and transformed per step (bounds the float64 temporaries)."""


# --------------------------------------------------------------------------- shared helpers


def stft_frames(samples: int, n_fft: int, hop: int, center: bool) -> int:
    """Number of STFT frames of a signal of ``samples`` samples (librosa's count)."""
    if center:
        samples += 2 * (n_fft // 2)
    return 1 + (samples - n_fft) // hop


def spectrum_info(inputs: Mapping[str, Any], port: str = "in") -> PortInfo | None:
    info = inputs.get(port)
    return info if isinstance(info, PortInfo) else None


def input_rate(info: PortInfo | None, ctx: NodeContext) -> float:
    """The sample rate an input port reports, else the graph's."""
    return info.sample_rate if info is not None and info.sample_rate else ctx.sample_rate


def frame_rate(spectrum: Spectrum) -> float:
    """Frames per second of a spectrum: sample_rate / hop."""
    return float(spectrum.sample_rate) / float(spectrum.hop)


def fft_frequencies(sample_rate: float, n_fft: int) -> np.ndarray:
    """Centre frequencies of the rfft bins in Hz (librosa.fft_frequencies)."""
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)


_MAGNITUDES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_POWERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Mel power spectrograms per spectrum and band parameters (shared by mel, mfcc, onset)."""


def magnitude_of(spectrum: Spectrum) -> np.ndarray:
    """|X| as float32 (channels, bins, frames), computed once per spectrum object."""
    mag = _MAGNITUDES.get(spectrum)
    if mag is None:
        mag = np.abs(spectrum.data)
        mag.flags.writeable = False
        _MAGNITUDES[spectrum] = mag
    return mag


def power_of(spectrum: Spectrum) -> np.ndarray:
    """|X|**2 as float32, as librosa's ``np.abs(stft) ** 2``; computed once per spectrum."""
    power = _POWERS.get(spectrum)
    if power is None:
        power = magnitude_of(spectrum) ** 2
        power.flags.writeable = False
        _POWERS[spectrum] = power
    return power


def power_to_db(
    power: np.ndarray, ref: float = 1.0, amin: float = 1e-10, top_db: float | None = 80.0
) -> np.ndarray:
    """librosa.power_to_db on one channel: 10 log10(max(amin, S) / ref), top_db below peak."""
    log_spec = 10.0 * np.log10(np.maximum(amin, power))
    log_spec -= 10.0 * np.log10(np.maximum(amin, ref))
    if top_db is not None:
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec


def bin_names(sample_rate: float, n_fft: int, bins: int) -> tuple[str, ...]:
    """Row names of a linear-frequency view: each bin's centre frequency, e.g. ``"21.5Hz"``."""
    step = sample_rate / n_fft
    return tuple(f"{k * step:.1f}Hz" for k in range(bins))


# --------------------------------------------------------------------------- stft


def infer_stft(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels, n_fft // 2 + 1, frames) complex64."""
    n_fft, hop = params["n_fft"], params["hop"]
    info = spectrum_info(inputs)
    shape = None
    rate = input_rate(info, ctx)
    if info is not None and info.shape is not None:
        channels, samples = info.shape
        if not params["center"] and samples < n_fft:
            raise ctx.param_error(
                "n_fft",
                f"the signal has {samples} samples, fewer than one frame of {n_fft} "
                "(set center = true to pad it)",
            )
        shape = (channels, n_fft // 2 + 1, stft_frames(samples, n_fft, hop, params["center"]))
    return {"out": PortInfo("spectrum", shape, sample_rate=rate, itemsize=8)}


_COSINE_TERMS = {
    "hann": (0.5, 0.5),
    "hamming": (0.54, 1.0 - 0.54),
    "blackman": (0.42, 0.50, 0.08),
    "blackmanharris": (0.35875, 0.48829, 0.14128, 0.01168),
}
"""The generalised cosine windows, as scipy.signal.windows defines them."""


def periodic_window(name: str, n_fft: int) -> np.ndarray:
    """The periodic window ``name`` of ``n_fft`` samples, float64.

    The same samples as ``scipy.signal.get_window(name, n_fft, fftbins=True)``
    (a test checks them bit for bit), computed the same way with numpy alone:
    importing scipy.signal costs 0.7 s of a new process's start.
    """
    if n_fft <= 1:
        return np.ones(n_fft)
    m = n_fft + 1  # periodic: one sample more than a symmetric window, then dropped
    if name == "boxcar":
        return np.ones(m)[:-1]
    if name == "bartlett":
        n = np.arange(0, m, dtype=np.float64)
        return np.where(n <= (m - 1) / 2.0, 2.0 * n / (m - 1), 2.0 - 2.0 * n / (m - 1))[:-1]
    fac = np.linspace(-np.pi, np.pi, m, dtype=np.float64)
    w = np.zeros(m, dtype=np.float64)
    for k, a in enumerate(_COSINE_TERMS[name]):
        w += a * np.cos(k * fac)
    return w[:-1]


@node("spectral.stft", version=1, infer=infer_stft, auto_convert=True)
def stft(
    in_: Audio,
    *,
    n_fft: int = param(2048, range=(1, None), description="FFT size in samples"),
    hop: int = param(512, range=(1, None), at_most="n_fft", description="samples between frames"),
    window: str = param("hann", choices=WINDOWS, description="analysis window (periodic)"),
    center: bool = param(True, description="centre frame k on sample k * hop by padding"),
    pad_mode: str = param("constant", choices=PAD_MODES, description="padding when centred"),
    ctx: NodeContext,
) -> Spectrum:
    """Short-time Fourier transform of every channel, as librosa.stft computes it.

    Frames of ``n_fft`` samples, ``hop`` samples apart, are multiplied by a
    periodic ``window`` of ``n_fft`` samples and transformed with a real FFT;
    the output holds bins 0 .. n_fft / 2 (0 Hz to Nyquist, ``sample_rate /
    n_fft`` Hz apart), shaped (channels, n_fft // 2 + 1, frames), complex64.
    With ``center`` (the default) the signal is padded by n_fft // 2 samples on
    each side (``pad_mode``: zeros, mirror or repeat the edge sample) so that
    frame k is centred on sample k * hop, i.e. on k * hop / sample_rate
    seconds; there are 1 + len // hop frames. Without it frame k starts at
    sample k * hop and there are 1 + (len - n_fft) // hop. Defaults equal
    librosa's: n_fft 2048, hop 512, Hann, centred, zero padding.

    Example
    -------
        spec = {in = "src", n_fft = 2048, hop = 512}
    """
    from scipy import fft as sfft

    window_values = periodic_window(window, n_fft)
    channels, samples = in_.samples.shape
    frames = stft_frames(samples, n_fft, hop, center)
    bins = n_fft // 2 + 1
    out = np.empty((channels, bins, frames), dtype=np.complex64)
    for c in range(channels):
        y = in_.samples[c]
        if center:
            pad = n_fft // 2
            if pad_mode == "constant":
                y = np.pad(y, (pad, pad))
            elif pad_mode == "reflect" and samples > pad:
                y = np.pad(y, (pad, pad), mode="reflect")
            else:
                y = np.pad(y, (pad, pad), mode="edge")
        view = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop][:frames]
        for start in range(0, frames, _BLOCK_FRAMES):
            stop = min(start + _BLOCK_FRAMES, frames)
            block = sfft.rfft(view[start:stop] * window_values, axis=-1, workers=-1)
            out[c, :, start:stop] = block.T
    return Spectrum(out, n_fft, hop, window, in_.sample_rate, center)


# --------------------------------------------------------------------------- istft


def infer_istft(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels, samples): ``length`` when given, else hop * (frames - 1) (centred)."""
    info = spectrum_info(inputs)
    shape = None
    if info is not None and info.shape is not None and params["length"]:
        shape = (info.shape[0], params["length"])
    return {"out": PortInfo("audio", shape, sample_rate=input_rate(info, ctx))}


@node("spectral.istft", version=2, infer=infer_istft)
def istft(
    in_: Spectrum,
    *,
    center: bool | None = param(
        None, description="whether the STFT was centred (None: as the spectrum records)"
    ),
    length: int | None = param(
        None, range=(1, None), description="output length in samples (None: from frames)"
    ),
) -> Audio:
    """Inverse STFT by weighted overlap-add (librosa.istft), back to audio.

    Uses the spectrum's own n_fft, hop, window and centring (``center``
    overrides the centring the spectrum records). Without ``length``
    a centred spectrum of F frames gives hop * (F - 1) samples; give the
    original length to get exactly as many samples back. Overlap-add with a
    window whose squares overlap to a constant (Hann at hop <= n_fft / 4,
    the default) reconstructs the signal to float32 precision.

    Example
    -------
        back = {in = "spec", length = 44100}
    """
    import librosa

    samples = librosa.istft(
        in_.data,
        hop_length=in_.hop,
        n_fft=in_.n_fft,
        window=in_.window,
        center=in_.center if center is None else center,
        length=length,
        dtype=np.float32,
    )
    return Audio(samples, in_.sample_rate)


# --------------------------------------------------------------------------- views


def _view_info(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    info = spectrum_info(inputs)
    shape = info.shape if info is not None else None
    return {"out": PortInfo("features", shape)}


def _features(spectrum: Spectrum, values: np.ndarray) -> Features:
    bins = spectrum.data.shape[1]
    names = bin_names(spectrum.sample_rate, spectrum.n_fft, bins)
    return Features(values, frame_rate(spectrum), names)


@node("spectral.magnitude", version=1, infer=_view_info)
def magnitude(in_: Spectrum) -> Features:
    """The magnitude |X| of a spectrum, as features (channels, bins, frames).

    Rows are the STFT bins, named by their centre frequency (``"21.5Hz"``),
    at the spectrum's frame rate (sample_rate / hop frames per second).

    Example
    -------
        mag = {in = "spec"}
    """
    return _features(in_, magnitude_of(in_))


@node("spectral.power", version=1, infer=_view_info)
def power(in_: Spectrum) -> Features:
    """The power |X|² of a spectrum, as features (channels, bins, frames).

    Rows are the STFT bins, named by their centre frequency (``"21.5Hz"``).

    Example
    -------
        pow = {in = "spec"}
    """
    return _features(in_, power_of(in_))


@node("spectral.db", version=1, infer=_view_info)
def db(
    in_: Spectrum,
    *,
    ref: str = param("max", choices=DB_REFERENCES, description="0 dB at the channel's peak or 1"),
    top_db: float | None = param(
        80.0, unit="dB", above=0, description="floor this many dB below the peak (None: off)"
    ),
) -> Features:
    """The spectrum's level in decibels: 20 log10(|X| / ref), floored top_db below the peak.

    ``ref = "max"`` puts 0 dB at each channel's loudest bin (librosa's
    ``amplitude_to_db(|X|, ref=np.max)``); ``"one"`` measures against a
    magnitude of 1. Magnitudes below 1e-5 count as 1e-5 (-100 dB re 1).
    Rows are the STFT bins, named by their centre frequency.

    Example
    -------
        level = {in = "spec", ref = "max", top_db = 80}
    """
    power_values = power_of(in_)
    out = np.empty(power_values.shape, dtype=np.float32)
    for c in range(power_values.shape[0]):
        ref_power = float(power_values[c].max()) if ref == "max" else 1.0
        out[c] = power_to_db(power_values[c], ref=ref_power, amin=1e-10, top_db=top_db)
    return _features(in_, out)


# --------------------------------------------------------------------------- mel

_MEL_BANKS: dict[tuple, np.ndarray] = {}


def mel_basis(
    sample_rate: float,
    n_fft: int,
    n_mels: int,
    fmin: float,
    fmax: float | None,
    htk: bool,
    norm: str,
) -> np.ndarray:
    """librosa.filters.mel as float32 (n_mels, bins), computed once per parameter set.

    Computed here with librosa's own operations, in the same order (so the
    same bits, checked against it in the tests): importing librosa, and the
    scipy.signal it imports, costs a second of a model graph's start-up.
    """
    key = (float(sample_rate), n_fft, n_mels, float(fmin), fmax, htk, norm)
    bank = _MEL_BANKS.get(key)
    if bank is None:
        top = float(sample_rate) / 2 if fmax is None else fmax
        bank = np.zeros((int(n_mels), int(1 + n_fft // 2)), dtype=np.float32)
        fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
        mel_hz = _mel_to_hz(
            np.linspace(_hz_to_mel(fmin, htk), _hz_to_mel(top, htk), int(n_mels) + 2), htk
        )
        widths = np.diff(mel_hz)
        ramps = np.subtract.outer(mel_hz, fft_hz)
        for i in range(int(n_mels)):
            lower = -ramps[i] / widths[i]
            upper = ramps[i + 2] / widths[i + 1]
            bank[i] = np.maximum(0, np.minimum(lower, upper))
        if norm == "slaney":  # about constant energy per band
            bank *= (2.0 / (mel_hz[2 : int(n_mels) + 2] - mel_hz[: int(n_mels)]))[:, np.newaxis]
        bank.flags.writeable = False
        _MEL_BANKS[key] = bank
    return bank


_MEL_F_SP = 200.0 / 3  # Slaney's scale: linear (Hz / f_sp) below 1 kHz, logarithmic above
_MEL_LOG_HZ = 1000.0
_MEL_LOG_MEL = _MEL_LOG_HZ / _MEL_F_SP
_MEL_LOG_STEP = np.log(6.4) / 27.0


def _hz_to_mel(hz: float, htk: bool) -> float:
    """librosa.hz_to_mel of one frequency."""
    if htk:
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    if hz >= _MEL_LOG_HZ:
        return _MEL_LOG_MEL + np.log(hz / _MEL_LOG_HZ) / _MEL_LOG_STEP
    return (hz - 0.0) / _MEL_F_SP


def _mel_to_hz(mels: np.ndarray, htk: bool) -> np.ndarray:
    """librosa.mel_to_hz of an array of mels."""
    if htk:
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    hz = 0.0 + _MEL_F_SP * mels
    log = mels >= _MEL_LOG_MEL
    hz[log] = _MEL_LOG_HZ * np.exp(_MEL_LOG_STEP * (mels[log] - _MEL_LOG_MEL))
    return hz


MEL_SCALES = ("slaney", "htk")
MEL_NORMS = ("slaney", "none")

MEL_FMIN = param(
    0.0,
    unit="Hz",
    range=(0, None),
    below=("fmax_hz", NYQUIST),
    description="lowest mel band edge",
)
"""The mel band edges of every node that builds a mel filter bank, declared once."""
MEL_FMAX = param(
    None,
    unit="Hz",
    range=(0, None),
    at_most=NYQUIST,
    description="highest mel band edge (None: Nyquist)",
)


def infer_mel(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels, n_mels, frames)."""
    info = spectrum_info(inputs)
    shape = None
    if info is not None and info.shape is not None:
        shape = (info.shape[0], params["n_mels"], info.shape[2])
    return {"out": PortInfo("features", shape)}


def mel_power(
    spectrum: Spectrum,
    n_mels: int,
    fmin: float,
    fmax: float | None,
    scale: str,
    norm: str,
) -> np.ndarray:
    """Mel power spectrogram (channels, n_mels, frames) float32: bank @ |X|²."""
    from nodes.spectral._kernels import banded_product

    key = (n_mels, float(fmin), fmax, scale, norm)
    memo = _MELS.setdefault(spectrum, {})
    if key in memo:
        return memo[key].copy()
    power_values = power_of(spectrum)
    bank = mel_basis(spectrum.sample_rate, spectrum.n_fft, n_mels, fmin, fmax, scale == "htk", norm)
    nonzero = bank != 0
    used = nonzero.any(axis=1)
    lo = np.where(used, nonzero.argmax(axis=1), 0).astype(np.int64)
    hi = np.where(used, bank.shape[1] - nonzero[:, ::-1].argmax(axis=1), 0).astype(np.int64)
    out = np.empty((power_values.shape[0], n_mels, power_values.shape[2]), dtype=np.float32)
    for c in range(power_values.shape[0]):
        banded_product(bank, lo, hi, power_values[c], out[c])
    out.flags.writeable = False
    memo[key] = out
    return out.copy()


@node("spectral.mel", version=1, infer=infer_mel)
def mel(
    in_: Spectrum,
    *,
    n_mels: int = param(128, range=(1, 4096), description="number of mel bands"),
    fmin_hz: float = MEL_FMIN,
    fmax_hz: float | None = MEL_FMAX,
    scale: str = param("slaney", choices=MEL_SCALES, description="mel formula: Slaney or HTK"),
    norm: str = param("slaney", choices=MEL_NORMS, description="band area normalisation"),
    db: bool = param(False, description="convert to dB (power_to_db, ref 1, top_db 80)"),
) -> Features:
    """Mel power spectrogram: triangular mel filters applied to |X|², like librosa.

    Equals ``librosa.feature.melspectrogram(S=|X|**2, sr, n_mels, fmin, fmax,
    htk, norm)``: ``n_mels`` triangular bands between ``fmin_hz`` and
    ``fmax_hz`` (default Nyquist), spaced evenly on the Slaney (linear below
    1 kHz, logarithmic above) or HTK mel scale, each normalised to unit area
    (``norm = "slaney"``) or to a peak of 1 (``"none"``). With ``db`` the
    power is given in dB re 1, floored 80 dB below each channel's peak
    (``librosa.power_to_db``). Rows are named ``mel_0`` .. ``mel_{n-1}``.

    Example
    -------
        melspec = {in = "spec", n_mels = 64, fmax_hz = 8000}
    """
    values = mel_power(in_, n_mels, fmin_hz, fmax_hz, scale, norm)
    if db:
        for c in range(values.shape[0]):
            values[c] = power_to_db(values[c])
    return Features(values, frame_rate(in_), tuple(f"mel_{i}" for i in range(n_mels)))
