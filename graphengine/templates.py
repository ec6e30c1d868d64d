"""Starter graphs for ``graphengine new NAME --template KIND``.

Each template (``starters/NAME.toml``, with ``{name}`` where the graph's name
goes) is a small, commented graph that validates and renders as
written (no input file needed) and shows one way of working: an effect chain,
feature extraction, music from notes, image <-> sound, and the feature
summary a model node would take.
"""

from __future__ import annotations

import os
import re
from importlib import resources
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

TEMPLATES: dict[str, tuple[str, int]] = {
    "effect": ("An effect chain: filter, delay, reverb, level.", 44100),
    "features": ("Feature extraction: STFT, features, a summary, a picture.", 22050),
    "music": ("Music from notes: a chord progression on plucked strings.", 44100),
    "image": ("Sound to picture and back: a spectrogram image played as sound.", 44100),
    "model": ("The features a model takes: MFCC and centroid, summarised.", 22050),
}
"""Template name -> (one-line title, sample rate); the body is ``starters/NAME.toml``."""

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def render_template(template: str, name: str, file: str | None = None) -> str:
    """The text of a starter graph called ``name``."""
    if template not in TEMPLATES:
        choices = ", ".join(TEMPLATES)
        raise GraphError(f"new: no template {template!r} (choose one of {choices})")
    title, rate = TEMPLATES[template]
    head = _HEADER.format(title=title, file=file or f"{name}.toml", name=name, sample_rate=rate)
    body = (resources.files("graphengine") / "starters" / f"{template}.toml").read_text("utf-8")
    return head + "\n" + body.format(name=name)


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
