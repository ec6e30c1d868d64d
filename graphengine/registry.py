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
from types import ModuleType
from typing import TYPE_CHECKING, Any

from graphengine.plugins import entry_points

if TYPE_CHECKING:
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
        self._index: dict[str, dict[str, Any]] = {}  # type id -> row, of specs not imported yet
        self.index_key: str | None = None
        for spec in (specs or {}).values():
            self.add(spec)

    @classmethod
    def from_index(cls, rows: dict[str, dict[str, Any]], key: str) -> Registry:
        """A registry that imports a node's module when one of its types is first asked for.

        ``rows`` are :func:`index_row` by type id (see :mod:`graphengine.nodeindex`);
        iterating the registry imports every module.
        """
        registry = cls()
        registry._index = dict(rows)
        registry.index_key = key
        for type_id, row in rows.items():
            for alias in row["aliases"]:
                registry._aliases[alias] = type_id
        return registry

    def _import(self, type_id: str) -> None:
        """Import the module of an indexed type (and so every type it defines)."""
        row = self._index.get(type_id)
        if row is None:
            return
        module = importlib.import_module(row["module"])
        found = list(_specs_in(module))
        for spec in found:
            self._index.pop(spec.type_id, None)
            self._add(spec)
        self._index.pop(type_id, None)  # a stale row: the module no longer defines it

    def _import_all(self) -> None:
        for module in sorted({row["module"] for row in self._index.values()}):
            for type_id in [t for t, row in self._index.items() if row["module"] == module]:
                self._import(type_id)

    def add(self, spec: NodeSpec) -> None:
        """Register a spec; a registry changed so no longer matches its on-disk index."""
        self._add(spec)
        self.index_key = None

    def _add(self, spec: NodeSpec) -> None:
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
        canonical = self.canonical(type_id)
        if canonical not in self._specs:
            self._import(canonical)
        return self._specs.get(canonical)

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
        for known in sorted({*self._specs, *self._index}):
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
        found = [
            type_id
            for type_id, row in self._index.items()
            if _converts(row["inputs"], row["outputs"], source, target)
        ]
        for spec in self._specs.values():
            inputs = [(p.type, p.optional, p.variadic) for p in spec.inputs]
            if _converts(inputs, [p.type for p in spec.outputs], source, target):
                found.append(spec.type_id)
        return sorted(found)

    def auto_converters(self) -> list[str]:
        """The type ids of converters validation inserts by itself (``auto_convert``)."""
        found = [type_id for type_id, row in self._index.items() if row["auto_convert"]]
        found += [spec.type_id for spec in self._specs.values() if spec.auto_convert]
        return sorted(found)

    def __iter__(self) -> Iterator[NodeSpec]:
        self._import_all()
        return iter(sorted(self._specs.values(), key=lambda s: s.type_id))

    def __len__(self) -> int:
        return len(self._specs) + len(self._index)

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._specs or type_id in self._aliases or type_id in self._index


def _converts(inputs: list[Any], outputs: list[str], source: str, target: str) -> bool:
    """Whether a node converts ``source`` to ``target``; inputs are (type, optional, variadic)."""
    required = [port for port in inputs if not port[1]]
    single = len(required) == 1 and required[0][0] == source and not required[0][2]
    return single and target in outputs


def index_row(spec: NodeSpec) -> dict[str, Any]:
    """What the on-disk index keeps of a spec."""
    return {
        "module": spec.origin.partition(":")[0],
        "aliases": list(spec.aliases),
        "inputs": [[p.type, p.optional, p.variadic] for p in spec.inputs],
        "outputs": [p.type for p in spec.outputs],
        "auto_convert": bool(spec.auto_convert),
    }


def _specs_in(module: ModuleType) -> Iterator[NodeSpec]:
    from graphengine.node import NodeSpec

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


def _node_entries() -> list[tuple[str, str]]:
    """``(name, module)`` of each entry point of the node group, by name."""
    return [(name, value.partition(":")[0].strip()) for name, value in entry_points(NODE_GROUP)]


def discover(entries: list[tuple[str, str]] | None = None) -> Registry:
    """Import every registered node package and collect its specs."""
    registry = Registry()
    for _name, module_name in _node_entries() if entries is None else entries:
        for module in _walk(importlib.import_module(module_name)):
            registry.add_module(module)
    return registry


def default_registry() -> Registry:
    """The process-wide registry, on first use read from the on-disk index or discovered.

    With a current index (:mod:`graphengine.nodeindex`) no node module is
    imported until a type of it is asked for; otherwise every node package is
    imported and the index written for the next process.
    """
    global _DEFAULT
    if _DEFAULT is None:
        from graphengine import nodeindex

        entries = _node_entries()
        key = nodeindex.source_key(entries)
        rows = nodeindex.read(key, "registry") if key is not None else None
        if isinstance(rows, dict):
            _DEFAULT = Registry.from_index(rows, key)
        else:
            _DEFAULT = discover(entries)
            _DEFAULT.index_key = key
            if key is not None:
                nodeindex.write(key, "registry", {s.type_id: index_row(s) for s in _DEFAULT})
    return _DEFAULT
