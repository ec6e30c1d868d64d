"""An index of the installed node types, kept on disk, so a command imports only the nodes it uses.

Listing, describing and validating read what the registry knows from a JSON
file instead of importing every node module (109 of them, a third of a
second): which module defines each type id, its former ids, its port types.
What a command prints from the whole registry (``nodes``, ``schema``) is kept
beside it as well (:func:`memo`).

The file is keyed by a hash of everything it is derived from: the source of
every file in graphengine and in each package of the entry-point group
``graphengine.nodes`` (all of them, private modules and sub-packages too), the
entry points themselves, and the Python that runs. Editing, adding or removing
any such file, or installing a plug-in, gives a new key, so the index is
rebuilt exactly when a node file changes. It is plain JSON, never pickle,
written atomically; an unreadable or foreign file is rebuilt. Folders of keys
no longer current are pruned. The folder is ``$GRAPHENGINE_INDEX_DIR``, else
``$XDG_CACHE_HOME/graphengine/index`` (``~/.cache/graphengine/index``);
where it cannot be written the index is simply not kept.

A node package that cannot be hashed from its files (one inside a zip) turns
the index off: the registry then imports every node module, as it always did.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

FORMAT = 1
"""Bumped when the index's layout changes."""

KEEP_KEYS = 4
"""Folders of older keys kept (another checkout or venv may still use them)."""


def index_folder() -> Path:
    """Where the index lives (see the module docstring)."""
    explicit = os.environ.get("GRAPHENGINE_INDEX_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "graphengine" / "index"


def _package_files(module_name: str) -> list[Path] | None:
    """Every source file of the top-level package holding ``module_name``; ``None``: not on disk."""
    top = module_name.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: nothing is imported
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations is not None:
        folders = [Path(folder) for folder in spec.submodule_search_locations]
        if not all(folder.is_dir() for folder in folders):
            return None
        return sorted(path for folder in folders for path in folder.rglob("*.py"))
    if spec.origin and spec.origin.endswith(".py") and Path(spec.origin).is_file():
        return [Path(spec.origin)]
    return None


def source_key(entries: Iterable[tuple[str, str]]) -> str | None:
    """The hash the index is kept under, for node entry points ``(name, module)``.

    ``None`` when a package's files cannot be read (no index then).
    """
    from graphengine.version import __version__

    hasher = hashlib.sha256(f"{FORMAT}\0{__version__}\0{sys.version}\0{sys.prefix}\0".encode())
    packages = ["graphengine"]
    for name, module in entries:
        hasher.update(f"entry\0{name}\0{module}\0".encode())
        packages.append(module)
    seen: set[Path] = set()
    for package in packages:
        files = _package_files(package)
        if files is None:
            return None
        for path in files:
            if path in seen:
                continue
            seen.add(path)
            try:
                data = path.read_bytes()
            except OSError:
                return None
            hasher.update(f"file\0{path}\0{len(data)}\0".encode())
            hasher.update(data)
    return hasher.hexdigest()[:32]


def read(key: str, name: str) -> Any | None:
    """The value stored under ``name`` for ``key``, or ``None`` (absent, unreadable, foreign)."""
    try:
        with open(index_folder() / key / f"{name}.json", encoding="utf-8") as handle:
            stored = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("format") != FORMAT or stored.get("key") != key:
        return None
    return stored.get("value")


def write(key: str, name: str, value: Any) -> None:
    """Store ``value`` (JSON) under ``name`` for ``key``, atomically; failures are ignored."""
    folder = index_folder() / key
    try:
        fresh = not folder.is_dir()
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"format": FORMAT, "key": key, "value": value}, separators=(",", ":"))
        handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temp, folder / f"{name}.json")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        if fresh:
            _prune(folder.parent, key)
    except (OSError, TypeError, ValueError):
        return


def _prune(root: Path, current: str) -> None:
    """Remove the folders of all but the :data:`KEEP_KEYS` most recent other keys."""
    try:
        others = [p for p in root.iterdir() if p.is_dir() and p.name != current]
        others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in others[KEEP_KEYS:]:
        with contextlib.suppress(OSError):
            for file in old.iterdir():
                file.unlink()
            old.rmdir()


def memo(key: str | None, name: str, compute: Callable[[], Any]) -> Any:
    """``compute()``, kept on disk under ``name`` for ``key`` (``None``: not kept)."""
    if key is not None:
        found = read(key, name)
        if found is not None:
            return found
    value = compute()
    if key is not None:
        write(key, name, value)
    return value
