"""Did-you-mean suggestions for node types name only close matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphengine import cli
from graphengine.registry import default_registry
from support import run_cli


@pytest.mark.parametrize(
    "typed, meant",
    [
        ("source.tne", "source.tone"),
        ("efect.gain", "effect.gain"),
        ("filter.biqaud", "filter.biquad"),
        ("sink.wave", "sink.wav"),
        ("gain", "effect.gain"),
        ("filter.gain", "effect.gain"),
        ("stft", "spectral.stft"),
    ],
)
def test_a_near_spelling_is_suggested(typed: str, meant: str) -> None:
    assert default_registry().suggest(typed)[0] == meant


@pytest.mark.parametrize("typed", ["my.invert", "invert", "my.thing", "x.y", "effect.wahwah"])
def test_a_made_up_type_gets_no_far_suggestion(typed: str) -> None:
    assert default_registry().suggest(typed) == []


def test_an_unknown_type_in_a_graph_is_named_without_a_far_guess(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(
        '[nodes.osc]\ntype = "source.tone"\n[nodes.inv]\ntype = "my.invert"\nin = "osc"\n'
    )
    done = run_cli("validate", "g.toml", cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown node type 'my.invert'" in done.stderr
    assert "did you mean" not in done.stderr and "model.generate" not in done.stderr


def test_nodes_command_suggests_close_types_only(capsys) -> None:
    assert cli.main(["nodes", "my.invert"]) == 2
    assert "did you mean" not in capsys.readouterr().err
    assert cli.main(["nodes", "efect.gain"]) == 2
    assert "did you mean 'effect.gain'?" in capsys.readouterr().err
