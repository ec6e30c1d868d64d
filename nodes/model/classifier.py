"""Training a classifier (mlp, cnn, lstm) on the features a graph gives for labelled files.

What ``graphengine train`` runs. Deterministic for a given seed (CPU JAX
is): the splits and shuffles use ``numpy.random.default_rng(seed)``, the
parameters and dropout ``nnx.Rngs(seed)``.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.errors import GraphError
from nodes.model import _io, training
from nodes.model.augment import settings as augment_settings
from nodes.model.features import extract
from nodes.model.folder import check_out
from nodes.model.inputs import design, input_spec
from nodes.model.labels import read_labels, split_indices, stratified
from nodes.model.metrics import classification_metrics, report
from nodes.model.plots import confusion_png
from nodes.model.training import Log, ProgressCallback

ARCHS = ("mlp", "cnn", "lstm")


def train_classifier(
    graph: str | os.PathLike,
    labels: str | os.PathLike,
    *,
    input_param: str,
    output_node: str,
    arch: str,
    out: str | os.PathLike,
    replace: bool = False,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    patience: int = 20,
    weight_decay: float = 1e-3,
    augment: bool | dict[str, Any] = True,
    test_fraction: float = 0.25,
    val_fraction: float = 0.15,
    cache: bool | str | os.PathLike = True,
    overrides: dict[str, Any] | None = None,
    log: Log | None = training.stderr,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Train a classifier on the features ``graph`` gives for each labelled file.

    Parameters
    ----------
    graph : path
        The feature graph (.toml or .json).
    labels : path
        A CSV with the columns ``path,label`` and optionally ``split``
        (``train``/``test`` on every row) and ``group`` (where a file comes
        from: the seeded test and validation splits keep groups whole);
        paths are relative to the CSV.
    input_param : str
        The graph parameter (``input``) or node parameter (``src.path``) set
        to each file's path.
    output_node : str
        ``NODE[.PORT]`` whose value the model learns from: a ``vector`` for
        ``mlp``, ``features`` for ``cnn`` and ``lstm``.
    arch : {"mlp", "cnn", "lstm"}
        The architecture.
    out : path
        The model folder to write (whole, or not at all). It must not exist,
        or be a model folder written by training and ``replace`` be true; it
        must not be the current folder or hold the graph, labels or inputs.
    replace : bool, default False
        Replace ``out`` if it is a model folder already.
    epochs, batch_size, lr : int, int, float, optional
        Training settings; default per architecture (:data:`DEFAULTS
        <nodes.model.training.DEFAULTS>`, e.g. cnn 80 epochs, batch 16, 2e-3).
        The optimiser is AdamW with gradients clipped to norm 1 and a
        learning rate that warms up linearly over the first 5 % of the
        steps to ``lr``, then falls to 1 % of it along a cosine.
    seed : int, default 0
        Seeds the splits, the shuffles, the augmentation, the parameters
        and dropout.
    patience : int, default 20
        Epochs without a lower validation loss before stopping early; the
        best epoch's weights are kept.
    weight_decay : float, default 1e-3
        AdamW's decoupled weight decay.
    augment : bool or dict, default True
        Vary the fitting inputs every epoch (:mod:`nodes.model.augment`:
        gain, noise at an SNR, pitch and time shifts and SpecAugment masks
        for a cnn; noise for an mlp; noise and time masks for an lstm);
        False for none, a dict to change :data:`~nodes.model.augment.DEFAULTS`.
    test_fraction : float, default 0.25
        Share of each class held out for testing, without a ``split`` column.
    val_fraction : float, default 0.15
        Share of each class's training files held out for validation.
    cache : bool or path, default True
        The engine's feature cache: True beside the graph, a folder, or
        False to recompute everything.
    overrides : dict, optional
        Other graph or node parameters, as ``--set`` gives them.
    log : callable, optional
        Takes one line of text at a time (default: standard error; None:
        silent).
    progress : callable, optional
        Takes a :class:`~nodes.model.training.Progress` per input file
        (stage ``features``) and per epoch (stage ``train <arch>``); when
        given, the per-epoch log lines are left out.

    Returns
    -------
    dict
        The metrics, also written to ``out/metrics.json``: train and test
        accuracy, per-class precision/recall/F1, the confusion matrix, the
        history per epoch, split sizes; plus ``run`` (``run.json``): timings
        in seconds and how many engine nodes were computed or served from
        the cache.

    Raises
    ------
    GraphError
        For bad arguments, labels, graph or ``out``, before any training.
    """
    if arch not in ARCHS:
        raise GraphError(f"--arch must be mlp, cnn or lstm, got {arch!r}")
    epochs, batch_size, lr = training.settings(arch, epochs, batch_size, lr)
    if not weight_decay >= 0:
        raise GraphError(f"--weight-decay must be 0 or more, got {weight_decay}")
    augmentation = augment_settings(augment if arch != "lstm" or augment is not True else False)
    log = log or training.quiet
    labelled = read_labels(labels)
    classes = labelled.classes
    y_all = np.array([classes.index(label) for label in labelled.labels], np.int32)
    train_rows, test_rows = split_indices(labelled, test_fraction, seed)
    reads = [graph, labels, *labelled.paths, *training.cache_folders(cache)]
    check_out(out, replace=replace, reads=reads)

    extraction = extract(
        graph, labelled.paths, input_param, output_node, cache, overrides, log, progress
    )
    log(
        f"features: {len(labelled.paths)} inputs in {extraction.seconds:.2f} s; engine nodes "
        f"{extraction.computed} computed, {extraction.cached} from cache"
    )
    spec = input_spec(extraction.values, arch, extraction.graph)
    groups = None if labelled.groups is None else [labelled.groups[i] for i in train_rows]
    fit_local, val_local = stratified(y_all[train_rows].tolist(), val_fraction, seed + 1, groups)
    fit_rows, val_rows = train_rows[fit_local], train_rows[val_local]
    x_fit, len_fit, normaliser = design([extraction.values[i] for i in fit_rows], arch, spec)

    def prepared(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        x, lengths, _ = design([extraction.values[i] for i in rows], arch, spec, normaliser)
        return x, lengths

    x_val, len_val = prepared(val_rows)
    config = arch_config(arch, spec, len(classes))
    started = time.perf_counter()
    model, history = _fit(
        arch,
        config,
        (x_fit, len_fit, y_all[fit_rows]),
        (x_val, len_val, y_all[val_rows]),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        patience=patience,
        weight_decay=weight_decay,
        augment=augmentation,
        normaliser=normaliser,
        log=log,
        report=training.EpochReporter(arch, epochs, log, progress),
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
            "weight_decay": weight_decay,
            "augment": augmentation,
        },
    }
    run = training.run_record(extraction, train_seconds, history["epochs_run"])

    def fill(folder: Path) -> None:
        training.write_reports(folder, metrics, run)
        confusion_png(metrics["confusion"], classes, folder / "confusion.png", arch)

    _io.write_model_dir(out, model_spec, training.params_of(model), fill=fill, replace=replace)
    log(report(metrics))
    return {**metrics, "run": run}


def arch_config(arch: str, spec: dict[str, Any], n_classes: int) -> dict[str, Any]:
    """The config (keyword arguments of the architecture) for an input ``spec``."""
    if arch == "mlp":
        return {
            "in_dim": spec["shape"][0],
            "n_classes": n_classes,
            "hidden": [64, 32],
            "dropout": 0.2,
        }
    if arch == "cnn":
        rows = spec["channels"] * spec["rows"]
        blocks = max(1, min(3, int(math.log2(max(2, rows // 4)))))  # at least 4 rows left
        return {
            "rows": rows,
            "n_classes": n_classes,
            "channels": [32, 64, 128][:blocks],
            "embed": 64,
            "dropout": 0.3,
            "batch_norm": True,
        }
    return {
        "in_dim": spec["channels"] * spec["rows"],
        "n_classes": n_classes,
        "hidden": 32,
        "dropout": 0.2,
    }


def predict(model: Any, arch: str, x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """Class probabilities of a prepared batch (evaluation mode)."""
    import jax

    from nodes.model._nets import logits_of

    model.eval()
    logits, _ = logits_of(model, arch, x, lengths)
    return np.asarray(jax.nn.softmax(logits, axis=-1))


def _fit(
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
    weight_decay: float,
    augment: dict[str, Any] | None,
    normaliser: dict[str, Any],
    log: Log,
    report: training.EpochReporter,
) -> tuple[Any, dict[str, Any]]:
    """Minibatch AdamW, warm-up and cosine decay, augmentation, early stopping on val loss.

    Returns the model with the best epoch's weights (lowest validation loss).
    """
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx

    from nodes.model import _nets
    from nodes.model._nets import logits_of
    from nodes.model.augment import augment_batch

    model = _nets.build(arch, config, seed)
    x_fit, len_fit, y_fit = fit
    x_val, len_val, y_val = val
    n = len(y_fit)
    steps = max(1, n // batch_size)
    if training.DEFAULTS[arch].get("cosine", True):
        schedule = optax.warmup_cosine_decay_schedule(
            init_value=0.0,
            peak_value=lr,
            warmup_steps=max(1, epochs * steps // 20),
            decay_steps=epochs * steps,
            end_value=lr / 100,
        )
    else:
        schedule = lr
    tx = optax.chain(
        optax.clip_by_global_norm(1.0), optax.adamw(schedule, weight_decay=weight_decay)
    )
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

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
    best = {"loss": math.inf, "accuracy": 0.0, "epoch": 0, "params": training.params_of(model)}
    history: list[dict[str, float]] = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        varied = np.random.default_rng([seed, epoch])  # this epoch's variants
        model.train()
        losses = []
        for step in range(steps):
            rows = order[step * batch_size : (step + 1) * batch_size]
            lengths = None if len_fit is None else jnp.asarray(len_fit[rows])
            x = x_fit[rows]
            if augment is not None:
                x = augment_batch(x, arch, augment, varied, normaliser)
            losses.append(train_step(model, optimizer, x, lengths, y_fit[rows]))
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
            best = {
                "loss": val_loss,
                "accuracy": val_acc,
                "epoch": epoch,
                "params": training.params_of(model),
            }
        report(
            epoch,
            f"loss {train_loss:.3f} val_loss {val_loss:.3f} val_acc {val_acc:.3f}",
            f"loss {train_loss:.4f}, val_loss {val_loss:.4f}, val_accuracy {val_acc:.3f}",
        )
        if epoch - best["epoch"] >= patience:
            log(f"early stop at epoch {epoch}: no val_loss improvement since epoch {best['epoch']}")
            break
    state = nnx.state(model, training.saved_state(nnx))
    nnx.replace_by_pure_dict(state, best["params"])
    nnx.update(model, state)
    model.eval()
    return model, {
        "epochs_run": len(history),
        "best_epoch": best["epoch"],
        "best_val_accuracy": round(best["accuracy"], 6),
        "epochs": history,
    }
