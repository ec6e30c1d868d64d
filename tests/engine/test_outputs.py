"""graphengine.outputs: a run's outputs are committed all or nothing, even through a kill.

The kill is real: a child process renders with ``os.replace`` wrapped so that
it sends itself SIGKILL right after moving the first output into place, the
moment in which a plain sequence of renames leaves new and old files mixed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from support import cli_env, dead_pid, run_cli

GRAPH = """
sample_rate = 8000
[params]
freq = 220.0
[nodes.osc]
type = "source.tone"
frequency = "$freq"
duration_s = 0.5
[nodes.a]
type = "sink.wav"
in = "osc"
path = "one/a.wav"
[nodes.b]
type = "sink.wav"
in = "osc"
path = "two/b.wav"
"""

KILL_AFTER_FIRST_MOVE = """
import os, signal, sys
real = os.replace
def replace(src, dst):
    real(src, dst)
    if ".graphengine-tmp-" in os.fspath(src):
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
from graphengine.cli import main
sys.exit(main(["render", "g.toml", "--set", "freq=440.0"]))
"""


def _leftovers(root: Path) -> list[str]:
    return sorted(
        p.name for p in root.rglob(".*") if "graphengine-tmp" in p.name or "commit" in p.name
    )


def test_a_kill_inside_the_commit_is_rolled_forward_by_the_next_run(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    assert run_cli("render", "g.toml", cwd=tmp_path).returncode == 0
    old = sf.read(tmp_path / "one/a.wav")[0]

    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_FIRST_MOVE], cwd=tmp_path, env=cli_env(), timeout=120
    )
    assert killed.returncode == -9
    assert _leftovers(tmp_path), "the kill landed inside the commit: a journal is left"

    again = run_cli("render", "g.toml", "--set", "freq=440.0", "--explain", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert _leftovers(tmp_path) == []
    a, b = (sf.read(tmp_path / name)[0] for name in ("one/a.wav", "two/b.wav"))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, old)
    # the rolled-forward files are the ones the killed run made, with their sidecars
    assert "0 computed" in again.stderr
    t = np.arange(a.size) / 8000
    assert abs(np.corrcoef(a, np.sin(2 * np.pi * 440.0 * t))[0, 1]) > 0.99


def test_temporary_files_of_a_dead_run_are_removed_and_others_kept(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    pid = dead_pid()
    folder = tmp_path / "one"
    folder.mkdir()
    stale = folder / f".other.wav.graphengine-tmp-{pid}-0a1b2c3d.wav"
    stale.write_bytes(b"partial")
    mine = folder / ".notes.graphengine-tmp-backup.txt"  # not a name the engine makes
    mine.write_text("keep me")
    live = folder / f".x.wav.graphengine-tmp-{1}-0a1b2c3d.wav"  # pid 1 is alive
    live.write_bytes(b"in progress")

    done = run_cli("render", "g.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not stale.exists()
    assert mine.read_text() == "keep me" and live.exists()
