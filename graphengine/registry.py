"""Node discovery and lookup.

Node packages register through the entry-point group ``graphengine.nodes``
(graphengine's own ``nodes`` package does the same). The registry imports each
such module and, if it is a package, every module inside it, and collects the
specs that ``@node`` attached. The engine never imports a node by name.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Iterator
from importlib.metadata import entry_points
from types import ModuleType

from graphengine.node import NodeSpec

NODE_GROUP = "graphengine.nodes"
COMMAND_GROUP = "graphengine.commands"


class DuplicateNodeError(Exception):
    """Two node definitions claim one type id (a packaging bug, not a graph error)."""


class Registry:
    """Node specs by type id."""

    def __init__(self, specs: dict[str, NodeSpec] | None = None) -> None:
        self._specs: dict[str, NodeSpec] = {}
        self._aliases: dict[str, str] = {}
        for spec in (specs or {}).values():
            self.add(spec)

    def add(self, spec: NodeSpec) -> None:
        for type_id in (spec.type_id, *spec.aliases):
            holder = self._specs.get(self._aliases.get(type_id, type_id))
            if holder is not None and holder.origin != spec.origin:
                raise DuplicateNodeError(
                    f"node type {type_id!r} is defined twice: {holder.origin} and {spec.origin}"
                )
        self._specs[spec.type_id] = spec
        for alias in spec.aliases:
            self._aliases[alias] = spec.type_id

    def canonical(self, type_id: str) -> str:
        """The current id of a node type, following a former id to its new name."""
        return self._aliases.get(type_id, type_id)

    def add_module(self, module: ModuleType) -> None:
        for spec in _specs_in(module):
            self.add(spec)

    def get(self, type_id: str) -> NodeSpec | None:
        """The spec of a type id, or of the node a former id was renamed to."""
        return self._specs.get(self.canonical(type_id))

    def suggest(self, type_id: str, n: int = 3) -> list[str]:
        """Known type ids close to a misspelt one: the best, and others nearly as close.

        An id is ``category.name``. A candidate is close when the whole id is a
        near-spelling (``efect.gain``), when its name is close and its category
        too or absent (``effect.gian``, ``gain``), or when its name is nearly the
        same whatever the category (``filter.gain`` -> ``effect.gain``). A made-up
        id (``my.invert``) gets no suggestion rather than a far one.
        """

        def ratio(a: str, b: str) -> float:
            return difflib.SequenceMatcher(None, a, b).ratio()

        category, _, name = type_id.rpartition(".")
        scored = []
        for known in self._specs:
            known_category, _, known_name = known.rpartition(".")
            whole, name_score = ratio(type_id, known), ratio(name, known_name)
            category_score = ratio(category, known_category) if category else 1.0
            close = (
                whole >= 0.85 or (name_score >= 0.75 and category_score >= 0.6) or name_score >= 0.9
            )
            if close:
                scored.append((max(whole, (name_score + category_score) / 2), known))
        scored.sort(reverse=True)
        if not scored:
            return []
        best = scored[0][0]
        return [known for score, known in scored[:n] if score >= best - 0.08]

    def converters(self, source: str, target: str) -> list[str]:
        """Node types with one input of type ``source`` and an output of type ``target``."""
        found = []
        for spec in self._specs.values():
            inputs = [p for p in spec.inputs if not p.optional]
            single = len(inputs) == 1 and inputs[0].type == source and not inputs[0].variadic
            if single and any(p.type == target for p in spec.outputs):
                found.append(spec.type_id)
        return sorted(found)

    def __iter__(self) -> Iterator[NodeSpec]:
        return iter(sorted(self._specs.values(), key=lambda s: s.type_id))

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._specs or type_id in self._aliases


def _specs_in(module: ModuleType) -> Iterator[NodeSpec]:
    for value in vars(module).values():
        spec = getattr(value, "spec", None)
        if isinstance(spec, NodeSpec) and spec.origin.startswith(module.__name__ + ":"):
            yield spec


def _walk(module: ModuleType) -> Iterator[ModuleType]:
    yield module
    path = getattr(module, "__path__", None)
    if path is None:
        return
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        yield from _walk(importlib.import_module(f"{module.__name__}.{info.name}"))


_DEFAULT: Registry | None = None


def discover() -> Registry:
    """Import every registered node package and collect its specs."""
    registry = Registry()
    for entry in sorted(entry_points(group=NODE_GROUP), key=lambda e: e.name):
        for module in _walk(importlib.import_module(entry.module)):
            registry.add_module(module)
    return registry


def default_registry() -> Registry:
    """The process-wide registry, discovered on first use."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = discover()
    return _DEFAULT
