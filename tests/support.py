"""Helpers shared by the test modules: the repository root, the CLI on the working tree,
graph files written from dicts, and the batch command's arguments."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

REPO_ROOT = Path(__file__).resolve().parent.parent

GAIN_SUBGRAPH = """\
[inputs]
in = "g.in"

[outputs]
out = "g"

[nodes.g]
type = "effect.gain"
gain_db = {gain_db}
"""
"""A sub-graph file: its input ``in`` through one effect.gain; fill in ``.format(gain_db=...)``."""


TONE_GRAPH = """
sample_rate = 8000
[nodes.osc]
type = "source.tone"
frequency = 440.0
duration_s = {duration}
amplitude = 0.5
"""
"""A graph's first lines: one tone ``osc`` of ``{duration}`` s at 8 kHz; add sinks below."""


def dead_pid() -> int:
    """The pid of a process that has exited (for files named after a killed run)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def cli_env() -> dict[str, str]:
    """The environment for a CLI subprocess that runs this working tree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run ``python -m graphengine ARGS`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "graphengine", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file with a header line (a batch's manifest or collected values)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


FILE_SOURCE = {"type": "source.file", "path": "placeholder.wav"}
"""A ``source.file`` node for a batch to bind (``--bind src.path``) as the node ``src``."""


def graph_toml(nodes: Mapping[str, Mapping[str, Any]], **top: Any) -> str:
    """A graph file's text: the ``top`` keys and tables, then a ``[nodes.ID]`` table per node."""
    return tomli_w.dumps({**top, "nodes": nodes})


def barrier_graph(
    reverse_type: str, sample_rate: float, seconds: float, wav: Path, **sink: Any
) -> Any:
    """osc -> gain -> ``reverse_type`` (whole-signal) -> gain, mixed with osc, into ``wav``.

    Two streaming chains with a whole-signal node between them: the nodes
    are ``osc``, ``pre``, ``rev``, ``post``, ``both`` (the mix) and ``out``.
    """
    import graphengine as ge

    g = ge.Graph(sample_rate=sample_rate)
    g.add("osc", "source.tone", frequency=300.0, duration_s=seconds)
    g.add("pre", "effect.gain", in_="osc", gain_db=-6.0)
    g.add("rev", reverse_type, in_="pre")
    g.add("post", "effect.gain", in_="rev", gain_db=-6.0)
    g.add("both", "signal.mix", in_=["osc", "post"])
    g.add("out", "sink.wav", in_="both", path=str(wav), **sink)
    return g


BATCH_ARGS = ("batch", "g.toml", "--inputs", "in/*.wav", "--bind", "src.path", "--out-dir", "res")
"""``graphengine batch`` over ``in/*.wav`` bound to ``src.path``, writing ``res/``."""


def private_mount_tool() -> str | None:
    """``unshare`` when it can give a private mount namespace with a tmpfs here, else None.

    Inside ``unshare --map-root-user --mount`` a test mounts a real small or
    read-only file system (no root needed where user namespaces are allowed).
    """
    tool = shutil.which("unshare")
    if tool is None or sys.platform != "linux":
        return None
    probe = subprocess.run(
        [tool, "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs tmpfs /mnt"],
        capture_output=True,
    )
    return tool if probe.returncode == 0 else None


def run_cli_in_mount(
    tool: str, mount: str, folder: Path, *args: str, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run ``python -m graphengine ARGS`` in a private mount namespace.

    ``mount`` is a shell snippet run first with ``$1`` set to ``folder`` (e.g.
    ``mount -t tmpfs -o size=64k tmpfs "$1"``); the command's exit status is
    the result's, and a failed mount is exit 125.
    """
    script = f'( set -e\n{mount}\n) || exit 125\nshift\nexec "$@"\n'
    command = [tool, "--map-root-user", "--mount", "sh", "-c", script, "sh", str(folder)]
    return subprocess.run(
        [*command, sys.executable, "-m", "graphengine", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
