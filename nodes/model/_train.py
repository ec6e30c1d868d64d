"""Training: features from a graph run once per labelled file, then Flax NNX + optax.

:func:`train_classifier` is what ``graphengine train`` runs; :func:`train_generator`
is ``graphengine train-gen``. Both are deterministic for a given seed (CPU JAX
is; shuffles and splits use ``numpy.random.default_rng(seed)``, parameters
and dropout ``nnx.Rngs(seed)``), write the model folder atomically and return
the metrics they wrote.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.errors import GraphError
from nodes.model import _io

DEFAULTS = {
    "mlp": {"epochs": 200, "batch_size": 16, "lr": 3e-3},
    "cnn": {"epochs": 60, "batch_size": 16, "lr": 3e-3},
    "lstm": {"epochs": 80, "batch_size": 16, "lr": 1e-2},
    "lstm_gen": {"epochs": 30, "batch_size": 16, "lr": 3e-3},
    "gan": {"epochs": 40, "batch_size": 32, "lr": 1e-3},
}

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- labels -----------------------------------------------------------------------------


@dataclass
class Labelled:
    """The rows of a labels CSV: absolute paths, labels, splits (``train``/``test``/``None``)."""

    paths: list[str]
    labels: list[str]
    splits: list[str | None]
    file: str

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))


def read_labels(path: str | os.PathLike) -> Labelled:
    """Read ``path,label[,split]``; relative paths are relative to the CSV's folder."""
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
    paths, labels, splits, missing = [], [], [], []
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
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        raise GraphError(
            f"{file}: {len(missing)} path(s) name no file: {'; '.join(missing[:3])}{more}"
        )
    labelled = Labelled(paths, labels, splits, str(file))
    if len(labelled.classes) < 2:
        raise GraphError(
            f"{file}: only one class ({labelled.classes[0]!r}); a classifier needs at least two"
        )
    return labelled


def split_indices(
    labels: Sequence[str], splits: Sequence[str | None], test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices: the CSV's ``split`` column, or a seeded stratified split."""
    if all(s is not None for s in splits):
        train = np.array([i for i, s in enumerate(splits) if s == "train"])
        test = np.array([i for i, s in enumerate(splits) if s == "test"])
        if len(train) == 0 or len(test) == 0:
            raise GraphError("the split column gives no train or no test rows")
        return train, test
    return stratified(labels, test_fraction, seed)


def stratified(labels: Sequence[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class, ``round(fraction * n)`` (at least one) rows to the second part, seeded."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    first, second = [], []
    for label in sorted(set(labels.tolist())):
        rows = np.flatnonzero(labels == label)
        rows = rows[rng.permutation(len(rows))]
        take = min(max(1, round(fraction * len(rows))), len(rows) - 1) if len(rows) > 1 else 0
        second.extend(rows[:take].tolist())
        first.extend(rows[take:].tolist())
    return np.array(sorted(first)), np.array(sorted(second))


# -- features through the engine --------------------------------------------------------------


@dataclass
class Extraction:
    """Values produced by the graph per input, and what the engine's cache served."""

    values: list[Any]
    computed: int = 0
    cached: int = 0
    seconds: float = 0.0
    graph: dict[str, Any] = field(default_factory=dict)


def extract(
    graph_path: str | os.PathLike,
    inputs: Sequence[str | None],
    input_param: str | None,
    output_node: str,
    *,
    cache: bool | str | os.PathLike = True,
    overrides: dict[str, Any] | None = None,
    log: Log | None = None,
) -> Extraction:
    """Run the graph once per input (setting ``input_param``) and keep ``output_node``'s value."""
    import graphengine as ge

    graph = ge.load(graph_path)
    result = Extraction([])
    started = time.perf_counter()
    report_every = max(1, len(inputs) // 10)
    for number, path in enumerate(inputs, start=1):
        params = dict(overrides or {})
        if input_param is not None and path is not None:
            params[input_param] = str(path)
        try:
            run = graph.run(params, outputs=[output_node], cache=cache)
            value = run[output_node]
        except KeyError as error:
            raise GraphError(
                f"{graph_path}: --output-node {output_node}: {error.args[0]}"
            ) from None
        except GraphError as error:
            where = f" (input {path})" if path else ""
            error.file = f"{error.file or graph_path}{where}"
            raise
        for stat in run.stats:
            if stat.status == "computed":
                result.computed += 1
            else:
                result.cached += 1
        result.values.append(value)
        if number == 1:
            result.graph = _graph_info(run, output_node, input_param)
        if log is not None and (number % report_every == 0 or number == len(inputs)):
            log(f"features: {number}/{len(inputs)} inputs")
    result.seconds = time.perf_counter() - started
    return result


def _graph_info(run: Any, output_node: str, input_param: str | None) -> dict[str, Any]:
    """The graph name, output and the parameters of every node that feeds the output."""
    valid = run.valid
    feature_params: dict[str, Any] = {}
    for stat in run.stats:
        info = valid.nodes[stat.node]
        if info.spec.input_paths:
            continue  # the per-file source: its path changes with every input
        feature_params[stat.node] = {"type": info.type, **_plain(dict(info.params))}
    return {
        "name": valid.graph.name,
        "sample_rate": float(valid.graph.sample_rate),
        "output_node": output_node,
        "input_param": input_param,
        "nodes": feature_params,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


# -- arrays per architecture --------------------------------------------------------------


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
    finite = np.where(np.isfinite(x), x, np.nan)
    mean = np.nan_to_num(np.nanmean(finite, axis=0))
    std = np.nan_to_num(np.nanstd(finite, axis=0))
    std = np.where(std > 1e-8, std, 1.0)
    return {"mean": mean.astype(float).tolist(), "std": std.astype(float).tolist()}


def _apply(x: np.ndarray, normaliser: dict) -> np.ndarray:
    mean = np.asarray(normaliser["mean"], np.float32)
    std = np.asarray(normaliser["std"], np.float32)
    return np.nan_to_num((x - mean) / std).astype(np.float32)


# -- classifier training --------------------------------------------------------------------


def arch_config(arch: str, spec: dict[str, Any], n_classes: int) -> dict[str, Any]:
    if arch == "mlp":
        return {
            "in_dim": spec["shape"][0],
            "n_classes": n_classes,
            "hidden": [64, 32],
            "dropout": 0.2,
        }
    if arch == "cnn":
        return {
            "rows": spec["channels"] * spec["rows"],
            "n_classes": n_classes,
            "channels": [8, 16],
            "embed": 32,
            "dropout": 0.2,
        }
    return {
        "in_dim": spec["channels"] * spec["rows"],
        "n_classes": n_classes,
        "hidden": 32,
        "dropout": 0.2,
    }


def train_classifier(
    graph: str | os.PathLike,
    labels: str | os.PathLike,
    *,
    input_param: str,
    output_node: str,
    arch: str,
    out: str | os.PathLike,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    patience: int = 20,
    test_fraction: float = 0.25,
    val_fraction: float = 0.15,
    cache: bool | str | os.PathLike = True,
    overrides: dict[str, Any] | None = None,
    log: Log | None = _stderr,
    progress: bool = False,
) -> dict[str, Any]:
    """Train ``arch`` on the features ``graph`` gives for each labelled file; save to ``out``.

    Returns the metrics (also written to ``out/metrics.json``), plus ``run``:
    timings and the engine's cache statistics for the feature extraction.
    """
    if arch not in DEFAULTS or arch in ("lstm_gen", "gan"):
        raise GraphError(f"--arch must be mlp, cnn or lstm, got {arch!r}")
    epochs, batch_size, lr = _settings(arch, epochs, batch_size, lr)
    log = log or (lambda message: None)
    labelled = read_labels(labels)
    classes = labelled.classes
    y_all = np.array([classes.index(label) for label in labelled.labels], np.int32)
    train_rows, test_rows = split_indices(labelled.labels, labelled.splits, test_fraction, seed)

    extraction = extract(
        graph, labelled.paths, input_param, output_node, cache=cache, overrides=overrides, log=log
    )
    log(
        f"features: {len(labelled.paths)} inputs in {extraction.seconds:.2f} s; engine nodes "
        f"{extraction.computed} computed, {extraction.cached} from cache"
    )
    spec = input_spec(extraction.values, arch, extraction.graph)
    fit_local, val_local = stratified(y_all[train_rows].tolist(), val_fraction, seed + 1)
    fit_rows, val_rows = train_rows[fit_local], train_rows[val_local]
    x_fit, len_fit, normaliser = design([extraction.values[i] for i in fit_rows], arch, spec)

    def prepared(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        x, lengths, _ = design([extraction.values[i] for i in rows], arch, spec, normaliser)
        return x, lengths

    x_val, len_val = prepared(val_rows)
    config = arch_config(arch, spec, len(classes))
    started = time.perf_counter()
    model, history = _fit_classifier(
        arch,
        config,
        (x_fit, len_fit, y_all[fit_rows]),
        (x_val, len_val, y_all[val_rows]),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        patience=patience,
        log=log,
        progress=progress,
    )
    train_seconds = time.perf_counter() - started

    x_train, len_train = prepared(train_rows)
    x_test, len_test = prepared(test_rows)
    train_pred = predict(model, arch, x_train, len_train).argmax(axis=1)
    test_pred = predict(model, arch, x_test, len_test).argmax(axis=1)
    metrics = classification_metrics(
        y_all[train_rows], train_pred, y_all[test_rows], test_pred, classes
    )
    metrics.update(
        arch=arch,
        seed=seed,
        epochs_run=history["epochs_run"],
        best_epoch=history["best_epoch"],
        val_accuracy=history["best_val_accuracy"],
        history=history["epochs"],
        sizes={"train": len(fit_rows), "validation": len(val_rows), "test": len(test_rows)},
        test_files=[os.path.relpath(labelled.paths[i], Path(labels).parent) for i in test_rows],
    )
    model_spec = {
        "task": "classify",
        "arch": arch,
        "config": config,
        "classes": classes,
        "input": spec,
        "normaliser": normaliser,
        "training": {
            "graph": str(Path(graph)),
            "labels": str(Path(labels)),
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "seed": seed,
            "patience": patience,
        },
    }
    run = {
        "extract_seconds": extraction.seconds,
        "train_seconds": train_seconds,
        "seconds_per_epoch": train_seconds / max(1, history["epochs_run"]),
        "nodes_computed": extraction.computed,
        "nodes_cached": extraction.cached,
    }

    def fill(folder: Path) -> None:
        _write_reports(folder, metrics, run)
        confusion_png(metrics["confusion"], classes, folder / "confusion.png", arch)

    _io.write_model_dir(out, model_spec, _params(model), fill=fill)
    log(report(metrics))
    return {**metrics, "run": run}


def _settings(
    arch: str, epochs: int | None, batch_size: int | None, lr: float | None
) -> tuple[int, int, float]:
    """Epochs, batch size and learning rate: the given ones, else ``arch``'s defaults."""
    defaults = DEFAULTS[arch]
    epochs = epochs or defaults["epochs"]
    batch_size = batch_size or defaults["batch_size"]
    lr = lr or defaults["lr"]
    for name, value in (("epochs", epochs), ("batch-size", batch_size), ("lr", lr)):
        if not value > 0:
            raise GraphError(f"--{name} must be positive, got {value}")
    return epochs, batch_size, lr


def _write_reports(folder: Path, metrics: dict[str, Any], run: dict[str, Any]) -> None:
    """``metrics.json`` and ``run.json`` into a model folder being written."""
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (folder / "run.json").write_text(json.dumps(run, indent=2) + "\n")


def _params(model: Any) -> dict[str, Any]:
    from flax import nnx

    return nnx.to_pure_dict(nnx.state(model, nnx.Param))


def logits_of(model: Any, arch: str, x: Any, lengths: Any = None) -> tuple[Any, Any]:
    """``(logits, embedding)`` of a batch (the lstm takes lengths too)."""
    return model(x, lengths) if arch == "lstm" else model(x)


def predict(model: Any, arch: str, x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """Class probabilities of a prepared batch (evaluation mode)."""
    import jax

    model.eval()
    logits, _ = logits_of(model, arch, x, lengths)
    return np.asarray(jax.nn.softmax(logits, axis=-1))


def _fit_classifier(
    arch: str,
    config: dict[str, Any],
    fit: tuple,
    val: tuple,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    patience: int,
    log: Log,
    progress: bool,
) -> tuple[Any, dict[str, Any]]:
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx

    from nodes.model import _nets

    model = _nets.build(arch, config, seed)
    optimizer = nnx.Optimizer(model, optax.adamw(lr, weight_decay=1e-4), wrt=nnx.Param)
    x_fit, len_fit, y_fit = fit
    x_val, len_val, y_val = val

    def loss_fn(model: Any, x: Any, lengths: Any, y: Any) -> Any:
        logits, _ = logits_of(model, arch, x, lengths)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @nnx.jit
    def train_step(model: Any, optimizer: Any, x: Any, lengths: Any, y: Any) -> Any:
        loss, grads = nnx.value_and_grad(loss_fn)(model, x, lengths, y)
        optimizer.update(model, grads)
        return loss

    @nnx.jit
    def evaluate(model: Any, x: Any, lengths: Any, y: Any) -> tuple[Any, Any]:
        logits, _ = logits_of(model, arch, x, lengths)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return loss, (logits.argmax(-1) == y).mean()

    rng = np.random.default_rng(seed)
    n = len(y_fit)
    steps = max(1, n // batch_size)
    best = {"loss": math.inf, "accuracy": 0.0, "epoch": 0, "params": _params(model)}
    history: list[dict[str, float]] = []
    bar = _bar(epochs, f"train {arch}") if progress else None
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        model.train()
        losses = []
        for step in range(steps):
            rows = order[step * batch_size : (step + 1) * batch_size]
            lengths = None if len_fit is None else jnp.asarray(len_fit[rows])
            losses.append(train_step(model, optimizer, x_fit[rows], lengths, y_fit[rows]))
        model.eval()
        val_loss, val_acc = evaluate(model, x_val, len_val, y_val)
        train_loss = float(np.mean(jax.device_get(losses)))
        val_loss, val_acc = float(val_loss), float(val_acc)
        if not np.isfinite(train_loss):
            raise GraphError(f"training diverged at epoch {epoch} (loss {train_loss}); lower --lr")
        history.append(
            {
                "epoch": epoch,
                "loss": round(train_loss, 6),
                "val_loss": round(val_loss, 6),
                "val_accuracy": round(val_acc, 6),
            }
        )
        if val_loss < best["loss"] - 1e-6:
            best = {"loss": val_loss, "accuracy": val_acc, "epoch": epoch, "params": _params(model)}
        if bar is not None:
            bar(epoch, f"loss {train_loss:.3f} val_loss {val_loss:.3f} val_acc {val_acc:.3f}")
        elif epoch == 1 or epoch % 10 == 0:
            log(
                f"epoch {epoch}/{epochs}: loss {train_loss:.4f}, val_loss {val_loss:.4f}, "
                f"val_accuracy {val_acc:.3f}"
            )
        if epoch - best["epoch"] >= patience:
            log(f"early stop at epoch {epoch}: no val_loss improvement since epoch {best['epoch']}")
            break
    if bar is not None:
        bar(None, "")
    state = nnx.state(model, nnx.Param)
    nnx.replace_by_pure_dict(state, best["params"])
    nnx.update(model, state)
    model.eval()
    return model, {
        "epochs_run": len(history),
        "best_epoch": best["epoch"],
        "best_val_accuracy": round(best["accuracy"], 6),
        "epochs": history,
    }


def _bar(total: int, label: str) -> Callable[[int | None, str], None]:
    """A rich progress bar over epochs: call with (epoch, text), then (None, '') to close."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        transient=False,
    )
    progress.start()
    task = progress.add_task(label, total=total, info="")

    def update(epoch: int | None, info: str) -> None:
        if epoch is None:
            progress.stop()
        else:
            progress.update(task, completed=epoch, info=info)

    return update


def classification_metrics(
    y_train: np.ndarray,
    train_pred: np.ndarray,
    y_test: np.ndarray,
    test_pred: np.ndarray,
    classes: Sequence[str],
) -> dict[str, Any]:
    """Accuracies, per-class precision/recall/F1 on the test split, confusion matrix."""
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
    return {
        "train_accuracy": round(float(np.mean(y_train == train_pred)), 6),
        "test_accuracy": round(float(np.mean(y_test == test_pred)), 6),
        "classes": list(classes),
        "per_class": per_class,
        "confusion": confusion.tolist(),
    }


def report(metrics: dict[str, Any]) -> str:
    """Metrics as a few lines of text (what the CLI prints)."""
    lines = [
        f"{metrics['arch']}: train accuracy {metrics['train_accuracy']:.3f}, "
        f"test accuracy {metrics['test_accuracy']:.3f} "
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


def confusion_png(
    confusion: list[list[int]], classes: Sequence[str], path: Path, title: str
) -> None:
    """Draw the confusion matrix with counts in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(confusion)
    size = 1.0 + 0.6 * len(classes)
    figure, axes = plt.subplots(figsize=(size + 1.0, size))
    image = axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"{title}: test confusion")
    for (row, col), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        axes.text(col, row, str(count), ha="center", va="center", color=colour)
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


# -- generators -------------------------------------------------------------------------------


def spectral_distance(a: np.ndarray, b: np.ndarray) -> float:
    """RMS difference in dB of the mean power spectra of two sets of clips (rows)."""

    def mean_db(x: np.ndarray) -> np.ndarray:
        window = np.hanning(x.shape[-1])
        power = np.mean(np.abs(np.fft.rfft(x * window, axis=-1)) ** 2, axis=0)
        return 10 * np.log10(power + 1e-10)

    return float(np.sqrt(np.mean((mean_db(a) - mean_db(b)) ** 2)))


def train_generator(
    graph: str | os.PathLike,
    *,
    output_node: str,
    arch: str,
    out: str | os.PathLike,
    inputs: Sequence[str] = (),
    input_param: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    cache: bool | str | os.PathLike = True,
    overrides: dict[str, Any] | None = None,
    log: Log | None = _stderr,
    progress: bool = False,
) -> dict[str, Any]:
    """Train ``lstm_gen`` or ``gan`` on the audio ``graph``'s ``output_node`` gives.

    With ``inputs`` the graph runs once per file (``input_param`` set to it);
    without, once as it is (a graph that synthesises its own training sound).
    """
    if arch not in ("lstm_gen", "gan"):
        raise GraphError(f"--arch must be lstm_gen or gan, got {arch!r}")
    if inputs and input_param is None:
        raise GraphError("--input-param is needed with --inputs")
    missing = [p for p in inputs if not Path(p).is_file()]
    if missing:
        raise GraphError(f"input files not found: {', '.join(missing[:3])}")
    epochs, batch_size, lr = _settings(arch, epochs, batch_size, lr)
    log = log or (lambda message: None)
    paths = [str(Path(p).resolve()) for p in inputs] or [None]
    extraction = extract(
        graph, paths, input_param, output_node, cache=cache, overrides=overrides, log=log
    )
    first = extraction.values[0]
    if first.port_type != "audio":
        raise GraphError(
            f"--output-node {output_node} gives {first.port_type}; train-gen needs audio"
        )
    rate = first.sample_rate
    signals = [v.samples.mean(axis=0) for v in extraction.values]
    scale = float(max(np.abs(s).max() for s in signals))
    if not scale > 0:
        raise GraphError("the training audio is silent")
    signals = [(s / scale).astype(np.float32) for s in signals]
    spec_input = {"type": "audio", "sample_rate": rate, "graph": extraction.graph}
    started = time.perf_counter()
    if arch == "lstm_gen":
        config, fit = {"block": 32, "hidden": 96}, _fit_lstm_gen
    else:
        config, fit = {"z_dim": 16, "length": 512}, _fit_gan
    model, extra, metrics = fit(
        config,
        signals,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        log=log,
        progress=progress,
    )
    train_seconds = time.perf_counter() - started
    metrics.update(arch=arch, seed=seed, epochs_run=epochs, sample_rate=rate)
    model_spec = {
        "task": "generate",
        "arch": arch,
        "config": config,
        "classes": [],
        "input": spec_input,
        "normaliser": {"scale": scale},
        "training": {
            "graph": str(Path(graph)),
            "inputs": [str(p) for p in inputs],
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "seed": seed,
        },
    }
    run = {
        "extract_seconds": extraction.seconds,
        "train_seconds": train_seconds,
        "seconds_per_epoch": train_seconds / epochs,
        "nodes_computed": extraction.computed,
        "nodes_cached": extraction.cached,
    }

    _io.write_model_dir(
        out,
        model_spec,
        _params(model),
        extra=extra,
        fill=lambda folder: _write_reports(folder, metrics, run),
    )
    summary = {k: v for k, v in metrics.items() if k != "history"}
    log(f"{arch}: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    return {**metrics, "run": run}


def _windows(
    rng: np.random.Generator, signals: Sequence[np.ndarray], n: int, length: int
) -> np.ndarray:
    """``n`` random windows of ``length`` samples, each from a random signal longer than that."""
    which = rng.integers(0, len(signals), n)
    starts = [rng.integers(0, len(signals[w]) - length) for w in which]
    return np.stack([signals[w][s : s + length] for w, s in zip(which, starts, strict=True)])


def _epoch_log(log: Log, bar: Any, epoch: int, epochs: int, text: str) -> None:
    if bar is not None:
        bar(epoch, text)
    elif epoch == 1 or epoch % 10 == 0 or epoch == epochs:
        log(f"epoch {epoch}/{epochs}: {text}")


def _fit_lstm_gen(
    config: dict[str, Any],
    signals: list[np.ndarray],
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    log: Log,
    progress: bool,
    steps: int = 32,
    batches_per_epoch: int = 16,
    input_noise: float = 0.02,
) -> tuple[Any, dict[str, np.ndarray], dict[str, Any]]:
    import jax
    import optax
    from flax import nnx

    from nodes.model import _nets

    block = config["block"]
    window = (steps + 1) * block
    usable = [s for s in signals if len(s) > window]
    if not usable:
        raise GraphError(f"the training audio is shorter than one window ({window} samples)")
    model = _nets.build("lstm_gen", config, seed)
    optimizer = nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)
    rng = np.random.default_rng(seed)

    def batch() -> tuple[np.ndarray, np.ndarray]:
        blocks = _windows(rng, usable, batch_size, window).reshape(batch_size, steps + 1, block)
        noisy = blocks[:, :-1] + input_noise * rng.standard_normal(blocks[:, :-1].shape)
        return noisy.astype(np.float32), blocks[:, 1:].astype(np.float32)

    @nnx.jit
    def train_step(model: Any, optimizer: Any, x: Any, y: Any) -> Any:
        def loss_fn(model: Any) -> Any:
            return ((model(x) - y) ** 2).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    history = []
    bar = _bar(epochs, "train lstm_gen") if progress else None
    for epoch in range(1, epochs + 1):
        losses = [train_step(model, optimizer, *batch()) for _ in range(batches_per_epoch)]
        loss = float(np.mean(jax.device_get(losses)))
        if not np.isfinite(loss):
            raise GraphError(f"training diverged at epoch {epoch} (loss {loss}); lower --lr")
        history.append(round(loss, 8))
        _epoch_log(log, bar, epoch, epochs, f"mse {loss:.6f}")
    if bar is not None:
        bar(None, "")
    model.eval()
    x, y = batch()
    residual = float(np.sqrt(np.mean((np.asarray(model(x)) - y) ** 2)))
    longest = max(usable, key=len)
    prime = longest[-steps * block :]
    extra = {"prime": prime.astype(np.float32), "residual_rms": np.float32(residual)}
    return (
        model,
        extra,
        {"final_mse": history[-1], "residual_rms": round(residual, 8), "history": history},
    )


def _fit_gan(
    config: dict[str, Any],
    signals: list[np.ndarray],
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    log: Log,
    progress: bool,
    batches_per_epoch: int = 16,
) -> tuple[Any, dict[str, np.ndarray], dict[str, Any]]:
    import jax
    import optax
    from flax import nnx

    from nodes.model import _nets

    length, z_dim = config["length"], config["z_dim"]
    usable = [s for s in signals if len(s) > length]
    if not usable:
        raise GraphError(f"the training audio is shorter than one clip ({length} samples)")
    model = _nets.build("gan", config, seed)
    tx = optax.adam(lr, b1=0.5)
    g_opt = nnx.Optimizer(model.generator, tx, wrt=nnx.Param)
    d_opt = nnx.Optimizer(model.discriminator, tx, wrt=nnx.Param)
    rng = np.random.default_rng(seed)

    def real(n: int) -> np.ndarray:
        return _windows(rng, usable, n, length).astype(np.float32)

    def noise(n: int) -> np.ndarray:
        return rng.standard_normal((n, z_dim)).astype(np.float32)

    @nnx.jit
    def d_step(gen: Any, disc: Any, d_opt: Any, x: Any, z: Any) -> Any:
        fake = jax.lax.stop_gradient(gen(z))

        def loss_fn(disc: Any) -> Any:
            real_logits, fake_logits = disc(x), disc(fake)
            return (
                optax.sigmoid_binary_cross_entropy(real_logits, 0.9).mean()
                + optax.sigmoid_binary_cross_entropy(fake_logits, 0.0).mean()
            )

        loss, grads = nnx.value_and_grad(loss_fn)(disc)
        d_opt.update(disc, grads)
        return loss

    @nnx.jit
    def g_step(gen: Any, disc: Any, g_opt: Any, z: Any) -> Any:
        def loss_fn(gen: Any) -> Any:
            return optax.sigmoid_binary_cross_entropy(disc(gen(z)), 1.0).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(gen)
        g_opt.update(gen, grads)
        return loss

    probe_z = noise(64)
    reference = real(256)
    before = spectral_distance(np.asarray(model.generator(probe_z)), reference)
    history = []
    bar = _bar(epochs, "train gan") if progress else None
    for epoch in range(1, epochs + 1):
        d_losses, g_losses = [], []
        for _ in range(batches_per_epoch):
            d_losses.append(
                d_step(
                    model.generator, model.discriminator, d_opt, real(batch_size), noise(batch_size)
                )
            )
            g_losses.append(g_step(model.generator, model.discriminator, g_opt, noise(batch_size)))
        d_loss = float(np.mean(jax.device_get(d_losses)))
        g_loss = float(np.mean(jax.device_get(g_losses)))
        if not (np.isfinite(d_loss) and np.isfinite(g_loss)):
            raise GraphError(f"GAN training diverged at epoch {epoch} (NaN loss); lower --lr")
        history.append({"d_loss": round(d_loss, 6), "g_loss": round(g_loss, 6)})
        _epoch_log(log, bar, epoch, epochs, f"d_loss {d_loss:.4f} g_loss {g_loss:.4f}")
    if bar is not None:
        bar(None, "")
    after = spectral_distance(np.asarray(model.generator(probe_z)), reference)
    return (
        model,
        {},
        {
            "spectral_distance_db_before": round(before, 4),
            "spectral_distance_db_after": round(after, 4),
            "history": history,
        },
    )
