"""The seed article's ``wav_table`` in Python: simple waves, files in chunks, what a file holds.

Thin over the nodes (``source.tone``, ``signal.split``, ``sink.wav``) and
``graphengine info``, in the article's words::

    >>> from nodes.signal import wav_table
    >>> wave = wav_table.Wav_Signal(44100, 440.0, 1.0).make_simple_wav("sine")
    >>> wave.shape, wave.dtype
    ((44100,), dtype('float32'))

Samples are float32 in [-1, 1], mono arrays shaped ``(frames,)`` or
``(channels, frames)``; durations are in seconds, rates in Hz.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

import graphengine as ge
from graphengine.types import Audio


class Wav_Signal:
    """A tone of one frequency and duration at a sample rate (the article's ``Wav_Signal``)."""

    def __init__(
        self, sample_rate: int = 44100, frequency: float | str = 440.0, duration_s: float = 1.0
    ) -> None:
        self.sample_rate = sample_rate
        self.frequency = frequency
        self.duration_s = duration_s

    def _graph(self, waveform: str, amplitude: float) -> ge.Graph:
        graph = ge.Graph(sample_rate=self.sample_rate)
        graph.add(
            "tone",
            "source.tone",
            waveform=waveform,
            frequency=self.frequency,
            duration_s=self.duration_s,
            amplitude=amplitude,
        )
        return graph

    def make_simple_wav(self, waveform: str = "sine", amplitude: float = 1.0) -> np.ndarray:
        """The tone as float32 samples, shape ``(frames,)``: sine, square, saw or triangle."""
        tone = self._graph(waveform, amplitude).run(outputs=["tone"], cache=False)["tone"]
        return tone.samples[0]

    def write(
        self,
        path: str | os.PathLike,
        waveform: str = "sine",
        amplitude: float = 1.0,
        subtype: str = "PCM_16",
    ) -> Path:
        """Write the tone to a WAV file (whole, or not at all); returns its path."""
        graph = self._graph(waveform, amplitude)
        target = Path(path).resolve()
        graph.add("out", "sink.wav", in_="tone", path=str(target), subtype=subtype)
        graph.run(cache=False)
        return target


def split_single_wav_s(
    wav: np.ndarray | str | os.PathLike, seconds: float, sample_rate: float | None = None
) -> list[np.ndarray]:
    """All chunks of ``seconds`` each, in order (the last may be shorter), as float32 arrays.

    ``wav`` is a file path or samples shaped ``(frames,)`` or ``(channels,
    frames)`` at ``sample_rate`` Hz. Chunks keep the input's shape
    convention; joined in order they give the input back exactly.
    """
    graph = ge.Graph()
    inputs: dict[str, Audio] = {}
    if isinstance(wav, str | os.PathLike):
        found = analyze_wav(wav)  # the file's own rate, so nothing is resampled
        graph.sample_rate = float(found["sample_rate_hz"])
        graph.add("src", "source.file", path=str(Path(wav).resolve()))
        frames, mono = found["frames"], False
    else:
        if sample_rate is None:
            raise ValueError("split_single_wav_s: give the sample_rate of an array")
        samples = np.asarray(wav, dtype=np.float32)
        mono = samples.ndim == 1
        audio = Audio(samples[np.newaxis] if mono else samples, float(sample_rate))
        graph.sample_rate = audio.sample_rate
        graph.add("src", "source.silence", duration_s=audio.frames / audio.sample_rate)
        inputs["src"] = audio
        frames = audio.frames
    length = round(seconds * graph.sample_rate)
    if length < 1:
        raise ValueError(f"split_single_wav_s: {seconds!r} s is shorter than one sample")
    count = max(1, math.ceil(frames / length))
    for index in range(count):
        graph.add(f"chunk{index}", "signal.split", in_="src", chunk_s=seconds, index=index)
    result = graph.run(outputs=[f"chunk{i}" for i in range(count)], cache=False, inputs=inputs)
    chunks = [result[f"chunk{i}"].samples for i in range(count)]
    return [chunk[0] for chunk in chunks] if mono else chunks


def analyze_wav(path: str | os.PathLike) -> dict[str, Any]:
    """What a sound file holds, as ``graphengine info --json`` prints it.

    ``sample_rate_hz``, ``channels``, ``frames``, ``duration_s``, ``format``,
    ``subtype``, ``bit_depth`` (None for lossy codecs), peak and RMS in dBFS
    and clipped samples; read in blocks, so a long file is never held whole.
    """
    from graphengine.info import file_info

    return file_info(path)
