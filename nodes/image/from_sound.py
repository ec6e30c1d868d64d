"""image.from_sound: draw a sound as a picture with the mapping image.to_sound plays."""

from __future__ import annotations

import math

import numpy as np

from graphengine.node import NYQUIST, Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Audio, Image
from nodes.image.mapping import (
    SCALES,
    TO_IMAGE_CHANNELS,
    amplitude_to_brightness,
    interp,
    row_frequencies,
)


def infer_to_image(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(rows, columns), or (rows, columns, 3) for channels = "colours"."""
    source = inputs.get("in")
    rate = getattr(source, "sample_rate", None) or ctx.sample_rate
    shape = getattr(source, "shape", None)
    if shape is not None and shape[1] < 1:
        raise ctx.port_error("in", "the sound has no samples to draw")
    if params["channels"] == "colours" and shape is not None and shape[0] > 2:
        raise ctx.port_error(
            "in",
            f'channels = "colours" draws one or two channels (left red, right green), '
            f"got {shape[0]}",
        )
    columns = params["columns"]
    pps = params["pixels_per_s"]
    if pps is not None:
        if pps > rate:
            raise ctx.param_error(
                "pixels_per_s",
                f"{pps:g} columns per second is more than one per sample ({rate:g} Hz)",
            )
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
        out[r] = interp(envelope, (np.arange(columns) + 0.5) * per_column)
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


@node("image.from_sound", version=1, infer=infer_to_image, aliases=("sound.to_image",))
def to_image(
    in_: Audio,
    *,
    rows: int = param(256, range=(1, 16384), description="image height: frequency rows"),
    columns: int = param(512, range=(1, 65536), description="image width: time columns"),
    pixels_per_s: float | None = param(
        None, above=0, description="columns per second; when set, overrides columns"
    ),
    fmin_hz: float = param(
        50.0, unit="Hz", above=0, below="fmax_hz", description="bottom row's frequency"
    ),
    fmax_hz: float = param(
        12000.0, unit="Hz", range=(0, None), below=NYQUIST, description="top row's frequency"
    ),
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
        picture = {in = "src", rows = 256, columns = 400, fmin_hz = 60.0, fmax_hz = 10000.0}
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
