"""Table sinks: features, vectors and predictions as CSV and JSON files for models and people.

``sink.csv`` writes a frame table (a ``time_s`` column, then one column per
feature row) or a vector as one row; ``sink.json`` writes vectors, features,
predictions or metrics as plain JSON. Non-finite numbers are written as empty
CSV cells and JSON ``null`` (strict JSON has no NaN).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from graphengine.node import NodeContext, OutputPath, PortInfo, node, param
from graphengine.types import Features, Prediction, Value, Vector
from nodes.sink.audio import check_suffix

CSV_TYPES = ("features", "vector")
JSON_TYPES = ("features", "vector", "prediction")


def _check(
    inputs: Mapping[str, Any],
    params: Mapping[str, Any],
    ctx: NodeContext,
    suffix: str,
    allowed: tuple[str, ...],
) -> None:
    check_suffix(params["path"], suffix, ctx)
    info = inputs.get("in")
    if isinstance(info, PortInfo):
        _check_type(info.type, allowed, ctx)


def _check_type(port_type: str, allowed: tuple[str, ...], ctx: NodeContext) -> None:
    if port_type not in allowed:
        raise ctx.port_error(
            "in", f"{ctx.node_type} writes {' or '.join(allowed)}, got {port_type}"
        )


def _names(names: tuple[str, ...], count: int, stem: str) -> list[str]:
    return list(names) if len(names) == count else [f"{stem}{k}" for k in range(count)]


def feature_columns(features: Features) -> list[str]:
    """Column names of a feature table: row names, prefixed ``ch<c>_`` when multi-channel."""
    channels, n, _ = features.values.shape
    names = _names(features.names, n, "f")
    if channels == 1:
        return names
    return [f"ch{c}_{name}" for c in range(channels) for name in names]


def frame_times(features: Features) -> np.ndarray:
    """Time in seconds of each frame: k / frame_rate = k * hop / sample_rate."""
    frames = features.values.shape[2]
    return np.arange(frames) / features.frame_rate


def _cell(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else ""


def infer_csv(
    inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
) -> dict[str, PortInfo]:
    """No outputs; the path must end in .csv and the input be features or a vector."""
    _check(inputs, params, ctx, ".csv", CSV_TYPES)
    return {}


@node("sink.csv", version=1, infer=infer_csv)
def csv_table(
    in_: Value,
    *,
    path: OutputPath = param(description="the .csv file to write"),
    ctx: NodeContext,
) -> None:
    """Write features as a frame table, or a vector as one row, to a CSV file.

    Features: a header ``time_s,<name>,...`` then one line per frame, with
    frame k at time k * hop / sample_rate seconds (k / frame_rate; the
    centre of a centred STFT frame); several channels give columns
    ``ch0_<name>``, ``ch1_<name>``, ... Vector: the names as header and the
    values as one row. Numbers are written with full float precision;
    NaN (e.g. unvoiced pitch) as an empty cell.

    Example
    -------
        [nodes.table]
        type = "sink.csv"
        in = "feats"
        path = "out/features.csv"
    """
    _check_type(in_.port_type, CSV_TYPES, ctx)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        if isinstance(in_, Vector):
            writer.writerow(_names(in_.names, in_.values.size, "v"))
            writer.writerow([_cell(v) for v in in_.values])
            return
        assert isinstance(in_, Features)
        channels, n, frames = in_.values.shape
        writer.writerow(["time_s", *feature_columns(in_)])
        table = in_.values.reshape(channels * n, frames).T.astype(np.float64)
        for time, row in zip(frame_times(in_), table, strict=True):
            writer.writerow([repr(float(time)), *(_cell(v) for v in row)])


def _finite(values: np.ndarray) -> Any:
    """Nested lists of Python floats, with None for NaN and infinity (strict JSON)."""
    array = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(array), array.astype(object), None).tolist()


def infer_json(
    inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
) -> dict[str, PortInfo]:
    """No outputs; the path must end in .json and the input be a vector, features or prediction."""
    _check(inputs, params, ctx, ".json", JSON_TYPES)
    return {}


@node("sink.json", version=1, infer=infer_json)
def json_file(
    in_: Value,
    *,
    path: OutputPath = param(description="the .json file to write"),
    ctx: NodeContext,
) -> None:
    """Write a vector (summaries, metrics), features or a prediction as JSON.

    Vector: ``{"type": "vector", "values": {name: value, ...}}`` in order.
    Prediction: ``{"type": "prediction", "classes": [...], "probabilities":
    [...], "top": class}``. Features: ``{"type": "features", "frame_rate",
    "names", "times_s", "values": [channel][row][frame]}``. NaN and infinity
    are written as null.

    Example
    -------
        [nodes.report]
        type = "sink.json"
        in = "stats"
        path = "out/summary.json"
    """
    _check_type(in_.port_type, JSON_TYPES, ctx)
    document: dict[str, Any]
    if isinstance(in_, Vector):
        names = _names(in_.names, in_.values.size, "v")
        document = {"type": "vector", "values": dict(zip(names, _finite(in_.values), strict=True))}
    elif isinstance(in_, Prediction):
        probs = in_.probabilities
        classes = _names(in_.classes, probs.shape[-1] if probs.ndim else 0, "class_")
        document = {"type": "prediction", "classes": classes, "probabilities": _finite(probs)}
        if probs.ndim == 1 and probs.size:
            document["top"] = classes[int(np.argmax(probs))]
        elif probs.ndim == 2 and probs.size:
            document["top"] = [classes[int(i)] for i in np.argmax(probs, axis=1)]
    else:
        assert isinstance(in_, Features)
        document = {
            "type": "features",
            "frame_rate": in_.frame_rate,
            "names": _names(in_.names, in_.values.shape[1], "f"),
            "times_s": frame_times(in_).tolist(),
            "values": _finite(in_.values),
        }
    with open(path, "w") as handle:
        json.dump(document, handle, indent=1, allow_nan=False)
        handle.write("\n")
