"""Cache entries of node outputs: port values packed into named arrays and JSON metadata."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphengine.cache import CacheEntry, freeze_in_place
from graphengine.plan import NodeKey
from graphengine.types import PORT_TYPES, Value
from graphengine.validate import ValidNode


def to_entry(values: Mapping[str, Value], node: ValidNode, key: NodeKey) -> CacheEntry:
    """Pack a node's output values into named arrays plus JSON metadata."""
    arrays: dict[str, Any] = {}
    ports: dict[str, Any] = {}
    for port, value in values.items():
        value_arrays, meta = value.to_arrays()
        ports[port] = {"type": value.port_type, "meta": meta, "arrays": list(value_arrays)}
        for name, array in value_arrays.items():
            arrays[f"{port}.{name}"] = array
    return CacheEntry(arrays, {"node_type": node.type, "ports": ports, "material": key.material})


def from_entry(entry: CacheEntry) -> dict[str, Value]:
    """Unpack a cache entry into output values (raises on a malformed entry)."""
    values: dict[str, Value] = {}
    for port, info in entry.meta["ports"].items():
        arrays = {name: entry.arrays[f"{port}.{name}"] for name in info["arrays"]}
        values[port] = PORT_TYPES[info["type"]].from_arrays(arrays, info["meta"])
    return values


def freeze_outputs(values: Mapping[str, Value]) -> None:
    """Make a node's output arrays read-only in place, as every consumer receives them.

    Whether or not a cache keeps them, the next node gets the same kind of
    array, so a node that writes into its input fails in every run.
    """
    for value in values.values():
        for array in value.to_arrays()[0].values():
            freeze_in_place(array)
