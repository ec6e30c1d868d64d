"""Convolution reverb benchmark: 30 s at 44.1 kHz through a 3 s impulse response.

Every row convolves the same full-scale noise (uniform in [-1, 1]) with the
same response (Gaussian noise under a 0.5 s exponential decay, unit energy,
written to a temporary 32-bit float WAV at 44.1 kHz so nothing is
resampled), wet only (``mix = 1``), timed in this one run (best of
``REPEATS``):

- engine: ``effect.convolution_reverb`` in a ``graphengine.Graph`` run with
  ``cache=False``, the input given in memory (``inputs=``), at several block
  sizes (16384 is ``DEFAULT_BLOCK_SIZE``);
- node: the node class driven block by block as the streaming runtime does;
- scipy.signal.fftconvolve and oaconvolve over the whole signal (the
  reference: ``x fftconvolve`` is its time over the row's, so 1.0 or more
  means at least as fast);
- per-block oaconvolve: the previous node's algorithm (each block convolved
  with the whole response, its tail carried), at the default block only.

``peak MiB`` is the tracemalloc peak of a separate run of the row (numpy
reports its buffers to tracemalloc), ``max err`` the largest absolute
difference from fftconvolve. The last rows are the stereo layouts the node
supports, through the engine at the default block.

Run: ``python benchmarks/reverb.py``
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve, oaconvolve

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import graphengine as ge
from graphengine.blocknode import DEFAULT_BLOCK_SIZE, StreamSpec
from graphengine.context import NodeContext
from nodes.effect.reverb import ConvolutionReverb

SR = 44100
SECONDS = 30.0
IR_SECONDS = 3.0
REPEATS = 3
BLOCKS = (DEFAULT_BLOCK_SIZE, 4096, 1024, 256)


def signal(channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, (channels, round(SECONDS * SR))).astype(np.float32)


def response(channels: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = round(IR_SECONDS * SR)
    ir = rng.standard_normal((channels, frames)) * np.exp(-np.arange(frames) / (0.5 * SR))
    return ir / np.linalg.norm(ir, axis=1, keepdims=True)


def engine(x: np.ndarray, ir_path: Path, block_size: int) -> np.ndarray:
    g = ge.Graph(sample_rate=SR, name="bench-reverb")
    g.add("src", "source.file", path="fed-from-python.wav")
    g.add("hall", "effect.convolution_reverb", in_="src", ir_path=str(ir_path), mix=1.0)
    result = g.run(
        outputs=["hall"], inputs={"src": ge.Audio(x, SR)}, cache=False, block_size=block_size
    )
    return result["hall"].samples


def node(x: np.ndarray, ir_path: Path, block_size: int) -> np.ndarray:
    ctx = NodeContext("hall", "effect.convolution_reverb", float(SR), ir_path.parent)
    reverb = ConvolutionReverb(ctx, ir_path=str(ir_path), mix=1.0)
    frames = reverb.output_frames((x.shape[1],))
    reverb.prepare(StreamSpec(SR, x.shape[0], block_size, frames, (x.shape[0],), (x.shape[1],)))
    reverb.reset()
    reverb.start()
    out = np.empty((reverb.output_channels((x.shape[0],)), frames), np.float32)
    for start in range(0, frames, block_size):
        out[:, start : start + block_size] = reverb.process(x[:, start : start + block_size].copy())
    return out


def reference(x: np.ndarray, ir: np.ndarray, convolve: Callable = fftconvolve) -> np.ndarray:
    """Wet signal of the node's rules: a mono side spread over the other's channels."""
    return convolve(x.astype(np.float64), ir, axes=1)[:, : x.shape[1]]


def per_block_oaconvolve(x: np.ndarray, ir: np.ndarray, block_size: int) -> np.ndarray:
    """The previous node: every block convolved with the whole response, the tail carried."""
    tail = np.zeros((x.shape[0], ir.shape[1] - 1))
    out = np.empty(x.shape)
    for start in range(0, x.shape[1], block_size):
        wet = oaconvolve(x[:, start : start + block_size].astype(np.float64), ir, axes=1)
        n = min(block_size, x.shape[1] - start)
        head = min(n, tail.shape[1])
        wet[:, :head] += tail[:, :head]
        rest = np.zeros_like(tail)
        rest[:, : tail.shape[1] - head] = tail[:, head:]
        rest += wet[:, n:]
        tail = rest
        out[:, start : start + n] = wet[:, :n]
    return out


def best(action: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    seconds, out = float("inf"), None
    for _ in range(REPEATS):
        started = time.perf_counter()
        out = action()
        seconds = min(seconds, time.perf_counter() - started)
    return seconds, np.asarray(out)


def peak_mib(action: Callable[[], np.ndarray]) -> float:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(name: str, action: Callable[[], np.ndarray], want: np.ndarray, base: float) -> tuple:
    seconds, out = best(action)
    error = float(np.abs(out.astype(np.float64) - want).max())
    return name, seconds, base / seconds, peak_mib(action), error


def print_table(title: str, rows: list[tuple]) -> None:
    print(title)
    print(
        f"{'implementation':<40} {'time s':>8} {'x fftconvolve':>14} {'peak MiB':>9} {'max err':>9}"
    )
    for name, seconds, ratio, peak, error in rows:
        print(f"{name:<40} {seconds:>8.3f} {ratio:>14.2f} {peak:>9.1f} {error:>9.1e}")


def mono_rows(folder: Path) -> list[tuple]:
    x, ir = signal(1), response(1)
    path = folder / "mono.wav"
    sf.write(path, ir.T, SR, subtype="FLOAT")
    ir = sf.read(path, dtype="float64", always_2d=True)[0].T  # what the node reads
    ir = ir / np.linalg.norm(ir, axis=1, keepdims=True)
    engine(x[:, :SR], path, 1024)  # load the kernels and libraries before timing
    base, want = best(lambda: reference(x, ir))
    rows = [("scipy.signal.fftconvolve (whole)", base, 1.0, peak_mib(lambda: reference(x, ir)), 0)]
    rows.append(
        measure("scipy.signal.oaconvolve (whole)", lambda: reference(x, ir, oaconvolve), want, base)
    )
    for block in BLOCKS:
        rows.append(
            measure(
                f"engine Graph.run, block {block}", lambda b=block: engine(x, path, b), want, base
            )
        )
    for block in BLOCKS:
        rows.append(
            measure(f"node class, block {block}", lambda b=block: node(x, path, b), want, base)
        )
    rows.append(
        measure(
            f"per-block oaconvolve, block {DEFAULT_BLOCK_SIZE}",
            lambda: per_block_oaconvolve(x, ir, DEFAULT_BLOCK_SIZE),
            want,
            base,
        )
    )
    return rows


def stereo_rows(folder: Path) -> list[tuple]:
    rows = []
    for x_channels, ir_channels in ((2, 2), (1, 2), (2, 1)):
        x, ir = signal(x_channels), response(ir_channels)
        path = folder / f"ir{ir_channels}.wav"
        sf.write(path, ir.T, SR, subtype="FLOAT")
        ir = sf.read(path, dtype="float64", always_2d=True)[0].T
        ir = ir / np.linalg.norm(ir, axis=1, keepdims=True)
        base, want = best(lambda x=x, ir=ir: reference(x, ir))
        name = f"engine {x_channels} ch in x {ir_channels} ch IR"
        action = lambda x=x, path=path: engine(x, path, DEFAULT_BLOCK_SIZE)  # noqa: E731
        rows.append(measure(name, action, want, base))
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        title = (
            f"{SECONDS:.0f} s mono at {SR} Hz, {IR_SECONDS:.0f} s IR, wet only, best of {REPEATS}"
        )
        print_table(title, mono_rows(folder))
        print()
        print_table(
            "stereo layouts, block 16384 (x fftconvolve of the same layout)", stereo_rows(folder)
        )


if __name__ == "__main__":
    main()
