"""Reading graph files written for older node versions, and rewriting them.

A node type that was renamed keeps its former ids as aliases; a node whose
parameters changed declares :class:`graphengine.node.Upgrade` steps. The
loader applies both to every node table (:func:`upgrade_table`) and says so
once per file with a :class:`GraphUpgradeWarning`; :func:`graphengine.graphfile.upgrade_file`
rewrites a file in place so the notice goes away.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphengine.errors import GraphUpgradeWarning as GraphUpgradeWarning

if TYPE_CHECKING:
    from graphengine.registry import Registry


@dataclass(frozen=True)
class TableUpgrade:
    """What upgrading one node table changed."""

    node_id: str
    old_type: str
    new_type: str
    changes: tuple[str, ...]

    def describe(self) -> str:
        parts = [f"type {self.old_type!r} is now {self.new_type!r}"] * (
            self.old_type != self.new_type
        )
        parts += [f"parameter {c}" for c in self.changes]
        return f"node {self.node_id!r}: " + ", ".join(parts)


def upgrade_table(
    registry: Registry, node_id: str, type_id: str, table: Mapping[str, Any]
) -> tuple[str, dict[str, Any], TableUpgrade | None]:
    """The current type id and table for a node table that may be older.

    ``table`` holds the node's keys other than ``type``. Unknown types are
    returned as they are (validation reports them).
    """
    spec = registry.get(type_id)
    if spec is None:
        return type_id, dict(table), None
    upgraded = dict(table)
    changes: list[str] = []
    for step in spec.upgrades:
        upgraded, made = step.apply(upgraded)
        changes += [f"{c} (version {step.version})" for c in made]
    if spec.type_id == type_id and not changes:
        return type_id, upgraded, None
    return spec.type_id, upgraded, TableUpgrade(node_id, type_id, spec.type_id, tuple(changes))


_WARNED: set[tuple[str, str]] = set()


def warn_upgraded(file: str | None, upgrades: list[TableUpgrade]) -> None:
    """One :class:`GraphUpgradeWarning` per file and process listing what was upgraded."""
    if not upgrades:
        return
    where = file or "<graph>"
    lines = "; ".join(u.describe() for u in upgrades)
    if (where, lines) in _WARNED:
        return
    _WARNED.add((where, lines))
    hint = f" (graphengine upgrade {where} rewrites it)" if file else ""
    warnings.warn(
        GraphUpgradeWarning(f"{where}: read as the current node versions: {lines}{hint}"),
        stacklevel=3,
    )
