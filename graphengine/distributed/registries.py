"""How a custom node registry reaches the workers: by module names, or pickled.

Workers import the modules that define the registry's node types (their
folders added to ``sys.path``), so a registry of ordinary modules travels as
names; one with a node defined in ``__main__`` or without a file is pickled.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from graphengine.registry import Registry, default_registry

RegistryRef = Any
"""``None`` (the installed nodes), ``("modules", ((name, folder), ...), type_ids)``
or ``("pickled", registry)``."""

_REGISTRIES: dict[Any, Registry] = {}  # per worker process


def registry_ref(registry: Registry | None) -> RegistryRef:
    """What to send the workers for ``registry`` (see :data:`RegistryRef`)."""
    if registry is None or registry is default_registry():
        return None
    modules: dict[str, str] = {}
    for spec in registry:
        name = spec.function.__module__
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if module is None or name == "__main__" or file is None:
            return ("pickled", registry)
        folder = Path(file).resolve().parent
        for _ in range(name.count(".") + (Path(file).stem == "__init__")):
            folder = folder.parent
        modules[name] = str(folder)
    type_ids = tuple(sorted(spec.type_id for spec in registry))
    return ("modules", tuple(sorted(modules.items())), type_ids)


def worker_registry(ref: RegistryRef) -> Registry | None:
    """The registry ``ref`` stands for, built once per worker process (``None``: the default)."""
    if ref is None:
        return None
    if ref[0] == "pickled":
        return ref[1]
    registry = _REGISTRIES.get(ref)
    if registry is None:
        found = Registry()
        for name, folder in ref[1]:
            if folder not in sys.path:
                sys.path.insert(0, folder)
            found.add_module(importlib.import_module(name))
        registry = Registry({t: found.get(t) for t in ref[2] if found.get(t) is not None})
        _REGISTRIES[ref] = registry
    return registry
