"""An input file replaced while a render runs is an error, and never cached under its old hash.

The replacement is real: a second process swaps the file while the render is
busy with a slow node that runs before the file is read (the order is the
graph's topological order, ties broken by node id).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from support import cli_env, run_cli

GRAPH = """
sample_rate = 22050
[nodes.a1]
type = "source.noise"
duration_s = 6.0
[nodes.a2]
type = "feature.pitch"
in = "a1"
[nodes.a3]
type = "sink.npy"
in = "a2"
path = "out/pitch.npy"
[nodes.z_src]
type = "source.file"
path = "in.wav"
[nodes.z_out]
type = "sink.wav"
in = "z_src"
path = "out/copy.wav"
subtype = "FLOAT"
"""


def _tone(freq: float) -> np.ndarray:
    t = np.arange(22050) / 22050
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _entries(cache: Path) -> int:
    return sum(1 for _ in cache.glob("??/*/meta.json")) if cache.is_dir() else 0


def test_a_file_replaced_mid_render_fails_and_the_cache_stays_true(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    original, replacement = _tone(440.0), _tone(660.0)
    sf.write(tmp_path / "in.wav", original, 22050, subtype="FLOAT")
    sf.write(tmp_path / "other.wav", replacement, 22050, subtype="FLOAT")
    cache = tmp_path / ".graphengine-cache"

    render = subprocess.Popen(
        [sys.executable, "-m", "graphengine", "render", "g.toml"],
        cwd=tmp_path,
        env=cli_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while _entries(cache) == 0:  # a1 is stored: a2 (pyin, seconds) runs, z_src has not read
        assert render.poll() is None, render.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.replace(tmp_path / "other.wav", tmp_path / "in.wav")
    stderr = render.communicate(timeout=120)[1]
    assert render.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "z_src.path [source.file]" in stderr
    assert "changed while the graph was rendering" in stderr
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []

    sf.write(tmp_path / "in.wav", original, 22050, subtype="FLOAT")  # put it back
    again = run_cli("render", "g.toml", "--explain", cwd=tmp_path, timeout=180)
    assert again.returncode == 0, again.stderr
    copied, _ = sf.read(tmp_path / "out" / "copy.wav", dtype="float32")
    np.testing.assert_array_equal(copied, original)
