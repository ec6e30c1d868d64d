"""``--explain`` names what really changed, also after a ``--target`` run."""

from __future__ import annotations

from pathlib import Path

from support import run_cli

GRAPH = """
sample_rate = 8000
[params]
gain = -6.0
[nodes.osc]
type = "source.tone"
frequency = 440.0
duration_s = 0.2
[nodes.amp]
type = "effect.gain"
in = "osc"
gain_db = "$gain"
[nodes.out]
type = "sink.wav"
in = "amp"
path = "out/a.wav"
"""


def _reasons(stderr: str) -> dict[str, str]:
    """Node id -> the reason column of an ``--explain`` table."""
    rows = {}
    for line in stderr.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[2] in ("computed", "cached"):
            rows[parts[0]] = parts[5]
    return rows


def test_a_node_left_out_of_a_target_run_is_explained_by_its_changed_input(
    tmp_path: Path,
) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    assert run_cli("render", "g.toml", "-q", cwd=tmp_path).returncode == 0
    target = run_cli(
        "render", "g.toml", "--set", "gain=-3", "--target", "amp", "--explain", cwd=tmp_path
    )
    assert target.returncode == 0, target.stderr
    assert _reasons(target.stderr)["amp"] == "param gain_db -6.0 -> -3.0"
    full = run_cli("render", "g.toml", "--set", "gain=-3", "--explain", cwd=tmp_path)
    assert full.returncode == 0, full.stderr
    reasons = _reasons(full.stderr)
    assert reasons["out"] == "input in changed (from amp)", full.stderr
    assert "cleared, evicted or corrupt" not in full.stderr


def test_a_really_cleared_cache_is_still_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    assert run_cli("render", "g.toml", "-q", cwd=tmp_path).returncode == 0
    (tmp_path / "out" / "a.wav").unlink()
    assert run_cli("cache", "clear", "g.toml", cwd=tmp_path).returncode == 0
    again = run_cli("render", "g.toml", "--explain", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert _reasons(again.stderr)["out"] == "not in the cache (cleared, evicted or corrupt)"
