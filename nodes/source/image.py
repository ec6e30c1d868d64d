"""source.image: read a picture as a grey or RGB image in [0, 1]."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.errors import ParamError
from graphengine.node import InputPath, Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Image
from nodes.image.mapping import IMAGE_FORMATS, IMAGE_MODES, LUMA

DECODE_LIMIT_BYTES = 512 << 20
"""Most bytes the decoded pixels of one file may take in Pillow: 512 MiB, or the
graph's ``--memory-budget`` when that is smaller. 134 megapixels of RGB (4 bytes
each as Pillow stores them), 536 of 8-bit grey (one byte).
"""

_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
"""Bytes per pixel of Pillow's storage for a mode; 4 for every other mode."""

_BAND_PIXELS = 1 << 20
"""Pixels converted to float32 per step (a band of whole rows)."""


def _unreadable(path: str, reason: str, ctx: NodeContext) -> ParamError:
    return ctx.param_error("path", f"cannot read image file {Path(path).name!r}: {reason}")


def _format_bytes(count: float) -> str:
    return f"{count / 2**20:.0f} MiB" if count < 2**30 else f"{count / 2**30:.1f} GiB"


def _plan_decoding(picture: Any, shape: tuple[int, ...], path: str, ctx: NodeContext) -> None:
    """Draft a JPEG at the smallest scale that still gives ``shape``; refuse what is too big.

    A JPEG asked for a smaller size is decoded at 1/2, 1/4 or 1/8 scale
    (Pillow's ``draft``). Then a ParamError on ``path`` when the pixels to
    decode would take more than DECODE_LIMIT_BYTES; nothing is decoded here.
    """
    rows, columns = shape[0], shape[1]
    if picture.format == "JPEG" and (rows, columns) != (picture.height, picture.width):
        picture.draft(picture.mode, (columns, rows))
    width, height = picture.size
    needed = width * height * _BYTES_PER_PIXEL.get(picture.mode, 4)
    limit = min(DECODE_LIMIT_BYTES, ctx.memory_budget or DECODE_LIMIT_BYTES)
    if needed > limit:
        within = "the memory budget" if limit < DECODE_LIMIT_BYTES else "what source.image decodes"
        reason = (
            f"its {width}x{height} pixels would take {_format_bytes(needed)} to decode, more "
            f"than the {_format_bytes(limit)} of {within}; scale the file down first"
        )
        raise _unreadable(path, reason, ctx)


def _open_quietly(path: str, ctx: NodeContext) -> Any:
    """``PIL.Image.open`` with its DecompressionBombWarning said as a warning of the node."""
    from PIL import Image as PILImage

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PILImage.DecompressionBombWarning)
        picture = PILImage.open(path, formats=IMAGE_FORMATS)
    for warning in caught:
        if issubclass(warning.category, PILImage.DecompressionBombWarning):
            pixels = picture.width * picture.height
            ctx.warn(
                f"{Path(path).name!r} has {pixels} pixels, more than Pillow's "
                f"{PILImage.MAX_IMAGE_PIXELS} for a safe image; decoded anyway"
            )
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return picture


def _open_image(path: str, ctx: NodeContext) -> Any:
    """The Pillow image at ``path`` (header read, pixels not decoded) or a ParamError on path."""
    try:
        from PIL import Image as PILImage
        from PIL import UnidentifiedImageError
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ctx.param_error(
            "path", "reading images needs Pillow: pip install 'graphengine[image]'"
        ) from error
    target = Path(path)
    if not target.is_file():
        raise _unreadable(path, "no such file" if not target.exists() else "not a file", ctx)
    try:
        picture = _open_quietly(path, ctx)
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


def infer_source_image(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(rows, columns) or (rows, columns, 3) from the file's header and the resize parameters."""
    with _open_image(params["path"], ctx) as picture:
        shape = _image_shape(picture.height, picture.width, params)
        _plan_decoding(picture, shape, params["path"], ctx)
    return {"out": PortInfo("image", shape, itemsize=4)}


def _to_float(picture: Any) -> np.ndarray:
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


def _decode(picture: Any, gray: bool) -> np.ndarray:
    """Decoded pixels as float32 (rows, cols, 1) luma or (rows, cols, 3) RGB.

    Converted a band of rows at a time, so that beside Pillow's own pixels
    only the float32 result is held at full size.
    """
    width, height = picture.size
    out = np.empty((height, width, 1 if gray else 3), dtype=np.float32)
    step = max(1, _BAND_PIXELS // width)
    for top in range(0, height, step):
        band = _to_float(picture.crop((0, top, width, min(height, top + step))))
        out[top : top + band.shape[0]] = (band @ LUMA)[..., None] if gray else band
    return out


def _shrink_before_decoding(picture: Any, rows: int, columns: int) -> Any:
    """``picture`` loaded, made smaller first when far larger than rows x columns.

    A picture at least 6 times the size in a direction is box-averaged
    (``reduce``, premultiplied by its alpha) to no less than 3 times it, so
    that the float conversion and the Lanczos resize work on a few times the
    output's size.
    """
    picture.load()
    factors = (max(1, picture.width // (3 * columns)), max(1, picture.height // (3 * rows)))
    if factors == (1, 1) or picture.mode.startswith("I;16"):
        return picture
    if picture.mode == "P":
        picture = picture.convert("RGBA")
    if picture.mode in ("RGBA", "LA", "PA", "La"):
        picture = picture.convert("RGBa")  # an average of premultiplied colours composes right
    elif picture.mode not in ("L", "RGB", "I", "F", "CMYK"):
        picture = picture.convert("RGB")
    return picture.reduce(factors)


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

    Memory: a file whose decoded pixels would take more than 512 MiB in
    Pillow (``DECODE_LIMIT_BYTES``: 134 megapixels of RGB, 536 of grey), or
    more than the graph's ``--memory-budget`` when that is smaller, is
    refused at validation, before anything is decoded. A JPEG asked for a
    smaller size is decoded at 1/2, 1/4 or 1/8 scale, and a picture many times
    the size asked for is box-averaged to about 3 times it before the Lanczos
    resize. Pillow's decompression-bomb warning is a warning of the node.

    An image can also come from Python: pass ``inputs={"img": Image(array)}``
    to ``Graph.run`` for this node's id.

    Example
    -------
        img = {path = "drawing.png", invert = true, rows = 256}
    """
    params = {"mode": mode, "rows": rows, "columns": columns}
    with _open_image(path, ctx) as picture:
        shape = _image_shape(picture.height, picture.width, params)
        _plan_decoding(picture, shape, path, ctx)
        try:
            picture.seek(0)
            pixels = _decode(_shrink_before_decoding(picture, shape[0], shape[1]), mode == "gray")
        except (OSError, ValueError, SyntaxError) as error:
            raise _unreadable(path, str(error) or type(error).__name__, ctx) from error
    pixels = _resize(pixels, shape[0], shape[1])
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
