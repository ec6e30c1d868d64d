"""Image-to-sound benchmark: a 512x512 image to 10 s of 44.1 kHz audio.

Side by side, each figure the median of several runs in one process (kernels
compiled and caches warm before timing):

- additive: ``image.to_sound`` method additive (the numba sine bank);
- additive peer: the same sine bank in plain numpy (exact phase, ``np.sin``
  of an outer product, 4096 samples at a time);
- spectral random: method spectral, random phase (one inverse STFT);
- spectral GL-32: method spectral, 32 fast Griffin-Lim iterations;
- GL peer: ``librosa.griffinlim`` (32 iterations, same n_fft/hop) on the
  same magnitudes;
- to_image: ``image.from_sound`` of the 10 s result back to 512x512.

Run: ``python benchmarks/image.py``
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from timing import seconds_of

from graphengine.node import NodeContext
from graphengine.types import Image
from nodes.image.from_sound import to_image
from nodes.image.mapping import _stft, brightness_to_amplitude, row_frequencies
from nodes.image.to_sound import spectral_magnitudes, to_sound

SR = 44100.0
SECONDS = 10.0
SIZE = 512
REPEATS = 5


def ctx(node_type: str) -> NodeContext:
    return NodeContext("bench", node_type, SR, Path("."))


def timed(action, repeats: int = REPEATS) -> float:
    return seconds_of(action, repeats, median=True)


def numpy_bank(pixels: np.ndarray) -> np.ndarray:
    frames = round(SECONDS * SR)
    rows, cols = pixels.shape
    amps = brightness_to_amplitude(pixels, 60.0)
    freqs = row_frequencies(rows, 50.0, 12000.0, "log") / SR
    phase0 = np.random.default_rng(0).random(rows)
    centres = (np.arange(cols) + 0.5) * frames / cols
    out = np.empty(frames)
    for start in range(0, frames, 4096):
        n = np.arange(start, min(start + 4096, frames))
        envelope = np.stack([np.interp(n, centres, a) for a in amps])
        out[n] = np.sum(envelope * np.sin(2 * np.pi * (np.outer(freqs, n) + phase0[:, None])), 0)
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    pixels = rng.random((SIZE, SIZE)).astype(np.float32)  # every row sounding
    image = Image(pixels)
    defaults = {p.name: p.default for p in to_sound.spec.params}
    frames = round(SECONDS * SR)

    def render(**params):
        return to_sound.spec.function(
            image, None, **(defaults | {"duration_s": SECONDS} | params), ctx=ctx("image.to_sound")
        )

    sound = render()
    results = {
        "additive (numba bank)": timed(lambda: render(method="additive")),
        "additive peer (numpy sin)": timed(lambda: numpy_bank(pixels), repeats=1),
        "spectral, random phase": timed(lambda: render(method="spectral", phase="random")),
        "spectral, Griffin-Lim 32": timed(
            lambda: render(method="spectral", iterations=32), repeats=2
        ),
    }
    try:
        import librosa

        sft = _stft(SR, 2048)
        mags = spectral_magnitudes(pixels, frames, SR, sft, 50.0, 12000.0, "log", 60.0)
        results["GL peer (librosa.griffinlim 32)"] = timed(
            lambda: librosa.griffinlim(mags, n_iter=32, hop_length=512, n_fft=2048), repeats=2
        )
    except ImportError:
        pass
    image_defaults = {p.name: p.default for p in to_image.spec.params}
    results["image.from_sound 512x512"] = timed(
        lambda: to_image.spec.function(
            sound, **(image_defaults | {"rows": SIZE, "columns": SIZE}), ctx=ctx("image.from_sound")
        ),
        repeats=2,
    )
    base = results["additive (numba bank)"]
    print(f"{SIZE}x{SIZE} image (all rows lit) -> {SECONDS:g} s at {SR:g} Hz")
    print(f"{'what':36} {'median s':>10} {'x additive':>11}")
    for name, seconds in results.items():
        print(f"{name:36} {seconds:10.3f} {seconds / base:11.1f}")


if __name__ == "__main__":
    main()
