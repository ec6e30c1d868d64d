"""Start-up of the model nodes: what a new process imports and caches."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nodes.model import _io

ROOT = Path(__file__).resolve().parents[3]
GRAPHS = ROOT / "graphs"


def _python(script: str, env: dict[str, str] | None = None) -> str:
    """Run ``script`` in a new interpreter at the repository root; its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    return result.stdout.strip()


def test_validating_and_keying_a_model_graph_imports_no_jax_or_flax():
    script = f"""
    import sys
    import graphengine as ge

    for name in ("classify.toml", "generate.toml"):
        graph = ge.load({str(GRAPHS)!r} + "/" + name)
        graph.validate()
    from graphengine.codehash import code_identity
    code_identity("nodes.model.inference")
    print(",".join(m for m in ("jax", "flax", "nodes.model._nets") if m in sys.modules))
    """
    assert _python(script) == ""


def test_the_compilation_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(_io.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _io.jax_cache_folder() == tmp_path / "graphengine" / "jax"
    monkeypatch.setenv(_io.CACHE_ENV, str(tmp_path / "mine"))
    assert _io.jax_cache_folder() == tmp_path / "mine"
    for off in ("", "0"):
        monkeypatch.setenv(_io.CACHE_ENV, off)
        assert _io.jax_cache_folder() is None


CLASSIFY = f"""
import sys, numpy as np
from nodes.model import _io, inference
loaded = _io.load({str(GRAPHS / "models/voices_mlp/model.json")!r})
x = np.linspace(-1, 1, loaded.spec["input"]["shape"][0], dtype=np.float32)[None]
p, e = _io.compiled(loaded, "classify", inference._classify_fn("mlp"), x)
import jax
print(jax.config.jax_compilation_cache_dir, np.asarray(p).tobytes().hex(), "flax" in sys.modules)
"""


def test_a_second_process_reads_the_compiled_forward_pass_from_the_disk_cache(tmp_path):
    folder = tmp_path / "jaxcache"
    first = _python(CLASSIFY, {_io.CACHE_ENV: str(folder)}).split()
    entries = sorted(p.name for p in folder.iterdir())
    assert first[0] == str(folder) and entries
    second = _python(CLASSIFY, {_io.CACHE_ENV: str(folder)}).split()
    assert second[:2] == first[:2]
    assert sorted(p.name for p in folder.iterdir()) == entries  # nothing compiled anew
    # the exported function and the decoded weights came from the folder too: no flax
    assert (first[2], second[2]) == ("True", "False")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_cache_folder_only_turns_the_disk_cache_off(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        out = _python(CLASSIFY, {_io.CACHE_ENV: str(locked / "jax")}).split()
    finally:
        locked.chmod(0o700)
    assert out[0] == "None"


def test_a_cache_folder_that_cannot_be_made_only_turns_the_disk_cache_off(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = _python(CLASSIFY, {_io.CACHE_ENV: str(blocker / "jax")}).split()
    without = _python(CLASSIFY, {_io.CACHE_ENV: "0"}).split()
    assert out[0] == "None" and out == without


def test_restored_parameters_are_the_saved_arrays():
    from flax import nnx

    for name in ("voices_mlp", "tone_lstm"):
        spec = _io.read_spec(GRAPHS / "models" / name)
        tree = _io.read_weights(spec)
        model = _io.restore(spec, tree)
        restored = nnx.to_pure_dict(nnx.state(model, nnx.Param))
        flat_saved = _flatten(tree["params"])
        flat_restored = _flatten(restored)
        assert flat_saved.keys() == flat_restored.keys()
        for key, saved in flat_saved.items():
            got = np.asarray(flat_restored[key])
            assert got.dtype == np.asarray(saved).dtype and np.array_equal(got, saved), key


def _flatten(tree, prefix: str = "") -> dict[str, object]:
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            out.update(_flatten(value, f"{prefix}/{key}"))
        return out
    return {prefix: tree}
