"""The parts of classifier training that need no JAX: metrics, grouped splits, augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from graphengine.errors import GraphError
from nodes.model.augment import augment_batch, settings
from nodes.model.labels import stratified
from nodes.model.metrics import classification_metrics


def test_balanced_accuracy_and_macro_f1_follow_their_definitions() -> None:
    # the definitions scikit-learn's balanced_accuracy_score and f1_score(average="macro") use
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 200)
    pred = np.where(rng.random(200) < 0.6, y, rng.integers(0, 4, 200))
    recall = [np.mean(pred[y == k] == k) for k in range(4)]
    precision = [np.mean(y[pred == k] == k) for k in range(4)]
    f1 = [2 * p * r / (p + r) for p, r in zip(precision, recall, strict=True)]
    metrics = classification_metrics(y, y, y, pred, ["a", "b", "c", "d"])
    assert metrics["test_balanced_accuracy"] == pytest.approx(np.mean(recall), abs=1e-6)
    assert metrics["test_macro_f1"] == pytest.approx(np.mean(f1), abs=1e-6)
    assert metrics["test_balanced_accuracy"] != pytest.approx(metrics["test_accuracy"], abs=1e-4)


def test_a_grouped_split_keeps_every_group_on_one_side() -> None:
    labels = ["x"] * 12 + ["y"] * 9
    groups = [f"x{i // 3}" for i in range(12)] + [f"y{i // 3}" for i in range(9)]
    first, second = stratified(labels, 0.25, 0, groups)
    assert sorted([*first, *second]) == list(range(21))
    assert not {groups[i] for i in first} & {groups[i] for i in second}
    assert {labels[i] for i in second} == {"x", "y"}
    again = stratified(labels, 0.25, 0, groups)
    assert [a.tolist() for a in again] == [first.tolist(), second.tolist()]


def test_augmentation_is_seeded_varies_and_keeps_the_shape() -> None:
    x = np.random.default_rng(0).standard_normal((4, 16, 20)).astype(np.float32)
    normaliser = {"mean": [-40.0] * 16, "std": [10.0] * 16}
    options = settings(True)
    one = augment_batch(x, "cnn", options, np.random.default_rng([0, 1]), normaliser)
    same = augment_batch(x, "cnn", options, np.random.default_rng([0, 1]), normaliser)
    other = augment_batch(x, "cnn", options, np.random.default_rng([0, 2]), normaliser)
    assert one.shape == x.shape and one.dtype == np.float32 and np.isfinite(one).all()
    np.testing.assert_array_equal(one, same)
    assert not np.array_equal(one, other) and not np.array_equal(one, x)
    quiet = {**options, "noise_snr_db": None, "pitch_rows": 0, "time_shift": 0.0}
    quiet.update(freq_masks=0, time_masks=0, gain_db=0.0)
    np.testing.assert_allclose(
        augment_batch(x, "cnn", quiet, np.random.default_rng(0), normaliser), x, atol=1e-5
    )
    with pytest.raises(GraphError, match="unknown setting"):
        settings({"gain": 3})
