"""What an audio file holds (``graphengine info``): what ``soxi`` and ``analyze_wav`` tell.

The header (sample rate, channels, frames, format, subtype, bit depth) comes
from libsndfile through soundfile; the levels (peak and RMS in dBFS over all
channels and per channel, clipped samples) from reading the file once in
blocks of :data:`BLOCK_FRAMES` frames, so a long file is never held whole
(whole MPEG frames, see :data:`MPEG_FRAME`).

A sample counts as clipped when it sits at full scale: at the largest or
smallest code of an integer format (for 16-bit PCM, 32767 or -32768), at or
beyond ±1.0 in a float or compressed one.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.errors import GraphError

MPEG_FRAME = 1152
"""Samples per MPEG audio frame (Layer II/III; Layer I's 384 and MPEG-2 Layer III's 576 divide it).

libsndfile 1.2 returns wrong samples for an MP3 read in pieces that are not whole
MPEG frames (a 1000-frame read garbles the signal after a few blocks), so
blocks are always a multiple of this."""

BLOCK_FRAMES = 57 * MPEG_FRAME
"""Frames read at a time (65664)."""

BIT_DEPTH = {
    "PCM_S8": 8,
    "PCM_U8": 8,
    "PCM_16": 16,
    "PCM_24": 24,
    "PCM_32": 32,
    "FLOAT": 32,
    "DOUBLE": 64,
    "ULAW": 8,
    "ALAW": 8,
    "IMA_ADPCM": 4,
    "MS_ADPCM": 4,
    "G721_32": 4,
    "G723_24": 3,
    "G723_40": 5,
    "DWVW_12": 12,
    "DWVW_16": 16,
    "DWVW_24": 24,
    "DPCM_8": 8,
    "DPCM_16": 16,
    "ALAC_16": 16,
    "ALAC_20": 20,
    "ALAC_24": 24,
    "ALAC_32": 32,
}
"""Bits per stored sample of each libsndfile subtype; lossy codecs (Vorbis, Opus, MP3) have none."""

INTEGER_PCM = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}
"""Subtypes whose samples are integer codes, read as code / 2**(bits - 1)."""


def dbfs(amplitude: float) -> float:
    """20 log10 of an amplitude relative to full scale (1.0); -inf for silence."""
    return 20.0 * math.log10(amplitude) if amplitude > 0 else -math.inf


def file_info(path: str | os.PathLike, *, block_frames: int = BLOCK_FRAMES) -> dict[str, Any]:
    """The header and levels of one audio file, as plain data (what ``--json`` prints).

    Raises
    ------
    GraphError
        If the file is missing, a folder, or not audio libsndfile can read;
        the message names the file.
    """
    import soundfile as sf

    path = Path(path)
    if path.is_dir():
        raise GraphError(f"{path}: is a folder, not an audio file")
    if not path.exists():
        raise GraphError(f"{path}: no such file")
    try:
        header = sf.info(str(path))
        stats = _levels(path, header.subtype, block_frames)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        reason = getattr(error, "error_string", None) or str(error)
        raise GraphError(f"{path}: cannot read it as audio ({reason})") from None
    rate = header.samplerate
    return {
        "file": str(path),
        "sample_rate_hz": rate,
        "channels": header.channels,
        "frames": header.frames,
        "duration_s": header.frames / rate if rate else 0.0,
        "format": header.format,
        "format_info": header.format_info,
        "subtype": header.subtype,
        "subtype_info": header.subtype_info,
        "bit_depth": BIT_DEPTH.get(header.subtype),
        "bytes": path.stat().st_size,
        **stats,
    }


def _levels(path: Path, subtype: str, block_frames: int) -> dict[str, Any]:
    """Peak, RMS and clipped count over the samples, read block by block."""
    import soundfile as sf

    block_frames = max(1, -(-block_frames // MPEG_FRAME)) * MPEG_FRAME
    bits = INTEGER_PCM.get(subtype)
    full_scale = (2 ** (bits - 1) - 1) / 2 ** (bits - 1) if bits else 1.0
    with sf.SoundFile(str(path)) as handle:
        channels = handle.channels
        peak = np.zeros(channels)
        square = np.zeros(channels)
        clipped = 0
        frames = 0
        while True:
            block = handle.read(block_frames, dtype="float64", always_2d=True)
            if not block.shape[0]:
                break
            magnitude = np.abs(block)
            peak = np.maximum(peak, magnitude.max(axis=0, initial=0.0))
            square += np.einsum("ij,ij->j", block, block)
            # the top code is full_scale, the bottom one exactly -1.0
            clipped += int(np.count_nonzero((block >= full_scale) | (block <= -1.0)))
            frames += block.shape[0]
    rms = np.sqrt(square / frames) if frames else np.zeros(channels)
    overall_rms = float(np.sqrt(square.sum() / (frames * channels))) if frames else 0.0
    return {
        "frames_read": frames,
        "peak": float(peak.max(initial=0.0)),
        "peak_dbfs": dbfs(float(peak.max(initial=0.0))),
        "rms_dbfs": dbfs(overall_rms),
        "channel_peak_dbfs": [dbfs(float(p)) for p in peak],
        "channel_rms_dbfs": [dbfs(float(r)) for r in rms],
        "clipped_samples": clipped,
    }


def _db_text(value: float) -> str:
    return f"{value:.2f} dBFS" if math.isfinite(value) else "-inf dBFS (silence)"


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:06.3f}" if hours else f"{minutes}:{rest:06.3f}"


def text(info: dict[str, Any]) -> str:
    """A few aligned lines about one file, as ``soxi`` prints them."""
    depth = f"{info['bit_depth']} bit" if info["bit_depth"] else "no fixed bit depth (lossy)"
    lines = [
        f"{info['file']}",
        f"  sample rate  {info['sample_rate_hz']} Hz",
        f"  channels     {info['channels']}",
        f"  frames       {info['frames']}",
        f"  duration     {info['duration_s']:.3f} s ({_clock(info['duration_s'])})",
        f"  format       {info['format_info']} [{info['format']}]",
        f"  subtype      {info['subtype_info']} [{info['subtype']}], {depth}",
        f"  peak         {_db_text(info['peak_dbfs'])}",
    ]
    several = info["channels"] > 1
    if several:
        lines.append(f"    per ch     {', '.join(_short(v) for v in info['channel_peak_dbfs'])}")
    lines.append(f"  rms          {_db_text(info['rms_dbfs'])}")
    if several:
        lines.append(f"    per ch     {', '.join(_short(v) for v in info['channel_rms_dbfs'])}")
    lines.append(f"  clipped      {info['clipped_samples']} samples")
    return "\n".join(lines) + "\n"


def _short(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "-inf"


def json_ready(info: dict[str, Any]) -> dict[str, Any]:
    """``info`` with -inf levels as None (strict JSON has no infinity)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return {key: clean(value) for key, value in info.items()}
