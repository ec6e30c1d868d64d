"""Beat tracking: the beats of a piece as events on the onset frames (librosa.beat.beat_track).

Ellis's dynamic-programming tracker (2007): estimate one global tempo from
the onset envelope's autocorrelation, then choose the beat frames that best
combine strong onsets with spacing close to that tempo.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from graphengine.node import Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.types import Features, Spectrum, Vector
from nodes.spectral.stft import frame_rate, mel_power, power_to_db, spectrum_info


class Beats(NamedTuple):
    """The beats per frame and the tempo."""

    out: Features
    tempo: Vector


def infer_beats(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """``out``: (channels, 1, frames) at the spectrum's frame rate; ``tempo``: one per channel."""
    info = spectrum_info(inputs)
    shape, tempo_shape = None, None
    if info is not None and info.shape is not None:
        shape, tempo_shape = (info.shape[0], 1, info.shape[2]), (info.shape[0],)
    return {"out": PortInfo("features", shape), "tempo": PortInfo("vector", tempo_shape)}


def onset_envelope(spectrum: Spectrum, channel: int) -> np.ndarray:
    """The onset strength beat_track computes from audio: median over 128 log-mel bands."""
    import librosa

    mel = mel_power(spectrum, 128, 0.0, None, "slaney", "slaney")[channel]
    return librosa.onset.onset_strength(
        S=power_to_db(mel),
        sr=spectrum.sample_rate,
        n_fft=spectrum.n_fft,
        hop_length=spectrum.hop,
        aggregate=np.median,
        center=True,
    )


@node("feature.beats", version=1, infer=infer_beats)
def beats(
    in_: Spectrum,
    *,
    start_bpm: float = param(120.0, unit="BPM", above=0, description="tempo prior's centre"),
    tightness: float = param(100.0, above=0, description="how strictly beats keep the tempo"),
    tempo_bpm: float | None = param(
        None, unit="BPM", above=0, description="a known tempo (None: estimate it)"
    ),
    trim: bool = param(True, description="drop weak beats at the start and end"),
) -> Beats:
    """Beat positions and tempo, exactly as librosa.beat.beat_track finds them.

    The onset envelope (median over 128 log-mel bands of the rise from frame
    to frame, as beat_track builds it from audio) gives a tempo (the
    autocorrelation peak under a log-normal prior around ``start_bpm``,
    unless ``tempo_bpm`` is given); a dynamic programme then picks the frames that
    are strong onsets about one beat period apart, ``tightness`` weighing
    the spacing against the onsets; ``trim`` drops the weak beats at either
    end. ``out`` has one row, ``beat``: 1 at each beat frame and 0
    elsewhere, at the spectrum's frame rate, so beat ``k`` at frame ``i`` is
    at ``i * hop / sample_rate`` seconds (librosa.frames_to_time); write
    them with ``sink.csv`` or ``sink.json`` and ``frames = "nonzero"`` to get
    one line per beat. ``tempo`` is the tempo in BPM (``tempo_bpm``; one
    entry per channel, ``ch<c>_tempo_bpm`` for several). With librosa's
    defaults (n_fft 2048, hop 512) the frames are those of
    ``librosa.beat.beat_track(y=...)``. A silent channel has no beats and
    tempo 0.

    Example
    -------
        beat = {in = "spec", start_bpm = 120, tightness = 100}
    """
    import librosa

    channels, _, frames = in_.data.shape
    marks = np.zeros((channels, 1, frames), dtype=np.float32)
    tempi = np.zeros(channels, dtype=np.float32)
    for c in range(channels):
        env = onset_envelope(in_, c)
        tempo, frames_of_beats = librosa.beat.beat_track(
            onset_envelope=env,
            sr=in_.sample_rate,
            hop_length=in_.hop,
            start_bpm=start_bpm,
            tightness=tightness,
            trim=trim,
            bpm=tempo_bpm,
        )
        marks[c, 0, frames_of_beats] = 1.0
        tempi[c] = float(np.asarray(tempo).reshape(-1)[0])
    names = ("tempo_bpm",) if channels == 1 else tuple(f"ch{c}_tempo_bpm" for c in range(channels))
    return Beats(Features(marks, frame_rate(in_), ("beat",)), Vector(tempi, names))
