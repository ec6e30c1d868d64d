"""Features: frame-rate descriptors of sound that equal librosa's, and their summaries.

Spectral features take a ``spectrum`` (from ``spectral.stft``) on the port
``in``, so every feature of one signal reads one shared STFT. Each computes on
the same magnitude |X| or power |X|² spectrogram that the corresponding
librosa function builds, so its values equal ``librosa.feature.*(S=...)`` and
``librosa.feature.*(y=...)`` with the same n_fft and hop (to float rounding).
The arithmetic after the STFT is where the time goes: filter banks are built
once per (sample rate, n_fft, parameters) and kept in module-level tables,
mel and chroma are one matrix product each, centroid and bandwidth one
numba pass over the spectrogram, and chroma's tuning estimate (librosa's
piptrack) a numba kernel instead of whole-array temporaries.

Outputs are ``features``: float32 (channels, n, frames) at the STFT frame
rate (sample_rate / hop), frame k at k * hop / sample_rate seconds, with one
name per row. Channels are computed independently (a multi-channel result
equals librosa called on each channel alone).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from graphengine.node import NYQUIST, InferFn, Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Audio, Features, Spectrum, Vector
from nodes.spectral.stft import (
    MEL_FMAX,
    MEL_FMIN,
    MEL_NORMS,
    MEL_SCALES,
    fft_frequencies,
    frame_rate,
    input_rate,
    magnitude_of,
    mel_power,
    power_of,
    power_to_db,
    spectrum_info,
    stft_frames,
)

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
CHROMA_NORMS = ("inf", "1", "2", "none")
SUMMARY_STATS = ("mean", "std", "min", "max", "median")
TEMPO_AGGREGATES = ("mean", "median", "none")
PITCH_METHODS = ("pyin", "yin")
_TINY32 = float(np.finfo(np.float32).tiny)


def _from_spectrum(
    inputs: Mapping[str, Any], rows: int, names: tuple[str, ...] | None = None
) -> dict[str, PortInfo]:
    info = spectrum_info(inputs)
    shape = None
    if info is not None and info.shape is not None:
        shape = (info.shape[0], rows, info.shape[2])
    return {"out": PortInfo("features", shape, names=names)}


def _per_channel(spectrum: Spectrum, rows: int) -> np.ndarray:
    channels, _, frames = spectrum.data.shape
    return np.empty((channels, rows, frames), dtype=np.float32)


def _magnitude_and_freqs(spectrum: Spectrum) -> tuple[np.ndarray, np.ndarray]:
    """|X| (channels, bins, frames) of a spectrum, and its bins' frequencies in Hz."""
    return magnitude_of(spectrum), fft_frequencies(spectrum.sample_rate, spectrum.n_fft)


def _row_names(values: np.ndarray, names: tuple[str, ...]) -> tuple[str, ...]:
    """The names of a (channels, n, frames) table's rows, ``f0`` .. when they do not fit."""
    n = values.shape[1]
    return names if len(names) == n else tuple(f"f{k}" for k in range(n))


def _out(spectrum: Spectrum, values: np.ndarray, names: tuple[str, ...]) -> Features:
    return Features(values, frame_rate(spectrum), names)


# --------------------------------------------------------------------------- centroid, bandwidth


def _moments(mag: np.ndarray, freq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from nodes.feature._kernels import spectral_moments

    frames = mag.shape[1]
    s0, s1, s2 = (np.empty(frames) for _ in range(3))
    spectral_moments(mag, freq, s0, s1, s2)
    return s0, s1, s2


def _centroid(s0: np.ndarray, s1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centroid and the normaliser librosa divides by (the frame sum, or 1 below tiny)."""
    norm = np.where(s0 < _TINY32, 1.0, s0)
    return s1 / norm, norm


def infer_one_row(name: str) -> InferFn:
    """The infer function of a feature of one row named ``name``."""

    def infer(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
        return _from_spectrum(inputs, 1, (name,))

    infer.__doc__ = f"(channels, 1, frames) at the spectrum's frame rate; the row {name!r}."
    return infer


def infer_rows(count_param: str, names: Callable[[int], tuple[str, ...]]) -> InferFn:
    """The infer function of a feature with as many rows as parameter ``count_param`` says.

    ``names(count)`` gives the rows' names.
    """

    def infer(
        inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
    ) -> dict[str, PortInfo]:
        count = params[count_param]
        return _from_spectrum(inputs, count, names(count))

    infer.__doc__ = f"(channels, {count_param}, frames) at the spectrum's frame rate."
    return infer


def mfcc_names(n_mfcc: int) -> tuple[str, ...]:
    return tuple(f"mfcc_{k}" for k in range(n_mfcc))


def chroma_names(n_chroma: int) -> tuple[str, ...]:
    if n_chroma == 12:
        return tuple(f"chroma_{p}" for p in PITCH_CLASSES)
    return tuple(f"chroma_{k}" for k in range(n_chroma))


@node("feature.centroid", version=1, infer=infer_one_row("centroid"))
def centroid(in_: Spectrum, *, ctx: NodeContext) -> Features:
    """Spectral centroid ("brightness"): the magnitude-weighted mean frequency, in Hz.

    Per frame, Σ f·|X(f)| / Σ |X(f)| over the STFT bins (0 for a silent
    frame): ``librosa.feature.spectral_centroid``. One row, ``centroid``.

    Example
    -------
        bright = {in = "spec"}
    """
    mag, freq = _magnitude_and_freqs(in_)
    out = _per_channel(in_, 1)
    for c in range(mag.shape[0]):
        s0, s1, _ = _moments(mag[c], freq)
        out[c, 0] = _centroid(s0, s1)[0]
    return _out(in_, out, ("centroid",))


@node("feature.bandwidth", version=1, infer=infer_one_row("bandwidth"))
def bandwidth(
    in_: Spectrum,
    *,
    p: float = param(2.0, above=0, description="order of the deviation (2: std. dev.)"),
    ctx: NodeContext,
) -> Features:
    """Spectral bandwidth: the p-th order spread of frequency around the centroid, in Hz.

    Per frame, (Σ w(f)·|f - centroid|^p)^(1/p) with w the magnitudes
    normalised to sum 1: ``librosa.feature.spectral_bandwidth`` (p = 2 is the
    magnitude-weighted standard deviation of frequency). One row,
    ``bandwidth``.

    Example
    -------
        spread = {in = "spec", p = 2}
    """
    from nodes.feature._kernels import deviation_moment

    mag, freq = _magnitude_and_freqs(in_)
    out = _per_channel(in_, 1)
    for c in range(mag.shape[0]):
        s0, s1, s2 = _moments(mag[c], freq)
        cent, norm = _centroid(s0, s1)
        if p == 2.0:
            spread = np.maximum(s2 - 2.0 * cent * s1 + cent * cent * s0, 0.0)
        else:
            spread = np.empty_like(s0)
            deviation_moment(mag[c], freq, cent, float(p), spread)
        out[c, 0] = (spread / norm) ** (1.0 / p)
    return _out(in_, out, ("bandwidth",))


# --------------------------------------------------------------------------- rolloff, flatness


@node("feature.rolloff", version=1, infer=infer_one_row("rolloff"))
def rolloff(
    in_: Spectrum,
    *,
    roll_percent: float = param(
        0.85, above=0, below=1, description="fraction of the magnitude sum"
    ),
    ctx: NodeContext,
) -> Features:
    """Spectral roll-off: the lowest bin frequency below which roll_percent of the magnitude lies.

    Per frame, the centre frequency in Hz of the first STFT bin at which the
    cumulative sum of |X| reaches ``roll_percent`` of the frame's total:
    ``librosa.feature.spectral_rolloff``. One row, ``rolloff``.

    Example
    -------
        roll = {in = "spec", roll_percent = 0.85}
    """
    from nodes.feature._kernels import rolloff as rolloff_kernel

    mag, freq = _magnitude_and_freqs(in_)
    out = _per_channel(in_, 1)
    frames = mag.shape[2]
    total, acc = np.empty(frames, np.float32), np.empty(frames, np.float32)
    result = np.empty(frames)
    for c in range(mag.shape[0]):
        rolloff_kernel(mag[c], freq, np.float32(roll_percent), total, acc, result)
        out[c, 0] = result
    return _out(in_, out, ("rolloff",))


@node("feature.flatness", version=1, infer=infer_one_row("flatness"))
def flatness(
    in_: Spectrum,
    *,
    power: float = param(2.0, above=0, description="exponent of |X| (2: power)"),
    amin: float = param(1e-10, range=(0, None), description="floor of |X|**power"),
    ctx: NodeContext,
) -> Features:
    """Spectral flatness (Wiener entropy): geometric over arithmetic mean of |X|^power, in [0, 1].

    1 for white noise, near 0 for a pure tone; values of |X|^power below
    ``amin`` count as ``amin``: ``librosa.feature.spectral_flatness``. One
    row, ``flatness``.

    Example
    -------
        flat = {in = "spec"}
    """
    mag = magnitude_of(in_)
    out = _per_channel(in_, 1)
    for c in range(mag.shape[0]):
        s = power_of(in_)[c] if power == 2.0 else mag[c] ** np.float32(power)
        s = np.maximum(np.float32(amin), s)
        gmean = np.exp(np.mean(np.log(s, dtype=np.float64), axis=0))
        amean = np.mean(s, axis=0, dtype=np.float64)
        out[c, 0] = gmean / amean
    return _out(in_, out, ("flatness",))


# --------------------------------------------------------------------------- contrast


def _octaves(fmin: float, n_bands: int) -> np.ndarray:
    octa = np.zeros(n_bands + 2)
    octa[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
    return octa


def contrast_names(n_bands: int) -> tuple[str, ...]:
    return tuple(f"contrast_{k}" for k in range(n_bands + 1))


def infer_contrast(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels, n_bands + 1, frames); the top band's lower edge must lie below Nyquist."""
    fmin, n_bands = params["fmin_hz"], params["n_bands"]
    rate = input_rate(spectrum_info(inputs), ctx)
    top = fmin * 2.0 ** (n_bands - 1)
    if top >= rate / 2:
        raise ctx.param_error(
            "n_bands",
            f"band {n_bands} starts at {top:g} Hz, not below Nyquist ({rate / 2:g} Hz): "
            "lower fmin_hz or n_bands",
        )
    return _from_spectrum(inputs, n_bands + 1, contrast_names(n_bands))


@node("feature.contrast", version=1, infer=infer_contrast)
def contrast(
    in_: Spectrum,
    *,
    fmin_hz: float = param(200.0, unit="Hz", above=0, description="top of band 0"),
    n_bands: int = param(6, range=(1, 32), description="octave bands above fmin_hz"),
    quantile: float = param(
        0.02, above=0, below=1, description="fraction of a band's bins per side"
    ),
    linear: bool = param(False, description="peak - valley instead of their dB difference"),
    ctx: NodeContext,
) -> Features:
    """Spectral contrast: peak-to-valley level per octave band, in dB.

    Band 0 spans 0 .. fmin_hz, band k the octave fmin·2^(k-1) .. fmin·2^k,
    and the last band everything above. Per frame and band, the mean of the
    top and of the bottom ``quantile`` of its |X| values (at least one bin
    each) are compared: the difference of their levels in dB (or of the
    values with ``linear``): ``librosa.feature.spectral_contrast``. Rows
    ``contrast_0`` .. ``contrast_{n_bands}``.

    Example
    -------
        contrast = {in = "spec", fmin_hz = 200, n_bands = 6}
    """
    mag, freq = _magnitude_and_freqs(in_)
    infer_contrast({}, locals(), ctx)
    octa = _octaves(fmin_hz, n_bands)
    channels, _, frames = mag.shape
    out = _per_channel(in_, n_bands + 1)
    for c in range(channels):
        valley = np.zeros((n_bands + 1, frames))
        peak = np.zeros_like(valley)
        for k, (f_low, f_high) in enumerate(itertools.pairwise(octa)):
            band = (freq >= f_low) & (freq <= f_high)
            idx = np.flatnonzero(band)
            if k > 0:
                band[idx[0] - 1] = True
            if k == n_bands:
                band[idx[-1] + 1 :] = True
            sub = mag[c][band]
            if k < n_bands:
                sub = sub[:-1]
            count = max(int(np.rint(quantile * np.sum(band))), 1)
            n = sub.shape[0]
            part = np.partition(sub, sorted({count - 1, n - count}), axis=0)
            valley[k] = np.mean(part[:count], axis=0)
            peak[k] = np.mean(part[n - count :], axis=0)
        if linear:
            out[c] = peak - valley
        else:
            out[c] = power_to_db(peak) - power_to_db(valley)
    return _out(in_, out, contrast_names(n_bands))


# --------------------------------------------------------------------------- rms, zcr


@node("feature.rms", version=1, infer=infer_one_row("rms"))
def rms(in_: Spectrum, *, ctx: NodeContext) -> Features:
    """Root-mean-square level per frame from the spectrum (librosa.feature.rms(S=|X|)).

    By Parseval, sqrt(2 Σ|X|² / n_fft²) with the 0 Hz and Nyquist bins
    counted once, frame length = n_fft: the RMS of the windowed frame, so a
    Hann window gives sqrt(3/8) ≈ 0.61 of the signal's RMS. One row, ``rms``.

    Example
    -------
        level = {in = "spec"}
    """
    power_values = power_of(in_)
    out = _per_channel(in_, 1)
    n_fft = in_.n_fft
    for c in range(power_values.shape[0]):
        total = power_values[c].sum(axis=0, dtype=np.float32)
        total -= np.float32(0.5) * power_values[c, 0]
        if n_fft % 2 == 0:
            total -= np.float32(0.5) * power_values[c, -1]
        out[c, 0] = np.sqrt(2 * total / np.float32(n_fft**2))
    return _out(in_, out, ("rms",))


def infer_zcr(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels, 1, frames) with frames as a centred STFT of the same hop would have."""
    frame_length, hop = params["frame_length"], params["hop"]
    info = inputs.get("in")
    shape = None
    if isinstance(info, PortInfo) and info.shape is not None:
        channels, samples = info.shape
        if not params["center"] and samples < frame_length:
            raise ctx.param_error(
                "frame_length", f"the signal is shorter than {frame_length} samples"
            )
        shape = (channels, 1, stft_frames(samples, frame_length, hop, params["center"]))
    return {"out": PortInfo("features", shape, names=("zcr",))}


@node("feature.zcr", version=1, infer=infer_zcr)
def zcr(
    in_: Audio,
    *,
    frame_length: int = param(2048, range=(1, None), description="frame length in samples"),
    hop: int = param(
        512, range=(1, None), at_most="frame_length", description="samples between frames"
    ),
    center: bool = param(True, description="centre frame k on sample k * hop (edge padding)"),
    ctx: NodeContext,
) -> Features:
    """Zero-crossing rate: the fraction of samples in each frame where the sign changes.

    Samples with |y| <= 1e-10 count as 0 (positive); with ``center`` the
    signal is padded by repeating its edge samples so frame k is centred on
    sample k * hop: ``librosa.feature.zero_crossing_rate``. A sine of
    frequency f gives about 2 f / sample_rate. One row, ``zcr``.

    Example
    -------
        zc = {in = "src", frame_length = 2048, hop = 512}
    """
    from nodes.feature._kernels import zero_crossing_counts

    shape = infer_zcr({"in": PortInfo("audio", in_.samples.shape)}, locals(), ctx)["out"].shape
    out = np.empty(shape, dtype=np.float32)
    counts = np.empty(shape[2], dtype=np.int64)
    for c in range(in_.channels):
        y = in_.samples[c]
        if center:
            y = np.pad(y, (frame_length // 2, frame_length // 2), mode="edge")
        zero_crossing_counts(y, 1e-10, frame_length, hop, counts)
        out[c, 0] = counts / frame_length
    return Features(out, in_.sample_rate / hop, ("zcr",))


# --------------------------------------------------------------------------- mel, mfcc


@node("feature.mfcc", version=1, infer=infer_rows("n_mfcc", mfcc_names))
def mfcc(
    in_: Spectrum,
    *,
    n_mfcc: int = param(
        20, range=(1, 4096), at_most="n_mels", description="number of coefficients"
    ),
    n_mels: int = param(128, range=(1, 4096), description="mel bands before the DCT"),
    fmin_hz: float = MEL_FMIN,
    fmax_hz: float | None = MEL_FMAX,
    scale: str = param("slaney", choices=MEL_SCALES, description="mel formula"),
    mel_norm: str = param("slaney", choices=MEL_NORMS, description="mel band normalisation"),
    lifter: float = param(0.0, range=(0, None), description="cepstral liftering (0: none)"),
    top_db: float = param(80.0, range=(0, None), description="dB floor below the peak"),
    ctx: NodeContext,
) -> Features:
    """Mel-frequency cepstral coefficients: the orthonormal DCT-II of the log mel spectrum.

    The mel power spectrogram (``spectral.mel`` with the same band
    parameters) is taken to dB re 1 and floored ``top_db`` below the peak,
    then transformed with an orthonormal type-II DCT over the bands; the
    first ``n_mfcc`` coefficients are kept and, if ``lifter`` > 0, scaled by
    1 + lifter/2 · sin(π (k+1) / lifter): ``librosa.feature.mfcc``. Rows
    ``mfcc_0`` .. ``mfcc_{n-1}``.

    Example
    -------
        cepstrum = {in = "spec", n_mfcc = 13}
    """
    from scipy.fftpack import dct

    mel_values = mel_power(in_, n_mels, fmin_hz, fmax_hz, scale, mel_norm)
    out = _per_channel(in_, n_mfcc)
    for c in range(mel_values.shape[0]):
        log_mel = power_to_db(mel_values[c], top_db=top_db if top_db > 0 else None)
        out[c] = dct(log_mel, axis=0, type=2, norm="ortho")[:n_mfcc]
    if lifter > 0:
        weights = 1 + (lifter / 2) * np.sin(np.pi * np.arange(1, 1 + n_mfcc) / lifter)
        out *= weights[:, np.newaxis].astype(np.float32)
    return _out(in_, out, mfcc_names(n_mfcc))


# --------------------------------------------------------------------------- chroma

_CHROMA_BANKS: dict[tuple, np.ndarray] = {}


def _chroma_bank(sample_rate: float, n_fft: int, n_chroma: int, tuning: float) -> np.ndarray:
    key = (float(sample_rate), n_fft, n_chroma, float(tuning))
    bank = _CHROMA_BANKS.get(key)
    if bank is None:
        import librosa

        bank = librosa.filters.chroma(sr=sample_rate, n_fft=n_fft, tuning=tuning, n_chroma=n_chroma)
        bank.flags.writeable = False
        _CHROMA_BANKS[key] = bank
    return bank


def estimate_tuning(power_values: np.ndarray, sample_rate: float, n_fft: int, n_chroma: int):
    """librosa.estimate_tuning(S=power, bins_per_octave=n_chroma), via a numba piptrack."""
    import warnings

    from librosa.core.pitch import pitch_tuning

    from nodes.feature._kernels import piptrack_count, piptrack_fill

    freqs = fft_frequencies(sample_rate, n_fft)
    in_band = (freqs >= 150.0) & (freqs < min(4000.0, sample_rate / 2))
    ref = np.empty(power_values.shape[1], dtype=np.float32)
    count = piptrack_count(power_values, in_band, np.float32(0.1), ref)
    pitches = np.empty(count, dtype=np.float32)
    mags = np.empty(count, dtype=np.float32)
    piptrack_fill(power_values, in_band, ref, float(sample_rate), n_fft, pitches, mags)
    voiced = pitches > 0
    threshold = np.median(mags[voiced]) if voiced.any() else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # silence: "empty frequency set", tuning 0
        return float(pitch_tuning(pitches[(mags >= threshold) & voiced], bins_per_octave=n_chroma))


@node("feature.chroma", version=1, infer=infer_rows("n_chroma", chroma_names))
def chroma(
    in_: Spectrum,
    *,
    n_chroma: int = param(12, range=(1, 120), description="pitch classes per octave"),
    tuning: float | None = param(
        None, range=(-0.5, None), below=0.5, description="offset from A440 in bins (None: estimate)"
    ),
    norm: str = param("inf", choices=CHROMA_NORMS, description="per-frame normalisation"),
    ctx: NodeContext,
) -> Features:
    """Chromagram from the STFT: energy per pitch class, C first (librosa.feature.chroma_stft).

    The power spectrum |X|² is projected onto ``n_chroma`` pitch classes by
    librosa's Gaussian chroma filters, tuned by ``tuning`` (in fractions of a
    bin, estimated from the spectrum's peaks like librosa.estimate_tuning
    when not given), then each frame is normalised (``"inf"``: peak 1).
    Rows ``chroma_C`` .. ``chroma_B`` for 12 classes, else ``chroma_0`` ...

    Example
    -------
        pitchclass = {in = "spec", n_chroma = 12}
    """
    power_values = power_of(in_)
    out = _per_channel(in_, n_chroma)
    order = {"inf": np.inf, "1": 1.0, "2": 2.0, "none": None}[norm]
    for c in range(power_values.shape[0]):
        tune = tuning
        if tune is None:
            tune = estimate_tuning(power_values[c], in_.sample_rate, in_.n_fft, n_chroma)
        bank = _chroma_bank(in_.sample_rate, in_.n_fft, n_chroma, tune)
        raw = bank @ power_values[c]
        if order is None:
            out[c] = raw
            continue
        if order == np.inf:
            length = np.abs(raw).max(axis=0).astype(np.float64)
        else:
            length = np.sum(np.abs(raw).astype(np.float64) ** order, axis=0) ** (1.0 / order)
        length[length < _TINY32] = 1.0
        out[c] = raw / length
    return _out(in_, out, chroma_names(n_chroma))


# --------------------------------------------------------------------------- onset, tempo


def _onset_envelope(
    spectrum: Spectrum, lag: int, max_size: int, n_mels: int, detrend: bool
) -> np.ndarray:
    """librosa.onset.onset_strength(y, sr, n_fft, hop, ...) per channel: (channels, frames)."""
    import librosa

    mel_values = mel_power(spectrum, n_mels, 0.0, None, "slaney", "slaney")
    channels, _, frames = mel_values.shape
    out = np.empty((channels, frames), dtype=np.float32)
    for c in range(channels):
        out[c] = librosa.onset.onset_strength(
            S=power_to_db(mel_values[c]),
            sr=spectrum.sample_rate,
            n_fft=spectrum.n_fft,
            hop_length=spectrum.hop,
            lag=lag,
            max_size=max_size,
            detrend=detrend,
            center=True,
        )
    return out


@node("feature.onset_strength", version=1, infer=infer_one_row("onset_strength"))
def onset_strength(
    in_: Spectrum,
    *,
    lag: int = param(1, range=(1, None), description="frames between compared spectra"),
    max_size: int = param(1, range=(1, None), description="mel bands in the reference max-filter"),
    n_mels: int = param(128, range=(1, 4096), description="mel bands"),
    detrend: bool = param(False, description="remove the DC component with a leaky differentiator"),
    ctx: NodeContext,
) -> Features:
    """Onset strength (spectral flux): mean rise of the log-mel spectrum from frame to frame.

    The mel power spectrogram in dB (top 80 dB) is differenced ``lag`` frames
    apart, negative changes dropped, averaged over bands and shifted to
    compensate for the centred frames: ``librosa.onset.onset_strength``. One
    row, ``onset_strength``.

    Example
    -------
        flux = {in = "spec"}
    """
    env = _onset_envelope(in_, lag, max_size, n_mels, detrend)
    return _out(in_, env[:, np.newaxis, :], ("onset_strength",))


@node("feature.tempo", version=1, infer=infer_one_row("tempo_bpm"))
def tempo(
    in_: Spectrum,
    *,
    start_bpm: float = param(120.0, unit="BPM", above=0, description="prior's centre"),
    std_bpm: float = param(1.0, unit="BPM", above=0, description="prior's width, octaves"),
    ac_size_s: float = param(8.0, unit="s", above=0, description="autocorrelation window"),
    max_tempo_bpm: float = param(320.0, unit="BPM", above=0, description="upper limit"),
    aggregate: str = param("mean", choices=TEMPO_AGGREGATES, description="global or per frame"),
    ctx: NodeContext,
) -> Features:
    """Tempo in beats per minute from the onset-strength autocorrelation (librosa.feature.tempo).

    The onset envelope's tempogram (autocorrelation over ``ac_size_s``
    windows) is weighted by a log-normal prior around ``start_bpm`` and its
    peak taken. With ``aggregate = "mean"`` or ``"median"`` the tempogram is
    aggregated over the whole signal first and the one global estimate is
    repeated at every frame (its summary mean is the estimate); with
    ``"none"`` each frame gets its local tempo. One row, ``tempo_bpm``.

    Example
    -------
        bpm = {in = "spec", start_bpm = 120}
    """
    import librosa

    env = _onset_envelope(in_, 1, 1, 128, False)
    channels, frames = env.shape
    out = np.empty((channels, 1, frames), dtype=np.float32)
    agg = {"mean": np.mean, "median": np.median, "none": None}[aggregate]
    for c in range(channels):
        estimate = librosa.feature.tempo(
            onset_envelope=env[c],
            sr=in_.sample_rate,
            hop_length=in_.hop,
            start_bpm=start_bpm,
            std_bpm=std_bpm,
            ac_size=ac_size_s,
            max_tempo=max_tempo_bpm,
            aggregate=agg,
        )
        out[c, 0] = estimate
    return _out(in_, out, ("tempo_bpm",))


# --------------------------------------------------------------------------- pitch


def infer_pitch(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels, 3 or 1, frames); two periods of fmin_hz fit in a frame."""
    info = spectrum_info(inputs)  # the audio input's PortInfo, or None
    rate = input_rate(info, ctx)
    fmin = params["fmin_hz"]
    frame_length, hop = params["frame_length"], params["hop"]
    if rate / fmin >= frame_length - 1:
        raise ctx.param_error(
            "fmin_hz",
            f"a period of {fmin:g} Hz ({rate / fmin:.0f} samples) does not fit twice in "
            f"a frame of {frame_length}; raise fmin_hz or frame_length",
        )
    names = pitch_names(params["method"])
    shape = None
    if info is not None and info.shape is not None:
        shape = (info.shape[0], len(names), stft_frames(info.shape[1], frame_length, hop, True))
    return {"out": PortInfo("features", shape, names=names)}


def pitch_names(method: str) -> tuple[str, ...]:
    return ("f0_hz", "voiced_prob", "voiced") if method == "pyin" else ("f0_hz",)


@node("feature.pitch", version=1, infer=infer_pitch)
def pitch(
    in_: Audio,
    *,
    method: str = param("pyin", choices=PITCH_METHODS, description="probabilistic YIN or YIN"),
    fmin_hz: float = param(
        65.0, unit="Hz", above=0, below="fmax_hz", description="lowest f0 searched"
    ),
    fmax_hz: float = param(2093.0, unit="Hz", at_most=NYQUIST, description="highest f0"),
    frame_length: int = param(2048, range=(1, None), description="analysis frame in samples"),
    hop: int = param(
        512, range=(1, None), at_most="frame_length", description="samples between frames"
    ),
    ctx: NodeContext,
) -> Features:
    """Fundamental frequency per frame by pYIN (with voicing) or YIN (librosa.pyin / yin).

    ``pyin`` gives three rows: ``f0_hz`` (NaN where unvoiced),
    ``voiced_prob`` in [0, 1] and ``voiced`` (1 or 0); ``yin`` gives ``f0_hz``
    only, for every frame. Frames are centred (frame k on k * hop / rate
    seconds). f0 is searched in [fmin_hz, fmax_hz]; two periods of fmin_hz
    must fit in a frame.

    Example
    -------
        f0 = {in = "src", method = "pyin", fmin_hz = 80, fmax_hz = 1000}
    """
    import librosa

    shape = infer_pitch({"in": PortInfo("audio", in_.samples.shape)}, locals(), ctx)["out"].shape
    out = np.empty(shape, dtype=np.float32)
    for c in range(in_.channels):
        if method == "pyin":
            f0, voiced, prob = librosa.pyin(
                in_.samples[c],
                fmin=fmin_hz,
                fmax=fmax_hz,
                sr=in_.sample_rate,
                frame_length=frame_length,
                hop_length=hop,
            )
            out[c] = np.stack([f0, prob, voiced.astype(np.float32)])
        else:
            out[c, 0] = librosa.yin(
                in_.samples[c],
                fmin=fmin_hz,
                fmax=fmax_hz,
                sr=in_.sample_rate,
                frame_length=frame_length,
                hop_length=hop,
            )
    return Features(out, in_.sample_rate / hop, pitch_names(method))


# --------------------------------------------------------------------------- summary, stack


def _summary_names(
    names: tuple[str, ...], channels: int, stats: list[str], percentiles: list[float]
) -> list[str]:
    labels = [*stats, *(_pct_label(p) for p in percentiles)]
    out = []
    for c in range(channels):
        prefix = f"ch{c}_" if channels > 1 else ""
        out.extend(f"{prefix}{name}_{label}" for name in names for label in labels)
    return out


def _pct_label(p: float) -> str:
    return f"p{p:g}".replace(".", "_")


def infer_summary(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels * n * (stats + percentiles),); at least one statistic."""
    per = len(params["stats"]) + len(params["percentiles"])
    if per == 0:
        raise ctx.param_error("stats", "no statistics asked for (stats and percentiles both empty)")
    info = inputs.get("in")
    shape = names = None
    if isinstance(info, PortInfo) and info.shape is not None:
        channels, n, _ = info.shape
        shape = (channels * n * per,)
        if info.names is not None:
            rows = info.names if len(info.names) == n else tuple(f"f{k}" for k in range(n))
            stats = _summary_names(rows, channels, params["stats"], params["percentiles"])
            names = tuple(stats)
    return {"out": PortInfo("vector", shape, names=names)}


@node("feature.summary", version=1, infer=infer_summary)
def summary(
    in_: Features,
    *,
    stats: list[str] = param(
        ["mean", "std", "min", "max"], choices=SUMMARY_STATS, description="statistics over time"
    ),
    percentiles: list[float] = param([], range=(0, 100), description="percentiles over time"),
    ctx: NodeContext,
) -> Vector:
    """Per-feature statistics over time, flattened to one named vector.

    For every feature row (and channel) the chosen ``stats`` and
    ``percentiles`` over all frames, in that order, named
    ``<feature>_<stat>`` (``mfcc_3_mean``, ``centroid_p90``; with several
    channels ``ch1_mfcc_3_mean``). NaN frames (unvoiced pitch) are ignored;
    a row with no finite frame gives NaN. ``std`` is the population standard
    deviation (ddof 0), percentiles interpolate linearly (numpy's default).

    Example
    -------
        stats = {in = "feats", stats = ["mean", "std"], percentiles = [10, 50, 90]}
    """
    import warnings

    infer_summary({}, {"stats": stats, "percentiles": percentiles}, ctx)
    values = in_.values.astype(np.float64)
    funcs = {
        "mean": np.nanmean,
        "std": np.nanstd,
        "min": np.nanmin,
        "max": np.nanmax,
        "median": np.nanmedian,
    }
    columns = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN
        for stat in stats:
            columns.append(funcs[stat](values, axis=-1))
        for p in percentiles:
            columns.append(np.nanpercentile(values, p, axis=-1))
    table = np.stack(columns, axis=-1)  # not empty: infer_summary refuses no statistics
    rows = _row_names(in_.values, in_.names)
    return Vector(table.reshape(-1), _summary_names(rows, len(in_.values), stats, percentiles))


def infer_stack(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(channels, Σ n, frames); inputs must agree on channels and frames."""
    infos = [i for i in inputs.get("in") or [] if isinstance(i, PortInfo)]
    if not infos:
        return {"out": PortInfo("features", None)}
    shapes = [i.shape for i in infos]
    if any(s is None for s in shapes):
        return {"out": PortInfo("features", None)}
    channels = {s[0] for s in shapes}
    frames = {s[2] for s in shapes}
    if len(channels) > 1:
        raise ctx.port_error("in", f"inputs have different channel counts {sorted(channels)}")
    if len(frames) > 1:
        raise ctx.port_error(
            "in", f"inputs have different frame counts {sorted(frames)}: use one hop and centring"
        )
    shape = (shapes[0][0], sum(s[1] for s in shapes), shapes[0][2])
    names = None
    if all(i.names is not None for i in infos):
        names = _stacked_names([(i.names, i.shape[1]) for i in infos])
    return {"out": PortInfo("features", shape, names=names)}


def _stacked_names(inputs: list[tuple[tuple[str, ...], int]]) -> tuple[str, ...]:
    """Each input's row names (``f<k>`` when they do not fit), a repeat suffixed ``_2``, ..."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for own, n in inputs:
        for name in own if len(own) == n else tuple(f"f{k}" for k in range(n)):
            seen[name] = seen.get(name, 0) + 1
            names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return tuple(names)


@node("feature.stack", version=1, infer=infer_stack)
def stack(in_: list[Features], *, ctx: NodeContext) -> Features:
    """Join frame features row-wise into one table (same channels, frames and frame rate).

    Rows keep their names; a repeated name gets a suffix ``_2``, ``_3``, ...

    Example
    -------
        feats = {in = ["mfccs", "bright"]}
    """
    if not in_:
        raise ctx.port_error("in", "no inputs to stack")
    infer_stack({"in": [PortInfo("features", f.values.shape) for f in in_]}, {}, ctx)
    rates = {round(f.frame_rate, 9) for f in in_}
    if len(rates) > 1:
        raise ctx.port_error("in", f"inputs have different frame rates {sorted(rates)}")
    names = _stacked_names([(f.names, f.values.shape[1]) for f in in_])
    values = np.concatenate([f.values for f in in_], axis=1)
    return Features(values, in_[0].frame_rate, names)


def infer_stack_vectors(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(Σ n,) when every input's length is known; ``prefixes``, if given, one per input.

    Where every input's names are known too, the output's are, and a name
    two inputs share is refused here, before the run.
    """
    connected = inputs.get("in") or []
    prefixes = params.get("prefixes") or []
    if prefixes and len(prefixes) != len(connected):
        raise ctx.param_error(
            "prefixes",
            f"{len(prefixes)} prefixes for {len(connected)} inputs; give one per input (or none)",
        )
    if any(not p for p in prefixes):
        raise ctx.param_error("prefixes", "a prefix must not be empty")
    infos = [i for i in connected if isinstance(i, PortInfo)]
    shapes = [i.shape for i in infos]
    known = bool(shapes) and all(s is not None for s in shapes)
    names = None
    if known and len(infos) == len(connected) and all(i.names is not None for i in infos):
        names = _joined_names([(i.names, i.shape[0]) for i in infos], prefixes, ctx)
    return {"out": PortInfo("vector", (sum(s[0] for s in shapes),) if known else None, names=names)}


def _joined_names(
    inputs: list[tuple[tuple[str, ...], int]], prefixes: list[str], ctx: NodeContext
) -> tuple[str, ...]:
    """The names of the joined vector; a PortError on ``in`` when two inputs share one.

    ``inputs`` holds each input's (names, length); an input whose names do not
    fit its length gets ``v<k>``, k counting from the start of the output.
    """
    names: list[str] = []
    origin: dict[str, int] = {}
    clashes: dict[str, tuple[int, int]] = {}
    for index, (given, size) in enumerate(inputs):
        own = given if len(given) == size else tuple(f"v{len(names) + k}" for k in range(size))
        if prefixes:
            own = tuple(f"{prefixes[index]}.{name}" for name in own)
        for name in own:
            if name in origin and origin[name] != index:
                clashes.setdefault(name, (origin[name], index))
            origin.setdefault(name, index)
        names.extend(own)
    if clashes:
        raise ctx.port_error("in", _clash_message(clashes, ctx, len(inputs)))
    return tuple(names)


@node("feature.stack_vectors", version=1, infer=infer_stack_vectors)
def stack_vectors(
    in_: list[Vector],
    *,
    prefixes: list[str] = param([], description="one per input: its names become <prefix>.<name>"),
    ctx: NodeContext,
) -> Vector:
    """Join vectors end to end, keeping their names (e.g. summaries of several features).

    The names must all differ: a name that two inputs share (``snr_db`` from two
    ``metric.snr`` nodes) is an error naming both sources, never a value
    silently lost in a JSON object or a repeated CSV column. Validation finds
    it where the inputs' names are known before the run (metrics, summaries
    of the built-in features), the run otherwise. Give ``prefixes``,
    one per input, to tell them apart: with ``prefixes = ["noisy", "clean"]``
    the names are ``noisy.snr_db`` and ``clean.snr_db`` (a prefix may repeat
    where the names it leads differ). An input without names
    gets ``v<k>``, k counting from the start of the output.

    Example
    -------
        all = {in = ["stats_a", "stats_b"], prefixes = ["a", "b"]}
    """
    names = _joined_names([(v.names, v.values.size) for v in in_], prefixes, ctx)
    values = np.concatenate([v.values for v in in_]) if in_ else np.zeros(0, np.float32)
    return Vector(values, names)


def _clash_message(clashes: dict[str, tuple[int, int]], ctx: NodeContext, count: int) -> str:
    """Which names two inputs share, naming the two sources, and the fix."""
    sources = list(ctx.sources.get("in", ()))
    sources += [f"input {k}" for k in range(len(sources), count)]
    nodes = [source.split(".")[0] for source in sources]
    shown = [f"{n!r} from both {sources[a]} and {sources[b]}" for n, (a, b) in clashes.items()]
    more = f" (and {len(shown) - 3} more)" if len(shown) > 3 else ""
    example = ", ".join(f'"{n}"' for n in nodes)
    return (
        f"names repeat: {'; '.join(shown[:3])}{more}; a vector's names must differ, so set "
        f"prefixes = [{example}] to name them <prefix>.<name>"
    )
