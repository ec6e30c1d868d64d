"""What a model is fed: the input spec recorded in model.json, and normalised arrays.

Training and the model nodes share these, so a model sees at inference
exactly what it saw in training: an ``mlp`` a standardised vector, a ``cnn``
a (rows, frames) patch cropped or padded to its training length, an ``lstm``
a (frames, rows) sequence of any length with its length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphengine.errors import GraphError


def input_spec(values: Sequence[Any], arch: str, graph: dict[str, Any]) -> dict[str, Any]:
    """What the model is fed, recorded in model.json and checked by the nodes."""
    first = values[0]
    if arch == "mlp":
        if first.port_type != "vector":
            raise GraphError(
                f"--arch mlp needs a vector output node, {graph.get('output_node')} gives "
                f"{first.port_type} (put feature.summary after it)"
            )
        dims = {v.values.shape[0] for v in values}
        if len(dims) != 1:
            raise GraphError(f"the output vectors have different lengths: {sorted(dims)}")
        return {
            "type": "vector",
            "names": list(first.names),
            "shape": [int(first.values.size)],
            "graph": graph,
        }
    if first.port_type != "features":
        raise GraphError(
            f"--arch {arch} needs a features output node (e.g. spectral.mel or feature.mfcc), "
            f"{graph.get('output_node')} gives {first.port_type}"
        )
    rows = {v.values.shape[0] * v.values.shape[1] for v in values}
    if len(rows) != 1:
        raise GraphError(f"the output features have different numbers of rows: {sorted(rows)}")
    frames = [v.values.shape[2] for v in values]
    return {
        "type": "features",
        "names": list(first.names),
        "channels": int(first.values.shape[0]),
        "rows": int(first.values.shape[1]),
        "frames": int(max(frames)) if arch == "cnn" else None,
        "frame_rate": float(first.frame_rate),
        "shape": [int(first.values.shape[0]), int(first.values.shape[1]), None],
        "graph": graph,
    }


def as_rows(value: Any) -> np.ndarray:
    """A features value as (frames, channels * n) float32."""
    v = value.values
    return np.ascontiguousarray(v.reshape(v.shape[0] * v.shape[1], v.shape[2]).T)


def fit_frames(sequence: np.ndarray, frames: int) -> np.ndarray:
    """Crop (centre) or zero-pad (at the end) a (frames, n) sequence to ``frames``."""
    have = sequence.shape[0]
    if have >= frames:
        start = (have - frames) // 2
        return sequence[start : start + frames]
    return np.concatenate([sequence, np.zeros((frames - have, sequence.shape[1]), sequence.dtype)])


def design(
    values: Sequence[Any], arch: str, spec: dict[str, Any], normaliser: dict | None = None
) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Normalised model inputs (and sequence lengths for the lstm); fits the normaliser if None."""
    if arch == "mlp":
        x = np.stack([v.values for v in values]).astype(np.float32)
        if normaliser is None:
            normaliser = _fit(x)
        return _apply(x, normaliser), None, normaliser
    sequences = [as_rows(v) for v in values]
    if normaliser is None:
        normaliser = _fit(np.concatenate(sequences))
    sequences = [_apply(s, normaliser) for s in sequences]
    if arch == "cnn":
        x = np.stack([fit_frames(s, spec["frames"]).T for s in sequences])  # (n, rows, frames)
        return x.astype(np.float32), None, normaliser
    lengths = np.array([len(s) for s in sequences], np.int32)
    longest = int(lengths.max())
    x = np.stack([fit_frames(s, longest) for s in sequences])  # (n, frames, rows)
    return x.astype(np.float32), lengths, normaliser


def _fit(x: np.ndarray) -> dict[str, list[float]]:
    """Mean and standard deviation per feature (NaN-safe; a constant feature gets std 1)."""
    finite = np.where(np.isfinite(x), x, np.nan)
    mean = np.nan_to_num(np.nanmean(finite, axis=0))
    std = np.nan_to_num(np.nanstd(finite, axis=0))
    std = np.where(std > 1e-8, std, 1.0)
    return {"mean": mean.astype(float).tolist(), "std": std.astype(float).tolist()}


def _apply(x: np.ndarray, normaliser: dict) -> np.ndarray:
    mean = np.asarray(normaliser["mean"], np.float32)
    std = np.asarray(normaliser["std"], np.float32)
    return np.nan_to_num((x - mean) / std).astype(np.float32)
