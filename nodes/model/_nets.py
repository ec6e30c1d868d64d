"""Flax NNX architectures: mlp, cnn and lstm classifiers, the lstm_gen generator, a small GAN.

Every classifier takes a normalised batch and returns ``(logits, embedding)``,
the embedding being the penultimate layer (what ``model.embed`` outputs):

- :class:`MLP` on vectors ``(batch, dim)``: dense layers with ReLU and dropout;
- :class:`CNN` on log-mel patches ``(batch, rows, frames)``: 3x3
  convolution blocks with batch normalisation and 2x2 average pooling,
  then mean and max over time (the frequency layout is kept), a dense
  embedding and the classes;
- :class:`LSTMClassifier` on feature sequences ``(batch, frames, n)`` with
  their lengths: an LSTM whose padded steps are masked out; the embedding
  is the masked mean of its outputs joined to its last valid state.

:class:`LSTMGen` predicts the next block of ``block`` samples from the
current one; :class:`Generator` and :class:`Discriminator` form the GAN
(the discriminator judges log-magnitude spectra, so adversarial training
pulls the generator's spectra toward the data's). Build a model from its
JSON config with :func:`build`.
"""

from __future__ import annotations

import itertools
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx


def _dense_stack(sizes: tuple[int, ...], rngs: nnx.Rngs) -> nnx.List:
    """Dense layers from each size to the next (the activation is the caller's)."""
    return nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in itertools.pairwise(sizes)])


class MLP(nnx.Module):
    """Dense layers with ReLU and dropout on a feature vector."""

    def __init__(
        self,
        in_dim: int,
        n_classes: int,
        *,
        hidden: tuple[int, ...] = (64, 32),
        dropout: float = 0.2,
        rngs: nnx.Rngs,
    ) -> None:
        self.layers = _dense_stack((in_dim, *hidden), rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.head = nnx.Linear(hidden[-1] if hidden else in_dim, n_classes, rngs=rngs)

    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        for layer in self.layers:
            x = self.dropout(nnx.relu(layer(x)))
        return self.head(x), x


class CNN(nnx.Module):
    """3x3 convolution blocks with batch norm over a (rows, frames) patch, pooled, then dense.

    Each block is a 3x3 convolution, batch normalisation, ReLU and 2x2
    average pooling; after the last the frequency rows are kept and time is
    pooled by mean and max, then a dense embedding with dropout and the
    classes. ``batch_norm = False`` (the configs of models trained before it
    existed) leaves the normalisation out.
    """

    def __init__(
        self,
        rows: int,
        n_classes: int,
        *,
        channels: tuple[int, ...] = (8, 16),
        embed: int = 32,
        dropout: float = 0.2,
        batch_norm: bool = False,
        rngs: nnx.Rngs,
    ) -> None:
        sizes = (1, *channels)
        self.convs = nnx.List(
            [nnx.Conv(a, b, (3, 3), rngs=rngs) for a, b in itertools.pairwise(sizes)]
        )
        self.norms = nnx.List(
            [nnx.BatchNorm(b, momentum=0.9, rngs=rngs) for b in channels] if batch_norm else []
        )
        self.batch_norm = batch_norm
        pooled_rows = rows // 2 ** len(channels)
        # the original two-block CNN pools time by its mean only
        pooled = pooled_rows * channels[-1] * (2 if batch_norm else 1)
        self.dense = nnx.Linear(pooled, embed, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.head = nnx.Linear(embed, n_classes, rngs=rngs)

    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = x[..., None]  # (batch, rows, frames, 1): NHWC
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if self.batch_norm:
                x = self.norms[i](x)
            x = nnx.avg_pool(nnx.relu(x), (2, 2), strides=(2, 2))
        if self.batch_norm:
            x = jnp.concatenate([x.mean(axis=2), x.max(axis=2)], axis=-1)
            x = self.dropout(x.reshape(x.shape[0], -1))
        else:
            x = x.mean(axis=2).reshape(x.shape[0], -1)  # over time: pooled rows x channels
        x = nnx.relu(self.dense(x))
        return self.head(self.dropout(x)), x


class LSTMClassifier(nnx.Module):
    """An LSTM over variable-length feature sequences, padded steps masked out."""

    def __init__(
        self,
        in_dim: int,
        n_classes: int,
        *,
        hidden: int = 32,
        dropout: float = 0.2,
        rngs: nnx.Rngs,
    ) -> None:
        self.rnn = nnx.RNN(nnx.LSTMCell(in_dim, hidden, rngs=rngs), return_carry=True)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.head = nnx.Linear(2 * hidden, n_classes, rngs=rngs)

    def __call__(self, x: jax.Array, lengths: jax.Array) -> tuple[jax.Array, jax.Array]:
        (_, last), outputs = self.rnn(x, seq_lengths=lengths)
        mask = (jnp.arange(x.shape[1])[None, :] < lengths[:, None]).astype(x.dtype)
        mean = (outputs * mask[..., None]).sum(axis=1) / jnp.maximum(mask.sum(axis=1), 1)[:, None]
        embedding = jnp.concatenate([mean, last], axis=-1)
        return self.head(self.dropout(embedding)), embedding


class LSTMGen(nnx.Module):
    """Predicts the next block of samples from the current one; runs autoregressively."""

    def __init__(self, *, block: int = 32, hidden: int = 96, rngs: nnx.Rngs) -> None:
        self.cell = nnx.LSTMCell(block, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, block, rngs=rngs)
        self.block = block
        self.hidden = hidden

    def initial(self, batch: int) -> tuple[jax.Array, jax.Array]:
        zeros = jnp.zeros((batch, self.hidden), jnp.float32)
        return zeros, zeros

    def step(self, carry: Any, x: jax.Array) -> tuple[Any, jax.Array]:
        carry, h = self.cell(carry, x)
        return carry, self.out(h)

    def __call__(self, x: jax.Array) -> jax.Array:
        """Teacher-forced predictions for blocks ``x`` shaped (batch, steps, block)."""

        def body(carry: Any, xt: jax.Array) -> tuple[Any, jax.Array]:
            return self.step(carry, xt)

        _, predictions = jax.lax.scan(body, self.initial(x.shape[0]), jnp.swapaxes(x, 0, 1))
        return jnp.swapaxes(predictions, 0, 1)


class Generator(nnx.Module):
    """Noise vector -> a short waveform in [-1, 1]."""

    def __init__(
        self,
        *,
        z_dim: int = 16,
        hidden: tuple[int, ...] = (64, 128),
        length: int = 512,
        rngs: nnx.Rngs,
    ) -> None:
        self.layers = _dense_stack((z_dim, *hidden), rngs)
        self.out = nnx.Linear(hidden[-1] if hidden else z_dim, length, rngs=rngs)
        self.z_dim = z_dim

    def __call__(self, z: jax.Array) -> jax.Array:
        for layer in self.layers:
            z = nnx.leaky_relu(layer(z), 0.2)
        return jnp.tanh(self.out(z))


def log_spectrum(x: jax.Array) -> jax.Array:
    """Log-magnitude spectrum of Hann-windowed clips ``(batch, length)``."""
    window = jnp.hanning(x.shape[-1]).astype(x.dtype)
    return jnp.log1p(10.0 * jnp.abs(jnp.fft.rfft(x * window, axis=-1)))


class Discriminator(nnx.Module):
    """Judges clips by their log-magnitude spectrum: a logit, real > 0."""

    def __init__(self, *, length: int = 512, hidden: int = 64, rngs: nnx.Rngs) -> None:
        self.inner = nnx.Linear(length // 2 + 1, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(nnx.leaky_relu(self.inner(log_spectrum(x)), 0.2))[..., 0]


class GAN(nnx.Module):
    """A generator and a discriminator, saved and loaded as one model."""

    def __init__(self, *, z_dim: int = 16, length: int = 512, rngs: nnx.Rngs) -> None:
        self.generator = Generator(z_dim=z_dim, length=length, rngs=rngs)
        self.discriminator = Discriminator(length=length, rngs=rngs)


CLASSIFIERS = ("mlp", "cnn", "lstm")
GENERATORS = ("lstm_gen", "gan")


def logits_of(model: nnx.Module, arch: str, x: Any, lengths: Any = None) -> tuple[Any, Any]:
    """``(logits, embedding)`` of a classifier's batch (the lstm takes lengths too)."""
    return model(x, lengths) if arch == "lstm" else model(x)


def build(arch: str, config: dict[str, Any], seed: int = 0) -> nnx.Module:
    """The model ``arch`` with the keyword arguments ``config`` (from model.json)."""
    rngs = nnx.Rngs(params=seed, dropout=seed + 1)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    if arch == "mlp":
        return MLP(rngs=rngs, **kwargs)
    if arch == "cnn":
        return CNN(rngs=rngs, **kwargs)
    if arch == "lstm":
        return LSTMClassifier(rngs=rngs, **kwargs)
    if arch == "lstm_gen":
        return LSTMGen(rngs=rngs, **kwargs)
    if arch == "gan":
        return GAN(rngs=rngs, **kwargs)
    raise ValueError(f"unknown architecture {arch!r}")
