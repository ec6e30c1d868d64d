"""Model training and inference on the CPU: per-epoch time, throughput, compile cost.

Makes the synthetic voices dataset (5 voices x 24 clips of 0.5 s), extracts
features once through graphs/models/voices_train.toml (cached), then per
architecture: training seconds per epoch, the one-time jit compile of the
batched apply function, and inference throughput of the compiled function
(vectors/s for the mlp, clips/s for the cnn and lstm) at batch 1 and 64,
against scikit-learn's MLPClassifier (same layer sizes) as a peer for the
mlp when scikit-learn is installed. Also the node path: model.classify in a
graph, first run (load + compile) and later runs.

    python benchmarks/models.py [--per-class 24]

Accuracy on real recordings, against a scikit-learn baseline, is
benchmarks/models_real.py's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import graphengine as ge
from nodes.model import _dataset, _io, train_classifier
from nodes.model._nets import logits_of
from nodes.model.features import extract
from nodes.model.inputs import design
from nodes.model.labels import read_labels

REPO = Path(__file__).resolve().parent.parent
TRAIN_GRAPH = REPO / "graphs" / "models" / "voices_train.toml"
NODES = {"mlp": "feats.vector", "cnn": "feats.mel", "lstm": "feats.frames"}


def throughput(fn, x, lengths, repeats: int = 20) -> float:
    args = (x,) if lengths is None else (x, lengths)
    fn(*args)[0].block_until_ready()
    started = time.perf_counter()
    for _ in range(repeats):
        fn(*args)[0].block_until_ready()
    return repeats * len(x) / (time.perf_counter() - started)


def main() -> None:
    import jax
    from flax import nnx

    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=24)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ge-models-"))
    labels = _dataset.make_voices(root / "data", per_class=args.per_class)
    rows = []
    for arch, node in NODES.items():
        metrics = train_classifier(
            TRAIN_GRAPH,
            labels,
            input_param="input",
            output_node=node,
            arch=arch,
            out=root / arch,
            cache=root / "cache",
            log=None,
        )
        loaded = _io.load(root / arch)
        spec = loaded.spec
        extraction = extract(
            TRAIN_GRAPH,
            [labels.parent / "sine/sine_000.wav"] * 64,
            "input",
            node,
            cache=root / "cache",
        )
        x, lengths, _ = design(extraction.values, arch, spec["input"], spec["normaliser"])
        graphdef, state = nnx.split(loaded.model)

        def apply(state, x, lengths=None, graphdef=graphdef, arch=arch):
            return logits_of(nnx.merge(graphdef, state), arch, x, lengths)

        compiled = jax.jit(apply)

        def jitted(*args, compiled=compiled, state=state):
            return compiled(state, *args)

        started = time.perf_counter()
        one = (x[:1],) if lengths is None else (x[:1], lengths[:1])
        jitted(*one)[0].block_until_ready()
        compile_s = time.perf_counter() - started
        rows.append(
            (
                arch,
                metrics["run"]["seconds_per_epoch"],
                compile_s,
                throughput(jitted, x[:1], None if lengths is None else lengths[:1]),
                throughput(jitted, x, lengths),
                metrics["test_accuracy"],
            )
        )
    print(
        f"{'model':<8}{'s/epoch':>9}{'compile s':>11}{'items/s b=1':>13}{'items/s b=64':>14}"
        f"{'test acc':>10}"
    )
    for arch, epoch, compile_s, one, many, accuracy in rows:
        print(f"{arch:<8}{epoch:>9.4f}{compile_s:>11.3f}{one:>13.0f}{many:>14.0f}{accuracy:>10.3f}")

    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        print("scikit-learn not installed: no peer for the mlp")
    else:
        labelled = read_labels(labels)
        extraction = extract(
            TRAIN_GRAPH, labelled.paths, "input", "feats.vector", cache=root / "cache"
        )
        x, _, _ = design(extraction.values, "mlp", {})
        y = np.array(labelled.labels)
        started = time.perf_counter()
        peer = MLPClassifier((64, 32), max_iter=200, random_state=0).fit(x, y)
        fit_s = time.perf_counter() - started
        batch = np.repeat(x[:1], 64, axis=0)
        started = time.perf_counter()
        for _ in range(20):
            peer.predict_proba(batch)
        rate = 20 * 64 / (time.perf_counter() - started)
        print(
            f"sklearn MLPClassifier: {fit_s / peer.n_iter_:.4f} s/epoch, "
            f"{rate:.0f} vectors/s at b=64 "
            f"(mlp here: {rows[0][4] / rate:.2f}x)"
        )

    g = ge.load(TRAIN_GRAPH)
    g.params["input"] = str(labels.parent / "saw/saw_000.wav")
    g.add("which", "model.classify", in_="feats.vector", model=str(root / "mlp" / "model.json"))
    _io._LOADED.clear()
    times = []
    for _ in range(5):
        started = time.perf_counter()
        g.run(outputs=["which"], cache=root / "cache2")
        times.append(time.perf_counter() - started)
        g.set("which", top_k=len(times) % 5)  # a new cache key: the node runs again
    print(
        f"model.classify node in a graph: first run {times[0]:.3f} s (load + compile), "
        f"later {np.median(times[1:]) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
