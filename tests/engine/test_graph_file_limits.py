"""Graph files as editors and generators really write them: a byte-order mark, deep nesting."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphengine.graphfile import MAX_SUBGRAPH_DEPTH
from support import GAIN_SUBGRAPH, run_cli


def _nest(folder: Path, depth: int) -> Path:
    """g0.toml holding g1.toml holding ... g{depth}.toml (the leaf: one gain)."""
    (folder / f"g{depth}.toml").write_text(GAIN_SUBGRAPH.format(gain_db=-1.0))
    for level in range(depth - 1, 0, -1):
        (folder / f"g{level}.toml").write_text(
            '[inputs]\nin = "sub.in"\n[outputs]\nout = "sub"\n'
            f'[nodes.sub]\ntype = "graph"\npath = "g{level + 1}.toml"\n'
        )
    top = folder / "g0.toml"
    top.write_text(
        'sample_rate = 8000\n[nodes.src]\ntype = "source.tone"\nduration_s = 0.01\n'
        '[nodes.sub]\ntype = "graph"\npath = "g1.toml"\nin = "src"\n'
        '[nodes.out]\ntype = "sink.wav"\nin = "sub"\npath = "out.wav"\n'
    )
    return top


def test_a_graph_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    text = 'sample_rate = 8000\n[nodes.src]\ntype = "source.tone"\nduration_s = 0.01\n'
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    done = run_cli("validate", "bom.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("depth", [MAX_SUBGRAPH_DEPTH, MAX_SUBGRAPH_DEPTH + 1])
def test_sub_graphs_nest_to_the_stated_limit_and_no_further(tmp_path: Path, depth: int) -> None:
    _nest(tmp_path, depth)
    done = run_cli("render", "g0.toml", "--no-cache", cwd=tmp_path)
    assert "Traceback" not in done.stderr
    if depth <= MAX_SUBGRAPH_DEPTH:
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "out.wav").is_file()
    else:
        assert done.returncode == 2
        assert f"sub-graphs nest deeper than {MAX_SUBGRAPH_DEPTH} levels" in done.stderr
        assert not (tmp_path / "out.wav").exists()
