"""Picture sinks: PNG files of images, spectrograms, feature tracks and waveforms.

``sink.image`` takes any value. ``image`` values are written pixel for pixel
(row 0 at the top; grey for 2-D, RGB or RGBA for 3-D), with no resampling or
axes. Spectra, features and audio are drawn with matplotlib (Agg backend,
imported only when drawing) as labelled pictures: time in seconds across,
frequency (Hz), feature rows or amplitude up, with a colour bar.
"""

from __future__ import annotations

import re

import numpy as np

from graphengine.node import Inputs, NodeContext, OutputPath, Params, PortInfo, node, param
from graphengine.types import Audio, ConstantQ, Features, Image, Spectrum, Value
from nodes.spectral.stft import fft_frequencies, power_to_db

DRAWABLE = ("image", "spectrum", "cqt", "features", "audio")
COLORMAPS = ("magma", "viridis", "inferno", "gray_r", "coolwarm")
_HZ_NAME = re.compile(r"^(\d+(?:\.\d+)?)Hz$")


def infer_image(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """No outputs; the input must be drawable."""
    info = inputs.get("in")
    if isinstance(info, PortInfo) and info.type not in DRAWABLE:
        raise ctx.port_error("in", f"cannot draw {info.type} (draws {', '.join(DRAWABLE)})")
    return {}


def image_to_png(pixels: np.ndarray, path: str) -> None:
    """Write [0, 1] pixels as 8-bit PNG: round(p * 255); 2-D grey, 3-D RGB/RGBA (or grey)."""
    from PIL import Image as PILImage

    data = np.rint(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    if data.ndim == 3 and data.shape[2] not in (3, 4):
        raise ValueError(f"an image with {data.shape[2]} colour planes (expects 1, 3 or 4)")
    mode = "L" if data.ndim == 2 else ("RGB" if data.shape[2] == 3 else "RGBA")
    PILImage.fromarray(np.ascontiguousarray(data), mode=mode).save(path, format="PNG")


@node("sink.image", version=1, infer=infer_image)
def image(
    in_: Value,
    *,
    path: OutputPath = param(suffix=".png", description="the PNG file to write"),
    width_px: int = param(1000, range=(64, 8000), description="picture width (drawn values)"),
    height_px: int = param(500, range=(64, 8000), description="picture height per channel"),
    log_frequency: bool = param(False, description="logarithmic frequency axis"),
    fmax_hz: float | None = param(None, unit="Hz", above=0, description="top of the axis"),
    db: bool = param(False, description="draw features as 10 log10 (power), top 80 dB"),
    colormap: str = param("magma", choices=COLORMAPS, description="colour map"),
    title: str = param("", description="title above the picture (default: what it shows)"),
    ctx: NodeContext,
) -> None:
    """Write a PNG: an image's pixels exactly, or a labelled spectrogram, feature plot or waveform.

    ``image`` values become an 8-bit PNG of the same size, pixel (row, col)
    -> PNG pixel (row, col), row 0 at the top, value v -> round(255 v); the
    drawing parameters are ignored. A ``spectrum`` is drawn as a
    spectrogram in dB (0 dB at the peak, 80 dB range) with frequency in Hz
    up (``log_frequency`` for a log axis, ``fmax_hz`` to cut it) and time in
    seconds across; a ``cqt`` likewise, always on a log frequency axis;
    ``features`` whose rows are STFT bins (named ``"…Hz"``)
    likewise, other features as a heat map of rows (pitch classes, mel bands,
    coefficients; ``db`` converts powers to dB) or, for up to four rows, as
    curves over time; ``audio`` as a waveform. Each channel is a panel of
    ``height_px``; every drawn panel has a colour bar or a value axis.

    Example
    -------
        picture = {in = "spec", path = "out/spectrogram.png", log_frequency = true}
    """
    if isinstance(in_, Image):
        image_to_png(in_.pixels, path)
        return
    if not isinstance(in_, Spectrum | ConstantQ | Features | Audio):
        raise ctx.port_error("in", f"cannot draw {in_.port_type}")
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    channels = in_.samples.shape[0] if isinstance(in_, Audio) else in_.primary.shape[0]
    dpi = 100
    figure = Figure(figsize=(width_px / dpi, height_px * channels / dpi), dpi=dpi)
    axes = figure.subplots(channels, 1, squeeze=False)[:, 0]
    for c, ax in enumerate(axes):
        label = f" (channel {c})" if channels > 1 else ""
        if isinstance(in_, Audio):
            _waveform(ax, in_, c)
            ax.set_title((title or "waveform") + label)
        elif isinstance(in_, Spectrum):
            power = np.abs(in_.data[c]).astype(np.float64) ** 2
            freqs = fft_frequencies(in_.sample_rate, in_.n_fft)
            _heatmap(
                figure,
                ax,
                _db(power),
                freqs,
                in_.sample_rate / in_.hop,
                colormap,
                log_frequency,
                fmax_hz,
                "dB",
            )
            ax.set_title((title or "spectrogram") + label)
        elif isinstance(in_, ConstantQ):  # geometric bins: always a log frequency axis
            power = np.abs(in_.data[c]).astype(np.float64) ** 2
            freqs = in_.frequencies_hz
            _heatmap(figure, ax, _db(power), freqs, in_.frame_rate, colormap, True, fmax_hz, "dB")
            ax.set_title((title or "constant-Q spectrogram") + label)
        else:
            _features(figure, ax, in_, c, colormap, log_frequency, fmax_hz, db)
            ax.set_title((title or ", ".join(_stem(in_.names))) + label)
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=dpi)


def _stem(names: tuple[str, ...]) -> list[str]:
    stems = []
    for name in names:
        stem = re.sub(r"_[^_]*$", "", name) if "_" in name else name
        if _HZ_NAME.match(name):
            stem = "spectrogram"
        if stem not in stems:
            stems.append(stem)
    return stems[:4] or ["features"]


def _db(power: np.ndarray) -> np.ndarray:
    """Level in dB re the peak (re 1 when all zero), 80 dB deep."""
    peak = power.max()
    return power_to_db(power, ref=peak if peak > 0 else 1.0)


def _edges(centres: np.ndarray) -> np.ndarray:
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def _time_edges(frames: int, rate: float) -> np.ndarray:
    """Cell edges in seconds of frames at ``rate`` per second (one frame: 0 .. 1 / rate)."""
    return _edges(np.arange(frames) / rate) if frames > 1 else np.array([0, 1 / rate])


def _heatmap(figure, ax, values, freqs, rate, colormap, log_frequency, fmax_hz, unit) -> None:
    times = _time_edges(values.shape[1], rate)
    edges = _edges(freqs)
    if log_frequency:
        edges = np.maximum(edges, freqs[1] / 2 if freqs.size > 1 else 1.0)
    mesh = ax.pcolormesh(times, edges, values, cmap=colormap, shading="flat", rasterized=True)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    if log_frequency:
        ax.set_yscale("log")
    top = min(fmax_hz, edges[-1]) if fmax_hz else edges[-1]
    ax.set_ylim(edges[0], top)
    figure.colorbar(mesh, ax=ax, label=unit, pad=0.01)


def _features(figure, ax, features: Features, c, colormap, log_frequency, fmax_hz, db) -> None:
    values = features.values[c].astype(np.float64)
    n, frames = values.shape
    names = features.names if len(features.names) == n else tuple(f"f{k}" for k in range(n))
    if db:
        values = _db(values)
    hz = [_HZ_NAME.match(name) for name in names]
    if n > 1 and all(hz):
        freqs = np.array([float(m.group(1)) for m in hz])
        _heatmap(
            figure,
            ax,
            values,
            freqs,
            features.frame_rate,
            colormap,
            log_frequency,
            fmax_hz,
            "dB" if db else "value",
        )
        return
    times = np.arange(frames) / features.frame_rate
    if n <= 4:
        for row, name in zip(values, names, strict=True):
            ax.plot(times, row, label=name, linewidth=1)
        ax.set_xlabel("time (s)")
        ax.set_ylabel(", ".join(names))
        ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
        ax.set_xlim(times[0], times[-1] if frames > 1 else times[0] + 1)
        return
    mesh = ax.pcolormesh(
        _time_edges(frames, features.frame_rate),
        np.arange(n + 1) - 0.5,
        values,
        cmap=colormap,
        shading="flat",
        rasterized=True,
    )
    ax.set_xlabel("time (s)")
    ax.set_ylabel(_stem(names)[0])
    if n <= 24:
        ax.set_yticks(np.arange(n))
        ax.set_yticklabels([name.split("_")[-1] if "_" in name else name for name in names])
    figure.colorbar(mesh, ax=ax, label="dB" if db else "value", pad=0.01)


def _waveform(ax, audio: Audio, c: int) -> None:
    samples = audio.samples[c]
    frames = samples.size
    times = np.arange(frames) / audio.sample_rate
    if frames > 20000:  # envelope of min/max per pixel column keeps peaks visible
        columns = 4000
        edges = np.linspace(0, frames, columns + 1).astype(int)
        lows = np.minimum.reduceat(samples, edges[:-1])
        highs = np.maximum.reduceat(samples, edges[:-1])
        ax.fill_between(times[edges[:-1]], lows, highs, linewidth=0.5)
    else:
        ax.plot(times, samples, linewidth=0.8)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    ax.set_xlim(0, frames / audio.sample_rate)
    ax.set_ylim(-1.05, 1.05)
    ax.grid(alpha=0.3)
