"""Collected values: ``--collect`` outputs as one table, ``DIR/collected.csv`` (and parquet).

A collected output is a ``vector`` or a ``prediction``; each input that
succeeded gives one row: ``input``, then one column per number, named by the
vector's names (class names for a prediction, ``class[i]`` for row ``i`` of a
2-D one), prefixed ``node.`` when several nodes are collected and ``node[i]``
when unnamed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphengine import graphfile
from graphengine.distributed.manifest import csv_text
from graphengine.distributed.records import DONE
from graphengine.errors import GraphError
from graphengine.fsutil import write_bytes_atomic, write_text_atomic
from graphengine.graph import PortRef
from graphengine.validate import ValidGraph

COLLECTED_CSV = "collected.csv"
COLLECTED_PARQUET = "collected.parquet"
COLLECTABLE = ("vector", "prediction")


@dataclass(frozen=True)
class Collect:
    """One collected output."""

    node: str
    port: str
    prefix: str  # column prefix: "" with one collected node, "node." with several


def resolve_collects(valid: ValidGraph, names: Sequence[str]) -> tuple[Collect, ...]:
    """The outputs ``--collect NODE[.PORT]`` names; a bad name raises :class:`GraphError`."""
    found = []
    for name in names:
        ref = valid.graph.resolve_alias(PortRef.parse(name))
        node = valid.nodes.get(ref.node)
        if node is None:
            hint = graphfile.did_you_mean(ref.node, valid.nodes)
            raise GraphError(f"--collect {name}: no node {ref.node!r}{hint}", file=valid.file)
        port = ref.port or node.spec.default_output
        spec = node.spec.output(port) if port else None
        if spec is None:
            raise GraphError(
                f"--collect {name}: {node.id} [{node.type}] has no output {port or 'out'!r}",
                file=valid.file,
            )
        if spec.type not in COLLECTABLE:
            raise GraphError(
                f"--collect {name}: {node.id}.{port} [{node.type}] is {spec.type}; only vector "
                f"or prediction outputs can be collected",
                file=valid.file,
            )
        found.append((node.id, port))
    unique = list(dict.fromkeys(found))
    return tuple(Collect(n, p, f"{n}." if len(unique) > 1 else "") for n, p in unique)


def flatten(value: Any, collect: Collect) -> dict[str, float]:
    """A vector's or prediction's numbers as ``{column: float}`` (see the module doc)."""
    arrays, meta = value.to_arrays()
    if value.port_type == "vector":
        numbers, names = arrays["values"].reshape(-1), list(meta.get("names", []))
    else:
        probabilities, classes = arrays["probabilities"], list(meta.get("classes", []))
        numbers, names = probabilities.reshape(-1), classes
        if probabilities.ndim == 2:
            rows = probabilities.shape[0]
            names = [f"{c}[{i}]" for i in range(rows) for c in classes]
    if len(names) != numbers.size:  # unnamed: node[index]
        return {f"{collect.node}[{i}]": float(x) for i, x in enumerate(numbers.tolist())}
    return {f"{collect.prefix}{n}": float(x) for n, x in zip(names, numbers.tolist(), strict=True)}


def write_collected(records: Sequence[Mapping[str, Any]], out_dir: Path) -> list[Path]:
    """``collected.csv`` (and ``.parquet`` with pyarrow): one row per input that succeeded.

    Returns the files written; each is written atomically.
    """
    done = [r for r in records if r["status"] in DONE]
    columns = list(dict.fromkeys(name for r in done for name in r["values"]))
    rows = [
        {"input": r["input"], **{c: repr(r["values"][c]) for c in columns if c in r["values"]}}
        for r in done
    ]
    csv_path = out_dir / COLLECTED_CSV
    write_text_atomic(csv_path, csv_text(rows, ["input", *columns], header=True))
    written = [csv_path]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return written
    table = pa.table(
        {
            "input": [r["input"] for r in done],
            **{c: pa.array([r["values"].get(c) for r in done], pa.float64()) for c in columns},
        }
    )
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    parquet_path = out_dir / COLLECTED_PARQUET
    write_bytes_atomic(parquet_path, buffer.getvalue().to_pybytes())
    written.append(parquet_path)
    return written
