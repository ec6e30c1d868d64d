"""Image to sound and sound to image: read pictures, play them as spectrograms, draw sounds.

The mapping shared by both directions: image rows are frequencies between
``fmin_hz`` (bottom row) and ``fmax_hz`` (top row) spaced evenly on a log, mel
or linear scale; columns are time, left to right; a pixel's brightness ``b`` in
[0, 1] is a level of ``(b - 1) * range_db`` dB (so 1 is 0 dB, the loudest, and
0 is silence). ``sound.to_image`` with the same settings draws what
``image.to_sound`` played.

Pillow is an optional dependency (the ``image`` extra) imported only by
``source.image``; scipy and numba are imported inside the functions that use them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.errors import ParamError, PortError
from graphengine.node import InputPath, NodeContext, PortInfo, node, param
from graphengine.types import Audio, Image

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


def _error(ctx: NodeContext, name: str, message: str) -> ParamError:
    return ParamError(ctx.node_id, name, message, ctx.node_type)


def _check_choice(name: str, value: str, choices: tuple[str, ...], ctx: NodeContext) -> None:
    if value not in choices:
        raise _error(ctx, name, f"{value!r} is not one of {', '.join(choices)}")


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


def _row_coordinate(hz: np.ndarray, rows: int, fmin_hz: float, fmax_hz: float, scale: str):
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


def _interp(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``values`` along axis 0 at fractional indices ``x``, held at ends."""
    n = values.shape[0]
    if n == 1:
        return np.repeat(values[:1], len(x), axis=0)
    x = np.clip(x, 0.0, n - 1.0)
    i = np.minimum(np.floor(x).astype(np.int64), n - 2)
    t = (x - i).reshape((-1,) + (1,) * (values.ndim - 1))
    return (1.0 - t) * values[i] + t * values[i + 1]


def _pool(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Max of ``values`` (piecewise linear along axis 0) over each interval [lo, hi].

    Where an interval holds no sample point this is linear interpolation;
    where it spans several, the largest of them, so a thin line or a lone
    sinusoid keeps its level however many samples fall in one pixel.
    """
    n = values.shape[0]
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    lo, hi = np.clip(lo, 0.0, n - 1.0), np.clip(hi, 0.0, n - 1.0)
    out = np.maximum(_interp(values, lo), _interp(values, hi))
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


def _unreadable(path: str, reason: str, ctx: NodeContext) -> ParamError:
    return _error(ctx, "path", f"cannot read image file {Path(path).name!r}: {reason}")


def _open_image(path: str, ctx: NodeContext) -> Any:
    """The Pillow image at ``path`` (header read, pixels not decoded) or a ParamError on path."""
    try:
        from PIL import Image as PILImage
        from PIL import UnidentifiedImageError
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise _error(
            ctx, "path", "reading images needs Pillow: pip install 'graphengine[image]'"
        ) from error
    target = Path(path)
    if not target.is_file():
        raise _unreadable(path, "no such file" if not target.exists() else "not a file", ctx)
    try:
        picture = PILImage.open(path, formats=IMAGE_FORMATS)
    except UnidentifiedImageError as error:
        kinds = ", ".join(IMAGE_FORMATS)
        raise _unreadable(path, f"not an image in a supported format ({kinds})", ctx) from error
    except (OSError, ValueError, PILImage.DecompressionBombError) as error:
        raise _unreadable(path, str(error) or type(error).__name__, ctx) from error
    if picture.width < 1 or picture.height < 1:
        raise _unreadable(path, f"the image is {picture.width}x{picture.height} pixels", ctx)
    return picture


def _image_shape(height: int, width: int, params: Mapping[str, Any]) -> tuple[int, ...]:
    rows = params["rows"] or height
    columns = params["columns"] or width
    return (rows, columns) if params["mode"] == "gray" else (rows, columns, 3)


def infer_source_image(
    inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
) -> dict[str, PortInfo]:
    """(rows, columns) or (rows, columns, 3) from the file's header and the resize parameters."""
    _check_choice("mode", params["mode"], IMAGE_MODES, ctx)
    with _open_image(params["path"], ctx) as picture:
        shape = _image_shape(picture.height, picture.width, params)
    return {"out": PortInfo("image", shape, itemsize=4)}


def _decode(picture: Any) -> np.ndarray:
    """Pixels as float32 RGB in [0, 1], shaped (rows, cols, 3); transparency over white."""
    mode = picture.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        gray = np.asarray(picture, dtype=np.float64) / 65535.0
        return np.repeat(np.clip(gray, 0, 1)[..., None], 3, axis=2).astype(np.float32)
    if mode == "F":
        gray = np.clip(np.asarray(picture, dtype=np.float32), 0, 1)
        return np.repeat(gray[..., None], 3, axis=2)
    rgba = np.asarray(picture.convert("RGBA"), dtype=np.float32) / 255.0
    alpha = rgba[..., 3:4]
    return rgba[..., :3] * alpha + (1.0 - alpha)


def _resize(pixels: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Each colour plane resized with Pillow's Lanczos filter in 32-bit float."""
    from PIL import Image as PILImage

    if pixels.shape[:2] == (rows, columns):
        return pixels
    planes = [
        np.asarray(
            PILImage.fromarray(np.ascontiguousarray(pixels[..., k]), mode="F").resize(
                (columns, rows), PILImage.Resampling.LANCZOS
            )
        )
        for k in range(pixels.shape[2])
    ]
    return np.stack(planes, axis=2)


@node("source.image", version=1, infer=infer_source_image)
def source_image(
    *,
    path: InputPath = param(description="image file to read (PNG, JPEG, BMP, TIFF, ...)"),
    mode: str = param("gray", choices=IMAGE_MODES, description="gray (luma) or rgb colours"),
    invert: bool = param(False, description="use 1 - brightness (dark ink on white paper)"),
    rows: int = param(0, range=(0, 65536), description="resize to this many rows; 0 keeps"),
    columns: int = param(0, range=(0, 65536), description="resize to this many columns; 0 keeps"),
    contrast: float = param(1.0, range=(0, 100), description="scale about mid-gray 0.5"),
    gamma: float = param(1.0, range=(0.01, 100), description="brightness ** gamma, after contrast"),
    normalize: bool = param(False, description="stretch darkest..brightest pixel to 0..1 first"),
    ctx: NodeContext,
) -> Image:
    """Read a picture file as an image: float32 brightness in [0, 1], row 0 at the top.

    Reads PNG, JPEG, BMP, TIFF, GIF (first frame), WebP and PPM with Pillow
    (the optional ``image`` extra). 8-bit files are scaled by 1/255 and
    16-bit ones by 1/65535; transparent pixels are laid over white (paper).
    ``mode = "gray"`` gives (rows, columns) of ITU-R BT.601 luma
    (0.299 R + 0.587 G + 0.114 B, as Pillow's ``convert("L")``); ``"rgb"``
    gives (rows, columns, 3).

    Then, in this order: ``rows``/``columns`` resize (Lanczos, in float;
    0 keeps that size), ``normalize`` stretches the darkest pixel to 0 and
    the brightest to 1, ``invert`` replaces b by 1 - b (so dark ink on white
    paper becomes bright sound on silence), ``contrast`` scales about 0.5
    (``0.5 + contrast * (b - 0.5)``, clipped to [0, 1]) and ``gamma`` raises
    to a power (> 1 darkens the mid-tones, quietening faint strokes).

    An image can also come from Python: pass ``inputs={"img": Image(array)}``
    to ``Graph.run`` for this node's id.

    Example
    -------
        [nodes.img]
        type = "source.image"
        path = "drawing.png"
        invert = true
        rows = 256
    """
    params = {"mode": mode, "rows": rows, "columns": columns}
    with _open_image(path, ctx) as picture:
        shape = _image_shape(picture.height, picture.width, params)
        try:
            picture.seek(0)
            pixels = _decode(picture)
        except (OSError, ValueError, SyntaxError) as error:
            raise _unreadable(path, str(error) or type(error).__name__, ctx) from error
    if mode == "gray":
        pixels = (pixels @ LUMA)[..., None]
    pixels = _resize(pixels.astype(np.float32), shape[0], shape[1])
    pixels = np.clip(pixels, 0.0, 1.0)
    if normalize:
        low, high = float(pixels.min()), float(pixels.max())
        if high > low:
            pixels = (pixels - low) / (high - low)
    if invert:
        pixels = 1.0 - pixels
    if contrast != 1.0:
        pixels = np.clip(0.5 + contrast * (pixels - 0.5), 0.0, 1.0)
    if gamma != 1.0:
        pixels = pixels**gamma
    if mode == "gray":
        pixels = pixels[..., 0]
    return Image(pixels.astype(np.float32))


# --------------------------------------------------------------------------- image.to_sound


def _check_band(params: Mapping[str, Any], sample_rate: float, ctx: NodeContext) -> None:
    fmin, fmax = params["fmin_hz"], params["fmax_hz"]
    nyquist = sample_rate / 2.0
    if not fmin > 0:
        raise _error(ctx, "fmin_hz", f"{fmin:g} Hz is not above 0")
    if not fmin < fmax:
        raise _error(ctx, "fmin_hz", f"{fmin:g} Hz is not below fmax_hz ({fmax:g} Hz)")
    if not fmax < nyquist:
        raise _error(
            ctx,
            "fmax_hz",
            f"{fmax:g} Hz is not below Nyquist ({nyquist:g} Hz at {sample_rate:g} Hz)",
        )


def _check_image_shape(port: str, info: Any, ctx: NodeContext) -> None:
    shape = getattr(info, "shape", None)
    if shape is None:
        return
    if len(shape) not in (2, 3) or min(shape[:2]) < 1 or (len(shape) == 3 and shape[2] < 1):
        raise PortError(
            ctx.node_id, port, f"image of shape {tuple(shape)} has no pixels", ctx.node_type
        )


def _stereo_channels(inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext) -> int:
    stereo = params["stereo"]
    _check_choice("stereo", stereo, STEREO_MODES, ctx)
    right = inputs.get("right")
    if stereo == "images" and right is None:
        raise PortError(
            ctx.node_id, "right", 'stereo = "images" needs a right-channel image', ctx.node_type
        )
    if stereo != "images" and right is not None:
        raise PortError(
            ctx.node_id,
            "right",
            f'is connected but stereo = "{stereo}"; set stereo = "images" to use it',
            ctx.node_type,
        )
    if stereo == "colours":
        shape = getattr(inputs.get("in"), "shape", None)
        if shape is not None and (len(shape) != 3 or shape[2] < 2):
            raise PortError(
                ctx.node_id,
                "in",
                f'stereo = "colours" needs a colour image (red = left, green = right), '
                f"got shape {tuple(shape)}",
                ctx.node_type,
            )
    if stereo == "images":
        left, right_shape = inputs["in"].shape, right.shape
        if (
            left is not None
            and right_shape is not None
            and tuple(left[:2]) != tuple(right_shape[:2])
        ):
            raise PortError(
                ctx.node_id,
                "right",
                f"is {right_shape[0]}x{right_shape[1]} pixels, the left image "
                f"{left[0]}x{left[1]}; give both the same size",
                ctx.node_type,
            )
    return 1 if stereo == "none" else 2


def _duration_s(columns: int | None, params: Mapping[str, Any], ctx: NodeContext) -> float | None:
    """The sound's length; None while the image's width is unknown and pixels_per_s is set."""
    pps = params["pixels_per_s"]
    if pps is None:
        return params["duration_s"]
    limit = ctx.sample_rate / MIN_SAMPLES_PER_COLUMN
    if not 0 < pps <= limit:
        raise _error(
            ctx,
            "pixels_per_s",
            f"{pps:g} columns per second is absurd: it must be above 0 and at most {limit:g} "
            f"(at least {MIN_SAMPLES_PER_COLUMN} samples per column at {ctx.sample_rate:g} Hz)",
        )
    if columns is None:
        return None
    duration = columns / pps
    if not duration <= MAX_DURATION_S:
        raise _error(
            ctx,
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
        raise _error(ctx, name, f"{duration:g} s is more than the {MAX_DURATION_S:g} s limit")
    frames = round(duration * ctx.sample_rate)
    if frames < 1:
        raise _error(ctx, name, f"{duration:g} s is shorter than one sample")
    if columns is not None and frames < MIN_SAMPLES_PER_COLUMN * columns:
        raise _error(
            ctx,
            name,
            f"{duration:g} s is too short for {columns} columns: give at least "
            f"{MIN_SAMPLES_PER_COLUMN} samples per column "
            f"({MIN_SAMPLES_PER_COLUMN * columns / ctx.sample_rate:.3g} s)",
        )
    return frames


def infer_to_sound(
    inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
) -> dict[str, PortInfo]:
    """(1 or 2 channels, duration_s or columns / pixels_per_s in frames); checks the band."""
    _check_choice("method", params["method"], METHODS, ctx)
    _check_choice("scale", params["scale"], SCALES, ctx)
    _check_choice("phase", params["phase"], PHASES, ctx)
    _check_band(params, ctx.sample_rate, ctx)
    _check_image_shape("in", inputs.get("in"), ctx)
    if inputs.get("right") is not None:
        _check_image_shape("right", inputs["right"], ctx)
    channels = _stereo_channels(inputs, params, ctx)
    if params["method"] == "spectral" and params["n_fft"] < 16:
        raise _error(ctx, "n_fft", f"{params['n_fft']} is below 16")
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
    from nodes._image_kernels import additive_bank

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
    row_lo = _row_coordinate(lo_hz, rows, fmin_hz, fmax_hz, scale)
    row_hi = _row_coordinate(hi_hz, rows, fmin_hz, fmax_hz, scale)
    per_bin = _pool(brightness.astype(np.float64), row_lo, row_hi)  # (bins, cols)
    per_bin[~inside] = 0.0
    samples_per_column = frames / cols
    frame_samples = np.arange(sft.p_min, sft.p_max(frames)) * sft.hop
    col_lo = (frame_samples - sft.hop / 2) / samples_per_column - 0.5
    col_hi = (frame_samples + sft.hop / 2) / samples_per_column - 0.5
    grid = _pool(per_bin.T, col_lo, col_hi).T  # (bins, frames)
    return brightness_to_amplitude(grid, range_db)


def griffin_lim(
    magnitudes: np.ndarray, frames: int, sft: Any, iterations: int, seed: int
) -> np.ndarray:
    """A signal whose STFT magnitude approaches ``magnitudes``: fast Griffin-Lim from random phase.

    ``iterations = 0`` is plain random phase. Returns float64 (frames,).
    """
    rng = np.random.default_rng(seed)
    angles = np.exp(2j * np.pi * rng.random(magnitudes.shape))
    rebuilt = np.zeros_like(angles)
    alpha = GRIFFIN_LIM_MOMENTUM / (1.0 + GRIFFIN_LIM_MOMENTUM)
    for _ in range(iterations):
        previous = rebuilt
        signal = sft.istft(magnitudes * angles, k1=frames)
        rebuilt = sft.stft(signal)
        angles = rebuilt - alpha * previous
        angles /= np.abs(angles) + 1e-16
    return sft.istft(magnitudes * angles, k1=frames)


@node("image.to_sound", version=1, infer=infer_to_sound)
def to_sound(
    in_: Image,
    right: Image | None = None,
    *,
    method: str = param("additive", choices=METHODS, description="additive sine bank or spectral"),
    fmin_hz: float = param(50.0, unit="Hz", range=(0, None), description="bottom row's frequency"),
    fmax_hz: float = param(12000.0, unit="Hz", range=(0, None), description="top row's frequency"),
    scale: str = param("log", choices=SCALES, description="row spacing: log, mel (HTK) or linear"),
    duration_s: float = param(5.0, unit="s", range=(0, None), description="length of the sound"),
    pixels_per_s: float | None = param(
        None, description="columns per second; when set, overrides duration_s"
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
    2595 log10(1 + f/700)) or ``linear`` (equal Hz) scale; ``fmax_hz`` must be
    below Nyquist. Columns run left to right over ``duration_s`` seconds, or
    ``columns / pixels_per_s`` when ``pixels_per_s`` is set (at most one
    column per 4 samples). Brightness b is a level of (b - 1) * ``range_db``
    dB: 1 is the loudest, 0 silent.

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
        [nodes.sound]
        type = "image.to_sound"
        in = "img"
        fmin_hz = 60.0
        fmax_hz = 10000.0
        duration_s = 8.0
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
            out[k] = griffin_lim(magnitudes, frames, sft, count, channel_seed)
        ctx.progress((k + 1) / channels)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak_dbfs is not None and peak > 0.0:
        out *= 10.0 ** (peak_dbfs / 20.0) / peak
    return Audio(out.astype(np.float32), ctx.sample_rate)


# --------------------------------------------------------------------------- sound.to_image


def infer_to_image(
    inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
) -> dict[str, PortInfo]:
    """(rows, columns), or (rows, columns, 3) for channels = "colours"; checks the band."""
    _check_choice("scale", params["scale"], SCALES, ctx)
    _check_choice("channels", params["channels"], TO_IMAGE_CHANNELS, ctx)
    source = inputs.get("in")
    rate = getattr(source, "sample_rate", None) or ctx.sample_rate
    _check_band(params, rate, ctx)
    shape = getattr(source, "shape", None)
    if shape is not None and shape[1] < 1:
        raise PortError(ctx.node_id, "in", "the sound has no samples to draw", ctx.node_type)
    if params["channels"] == "colours" and shape is not None and shape[0] > 2:
        raise PortError(
            ctx.node_id,
            "in",
            f'channels = "colours" draws one or two channels (left red, right green), '
            f"got {shape[0]}",
            ctx.node_type,
        )
    columns = params["columns"]
    pps = params["pixels_per_s"]
    if pps is not None:
        if not 0 < pps <= rate:
            raise _error(ctx, "pixels_per_s", f"{pps:g} columns per second is not in (0, {rate:g}]")
        columns = None if shape is None else max(1, round(shape[1] / rate * pps))
    out_shape = None
    if columns is not None:
        out_shape = (params["rows"], columns)
        if params["channels"] == "colours":
            out_shape += (3,)
    return {"out": PortInfo("image", out_shape, itemsize=4)}


def band_envelopes(
    signal: np.ndarray,
    sample_rate: float,
    row_hz: np.ndarray,
    half_widths_hz: np.ndarray,
    columns: int,
) -> np.ndarray:
    """Peak amplitude envelope of each row's band in each column, shaped (rows, columns).

    One FFT of the whole signal (zero-padded to twice its length, so the end
    does not wrap onto the start); for each row the bins within
    ``half_widths_hz`` of its frequency are weighted by a Blackman window,
    moved to baseband and inverse-transformed: the band's complex envelope,
    scaled so a steady sine of amplitude A at the row's frequency reads A.
    Each column reads the envelope at its centre.
    """
    from scipy import fft

    frames = signal.shape[0]
    size = fft.next_fast_len(2 * frames, real=True)
    spectrum = fft.rfft(signal, size)
    bin_hz = sample_rate / size
    out = np.zeros((len(row_hz), columns))
    span = frames / size  # fraction of the envelope's period that is the signal
    for r, (centre, half) in enumerate(zip(row_hz, half_widths_hz, strict=True)):
        k_lo = max(math.ceil((centre - half) / bin_hz), 0)
        k_hi = min(math.floor((centre + half) / bin_hz), spectrum.shape[0] - 1)
        if k_hi < k_lo:
            continue
        k = np.arange(k_lo, k_hi + 1)
        u = (k * bin_hz - centre) / half
        weights = 0.42 + 0.5 * np.cos(np.pi * u) + 0.08 * np.cos(2.0 * np.pi * u)
        length = fft.next_fast_len(max(k.size, math.ceil(4 * columns / span)))
        baseband = np.zeros(length, dtype=np.complex128)
        np.add.at(baseband, (k - round(centre / bin_hz)) % length, spectrum[k] * weights)
        envelope = np.abs(fft.ifft(baseband)) * (2.0 * length / size)
        per_column = length * span / columns
        out[r] = _interp(envelope, (np.arange(columns) + 0.5) * per_column)
    return out


def analysis_half_widths(row_hz: np.ndarray, column_s: float) -> np.ndarray:
    """Half-width in Hz of each row's analysis band.

    At least the distance to the neighbouring rows (a sine on a row is then
    silent in its neighbours); where rows are closer than the columns' time
    resolution allows, the geometric mean of the row spacing and
    ``1 / column_s``, which blurs time and frequency by the same number of pixels.
    """
    if len(row_hz) == 1:
        spacing = np.array([1.0 / column_s])
    else:
        gaps = np.abs(np.diff(row_hz))
        spacing = np.empty_like(row_hz)
        spacing[0], spacing[-1] = gaps[0], gaps[-1]
        spacing[1:-1] = np.maximum(gaps[:-1], gaps[1:])
    return np.maximum(spacing, np.sqrt(spacing / column_s))


@node("sound.to_image", version=1, infer=infer_to_image)
def to_image(
    in_: Audio,
    *,
    rows: int = param(256, range=(1, 16384), description="image height: frequency rows"),
    columns: int = param(512, range=(1, 65536), description="image width: time columns"),
    pixels_per_s: float | None = param(
        None, description="columns per second; when set, overrides columns"
    ),
    fmin_hz: float = param(50.0, unit="Hz", range=(0, None), description="bottom row's frequency"),
    fmax_hz: float = param(12000.0, unit="Hz", range=(0, None), description="top row's frequency"),
    scale: str = param("log", choices=SCALES, description="row spacing: log, mel (HTK) or linear"),
    range_db: float = param(60.0, unit="dB", range=(1, 200), description="levels shown below peak"),
    channels: str = param("mix", choices=TO_IMAGE_CHANNELS, description="mix or colours"),
    ctx: NodeContext,
) -> Image:
    """Draw a sound as an image on image.to_sound's axes: a log-frequency spectrogram.

    Row r shows the frequency ``image.to_sound`` gives row r (top
    ``fmax_hz``, bottom ``fmin_hz``, evenly spaced on ``scale``) and column c
    the time span [c, c + 1) × duration / columns. Each row is a band-pass
    filter made in the frequency domain (one FFT of the whole sound, a
    Blackman window around the row's frequency, an inverse FFT of the band:
    a constant-Q-like filter bank in the manner of ARSS), whose amplitude
    envelope is read at the column's centre. A band reaches the
    neighbouring rows' frequencies, so a sine on a row is silent in its
    neighbours; where rows are closer than the columns' time resolution
    allows (low rows on a log scale), the band widens to the geometric mean
    of the row spacing and the column rate, spreading the blur evenly over
    time and frequency.

    Levels are in dB below the loudest pixel: brightness
    ``1 + level_db / range_db``, 0 at ``range_db`` down and below; silence is black.
    ``channels = "mix"`` draws the mean of the channels; ``"colours"`` draws
    the left channel in red and the right in green (centred sounds are
    yellow), the inverse of ``image.to_sound``'s ``stereo = "colours"``.
    Columns: ``columns``, or ``pixels_per_s`` per second of sound when set.

    Example
    -------
        [nodes.picture]
        type = "sound.to_image"
        in = "src"
        rows = 256
        columns = 400
        fmin_hz = 60.0
        fmax_hz = 10000.0
    """
    params = {
        "scale": scale,
        "channels": channels,
        "fmin_hz": fmin_hz,
        "fmax_hz": fmax_hz,
        "rows": rows,
        "columns": columns,
        "pixels_per_s": pixels_per_s,
    }
    info = PortInfo("audio", in_.samples.shape, sample_rate=in_.sample_rate)
    shape = infer_to_image({"in": info}, params, ctx)["out"].shape
    columns = shape[1]
    samples = in_.samples.astype(np.float64)
    signals = [samples.mean(axis=0)] if channels == "mix" else list(samples)
    row_hz = row_frequencies(rows, fmin_hz, fmax_hz, scale)
    half_widths = analysis_half_widths(row_hz, in_.duration_s / columns)
    envelopes = [band_envelopes(x, in_.sample_rate, row_hz, half_widths, columns) for x in signals]
    reference = max(float(e.max()) for e in envelopes)
    planes = [amplitude_to_brightness(e, reference, range_db) for e in envelopes]
    if channels == "mix":
        pixels = planes[0]
    else:
        right = planes[1] if len(planes) > 1 else planes[0]
        pixels = np.stack([planes[0], right, np.zeros_like(planes[0])], axis=2)
    return Image(pixels.astype(np.float32))
