"""Every bad graph in tests/graphs/bad/ fails cleanly on the command line.

Each case is a graph file ``NAME.toml`` or ``NAME.json`` with a sidecar
``NAME.expect.toml`` holding

- ``fragments``: substrings that must all appear in stderr (the node id, the
  port or parameter where there is one, and a distinctive phrase);
- ``args`` (optional): extra command-line arguments, e.g. ``["--set", "x=1"]``;
- ``commands`` (optional, default both): ``["render"]`` for render-only arguments;
- ``exit`` (optional, default 2): the expected exit code;
- ``max_lines`` (optional, default 6): most lines of stderr (argparse's usage is long);
- ``xfail`` (optional): the reason, when the case shows a known engine bug.

Files in ``assets/`` and ``sub/`` are what the cases refer to, not cases.
``validate`` and ``render`` run on a copy in ``tmp_path`` (side by side, to
halve the wall time), must exit with the expected code, print the fragments
without a traceback in a few lines, and leave nothing behind.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from support import REPO_ROOT, cli_env, run_cli

BAD = REPO_ROOT / "tests" / "graphs" / "bad"
SUFFIX = ".expect.toml"
SUPPORT_DIRS = ("assets", "sub")
MAX_STDERR_LINES = 6
TIMEOUT_S = 60
COMMANDS = ("validate", "render")
EXPECT_KEYS = {"fragments", "args", "commands", "exit", "max_lines", "xfail"}


def _graph_of(expect: Path) -> Path:
    stem = expect.name.removesuffix(SUFFIX)
    found = [p for p in (BAD / f"{stem}.toml", BAD / f"{stem}.json") if p.exists()]
    assert len(found) == 1, f"{expect.name}: expected one of {stem}.toml / {stem}.json, got {found}"
    return found[0]


def _cases() -> list:
    cases = []
    for expect in sorted(BAD.glob(f"*{SUFFIX}")):
        spec = tomllib.loads(expect.read_text(encoding="utf-8"))
        marks = []
        if "xfail" in spec:
            marks.append(pytest.mark.xfail(reason=spec["xfail"], strict=True))
        cases.append(pytest.param(expect, spec, id=expect.name.removesuffix(SUFFIX), marks=marks))
    return cases


CASES = _cases()


def _copy_case(graph: Path, destination: Path) -> Path:
    shutil.copy2(graph, destination / graph.name)
    for name in SUPPORT_DIRS:
        shutil.copytree(BAD / name, destination / name)
    return destination / graph.name


def _snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _start(command: str, graph: str, args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "graphengine", command, graph, *args],
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _cli(command: str, graph: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(command, graph, *args, cwd=cwd, timeout=TIMEOUT_S)


def test_cases_are_well_formed() -> None:
    assert len(CASES) >= 40
    for case in CASES:
        expect, spec = case.values
        _graph_of(expect)
        assert set(spec) <= EXPECT_KEYS, f"{expect.name}: unknown keys {set(spec) - EXPECT_KEYS}"
        fragments = spec.get("fragments")
        assert isinstance(fragments, list) and fragments, f"{expect.name}: no fragments"
        assert all(isinstance(f, str) and f for f in fragments), expect.name
        assert all(isinstance(a, str) for a in spec.get("args", [])), expect.name
        assert isinstance(spec.get("exit", 2), int), expect.name
        assert isinstance(spec.get("max_lines", MAX_STDERR_LINES), int), expect.name
        assert set(spec.get("commands", COMMANDS)) <= set(COMMANDS), expect.name


def test_every_bad_graph_has_an_expectation() -> None:
    graphs = {p.name for p in BAD.iterdir() if p.suffix in (".toml", ".json")}
    graphs = {g for g in graphs if not g.endswith(SUFFIX)}
    expected = {_graph_of(e).name for e in BAD.glob(f"*{SUFFIX}")}
    assert graphs == expected


@pytest.mark.parametrize(("expect", "spec"), CASES)
def test_bad_graph(expect: Path, spec: dict, tmp_path: Path) -> None:
    graph = _copy_case(_graph_of(expect), tmp_path)
    before = _snapshot(tmp_path)
    args = list(spec.get("args", []))
    commands = spec.get("commands", COMMANDS)
    running = {cmd: _start(cmd, graph.name, args, tmp_path) for cmd in commands}
    results = {}
    for cmd, process in running.items():
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            pytest.fail(f"{cmd} {graph.name} ran past {TIMEOUT_S} s")
        results[cmd] = (process.returncode, stdout, stderr)

    for cmd, (code, stdout, stderr) in results.items():
        where = f"graphengine {cmd} {graph.name} {' '.join(args)}\n--- stderr ---\n{stderr}"
        assert "Traceback" not in stderr, where
        assert code == spec.get("exit", 2), where
        for fragment in spec["fragments"]:
            assert fragment in stderr, f"missing {fragment!r} in\n{where}"
        assert 1 <= len(stderr.strip().splitlines()) <= spec.get("max_lines", MAX_STDERR_LINES), (
            where
        )
        if cmd == "validate":
            assert stdout == "", f"validate printed to stdout for a bad graph\n{where}"
    assert _snapshot(tmp_path) == before, "a failed command left files behind"


# -- graph files that cannot be cases ------------------------------------------------


@pytest.mark.parametrize(
    ("graph", "fragment"),
    [
        ("nosuch.toml", "nosuch.toml: no such graph file"),
        ("assets/notes.txt", "a graph file must end in .toml or .json"),
        ("folder.toml", "cannot read graph file"),
    ],
    ids=["missing", "wrong-suffix", "directory"],
)
def test_unreadable_graph_file(graph: str, fragment: str, tmp_path: Path) -> None:
    shutil.copytree(BAD / "assets", tmp_path / "assets")
    (tmp_path / "folder.toml").mkdir()
    before = _snapshot(tmp_path)
    result = _cli("validate", graph, [], tmp_path)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _snapshot(tmp_path) == before


# -- --debug ----------------------------------------------------------------------


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    graph = _copy_case(BAD / "cycle.toml", tmp_path)
    plain = _cli("validate", graph.name, [], tmp_path)
    debug = _cli("validate", graph.name, ["--debug"], tmp_path)
    assert "Traceback" not in plain.stderr
    assert "Traceback" in debug.stderr
    assert "CycleError" in debug.stderr
    assert "a -> b -> a" in debug.stderr
    assert debug.returncode != 0


def test_debug_before_the_command_shows_the_traceback(tmp_path: Path) -> None:
    graph = _copy_case(BAD / "cycle.toml", tmp_path)
    result = run_cli("--debug", "validate", graph.name, cwd=tmp_path, timeout=TIMEOUT_S)
    assert "Traceback" in result.stderr
    assert "CycleError" in result.stderr


# -- a failure while running ------------------------------------------------------

# assets/truncated.flac is the first half of a FLAC file: its header (which
# validation reads) is intact, decoding the frames fails. Node "a" writes a
# sink first, so a committed-too-early output would show.
CORRUPT_AT_RUN = """\
format = 1
sample_rate = 8000

[nodes.a]
type = "source.tone"
duration_s = 0.05

[nodes.b]
type = "sink.wav"
in = "a"
path = "out/first.wav"

[nodes.src]
type = "source.file"
path = "assets/truncated.flac"

[nodes.z]
type = "sink.wav"
in = "src"
path = "out/second.wav"
"""


def _corrupt_case(tmp_path: Path) -> Path:
    graph = tmp_path / "corrupt.toml"
    graph.write_text(CORRUPT_AT_RUN, encoding="utf-8")
    shutil.copytree(BAD / "assets", tmp_path / "assets")
    return graph


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_a_file_that_decodes_to_nothing_fails_before_anything_is_written(tmp_path: Path) -> None:
    """A FLAC cut short whose decoder loses sync: found by validation, which decodes it."""
    graph = _corrupt_case(tmp_path)
    before = _files(tmp_path)
    for command, args in (("validate", []), ("render", ["--no-cache"])):
        result = _cli(command, graph.name, args, tmp_path)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "src.path [source.file]" in result.stderr
        assert "truncated.flac" in result.stderr and "no frame" in result.stderr
        assert len(result.stderr.strip().splitlines()) <= MAX_STDERR_LINES
    assert _files(tmp_path) == before, "a failed run left files behind"


# -- --target ----------------------------------------------------------------------


def test_target_a_sink_renders_it(tmp_path: Path) -> None:
    graph = _copy_case(BAD / "target_unknown_node.toml", tmp_path)
    result = _cli("render", graph.name, ["--target", "out", "--no-cache"], tmp_path)
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "target_unknown_node.wav").is_file()
