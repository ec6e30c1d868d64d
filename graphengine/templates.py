"""Starter graphs for ``graphengine new NAME --template KIND``.

Each template is a small, commented graph that validates and renders as
written (no input file needed) and shows one way of working: an effect chain,
feature extraction, music from notes, image <-> sound, and the feature
summary a model node would take.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from graphengine.errors import GraphError

_HEADER = """\
# {title}
# Render it:      graphengine render {file}
# Re-render on every save:  graphengine watch {file}
# Find nodes:     graphengine nodes   (one node: graphengine nodes effect.delay)
format = 1
name = "{name}"
sample_rate = {sample_rate}
seed = 1
"""

EFFECT = """
[params]
output = "out/{name}.wav"

# The input: a short saw-tooth phrase. To process a recording instead, use
#   type = "source.file"   path = "my.wav"
[nodes.src]
type = "source.tone"
waveform = "saw"
frequency = "A3"
duration_s = 0.5
amplitude = 0.5

[nodes.shape]
type = "effect.fade"
in = "src"
fade_out_s = 0.45

[nodes.tone]
type = "filter.biquad"
in = "shape"
mode = "lowpass"
cutoff_hz = 2000.0
q = 0.8

[nodes.echo]
type = "effect.delay"
in = "tone"
time_ms = 375.0
feedback = 0.45
mix = 0.4
tail_s = 2.0

[nodes.room]
type = "effect.reverb"
in = "echo"
room_size = 0.7
mix = 0.25
tail_s = 0.5

[nodes.level]
type = "effect.normalize"
in = "room"
mode = "peak"
target_dbfs = -1.0

[nodes.out]
type = "sink.wav"
in = "level"
path = "$output"
"""

FEATURES = """
[params]
n_fft = 2048
hop = 512

# The signal: a log sweep over a quiet tone. To analyse a file instead, use
#   type = "source.file"   path = "my.wav"   mono = true
[nodes.sweep]
type = "source.chirp"
start_hz = 100
end_hz = 5000
duration_s = 3.0
amplitude = 0.4

[nodes.hum]
type = "source.tone"
frequency = "A2"
duration_s = 3.0
amplitude = 0.1

[nodes.src]
type = "signal.mix"
in = ["sweep", "hum"]

[nodes.spec]
type = "spectral.stft"
in = "src"
n_fft = "$n_fft"
hop = "$hop"

[nodes.centroid]
type = "feature.centroid"
in = "spec"

[nodes.rms]
type = "feature.rms"
in = "spec"

[nodes.mfcc]
type = "feature.mfcc"
in = "spec"
n_mfcc = 13

[nodes.feats]
type = "feature.stack"
in = ["centroid", "rms", "mfcc"]

[nodes.summary]
type = "feature.summary"
in = "feats"
stats = ["mean", "std"]

[nodes.table]
type = "sink.csv"
in = "feats"
path = "out/{name}.csv"

[nodes.report]
type = "sink.json"
in = "summary"
path = "out/{name}.json"

[nodes.picture]
type = "sink.image"
in = "spec"
path = "out/{name}.png"
log_frequency = true
"""

MUSIC = """
[params]
tempo_bpm = 100.0
output = "out/{name}.wav"

[nodes.chords]
type = "notes.progression"
chords = "I vi IV V I"
key = "D4"
beats = [2.0]
tempo_bpm = "$tempo_bpm"

[nodes.strings]
type = "synth.pluck"
in = "chords"
decay_s = 2.0
brightness = 0.6
amplitude = 0.25

[nodes.pad]
type = "synth.additive"
in = "chords"
harmonics = [1.0, 0.3, 0.1]
amplitude = 0.06
attack_ms = 150
release_ms = 300

[nodes.mix]
type = "signal.mix"
in = ["strings", "pad"]

[nodes.room]
type = "effect.reverb"
in = "mix"
room_size = 0.6
mix = 0.2
tail_s = 1.0

[nodes.level]
type = "effect.normalize"
in = "room"
target_dbfs = -1.0

[nodes.out]
type = "sink.wav"
in = "level"
path = "$output"
"""

IMAGE = """
[params]
fmin_hz = 80.0
fmax_hz = 8000.0

# A picture made from a sound, played back as sound. To play a picture file,
# replace [nodes.sound] and [nodes.picture] by
#   [nodes.picture]   type = "source.image"   path = "drawing.png"   invert = true
[nodes.sound]
type = "source.chirp"
start_hz = 200
end_hz = 4000
duration_s = 2.0
amplitude = 0.5

[nodes.picture]
type = "image.from_sound"
in = "sound"
rows = 96
columns = 192
fmin_hz = "$fmin_hz"
fmax_hz = "$fmax_hz"

[nodes.played]
type = "image.to_sound"
in = "picture"
duration_s = 2.0
fmin_hz = "$fmin_hz"
fmax_hz = "$fmax_hz"
peak_dbfs = -3.0

[nodes.wav]
type = "sink.wav"
in = "played"
path = "out/{name}.wav"

[nodes.png]
type = "sink.image"
in = "picture"
path = "out/{name}.png"
"""

MODEL = """
# The input a classifier takes: a feature summary vector. No trained model
# ships with graphengine yet, so this graph stops at the summary (written as
# JSON); once one exists, feed "summary" to a model node.
[nodes.src]
type = "source.noise"
color = "pink"
duration_s = 2.0
amplitude = 0.2

[nodes.spec]
type = "spectral.stft"
in = "src"

[nodes.mfcc]
type = "feature.mfcc"
in = "spec"
n_mfcc = 20

[nodes.centroid]
type = "feature.centroid"
in = "spec"

[nodes.feats]
type = "feature.stack"
in = ["mfcc", "centroid"]

[nodes.summary]
type = "feature.summary"
in = "feats"
stats = ["mean", "std"]

[nodes.report]
type = "sink.json"
in = "summary"
path = "out/{name}.json"
"""

TEMPLATES: dict[str, tuple[str, int, str]] = {
    "effect": ("An effect chain: filter, delay, reverb, level.", 44100, EFFECT),
    "features": ("Feature extraction: STFT, features, a summary, a picture.", 22050, FEATURES),
    "music": ("Music from notes: a chord progression on plucked strings.", 44100, MUSIC),
    "image": ("Sound to picture and back: a spectrogram image played as sound.", 44100, IMAGE),
    "model": ("The features a model takes: MFCC and centroid, summarised.", 22050, MODEL),
}
"""Template name -> (one-line title, sample rate, body)."""

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def render_template(template: str, name: str, file: str | None = None) -> str:
    """The text of a starter graph called ``name``."""
    if template not in TEMPLATES:
        choices = ", ".join(TEMPLATES)
        raise GraphError(f"new: no template {template!r} (choose one of {choices})")
    title, rate, body = TEMPLATES[template]
    head = _HEADER.format(title=title, file=file or f"{name}.toml", name=name, sample_rate=rate)
    return head + body.format(name=name)


def new_graph(
    name: str, template: str = "effect", *, directory: str | os.PathLike = ".", force: bool = False
) -> Path:
    """Write ``NAME.toml`` (or NAME itself when it ends in .toml) from a template; returns it."""
    path = Path(directory) / name
    if path.suffix.lower() != ".toml":
        path = path.with_name(path.name + ".toml")
    stem = path.stem
    if not _NAME.match(stem):
        raise GraphError(f"new: {name!r} is not a usable graph name (letters, digits, _ . -)")
    if path.exists() and not force:
        raise GraphError(f"new: {path} exists (use --force to overwrite it)")
    text = render_template(template, stem, file=str(path))
    from graphengine.fsutil import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    return path
