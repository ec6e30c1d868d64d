"""Reverb: an algorithmic Freeverb tank, or convolution with a measured impulse response.

``effect.reverb`` (Freeverb) and ``effect.convolution_reverb`` both stream:
Freeverb keeps its comb and allpass delay lines as state arrays updated by a
numba kernel, and convolution keeps partitioned overlap-save state (the last
input frames, a delay line of their spectra and the later stages' pending
output), so a run in blocks of any size gives the samples of one
whole-signal pass. They are two node types rather than one with a mode
so that the impulse-response file is a required parameter of the one that
reads it (checked readable and content-hashed into the cache key).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.blocknode import BlockEffect, StreamSpec
from graphengine.errors import ParamError
from graphengine.node import InputPath, NodeContext, node, param

# Freeverb's tuning at 44.1 kHz (Jezar at Dreampoint, public domain, 2000)
_COMB_TUNING = (1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617)
_ALLPASS_TUNING = (556, 441, 341, 225)
_STEREO_SPREAD = 23
_FIXED_GAIN = 0.015
_SCALE_ROOM, _OFFSET_ROOM = 0.28, 0.7
_SCALE_DAMP = 0.4
_ALLPASS_FEEDBACK = 0.5
_WET_SCALE = 3.0 / 2.0
"""Freeverb's wet gain (scalewet 3 at its default wet 1/3 = 1) per tank, for a mono sum / 2."""


def _ir_info(path: str, ctx: NodeContext) -> Any:
    import soundfile

    def bad(reason: str) -> ParamError:
        message = f"cannot read impulse response {Path(path).name!r}: {reason}"
        return ctx.param_error("ir_path", message)

    if not Path(path).is_file():
        raise bad("no such file")
    try:
        info = soundfile.info(path)
    except (soundfile.SoundFileError, RuntimeError, OSError) as error:
        raise bad(str(getattr(error, "error_string", None) or error).strip()) from error
    if info.frames < 1:
        raise bad("it holds no samples")
    return info


MIN_PARTITION = 64
"""Frames of the smallest first partition (blocks of fewer frames share one)."""
MAX_PARTITION = 16384
"""Frames of the largest partition of any stage (2 x 16384-point FFTs)."""
STAGE_GROWTH = 16
"""Each later stage's partitions are this many times longer (up to MAX_PARTITION)."""


@dataclass(frozen=True)
class _StagePlan:
    size: int
    """Frames per partition (the stage's FFT has twice as many points)."""
    offset: int
    """Response frame where the stage's first partition starts."""
    count: int
    """Partitions in the stage."""


def plan_stages(ir_frames: int, block_size: int) -> list[_StagePlan]:
    """Partition a response of ``ir_frames`` for blocks of ``block_size`` frames.

    The first stage's partitions are the block size (clamped to
    [MIN_PARTITION, MAX_PARTITION]); each later stage's are up to
    STAGE_GROWTH times longer (a power-of-two multiple, at most
    MAX_PARTITION, so every segment boundary is one of the first stage's)
    and it starts at its own partition length into the response, so its
    output is due no earlier than the input that completes it: no latency.
    Every stage but the last ends where the next one starts.
    """
    size = min(max(block_size, MIN_PARTITION), MAX_PARTITION)
    stages, offset = [], 0
    while True:
        grown = _grown(size)
        if grown == size or ir_frames <= grown:
            stages.append(_StagePlan(size, offset, max(1, -(-(ir_frames - offset) // size))))
            return stages
        stages.append(_StagePlan(size, offset, (grown - offset) // size))
        size, offset = grown, grown


def _grown(size: int) -> int:
    grown = size
    while grown * 2 <= MAX_PARTITION and grown < size * STAGE_GROWTH:
        grown *= 2
    return grown


class _Stage:
    """One uniformly partitioned overlap-save convolution with its delay line."""

    def __init__(self, plan: _StagePlan, ir: np.ndarray, channels: int) -> None:
        self.size, self.offset = plan.size, plan.offset
        part = np.zeros((ir.shape[0], plan.count * plan.size))
        piece = ir[:, plan.offset : plan.offset + part.shape[1]]
        part[:, : piece.shape[1]] = piece
        padded = np.zeros((plan.count, ir.shape[0], 2 * plan.size))
        padded[:, :, : plan.size] = part.reshape(ir.shape[0], plan.count, plan.size).transpose(
            1, 0, 2
        )
        self.spectra = _rfft(padded, axis=-1)
        bins = plan.size + 1
        self.fdl = np.zeros((plan.count, channels, bins), dtype=np.complex128)
        self.buffer = np.zeros((channels, 2 * plan.size))
        self.sum = np.zeros((max(channels, ir.shape[0]), bins), dtype=np.complex128)
        self.newest = 0
        self.fill = 0

    def reset(self) -> None:
        self.fdl[...] = 0
        self.buffer[...] = 0
        self.newest = self.fill = 0

    def push(self, x: np.ndarray) -> np.ndarray:
        """Spectrum of the buffer after appending ``x``; the segment is full when fill == size."""
        n = self.size
        self.buffer[:, n + self.fill : n + self.fill + x.shape[1]] = x
        self.fill += x.shape[1]
        return _rfft(self.buffer, axis=-1)

    def advance(self, spectrum: np.ndarray) -> None:
        """Store a full segment's spectrum in the delay line and slide the buffer on."""
        self.newest = (self.newest + 1) % self.fdl.shape[0]
        self.fdl[self.newest] = spectrum
        n = self.size
        self.buffer[:, :n] = self.buffer[:, n:]
        self.buffer[:, n:] = 0
        self.fill = 0


class PartitionedConvolver:
    """Streaming convolution with a fixed response: output sample t as soon as input t is in.

    Non-uniform partitioned overlap-save: stage 0 convolves with the
    response's head in partitions of the block size, every input frame
    answered at once (a block shorter than a partition is transformed
    zero-padded: exact, by causality); each later stage takes longer
    partitions further into the response, runs when its own input segment is
    complete and adds its output, due no earlier than that, into a ring.
    """

    def __init__(self, ir: np.ndarray, channels: int, block_size: int) -> None:
        from nodes.effect._reverb_kernels import fdl_mac

        self._mac = fdl_mac  # compiled on first use; numba's cache keeps it across processes
        self.channels = max(channels, ir.shape[0])
        plans = plan_stages(ir.shape[1], block_size)
        self.stages = [_Stage(plan, ir, channels) for plan in plans]
        later = self.stages[1:]
        self.ring = np.zeros(
            (self.channels, max((s.offset for s in later), default=0) + plans[0].size)
        )
        self.time = 0

    def reset(self) -> None:
        for stage in self.stages:
            stage.reset()
        self.ring[...] = 0
        self.time = 0

    def process(self, x: np.ndarray) -> np.ndarray:
        """The wet signal (channels, n) for the next ``n`` input frames ``x`` (in channels, n)."""
        out = np.empty((self.channels, x.shape[1]))
        step = self.stages[0].size
        done = 0
        while done < x.shape[1]:
            n = min(x.shape[1] - done, step - self.time % step)
            chunk = x[:, done : done + n]
            out[:, done : done + n] = self._head(chunk) + self._take_ring(n)
            for stage in self.stages[1:]:
                self._later(stage, chunk)
            self.time += n
            done += n
        return out

    def _head(self, chunk: np.ndarray) -> np.ndarray:
        stage = self.stages[0]
        if stage.fill == 0:  # a new segment: the delay line's part of its output is fixed
            self._mac(stage.fdl, stage.newest, stage.spectra, 1, stage.sum)
        start = stage.size + stage.fill
        spectrum = stage.push(chunk)
        y = _irfft(spectrum * stage.spectra[0] + stage.sum, axis=-1)
        if stage.fill == stage.size:
            stage.advance(spectrum)
        return y[:, start : start + chunk.shape[1]]

    def _later(self, stage: _Stage, chunk: np.ndarray) -> None:
        n = stage.size
        stage.buffer[:, n + stage.fill : n + stage.fill + chunk.shape[1]] = chunk
        stage.fill += chunk.shape[1]
        if stage.fill < n:
            return
        spectrum = _rfft(stage.buffer, axis=-1)
        stage.advance(spectrum)
        self._mac(stage.fdl, stage.newest, stage.spectra, 0, stage.sum)
        y = _irfft(stage.sum, axis=-1)[:, n:]
        self._add_ring(self.time + chunk.shape[1] - n + stage.offset, y)

    def _take_ring(self, n: int) -> np.ndarray | float:
        """The later stages' output for the next ``n`` frames, cleared from the ring."""
        if len(self.stages) == 1:
            return 0.0
        values = np.empty((self.channels, n))
        for ring, part in _ring_parts(self.time, n, self.ring.shape[1]):
            values[:, part] = self.ring[:, ring]
            self.ring[:, ring] = 0
        return values

    def _add_ring(self, start: int, y: np.ndarray) -> None:
        for ring, part in _ring_parts(start, y.shape[1], self.ring.shape[1]):
            self.ring[:, ring] += y[:, part]


def _ring_parts(start: int, n: int, length: int) -> list[tuple[slice, slice]]:
    """(ring slice, data slice) pairs for frames [start, start + n) of a ring of ``length``."""
    head = start % length
    first = min(n, length - head)
    parts = [(slice(head, head + first), slice(0, first))]
    if first < n:
        parts.append((slice(0, n - first), slice(first, n)))
    return parts


def _rfft(x: np.ndarray, axis: int) -> np.ndarray:
    from scipy import fft

    return fft.rfft(x, axis=axis)


def _irfft(x: np.ndarray, axis: int) -> np.ndarray:
    from scipy import fft

    return fft.irfft(x, axis=axis)


class _Reverb(BlockEffect):
    """Parameters and shape shared by both reverbs."""

    mix: float = param(0.3, range=(0, 1), description="wet share: 0 dry only, 1 wet only")
    predelay_ms: float = param(0.0, unit="ms", range=(0, 1000), description="wet signal delay")
    tail_s: float = param(0.0, unit="s", range=(0, 60), description="time added for the tail")

    def output_frames(self, input_frames: tuple[int, ...]) -> int:
        return max(input_frames, default=0) + round(self.tail_s * self.ctx.sample_rate)


@node("effect.reverb", version=1)
class Reverb(_Reverb):
    """Algorithmic reverberation: Freeverb's room of combs and allpasses.

    Jezar's Freeverb: eight parallel feedback combs with a one-pole lowpass in
    each loop (the damping), then four series allpasses, per channel, with
    delay lengths scaled to the sample rate and the second channel's lines 23
    samples (at 44.1 kHz) longer for a decorrelated stereo image.
    ``room_size`` sets the comb feedback (0.7 to 0.98: a longer decay),
    ``damping`` how fast high frequencies die away, ``width`` how much of each
    stereo channel's reverb is its own (1) rather than shared (0). The tank is
    fed the mean of the input channels. ``mix`` blends dry (0) and wet (1)
    signals, ``predelay_ms`` delays the wet signal, and ``tail_s`` appends
    that many seconds so the reverb can ring out (0, the default, keeps the
    input's length). It streams: a run in blocks gives the same samples as a
    run on the whole signal. For a measured space use
    ``effect.convolution_reverb``.

    Example
    -------
        room = {in = "src", room_size = 0.8, mix = 0.3, tail_s = 2.0}
    """

    room_size: float = param(0.5, range=(0, 1), description="decay length")
    damping: float = param(0.5, range=(0, 1), description="high-frequency damping")
    width: float = param(1.0, range=(0, 1), description="stereo width of the reverb")

    def prepare(self, spec: StreamSpec) -> None:
        self._predelay = round(self.predelay_ms * spec.sample_rate_hz / 1000.0)
        scale = spec.sample_rate_hz / 44100.0
        tanks = spec.channels
        comb = np.array(
            [[round((t + _STEREO_SPREAD * c) * scale) for t in _COMB_TUNING] for c in range(tanks)],
            dtype=np.int64,
        )
        allpass = np.array(
            [
                [max(1, round((t + _STEREO_SPREAD * c) * scale)) for t in _ALLPASS_TUNING]
                for c in range(tanks)
            ],
            dtype=np.int64,
        )
        self._comb_len = np.maximum(comb, 1)
        self._ap_len = allpass
        self._comb_buf = np.zeros((tanks, 8, int(self._comb_len.max())), dtype=np.float32)
        self._comb_pos = np.zeros((tanks, 8), dtype=np.int64)
        self._comb_store = np.zeros((tanks, 8), dtype=np.float32)
        self._ap_buf = np.zeros((tanks, 4, int(allpass.max())), dtype=np.float32)
        self._ap_pos = np.zeros((tanks, 4), dtype=np.int64)
        self._tank_out = np.zeros(tanks, dtype=np.float32)
        self._predelay_buf = np.zeros(self._predelay, dtype=np.float32)
        self._predelay_pos = np.zeros(1, dtype=np.int64)
        self._feedback = self.room_size * _SCALE_ROOM + _OFFSET_ROOM
        self._damp = self.damping * _SCALE_DAMP
        wet = self.mix * _WET_SCALE
        if tanks == 2:
            self._wet_direct = wet * (self.width / 2.0 + 0.5)
            self._wet_cross = wet * (1.0 - self.width) / 2.0
        else:
            self._wet_direct, self._wet_cross = wet, 0.0

    def reset(self) -> None:
        for state in (
            self._comb_buf,
            self._comb_pos,
            self._comb_store,
            self._ap_buf,
            self._ap_pos,
            self._predelay_buf,
            self._predelay_pos,
        ):
            state[...] = 0

    def process(self, block: np.ndarray) -> np.ndarray:
        from nodes.effect._reverb_kernels import freeverb_block

        x = np.ascontiguousarray(block, dtype=np.float32)
        out = np.empty_like(x)
        freeverb_block(
            x,
            out,
            self._predelay_buf,
            self._predelay_pos,
            self._comb_buf,
            self._comb_len,
            self._comb_pos,
            self._comb_store,
            self._ap_buf,
            self._ap_len,
            self._ap_pos,
            self._tank_out,
            2.0 * _FIXED_GAIN,
            self._feedback,
            self._damp,
            _ALLPASS_FEEDBACK,
            self._wet_direct,
            self._wet_cross,
            1.0 - self.mix,
        )
        return out


@node("effect.convolution_reverb", version=1)
class ConvolutionReverb(_Reverb):
    """Reverberation by convolution with a measured impulse response from a file.

    Convolves with the impulse response in ``ir_path`` (any file libsndfile
    reads, resampled to the graph's rate with soxr at very high quality). A
    mono response is applied to every channel, one with as many channels as
    the input channel by channel, and a multichannel response on a mono input
    makes one output channel per response channel (mono in, stereo reverb
    out); other channel layouts are an error. With ``normalize_ir = true``
    (the default) each response channel is scaled to unit energy, so the wet
    signal has about the level of the dry one. ``mix`` blends dry
    (0) and wet (1), ``predelay_ms`` delays the wet signal and ``tail_s``
    appends that many seconds for the reverb to ring out (0 keeps the
    input's length).

    Algorithm: non-uniformly partitioned overlap-save FFT convolution,
    without latency. The response is cut into stages: the first in
    partitions of the block size B (clamped to 64..16384 frames), each
    later one in partitions up to 16 times longer (at most 16384 frames)
    starting its own partition length into the response; every partition's spectrum is
    computed once per run (in ``start``: validation does not read the file).
    Per block, the first stage transforms the last two partitions of input
    (a block shorter than one zero-padded: exact, by causality), and the
    sum over its frequency-domain delay line of input spectra times
    partition spectra gives the block's output at once; a later stage runs
    when its own input segment is complete and adds its output, due no
    earlier, into a ring. Cost: each stage of partition P does a forward and
    an inverse 2P-point real FFT (scipy.fft) per P frames, and every output
    frame takes one complex multiply-add per partition and channel (the
    delay-line sum is a numba kernel, twice numpy's speed); for 3 s at
    44.1 kHz and B = 1024 that is 24 partitions instead of 130 uniform ones.
    Memory: the response's spectra (about one complex value per response
    sample and channel) and a delay line as large per input channel. A run
    in blocks of any size gives the samples of a run on the whole signal,
    and both those of ``scipy.signal.fftconvolve`` (to float rounding).

    Example
    -------
        hall = {in = "src", ir_path = "hall.wav", mix = 0.4, tail_s = 2.0}
    """

    ir_path: InputPath = param(description="impulse-response audio file")
    normalize_ir: bool = param(True, description="scale each response channel to unit energy")

    def output_channels(self, input_channels: tuple[int, ...]) -> int:
        channels = max(input_channels, default=1)
        return _ir_info(self.ir_path, self.ctx).channels if channels == 1 else channels

    def prepare(self, spec: StreamSpec) -> None:
        self._rate = spec.sample_rate_hz
        self._predelay = round(self.predelay_ms * spec.sample_rate_hz / 1000.0)
        info = _ir_info(self.ir_path, self.ctx)
        if info.channels not in (1, spec.channels) and spec.channels != 1:
            raise self.param_error(
                "ir_path",
                f"the impulse response has {info.channels} channels and the input "
                f"{spec.channels}: use a mono response, one with {spec.channels} channels, "
                "or a mono input",
            )
        self._out_channels = spec.channels if spec.channels != 1 else info.channels
        self._in_channels = spec.channels
        self._block_size = spec.block_size
        self._convolver: PartitionedConvolver | None = None  # built in start(): validation
        # only checks the header, so it neither reads the response nor transforms it

    def reset(self) -> None:
        if self._convolver is not None:
            self._convolver.reset()

    def start(self) -> None:
        ir = self._load_ir()
        self._convolver = PartitionedConvolver(ir, self._in_channels, self._block_size)

    def _load_ir(self) -> np.ndarray:
        import soundfile

        data, rate = soundfile.read(self.ir_path, dtype="float64", always_2d=True)
        if rate != self._rate:
            import soxr

            data = soxr.resample(data, rate, self._rate, quality="VHQ")
        ir = np.ascontiguousarray(data.T)
        if self.normalize_ir:
            energy = np.sqrt(np.sum(ir * ir, axis=1, keepdims=True))
            ir = ir / np.where(energy > 0, energy, 1.0)
        if self._predelay:
            ir = np.pad(ir, ((0, 0), (self._predelay, 0)))
        return ir

    def process(self, block: np.ndarray) -> np.ndarray:
        assert self._convolver is not None
        x = block.astype(np.float64)
        wet = self._convolver.process(x)
        out = (1.0 - self.mix) * x + self.mix * wet  # a mono input's dry part on every channel
        return out.astype(np.float32)
