"""Loading and validation report every problem of a graph in one run, in file order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import graphengine as ge
from graphengine.errors import GraphValidationError, ParamError, PortError
from support import REPO_ROOT, run_cli

FIVE = REPO_ROOT / "tests" / "graphs" / "bad" / "five_errors.toml"
EXPECTED = [  # (node, port or parameter, error class), in the order the file declares them
    ("src", "path", ParamError),
    ("lp", "cutof_hz", ParamError),
    ("verb", "type", PortError),
    ("out", "in", PortError),
    ("cmp", "test", PortError),
]


def test_the_api_reports_all_five_problems_in_file_order(tmp_path: Path) -> None:
    graph = ge.load(shutil.copy(FIVE, tmp_path / FIVE.name))
    with pytest.raises(GraphValidationError) as caught:
        graph.validate()
    found = [(e.node_id, e.port_or_param, type(e)) for e in caught.value.errors]
    assert found == EXPECTED
    assert all(e.file == str(tmp_path / FIVE.name) for e in caught.value.errors)


def test_the_cli_reports_all_five_at_once_and_exits_2(tmp_path: Path) -> None:
    shutil.copy(FIVE, tmp_path / FIVE.name)
    for command in ("validate", "render"):
        done = run_cli(command, FIVE.name, cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        lines = done.stderr.splitlines()
        assert lines[0] == f"{FIVE.name}: 5 errors"
        assert [line.split(":")[0].strip() for line in lines[1:]] == [
            "src.path [source.file]",
            "lp.cutof_hz [filter.biquad]",
            "verb.type",
            "out.in [sink.wav]",
            "cmp.test [metric.snr]",
        ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [FIVE.name]


def test_errors_below_a_broken_node_are_not_guessed(tmp_path: Path) -> None:
    """A node reading a node that failed is not checked against made-up inputs."""
    graph = ge.Graph(sample_rate=8000)
    graph.add("src", "source.file", path=str(tmp_path / "missing.wav"))
    graph.add("lp", "filter.biquad", in_="src", cutoff_hz=500.0)
    graph.add("out", "sink.wav", in_="lp", path=str(tmp_path / "out.wav"))
    with pytest.raises(ParamError) as caught:  # exactly one error: the missing file
        graph.validate()
    assert caught.value.node_id == "src" and "no such file" in caught.value.message
