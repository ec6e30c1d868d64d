"""Reverb: an algorithmic Freeverb tank, or convolution with a measured impulse response.

``effect.reverb`` (Freeverb) and ``effect.convolution_reverb`` both stream:
Freeverb keeps its comb and allpass delay lines as state arrays updated by a
numba kernel, and convolution keeps the not-yet-played tail of every block's
convolution (overlap-add), so a run in blocks of any size gives the samples of
one whole-signal pass. They are two node types rather than one with a mode
so that the impulse-response file is a required parameter of the one that
reads it (checked readable and content-hashed into the cache key).
"""

from __future__ import annotations

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
        [nodes.room]
        type = "effect.reverb"
        in = "src"
        room_size = 0.8
        mix = 0.3
        tail_s = 2.0
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
    reads, resampled to the graph's rate with soxr at very high quality) by
    FFT overlap-add (``scipy.signal.oaconvolve``). A mono response is applied
    to every channel, one with as many channels as the input channel by
    channel, and a multichannel response on a mono input makes one output
    channel per response channel (mono in, stereo reverb out); other channel
    layouts are an error. With ``normalize_ir = true`` (the default) each
    response channel is scaled to unit energy, so the wet signal has about the
    level of the dry one. ``mix`` blends dry (0) and wet (1), ``predelay_ms``
    delays the wet signal and ``tail_s`` appends that many seconds for the
    reverb to ring out (0 keeps the input's length). It streams, keeping each
    block's unplayed tail: a run in blocks gives the samples of a run on the
    whole signal (to float rounding).

    Example
    -------
        [nodes.hall]
        type = "effect.convolution_reverb"
        in = "src"
        ir_path = "hall.wav"
        mix = 0.4
        tail_s = 2.0
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
        self._ir: np.ndarray | None = None  # read in start(): validation only checks the header

    def reset(self) -> None:
        if self._ir is not None:
            self._tail = np.zeros((self._out_channels, self._ir.shape[1] - 1), dtype=np.float64)

    def start(self) -> None:
        self._ir = self._load_ir()
        self._tail = np.zeros((self._out_channels, self._ir.shape[1] - 1), dtype=np.float64)

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
        from scipy.signal import oaconvolve

        assert self._ir is not None and self._tail is not None
        n = block.shape[1]
        x = block.astype(np.float64)
        if x.shape[0] != self._out_channels:  # a mono input spread over the response's channels
            x = np.repeat(x, self._out_channels, axis=0)
        ir = self._ir
        if ir.shape[0] != self._out_channels:  # a mono response on every channel
            ir = np.repeat(ir, self._out_channels, axis=0)
        wet = oaconvolve(x, ir, axes=1) if n else np.zeros((x.shape[0], ir.shape[1] - 1))
        # overlap-add: what earlier blocks left, then keep what rings past this block
        tail_len = self._tail.shape[1]
        head = min(n, tail_len)
        wet[:, :head] += self._tail[:, :head]
        rest = np.zeros_like(self._tail)
        rest[:, : tail_len - head] = self._tail[:, head:]
        rest += wet[:, n:]
        self._tail = rest
        out = (1.0 - self.mix) * x + self.mix * wet[:, :n]
        return out.astype(np.float32)
