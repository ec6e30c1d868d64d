"""A render killed with SIGKILL midway leaves no partial output, and the next run is correct."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from graphengine.cache import DiskStore
from support import cli_env, run_cli

GRAPH = """
sample_rate = 44100
[nodes.n]
type = "source.noise"
duration_s = 120.0
channels = 2
[nodes.g]
type = "effect.gain"
in = "n"
gain_db = -3
[nodes.g2]
type = "effect.gain"
in = "g"
gain_db = -3
[nodes.out]
type = "sink.wav"
in = "g2"
path = "out/k.wav"
subtype = "FLOAT"
"""


def cache_has_entry(folder: Path) -> bool:
    cache = folder / ".graphengine-cache"
    return cache.is_dir() and any(p.name == "meta.json" for p in cache.rglob("meta.json"))


def sink_is_writing(folder: Path) -> bool:
    out = folder / "out"
    return out.is_dir() and any(".graphengine-tmp-" in p.name for p in out.iterdir())


def kill_when(folder: Path, condition: Callable[[Path], bool]) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "graphengine", "render", "k.toml"],
        cwd=folder,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        while not condition(folder):
            assert process.poll() is None, "the render finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.002)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("moment", [cache_has_entry, sink_is_writing], ids=lambda f: f.__name__)
def test_sigkill_leaves_no_partial_output(tmp_path: Path, moment: Callable[[Path], bool]) -> None:
    (tmp_path / "k.toml").write_text(GRAPH)
    kill_when(tmp_path, moment)
    assert not (tmp_path / "out" / "k.wav").exists()
    assert not (tmp_path / "out" / "k.wav.graph.json").exists()

    done = run_cli("render", "k.toml", "--stats", "stats.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    samples, _ = sf.read(tmp_path / "out" / "k.wav", dtype="float32")
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if ".graphengine-tmp-" in p.name]
    assert leftovers == [], "stale temporary outputs are cleaned"

    clean = run_cli("render", "k.toml", "--no-cache", "--set", "out.path='clean.wav'", cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr
    reference, _ = sf.read(tmp_path / "clean.wav", dtype="float32")
    np.testing.assert_array_equal(samples, reference)

    store = DiskStore(tmp_path / ".graphengine-cache")
    assert not any((tmp_path / ".graphengine-cache" / "tmp").glob("*")), "stale cache temps cleaned"
    keys = [p.name for p in (tmp_path / ".graphengine-cache").glob("??/*")]
    assert keys and all(store.get(key) is not None for key in keys)
