"""The node library is laid out by type id: ``filter.biquad`` lives in ``nodes/filter/``."""

from __future__ import annotations

import re

import pytest

from graphengine.registry import default_registry
from support import REPO_ROOT, run_cli

SPECS = list(default_registry())
LOCATION = re.compile(r"^nodes/(?P<folder>[a-z_]+)/[a-z_]+\.py:(?P<line>\d+)$")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type_id)
def test_every_node_lives_in_the_folder_of_its_prefix(spec) -> None:
    match = LOCATION.match(spec.source_location)
    assert match, f"{spec.type_id}: defined at {spec.source_location}"
    assert match["folder"] == spec.type_id.split(".")[0]
    path, line = spec.source_location.rsplit(":", 1)
    source = (REPO_ROOT / path).read_text().splitlines()
    assert re.match(r"\s*(def|class) ", source[int(line) - 1]) or "@node(" in source[int(line) - 1]
    decorator = "\n".join(source[max(0, int(line) - 12) : int(line) + 1])
    assert f'"{spec.type_id}"' in decorator


def test_every_id_has_a_prefix_and_no_two_names_collide() -> None:
    ids = [s.type_id for s in SPECS]
    aliases = [a for s in SPECS for a in s.aliases]
    assert all("." in i for i in ids)
    assert len(set(ids) | set(aliases)) == len(ids) + len(aliases)


def test_kernels_sit_beside_their_nodes() -> None:
    stray = sorted(p.name for p in (REPO_ROOT / "nodes").glob("*.py") if p.name != "__init__.py")
    assert stray == [], f"modules outside a family folder: {stray}"


def test_cli_prints_where_a_node_is_defined() -> None:
    result = run_cli("nodes", "filter.biquad")
    assert result.returncode == 0, result.stderr
    assert re.search(r"defined in nodes/filter/\w+\.py:\d+", result.stdout)
    renamed = run_cli("nodes", "mix")
    assert renamed.returncode == 0 and renamed.stdout.startswith("signal.mix")
    assert "formerly: mix" in renamed.stdout


def test_the_tests_mirror_the_node_packages() -> None:
    """Every node family ``nodes/<prefix>/`` has its tests in ``tests/nodes/<prefix>/``."""
    families = {s.type_id.split(".")[0] for s in SPECS}
    tested = {
        folder.name
        for folder in (REPO_ROOT / "tests" / "nodes").iterdir()
        if folder.is_dir() and any(folder.glob("test_*.py"))
    }
    assert families <= tested, f"no tests/nodes/<family>/ for {sorted(families - tested)}"
    on_top = {p.name for p in (REPO_ROOT / "tests" / "nodes").glob("test_*.py")}
    assert on_top == {"test_contract.py", "test_layout.py", "test_node_imports.py"}, (
        "family tests go in their family's folder; only the library-wide checks sit on top"
    )


def test_test_modules_have_unique_names() -> None:
    """pytest imports test modules by file name: two ``test_x.py`` anywhere would clash."""
    names = [p.name for p in (REPO_ROOT / "tests").rglob("test_*.py")]
    assert sorted(names) == sorted(set(names)), sorted({n for n in names if names.count(n) > 1})
