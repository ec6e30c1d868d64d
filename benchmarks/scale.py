"""Scale benchmark: validate and render time against graph size, which must grow linearly.

Two shapes, written as TOML graph files into a temporary folder:

- chain: one tone through n ``effect.gain`` nodes into a WAV;
- fan-in: n tones into one ``signal.mix`` (it takes any number of inputs) into a WAV.

Each of 100, 1,000, 3,000 and 10,000 nodes is measured in one process through
the API, the median of a few runs (one at the largest size):

- validate: ``graphengine.load`` and ``validate`` of the file;
- render: ``execute`` of the validated graph with an empty disk cache, so every
  node is computed and stored, and the sink's provenance sidecar written.

There is no peer: the last column is the growth, the time ratio to the
previous size next to the node ratio (linear growth keeps them equal).

Run: ``python benchmarks/scale.py``
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import graphengine as ge
from graphengine import api

SIZES = (100, 1_000, 3_000, 10_000)
SECONDS = 0.1
SR = 44100
REPEATS = 3


def header(name: str) -> list[str]:
    return ["format = 1", f'name = "{name}"', f"sample_rate = {SR}", ""]


def table(node_id: str, node_type: str, **fields: str) -> list[str]:
    return [
        f"[nodes.{node_id}]",
        f'type = "{node_type}"',
        *(f"{k} = {v}" for k, v in fields.items()),
        "",
    ]


def chain(n: int) -> str:
    """One tone, ``n`` gains in a row, a sink: n + 2 nodes."""
    lines = header("chain") + table(
        "src", "source.tone", frequency="440.0", duration_s=str(SECONDS)
    )
    previous = "src"
    for index in range(n):
        lines += table(f"g{index}", "effect.gain", **{"in": f'"{previous}"', "gain_db": "-0.001"})
        previous = f"g{index}"
    lines += table("out", "sink.wav", **{"in": f'"{previous}"', "path": '"out/chain.wav"'})
    return "\n".join(lines)


def fan_in(n: int) -> str:
    """``n`` tones into one mix, a sink: n + 2 nodes."""
    lines = header("fan-in")
    for index in range(n):
        frequency = f"{100.0 + index * 0.5}"
        lines += table(
            f"s{index}",
            "source.tone",
            frequency=frequency,
            duration_s=str(SECONDS),
            amplitude="1e-4",
        )
    sources = ", ".join(f'"s{index}"' for index in range(n))
    lines += table("mix", "signal.mix", **{"in": f"[{sources}]"})
    lines += table("out", "sink.wav", **{"in": '"mix"', "path": '"out/fan-in.wav"'})
    return "\n".join(lines)


def measure(path: Path, cache: Path, repeats: int) -> tuple[float, float]:
    """Median seconds of (load + validate, render with an empty cache)."""
    validating, rendering = [], []
    for repeat in range(repeats):
        api._MEMORY.clear()
        shutil.rmtree(path.parent / "out", ignore_errors=True)  # else the sink is up to date
        started = time.perf_counter()
        graph = ge.load(path)
        valid = graph.validate()
        validating.append(time.perf_counter() - started)
        started = time.perf_counter()
        graph.execute(valid, cache=cache / f"{path.stem}-{repeat}")
        rendering.append(time.perf_counter() - started)
    return statistics.median(validating), statistics.median(rendering)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        warm = folder / "warm.toml"  # imports and numba kernels load before anything is timed
        warm.write_text(chain(3))
        measure(warm, folder / "cache", 1)
        print(f"{SECONDS} s of audio at {SR} Hz per source, median of {REPEATS} runs")
        print(
            f"{'shape':<7} {'nodes':>6} {'validate s':>11} {'render s':>9} "
            f"{'s per 1000':>11} {'growth (nodes)':>15}"
        )
        for shape, build in (("chain", chain), ("fan-in", fan_in)):
            previous: tuple[int, float] | None = None
            for size in SIZES:
                path = folder / f"{shape}-{size}.toml"
                path.write_text(build(size))
                repeats = 1 if size == SIZES[-1] else REPEATS
                validate_s, render_s = measure(path, folder / "cache", repeats)
                nodes = size + 2
                total = validate_s + render_s
                growth = "-"
                if previous is not None:
                    growth = f"{total / previous[1]:.2f} ({nodes / previous[0]:.2f})"
                print(
                    f"{shape:<7} {nodes:>6} {validate_s:>11.3f} {render_s:>9.3f} "
                    f"{1000 * total / nodes:>11.3f} {growth:>15}"
                )
                previous = (nodes, total)
        print("target: validate and render of 10,000 nodes under 10 s each; growth ~ node ratio")


if __name__ == "__main__":
    main()
