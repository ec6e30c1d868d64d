"""Model nodes: classify, embed and generate with models trained by ``graphengine train``.

A model is a folder written by training (``model.json`` + ``weights.msgpack``,
see docs/models.md); the ``model`` parameter names its ``model.json`` (the
engine checks the file is readable and hashes its content into the cache key;
``model.json`` records the weights' sha256, which loading verifies, so the
key covers the weights too). Validation reads ``model.json`` and checks the
input against the model's input spec (port type, feature count) without
importing JAX; the run imports JAX, loads the model once per process and
calls a ``jax.jit``-compiled apply function kept per input shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from graphengine.node import InputPath, NodeContext, PortInfo, node, param
from graphengine.types import Audio, Features, Prediction, Value, Vector

MODEL = param(description="the model.json of a folder written by graphengine train")


def _spec(params: Mapping[str, Any], ctx: NodeContext, task: str) -> dict[str, Any]:
    import nodes.model._io as _io

    try:
        spec = _io.read_spec(params["model"])
    except _io.ModelFileError as error:
        raise ctx.param_error("model", error.message) from None
    if spec["task"] != task:
        raise ctx.param_error(
            "model",
            f"{spec['file']} is a {spec['task']} model ({spec['arch']}); {ctx.node_type} needs a "
            f"{task} model",
        )
    return spec


def _load(spec: dict[str, Any], ctx: NodeContext) -> Any:
    """The model of ``spec`` (loaded once per process); a bad folder is a ``model`` error."""
    import nodes.model._io as _io

    try:
        return _io.load(spec["file"])
    except _io.ModelFileError as error:
        raise ctx.param_error("model", error.message) from None


def _check_info(spec: dict[str, Any], info: PortInfo | None, ctx: NodeContext) -> None:
    """The connected port against the model's input spec (what validation can know)."""
    expected = spec["input"]
    if info is None:
        return
    if info.type != expected["type"]:
        raise ctx.port_error(
            "in", f"the model ({spec['arch']}) expects {expected['type']}, got {info.type}"
        )
    if info.shape is None:
        return
    if expected["type"] == "vector":
        size = int(np.prod(info.shape))
        if size != expected["shape"][0]:
            raise ctx.port_error(
                "in",
                f"wrong feature dimension: the model expects a vector of {expected['shape'][0]} "
                f"values, got {size}",
            )
    elif len(info.shape) == 3 and info.shape[1] is not None:
        rows = expected["channels"] * expected["rows"]
        got = info.shape[0] * info.shape[1] if info.shape[0] is not None else None
        if got is not None and got != rows:
            raise ctx.port_error(
                "in",
                f"wrong feature dimension: the model expects {expected['channels']} channel(s) x "
                f"{expected['rows']} features per frame, got {info.shape[0]} x {info.shape[1]}",
            )


def _check_value(spec: dict[str, Any], value: Value, ctx: NodeContext) -> None:
    """Names and rates of the actual input against the model's spec."""
    expected = spec["input"]
    shape = value.values.shape
    _check_info(spec, PortInfo(value.port_type, shape), ctx)
    names = list(value.names)
    if names and expected["names"] and names != expected["names"]:
        first = next(
            (i for i, (a, b) in enumerate(zip(names, expected["names"], strict=False)) if a != b),
            min(len(names), len(expected["names"])),
        )
        got = names[first] if first < len(names) else "nothing"
        want = expected["names"][first] if first < len(expected["names"]) else "nothing"
        raise ctx.port_error(
            "in",
            f"the input does not match the model's features: item {first} is {got!r}, the model "
            f"was trained on {want!r}",
        )
    if isinstance(value, Features):
        rate = expected["frame_rate"]
        if abs(value.frame_rate - rate) > 1e-6 * rate:
            raise ctx.port_error(
                "in",
                f"frame rate {value.frame_rate:g} Hz, the model was trained at {rate:g} Hz "
                "(use the training graph's n_fft, hop and sample rate)",
            )


def infer_classify(inputs: Mapping[str, PortInfo], params: Mapping[str, Any], ctx: NodeContext):
    spec = _spec(params, ctx, "classify")
    _check_info(spec, inputs.get("in"), ctx)
    k = len(spec["classes"])
    top_k = params.get("top_k") or 0
    if top_k > k:
        raise ctx.param_error("top_k", f"{top_k} is more than the model's {k} classes")
    return {"out": PortInfo("prediction", (top_k or k,))}


def infer_embed(inputs: Mapping[str, PortInfo], params: Mapping[str, Any], ctx: NodeContext):
    spec = _spec(params, ctx, "classify")
    _check_info(spec, inputs.get("in"), ctx)
    return {"out": PortInfo("vector", (_embed_size(spec),))}


def _embed_size(spec: dict[str, Any]) -> int:
    config = spec["config"]
    if spec["arch"] == "mlp":
        return int(config["hidden"][-1])
    if spec["arch"] == "cnn":
        return int(config["embed"])
    return 2 * int(config["hidden"])


def _prepared(spec: dict[str, Any], value: Value) -> tuple[np.ndarray, np.ndarray | None]:
    from nodes.model.inputs import design

    x, lengths, _ = design([value], spec["arch"], spec["input"], spec["normaliser"])
    return x, lengths


def _apply(spec: dict[str, Any], value: Value, ctx: NodeContext) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and embedding of one input, through the cached compiled function."""
    import nodes.model._io as _io

    _check_value(spec, value, ctx)
    loaded = _load(spec, ctx)
    x, lengths = _prepared(spec, value)
    args = (x,) if lengths is None else (x, lengths)
    probabilities, embedding = _io.compiled(loaded, "classify", _classify_fn(spec["arch"]), *args)
    return np.asarray(probabilities)[0], np.asarray(embedding)[0]


def _classify_fn(arch: str):
    def apply(model: Any, x: Any, lengths: Any = None) -> Any:
        import jax

        # ``import a.b as b`` throughout: the engine's code hash imports ``a.b`` to look up a
        # name ``a.b.c`` and walks the package ``__init__`` that ``from a import b`` names (here
        # it reaches training code importing _nets, i.e. JAX, when only keys are computed).
        import nodes.model._nets as _nets

        logits, embedding = _nets.logits_of(model, arch, x, lengths)
        return jax.nn.softmax(logits, axis=-1), embedding

    return apply


@node("model.classify", version=1, infer=infer_classify)
def classify(
    in_: Value,
    *,
    model: InputPath = MODEL,
    top_k: int = param(0, range=(0, 10_000), description="keep the k likeliest classes (0: all)"),
    ctx: NodeContext,
) -> Prediction:
    """Classify a feature vector or feature sequence with a trained model: class probabilities.

    ``model`` names the ``model.json`` of a folder written by ``graphengine
    train`` (an ``mlp`` takes a ``vector``, a ``cnn`` or ``lstm`` takes
    ``features``). The input must be what the model was trained on: the same
    port type and feature count (checked when the graph is validated), the
    same feature names and frame rate (checked when it runs); feed it
    through the training graph's feature nodes. The model's normaliser is
    applied, a cnn's input is cropped (centre) or zero-padded to its
    training length in frames, an lstm takes any length. Probabilities sum
    to 1 over the classes, in the model's class order; with ``top_k`` > 0
    only the k likeliest, likeliest first. Runs a ``jax.jit``-compiled
    function, compiled once per input shape and model in a process.

    Example
    -------
        voice = {in = "stats", model = "models/voices_mlp/model.json", top_k = 3}
    """
    spec = _spec({"model": model}, ctx, "classify")
    probabilities, _ = _apply(spec, in_, ctx)
    classes = spec["classes"]
    if top_k:
        order = np.argsort(-probabilities, kind="stable")[:top_k]
        return Prediction(probabilities[order], tuple(classes[i] for i in order))
    return Prediction(probabilities, tuple(classes))


@node("model.embed", version=1, infer=infer_embed)
def embed(in_: Value, *, model: InputPath = MODEL, ctx: NodeContext) -> Vector:
    """The penultimate-layer activations of a trained classifier: a learned feature vector.

    The same input rules as ``model.classify``; the output is the layer
    before the class scores (an ``mlp``'s last hidden layer, a ``cnn``'s dense
    embedding, an ``lstm``'s mean output joined to its last state), named
    ``embed_0`` .. ``embed_{n-1}``: use it for similarity, clustering or as
    the input of another model.

    Example
    -------
        embedding = {in = "stats", model = "models/voices_mlp/model.json"}
    """
    spec = _spec({"model": model}, ctx, "classify")
    _, embedding = _apply(spec, in_, ctx)
    return Vector(embedding, tuple(f"embed_{i}" for i in range(embedding.size)))


def infer_generate(inputs: Mapping[str, PortInfo], params: Mapping[str, Any], ctx: NodeContext):
    spec = _spec(params, ctx, "generate")
    rate = spec["input"]["sample_rate"]
    if abs(rate - ctx.sample_rate) > 1e-6 * rate:
        raise ctx.param_error(
            "model",
            f"the model makes audio at {rate:g} Hz, the graph runs at {ctx.sample_rate:g} Hz "
            "(set the graph's sample_rate)",
        )
    prime = inputs.get("in")
    if prime is not None and prime.sample_rate and abs(prime.sample_rate - rate) > 1e-6 * rate:
        raise ctx.port_error(
            "in", f"seed audio at {prime.sample_rate:g} Hz, the model needs {rate:g} Hz"
        )
    frames = round(params["duration_s"] * rate)
    if frames < 1:
        raise ctx.param_error("duration_s", "shorter than one sample")
    return {"out": PortInfo("audio", (1, frames), rate)}


@node("model.generate", version=1, infer=infer_generate)
def generate(
    in_: Audio | None = None,
    *,
    model: InputPath = MODEL,
    duration_s: float = param(2.0, unit="s", range=(0.0, 600.0), description="length to make"),
    temperature: float = param(
        0.0, range=(0.0, 10.0), description="randomness: noise scale (lstm_gen), latent scale (gan)"
    ),
    seed: int | None = param(None, description="seed of the sampling noise"),
    ctx: NodeContext,
) -> Audio:
    """Generate audio with a trained generator: continue a sound (lstm_gen) or sample a GAN.

    ``lstm_gen`` (``graphengine train-gen --arch lstm_gen``) predicts the
    next block of samples from the current one: it is warmed up on the end
    of the ``in`` audio (the seed sound; without one, on the end of its
    training audio) and then runs on its own output for ``duration_s``
    seconds. ``temperature`` adds Gaussian noise of that many times the
    model's training residual to each predicted block (0: deterministic).
    ``gan`` draws latent vectors (scaled by ``temperature``; 0 is taken as 1)
    from ``seed``, generates short clips and overlap-adds them with a Hann
    window. The output is mono at the model's sample rate, which must be
    the graph's; it is the continuation only, not the seed sound.

    Example
    -------
        more = {in = "src", model = "models/tone_lstm/model.json", duration_s = 1.0}
    """
    import nodes.model._io as _io

    spec = _spec({"model": model}, ctx, "generate")
    loaded = _load(spec, ctx)
    rate = spec["input"]["sample_rate"]
    frames = round(duration_s * rate)
    scale = float(spec["normaliser"]["scale"])
    rng = np.random.default_rng(seed)
    if spec["arch"] == "lstm_gen":
        block = int(spec["config"]["block"])
        stored = np.asarray(loaded.extra["prime"], np.float32)
        if in_ is not None:
            given = in_.samples.mean(axis=0) / scale
            prime = np.zeros_like(stored)
            tail = given[-len(stored) :]
            prime[len(prime) - len(tail) :] = tail
        else:
            prime = stored
        steps = -(-frames // block)
        residual = float(loaded.extra["residual_rms"])
        noise = (temperature * residual * rng.standard_normal((steps, block))).astype(np.float32)
        blocks = prime.reshape(-1, block)
        out = np.asarray(_io.compiled(loaded, "continue", _continue, blocks, noise))
        samples = out.reshape(-1)[:frames]
    else:
        length = int(spec["config"]["length"])
        hop = length // 2
        count = -(-frames // hop) + 1
        z = rng.standard_normal((count, int(spec["config"]["z_dim"]))).astype(np.float32)
        z *= temperature or 1.0
        clips = np.asarray(_io.compiled(loaded, "sample", _sample, z))
        window = np.hanning(length + 1)[:length].astype(np.float32)  # periodic: sums to 1 at 50 %
        total = np.zeros(count * hop + length, np.float32)
        for i, clip in enumerate(clips):
            total[i * hop : i * hop + length] += clip * window
        samples = total[hop : hop + frames]
    if not np.isfinite(samples).all():
        raise ctx.param_error("model", "the model produced NaN or infinite samples")
    return Audio((samples * scale)[np.newaxis], rate)


def _continue(model: Any, prime: Any, noise: Any) -> Any:
    import jax
    import jax.numpy as jnp

    def warm(carry: Any, x: Any) -> Any:
        carry, _ = model.step(carry, x[None])
        return carry, None

    carry, _ = jax.lax.scan(warm, model.initial(1), prime[:-1])

    def run(state: Any, eps: Any) -> Any:
        carry, x = state
        carry, y = model.step(carry, x[None])
        y = jnp.clip(y[0] + eps, -1.5, 1.5)
        return (carry, y), y

    _, blocks = jax.lax.scan(run, (carry, prime[-1]), noise)
    return blocks


def _sample(model: Any, z: Any) -> Any:
    return model.generator(z)
