"""Our classifiers against a scikit-learn baseline on real recordings, in one run.

The set is benchmarks/model_data.py's: ten classes of real sampled
instruments and drum kits (1.5 s clips at 16 kHz), split by source so that
the test split holds only instruments and kits never heard in training.
It is built the first time (Debian packages fetched with ``apt-get
download``, outside the repository).

The baseline is what a practitioner would try first: librosa MFCCs (20)
mean and std, spectral centroid and bandwidth mean and std (44 values),
standardised, into scikit-learn's ``MLPClassifier`` (100 hidden units,
early stopping off, 500 iterations), over five seeds (mean ± std), and
``LogisticRegression``; it sees the same training clips and is scored on
the same test clips. Ours are trained with ``train_classifier`` on the
features of the shipped training graphs. Every figure is measured in this
run: test accuracy, balanced accuracy (mean recall over classes) and
macro F1.

    python benchmarks/models_real.py [--data DIR] [--archs mlp cnn] [--seeds 3]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import model_data  # noqa: E402

from nodes.model import train_classifier  # noqa: E402

GRAPHS = REPO / "graphs" / "models"
RUNS = {
    "mlp": (GRAPHS / "instruments_train.toml", "feats.vector"),
    "cnn": (GRAPHS / "instruments_train.toml", "mel"),
    "lstm": (GRAPHS / "instruments_train.toml", "feats.frames"),
}
"""Per architecture: the training graph and its output node."""


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float, float]:
    """Accuracy, balanced accuracy, macro F1 (scikit-learn's, an independent reference)."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    return (
        accuracy_score(y_true, y_pred),
        balanced_accuracy_score(y_true, y_pred),
        f1_score(y_true, y_pred, average="macro"),
    )


def librosa_features(path: str) -> np.ndarray:
    import librosa

    y, sr = librosa.load(path, sr=16000, mono=True)
    parts = [
        librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20),
        librosa.feature.spectral_centroid(y=y, sr=sr),
        librosa.feature.spectral_bandwidth(y=y, sr=sr),
    ]
    return np.concatenate([np.r_[p.mean(axis=1), p.std(axis=1)] for p in parts])


def baseline(rows: list[dict], root: Path, seeds: int) -> dict[str, list[tuple]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.stack([librosa_features(str(root / row["path"])) for row in rows])
    y = np.array([row["label"] for row in rows])
    train = np.array([row["split"] == "train" for row in rows])
    out: dict[str, list[tuple]] = {"sklearn MLP": [], "sklearn logistic": []}
    for seed in range(seeds):
        mlp = make_pipeline(
            StandardScaler(), MLPClassifier((100,), max_iter=500, random_state=seed)
        )
        mlp.fit(x[train], y[train])
        out["sklearn MLP"].append(scores(y[~train], mlp.predict(x[~train])))
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    logistic.fit(x[train], y[train])
    out["sklearn logistic"].append(scores(y[~train], logistic.predict(x[~train])))
    return out


def ours(
    labels: Path, archs: list[str], seeds: int, work: Path, cache: Path
) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for arch in archs:
        graph, node = RUNS[arch]
        for seed in range(seeds):
            started = time.perf_counter()
            metrics = train_classifier(
                graph,
                labels,
                input_param="input",
                output_node=node,
                arch=arch,
                out=work / f"{arch}-{seed}",
                seed=seed,
                cache=cache,
                log=None,
            )
            classes = metrics["classes"]
            confusion = np.array(metrics["confusion"])
            y_true = np.repeat(np.arange(len(classes)), confusion.sum(axis=1))
            y_pred = np.concatenate([np.repeat(np.arange(len(classes)), row) for row in confusion])
            out.setdefault(f"ours {arch}", []).append(scores(y_true, y_pred))
            print(
                f"  {arch} seed {seed}: test accuracy {metrics['test_accuracy']:.3f} "
                f"({metrics['epochs_run']} epochs, {time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=model_data.data_folder() / "real-instruments")
    parser.add_argument("--archs", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--seeds", type=int, default=3, help="training seeds of each model")
    parser.add_argument("--baseline-seeds", type=int, default=5)
    args = parser.parse_args()
    labels = args.data / "labels.csv"
    if not labels.is_file():
        model_data.build(args.data)
    with open(labels, newline="") as handle:
        rows = list(csv.DictReader(handle))
    n_train = sum(row["split"] == "train" for row in rows)
    print(
        f"real set {args.data}: {len(rows)} clips, {len({r['label'] for r in rows})} classes, "
        f"{n_train} train / {len(rows) - n_train} test (split by source)"
    )
    results = baseline(rows, args.data, args.baseline_seeds)
    work = Path(tempfile.mkdtemp(prefix="ge-models-real-"))
    results.update(ours(labels, args.archs, args.seeds, work, args.data.parent / "cache-real"))
    print(f"{'model':<18}{'runs':>5}{'test accuracy':>20}{'balanced acc':>20}{'macro F1':>20}")
    for name, runs in results.items():
        values = np.array(runs)
        cells = "".join(
            f"{values[:, i].mean():>12.3f} ± {values[:, i].std():.3f}" for i in range(3)
        )
        print(f"{name:<18}{len(runs):>5}{cells}")
    best_base = np.mean([r[0] for r in results["sklearn MLP"]])
    best_ours = max(
        (np.mean([r[0] for r in runs]), name)
        for name, runs in results.items()
        if name.startswith("ours")
    )
    print(
        f"best of ours: {best_ours[1]} {best_ours[0]:.3f}; sklearn MLP {best_base:.3f}; "
        f"margin {100 * (best_ours[0] - best_base):+.1f} points (target >= +10)"
    )


if __name__ == "__main__":
    main()
