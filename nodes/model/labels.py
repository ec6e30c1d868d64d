"""The labels CSV of ``graphengine train``: which file is which class, and the splits.

Columns ``path,label`` and optionally ``split`` (``train``/``test``) and
``group``; paths are relative to the CSV's folder. Without a ``split``
column a seeded stratified split is made; both ways, :func:`split_indices`
checks every class has enough files for the test, validation and fitting
parts. ``group`` names where a file comes from (a recording, an
instrument, a speaker): the seeded splits then keep each group whole on
one side, so nothing of a test or validation group is heard in fitting.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graphengine.errors import GraphError


@dataclass
class Labelled:
    """The rows of a labels CSV: absolute paths, labels, splits (``train``/``test``/``None``)."""

    paths: list[str]
    labels: list[str]
    splits: list[str | None]
    file: str
    groups: list[str] | None = None

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))


def read_labels(path: str | os.PathLike) -> Labelled:
    """Read ``path,label[,split]``; relative paths are relative to the CSV's folder.

    Raises :class:`GraphError` naming the file (and line) for a missing
    column, an empty label, a bad split, paths that name no file, or a single
    class.
    """
    file = Path(path)
    if not file.is_file():
        raise GraphError(f"labels file {file} does not exist")
    with open(file, newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        if "path" not in columns or "label" not in columns:
            raise GraphError(
                f"{file}: needs the columns path,label (and optionally split); got {columns}"
            )
        rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    rows = [row for row in rows if row.get("path")]
    if not rows:
        raise GraphError(f"{file}: no rows")
    paths, labels, splits, groups, missing = [], [], [], [], []
    for number, row in enumerate(rows, start=2):
        resolved = (file.parent / row["path"]).resolve()
        if not resolved.is_file():
            missing.append(f"line {number}: {row['path']}")
        if not row["label"]:
            raise GraphError(f"{file}: line {number} has no label")
        split = row.get("split") or None
        if split not in (None, "train", "test"):
            raise GraphError(f"{file}: line {number}: split must be train or test, got {split!r}")
        paths.append(str(resolved))
        labels.append(row["label"])
        splits.append(split)
        groups.append(row.get("group") or f"row {number}")
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        raise GraphError(
            f"{file}: {len(missing)} path(s) name no file: {'; '.join(missing[:3])}{more}"
        )
    labelled = Labelled(paths, labels, splits, str(file), groups if "group" in columns else None)
    if len(labelled.classes) < 2:
        raise GraphError(
            f"{file}: only one class ({labelled.classes[0]!r}); a classifier needs at least two"
        )
    return labelled


def split_indices(
    labelled: Labelled, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices: the CSV's ``split`` column, or a seeded stratified split.

    Every class needs at least two training rows (one is held out for
    validation), so at least three rows without a ``split`` column; fewer
    is a :class:`GraphError` with the counts.
    """
    labels, splits = labelled.labels, labelled.splits
    if all(s is not None for s in splits):
        train = _rows([i for i, s in enumerate(splits) if s == "train"])
        test = _rows([i for i, s in enumerate(splits) if s == "test"])
        if len(train) == 0 or len(test) == 0:
            raise GraphError(f"{labelled.file}: the split column gives no train or no test rows")
        _enough(labelled, [labels[i] for i in train], 2, "rows with split=train")
        return train, test
    _enough(labelled, labels, 3, "labelled files")
    return stratified(labels, test_fraction, seed, labelled.groups)


def _enough(labelled: Labelled, labels: Sequence[str], need: int, what: str) -> None:
    counts = {name: 0 for name in labelled.classes}
    for label in labels:
        counts[label] += 1
    short = {name: n for name, n in counts.items() if n < need}
    if short:
        listed = ", ".join(f"{name!r} has {n}" for name, n in short.items())
        parts = "1 test, 1 validation, 1 training" if need == 3 else "1 validation, 1 training"
        raise GraphError(
            f"{labelled.file}: too few {what} per class to split into training, validation and "
            f"test: {listed}; each class needs at least {need} ({parts})"
        )


def stratified(
    labels: Sequence[str], fraction: float, seed: int, groups: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per class, ``round(fraction * n)`` (at least one) rows to the second part, seeded.

    With ``groups``, whole groups of a class go to the second part, in a
    seeded order, until it holds at least that many rows; a class with a
    single group is split by rows as without groups.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    first, second = [], []
    for label in sorted(set(labels.tolist())):
        rows = np.flatnonzero(labels == label)
        rows = rows[rng.permutation(len(rows))]
        take = min(max(1, round(fraction * len(rows))), len(rows) - 1) if len(rows) > 1 else 0
        names = sorted({groups[i] for i in rows}) if groups is not None else []
        if len(names) > 1:
            held: set[str] = set()
            for name in (names[i] for i in rng.permutation(len(names))):
                if sum(groups[i] in held for i in rows) >= take or len(held) == len(names) - 1:
                    break
                held.add(name)
            second.extend(i for i in rows.tolist() if groups[i] in held)
            first.extend(i for i in rows.tolist() if groups[i] not in held)
            continue
        second.extend(rows[:take].tolist())
        first.extend(rows[take:].tolist())
    return _rows(sorted(first)), _rows(sorted(second))


def _rows(indices: list[int]) -> np.ndarray:
    """Row indices as an integer array, also when empty (numpy would make it float)."""
    return np.array(indices, dtype=np.intp)
