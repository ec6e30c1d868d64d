"""What training measures: classifier accuracy and confusion, a generator's spectral distance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def classification_metrics(
    y_train: np.ndarray,
    train_pred: np.ndarray,
    y_test: np.ndarray,
    test_pred: np.ndarray,
    classes: Sequence[str],
) -> dict[str, Any]:
    """Accuracies, class-balanced scores, per-class precision/recall/F1 on test, confusion.

    The labels and predictions are class indices into ``classes``; the
    confusion matrix has the true class in rows, the predicted in columns.
    ``test_balanced_accuracy`` is the mean recall over the classes present
    in the test split, ``test_macro_f1`` the mean F1 over the same classes
    (scikit-learn's ``balanced_accuracy_score`` and ``f1_score(average=
    "macro")`` when every class is present).
    """
    k = len(classes)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (y_test, test_pred), 1)
    per_class = {}
    for i, name in enumerate(classes):
        tp = confusion[i, i]
        predicted, actual = confusion[:, i].sum(), confusion[i].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {
            "precision": round(float(precision), 6),
            "recall": round(float(recall), 6),
            "f1": round(float(f1), 6),
            "support": int(actual),
        }
    present = [row for row in per_class.values() if row["support"]]
    return {
        "train_accuracy": round(float(np.mean(y_train == train_pred)), 6),
        "test_accuracy": round(float(np.mean(y_test == test_pred)), 6),
        "test_balanced_accuracy": round(float(np.mean([r["recall"] for r in present])), 6),
        "test_macro_f1": round(float(np.mean([r["f1"] for r in present])), 6),
        "classes": list(classes),
        "per_class": per_class,
        "confusion": confusion.tolist(),
    }


def report(metrics: dict[str, Any]) -> str:
    """Classifier metrics as a few lines of text (what the CLI prints)."""
    lines = [
        f"{metrics['arch']}: train accuracy {metrics['train_accuracy']:.3f}, "
        f"test accuracy {metrics['test_accuracy']:.3f}, "
        f"balanced {metrics['test_balanced_accuracy']:.3f}, "
        f"macro F1 {metrics['test_macro_f1']:.3f} "
        f"(best epoch {metrics['best_epoch']} of {metrics['epochs_run']})",
        f"{'class':<12}{'precision':>10}{'recall':>10}{'f1':>8}{'n':>5}",
    ]
    for name, row in metrics["per_class"].items():
        lines.append(
            f"{name:<12}{row['precision']:>10.3f}{row['recall']:>10.3f}"
            f"{row['f1']:>8.3f}{row['support']:>5}"
        )
    lines.append("confusion (rows true, columns predicted):")
    width = max(len(c) for c in metrics["classes"]) + 2
    lines.append(" " * width + "".join(f"{c[:6]:>7}" for c in metrics["classes"]))
    for name, row in zip(metrics["classes"], metrics["confusion"], strict=True):
        lines.append(f"{name:<{width}}" + "".join(f"{v:>7}" for v in row))
    return "\n".join(lines)


def spectral_distance(a: np.ndarray, b: np.ndarray) -> float:
    """RMS difference in dB of the mean power spectra of two sets of clips (rows)."""

    def mean_db(x: np.ndarray) -> np.ndarray:
        window = np.hanning(x.shape[-1])
        power = np.mean(np.abs(np.fft.rfft(x * window, axis=-1)) ** 2, axis=0)
        return 10 * np.log10(power + 1e-10)

    return float(np.sqrt(np.mean((mean_db(a) - mean_db(b)) ** 2)))
