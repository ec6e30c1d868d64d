"""Cache keys see all the code that computes a value: kernels, helpers, the
streaming runtime, and the releases of the libraries a node uses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from graphengine.registry import default_registry
from support import REPO_ROOT

GRAPH = """\
format = 1
sample_rate = 8000

[nodes.tone]
type = "source.tone"
frequency = 440
duration_s = 0.25

[nodes.lp]
type = "filter.biquad"
in = "tone"
cutoff_hz = 1000

[nodes.up]
type = "signal.resample"
in = "lp"
rate_hz = 16000

[nodes.out]
type = "sink.wav"
in = "up"
path = "out.wav"
"""


def _kernel_module_of_biquad() -> str:
    """The reached file that defines sosfilt_inplace (found, not hard-coded)."""
    spec = default_registry().get("filter.biquad")
    for file in spec.code["modules"]:
        if "def sosfilt_inplace" in (REPO_ROOT / file).read_text():
            return file
    raise AssertionError("no reached module defines sosfilt_inplace")


def test_a_node_s_code_covers_its_kernels_and_not_the_cli() -> None:
    code = default_registry().get("filter.biquad").code
    assert "nodes/filter/iir.py" in code["modules"]
    assert _kernel_module_of_biquad() in code["modules"]
    assert "graphengine/blocks.py" in code["modules"]  # the streaming runtime
    assert "graphengine/cli.py" not in code["modules"]
    assert "graphengine/validate.py" not in code["modules"]
    assert set(code["packages"]) >= {"numpy", "numba"}
    resample = default_registry().get("signal.resample").code
    assert "soxr" in resample["packages"] and "soxr" not in code["packages"]


def _render(root: Path, graph: Path, cache: Path, extra_path: str = "") -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, str(root)) if p)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "graphengine",
            "render",
            str(graph),
            "--cache-dir",
            str(cache),
            "--explain",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=graph.parent,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def _line(output: str, node_id: str) -> str:
    return next(line for line in output.splitlines() if line.strip().startswith(node_id + " "))


def test_editing_a_kernel_recomputes_the_node_and_its_descendants(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for package in ("graphengine", "nodes"):
        shutil.copytree(
            REPO_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    graph = tmp_path / "g.toml"
    graph.write_text(GRAPH)
    cache = tmp_path / "cache"
    _render(root, graph, cache)
    unchanged = _render(root, graph, cache)
    for node_id in ("tone", "lp", "up"):
        assert "cached" in _line(unchanged, node_id), unchanged
    kernel = root / _kernel_module_of_biquad()
    kernel.write_text(kernel.read_text() + "\n\n# an edit: the key must see it\n")
    edited = _render(root, graph, cache)
    assert "cached" in _line(edited, "tone"), edited
    assert f"code of {_kernel_module_of_biquad()} changed" in _line(edited, "lp"), edited
    assert "cached" not in _line(edited, "up") and "input in changed" in _line(edited, "up")


def test_a_different_library_release_recomputes_exactly_its_users(tmp_path: Path) -> None:
    graph = tmp_path / "g.toml"
    graph.write_text(GRAPH)
    cache = tmp_path / "cache"
    _render(REPO_ROOT, graph, cache)
    fake = tmp_path / "fake"
    (fake / "soxr-99.0.dist-info").mkdir(parents=True)
    (fake / "soxr-99.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: soxr\nVersion: 99.0\n"
    )
    output = _render(REPO_ROOT, graph, cache, extra_path=str(fake))
    assert "cached" in _line(output, "tone") and "cached" in _line(output, "lp"), output
    assert "soxr" in _line(output, "up") and "-> 99.0" in _line(output, "up"), output
