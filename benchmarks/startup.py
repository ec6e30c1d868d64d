"""Start-up benchmark: wall time of a new ``graphengine`` process for commands users type often.

Each command runs in a fresh interpreter (``python -m graphengine ...``), the
median of a few runs after one warm-up (so the OS file cache and numba's disk
cache are warm, as on a machine in use). The peers are the floor any Python
tool pays, measured in the same run: an interpreter that does nothing, and one
that imports numpy (which every command needs for the port types).

Targets (issue "headless render path"): ``--help`` and ``nodes`` <= 0.3 s,
``validate`` of a 10-node graph <= 0.4 s, a 0.1 s tone -> sink render <= 0.6 s.

The processes run as on an installed copy: Python keeps compiled bytecode
(``PYTHONDONTWRITEBYTECODE`` is dropped for them and ``PYTHONPYCACHEPREFIX``
points into the run's temporary folder, so the tree is not touched), and the
node index (``GRAPHENGINE_INDEX_DIR``, also there) is written by the warm-up.
``--no-bytecode`` keeps the caller's setting, for a machine that writes none.
The code measured is whatever ``python -m graphengine`` imports
(``PYTHONPATH``), so one run of this script can time another checkout.

Run: ``python benchmarks/startup.py [--no-bytecode]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 5

TEN_NODES = """
sample_rate = 44100
[nodes.src]
type = "source.tone"
duration_s = 0.1
[nodes.g1]
type = "effect.gain"
in = "src"
[nodes.g2]
type = "effect.gain"
in = "g1"
[nodes.lp]
type = "filter.biquad"
in = "g2"
cutoff_hz = 2000.0
[nodes.hp]
type = "filter.biquad"
in = "lp"
mode = "highpass"
cutoff_hz = 100.0
[nodes.d]
type = "effect.delay"
in = "hp"
[nodes.f]
type = "effect.fade"
in = "d"
[nodes.n]
type = "effect.normalize"
in = "f"
[nodes.r]
type = "effect.reverse"
in = "n"
[nodes.out]
type = "sink.wav"
in = "r"
path = "out/ten.wav"
"""

TONE = """
sample_rate = 44100
[nodes.src]
type = "source.tone"
duration_s = 0.1
[nodes.out]
type = "sink.wav"
in = "src"
path = "out/tone.wav"
"""


def seconds(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Median wall time of ``args`` in new processes, after one warm-up run."""
    subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE")
    keep = parser.parse_args().no_bytecode
    python = sys.executable
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = {**os.environ, "GRAPHENGINE_INDEX_DIR": str(root / "index")}
        if not keep:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        (root / "ten.toml").write_text(TEN_NODES)
        (root / "tone.toml").write_text(TONE)
        floor = seconds([python, "-c", "pass"], root, env)
        numpy = seconds([python, "-c", "import numpy"], root, env)
        rows = [
            ("python -c pass", floor, None),
            ("python -c 'import numpy'", numpy, None),
            ("graphengine --help", None, 0.3),
            ("graphengine nodes", None, 0.3),
            ("graphengine validate ten.toml", None, 0.4),
            ("graphengine render tone.toml --no-cache", None, 0.6),
        ]
        bytecode = "no bytecode kept" if keep else "bytecode kept"
        print(f"new-process wall time, median of {REPEATS} after a warm-up ({bytecode})")
        print(f"{'command':42} {'s':>6} {'x numpy import':>15} {'target s':>9} {'':4}")
        for name, measured, target in rows:
            if measured is None:
                measured = seconds([python, "-m", *name.split()], root, env)
            ratio = f"{measured / numpy:15.2f}"
            goal = f"{target:9.1f}" if target else f"{'':9}"
            verdict = ("ok" if measured <= target else "over") if target else ""
            print(f"{name:42} {measured:6.3f} {ratio} {goal} {verdict:4}")


if __name__ == "__main__":
    main()
