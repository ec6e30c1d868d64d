"""Start-up stays small: validating, listing nodes and printing the schema load no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

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
