"""The model folder on disk: its file names, the marker training leaves, where one may go.

Training replaces a whole folder, so it must never take one that holds
anything else. A folder counts as a model folder only when it has the
marker file :data:`MARKER` that the writer puts there and a ``model.json``
with a ``format``, and holds nothing but the files training writes.
:func:`check_out` refuses everything else before training starts, and again
just before the folder is replaced.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from graphengine.errors import GraphError

MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.msgpack"
MARKER = ".graphengine-model"
MARKER_TEXT = "written by graphengine train; train --replace may replace this whole folder\n"
WRITTEN = frozenset({MODEL_FILE, WEIGHTS_FILE, MARKER, "metrics.json", "run.json", "confusion.png"})
"""Every file training writes into a model folder."""


def is_model_folder(path: Path) -> bool:
    """Whether ``path`` is a folder written by training (marker and a model.json with format)."""
    if path.is_symlink() or not path.is_dir() or not (path / MARKER).is_file():
        return False
    try:
        spec = json.loads((path / MODEL_FILE).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(spec, dict) and "format" in spec


def check_out(
    out: str | os.PathLike, *, replace: bool, reads: Iterable[str | os.PathLike] = ()
) -> Path:
    """The absolute model folder ``out``, if training may write it; else a :class:`GraphError`.

    Refused: the current folder or one holding it, a folder holding any of
    ``reads`` (the graph, labels, inputs, cache), anything that exists and is
    not a model folder or holds other files, and an existing model folder
    unless ``replace``.
    """
    target = Path(os.path.abspath(out))
    here = Path.cwd().resolve()
    real = target.resolve()
    if real == here or real in here.parents:
        what = "the current folder" if real == here else "a folder holding the current folder"
        raise GraphError(f"--out {out}: is {what}; name a new folder for the model")
    for path in reads:
        read = Path(path).resolve()
        if read == real or real in read.parents:
            raise GraphError(
                f"--out {out}: holds {path}, which training reads; name a new folder for the model"
            )
    if not (target.exists() or target.is_symlink()):
        return target
    if target.is_symlink() or not target.is_dir():
        kind = "a symbolic link" if target.is_symlink() else "a file"
        raise GraphError(f"--out {out}: is {kind}, not a model folder; refusing to replace it")
    if not is_model_folder(target):
        raise GraphError(
            f"--out {out}: exists and is not a model folder written by graphengine train "
            f"(that has a {MARKER} marker and a {MODEL_FILE}); refusing to replace it, "
            "name a new folder"
        )
    others = sorted(p.name for p in target.iterdir() if p.name not in WRITTEN)
    if others:
        listed = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise GraphError(
            f"--out {out}: the model folder also holds {listed}, which training did not write; "
            "refusing to replace it"
        )
    if not replace:
        raise GraphError(f"--out {out}: a model is already there; pass --replace to replace it")
    return target
