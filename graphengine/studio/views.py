"""What the studio page shows, as plain data: the graph's nodes, their values and the last run.

:func:`state` turns a :class:`~graphengine.studio.session.Session` into the
JSON the page draws; :func:`picture` and :func:`audio_wav` make the PNGs and
the WAV the page loads for one ``node.port``. Picture and sound URLs carry
the node's cache key, so the browser fetches them again exactly when the
value changed.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from graphengine import display
from graphengine.describe import bounds_text
from graphengine.studio.session import Session, Snapshot
from graphengine.types import (
    Audio,
    Features,
    Frequencies,
    Image,
    Notes,
    Prediction,
    Spectrum,
    Value,
    Vector,
)

TABLE_ROWS = 200
"""Most rows of a value table sent to the page (Vector, Notes, Frequencies)."""

_DRAWING = threading.Lock()
"""Matplotlib is not thread-safe (its text layout caches are shared): one picture at a time."""

PICTURES = {
    Audio: ("waveform", "spectrogram"),
    Spectrum: ("spectrum",),
    Features: ("features",),
    Image: ("image",),
}


def plain(value: Any) -> Any:
    """A parameter value as JSON data (numpy scalars and arrays, paths and tuples made plain)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _table(value: Value) -> dict[str, Any] | None:
    """Columns and rows for the values that read best as a table."""
    if isinstance(value, Vector):
        names = value.names if len(value.names) == value.values.size else ()
        rows = [
            [names[k] if names else f"v{k}", float(v)]
            for k, v in enumerate(value.values.ravel()[:TABLE_ROWS])
        ]
        return {"columns": ["name", "value"], "rows": plain(rows), "total": int(value.values.size)}
    if isinstance(value, Notes):
        count = value.onset_s.size
        velocity = value.velocity if value.velocity.size == count else np.zeros(count)
        rows = [
            [
                float(value.onset_s[k]),
                float(value.duration_s[k]),
                float(value.frequency_hz[k]),
                display.pitch_label(float(value.frequency_hz[k])),
                float(velocity[k]),
            ]
            for k in range(min(count, TABLE_ROWS))
        ]
        columns = ["onset (s)", "duration (s)", "frequency (Hz)", "pitch", "velocity"]
        return {"columns": columns, "rows": plain(rows), "total": int(count)}
    if isinstance(value, Frequencies):
        shown = value.hz[:TABLE_ROWS]
        rows = [[k, float(hz), display.pitch_label(float(hz))] for k, hz in enumerate(shown)]
        total = int(value.hz.size)
        return {"columns": ["index", "Hz", "pitch"], "rows": plain(rows), "total": total}
    if isinstance(value, Prediction) and value.probabilities.ndim == 1:
        probs = value.probabilities
        labels = list(value.classes)
        if len(labels) != probs.size:
            labels = [f"class_{k}" for k in range(probs.size)]
        rows = sorted(([labels[k], float(p)] for k, p in enumerate(probs)), key=lambda r: -r[1])
        return {"columns": ["class", "probability"], "rows": plain(rows), "total": int(probs.size)}
    return None


def value_view(node: str, port: str, value: Value, key: str) -> dict[str, Any]:
    """One output value: its one-line repr, pictures, sound and table as the page needs them."""
    base = f"/api/value/{node}/{port}"
    view: dict[str, Any] = {"port": port, "type": value.port_type, "repr": repr(value)}
    pictures = next((names for cls, names in PICTURES.items() if isinstance(value, cls)), ())
    view["pictures"] = {name: f"{base}/{name}.png?k={key[:16]}" for name in pictures}
    if isinstance(value, Audio):
        channels, frames = value.samples.shape
        duration = frames / value.sample_rate
        view["audio"] = {
            "url": f"{base}/audio.wav?k={key[:16]}",
            "duration_s": duration,
            "frames": int(frames),
            "channels": int(channels),
            "sample_rate": float(value.sample_rate),
            "player_s": min(duration, display.PLAYER_MAX_S),
        }
    table = _table(value)
    if table is not None:
        view["table"] = table
    return view


def _params(node: Any, trials: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for spec in node.spec.params:
        key = f"{node.id}.{spec.name}"
        rows.append(
            {
                "name": spec.name,
                "key": key,
                "kind": spec.kind,
                "value": plain(node.params.get(spec.name)),
                "unit": spec.unit,
                "bounds": bounds_text(spec),
                "choices": plain(spec.choices) if spec.choices else None,
                "description": spec.description,
                "tried": key in trials,
            }
        )
    return rows


def _node_view(node: Any, snapshot: Snapshot, trials: dict[str, Any]) -> dict[str, Any]:
    spec = node.spec
    result = snapshot.result
    stats = {s.node: s for s in result.stats} if result is not None else {}
    stat = stats.get(node.id)
    view: dict[str, Any] = {
        "id": node.id,
        "type": spec.type_id,
        "summary": spec.summary.replace("``", ""),
        "inputs": [
            {"name": p.name, "type": p.type, "from": list(node.sources().get(p.name, ()))}
            for p in spec.inputs
        ],
        "outputs": [{"name": p.name, "type": p.type} for p in spec.outputs],
        "params": _params(node, trials),
        "sink": spec.is_sink,
        "values": [],
    }
    if stat is not None:
        view["cache"] = {
            "status": stat.status,
            "reason": stat.reason,
            "seconds": stat.seconds,
            "fused": stat.fused,
        }
    elif spec.is_sink:
        view["cache"] = {
            "status": "not run",
            "reason": "a sink: the studio does not write files (graphengine render does)",
            "seconds": 0.0,
            "fused": "",
        }
    key = result.keys[node.id].key if result is not None and node.id in result.keys else ""
    for port, value in (result.values.get(node.id, {}) if result is not None else {}).items():
        view["values"].append(value_view(node.id, port, value, key))
    return view


def state(session: Session) -> dict[str, Any]:
    """The whole page state: the file, the last refresh, and every node of the last good run."""
    latest = session.snapshot
    shown = session.shown
    data: dict[str, Any] = {
        "version": latest.version,
        "file": str(session.path),
        "ok": latest.ok,
        "trigger": latest.trigger,
        "seconds": latest.seconds,
        "problems": [p.as_dict() for p in latest.problems],
        "warnings": latest.warnings,
        "trials": plain(session.trials),
        "stale": not latest.ok and shown is not None,
        "nodes": {},
        "order": [],
        "computed": [],
    }
    if shown is None:
        return data
    valid = shown.valid
    data["name"] = valid.graph.name
    data["sample_rate"] = valid.graph.sample_rate
    data["order"] = list(valid.order)
    data["computed"] = list(shown.result.computed) if latest is shown else []
    for node_id in valid.order:
        data["nodes"][node_id] = _node_view(valid.nodes[node_id], shown, session.trials)
    return data


def audio_wav(value: Audio) -> bytes:
    """The value as a 16-bit WAV, at most ``display.PLAYER_MAX_S`` long."""
    return display.wav_bytes(value.samples, value.sample_rate)


def picture(value: Value, name: str) -> bytes | None:
    """The PNG named ``name`` for a value, or None if that picture does not apply to it."""
    with _DRAWING:
        return _draw(value, name)


def _draw(value: Value, name: str) -> bytes | None:
    if isinstance(value, Audio) and name == "spectrogram":
        return display.spectrogram_png(value.samples, value.sample_rate)
    if isinstance(value, Audio) and name == "waveform":
        return display.waveform_png(value.samples, value.sample_rate)
    if isinstance(value, Spectrum) and name == "spectrum":
        return display.spectrum_png(value)
    if isinstance(value, Features) and name == "features":
        return display.features_png(value)
    if isinstance(value, Image) and name == "image":
        return display.image_png(value)
    return None
