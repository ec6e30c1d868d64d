"""Enhancement: noise reduction (spectral subtraction, Wiener filter) and echo cancellation.

The noise reducers work on a short-time Fourier transform (Hann frames of
``n_fft`` samples, 75 % overlap) and need a noise power spectrum, taken from a
second input of noise alone, from the first ``noise_ms`` of the signal, or
tracked through the signal by minimum statistics. ``denoise.echo_cancel`` removes the
echo of a far-end signal from a microphone signal with an NLMS adaptive
filter (a numba kernel) that a double-talk detector freezes while the near end
talks.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from graphengine.node import Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.paramgroup import ParamGroup
from graphengine.types import Audio
from nodes.effect.timefreq import istft, stft

NOISE_ESTIMATES = ("leading", "minimum_statistics")
FFT_SIZES = (256, 512, 1024, 2048, 4096, 8192)

_SMOOTHING_S = 0.05
"""Time constant of the periodogram smoothing in minimum statistics (Martin 2001 uses ~0.1 s)."""
_MINIMUM_WINDOW_S = 1.5
"""Window over which minimum statistics takes the minimum (longer than a spoken word or note)."""


def _check_pair(
    main: PortInfo,
    other: PortInfo | None,
    names: tuple[str, str],
    ctx: NodeContext,
) -> None:
    """Rates must match; the second input has 1 channel or as many as the first."""
    if other is None:
        return
    first, second = names
    if (
        main.sample_rate is not None
        and other.sample_rate is not None
        and main.sample_rate != other.sample_rate
    ):
        raise ctx.port_error(
            second,
            f"{second} is at {other.sample_rate:g} Hz but {first} at {main.sample_rate:g} Hz; "
            "resample one of them",
        )
    if main.channels is not None and other.channels is not None:  # noqa: SIM102
        if other.channels not in (1, main.channels):
            raise ctx.port_error(
                second,
                f"{second} has {other.channels} channels but {first} has {main.channels}; "
                f"give {second} 1 channel (used for all) or {main.channels}",
            )


def _port(audio: Audio | None) -> PortInfo | None:
    if audio is None:
        return None
    return PortInfo("audio", audio.samples.shape, sample_rate=audio.sample_rate)


# --------------------------------------------------------------------------- noise estimates


def _hop(n_fft: int) -> int:
    return n_fft // 4


def _leading_noise(power: np.ndarray, frames: int) -> np.ndarray:
    """Mean power over the first ``frames`` frames: (bins, 1)."""
    return power[:, : max(1, frames)].mean(axis=1, keepdims=True)


@cache
def _minimum_bias(alpha: float, window: int, overlap: int) -> float:
    """E[noise power] / E[minimum of the smoothed periodogram] for white Gaussian noise.

    Measured once by simulation: the STFT of white noise with Hann frames
    overlapping like the real ones (``overlap`` frames per frame length; the
    correlation between frames depends on that alone), smoothed and
    minimised the same way. This is the bias correction of Martin's minimum
    statistics, exact for the settings in use rather than an approximation.
    """
    rng = np.random.default_rng(0)
    n_fft = 256
    hop = n_fft // overlap
    noise = rng.standard_normal(8 * window * hop + n_fft)
    power = np.abs(stft(noise, n_fft, hop)[4:-4]) ** 2
    smoothed = _smooth(power, alpha)
    minima = _running_min(smoothed, window)[:, 2 * window : -2]
    return float(power[:, 2 * window : -2].mean() / minima.mean())


def _smooth(power: np.ndarray, alpha: float) -> np.ndarray:
    from scipy.signal import lfilter

    initial = power[:, :1] * alpha
    smoothed, _ = lfilter([1.0 - alpha], [1.0, -alpha], power, axis=1, zi=initial)
    return smoothed


def _running_min(values: np.ndarray, window: int) -> np.ndarray:
    """Minimum over the last ``window`` frames (a causal sliding minimum)."""
    from scipy.ndimage import minimum_filter1d

    origin = (window - 1) // 2  # shift the centred filter so it only looks back
    return minimum_filter1d(values, size=window, axis=1, mode="nearest", origin=origin)


def _minimum_statistics(power: np.ndarray, rate: float, hop: int) -> np.ndarray:
    """Noise power per bin and frame tracked by minimum statistics (Martin 2001, simplified).

    The periodogram is smoothed over time (a one-pole with a 50 ms time
    constant); its minimum over the last 1.5 s, times the bias correction of
    that minimum for pure noise, is the noise power. It follows slowly
    changing noise and ignores speech or notes shorter than the window.
    """
    alpha = float(np.exp(-hop / (_SMOOTHING_S * rate)))
    window = max(2, round(_MINIMUM_WINDOW_S * rate / hop))
    window = min(window, power.shape[1]) if power.shape[1] > 1 else 1
    edge = 2  # the first and last n_fft / (2 hop) frames reach into the zero padding
    if power.shape[1] > 2 * edge + 1:
        power = power.copy()
        power[:, :edge] = power[:, edge : edge + 1]
        power[:, -edge:] = power[:, -edge - 1 : -edge]
    smoothed = _smooth(power, alpha)
    if window < 2:
        return smoothed
    return _running_min(smoothed, window) * _minimum_bias(alpha, window, 4)


def _noise_power(
    spec: np.ndarray,
    noise: Audio | None,
    channel: int,
    estimate: str,
    noise_ms: float,
    rate: float,
    n_fft: int,
) -> np.ndarray:
    power = np.abs(spec) ** 2
    hop = _hop(n_fft)
    if noise is not None:
        row = noise.samples[min(channel, noise.channels - 1)].astype(np.float64)
        return (np.abs(stft(row, n_fft, hop)) ** 2).mean(axis=1, keepdims=True)
    if estimate == "leading":
        return _leading_noise(power, round(noise_ms / 1000.0 * rate / hop))
    return _minimum_statistics(power, rate, hop)


def infer_denoise(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """Shaped like ``in``; a ``noise`` input must match its rate and have 1 or its channels."""
    source = inputs["in"]
    _check_pair(source, inputs.get("noise"), ("in", "noise"), ctx)
    return {"out": PortInfo("audio", source.shape, sample_rate=source.sample_rate, itemsize=4)}


def _denoise(
    in_: Audio,
    noise: Audio | None,
    params: dict[str, Any],
    gain_fn: Any,
    ctx: NodeContext,
) -> Audio:
    infer_denoise({"in": _port(in_), "noise": _port(noise)}, params, ctx)
    n_fft = params["n_fft"]
    hop = _hop(n_fft)
    out = np.empty_like(in_.samples)
    for c, row in enumerate(in_.samples.astype(np.float64)):
        spec = stft(row, n_fft, hop)
        noise_power = _noise_power(
            spec,
            noise,
            c,
            params["noise_estimate"],
            params["noise_ms"],
            in_.sample_rate,
            n_fft,
        )
        gain = gain_fn(np.abs(spec) ** 2, noise_power * params["over_subtraction"])
        out[c] = istft(spec * gain, n_fft, hop, row.size)
    return in_.with_samples(out)


NOISE_ESTIMATE = ParamGroup(
    noise_estimate=(
        str,
        param(
            "minimum_statistics",
            choices=NOISE_ESTIMATES,
            description="how to estimate the noise when no noise input is connected",
        ),
    ),
    noise_ms=(
        float,
        param(
            250.0,
            unit="ms",
            range=(1, 60_000),
            description="leading: length of the noise-only start",
        ),
    ),
)
"""How the STFT denoisers estimate the noise when no ``noise`` input is connected."""


# --------------------------------------------------------------------------- spectral subtraction


@node("denoise.spectral_subtraction", version=1, infer=infer_denoise)
@NOISE_ESTIMATE.first
def spectral_subtraction(
    in_: Audio,
    noise: Audio | None = None,
    *,
    over_subtraction: float = param(
        4.0, range=(0.1, 20), description="factor on the noise power subtracted (alpha)"
    ),
    floor_db: float = param(
        -20.0, unit="dB", range=(-80, 0), description="spectral floor re the noise (beta)"
    ),
    n_fft: int = param(2048, choices=FFT_SIZES, description="frame length in samples"),
    ctx: NodeContext,
    **estimate: Any,
) -> Audio:
    """Reduce stationary noise by power spectral subtraction (Berouti, Schwartz and Makhoul 1979).

    In every STFT bin the noise power ``N``, scaled by ``over_subtraction``
    (alpha), is subtracted from the signal's power ``|Y|²``; what falls below
    the spectral floor ``beta N`` (``beta = 10 ** (floor_db / 10)``) is set to
    it. The noisy phase is kept. Over-subtraction (alpha 3 to 6; the default
    4 is Berouti's choice at 0 dB SNR) removes the random peaks of the noise
    that plain subtraction leaves as "musical noise" (with alpha 1 about 37 %
    of noise-only bins keep a residual, with alpha 4 under 2 %), and the
    floor masks what remains with a little smooth residual noise; a higher
    floor sounds more natural, a lower one removes more.

    The noise spectrum comes from the optional ``noise`` input (a recording
    of the noise alone: its mean power; one channel for all or one per
    channel, at the same rate) or, without it, from ``noise_estimate``:
    ``leading`` averages the first ``noise_ms`` of the signal (which must
    hold noise only), ``minimum_statistics`` tracks the minimum of the
    smoothed power over the last 1.5 s (Martin 2001), which needs no quiet
    start and follows slowly changing noise, but takes any sound held
    steady for longer than that (a drone, a sustained tone) for noise. Frames are ``n_fft`` samples
    (2048: 46 ms at 44.1 kHz) with Hann windows at 75 % overlap.

    Example
    -------
        clean = {in = "src", noise_estimate = "leading", noise_ms = 500.0, over_subtraction = 3.0}
    """
    beta = 10.0 ** (floor_db / 10.0)

    def gain(power: np.ndarray, noise_power: np.ndarray) -> np.ndarray:
        floor = beta * noise_power / over_subtraction
        clean = np.maximum(power - noise_power, floor)
        return np.sqrt(clean / np.maximum(power, 1e-30))

    params = {**estimate, "over_subtraction": over_subtraction, "n_fft": n_fft}
    return _denoise(in_, noise, params, gain, ctx)


# --------------------------------------------------------------------------- Wiener


def _wiener_gain(
    power: np.ndarray, noise_power: np.ndarray, smoothing: float, floor: float
) -> np.ndarray:
    """Wiener gains with the decision-directed a priori SNR (Ephraim and Malah 1984)."""
    noise_power = np.broadcast_to(np.maximum(noise_power, 1e-30), power.shape)
    posterior = power / noise_power  # gamma
    gains = np.empty_like(power)
    previous = np.zeros(power.shape[0])  # |S(t-1)|^2 / N(t)
    for t in range(power.shape[1]):
        prior = smoothing * previous + (1.0 - smoothing) * np.maximum(posterior[:, t] - 1.0, 0.0)
        g = np.maximum(prior / (1.0 + prior), floor)
        gains[:, t] = g
        previous = g * g * posterior[:, t]
    return gains


@node("denoise.wiener", version=1, infer=infer_denoise)
@NOISE_ESTIMATE.first
def wiener(
    in_: Audio,
    noise: Audio | None = None,
    *,
    over_subtraction: float = param(
        1.0, range=(0.1, 20), description="factor on the noise power estimate"
    ),
    floor_db: float = param(-20.0, unit="dB", range=(-80, 0), description="lowest gain of any bin"),
    smoothing: float = param(
        0.98, range=(0, 0.999), description="decision-directed weight of the previous frame"
    ),
    n_fft: int = param(2048, choices=FFT_SIZES, description="frame length in samples"),
    ctx: NodeContext,
    **estimate: Any,
) -> Audio:
    """Reduce stationary noise with a Wiener filter and decision-directed SNR estimation.

    Every STFT bin is multiplied by the Wiener gain ``xi / (1 + xi)``, where
    the a priori SNR ``xi`` is estimated by the decision-directed rule of
    Ephraim and Malah (1984): ``smoothing`` (0.98) times the previous
    frame's clean-signal power over the noise, plus the rest times the
    current ``max(|Y|² / N - 1, 0)``. That smoothing across frames is what
    keeps musical noise away; the gain never goes below ``floor_db``, which
    bounds the attenuation and keeps a smooth residual. The noise power is
    scaled by ``over_subtraction`` before use. The noise spectrum comes from
    the optional ``noise`` input, or from ``noise_estimate`` as for
    ``denoise.spectral_subtraction`` (``leading``: the first ``noise_ms``;
    ``minimum_statistics``: tracked through the signal). Frames are
    ``n_fft`` samples, Hann windows at 75 % overlap; the noisy phase is kept.

    Example
    -------
        clean = {in = "src", noise = "hiss", floor_db = -25.0}
    """
    floor = 10.0 ** (floor_db / 20.0)

    def gain(power: np.ndarray, noise_power: np.ndarray) -> np.ndarray:
        return _wiener_gain(power, noise_power, smoothing, floor)

    params = {**estimate, "over_subtraction": over_subtraction, "n_fft": n_fft}
    return _denoise(in_, noise, params, gain, ctx)


# --------------------------------------------------------------------------- echo cancellation


def infer_echo_cancel(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """Shaped like ``mic``; ``reference`` must match its rate and have 1 or its channels."""
    mic = inputs["mic"]
    _check_pair(mic, inputs.get("reference"), ("mic", "reference"), ctx)
    return {"out": PortInfo("audio", mic.shape, sample_rate=mic.sample_rate, itemsize=4)}


DOUBLE_TALK = ("ncc", "geigel", "off")
ALGORITHMS = ("nlms", "mdf")
_NCC_SMOOTHING_S = 0.01
"""Time constant of the NCC detector's running correlation and power (a few pitch periods)."""
_TRANSFER_SMOOTHING_S = 0.1
"""Time constant of the error powers that decide a background-to-foreground transfer."""
_GEIGEL_BLOCK = 64
"""The Geigel window's running maximum is kept per block of this many samples (nlms_cancel_dtd)."""
_SNAPSHOT_S = 0.25
"""The NCC detector's echo estimate comes from the filter as it was 0.25 to 0.5 s earlier."""


@node("denoise.echo_cancel", version=2, infer=infer_echo_cancel, aliases=("echo.cancel",))
def echo_cancel(
    mic: Audio,
    reference: Audio,
    *,
    taps: int = param(
        1024, range=(1, 1 << 16), description="adaptive filter length in samples (echo path span)"
    ),
    algorithm: str = param(
        "nlms", choices=ALGORITHMS, description="nlms (time domain) or mdf (frequency domain)"
    ),
    step: float = param(0.5, range=(1e-4, 1.999), description="NLMS step size mu"),
    regularization: float = param(
        1e-3, range=(0, None), description="added to the reference energy (delta)"
    ),
    double_talk: str = param(
        "ncc", choices=DOUBLE_TALK, description="double-talk detector that freezes adaptation"
    ),
    ncc_threshold: float = param(
        0.9, range=(0, 1), description="ncc: correlation below which the near end talks"
    ),
    geigel_threshold: float = param(
        0.5, above=0, description="geigel: |mic| over the largest recent |reference|"
    ),
    hold_ms: float = param(
        50.0, unit="ms", range=(0, 10_000), description="adaptation stays frozen this long after"
    ),
    ctx: NodeContext,
) -> Audio:
    """Remove the echo of a far-end signal from a microphone signal (NLMS adaptive filter).

    ``mic`` holds near-end sound plus the far-end ``reference`` as it came
    back through a loudspeaker and the room (the echo path). A normalised LMS
    filter of ``taps`` coefficients (1024: 23 ms at 44.1 kHz; make it cover
    the echo path's impulse response) learns that path sample by sample and
    subtracts its prediction; the output is what it cannot predict, the
    near-end sound. ``step`` (mu; 2 or more diverges) trades speed of
    convergence and tracking (larger) against residual echo and misadjustment
    (smaller); ``regularization`` keeps the update finite when the reference
    is silent.

    While both ends talk (double talk) the near end's speech would drive the
    filter away from the echo path; a detector freezes the adaptation then,
    and for ``hold_ms`` after it last fired. ``ncc`` (the default; Benesty,
    Morgan and Cho 2000) measures xi = E[mic y] / E[mic²] over ~10 ms, with
    y the echo estimate of the filter as it was 0.25 to 0.5 s before (a
    filter of many taps adapting on near-end speech soon fits part of it and
    would keep xi high; an older copy cannot): near 1 while the microphone
    holds echo alone, xi falls to about 1 / (1 + near-to-echo power ratio)
    when the near end talks, and adaptation stops below ``ncc_threshold``
    (0.9: near-end speech louder than about -10 dB re the echo). Until xi
    first reaches the threshold the filter is still learning and adapts
    freely. A background filter adapts always; when a snapshot of it has
    under half the foreground's error power (over 100 ms) and explains the
    microphone (its xi above the threshold), and the detector is quiet or
    the foreground makes the echo worse, the foreground takes those weights
    (Ochiai's two-path transfer), so a changed echo path is still learnt,
    if more slowly than by ``off`` (a few seconds more on speech);
    ``ncc`` costs about three times the work of ``off``. ``geigel``
    (Duttweiler 1978) fires when |mic| reaches ``geigel_threshold`` times
    the largest |reference| over the last ``taps`` samples (0.5 assumes the
    echo comes back at least 6 dB down): cheap, but blind to near-end speech
    quieter than that. ``off`` adapts always (version 1's behaviour).

    ``algorithm = "mdf"`` replaces all of that (``step``,
    ``regularization``, the detector and its parameters are then unused)
    by Speex's multidelay block frequency-domain filter (``mdf.py``):
    partitions of 128 taps (``taps`` rounded up to whole ones), a step
    normalised per frequency bin (speech converges as fast in every bin)
    and set per bin to the residual echo's estimated share of the error
    (Valin 2007), so it slows down by itself while the near end talks, and
    a foreground/background pair of filters. It adapts once per 128
    samples, in numpy (about 25 times realtime at 8 kHz with 2048 taps).

    On real speech through a 250 ms synthetic room (benchmarks/echo.py,
    8 kHz, 2048 taps; far-end-only ERLE at 5-10 s and 18-24 s, ERLE during
    the double talk, the near end's SNR after cancellation against its SNR
    at the microphone):

    ======  ========  ========  =========  ==============  ==============
    near    tool      ERLE      ERLE       ERLE double     near SNR
    at mic            5-10 s    18-24 s    talk            (at mic)
    ======  ========  ========  =========  ==============  ==============
    0 dB    ncc       20.6      20.4       12.6            12.6 (0.0)
    0 dB    mdf       22.3      25.9       19.6            19.6 (0.0)
    6 dB    ncc       20.6      20.8       14.4            20.4 (6.0)
    6 dB    mdf       22.3      23.4       17.0            23.0 (6.0)
    ======  ========  ========  =========  ==============  ==============

    ``geigel`` keeps 1.0 and 7.5 dB of near-end SNR, ``off`` -5.1 (the
    filter diverges). What holds ``ncc`` back on real speech is the
    time-domain NLMS itself: on a coloured input it converges slowly
    (about 20 dB where the far end talks alone), and while it is frozen
    through the double talk the residual echo stays where it was; ``mdf``
    converges further in the same time and keeps adapting, slowly,
    through the double talk. It learns a changed echo path more slowly
    than ``ncc`` (19 dB 8 s after the change on the test's speech-like
    signals).

    The output has the microphone's length, channels and rate; the reference
    is zero-padded or cut to that length. A mono reference feeds a separate
    filter for every microphone channel; otherwise the reference needs as
    many channels as the microphone (channel c cancels from channel c). The
    two inputs must share one sample rate.

    Example
    -------
        aec = {mic = "mic", reference = "far", taps = 512, step = 0.3, double_talk = "geigel"}
    """
    from nodes.denoise._kernels import nlms_cancel, nlms_cancel_dtd
    from nodes.denoise.mdf import mdf_cancel

    infer_echo_cancel(
        {"mic": _port(mic), "reference": _port(reference)},
        {"step": step},
        ctx,
    )
    rate = mic.sample_rate
    frames = mic.frames
    out = np.empty(mic.samples.shape, dtype=np.float32)
    for c in range(mic.channels):
        far = reference.samples[min(c, reference.channels - 1), :frames].astype(np.float64)
        padded = np.zeros(frames + taps - 1)
        padded[taps - 1 : taps - 1 + far.size] = far
        weights = np.zeros(taps)
        error = np.empty(frames)
        near = mic.samples[c].astype(np.float64)
        if algorithm == "mdf":
            error[:] = mdf_cancel(near, far, rate, taps)
        elif double_talk == "off":
            nlms_cancel(near, padded, weights, step, regularization, error)
        else:
            ncc = double_talk == "ncc"
            nlms_cancel_dtd(
                near,
                padded,
                weights,
                np.zeros((5, taps) if ncc else (5, 0)),
                step,
                step,
                regularization,
                2 if ncc else 1,
                ncc_threshold if ncc else geigel_threshold,
                round(hold_ms / 1000.0 * rate),
                float(np.exp(-1.0 / (_NCC_SMOOTHING_S * rate))),
                float(np.exp(-1.0 / (_TRANSFER_SMOOTHING_S * rate))),
                max(1, round(_SNAPSHOT_S * rate)),
                np.zeros(-(-taps // _GEIGEL_BLOCK) + 1),
                error,
                np.zeros(frames, dtype=np.uint8),
            )
        out[c] = error
    return mic.with_samples(out)
