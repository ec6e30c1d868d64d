"""Training a generator (lstm_gen, gan) on the audio a graph gives.

What ``graphengine train-gen`` runs. Deterministic for a given seed (CPU JAX
is): the training windows and noise come from
``numpy.random.default_rng(seed)``, the parameters from ``nnx.Rngs(seed)``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.errors import GraphError
from nodes.model import _io, training
from nodes.model.features import extract
from nodes.model.folder import check_out
from nodes.model.metrics import spectral_distance
from nodes.model.training import Log, ProgressCallback

ARCHS = ("lstm_gen", "gan")
BATCHES_PER_EPOCH = 16


def train_generator(
    graph: str | os.PathLike,
    *,
    output_node: str,
    arch: str,
    out: str | os.PathLike,
    replace: bool = False,
    inputs: Sequence[str | os.PathLike] = (),
    input_param: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    cache: bool | str | os.PathLike = True,
    overrides: dict[str, Any] | None = None,
    log: Log | None = training.stderr,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Train a generator on the audio ``graph``'s ``output_node`` gives.

    Parameters
    ----------
    graph : path
        The graph (.toml or .json).
    output_node : str
        ``NODE[.PORT]`` giving ``audio``; it is mixed to mono and scaled by
        its peak.
    arch : {"lstm_gen", "gan"}
        ``lstm_gen`` learns to predict each 32-sample block from the
        previous ones; ``gan`` trains a generator of 512-sample clips
        adversarially.
    out : path
        The model folder to write; the same rules as for
        :func:`~nodes.model.classifier.train_classifier`.
    replace : bool, default False
        Replace ``out`` if it is a model folder already.
    inputs : sequence of paths, default ()
        Audio files: the graph runs once per file with ``input_param`` set to
        its path. Without, it runs once as it is (a graph that synthesises
        its own training sound).
    input_param : str, optional
        The graph or node parameter set to each input's path; needed with
        ``inputs``.
    epochs, batch_size, lr : int, int, float, optional
        Training settings (Adam); default per architecture (lstm_gen 30
        epochs, batch 16, 3e-3; gan 40, 32, 1e-3). An epoch is 16 batches.
    seed : int, default 0
        Seeds the training windows, noise and parameters.
    cache, overrides, log, progress
        As for :func:`~nodes.model.classifier.train_classifier`.

    Returns
    -------
    dict
        The metrics, also written to ``out/metrics.json`` (lstm_gen: final
        MSE and residual RMS; gan: the spectral distance in dB to the data
        before and after training; both: the loss history), plus ``run``:
        timings in seconds and the engine's cache statistics.

    Raises
    ------
    GraphError
        For bad arguments, inputs, graph or ``out``, before any training, and
        when training diverges.
    """
    if arch not in ARCHS:
        raise GraphError(f"--arch must be lstm_gen or gan, got {arch!r}")
    if inputs and input_param is None:
        raise GraphError("--input-param is needed with --inputs")
    missing = [str(p) for p in inputs if not Path(p).is_file()]
    if missing:
        raise GraphError(f"input files not found: {', '.join(missing[:3])}")
    epochs, batch_size, lr = training.settings(arch, epochs, batch_size, lr)
    log = log or training.quiet
    paths = [str(Path(p).resolve()) for p in inputs]
    check_out(out, replace=replace, reads=[graph, *paths, *training.cache_folders(cache)])
    extraction = extract(
        graph, paths or [None], input_param, output_node, cache, overrides, log, progress
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
    started = time.perf_counter()
    schedule = Schedule(
        epochs, batch_size, lr, seed, training.EpochReporter(arch, epochs, log, progress)
    )
    if arch == "lstm_gen":
        config, fit = {"block": 32, "hidden": 96}, _fit_lstm_gen
    else:
        config, fit = {"z_dim": 16, "length": 512}, _fit_gan
    model, extra, metrics = fit(config, signals, schedule)
    train_seconds = time.perf_counter() - started
    metrics.update(arch=arch, seed=seed, epochs_run=epochs, sample_rate=rate)
    model_spec = {
        "task": "generate",
        "arch": arch,
        "config": config,
        "classes": [],
        "input": {"type": "audio", "sample_rate": rate, "graph": extraction.graph},
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
    run = training.run_record(extraction, train_seconds, epochs)
    _io.write_model_dir(
        out,
        model_spec,
        training.params_of(model),
        extra=extra,
        fill=lambda folder: training.write_reports(folder, metrics, run),
        replace=replace,
    )
    summary = {k: v for k, v in metrics.items() if k != "history"}
    log(f"{arch}: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    return {**metrics, "run": run}


@dataclass(frozen=True)
class Schedule:
    """How long and how fast to train, and where each epoch is reported."""

    epochs: int
    batch_size: int
    lr: float
    seed: int
    report: training.EpochReporter

    def run(self, epoch_fn: Callable[[int], tuple[Any, str]]) -> list[Any]:
        """Call ``epoch_fn(epoch)`` -> (history entry, status) for every epoch; the history."""
        history = []
        for epoch in range(1, self.epochs + 1):
            entry, status = epoch_fn(epoch)
            history.append(entry)
            self.report(epoch, status)
        return history


def _longer_than(signals: Sequence[np.ndarray], length: int, what: str) -> list[np.ndarray]:
    """The signals longer than ``length`` samples; none is an error."""
    usable = [s for s in signals if len(s) > length]
    if not usable:
        raise GraphError(f"the training audio is shorter than one {what} ({length} samples)")
    return usable


def _windows(
    rng: np.random.Generator, signals: Sequence[np.ndarray], n: int, length: int
) -> np.ndarray:
    """``n`` random windows of ``length`` samples, each from a random signal longer than that."""
    which = rng.integers(0, len(signals), n)
    starts = [rng.integers(0, len(signals[w]) - length) for w in which]
    return np.stack([signals[w][s : s + length] for w, s in zip(which, starts, strict=True)])


def _fit_lstm_gen(
    config: dict[str, Any],
    signals: list[np.ndarray],
    schedule: Schedule,
    steps: int = 32,
    input_noise: float = 0.02,
) -> tuple[Any, dict[str, np.ndarray], dict[str, Any]]:
    """Teacher-forced next-block MSE on random windows, with a little input noise."""
    import jax
    import optax
    from flax import nnx

    from nodes.model import _nets

    block = config["block"]
    usable = _longer_than(signals, (steps + 1) * block, "window")
    model = _nets.build("lstm_gen", config, schedule.seed)
    optimizer = nnx.Optimizer(model, optax.adam(schedule.lr), wrt=nnx.Param)
    rng = np.random.default_rng(schedule.seed)
    size = schedule.batch_size

    def batch() -> tuple[np.ndarray, np.ndarray]:
        blocks = _windows(rng, usable, size, (steps + 1) * block).reshape(size, steps + 1, block)
        noisy = blocks[:, :-1] + input_noise * rng.standard_normal(blocks[:, :-1].shape)
        return noisy.astype(np.float32), blocks[:, 1:].astype(np.float32)

    @nnx.jit
    def train_step(model: Any, optimizer: Any, x: Any, y: Any) -> Any:
        def loss_fn(model: Any) -> Any:
            return ((model(x) - y) ** 2).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    def epoch(number: int) -> tuple[float, str]:
        losses = [train_step(model, optimizer, *batch()) for _ in range(BATCHES_PER_EPOCH)]
        loss = float(np.mean(jax.device_get(losses)))
        if not np.isfinite(loss):
            raise GraphError(f"training diverged at epoch {number} (loss {loss}); lower --lr")
        return round(loss, 8), f"mse {loss:.6f}"

    history = schedule.run(epoch)
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
    config: dict[str, Any], signals: list[np.ndarray], schedule: Schedule
) -> tuple[Any, dict[str, np.ndarray], dict[str, Any]]:
    """Non-saturating GAN losses (real labels smoothed to 0.9), Adam with b1 = 0.5."""
    import jax
    import optax
    from flax import nnx

    from nodes.model import _nets

    length, z_dim = config["length"], config["z_dim"]
    usable = _longer_than(signals, length, "clip")
    model = _nets.build("gan", config, schedule.seed)
    tx = optax.adam(schedule.lr, b1=0.5)
    g_opt = nnx.Optimizer(model.generator, tx, wrt=nnx.Param)
    d_opt = nnx.Optimizer(model.discriminator, tx, wrt=nnx.Param)
    rng = np.random.default_rng(schedule.seed)
    size = schedule.batch_size

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

    def epoch(number: int) -> tuple[dict[str, float], str]:
        gen, disc = model.generator, model.discriminator
        d_losses, g_losses = [], []
        for _ in range(BATCHES_PER_EPOCH):
            d_losses.append(d_step(gen, disc, d_opt, real(size), noise(size)))
            g_losses.append(g_step(gen, disc, g_opt, noise(size)))
        d_loss = float(np.mean(jax.device_get(d_losses)))
        g_loss = float(np.mean(jax.device_get(g_losses)))
        if not (np.isfinite(d_loss) and np.isfinite(g_loss)):
            raise GraphError(f"GAN training diverged at epoch {number} (NaN loss); lower --lr")
        entry = {"d_loss": round(d_loss, 6), "g_loss": round(g_loss, 6)}
        return entry, f"d_loss {d_loss:.4f} g_loss {g_loss:.4f}"

    probe_z = noise(64)
    reference = real(256)
    before = spectral_distance(np.asarray(model.generator(probe_z)), reference)
    history = schedule.run(epoch)
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
