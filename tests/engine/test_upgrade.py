"""Old graph files keep working: renamed node ids resolve through aliases, old
parameter names through declared upgrades, and ``graphengine upgrade`` rewrites
a file in place."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import graphengine as ge
from graphengine.blocknode import BlockEffect
from graphengine.graphfile import upgrade_file
from graphengine.node import Upgrade, node, param
from graphengine.registry import DuplicateNodeError, Registry, default_registry
from graphengine.upgrade import GraphUpgradeWarning
from support import REPO_ROOT, run_cli

LEGACY = REPO_ROOT / "tests" / "graphs" / "legacy"
LEGACY_FILES = sorted(
    p for p in LEGACY.rglob("*") if p.suffix in (".toml", ".json") and p.is_file()
)


def _shipped(legacy: Path) -> Path:
    """The shipped file a legacy copy was upgraded into."""
    relative = legacy.relative_to(LEGACY)
    if relative.parts[0] == "graphs":
        return REPO_ROOT.joinpath(*relative.parts)
    return REPO_ROOT / "tests" / "graphs" / relative


def _resolved(graph: ge.Graph) -> dict:
    resolved = graph.resolve()
    return {
        node_id: (n.type, n.params, {p: [str(r) for r in refs] for p, refs in n.inputs.items()})
        for node_id, n in resolved.nodes.items()
    }


@pytest.mark.parametrize("legacy", LEGACY_FILES, ids=lambda p: str(p.relative_to(LEGACY)))
def test_legacy_copy_resolves_to_the_shipped_graph(legacy: Path, tmp_path: Path) -> None:
    shipped = _shipped(legacy)
    upgraded = tmp_path / legacy.name
    shutil.copy(legacy, upgraded)
    upgrade_file(upgraded, default_registry())
    assert upgraded.read_text() == shipped.read_text()
    if "[inputs]" in shipped.read_text():
        return  # a sub-graph with inputs resolves only inside its parent
    # the legacy copy sits where the shipped file sits, so relative paths resolve alike
    copy = shipped.with_name(f".legacy-{shipped.name}")
    shutil.copy(legacy, copy)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            old = _resolved(ge.load(copy))
        new = _resolved(ge.load(shipped))
    finally:
        copy.unlink()
    assert old == new
    notices = [w for w in caught if issubclass(w.category, GraphUpgradeWarning)]
    renamed = legacy.read_text() != shipped.read_text()
    assert len(notices) == (1 if renamed else 0)
    if renamed:
        assert "is now" in str(notices[0].message) and "graphengine upgrade" in str(
            notices[0].message
        )


def _render_samples(path: Path) -> dict[str, np.ndarray]:
    result = ge.load(path).run(cache=False)
    return {
        out.name: sf.read(out, dtype="float32", always_2d=True)[0]
        for out in result.outputs
        if out.suffix == ".wav"
    }


@pytest.mark.parametrize("name", ["demo.toml", "drawing_to_sound.toml"])
def test_legacy_copy_renders_the_same_samples(name: str, tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    shutil.copytree(REPO_ROOT / "graphs", shipped, ignore=shutil.ignore_patterns("out", ".graph*"))
    legacy = tmp_path / "legacy"
    shutil.copytree(shipped, legacy)
    shutil.copy(LEGACY / "graphs" / name, legacy / name)
    assert (legacy / name).read_text() != (shipped / name).read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphUpgradeWarning)
        old = _render_samples(legacy / name)
    new = _render_samples(shipped / name)
    assert old.keys() == new.keys() and old
    for key in old:
        np.testing.assert_array_equal(old[key], new[key])


def test_an_alias_resolves_to_the_renamed_node() -> None:
    registry = default_registry()
    assert registry.get("mix") is registry.get("signal.mix")
    assert registry.canonical("sound.to_image") == "image.from_sound"
    assert "echo.cancel" in registry
    assert [s.type_id for s in registry].count("signal.mix") == 1


@node(
    "test.scale_up",
    version=2,
    aliases=("test.scale",),
    upgrades=(
        Upgrade(
            2,
            rename={"gain_percent": "factor"},
            convert={"factor": lambda percent: percent / 100},
            drop=("legacy_mode",),
        ),
    ),
)
class _ScaleUp(BlockEffect):
    """Multiply by a factor (a test node with a history: once ``test.scale``, in percent)."""

    factor: float = param(1.0)

    def process(self, block: np.ndarray) -> np.ndarray:
        block *= self.factor
        return block


def test_an_alias_clashing_with_an_existing_id_is_a_packaging_error() -> None:
    registry = Registry({"signal.mix": default_registry().get("signal.mix")})

    @node("test.other", aliases=("signal.mix",))
    def other(in_: ge.Audio) -> ge.Audio:
        """Nothing."""
        return in_

    with pytest.raises(DuplicateNodeError, match=r"'signal\.mix' is defined twice"):
        registry.add(other.spec)


OLD_TABLE = """\
format = 1
sample_rate = 8000

[nodes.src]
type = "source.tone"
duration_s = 0.1

# the old way to say it
[nodes.up]                 # keeps this comment
type = "test.scale"
in = "src"
gain_percent = 50          # half
legacy_mode = true

[nodes.out]
type = "sink.wav"
in = "up"
path = "out.wav"
"""


def _registry_with_history() -> Registry:
    registry = Registry({s.type_id: s for s in default_registry()})
    registry.add(_ScaleUp.spec)
    return registry


def test_old_parameter_names_are_upgraded_on_load(tmp_path: Path) -> None:
    graph_file = tmp_path / "old.toml"
    graph_file.write_text(OLD_TABLE)
    with pytest.warns(GraphUpgradeWarning) as caught:
        resolved = ge.load(graph_file).resolve(registry=_registry_with_history())
    node = resolved.nodes["up"]
    assert node.type == "test.scale_up" and node.params == {"factor": 0.5}
    message = str(caught[0].message)
    assert "'test.scale' is now 'test.scale_up'" in message
    assert "'gain_percent' -> 'factor'" in message and "dropped 'legacy_mode'" in message


def test_upgrade_file_rewrites_toml_keeping_comments(tmp_path: Path) -> None:
    graph_file = tmp_path / "old.toml"
    graph_file.write_text(OLD_TABLE)
    registry = _registry_with_history()
    changes = upgrade_file(graph_file, registry)
    assert [c.node_id for c in changes] == ["up"]
    text = graph_file.read_text()
    assert 'type = "test.scale_up"' in text and "factor = 0.5" in text
    assert "gain_percent" not in text and "legacy_mode" not in text
    assert "# the old way to say it" in text and "# keeps this comment" in text
    assert upgrade_file(graph_file, registry) == []  # idempotent
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphUpgradeWarning)
        assert ge.load(graph_file).resolve(registry=registry).nodes["up"].params == {"factor": 0.5}
    assert list(tmp_path.iterdir()) == [graph_file]  # no temporary file left


def test_upgrade_file_rewrites_json(tmp_path: Path) -> None:
    tree = json.loads((LEGACY / "good" / "params.json").read_text())
    graph_file = tmp_path / "g.json"
    graph_file.write_text(json.dumps(tree))
    changes = upgrade_file(graph_file, default_registry())
    assert [(c.old_type, c.new_type) for c in changes] == [("mix", "signal.mix")]
    upgraded = json.loads(graph_file.read_text())
    assert upgraded["nodes"]["bus"]["type"] == "signal.mix"
    assert {k: v for k, v in upgraded["nodes"]["bus"].items() if k != "type"} == {
        k: v for k, v in tree["nodes"]["bus"].items() if k != "type"
    }


def test_cli_upgrade_rewrites_in_place_and_then_says_up_to_date(tmp_path: Path) -> None:
    graph_file = tmp_path / "demo.toml"
    shutil.copy(LEGACY / "graphs" / "demo.toml", graph_file)
    validate = run_cli("validate", str(graph_file))
    assert validate.returncode == 0
    assert validate.stderr.count("note:") == 1 and "'mix' is now 'signal.mix'" in validate.stderr
    first = run_cli("upgrade", str(graph_file))
    assert first.returncode == 0, first.stderr
    assert "node 'mix': type 'mix' is now 'signal.mix'" in first.stdout
    assert graph_file.read_text() == (REPO_ROOT / "graphs" / "demo.toml").read_text()
    second = run_cli("upgrade", str(graph_file))
    assert second.returncode == 0 and "up to date" in second.stdout
    assert "note:" not in run_cli("validate", str(graph_file)).stderr
    missing = run_cli("upgrade", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "nope.toml: no such graph file" in missing.stderr
