"""The files a batch runs over, and the folder each one's outputs go to.

Inputs come from globs (``**`` recurses) and list files. An input's outputs go
to ``DIR/<its path relative to the input root, without its suffix>/``; two
inputs that would share that folder (``a.wav`` and ``a.flac``) keep their
suffix instead.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from graphengine.errors import GraphError


def absolute(path: str | os.PathLike) -> Path:
    """An absolute, normalised path; symbolic links are kept (an input may be one)."""
    return Path(os.path.abspath(os.path.expanduser(path)))


def _glob_base(pattern: str) -> Path:
    """The fixed folder in front of a glob's first wildcard."""
    parts = Path(os.path.expanduser(pattern)).parts
    fixed: list[str] = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return absolute(Path(*fixed)) if fixed else Path.cwd()


def expand_inputs(
    patterns: Sequence[str] = (), lists: Sequence[str | os.PathLike] = ()
) -> tuple[list[Path], list[Path]]:
    """Input files from globs (``**`` recurses) and list files, and the folders they start in.

    A list file holds one path a line (blank lines and ``#`` comments are
    skipped); relative paths resolve against the list file's folder. Returns
    the absolute, de-duplicated files in order (each glob sorted) and the
    base folders from which the input root is derived (see :func:`input_root`).
    """
    files: list[Path] = []
    bases: list[Path] = []
    for pattern in patterns:
        bases.append(_glob_base(pattern))
        matched = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
        files.extend(absolute(p) for p in matched if os.path.isfile(p))
    for list_file in lists:
        list_path = Path(list_file)
        try:
            lines = list_path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise GraphError(f"--inputs-file {list_path}: cannot read it ({error})") from None
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            path = absolute(absolute(list_path).parent / Path(line).expanduser())
            files.append(path)
            bases.append(path.parent)
    unique = list(dict.fromkeys(files))
    return unique, bases


def input_root(inputs: Sequence[Path], bases: Sequence[Path], root: Path | None) -> Path:
    """The folder the output layout mirrors: ``root`` when given (it must hold every
    input), otherwise the deepest folder holding every base and every other input's folder.
    """
    if root is not None:
        root = absolute(root)
        for path in inputs:
            if root not in path.parents:
                raise GraphError(f"input {path} is not inside the input root {root}")
        return root
    folders = list(dict.fromkeys(bases))
    folders += [p.parent for p in inputs if not any(b in p.parents for b in bases)]
    return Path(os.path.commonpath([str(f) for f in dict.fromkeys(folders)]))


def output_folders(inputs: Sequence[Path], root: Path) -> dict[Path, Path]:
    """Input -> its folder relative to DIR: the relative path without suffix (see module doc)."""
    stems = {path: path.relative_to(root).with_suffix("") for path in inputs}
    counts = Counter(stems.values())
    return {
        path: (path.relative_to(root) if counts[stem] > 1 else stem) for path, stem in stems.items()
    }
