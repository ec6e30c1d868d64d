"""Checks of a model.json: every key the loader and the model nodes read, before any is used.

A model file is data from disk, so nothing in it is trusted: the
architecture must be a known one for its task, its config must have the
keys the architecture takes with sensible values, the input spec and
normaliser must fit the config, and the weights file must be a plain file
name inside the model folder. Each error names the file and the key, e.g.
``models/m/model.json: config.hidden[0]: must be a positive integer, got -5``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, NoReturn

from graphengine.errors import GraphError

FORMAT = 1
ARCHS = {"classify": ("mlp", "cnn", "lstm"), "generate": ("lstm_gen", "gan")}

# The config keys each architecture is built with (nodes/model/_nets.py) and their kinds.
CONFIGS: dict[str, dict[str, str]] = {
    "mlp": {"in_dim": "count", "n_classes": "count", "hidden": "counts", "dropout": "fraction"},
    "cnn": {
        "rows": "count",
        "n_classes": "count",
        "channels": "counts",
        "embed": "count",
        "dropout": "fraction",
        "batch_norm": "flag",
    },
    "lstm": {"in_dim": "count", "n_classes": "count", "hidden": "count", "dropout": "fraction"},
    "lstm_gen": {"block": "count", "hidden": "count"},
    "gan": {"z_dim": "count", "length": "count"},
}
OPTIONAL: dict[str, set[str]] = {"cnn": {"batch_norm"}}
"""Config keys a model may leave out (those written before the key existed)."""


class ModelFileError(GraphError):
    """A model folder that is missing, incomplete, corrupted or does not fit its input."""


def check(spec: Any, file: Path) -> None:
    """Raise :class:`ModelFileError` naming ``file`` and the key for anything wrong in ``spec``."""
    if not isinstance(spec, dict):
        raise ModelFileError(f"{file}: not a model file (it holds no JSON object)")
    missing = [k for k in ("format", "task", "arch", "config", "input", "weights") if k not in spec]
    if missing:
        raise ModelFileError(f"{file}: not a model file (missing {', '.join(missing)})")
    if spec["format"] != FORMAT:
        raise ModelFileError(f"{file}: model format {spec['format']}, this version reads {FORMAT}")
    where = _Where(file)
    task = spec["task"]
    if task not in ARCHS:
        where.fail("task", f"must be classify or generate, got {task!r}")
    arch = spec["arch"]
    if arch not in ARCHS[task]:
        where.fail("arch", f"a {task} model is one of {', '.join(ARCHS[task])}, got {arch!r}")
    config = where.mapping(spec["config"], "config")
    kinds = CONFIGS[arch]
    for key in config:
        if key not in kinds:
            where.fail(f"config.{key}", f"is not a setting of {arch} (it takes {', '.join(kinds)})")
    for key, kind in kinds.items():
        if key not in config:
            if key in OPTIONAL.get(arch, ()):
                continue
            where.fail(f"config.{key}", f"missing ({arch} needs it)")
        where.value(config[key], f"config.{key}", kind)
    weights = where.mapping(spec["weights"], "weights")
    _check_weights(weights, where)
    if task == "classify":
        _check_classifier(spec, arch, config, where)
    else:
        _check_generator(spec, where)


class _Where:
    """Checks values of one file and raises errors that name it and the key."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, key: str, message: str) -> NoReturn:
        raise ModelFileError(f"{self.file}: {key}: {message}")

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(key, f"must be an object, got {_shown(value)}")
        return value

    def value(self, value: Any, key: str, kind: str) -> None:
        if kind == "count":
            if not _is_int(value) or value < 1:
                self.fail(key, f"must be a positive integer, got {_shown(value)}")
        elif kind == "number":
            if not _is_number(value) or not value > 0:
                self.fail(key, f"must be a positive number, got {_shown(value)}")
        elif kind == "fraction":
            if not _is_number(value) or not 0 <= value < 1:
                self.fail(key, f"must be a number from 0 to below 1, got {_shown(value)}")
        elif kind == "numbers":
            if not isinstance(value, list) or not all(_is_number(v) for v in value):
                self.fail(key, f"must be a list of numbers, got {_shown(value)}")
        elif kind == "flag":
            if not isinstance(value, bool):
                self.fail(key, f"must be true or false, got {_shown(value)}")
        elif kind == "names":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.fail(key, f"must be a list of names, got {_shown(value)}")
        else:  # "counts" or "count pair": a list of positive integers
            if not isinstance(value, list) or not value:
                self.fail(key, f"must be a list of positive integers, got {_shown(value)}")
            if kind == "count pair" and len(value) != 2:
                self.fail(key, f"must be two positive integers, got {_shown(value)}")
            for i, item in enumerate(value):
                self.value(item, f"{key}[{i}]", "count")


def _check_weights(weights: dict[str, Any], where: _Where) -> None:
    name = weights.get("file")
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or "/" in name
        or "\\" in name
        or Path(name).is_absolute()
    ):
        where.fail(
            "weights.file",
            f"must be the name of a file inside the model folder, got {_shown(name)}",
        )
    digest = weights.get("sha256")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        where.fail("weights.sha256", f"must be 64 hex digits, got {_shown(digest)}")


def _check_classifier(
    spec: dict[str, Any], arch: str, config: dict[str, Any], where: _Where
) -> None:
    classes = spec.get("classes")
    where.value(classes, "classes", "names")
    if len(set(classes)) != len(classes) or len(classes) != config["n_classes"]:
        where.fail(
            "classes",
            f"must be {config['n_classes']} different names (config.n_classes), got {len(classes)}",
        )
    given = where.mapping(spec["input"], "input")
    expected = "vector" if arch == "mlp" else "features"
    if given.get("type") != expected:
        where.fail(
            "input.type", f"an {arch} model takes {expected}, got {_shown(given.get('type'))}"
        )
    where.value(given.get("names"), "input.names", "names")
    if arch == "mlp":
        width = config["in_dim"]
        shape = given.get("shape")
        if not isinstance(shape, list) or shape != [width]:
            where.fail("input.shape", f"must be [{width}] (config.in_dim), got {_shown(shape)}")
    else:
        for key in ("channels", "rows"):
            where.value(given.get(key), f"input.{key}", "count")
        where.value(given.get("frame_rate"), "input.frame_rate", "number")
        if arch == "cnn":
            where.value(given.get("frames"), "input.frames", "count")
        width = config["rows" if arch == "cnn" else "in_dim"]
        if given["channels"] * given["rows"] != width:
            where.fail(
                "input.rows",
                f"input.channels x input.rows must be {width} (the config's), got "
                f"{given['channels']} x {given['rows']}",
            )
    normaliser = where.mapping(spec.get("normaliser"), "normaliser")
    for key in ("mean", "std"):
        values = normaliser.get(key)
        where.value(values, f"normaliser.{key}", "numbers")
        if len(values) != width:
            where.fail(f"normaliser.{key}", f"must have {width} values, got {len(values)}")


def _check_generator(spec: dict[str, Any], where: _Where) -> None:
    given = where.mapping(spec["input"], "input")
    if given.get("type") != "audio":
        where.fail("input.type", f"a generator makes audio, got {_shown(given.get('type'))}")
    where.value(given.get("sample_rate"), "input.sample_rate", "number")
    normaliser = where.mapping(spec.get("normaliser"), "normaliser")
    where.value(normaliser.get("scale"), "normaliser.scale", "number")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _shown(value: Any) -> str:
    """``value`` for a message: its repr, shortened past 200 characters (a long list)."""
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."
