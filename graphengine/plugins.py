"""Entry points of installed packages, read without importing ``importlib.metadata``.

Every command reads two groups (``graphengine.nodes``, ``graphengine.commands``);
``importlib.metadata`` costs more to import (email, zipfile, csv, ...) than
the rest of ``graphengine --help``. This reads the same files it reads: the
``entry_points.txt`` of each ``*.dist-info`` / ``*.egg-info`` folder on
``sys.path``, a distribution counted once (the first on the path, by its
normalised name, as ``importlib.metadata.entry_points`` does). Where the path
holds something else (a zip file, an egg), it asks ``importlib.metadata``.
"""

from __future__ import annotations

import os
import re
import sys
from functools import cache
from typing import Any

_SUFFIXES = (".dist-info", ".egg-info")


def _normalised(folder: str) -> str:
    name = folder.rsplit(".", 1)[0].split("-", 1)[0]  # name-version.dist-info
    return re.sub(r"[-_.]+", "_", name).lower()


def _parse(text: str) -> dict[str, list[tuple[str, str]]]:
    """``entry_points.txt`` (INI: ``[group]`` then ``name = value`` lines) by group."""
    groups: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = groups.setdefault(line[1:-1].strip(), [])
        elif current is not None and "=" in line:
            name, _, value = line.partition("=")
            current.append((name.strip(), value.strip()))
    return groups


@cache
def _scan() -> dict[str, list[tuple[str, str]]] | None:
    """Every group's ``(name, value)`` pairs; ``None`` if the path needs importlib.metadata."""
    found: dict[str, list[tuple[str, str]]] = {}
    seen: set[str] = set()
    for entry in sys.path:
        folder = entry or "."
        try:
            names = sorted(os.listdir(folder))
        except NotADirectoryError:
            return None  # a zip file on the path
        except OSError:
            continue
        for name in names:
            if name.endswith(".egg"):
                return None
            if not name.endswith(_SUFFIXES):
                continue
            key = _normalised(name)
            if key in seen:
                continue
            seen.add(key)
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            for group, pairs in _parse(text).items():
                found.setdefault(group, []).extend(pairs)
    return found


def entry_points(group: str) -> list[tuple[str, str]]:
    """``(name, value)`` of each entry point in ``group``, sorted by name."""
    scanned = _scan()
    if scanned is None:
        from importlib.metadata import entry_points as metadata_entry_points

        return sorted((e.name, e.value) for e in metadata_entry_points(group=group))
    return sorted(scanned.get(group, []))


def load(value: str) -> Any:
    """The object an entry point's value names: ``module`` or ``module:attr.attr``."""
    import importlib

    module, _, attrs = value.partition(":")
    target: Any = importlib.import_module(module.strip())
    for attr in filter(None, attrs.strip().split(".")):
        target = getattr(target, attr)
    return target
