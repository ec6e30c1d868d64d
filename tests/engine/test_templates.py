"""`graphengine new` writes starter graphs that validate and render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import graphengine as ge
from graphengine.templates import TEMPLATES, new_graph
from support import run_cli


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_template_validates_and_renders(template: str, tmp_path: Path) -> None:
    path = new_graph(f"my_{template}", template, directory=tmp_path)
    assert path == tmp_path / f"my_{template}.toml"
    graph = ge.load(path)
    assert graph.name == f"my_{template}"
    result = graph.run(cache=False)
    assert result.outputs and all(p.is_file() and p.stat().st_size > 0 for p in result.outputs)
    for output in result.outputs:
        assert output.parent == tmp_path / "out" and output.stem == f"my_{template}"
        if output.suffix == ".wav":
            samples, _ = sf.read(output)
            assert 0.01 < np.abs(samples).max() <= 1.0


def test_new_command_refuses_to_overwrite(tmp_path: Path) -> None:
    done = run_cli("new", "piece", "--template", "music", cwd=tmp_path)
    assert done.returncode == 0 and "wrote piece.toml" in done.stdout
    assert ge.load(tmp_path / "piece.toml").validate().order
    again = run_cli("new", "piece", cwd=tmp_path)
    assert again.returncode == 2 and "exists (use --force" in again.stderr
    assert run_cli("new", "piece", "--force", cwd=tmp_path).returncode == 0
    bad = run_cli("new", "piece", "--template", "opera", cwd=tmp_path)
    assert bad.returncode == 2 and "invalid choice: 'opera'" in bad.stderr
