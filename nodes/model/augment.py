"""Training-time augmentation of a classifier's normalised inputs, drawn afresh every epoch.

Each epoch the fitting batches are varied with a generator seeded by
``(seed, epoch)``, so a run is repeatable and every epoch sees new
variants. What is varied depends on the input:

- a ``cnn`` patch ``(batch, rows, frames)`` (a log-mel spectrogram in dB
  or any stack of feature rows):

  - ``gain_db``: a level change, the same offset in dB on every row;
  - ``noise_snr_db``: noise added at a signal-to-noise ratio drawn from
    the range, in the power domain (``10 log10(10^(x/10) + noise)``,
    noise flat across the rows at the clip's mean power less the SNR);
  - ``pitch_rows``: a shift along the rows by up to this many (on a mel
    axis, a pitch shift of roughly that many bands), edge rows repeated;
  - ``time_shift``: a circular shift by up to this fraction of the frames;
  - ``freq_masks`` / ``time_masks``: SpecAugment masks, each up to
    ``freq_mask_fraction`` of the rows or ``time_mask_fraction`` of the frames, set
    to the training mean;

  gain and noise need rows in dB (``spectral.mel`` with ``db = true``);
  for other features leave them out with ``gain_db = 0`` and
  ``noise_snr_db = None``.
- an ``lstm`` sequence ``(batch, frames, n)``: Gaussian noise of
  ``jitter`` standard deviations and time masks;
- an ``mlp`` vector: Gaussian noise of ``jitter`` standard deviations.

The settings are :data:`DEFAULTS`; ``train_classifier(augment=...)`` takes
``False`` (none) or a dict of changes. NumPy only, no JAX.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphengine.errors import GraphError

DEFAULTS: dict[str, Any] = {
    "gain_db": 6.0,
    "noise_snr_db": (10.0, 40.0),
    "pitch_rows": 2,
    "time_shift": 0.25,
    "freq_masks": 2,
    "freq_mask_fraction": 0.125,
    "time_masks": 2,
    "time_mask_fraction": 0.1,
    "jitter": 0.1,
}
"""The augmentation a classifier trains with unless told otherwise."""


def settings(augment: bool | dict[str, Any] | None) -> dict[str, Any] | None:
    """The augmentation settings for ``augment`` (False/None: none; True: defaults; a dict)."""
    if augment is None or augment is False:
        return None
    chosen = dict(DEFAULTS)
    if isinstance(augment, dict):
        unknown = sorted(set(augment) - set(DEFAULTS))
        if unknown:
            raise GraphError(
                f"augment: unknown setting(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}"
            )
        chosen.update(augment)
    return chosen


def augment_batch(
    x: np.ndarray,
    arch: str,
    options: dict[str, Any],
    rng: np.random.Generator,
    normaliser: dict[str, list[float]],
) -> np.ndarray:
    """A varied copy of the normalised batch ``x`` (float32, same shape)."""
    x = np.array(x, np.float32, copy=True)
    if arch == "cnn":
        return _patches(x, options, rng, normaliser)
    noise = rng.standard_normal(x.shape).astype(np.float32) * np.float32(options["jitter"])
    x += noise
    if arch == "lstm":
        frames = x.shape[1]
        widest = max(1, int(options["time_mask_fraction"] * frames))
        for i in range(len(x)):
            for _ in range(options["time_masks"]):
                width = int(rng.integers(0, widest + 1))
                start = int(rng.integers(0, max(1, frames - width + 1)))
                x[i, start : start + width] = 0.0
    return x


def _patches(
    x: np.ndarray, options: dict[str, Any], rng: np.random.Generator, normaliser: dict
) -> np.ndarray:
    """Gain, noise, pitch and time shifts and SpecAugment masks on (batch, rows, frames)."""
    batch, rows, frames = x.shape
    mean = np.asarray(normaliser["mean"], np.float32)[:, None]
    std = np.asarray(normaliser["std"], np.float32)[:, None]
    snr = options["noise_snr_db"]
    gain = float(options["gain_db"])
    for i in range(batch):
        if gain or snr is not None:
            db = x[i] * std + mean
            db += np.float32(rng.uniform(-gain, gain))
            if snr is not None:
                level = 10 * np.log10(np.mean(10 ** (db / 10)) + 1e-12)
                noise_db = level - rng.uniform(snr[0], snr[1])
                db = 10 * np.log10(10 ** (db / 10) + 10 ** (noise_db / 10))
            x[i] = (db - mean) / std
        shift = int(rng.integers(-options["pitch_rows"], options["pitch_rows"] + 1))
        if shift:
            rows_from = np.clip(np.arange(rows) - shift, 0, rows - 1)
            x[i] = x[i, rows_from]
        most = int(options["time_shift"] * frames)
        if most:
            x[i] = np.roll(x[i], int(rng.integers(-most, most + 1)), axis=1)
        for _ in range(options["freq_masks"]):
            width = int(rng.integers(0, max(1, int(options["freq_mask_fraction"] * rows)) + 1))
            start = int(rng.integers(0, rows - width + 1))
            x[i, start : start + width] = 0.0
        for _ in range(options["time_masks"]):
            width = int(rng.integers(0, max(1, int(options["time_mask_fraction"] * frames)) + 1))
            start = int(rng.integers(0, frames - width + 1))
            x[i, :, start : start + width] = 0.0
    return x
