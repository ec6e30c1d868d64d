"""Start-up of a graph with a model node: new-process seconds to the first output.

For graphs/classify.toml (model.classify + model.embed, the voices mlp) and
graphs/generate.toml (model.generate, the tone lstm_gen): the wall time of
``python -m graphengine render GRAPH --no-cache`` in a fresh interpreter,
cold (empty JAX compilation cache, through ``$GRAPHENGINE_JAX_CACHE``) and
warm (the second process, same cache: the case of a machine in use). The
numba cache is the user's (warm) in both, so cold isolates the model's
compile. Then the model's share in a warm new process, step by step: import
jax, load the model (read + check the files; the decoded weights come from
the cache folder), compile (the exported function and a compilation cache
hit when warm) and the first call, and whether flax was imported (a warm
process needs none). Target (issue "start-up"): first output <= 2 s, warm.

Run: ``python benchmarks/model_startup.py``
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GRAPHS = {"classify": "graphs/classify.toml", "generate": "graphs/generate.toml"}
TARGET_S = 2.0
REPEATS = 3

STEPS = """
import json, sys, time
import numpy as np
t0 = time.perf_counter()
import jax
t1 = time.perf_counter()
t2 = time.perf_counter()
from nodes.model import _io, inference
loaded = _io.load(sys.argv[1])
t3 = time.perf_counter()
spec = loaded.spec
if spec["task"] == "classify":
    x = np.zeros((1, spec["input"]["shape"][0]), np.float32)
    name, fn, args = "classify", inference._classify_fn(spec["arch"]), (x,)
else:
    block = int(spec["config"]["block"])
    prime = np.asarray(loaded.extra["prime"], np.float32).reshape(-1, block)
    noise = np.zeros((-(-32000 // block), block), np.float32)
    name, fn, args = "continue", inference._continue, (prime, noise)
out = _io.compiled(loaded, name, fn, *args)
jax.block_until_ready(out)
t4 = time.perf_counter()
print(json.dumps({"import jax": t1 - t0, "load model": t3 - t2, "compile + run": t4 - t3,
                  "flax imported": "flax" in sys.modules}))
"""

MODELS = {
    "classify": "graphs/models/voices_mlp/model.json",
    "generate": "graphs/models/tone_lstm/model.json",
}


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "GRAPHENGINE_JAX_CACHE": str(cache)}


def render_s(graph: str, cache: Path) -> float:
    """Wall seconds of one new ``graphengine render`` process."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "graphengine", "render", graph, "--no-cache"],
        cwd=REPO,
        env=_env(cache),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def steps(model: str, cache: Path) -> dict[str, float]:
    """The model's share of a new process, in seconds per step."""
    result = subprocess.run(
        [sys.executable, "-c", STEPS, model],
        cwd=REPO,
        env=_env(cache),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    floor = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import graphengine"], cwd=REPO, env=_env(REPO))
        floor.append(time.perf_counter() - started)
    print(f"python + import graphengine: {statistics.median(floor):.2f} s\n")
    print(f"{'graph':<10}{'cold s':>8}{'warm s':>8}{'target s':>10}  warm model steps (s)")
    for key, graph in GRAPHS.items():
        with tempfile.TemporaryDirectory(prefix="ge-jax-") as folder:
            cache = Path(folder) / "jax"
            cold = render_s(graph, cache)
            warm = statistics.median(render_s(graph, cache) for _ in range(REPEATS))
            parts = steps(MODELS[key], cache)
        breakdown = ", ".join(
            f"{k} {v:.2f}" if isinstance(v, float) else f"{k}: {v}" for k, v in parts.items()
        )
        verdict = "ok" if warm <= TARGET_S else "over"
        print(f"{key:<10}{cold:>8.2f}{warm:>8.2f}{TARGET_S:>6.1f} {verdict:<4} {breakdown}")


if __name__ == "__main__":
    main()
