"""Start-up stays small: validating, listing nodes and printing the schema load no heavy library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support import REPO_ROOT, cli_env

HEAVY = ("numba", "scipy.signal", "librosa", "jax", "flax", "matplotlib")

PROBE = """
import json, sys
from graphengine.cli import cmd_nodes, cmd_schema, cmd_validate, build_parser
parser = build_parser()
cmd_validate(parser.parse_args(["validate", sys.argv[1]]))
cmd_nodes(parser.parse_args(["nodes"]))
cmd_nodes(parser.parse_args(["nodes", "source.file"]))
cmd_schema(parser.parse_args(["schema"]))
print(json.dumps(sorted(sys.modules)))
"""


def test_validate_nodes_and_schema_import_no_heavy_library() -> None:
    for graph in sorted((REPO_ROOT / "graphs").glob("*.toml")):
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(graph)],
            env=cli_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        loaded = set(json.loads(done.stdout))
        heavy = [name for name in HEAVY if name in loaded]
        assert heavy == [], f"{graph.name}: validating imported {heavy}"


LOADED = """
import contextlib, io, json, sys
from graphengine.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps({"modules": sorted(sys.modules), "out": out.getvalue()}))
"""


def _loaded(
    args: list[str], index: Path, cwd: Path | None = None, path: str = ""
) -> tuple[set[str], str]:
    env = cli_env()
    env["GRAPHENGINE_INDEX_DIR"] = str(index)
    env["PYTHONPATH"] = path + env["PYTHONPATH"]
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    return set(result["modules"]), result["out"]


def test_help_imports_neither_numpy_nor_the_engine(tmp_path: Path) -> None:
    loaded, _ = _loaded(["--help"], tmp_path)
    assert [m for m in ("numpy", "graphengine.api", "graphengine.node") if m in loaded] == []


def test_nodes_with_a_current_index_imports_no_node_module(tmp_path: Path) -> None:
    _loaded(["nodes"], tmp_path)  # the first process writes the index
    loaded, out = _loaded(["nodes"], tmp_path)
    assert "effect.gain" in out
    nodes = sorted(m for m in loaded if m.startswith("nodes."))
    assert nodes == ["nodes.model", "nodes.model.commands"]  # the `train` command
    assert [m for m in ("numpy", "numba", "scipy") if m in loaded] == []


def test_validate_and_a_tone_render_import_only_what_they_use(tmp_path: Path) -> None:
    graph = tmp_path / "tone.toml"
    graph.write_text(
        'sample_rate = 8000\n[nodes.src]\ntype = "source.tone"\nduration_s = 0.1\n'
        '[nodes.lp]\ntype = "filter.biquad"\nin = "src"\n'
        '[nodes.out]\ntype = "sink.wav"\nin = "src"\npath = "out/tone.wav"\n'
    )
    _loaded(["nodes"], tmp_path / "index")
    loaded, _ = _loaded(["validate", str(graph)], tmp_path / "index")
    nodes = {m for m in loaded if m.startswith("nodes.") and m.count(".") == 2}
    assert nodes == {"nodes.source.generators", "nodes.filter.iir", "nodes.sink.audio"} | {
        "nodes.model.commands"
    }
    assert "networkx" not in loaded
    loaded, _ = _loaded(["render", str(graph), "--no-cache", "-q"], tmp_path / "index")
    assert (tmp_path / "out" / "tone.wav").is_file()
    assert [m for m in ("numba", "networkx", "scipy") if m in loaded] == []


PLUGIN = '''
from graphengine import Audio, node, param


@node("plug.gain", version=1)
def gain(audio: Audio, *, gain_db: float = param(0.0, unit="dB")) -> Audio:
    """{summary}

    Example
    -------
        g = {{in = "src"}}
    """
    return audio
'''


def test_a_plugin_is_listed_and_an_edit_of_its_file_is_seen(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "plug").mkdir(parents=True)
    (site / "plug" / "__init__.py").write_text(PLUGIN.format(summary="Scale, first take."))
    info = site / "plug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[graphengine.nodes]\nplug = plug\n")
    path = str(site) + os.pathsep
    _, out = _loaded(["nodes"], tmp_path / "index", path=path)
    assert _line("plug.gain", out).endswith("Scale, first take.")
    loaded, out = _loaded(["nodes"], tmp_path / "index", path=path)
    assert "plug" not in loaded and "Scale, first take." in out  # from the index
    (site / "plug" / "__init__.py").write_text(PLUGIN.format(summary="Scale, second take."))
    _, out = _loaded(["nodes"], tmp_path / "index", path=path)
    assert _line("plug.gain", out).endswith("Scale, second take.")
    _, out = _loaded(["nodes", "plug.gain"], tmp_path / "index", path=path)
    assert _line("  defined in", out).endswith("plug/__init__.py:5")


def _line(start: str, text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))
