"""The README's examples work as written: its graph, its Python and its commands."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

import graphengine as ge
from support import REPO_ROOT, cli_env

README = (REPO_ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    quick = README.split("## Quick start", 1)[1]
    commands = [line for line in blocks("sh")[0].splitlines() if line.strip()]
    assert quick.index("```sh") < quick.index("##")
    assert len(commands) == 2
    assert "graphengine render graphs/demo.toml" in commands[0]
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci and "set -euo pipefail" in ci


def test_readme_graph_renders(tmp_path: Path) -> None:
    (tmp_path / "chord.toml").write_text(blocks("toml")[0])
    result = ge.load(tmp_path / "chord.toml").run(cache=False)
    samples, rate = sf.read(tmp_path / "out" / "2.0s.wav", always_2d=True)
    assert rate == 44100 and samples.shape == (88200, 1)
    assert result.outputs == [tmp_path / "out" / "2.0s.wav"]


def test_readme_python_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks("python")[0], "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "['quiet', 'out']" in printed
    assert (tmp_path / "out" / "a4.wav").is_file()
    assert ge.load(tmp_path / "a4.toml").to_dict()["nodes"]["quiet"]["gain_db"] == -12


@pytest.mark.slow
def test_readme_commands_run(tmp_path: Path) -> None:
    shutil.copytree(
        REPO_ROOT / "graphs",
        tmp_path / "graphs",
        ignore=shutil.ignore_patterns("out", ".graphengine-cache"),
    )
    python = shlex.quote(sys.executable)
    for line in blocks("sh")[1].splitlines():
        command = line.split("  #")[0].strip()
        if not command:
            continue
        command = re.sub(r"^graphengine", f"{python} -m graphengine", command)
        done = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=cli_env(), capture_output=True, text=True
        )
        assert done.returncode == 0, f"{line}\n{done.stderr}"
    assert (tmp_path / "graph.schema.json").stat().st_size > 1000
    assert (tmp_path / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
