"""Table sinks: features, vectors and predictions as CSV and JSON files for models and people.

``sink.csv`` writes a frame table (a ``time_s`` column, then one column per
feature row) or a vector as one row; ``sink.json`` writes vectors, features,
predictions or metrics as plain JSON. Non-finite numbers are written as empty
CSV cells and JSON ``null`` (strict JSON has no NaN). Both refuse names that
repeat (a JSON object would keep only the last value, a CSV header would be
ambiguous): at validation where the input's names are known before the run,
else when it runs.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from typing import Any

import numpy as np

from graphengine.node import InferFn, Inputs, NodeContext, OutputPath, Params, PortInfo, node, param
from graphengine.types import Features, Prediction, Value, Vector
from nodes.sink.audio import check_port_type, sink_infer, writing

CSV_TYPES = ("features", "vector")
JSON_TYPES = ("features", "vector", "prediction")
FRAME_CHOICES = ("all", "nonzero")
FRAMES = param(
    "all",
    choices=FRAME_CHOICES,
    description="features: every frame, or only those with a non-zero value (events: beats)",
)


def _names(names: tuple[str, ...], count: int, stem: str) -> list[str]:
    return list(names) if len(names) == count else [f"{stem}{k}" for k in range(count)]


def unique_names(names: list[str], what: str, ctx: NodeContext) -> list[str]:
    """``names`` when no name repeats; else a PortError on ``in`` naming the repeated ones."""
    repeated = [f"{name!r} ({count} times)" for name, count in Counter(names).items() if count > 1]
    if repeated:
        source = ", ".join(ctx.sources.get("in", ())) or "its input"
        raise ctx.port_error(
            "in",
            f"the {what} names from {source} repeat: {', '.join(repeated)}; {ctx.node_type} "
            "needs each name once (feature.stack_vectors's prefixes tell the inputs of a "
            "stack apart)",
        )
    return names


def _columns(names: tuple[str, ...], channels: int, n: int) -> list[str]:
    rows = _names(names, n, "f")  # checked for repeats by the sinks
    if channels == 1:
        return rows
    return [f"ch{c}_{name}" for c in range(channels) for name in rows]


def feature_columns(features: Features) -> list[str]:
    """Column names of a feature table: row names, prefixed ``ch<c>_`` when multi-channel."""
    channels, n, _ = features.values.shape
    return _columns(features.names, channels, n)


def table_infer(allowed: tuple[str, ...], table: bool) -> InferFn:
    """A table sink's infer: the port type, and repeated names where they are known already.

    ``table`` (CSV) checks the header a features input gives (``time_s`` and a
    column per row and channel); JSON checks a features input's row names.
    Where the names are known only to the run, the run checks them.
    """
    check_type = sink_infer(allowed)

    def infer(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
        check_type(inputs, params, ctx)
        info = inputs.get("in")
        if not isinstance(info, PortInfo) or info.names is None or info.shape is None:
            return {}
        if info.type == "vector":
            unique_names(_names(info.names, info.shape[0], "v"), "vector", ctx)
        elif info.type == "features" and table:
            unique_names(["time_s", *_columns(info.names, *info.shape[:2])], "feature", ctx)
        elif info.type == "features":
            unique_names(_names(info.names, info.shape[1], "f"), "feature", ctx)
        return {}

    infer.__doc__ = f"No outputs; the input is one of {', '.join(allowed)}, its names unique."
    return infer


def frame_times(features: Features) -> np.ndarray:
    """Time in seconds of each frame: k / frame_rate = k * hop / sample_rate."""
    frames = features.values.shape[2]
    return np.arange(frames) / features.frame_rate


def kept_frames(features: Features, frames: str) -> np.ndarray:
    """Indices of the frames to write: all, or those where any row of any channel is non-zero."""
    if frames == "all":
        return np.arange(features.values.shape[2])
    return np.flatnonzero(np.any(features.values != 0, axis=(0, 1)))


def _cell(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else ""


@node("sink.csv", version=1, infer=table_infer(CSV_TYPES, table=True))
def csv_table(
    in_: Value,
    *,
    path: OutputPath = param(suffix=".csv", description="the CSV file to write"),
    frames: str = FRAMES,
    ctx: NodeContext,
) -> None:
    """Write features as a frame table, or a vector as one row, to a CSV file.

    Features: a header ``time_s,<name>,...`` then one line per frame, with
    frame k at time k * hop / sample_rate seconds (k / frame_rate; the
    centre of a centred STFT frame); several channels give columns
    ``ch0_<name>``, ``ch1_<name>``, ... Vector: the names as header and the
    values as one row. Numbers are written with full float precision;
    NaN (e.g. unvoiced pitch) as an empty cell. ``frames = "nonzero"``
    writes only the frames where some value is non-zero: one line per event
    of an event track such as ``feature.beats`` (its beat times).

    Example
    -------
        table = {in = "feats", path = "out/features.csv"}
    """
    check_port_type(in_.port_type, CSV_TYPES, ctx)
    if isinstance(in_, Vector):
        rows = [unique_names(_names(in_.names, in_.values.size, "v"), "vector", ctx)]
        rows.append([_cell(v) for v in in_.values])
    else:
        assert isinstance(in_, Features)
        rows = [unique_names(["time_s", *feature_columns(in_)], "feature", ctx)]
    with writing(path, ctx), open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows(rows)
        if isinstance(in_, Features):
            channels, n, _ = in_.values.shape
            keep = kept_frames(in_, frames)
            table = in_.values.reshape(channels * n, -1)[:, keep].T.astype(np.float64)
            for time, row in zip(frame_times(in_)[keep], table, strict=True):
                writer.writerow([repr(float(time)), *(_cell(v) for v in row)])


def _finite(values: np.ndarray) -> Any:
    """Nested lists of Python floats, with None for NaN and infinity (strict JSON)."""
    array = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(array), array.astype(object), None).tolist()


@node("sink.json", version=1, infer=table_infer(JSON_TYPES, table=False))
def json_file(
    in_: Value,
    *,
    path: OutputPath = param(suffix=".json", description="the JSON file to write"),
    frames: str = FRAMES,
    ctx: NodeContext,
) -> None:
    """Write a vector (summaries, metrics), features or a prediction as JSON.

    Vector: ``{"type": "vector", "values": {name: value, ...}}`` in order.
    Prediction: ``{"type": "prediction", "classes": [...], "probabilities":
    [...], "top": class}``. Features: ``{"type": "features", "frame_rate",
    "names", "times_s", "values": [channel][row][frame]}``; with ``frames =
    "nonzero"`` only the frames where some value is non-zero (the events of
    ``feature.beats``: ``times_s`` are then the beat times). NaN and
    infinity are written as null.

    Example
    -------
        report = {in = "stats", path = "out/summary.json"}
    """
    check_port_type(in_.port_type, JSON_TYPES, ctx)
    document: dict[str, Any]
    if isinstance(in_, Vector):
        names = unique_names(_names(in_.names, in_.values.size, "v"), "vector", ctx)
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
        keep = kept_frames(in_, frames)
        document = {
            "type": "features",
            "frame_rate": in_.frame_rate,
            "names": unique_names(_names(in_.names, in_.values.shape[1], "f"), "feature", ctx),
            "times_s": frame_times(in_)[keep].tolist(),
            "values": _finite(in_.values[:, :, keep]),
        }
    with writing(path, ctx), open(path, "w") as handle:
        json.dump(document, handle, indent=1, allow_nan=False)
        handle.write("\n")
