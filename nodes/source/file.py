"""source.file: read an audio file, resampled to the graph's rate, in blocks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.blocknode import BlockSource, StreamSpec
from graphengine.errors import ParamError
from graphengine.node import InputPath, NodeContext, PortInfo, node, param
from nodes.signal.resample import resampled_frames
from nodes.source.generators import _audio_info

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
    try:
        return soundfile.info(path)
    except (soundfile.SoundFileError, RuntimeError, OSError) as error:
        raise _unreadable(path, error, ctx) from error


def infer_file(
    inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
) -> dict[str, PortInfo]:
    """Channels and frames from the file's header, frames converted to the graph rate."""
    info = _file_info(params["path"], ctx)
    channels = 1 if params["mono"] else info.channels
    frames = resampled_frames(info.frames, info.samplerate, ctx.sample_rate)
    return _audio_info(channels, frames, ctx)


@node("source.file", version=1, infer=infer_file)
class AudioFile(BlockSource):
    """Read an audio file and convert it to the graph's sample rate.

    Reads any format libsndfile reads (WAV, FLAC, OGG/Vorbis, AIFF, ...) as
    float32 full scale [-1, 1]; integer formats are scaled, float files are
    passed through unchanged. ``mono = true`` mixes the channels down to
    their mean. A file at another rate is resampled with soxr at very high
    quality (VHQ); its length becomes ``round(frames * graph_rate / file_rate)``
    (half up), which validation predicts from the file's header.

    Example
    -------
        [nodes.src]
        type = "source.file"
        path = "drums.wav"
        mono = true
    """

    path: InputPath = param(description="audio file to read (WAV, FLAC, OGG, ...)")
    mono: bool = param(False, description="mix all channels down to one (their mean)")

    def output_frames(self, input_frames: tuple[int, ...]) -> int:
        info = _file_info(self.path, self.ctx)
        return resampled_frames(info.frames, info.samplerate, self.ctx.sample_rate)

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        return 1 if self.mono else _file_info(self.path, self.ctx).channels

    def prepare(self, spec: StreamSpec) -> None:
        self._info = _file_info(self.path, self.ctx)
        self._rate = spec.sample_rate_hz
        self._channels = 1 if self.mono else self._info.channels

    def reset(self) -> None:
        self._file: Any = None
        self._resampler: Any = None
        self._pending = np.zeros((0, self._channels), dtype=np.float32)
        self._read = 0  # frames taken from the file, up to what its header promises
        self._short_warned = False

    def start(self) -> None:
        import soundfile

        try:
            self._file = soundfile.SoundFile(self.path)
        except (soundfile.SoundFileError, RuntimeError, OSError) as error:
            raise _unreadable(self.path, error, self.ctx) from error
        if self._info.samplerate != self._rate and self._info.frames > 0:
            import soxr

            self._resampler = soxr.ResampleStream(
                self._info.samplerate, self._rate, self._channels, dtype="float32", quality="VHQ"
            )

    def process(self, frames: int) -> np.ndarray:
        while self._pending.shape[0] < frames and self._read < self._info.frames:
            self._pending = np.concatenate([self._pending, self._next_chunk(max(frames, 1 << 14))])
        out = np.zeros((self._channels, frames), dtype=np.float32)
        n = min(frames, self._pending.shape[0])
        out[:, :n] = self._pending[:n].T
        self._pending = self._pending[n:]
        return out

    def _next_chunk(self, size: int) -> np.ndarray:
        import soundfile

        want = min(size, self._info.frames - self._read)
        try:
            data = self._file.read(want, dtype="float32", always_2d=True)
        except (soundfile.SoundFileError, RuntimeError, OSError) as error:
            raise _unreadable(self.path, error, self.ctx) from error
        if data.shape[0] < want:  # a header that promises more than the file holds
            if not self._short_warned:
                name = Path(self.path).name
                self.ctx.warn(f"{name!r} holds fewer frames than its header says; padded")
                self._short_warned = True
            data = np.concatenate(
                [data, np.zeros((want - data.shape[0], data.shape[1]), np.float32)]
            )
        self._read += want
        if self.mono and data.shape[1] > 1:
            data = data.mean(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
        if self._resampler is not None:
            last = self._read >= self._info.frames
            data = self._resampler.resample_chunk(np.ascontiguousarray(data), last=last)
        return data

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


audio_file = AudioFile
