"""Sinks: nodes that write a value to a file.

The engine hands a sink the path of a temporary file with the same suffix as
the requested one and renames it when the node succeeds, so a sink simply
writes to ``path`` and an interrupted run leaves no partial output.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.blocknode import BlockSink, StreamSpec
from graphengine.errors import ParamError
from graphengine.fsutil import os_error_reason
from graphengine.node import InferFn, NodeContext, OutputPath, PortInfo, node, param
from graphengine.types import Value

WAV_SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")
_BYTES_PER_SAMPLE = {"PCM_16": 2, "PCM_24": 3, "FLOAT": 4, "PCM_32": 4, "DOUBLE": 8}
_WAV_MAX_DATA_BYTES = 0xFFFFFFFF - 1024
"""A RIFF WAV's 32-bit sizes end near 4 GiB; bigger data is written as RF64."""

_CHUNK = 1 << 16
"""Frames converted and written per step."""

_SFC_SET_ADD_PEAK_CHUNK = 0x1050
"""libsndfile's command (sndfile.h) that turns off the PEAK chunk, whose timestamp
would make two renders of the same float samples differ in bytes."""


def check_port_type(port_type: str, allowed: tuple[str, ...], ctx: NodeContext) -> None:
    """A PortError on ``in`` unless ``port_type`` is one of ``allowed``."""
    if port_type not in allowed:
        raise ctx.port_error(
            "in", f"{ctx.node_type} writes {' or '.join(allowed)}, got {port_type}"
        )


def sink_infer(allowed: tuple[str, ...]) -> InferFn:
    """The infer function of a sink that writes only ``allowed`` port types (no outputs)."""

    def infer(
        inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
    ) -> dict[str, PortInfo]:
        info = inputs.get("in")
        if isinstance(info, PortInfo):
            check_port_type(info.type, allowed, ctx)
        return {}

    infer.__doc__ = f"No outputs; the input is one of {', '.join(allowed)}."
    return infer


def write_error(path: str, error: BaseException, ctx: NodeContext) -> ParamError:
    """The ParamError on ``path`` for a failed write of the file finally at ``path``.

    A full disk (errno ENOSPC, whether from Python or from libsndfile's own
    ``write``, whose "System error." alone names neither) says so.
    """
    from soundfile import _ffi

    final = ctx.final_path(path)
    code = getattr(error, "errno", None)
    if code is None and type(error).__name__ == "LibsndfileError":
        code = _ffi.errno  # errno of libsndfile's failed write(2)
    fallback = getattr(error, "error_string", None) or str(error) or type(error).__name__
    reason = os_error_reason(code, fallback)
    return ctx.param_error("path", f"cannot write {final}: {reason.rstrip('.')}")


@contextmanager
def writing(path: str, ctx: NodeContext) -> Iterator[None]:
    """Map a failed write of ``path`` (OSError, libsndfile error) to :func:`write_error`."""
    import soundfile

    try:
        yield
    except (OSError, soundfile.SoundFileError, RuntimeError) as error:
        raise write_error(path, error, ctx) from error


def open_wav(path: str, rate: float, channels: int, subtype: str, container: str = "WAV") -> Any:
    """A soundfile opened for writing, without the PEAK chunk (so the bytes are reproducible)."""
    import soundfile
    from soundfile import _ffi, _snd

    handle = soundfile.SoundFile(
        path, "w", samplerate=round(rate), channels=channels, subtype=subtype, format=container
    )
    _snd.sf_command(handle._file, _SFC_SET_ADD_PEAK_CHUNK, _ffi.NULL, 0)
    return handle


def _interleave_pcm16(block: np.ndarray, out: np.ndarray) -> tuple[int, int]:
    """:func:`nodes.sink._kernels.interleave_pcm16` in numpy: the same integers and counts."""
    scaled = np.empty((out.shape[1], out.shape[0]), dtype=np.float32)
    nonfinite, clipped = _interleave_for_file(block, scaled.T, True)
    np.multiply(scaled, np.float32(2.0**31), out=scaled)
    np.rint(scaled, out=scaled)
    np.multiply(scaled, np.float32(2.0**-16), out=scaled)
    np.floor(scaled, out=scaled)
    np.minimum(scaled, np.float32(32767.0), out=scaled)
    np.copyto(out.T, scaled, casting="unsafe")
    return nonfinite, clipped


def _interleave_for_file(block: np.ndarray, out: np.ndarray, clip: bool) -> tuple[int, int]:
    """:func:`nodes.sink._kernels.interleave_for_file` in numpy: the same samples and counts."""
    view = out.T  # (channels, n), writing into out
    finite = np.isfinite(block)
    nonfinite = block.size - int(np.count_nonzero(finite))
    if nonfinite:
        np.copyto(view, 0.0)
        np.copyto(view, block, where=finite)
    else:
        np.copyto(view, block)
    clipped = 0
    if clip:
        clipped = int(np.count_nonzero(view > 1.0)) + int(np.count_nonzero(view < -1.0))
        if clipped:
            np.clip(view, -1.0, 1.0, out=view)
    return nonfinite, clipped


@node("sink.wav", version=1)
class Wav(BlockSink):
    """Write audio to a WAV file.

    ``subtype`` is the sample format: ``PCM_16`` or ``PCM_24`` (integer; full
    scale is [-1, 1]) or ``FLOAT`` (32-bit IEEE float, which keeps samples
    beyond full scale). For the integer formats samples outside [-1, 1] are
    clipped, with a warning saying how many. NaN or infinite samples are
    written as 0, also with a warning. The file's rate is the audio's sample
    rate rounded to whole Hz; data beyond the 4 GiB limit of a RIFF WAV is
    written as RF64 (a WAV with 64-bit sizes). Files are written without a
    PEAK chunk (its timestamp would differ on every render), so the same
    samples give the same bytes; a failed write (a full disk) is an error
    on ``path`` naming the file. Blocks are made ready for the file (NaN
    check, clipping, interleaving) by one numba pass
    (``nodes/sink/_kernels.py``), which beats numpy's four, when numba is
    loaded for other nodes; otherwise by numpy, which gives the same samples
    without numba's start-up. PCM_16 samples are converted to integers in
    that pass exactly as libsndfile converts them (the same bytes), in a
    third of its time.

    With ``chunk_s`` set, the audio is also written as numbered files of
    ``round(chunk_s * rate)`` frames beside ``path`` (``take.wav`` gives
    ``take_001.wav``, ``take_002.wav``, ...; the last one holds what is left),
    cut at the same frames as ``split`` cuts; all files are committed together
    when the run succeeds.

    Example
    -------
        out = {in = "mix", path = "out/mix.wav", subtype = "PCM_24"}
    """

    path: OutputPath = param(suffix=".wav", description="the WAV file to write")
    subtype: str = param("PCM_16", choices=WAV_SUBTYPES, description="sample format")
    chunk_s: float | None = param(
        None,
        unit="s",
        range=(0, None),
        description="also write numbered files of this length beside path: <stem>_001.wav, ...",
    )

    def prepare(self, spec: StreamSpec) -> None:
        self._channels = spec.channels
        self._frames = spec.frames
        self._rate = spec.sample_rate_hz
        self._chunk = None if self.chunk_s is None else round(self.chunk_s * spec.sample_rate_hz)
        if self._chunk is not None and self._chunk < 1:
            message = f"{self.chunk_s:g} s is shorter than one sample at {self._rate:g} Hz"
            raise self.param_error("chunk_s", message)

    def reset(self) -> None:
        self._file: Any = None
        self._clipped = self._nonfinite = 0
        self._position = 0
        self._chunk_file: Any = None
        self._chunk_index = -1

    def start(self) -> None:
        data_bytes = self._channels * self._frames * _BYTES_PER_SAMPLE[self.subtype]
        self._container = "RF64" if data_bytes > _WAV_MAX_DATA_BYTES else "WAV"
        with writing(self.path, self.ctx):
            self._file = self._open(self.path)

    def _open(self, path: str, chunk: bool = False) -> Any:
        """The sound file at ``path`` opened for writing (a chunk file: always a plain WAV)."""
        container = "WAV" if chunk else self._container
        return open_wav(path, self._rate, self._channels, self.subtype, container)

    def _clips(self) -> bool:
        """Whether samples beyond full scale are clipped (integer formats)."""
        return self.subtype != "FLOAT"

    def process(self, block: np.ndarray) -> None:
        with writing(self.path, self.ctx):
            self._write(block)

    def _write(self, block: np.ndarray) -> None:
        """Convert and write one block (channels, n), and its share of the chunk files."""
        pcm16 = self.subtype == "PCM_16"  # converted here: libsndfile's own pass is slower
        if "numba" in sys.modules:  # loaded for other nodes: the one-pass kernels are free
            from nodes.sink._kernels import interleave_for_file, interleave_pcm16
        else:  # numba's start-up would cost more than the kernels save
            interleave_for_file, interleave_pcm16 = _interleave_for_file, _interleave_pcm16
        for start in range(0, block.shape[1], _CHUNK):
            part = block[:, start : start + _CHUNK]
            shape = (part.shape[1], part.shape[0])
            if pcm16:
                frames = np.empty(shape, dtype=np.int16)
                nonfinite, clipped = interleave_pcm16(part, frames)
            else:
                frames = np.empty(shape, dtype=np.float32)
                nonfinite, clipped = interleave_for_file(part, frames, self._clips())
            self._nonfinite += nonfinite
            self._clipped += clipped
            self._file.write(frames)
            if self._chunk is not None:
                self._write_chunks(frames)
            self._position += frames.shape[0]

    def _write_chunks(self, frames: np.ndarray) -> None:
        """Route frames (frames, channels) into the numbered chunk files they belong to."""
        from nodes.signal.arrange import chunk_bounds

        bounds = chunk_bounds(self._frames, self._chunk)
        digits = max(3, len(str(len(bounds))))
        done = 0
        while done < frames.shape[0]:
            position = self._position + done
            index = position // self._chunk
            if index != self._chunk_index:
                if self._chunk_file is not None:
                    self._chunk_file.close()
                final = Path(self.ctx.final_path(self.path))
                name = final.with_name(f"{final.stem}_{index + 1:0{digits}d}{final.suffix}")
                self._chunk_file = self._open(self.ctx.output_path(str(name)), chunk=True)
                self._chunk_index = index
            stop = min(frames.shape[0], bounds[index][1] - self._position)
            self._chunk_file.write(frames[done:stop])
            done = stop

    def finish(self) -> None:
        with writing(self.path, self.ctx):  # closing writes the header's final sizes
            self._file.close()
            self._file = None
            if self._chunk_file is not None:
                self._chunk_file.close()
                self._chunk_file = None
        ctx, total = self.ctx, self._channels * self._frames
        if round(self._rate) != self._rate:
            rounded = round(self._rate)
            stores = f"{self._format_name()} stores whole Hz"
            ctx.warn(f"sample rate {self._rate:g} Hz written as {rounded} Hz ({stores})")
        if self._container == "RF64":
            size = total * _BYTES_PER_SAMPLE[self.subtype] / 2**30
            ctx.warn(f"{size:.1f} GiB of samples: written as RF64, WAV's 64-bit form")
        if self._nonfinite:
            ctx.warn(
                f"{self._nonfinite} of {total} samples were NaN or infinite and were written as 0"
            )
        if self._clipped:
            ctx.warn(
                f"{self._clipped} of {total} samples ({100.0 * self._clipped / total:.3g}%) were "
                f"beyond full scale and were clipped to [-1, 1] for {self.subtype}"
            )

    def _format_name(self) -> str:
        return "WAV"

    def abort(self) -> None:
        for handle in (self._file, self._chunk_file):
            if handle is not None:
                with suppress(OSError, RuntimeError):  # e.g. the full disk that failed the run
                    handle.close()
        self._file = self._chunk_file = None


wav = Wav

FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}
"""File extension -> the container soundfile (libsndfile) writes."""
FORMAT_SUBTYPES = {
    "WAV": ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"),
    "FLAC": ("PCM_16", "PCM_24", "PCM_S8"),
    "OGG": ("VORBIS", "OPUS"),
    "MP3": ("MPEG_LAYER_III",),
}
"""The sample formats libsndfile writes into each container (FLAC: integers; MP3: Layer III)."""
DEFAULT_SUBTYPES = {"WAV": "PCM_16", "FLAC": "PCM_24", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}
AUDIO_SUBTYPES = tuple(dict.fromkeys(t for types in FORMAT_SUBTYPES.values() for t in types))
_RATES = {
    "MPEG_LAYER_III": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
    "OPUS": (8000, 12000, 16000, 24000, 48000),
}
_MAX_CHANNELS = {"MPEG_LAYER_III": 2, "FLAC": 8, "VORBIS": 255, "OPUS": 255}
_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")
_MP3_MAX_COMPRESSION = 0.99
"""libsndfile 1.2 refuses an MP3 compression level of exactly 1; 0.99 gives nearly the same."""


@node("sink.audio", version=1)
class AudioFile(Wav):
    """Write audio to a WAV, FLAC, Ogg (Vorbis or Opus) or MP3 file, chosen by the extension.

    ``path`` ends in ``.wav``, ``.flac``, ``.ogg`` or ``.mp3``; ``subtype``
    is the sample format, one the container holds: WAV ``PCM_16``,
    ``PCM_24``, ``PCM_32``, ``FLOAT``, ``DOUBLE``; FLAC ``PCM_16``,
    ``PCM_24``, ``PCM_S8`` (lossless, integer); Ogg ``VORBIS`` or ``OPUS``
    (lossy; Opus only at 8, 12, 16, 24 or 48 kHz); MP3 ``MPEG_LAYER_III``
    (lossy, 1 or 2 channels, rates of 8 to 48 kHz). Unset, it is the
    container's usual one: PCM_16, PCM_24, VORBIS, MPEG_LAYER_III.
    ``compression`` in [0, 1] is libsndfile's compression level: for FLAC
    the effort (the samples stay exact), for Vorbis, Opus and MP3 how much
    quality is traded for size (0: best quality, biggest file; MP3 stops at
    0.99, libsndfile refuses 1); unset, the library's default. Samples
    beyond full scale are clipped (with a warning) except in the float WAV
    formats; NaN or infinite samples are written as 0, with a warning.
    Files are written through soundfile (libsndfile) block by block, to a
    temporary file renamed into place when the run succeeds. WAV, FLAC and
    MP3 bytes depend only on the samples; an Ogg file's stream serial
    number is drawn at random by libsndfile, so two renders of it decode
    to the same samples but differ in bytes. ``chunk_s`` writes numbered
    pieces beside ``path`` as ``sink.wav`` does, in the same format. For
    the WAV-only node, whose suffix is checked at declaration, see
    ``sink.wav``.

    Example
    -------
        out = {in = "mix", path = "out/mix.flac", subtype = "PCM_24"}
    """

    path: OutputPath = param(description="the file to write: .wav, .flac, .ogg or .mp3")
    subtype: str | None = param(
        None, choices=AUDIO_SUBTYPES, description="sample format; unset: the container's usual"
    )
    compression: float | None = param(
        None, range=(0.0, 1.0), description="libsndfile's compression level; unset: its default"
    )

    def prepare(self, spec: StreamSpec) -> None:
        suffix = Path(self.path).suffix.lower()
        if suffix not in FORMATS:
            known = ", ".join(FORMATS)
            name = Path(self.ctx.final_path(self.path)).name
            raise self.param_error("path", f"{name!r}: sink.audio writes {known} files")
        self._format = FORMATS[suffix]
        allowed = FORMAT_SUBTYPES[self._format]
        if self.subtype is None:
            self.subtype = DEFAULT_SUBTYPES[self._format]
        elif self.subtype not in allowed:
            message = f"{self._format} holds {', '.join(allowed)}, not {self.subtype}"
            raise self.param_error("subtype", message)
        rates = _RATES.get(self.subtype)
        if rates is not None and round(spec.sample_rate_hz) not in rates:
            listed = ", ".join(f"{r:g}" for r in rates)
            message = (
                f"{self.subtype} stores only {listed} Hz, the audio is "
                f"{spec.sample_rate_hz:g} Hz: put a signal.resample node before it"
            )
            raise self.port_error("in", message)
        most = _MAX_CHANNELS.get(self.subtype, _MAX_CHANNELS.get(self._format))
        if most is not None and spec.channels > most:
            message = f"{self.subtype} holds at most {most} channels, the audio has {spec.channels}"
            raise self.port_error("in", message)
        super().prepare(spec)

    def start(self) -> None:
        self._container = self._format
        if self._format == "WAV":
            data_bytes = self._channels * self._frames * _BYTES_PER_SAMPLE[self.subtype]
            self._container = "RF64" if data_bytes > _WAV_MAX_DATA_BYTES else "WAV"
        with writing(self.path, self.ctx):
            self._file = self._open(self.path)

    def _open(self, path: str, chunk: bool = False) -> Any:
        import soundfile

        if self._format == "WAV":
            container = "WAV" if chunk else self._container
            return open_wav(path, self._rate, self._channels, self.subtype, container)
        extra = {}
        if self.compression is not None:
            top = _MP3_MAX_COMPRESSION if self._format == "MP3" else 1.0
            extra["compression_level"] = min(self.compression, top)
        return soundfile.SoundFile(
            path,
            "w",
            samplerate=round(self._rate),
            channels=self._channels,
            subtype=self.subtype,
            format=self._format,
            **extra,
        )

    def _clips(self) -> bool:
        return self.subtype not in _FLOAT_SUBTYPES

    def _format_name(self) -> str:
        return self._format


audio_file = AudioFile


@node("sink.npy", version=1)
def npy(
    in_: Value,
    *,
    path: OutputPath = param(suffix=".npy", description="the NumPy file to write"),
    ctx: NodeContext,
) -> None:
    """Write the main array of any value to a NumPy ``.npy`` file.

    Accepts every port type and writes its primary array as it is: audio
    samples (channels, frames) float32, a spectrum's complex STFT, feature
    values, a vector, image pixels, note onsets, frequencies or probabilities.
    The file is written without pickle, so ``numpy.load(path)`` reads it with
    its default ``allow_pickle=False``.

    Example
    -------
        dump = {in = "src", path = "out/src.npy"}
    """
    with writing(path, ctx), open(path, "wb") as handle:  # np.save would append .npy to a name
        np.save(handle, in_.primary, allow_pickle=False)
