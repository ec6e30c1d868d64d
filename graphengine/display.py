"""Notebook display: short plain reprs and ``_repr_html_`` for port values and results.

In Jupyter, ``ge.load("x.toml").run()["out"]`` shows an ``Audio`` value as a
small player (an embedded 16-bit WAV, base64 in a data URI) above its
spectrogram; ``Spectrum``, ``Features`` and ``Image`` values show a picture;
a ``Result`` shows its run summary and its outputs. Pictures are drawn with
matplotlib, imported only when a picture is asked for.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

PLAYER_MAX_S = 60.0
"""Longest stretch of audio embedded in a player (the start of longer audio)."""

FIGSIZE = (8.0, 3.0)
DPI = 100

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")


# -- plain reprs ----------------------------------------------------------------


def _peak_dbfs(samples: np.ndarray) -> str:
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    return f"{20 * math.log10(peak):.1f} dBFS" if peak > 0 else "-inf dBFS"


def _rate(hz: float) -> str:
    return f"{hz:g} Hz"


def audio_repr(audio: Any) -> str:
    """``Audio(2 ch, 176400 frames, 44100 Hz, 4.000 s, peak -3.0 dBFS)``."""
    channels, frames = audio.samples.shape
    return (
        f"Audio({channels} ch, {frames} frames, {_rate(audio.sample_rate)}, "
        f"{frames / audio.sample_rate:.3f} s, peak {_peak_dbfs(audio.samples)})"
    )


def spectrum_repr(spectrum: Any) -> str:
    """``Spectrum(1 ch, 1025 bins, 87 frames, n_fft 2048, hop 512, hann, 22050 Hz)``."""
    channels, bins, frames = spectrum.data.shape
    return (
        f"Spectrum({channels} ch, {bins} bins, {frames} frames, n_fft {spectrum.n_fft}, "
        f"hop {spectrum.hop}, {spectrum.window}, {_rate(spectrum.sample_rate)})"
    )


def _names_summary(names: tuple[str, ...]) -> str:
    if not names:
        return ""
    if len(names) <= 4:
        return ", " + " ".join(names)
    return f", {names[0]} ... {names[-1]}"


def features_repr(features: Any) -> str:
    """``Features(1 ch, 13 rows, 87 frames, 43.07 frames/s, mfcc_0 ... mfcc_12)``."""
    channels, rows, frames = features.values.shape
    return (
        f"Features({channels} ch, {rows} rows, {frames} frames, "
        f"{features.frame_rate:.4g} frames/s{_names_summary(features.names)})"
    )


def image_repr(image: Any) -> str:
    """``Image(128 x 256, grey)`` or ``Image(64 x 64 x 3 colours)``."""
    shape = image.pixels.shape
    kind = "grey" if len(shape) == 2 else f"{shape[2]} colours"
    return f"Image({shape[0]} x {shape[1]}, {kind})"


def _number(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def _pairs(names: tuple[str, ...], values: np.ndarray, most: int = 4) -> str:
    """``a=1, b=2, c=3`` for up to ``most`` entries, else the first three, ``...`` and the last."""
    labels = names if len(names) == values.size else tuple(f"v{k}" for k in range(values.size))
    shown = [f"{labels[k]}={_number(float(values[k]))}" for k in range(values.size)]
    if len(shown) > most:
        shown = [*shown[: most - 1], "...", shown[-1]]
    return ", ".join(shown)


def vector_repr(vector: Any) -> str:
    """``Vector(3 values: mse=0.0012, correlation=0.98, snr_db=12.3)``."""
    count = vector.values.size
    if count == 0:
        return "Vector(0 values)"
    plural = "value" if count == 1 else "values"
    return f"Vector({count} {plural}: {_pairs(vector.names, vector.values)})"


def pitch_label(hz: float) -> str:
    from graphengine.pitch import name_of

    if not (math.isfinite(hz) and hz > 0):
        return f"{hz:g} Hz"
    return _rounded_name(name_of(hz))


def _rounded_name(name: str) -> str:
    """A pitch name without its cents offset (``A4+50c`` -> ``A4``)."""
    for sign in "+-":
        head, sep, tail = name.rpartition(sign)
        if sep and tail.endswith("c") and head:
            return head
    return name


def notes_repr(notes: Any) -> str:
    """``Notes(12 notes, 0.0–6.0 s, C4–A5)``: count, time span and pitch range."""
    count = notes.onset_s.size
    if count == 0:
        return "Notes(0 notes)"
    start = float(notes.onset_s.min())
    end = float((notes.onset_s + notes.duration_s).max())
    voiced = notes.frequency_hz[np.isfinite(notes.frequency_hz) & (notes.frequency_hz > 0)]
    plural = "note" if count == 1 else "notes"
    text = f"Notes({count} {plural}, {start:.1f}–{end:.1f} s"
    if voiced.size:
        low, high = pitch_label(float(voiced.min())), pitch_label(float(voiced.max()))
        text += f", {low}" if low == high else f", {low}–{high}"
    return text + ")"


def frequencies_repr(frequencies: Any) -> str:
    """``Frequencies(128 values, 8.1758–12543.9 Hz, C-1–G9)``."""
    hz = frequencies.hz
    if hz.size == 0:
        return "Frequencies(0 values)"
    low, high = float(hz.min()), float(hz.max())
    plural = "value" if hz.size == 1 else "values"
    span = f"{low:.6g} Hz" if low == high else f"{low:.6g}–{high:.6g} Hz"
    text = f"Frequencies({hz.size} {plural}, {span}"
    if low > 0 and math.isfinite(high):
        names = (pitch_label(low), pitch_label(high))
        text += f", {names[0]}" if names[0] == names[1] else f", {names[0]}–{names[1]}"
    return text + ")"


def prediction_repr(prediction: Any) -> str:
    """``Prediction(3 classes, top dog 0.87)`` or ``Prediction(5 items x 3 classes, ...)``."""
    probs = prediction.probabilities
    classes = prediction.classes
    width = probs.shape[-1] if probs.ndim else 0
    labels = classes if len(classes) == width else tuple(f"class_{k}" for k in range(width))
    if probs.ndim == 1 and probs.size:
        best = int(np.argmax(probs))
        return f"Prediction({width} classes, top {labels[best]} {float(probs[best]):.2f})"
    if probs.ndim == 2 and probs.size:
        tops = [labels[int(k)] for k in np.argmax(probs, axis=1)]
        shown = ", ".join(tops[:3]) + (", ..." if len(tops) > 3 else "")
        return f"Prediction({probs.shape[0]} items x {width} classes, top: {shown})"
    return f"Prediction(shape {tuple(probs.shape)})"


def result_repr(result: Any) -> str:
    """``Result(8 nodes: 2 computed, 6 cached; outputs: out/demo.wav)``."""
    statuses: dict[str, int] = {}
    for stat in result.stats:
        statuses[stat.status] = statuses.get(stat.status, 0) + 1
    counts = ", ".join(f"{n} {status}" for status, n in statuses.items())
    outputs = ", ".join(Path(p).name for p in result.outputs) or "none written"
    return f"Result({len(result.stats)} nodes: {counts or 'none'}; outputs: {outputs})"


# -- encoders -------------------------------------------------------------------


def wav_bytes(samples: np.ndarray, sample_rate: float, max_s: float = PLAYER_MAX_S) -> bytes:
    """A 16-bit PCM WAV of (channels, frames) float samples, at most ``max_s`` long."""
    import soundfile as sf

    frames = min(samples.shape[1], int(max_s * sample_rate))
    buffer = io.BytesIO()
    data = np.clip(samples[:, :frames].T, -1.0, 1.0)
    sf.write(buffer, data, round(float(sample_rate)), format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def player_html(samples: np.ndarray, sample_rate: float) -> str:
    """An ``<audio controls>`` element holding the audio as a base64 WAV data URI."""
    data = base64.b64encode(wav_bytes(samples, sample_rate)).decode("ascii")
    total_s = samples.shape[1] / sample_rate
    note = ""
    if total_s > PLAYER_MAX_S:
        note = f"<div><small>player: the first {PLAYER_MAX_S:g} s of {total_s:.1f} s</small></div>"
    return f'<audio controls preload="metadata" src="data:audio/wav;base64,{data}"></audio>{note}'


def png_html(png: bytes, alt: str = "") -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"/>'


def _figure(rows: int = 1) -> Any:
    from matplotlib.figure import Figure

    width, height = FIGSIZE
    return Figure(figsize=(width, height * rows if rows > 1 else height), dpi=DPI)


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _stft_db(mono: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT| in dB of a 1-D signal, 0 dB at the peak, floored at -80 dB; (bins, frames)."""
    if mono.size < n_fft:
        mono = np.pad(mono, (0, n_fft - mono.size))
    frames = 1 + (mono.size - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spectrum = np.abs(np.fft.rfft(mono[index] * np.hanning(n_fft), axis=1)).T
    return _db(spectrum**2)


def _db(power: np.ndarray, top_db: float = 80.0) -> np.ndarray:
    db = 10 * np.log10(np.maximum(power, 1e-20))
    return np.maximum(db - db.max(), -top_db)


def _freq_edges(bins: int, step_hz: float) -> np.ndarray:
    """Row edges for ``bins`` frequency bins ``step_hz`` apart, positive (for a log axis)."""
    return np.maximum((np.arange(bins + 1) - 0.5) * step_hz, step_hz / 2)


def _db_png(
    time_edges: np.ndarray,
    freq_edges: np.ndarray,
    db: np.ndarray,
    title: str,
    *,
    log_freq: bool,
    ylim: tuple[float, float] | None = None,
) -> bytes:
    """``db`` (bins, frames; -80 to 0 dB) as an image over time (s) and frequency (Hz) edges."""
    figure = _figure()
    ax = figure.add_subplot()
    mesh = ax.pcolormesh(
        time_edges,
        freq_edges,
        db,
        shading="flat",
        cmap="magma",
        vmin=-80,
        vmax=0,
        rasterized=True,
    )
    if log_freq:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title(title)
    figure.colorbar(mesh, ax=ax, label="dB")
    figure.tight_layout()
    return _png(figure)


def spectrogram_png(samples: np.ndarray, sample_rate: float, title: str = "") -> bytes:
    """A spectrogram (dB, log frequency) of the channel mean, as an 800 x 300 PNG."""
    mono = np.asarray(samples, dtype=np.float64).mean(axis=0)
    n_fft = 2048 if sample_rate >= 32000 else 1024
    hop = max(n_fft // 4, int(mono.size / 2000))
    db = _stft_db(mono, n_fft, hop)
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    return _db_png(
        np.linspace(0, mono.size / sample_rate, db.shape[1] + 1),
        _freq_edges(len(freqs), sample_rate / n_fft),
        db,
        title or "spectrogram (dB)",
        log_freq=True,
        ylim=(max(20.0, freqs[1] / 2), sample_rate / 2),
    )


def waveform_png(samples: np.ndarray, sample_rate: float, title: str = "") -> bytes:
    """Each channel's waveform over time (s), as min/max envelopes of ~2000 columns."""
    samples = np.asarray(samples, dtype=np.float64)
    channels, frames = samples.shape
    figure = _figure()
    ax = figure.add_subplot()
    columns = max(1, min(frames, 2000))
    edges = np.linspace(0, frames, columns + 1).astype(np.int64)
    times = edges[:-1] / sample_rate
    for channel in range(channels):
        row = samples[channel]
        if frames == 0:
            continue
        starts = np.minimum(edges[:-1], frames - 1)
        low = np.minimum.reduceat(row, starts)
        high = np.maximum.reduceat(row, starts)
        ax.fill_between(times, low, high, step="post", alpha=0.6, label=f"channel {channel}")
    ax.set_xlim(0, max(frames / sample_rate, 1 / sample_rate))
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    if channels > 1:
        ax.legend(loc="upper right", fontsize="small")
    ax.set_title(title or f"waveform ({channels} ch, peak {_peak_dbfs(samples)})")
    figure.tight_layout()
    return _png(figure)


def spectrum_png(spectrum: Any) -> bytes:
    """The magnitude in dB of a Spectrum's first channel, log frequency."""
    power = np.abs(spectrum.data[0]) ** 2
    db = _db(power)
    freqs = np.arange(db.shape[0]) * spectrum.sample_rate / spectrum.n_fft
    return _db_png(
        np.arange(db.shape[1] + 1) * spectrum.hop / spectrum.sample_rate,
        _freq_edges(db.shape[0], spectrum.sample_rate / spectrum.n_fft),
        db,
        "spectrum, channel 0 (dB)",
        log_freq=len(freqs) > 2,
    )


def features_png(features: Any) -> bytes:
    """Up to four rows as curves over time; more as a heat map, each row scaled to [0, 1]."""
    values = features.values[0]
    rows, frames = values.shape
    times = (
        np.arange(frames) / features.frame_rate if features.frame_rate > 0 else np.arange(frames)
    )
    figure = _figure()
    ax = figure.add_subplot()
    if rows <= 4:
        for row in range(rows):
            label = features.names[row] if row < len(features.names) else f"row {row}"
            ax.plot(times, values[row], label=label)
        ax.legend(loc="upper right", fontsize="small")
        ax.set_ylabel("value")
    else:
        low = values.min(axis=1, keepdims=True)
        span = values.max(axis=1, keepdims=True) - low
        scaled = (values - low) / np.where(span > 0, span, 1.0)  # each row to its own range
        mesh = ax.pcolormesh(
            np.arange(frames + 1) / max(features.frame_rate, 1e-12),
            np.arange(rows + 1),
            scaled,
            shading="flat",
            cmap="viridis",
            rasterized=True,
        )
        if features.names and rows <= 24:
            ax.set_yticks(np.arange(rows) + 0.5, features.names, fontsize="x-small")
        ax.set_ylabel("row")
        figure.colorbar(mesh, ax=ax, label="each row: min 0, max 1")
    ax.set_xlabel("time (s)")
    ax.set_title(f"features ({rows} rows, channel 0)")
    figure.tight_layout()
    return _png(figure)


def image_png(image: Any) -> bytes:
    """The image's own pixels as an 8-bit PNG (row 0 at the top)."""
    from PIL import Image as PILImage

    pixels = np.round(np.clip(image.pixels, 0, 1) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


# -- HTML ------------------------------------------------------------------------


def _box(title: str, *parts: str) -> str:
    body = "".join(f"<div>{part}</div>" for part in parts)
    return f"<div><code>{html.escape(title)}</code>{body}</div>"


def audio_html(audio: Any) -> str:
    png = spectrogram_png(audio.samples, audio.sample_rate)
    return _box(
        audio_repr(audio),
        player_html(audio.samples, audio.sample_rate),
        png_html(png, "spectrogram"),
    )


def spectrum_html(spectrum: Any) -> str:
    return _box(spectrum_repr(spectrum), png_html(spectrum_png(spectrum), "spectrum"))


def features_html(features: Any) -> str:
    return _box(features_repr(features), png_html(features_png(features), "features"))


def image_html(image: Any) -> str:
    return _box(image_repr(image), png_html(image_png(image), "image"))


def file_html(path: Path) -> str:
    """A player and spectrogram for an audio file, the picture for a PNG, the name otherwise."""
    path = Path(path)
    if not path.is_file():
        return f"<code>{html.escape(str(path))}</code> (missing)"
    suffix = path.suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        import soundfile as sf

        samples, rate = sf.read(path, dtype="float32", always_2d=True)
        samples = samples.T
        png = spectrogram_png(samples, rate, title=path.name)
        return _box(str(path), player_html(samples, rate), png_html(png, path.name))
    if suffix == ".png":
        return _box(str(path), png_html(path.read_bytes(), path.name))
    return _box(f"{path} ({path.stat().st_size} bytes)")


def result_html(result: Any) -> str:
    """The run summary, each written output, and each value the run kept."""
    parts = [f"<div><b>{html.escape(result_repr(result))}</b></div>"]
    for path in result.outputs:
        parts.append(file_html(path))
    for node_id, ports in result.values.items():
        for port, value in ports.items():
            shown = getattr(value, "_repr_html_", None)
            label = f"{node_id}.{port}"
            if shown is not None:
                parts.append(f"<div><code>{html.escape(label)}</code></div>" + shown())
            else:
                parts.append(
                    f"<div><code>{html.escape(label)}: {html.escape(repr(value))}</code></div>"
                )
    return "".join(parts)
