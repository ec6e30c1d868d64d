"""Render time of a 1-minute polyphonic progression per synth voice.

Run as a script: ``python benchmarks/synth.py``. The notes are 30 chords of
``I vi ii7 V7`` at 120 BPM, two seconds each (60 s, 3-4 notes sounding at a
time, 112 notes). Each voice is timed after one warm-up call (numba compiles
and caches its kernel then), best of 3. The reference is a plain numpy
additive synth in the same run: 5 harmonics per note, each a vectorised
``np.sin`` over the note's samples, times the same linear ADSR. Ratios are
voice time / numpy reference time (below 1: faster).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import seconds_of

from graphengine.node import NodeContext
from nodes.notes import events as notes
from nodes.synth import clarinet as reed
from nodes.synth import voices as synth

RATE = 44100.0
HARMONICS = np.array([1.0, 0.5, 0.33, 0.25, 0.2])


def ctx(type_id: str) -> NodeContext:
    return NodeContext("bench", type_id, RATE, Path("."))


def call(fn, *inputs, **params):
    spec = fn.spec
    kwargs = {p.name: p.default for p in spec.params if not p.required} | params
    if spec.wants_ctx:
        kwargs["ctx"] = ctx(spec.type_id)
    return fn(*inputs, **kwargs)


def numpy_additive(stream) -> np.ndarray:
    """The reference: per note, 5 sines over its samples with a linear ADSR."""
    env = synth.envelope(5.0, 100.0, 0.7, 100.0, RATE)
    plan = synth.schedule(stream, env.release, ctx("numpy"))
    out = np.zeros(plan.frames, dtype=np.float32)
    weights = HARMONICS / HARMONICS.sum()
    for start, gate, total, f, v in zip(
        plan.starts, plan.gates, plan.totals, stream.frequency_hz, stream.velocity, strict=True
    ):
        j = np.arange(total, dtype=np.float64)
        level = np.where(
            j < env.attack,
            (j + 1) / env.attack,
            np.maximum(env.sustain, 1 - (1 - env.sustain) * (j - env.attack + 1) / env.decay),
        )
        gate_level = level[gate - 1]
        level = np.where(j < gate, level, gate_level * (1 - (j - gate + 1) / env.release))
        y = np.zeros(total)
        for k, w in enumerate(weights, start=1):
            if k * f < RATE / 2:
                y += w * np.sin(2 * np.pi * k * f / RATE * j)
        out[start : start + total] += (0.25 * v * level * y).astype(np.float32)
    return out


def best_of(fn, repeats: int = 3) -> float:
    return seconds_of(fn, repeats)


def main() -> None:
    stream = call(
        notes.progression,
        chords=" ".join(["I vi ii7 V7"] * 7 + ["I vi"]),
        beats=[4.0],
        tempo_bpm=120.0,
    )
    count = round(float(np.max(stream.onset_s + stream.duration_s)))
    voices = [
        ("synth.osc saw", lambda: call(synth.osc, stream, waveform="saw")),
        ("synth.osc sine", lambda: call(synth.osc, stream, waveform="sine")),
        ("synth.wavetable", lambda: call(synth.wavetable, stream)),
        ("synth.additive (5 partials)", lambda: call(synth.additive, stream)),
        ("synth.fm", lambda: call(synth.fm, stream)),
        ("synth.pluck", lambda: call(synth.pluck, stream)),
        ("synth.clarinet", lambda: call(reed.clarinet, stream)),
    ]
    reference = best_of(lambda: numpy_additive(stream))
    print(f"{stream.onset_s.size} notes, {count} s of audio at {RATE:g} Hz")
    print(f"{'voice':<30}{'seconds':>10}{'x realtime':>12}{'vs numpy':>10}")
    label = "numpy additive (reference)"
    print(f"{label:<30}{reference:>10.4f}{count / reference:>12.0f}{1.0:>10.2f}")
    for name, fn in voices:
        seconds = best_of(fn)
        print(f"{name:<30}{seconds:>10.4f}{count / seconds:>12.0f}{seconds / reference:>10.2f}")


if __name__ == "__main__":
    main()
