"""The synthetic "voices" dataset: short notes of five synthesis voices, made by the engine.

Five classes, each a voice of ``nodes/synth/voices.py``: ``sine``, ``saw`` and
``square`` (``synth.osc``), ``pluck`` (``synth.pluck``, Karplus-Strong) and
``fm`` (``synth.fm``, a 1:1 carrier-modulator pair). Every clip is one note
at a random pitch between C3 and C5 (drawn in cents, so pitches fall between
the keys), a random velocity in [0.3, 1.0], a random note length and a little
white noise, padded with silence and trimmed to ``clip_s`` seconds. Each
clip is rendered by a small graph (notes.sequence -> voice -> mix with noise
and silence -> trim -> sink.wav), so the dataset is what the engine makes.

    python -m nodes.model._dataset OUT_DIR [--per-class 16] [--clip-s 0.5] [--seed 0]

writes ``OUT_DIR/<voice>/<voice>_NNN.wav`` and ``OUT_DIR/labels.csv``
(``path,label``; paths relative to OUT_DIR).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

from graphengine.pitch import midi_to_hz

VOICES = ("sine", "saw", "square", "pluck", "fm")
SAMPLE_RATE = 16000


def _voice_node(voice: str, seed: int) -> tuple[str, dict]:
    common = {"amplitude": 0.5, "release_ms": 60.0}
    if voice in ("sine", "saw", "square"):
        return "synth.osc", {**common, "waveform": voice, "attack_ms": 10.0}
    if voice == "pluck":
        return "synth.pluck", {**common, "decay_s": 1.0, "brightness": 0.7, "seed": seed}
    return "synth.fm", {
        **common,
        "modulator_ratio": 1.0,
        "index": 3.0,
        "index_follows_envelope": False,
        "attack_ms": 10.0,
    }


def clip_graph(
    voice: str,
    frequency_hz: float,
    velocity: float,
    note_s: float,
    path: str | os.PathLike,
    *,
    clip_s: float = 0.5,
    noise: float = 0.003,
    seed: int = 0,
    sample_rate: int = SAMPLE_RATE,
):
    """The graph rendering one clip of ``voice`` to the WAV file ``path``."""
    import graphengine as ge

    g = ge.Graph(sample_rate=sample_rate, seed=seed)
    g.add(
        "note",
        "notes.sequence",
        notes=[f"{frequency_hz:.3f}"],
        beats=[1.0],
        tempo_bpm=60.0 / note_s,
        velocity=velocity,
    )
    kind, params = _voice_node(voice, seed)
    g.add("voice", kind, **params)
    g.connect("note", "voice.in")
    g.add("pad", "source.silence", duration_s=clip_s + 0.1)
    g.add("hiss", "source.noise", color="white", duration_s=clip_s, amplitude=noise, seed=seed)
    g.add("sum", "signal.mix")
    for name in ("voice", "pad", "hiss"):
        g.connect(name, "sum.in")
    g.add("cut", "signal.trim", duration_s=clip_s)
    g.connect("sum", "cut.in")
    g.add("out", "sink.wav", path=str(path))
    g.connect("cut", "out.in")
    return g


def make_voices(
    out_dir: str | os.PathLike,
    *,
    per_class: int = 16,
    clip_s: float = 0.5,
    seed: int = 0,
    voices: tuple[str, ...] = VOICES,
    sample_rate: int = SAMPLE_RATE,
) -> Path:
    """Render ``per_class`` clips of each voice into ``out_dir``; returns the labels CSV path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for voice in voices:
        (out / voice).mkdir(exist_ok=True)
        for i in range(per_class):
            frequency_hz = midi_to_hz(rng.uniform(48.0, 72.0))
            velocity = float(rng.uniform(0.3, 1.0))
            note_s = float(rng.uniform(0.25, 0.4))
            clip_seed = int(rng.integers(0, 2**31 - 1))
            name = f"{voice}/{voice}_{i:03d}.wav"
            clip_graph(
                voice,
                frequency_hz,
                velocity,
                note_s,
                out / name,
                clip_s=clip_s,
                seed=clip_seed,
                sample_rate=sample_rate,
            ).run(cache=False)
            rows.append((name, voice))
    labels = out / "labels.csv"
    with open(labels, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        writer.writerows(rows)
    return labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodes.model._dataset", description=__doc__)
    parser.add_argument("out_dir")
    parser.add_argument("--per-class", type=int, default=16)
    parser.add_argument("--clip-s", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    labels = make_voices(args.out_dir, per_class=args.per_class, clip_s=args.clip_s, seed=args.seed)
    print(f"wrote {labels}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
