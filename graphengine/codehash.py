"""The code part of a cache key: every source file and library release a node's output depends on.

A node's code identity is

- the source hash of every first-party module its implementation reaches: its
  defining module and, transitively, every module of the same top-level
  package that it imports (statements anywhere in the file, so imports inside
  functions count; relative imports too);
- the engine modules that compute on its data (:data:`ENGINE_COMPUTE`, and for
  streaming nodes :data:`ENGINE_STREAMING` as well), but not the declaration
  layers (CLI, loader, validation), so editing those keeps the cache;
- the versions of the third-party distributions those modules import (and
  libsndfile's, for modules that import soundfile).

Module hashes and versions are computed once per process. The engine knows no
node: the walk is the same for a plug-in package.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
from functools import cache
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from typing import Any

ENGINE_COMPUTE = ("graphengine.types", "graphengine.pitch")
"""Engine modules whose code shapes node values (the port value classes, pitch parsing)."""

ENGINE_STREAMING = (
    "graphengine.blocknode",
    "graphengine.blocks",
    "graphengine.execute",
    "graphengine.fusion",
)
"""The streaming runtime: what runs a block node's blocks (and its whole-signal form)."""

_IMPORT_NAMES = {"PIL": "pillow", "sklearn": "scikit-learn", "yaml": "pyyaml"}


@cache
def _find(module_name: str) -> ModuleSpec | None:
    """The spec of a module, found without importing it or its parent packages.

    ``importlib.util.find_spec`` imports the parents of a dotted name, so
    asking whether ``nodes.sink._kernels.interleave`` is a module would run
    ``nodes/sink/_kernels.py`` (and import numba). This asks each parent's
    search path instead, as the import system would, and uses the loaded
    module's spec where there is one.
    """
    loaded = sys.modules.get(module_name)
    if loaded is not None:
        return getattr(loaded, "__spec__", None)
    parent, _, _ = module_name.rpartition(".")
    try:
        if not parent:
            return importlib.util.find_spec(module_name)
        above = _find(parent)
        if above is None or above.submodule_search_locations is None:
            return None
        return PathFinder.find_spec(module_name, list(above.submodule_search_locations))
    except (ImportError, ValueError):
        return None


@cache
def _source(module_name: str) -> tuple[Path, bytes] | None:
    spec = _find(module_name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    path = Path(spec.origin)
    return path, path.read_bytes()


@cache
def _imports(module_name: str) -> tuple[str, ...]:
    """Absolute names of every module a module's source imports (anywhere in the file)."""
    found = _source(module_name)
    if found is None:
        return ()
    path, text = found
    package = module_name if path.name == "__init__.py" else module_name.rpartition(".")[0]
    names = []
    for statement in ast.walk(ast.parse(text)):
        if isinstance(statement, ast.Import):
            names += [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom):
            base = statement.module or ""
            if statement.level:
                parent = package.split(".")
                parent = parent[: len(parent) - statement.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in statement.names]
    return tuple(dict.fromkeys(n for n in names if n))


def _is_module(name: str) -> bool:
    return _find(name) is not None


@cache
def _file_hash(module_name: str) -> str:
    found = _source(module_name)
    return hashlib.sha256(found[1]).hexdigest()[:16] if found else "absent"


@cache
def _root_folder(top: str) -> Path:
    found = _source(top)
    return found[0].parent.parent if found else Path.cwd()


def _label(module_name: str) -> str:
    """``nodes/filter/_kernels.py``: the file relative to its package's parent folder."""
    found = _source(module_name)
    if found is None:
        return module_name
    top = module_name.split(".")[0]
    try:
        return found[0].relative_to(_root_folder(top)).as_posix()
    except ValueError:
        return found[0].as_posix()


@cache
def _reached(module_name: str) -> tuple[frozenset[str], frozenset[str]]:
    """(first-party modules, third-party top-level names) reached from one module."""
    top = module_name.split(".")[0]
    first: set[str] = set()
    third: set[str] = set()
    pending = [module_name]
    while pending:
        name = pending.pop()
        if name in first:
            continue
        first.add(name)
        for imported in _imports(name):
            head = imported.split(".")[0]
            if head == top:
                if _is_module(imported):
                    pending.append(imported)
            elif head == "graphengine":
                if imported in ENGINE_COMPUTE:
                    pending.append(imported)
            elif head not in sys.stdlib_module_names and head != "__future__":
                third.add(head)
    return frozenset(first), frozenset(third)


@cache
def _distribution_names() -> dict[str, list[str]]:
    import importlib.metadata

    return dict(importlib.metadata.packages_distributions())


@cache
def package_version(import_name: str) -> str | None:
    """The installed release of the distribution behind a top-level import name."""
    import importlib.metadata  # here: commands that hash no code need not load it

    candidates = [_IMPORT_NAMES.get(import_name, import_name)]
    try:
        version = importlib.metadata.version(candidates[0])
    except importlib.metadata.PackageNotFoundError:
        candidates = _distribution_names().get(import_name, [])
        version = None
        for dist in candidates:
            try:
                version = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    if version is not None and import_name == "soundfile":
        try:
            import soundfile

            version += f" (libsndfile {soundfile.__libsndfile_version__})"
        except (ImportError, OSError):
            pass
    return version


def code_identity(module_name: str | None, *, streaming: bool = False) -> dict[str, Any]:
    """``{"modules": {file: hash}, "packages": {name: version}}`` for a node's module."""
    if not module_name:  # defined outside any module (exec'd code): nothing to walk
        return {"modules": {}, "packages": {}}
    first, third = _reached(module_name)
    modules = set(first)
    if streaming:
        modules |= set(ENGINE_STREAMING)
        third = third | {"numpy", "numba"}
    return {
        "modules": {_label(m): _file_hash(m) for m in sorted(modules)},
        "packages": {
            name: package_version(name) or "unknown" for name in sorted(third) if _is_module(name)
        },
    }


def code_changes(old: dict[str, Any] | Any, new: dict[str, Any] | Any) -> list[str]:
    """What differs between two code identities, one phrase each, for ``--explain``."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [] if old == new else ["node code changed"]
    reasons = []
    old_modules, new_modules = old.get("modules", {}), new.get("modules", {})
    for file in sorted(set(old_modules) | set(new_modules)):
        if file not in old_modules:
            reasons.append(f"code of {file} added")
        elif file not in new_modules:
            reasons.append(f"code of {file} no longer used")
        elif old_modules[file] != new_modules[file]:
            reasons.append(f"code of {file} changed")
    old_packages, new_packages = old.get("packages", {}), new.get("packages", {})
    for name in sorted(set(old_packages) | set(new_packages)):
        if old_packages.get(name) != new_packages.get(name):
            before = old_packages.get(name, "absent")
            after = new_packages.get(name, "absent")
            reasons.append(f"{name} {before} -> {after}")
    return reasons


def forget() -> None:
    """Drop the per-process memo (for a process that edits node modules while it runs)."""
    for memo in (_find, _source, _imports, _file_hash, _reached, package_version):
        memo.cache_clear()
