"""image.to_sound: play a picture as a spectrogram (additive bank or spectral inversion)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from graphengine.node import NYQUIST, Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Audio, Image
from nodes.image.mapping import (
    GRIFFIN_LIM_MOMENTUM,
    LUMA,
    MAX_DURATION_S,
    METHODS,
    MIN_SAMPLES_PER_COLUMN,
    PHASES,
    SCALES,
    STEREO_MODES,
    _stft,
    brightness_to_amplitude,
    pool_rows,
    row_coordinate,
    row_frequencies,
)


def _check_image_shape(port: str, info: Any, ctx: NodeContext) -> None:
    shape = getattr(info, "shape", None)
    if shape is None:
        return
    if len(shape) not in (2, 3) or min(shape[:2]) < 1 or (len(shape) == 3 and shape[2] < 1):
        raise ctx.port_error(port, f"image of shape {tuple(shape)} has no pixels")


def _stereo_channels(inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext) -> int:
    stereo = params["stereo"]
    right = inputs.get("right")
    if stereo == "images" and right is None:
        raise ctx.port_error("right", 'stereo = "images" needs a right-channel image')
    if stereo != "images" and right is not None:
        raise ctx.port_error(
            "right", f'is connected but stereo = "{stereo}"; set stereo = "images" to use it'
        )
    if stereo == "colours":
        shape = getattr(inputs.get("in"), "shape", None)
        if shape is not None and (len(shape) != 3 or shape[2] < 2):
            raise ctx.port_error(
                "in",
                f'stereo = "colours" needs a colour image (red = left, green = right), '
                f"got shape {tuple(shape)}",
            )
    if stereo == "images":
        left, right_shape = inputs["in"].shape, right.shape
        if (
            left is not None
            and right_shape is not None
            and tuple(left[:2]) != tuple(right_shape[:2])
        ):
            raise ctx.port_error(
                "right",
                f"is {right_shape[0]}x{right_shape[1]} pixels, the left image "
                f"{left[0]}x{left[1]}; give both the same size",
            )
    return 1 if stereo == "none" else 2


def _duration_s(columns: int | None, params: Mapping[str, Any], ctx: NodeContext) -> float | None:
    """The sound's length; None while the image's width is unknown and pixels_per_s is set."""
    pps = params["pixels_per_s"]
    if pps is None:
        return params["duration_s"]
    limit = ctx.sample_rate / MIN_SAMPLES_PER_COLUMN
    if pps > limit:
        raise ctx.param_error(
            "pixels_per_s",
            f"{pps:g} columns per second is absurd: at most {limit:g} "
            f"(at least {MIN_SAMPLES_PER_COLUMN} samples per column at {ctx.sample_rate:g} Hz)",
        )
    if columns is None:
        return None
    duration = columns / pps
    if not duration <= MAX_DURATION_S:
        raise ctx.param_error(
            "pixels_per_s",
            f"{columns} columns at {pps:g} per second last {duration:.3g} s, "
            f"more than the {MAX_DURATION_S:g} s limit",
        )
    return duration


def _to_sound_frames(columns: int | None, params: Mapping[str, Any], ctx: NodeContext):
    duration = _duration_s(columns, params, ctx)
    if duration is None:
        return None
    name = "duration_s" if params["pixels_per_s"] is None else "pixels_per_s"
    if not duration <= MAX_DURATION_S:
        raise ctx.param_error(name, f"{duration:g} s is more than the {MAX_DURATION_S:g} s limit")
    frames = round(duration * ctx.sample_rate)
    if frames < 1:
        raise ctx.param_error(name, f"{duration:g} s is shorter than one sample")
    if columns is not None and frames < MIN_SAMPLES_PER_COLUMN * columns:
        raise ctx.param_error(
            name,
            f"{duration:g} s is too short for {columns} columns: give at least "
            f"{MIN_SAMPLES_PER_COLUMN} samples per column "
            f"({MIN_SAMPLES_PER_COLUMN * columns / ctx.sample_rate:.3g} s)",
        )
    return frames


def infer_to_sound(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(1 or 2 channels, duration_s or columns / pixels_per_s in frames)."""
    _check_image_shape("in", inputs.get("in"), ctx)
    if inputs.get("right") is not None:
        _check_image_shape("right", inputs["right"], ctx)
    channels = _stereo_channels(inputs, params, ctx)
    shape = getattr(inputs.get("in"), "shape", None)
    frames = _to_sound_frames(shape[1] if shape else None, params, ctx)
    out_shape = None if frames is None else (channels, frames)
    return {"out": PortInfo("audio", out_shape, sample_rate=ctx.sample_rate, itemsize=4)}


def _gray(pixels: np.ndarray) -> np.ndarray:
    """Luma of a colour image (BT.601 weights); a gray image as it is."""
    if pixels.ndim == 2:
        return pixels
    if pixels.shape[2] >= 3:
        return pixels[..., :3] @ LUMA
    return pixels[..., 0]


def _planes(left: Image, right: Image | None, stereo: str) -> list[np.ndarray]:
    """One brightness plane (rows, cols) per output channel."""
    if stereo == "colours":
        return [left.pixels[..., 0], left.pixels[..., 1]]
    if stereo == "images":
        assert right is not None
        return [_gray(left.pixels), _gray(right.pixels)]
    return [_gray(left.pixels)]


def additive(
    amplitudes: np.ndarray, frequencies_hz: np.ndarray, frames: int, sample_rate: float, seed: int
) -> np.ndarray:
    """A sine bank: row r of ``amplitudes`` (rows, cols) drives a sine at ``frequencies_hz[r]``.

    Column c's amplitude holds at sample ``(c + 0.5) * frames / cols`` and is
    interpolated linearly between centres. Start phases are uniform random from ``seed``.
    Returns float64 (frames,).
    """
    from nodes.image._kernels import additive_bank

    rows, cols = amplitudes.shape
    phase0 = np.random.default_rng(seed).random(rows)
    centres = (np.arange(cols) + 0.5) * (frames / cols)
    out = np.zeros(frames, dtype=np.float64)
    state = np.zeros((6, rows), dtype=np.float64)
    active = np.zeros(rows, dtype=np.int64)
    additive_bank(
        np.ascontiguousarray(amplitudes, dtype=np.float64),
        np.asarray(frequencies_hz, dtype=np.float64) / sample_rate,
        phase0,
        centres,
        out,
        state,
        active,
    )
    return out


def spectral_magnitudes(
    brightness: np.ndarray,
    frames: int,
    sample_rate: float,
    sft: Any,
    fmin_hz: float,
    fmax_hz: float,
    scale: str,
    range_db: float,
) -> np.ndarray:
    """The image resampled onto the STFT's bins and frames, as linear magnitudes (bins, frames).

    A bin or frame covering several pixels takes the brightest of them; one
    falling between pixels interpolates. Bins whose band misses [fmin_hz, fmax_hz] are 0.
    """
    rows, cols = brightness.shape
    bin_hz = sample_rate / sft.mfft
    centres = np.arange(sft.f_pts) * bin_hz
    lo_hz = np.clip(centres - bin_hz / 2, fmin_hz, fmax_hz)
    hi_hz = np.clip(centres + bin_hz / 2, fmin_hz, fmax_hz)
    inside = (centres + bin_hz / 2 >= fmin_hz) & (centres - bin_hz / 2 <= fmax_hz)
    row_lo = row_coordinate(lo_hz, rows, fmin_hz, fmax_hz, scale)
    row_hi = row_coordinate(hi_hz, rows, fmin_hz, fmax_hz, scale)
    per_bin = pool_rows(brightness.astype(np.float64), row_lo, row_hi)  # (bins, cols)
    per_bin[~inside] = 0.0
    samples_per_column = frames / cols
    frame_samples = np.arange(sft.p_min, sft.p_max(frames)) * sft.hop
    col_lo = (frame_samples - sft.hop / 2) / samples_per_column - 0.5
    col_hi = (frame_samples + sft.hop / 2) / samples_per_column - 0.5
    grid = pool_rows(per_bin.T, col_lo, col_hi).T  # (bins, frames)
    return brightness_to_amplitude(grid, range_db)


def griffin_lim(
    magnitudes: np.ndarray,
    frames: int,
    sft: Any,
    iterations: int,
    seed: int,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """A signal whose STFT magnitude approaches ``magnitudes``: fast Griffin-Lim from random phase.

    ``iterations = 0`` is plain random phase. Returns float64 (frames,).
    ``progress`` is told the share of iterations done, in [0, 1], after each.
    """
    rng = np.random.default_rng(seed)
    angles = np.exp(2j * np.pi * rng.random(magnitudes.shape))
    rebuilt = np.zeros_like(angles)
    alpha = GRIFFIN_LIM_MOMENTUM / (1.0 + GRIFFIN_LIM_MOMENTUM)
    for done in range(1, iterations + 1):
        previous = rebuilt
        signal = sft.istft(magnitudes * angles, k1=frames)
        rebuilt = sft.stft(signal)
        angles = rebuilt - alpha * previous
        angles /= np.abs(angles) + 1e-16
        if progress is not None:
            progress(done / iterations)
    return sft.istft(magnitudes * angles, k1=frames)


@node("image.to_sound", version=1, infer=infer_to_sound)
def to_sound(
    in_: Image,
    right: Image | None = None,
    *,
    method: str = param("additive", choices=METHODS, description="additive sine bank or spectral"),
    fmin_hz: float = param(
        50.0, unit="Hz", above=0, below="fmax_hz", description="bottom row's frequency"
    ),
    fmax_hz: float = param(
        12000.0, unit="Hz", range=(0, None), below=NYQUIST, description="top row's frequency"
    ),
    scale: str = param("log", choices=SCALES, description="row spacing: log, mel (HTK) or linear"),
    duration_s: float = param(5.0, unit="s", range=(0, None), description="length of the sound"),
    pixels_per_s: float | None = param(
        None, above=0, description="columns per second; when set, overrides duration_s"
    ),
    range_db: float = param(60.0, unit="dB", range=(1, 200), description="level of brightness 0+"),
    peak_dbfs: float | None = param(
        -3.0, unit="dBFS", range=(-100, 0), description="normalise the peak to this; none: raw"
    ),
    stereo: str = param("none", choices=STEREO_MODES, description="none, colours or images"),
    phase: str = param("griffin_lim", choices=PHASES, description="spectral: phase estimate"),
    iterations: int = param(32, range=(0, 10000), description="spectral: Griffin-Lim iterations"),
    n_fft: int = param(2048, range=(16, 65536), description="spectral: STFT length in samples"),
    seed: int | None = param(None, description="random start phases; by default from the graph's"),
    ctx: NodeContext,
) -> Audio:
    """Play an image as a spectrogram: rows are frequencies, columns time, brightness level.

    Row 0 (the top) sounds at ``fmax_hz`` and the bottom row at ``fmin_hz``,
    the rows between evenly spaced on a ``log`` (equal ratios), ``mel`` (HTK:
    2595 log10(1 + f/700)) or ``linear`` (equal Hz) scale. Columns run left
    to right over ``duration_s`` seconds, or ``columns / pixels_per_s`` when
    ``pixels_per_s`` is set (at most one column per 4 samples). Brightness b
    is a level of (b - 1) * ``range_db`` dB: 1 is the loudest, 0 silent.

    ``method = "additive"``: one sine oscillator per row (a numba kernel),
    phase-continuous over the whole sound and starting at a random phase
    (from ``seed``); its amplitude holds the pixel's value at the column's
    centre and moves linearly to the next column's, so hard column edges
    give no clicks. Exact frequencies, cost proportional to lit rows × samples.

    ``method = "spectral"``: the image is resampled onto the bins and frames
    of an STFT (periodic Hann window of ``n_fft`` samples, hop ``n_fft / 4``;
    a bin or frame covering several pixels takes the brightest) and the phase
    is estimated by ``iterations`` of fast Griffin-Lim (momentum 0.99) or,
    with ``phase = "random"``, left random; then an inverse STFT. Frequency
    resolution is the bin width, ``sample_rate / n_fft``.

    ``stereo``: ``"none"`` plays the image's luma (a colour image is reduced
    with BT.601 weights); ``"colours"`` plays red on the left and green on
    the right (Coagula's convention: yellow is centred; blue is ignored);
    ``"images"`` plays ``in`` on the left and the image on ``right`` (same
    size) on the right. The output is scaled so its peak is ``peak_dbfs``
    (both channels by one factor); ``peak_dbfs = none`` (Python ``None``)
    leaves every row's sine at its own peak amplitude (full scale at b = 1)
    for the additive method.

    Example
    -------
        sound = {in = "img", fmin_hz = 60.0, fmax_hz = 10000.0, duration_s = 8.0}
    """
    params = {
        "method": method,
        "scale": scale,
        "phase": phase,
        "fmin_hz": fmin_hz,
        "fmax_hz": fmax_hz,
        "stereo": stereo,
        "pixels_per_s": pixels_per_s,
        "duration_s": duration_s,
        "n_fft": n_fft,
    }
    inputs = {
        "in": PortInfo("image", in_.pixels.shape),
        "right": None if right is None else PortInfo("image", right.pixels.shape),
    }
    channels, frames = infer_to_sound(inputs, params, ctx)["out"].shape
    seed = 0 if seed is None else seed
    out = np.zeros((channels, frames), dtype=np.float64)
    planes = _planes(in_, right, stereo)
    rows = planes[0].shape[0]
    streams = np.random.SeedSequence(seed).spawn(channels)
    for k, (plane, stream) in enumerate(zip(planes, streams, strict=True)):
        channel_seed = int(stream.generate_state(1)[0])
        if method == "additive":
            freqs = row_frequencies(rows, fmin_hz, fmax_hz, scale)
            out[k] = additive(
                brightness_to_amplitude(plane, range_db),
                freqs,
                frames,
                ctx.sample_rate,
                channel_seed,
            )
        else:
            sft = _stft(ctx.sample_rate, n_fft)
            magnitudes = spectral_magnitudes(
                plane, frames, ctx.sample_rate, sft, fmin_hz, fmax_hz, scale, range_db
            )
            count = iterations if phase == "griffin_lim" else 0

            def share(fraction: float, k: int = k) -> None:  # this channel's share of the node
                ctx.progress((k + fraction) / channels)

            out[k] = griffin_lim(magnitudes, frames, sft, count, channel_seed, share)
        ctx.progress((k + 1) / channels)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak_dbfs is not None and peak > 0.0:
        out *= 10.0 ** (peak_dbfs / 20.0) / peak
    return Audio(out.astype(np.float32), ctx.sample_rate)
