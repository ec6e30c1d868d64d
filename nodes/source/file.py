"""source.file: read an audio file, resampled to the graph's rate, in blocks."""

from __future__ import annotations

import functools
import os
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np

from graphengine.blocknode import BlockSource, StreamSpec
from graphengine.errors import ParamError
from graphengine.node import InputPath, NodeContext, node, param
from nodes.signal.resample import resampled_frames

# --------------------------------------------------------------------------- file


def _unreadable(path: str, reason: str | Exception, ctx: NodeContext) -> ParamError:
    """The ParamError on ``path`` for a file that cannot be read, saying why."""
    if isinstance(reason, Exception):  # libsndfile's own words, without the path it repeats
        reason = getattr(reason, "error_string", None) or str(reason)
    reason = reason.strip().rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    message = f"cannot read audio file {Path(path).name!r}: {reason}"
    return ctx.param_error("path", message)


def _file_info(path: str, ctx: NodeContext) -> Any:
    """``soundfile.info`` of ``path``, or a ParamError on ``path`` saying why not."""
    import soundfile

    if not Path(path).exists():
        raise _unreadable(path, "no such file", ctx)
    if not Path(path).is_file():
        raise _unreadable(path, "not a file", ctx)
    noise = DecoderNoise()  # dropped: file_length reports what the decoder says on opening
    try:
        with noise:
            return soundfile.info(path)
    except (soundfile.SoundFileError, RuntimeError, OSError) as error:
        raise _unreadable(path, error, ctx) from error
    finally:
        noise.close()


class DecoderNoise:
    """What C code (libmpg123, libvorbis) writes to file descriptor 2 while entered.

    Those libraries print notes ("Xing stream size off by more than 1%") to the
    process's stderr themselves; inside ``with noise:`` they go to a temporary
    file instead, and :meth:`take` returns them as lines, for the node's
    warnings. Output of other threads to fd 2 in that window is taken too.
    """

    def __init__(self) -> None:
        self._sink: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._saved = -1

    def __enter__(self) -> DecoderNoise:
        sys.stderr.flush()
        self._saved = os.dup(2)
        os.dup2(self._sink.fileno(), 2)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)

    def take(self) -> list[str]:
        """The lines written since the last call, stripped, blank ones left out."""
        self._sink.seek(0)
        text = self._sink.read().decode("utf-8", "replace")
        self._sink.seek(0)
        self._sink.truncate()
        return [line.strip() for line in text.splitlines() if line.strip()]

    def close(self) -> None:
        self._sink.close()


def read_frames(handle: Any, frames: int) -> tuple[np.ndarray, str | None]:
    """Up to ``frames`` float32 frames (frames, channels) from an open SoundFile.

    Calls libsndfile directly: soundfile's ``read`` seeks after each read, which
    fails on a truncated FLAC file and loses the frames just decoded. Fewer
    frames than asked mean the end of the data; the second item is then the
    decoder's complaint ("flac decoder lost sync"), or None for a clean end.
    """
    return read_into(handle, np.empty((frames, handle.channels), dtype=np.float32))


def read_into(handle: Any, out: np.ndarray) -> tuple[np.ndarray, str | None]:
    """:func:`read_frames` into ``out`` (frames, channels), float32 or int16.

    Into int16 a PCM_16 file's samples come as they are stored (libsndfile
    converts nothing). Returns the part filled and the decoder's complaint.
    """
    from soundfile import _ffi, _snd

    frames = out.shape[0]
    if out.dtype == np.int16:
        got = _snd.sf_readf_short(handle._file, _ffi.cast("short *", out.ctypes.data), frames)
    else:
        got = _snd.sf_readf_float(handle._file, _ffi.cast("float *", out.ctypes.data), frames)
    got = max(int(got), 0)
    complaint = None
    if got < frames and _snd.sf_error(handle._file):
        complaint = _ffi.string(_snd.sf_strerror(handle._file)).decode("utf-8", "replace")
    return out[:got], complaint


_COUNTED_BY_SIZE = frozenset({"WAV", "WAVEX", "RF64", "W64", "AIFF", "AU", "CAF", "IRCAM", "NIST"})
_UNCOMPRESSED = frozenset(
    {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"}
)


@dataclass(frozen=True)
class FileLength:
    """A file's length in frames at its own rate.

    Attributes
    ----------
    frames : int
        What the decoder delivers, read to the end (the node's output length).
    header : int
        What the file's header says (a WAV's data chunk, an AIFF's COMM chunk,
        else libsndfile's count, an estimate for an MP3 without a Xing header).
    notes : tuple of str
        The decoder's own messages while counting (stderr lines, an error at the end).
    """

    frames: int
    header: int
    notes: tuple[str, ...] = ()


def _chunk_header_frames(path: str) -> int | None:
    """Frames a RIFF WAV's ``data`` chunk or an AIFF's ``COMM`` chunk claims; None if neither."""
    with open(path, "rb") as handle:
        head = handle.read(12)
        riff = head[:4] == b"RIFF" and head[8:12] == b"WAVE"
        if not riff and not (head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC")):
            return None
        align = 0
        while len(chunk := handle.read(8)) == 8:
            kind, size = chunk[:4], struct.unpack("<I" if riff else ">I", chunk[4:])[0]
            body = handle.read(min(size, 14)) if kind in (b"fmt ", b"COMM") else b""
            if kind == b"COMM" and len(body) >= 6:
                return struct.unpack(">I", body[2:6])[0]
            if kind == b"fmt " and len(body) >= 14:
                align = struct.unpack("<H", body[12:14])[0]
            if kind == b"data":  # 0 and 0xFFFFFFFF: a stream's placeholder, no count
                return size // align if align and size not in (0, 0xFFFFFFFF) else None
            handle.seek(size + (size & 1) - len(body), os.SEEK_CUR)
    return None


def _ogg_streams(path: str) -> int:
    """How many logical streams begin in an Ogg file (pages flagged "beginning of stream").

    More than one in an audio file means a chained Ogg (files joined end to
    end), of which libsndfile decodes only the first.
    """
    streams = 0
    with open(path, "rb") as handle:
        while len(head := handle.read(27)) == 27 and head[:4] == b"OggS":
            streams += head[5] & 2 == 2
            body = sum(handle.read(head[26]))  # the segment table: lacing values
            handle.seek(body, os.SEEK_CUR)
    return streams


def _count_frames(path: str) -> tuple[int, tuple[str, ...]]:
    """Frames the decoder delivers for ``path``, read to the end, and what it said."""
    import soundfile

    noise = DecoderNoise()
    notes: list[str] = []
    total = 0
    try:
        with noise, soundfile.SoundFile(path) as handle:
            while True:
                data, complaint = read_frames(handle, 1 << 16)
                total += data.shape[0]
                if data.shape[0] < 1 << 16:
                    notes.extend([complaint] if complaint else [])
                    break
        notes[:0] = noise.take()
    finally:
        noise.close()
    return total, tuple(notes)


@functools.lru_cache(maxsize=64)
def _length_of(path: str, size: int, mtime_ns: int) -> FileLength:
    """:func:`file_length` for one version of a file (its size and time name the version)."""
    import soundfile

    noise = DecoderNoise()
    try:
        with noise:
            info = soundfile.info(path)
        opening = tuple(noise.take())
    finally:
        noise.close()
    header = _chunk_header_frames(path) if info.format in _COUNTED_BY_SIZE else None
    header = info.frames if header is None else header
    if info.format in _COUNTED_BY_SIZE and info.subtype in _UNCOMPRESSED:
        return FileLength(info.frames, header, opening)  # libsndfile counts what the bytes hold
    frames, notes = _count_frames(path)
    if frames == 0 and header > 0 and notes:
        raise soundfile.SoundFileError(f"the decoder delivered no frame ({'; '.join(notes)})")
    if info.format == "OGG" and (streams := _ogg_streams(path)) > 1:
        first = f"{streams} Ogg streams joined end to end: only the first, {frames} frames, is read"
        notes = (first, *notes)
    return FileLength(frames, header, opening + notes)


def file_length(path: str, ctx: NodeContext) -> FileLength:
    """The frames ``path`` holds: what its decoder delivers, beside what its header says.

    Uncompressed WAV, AIFF, ... are counted from their size (libsndfile's
    count); compressed files (MP3, Ogg, FLAC, ...) are decoded to the end once
    per version of the file (remembered by path, size and modification time).
    """
    import soundfile

    _file_info(path, ctx)
    stat = os.stat(path)
    try:
        return _length_of(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    except (soundfile.SoundFileError, RuntimeError, OSError) as error:
        raise _unreadable(path, error, ctx) from error


def _length_warning(path: str, length: FileLength) -> str | None:
    """The warning for a file whose decoded length is not what its header says, or None."""
    if length.frames == length.header:
        return None
    kind = "fewer" if length.frames < length.header else "more"
    return (
        f"{Path(path).name!r} holds {length.frames} frames, {kind} than the {length.header} "
        f"its header says; read as {length.frames} frames"
    )


@node("source.file", version=1)
class AudioFile(BlockSource):
    """Read an audio file and convert it to the graph's sample rate.

    Reads any format libsndfile reads (WAV, FLAC, OGG/Vorbis, MP3, AIFF, ...)
    as float32 full scale [-1, 1]; integer formats are scaled, float files are
    passed through unchanged. ``mono = true`` mixes the channels down to
    their mean. A file at another rate is resampled with soxr at very high
    quality (VHQ); its length becomes ``round(frames * graph_rate / file_rate)``
    (half up).

    ``frames`` is what the decoder delivers read to the end, never padded or
    cut to the header's count: validation decodes a compressed file once to
    count them (uncompressed ones are counted from their size). A file that
    holds fewer (a truncated WAV) or more frames than its header says (an
    MP3 without a Xing header, whose count is an estimate) is read as it is,
    with a warning giving both numbers; so is a chained Ogg (files joined end
    to end), of which libsndfile decodes only the first. What the decoder prints (libmpg123's
    notes) becomes warnings of the node, not lines on stderr.

    Example
    -------
        src = {path = "drums.wav", mono = true}
    """

    path: InputPath = param(description="audio file to read (WAV, FLAC, OGG, MP3, ...)")
    mono: bool = param(False, description="mix all channels down to one (their mean)")

    def output_frames(self, input_frames: tuple[int, ...]) -> int:
        info = _file_info(self.path, self.ctx)
        frames = file_length(self.path, self.ctx).frames
        return resampled_frames(frames, info.samplerate, self.ctx.sample_rate)

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        return 1 if self.mono else _file_info(self.path, self.ctx).channels

    def prepare(self, spec: StreamSpec) -> None:
        self._info = _file_info(self.path, self.ctx)
        self._length = file_length(self.path, self.ctx)
        self._rate = spec.sample_rate_hz
        self._channels = 1 if self.mono else self._info.channels

    def reset(self) -> None:
        self._file: Any = None
        self._noise: DecoderNoise | None = None
        self._resampler: Any = None
        self._pending = np.zeros((0, self._channels), dtype=np.float32)
        self._read = 0  # frames taken from the file, up to self._length.frames
        self._said: set[str] = set()
        self._buffer: np.ndarray | None = None
        # libsndfile's own readers of uncompressed files print nothing to stderr
        self._quiet = self._info.format in _COUNTED_BY_SIZE and self._info.subtype in _UNCOMPRESSED

    def start(self) -> None:
        import soundfile

        self._say(_length_warning(self.path, self._length))
        for note in self._length.notes:
            self._say(f"decoding {Path(self.path).name!r}: {note}")
        self._noise = DecoderNoise()
        try:
            with self._noise:
                self._file = soundfile.SoundFile(self.path)
        except (soundfile.SoundFileError, RuntimeError, OSError) as error:
            raise _unreadable(self.path, error, self.ctx) from error
        finally:
            self._say_noise()
        if self._info.samplerate != self._rate and self._length.frames > 0:
            import soxr

            self._resampler = soxr.ResampleStream(
                self._info.samplerate, self._rate, self._channels, dtype="float32", quality="VHQ"
            )

    def _say(self, note: str | None) -> None:
        """Warn ``note`` once per run (a decoder repeats itself block after block)."""
        if note and note not in self._said:
            self._said.add(note)
            self.ctx.warn(note)

    def _say_noise(self) -> None:
        if self._noise is not None:
            for line in self._noise.take():
                self._say(f"decoding {Path(self.path).name!r}: {line}")

    def process(self, frames: int) -> np.ndarray:
        if self._resampler is None and self._channels == self._info.channels:
            return self._read_block(frames)
        while self._pending.shape[0] < frames and self._read < self._length.frames:
            self._pending = np.concatenate([self._pending, self._next_chunk(max(frames, 1 << 14))])
        out = np.zeros((self._channels, frames), dtype=np.float32)
        n = min(frames, self._pending.shape[0])
        out[:, :n] = self._pending[:n].T
        self._pending = self._pending[n:]
        return out

    def _read_block(self, frames: int) -> np.ndarray:
        """One block read straight from the file: its one conversion, into the (channels, n) block.

        A PCM_16 file is read as integers and scaled by 2**-15 here (exactly
        libsndfile's conversion, fused with the interleaved-to-planar copy);
        any other is converted to float32 by libsndfile and copied once.
        """
        out = np.empty((self._channels, frames), dtype=np.float32)
        want = min(frames, self._length.frames - self._read)
        got = 0
        if want > 0:
            if self._buffer is None or self._buffer.shape[0] < want:
                dtype = np.int16 if self._info.subtype == "PCM_16" else np.float32
                self._buffer = np.empty((max(want, frames), self._channels), dtype=dtype)
            if self._quiet:
                data, _ = read_into(self._file, self._buffer[:want])
            else:
                assert self._noise is not None
                with self._noise:
                    data, _ = read_into(self._file, self._buffer[:want])
                self._say_noise()
            got = data.shape[0]
            if data.dtype == np.int16:
                np.multiply(data.T, np.float32(2.0**-15), out=out[:, :got])
            else:
                np.copyto(out[:, :got], data.T)
            if got < want:  # the file changed since it was counted
                name = Path(self.path).name
                self._say(f"{name!r} ended {want - got} frames early while read; padded")
            self._read += want
        out[:, got:] = 0.0
        return out

    def _next_chunk(self, size: int) -> np.ndarray:
        want = min(size, self._length.frames - self._read)
        assert self._noise is not None
        with self._noise:
            data, _ = read_frames(self._file, want)
        self._say_noise()
        if data.shape[0] < want:  # the file changed since it was counted
            name = Path(self.path).name
            self._say(f"{name!r} ended {want - data.shape[0]} frames early while read; padded")
            data = np.concatenate(
                [data, np.zeros((want - data.shape[0], data.shape[1]), np.float32)]
            )
        self._read += want
        if self.mono and data.shape[1] > 1:
            data = data.mean(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
        if self._resampler is not None:
            last = self._read >= self._length.frames
            data = self._resampler.resample_chunk(np.ascontiguousarray(data), last=last)
        return data

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._noise is not None:
            self._noise.close()
            self._noise = None


audio_file = AudioFile
