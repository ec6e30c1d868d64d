"""docs/ stays true: the node reference is the registry's, and the examples run."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import soundfile as sf

import graphengine as ge
from graphengine import describe
from graphengine.registry import Registry, default_registry
from support import REPO_ROOT

DOCS = REPO_ROOT / "docs"


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), re.S)


def test_node_reference_is_generated_from_the_registry() -> None:
    generated = describe.markdown(default_registry())
    assert (DOCS / "nodes.md").read_text() == generated, (
        "docs/nodes.md is stale: run graphengine nodes --markdown > docs/nodes.md"
    )


def test_every_node_example_validates(tmp_path: Path) -> None:
    for spec in default_registry():
        assert spec.example, f"{spec.type_id} has no example"
        ge.load(_example_graph(spec.example, spec, tmp_path)).validate()


def _example_graph(example: str, spec, tmp_path: Path) -> dict:
    """The example node table plus a placeholder source for each input it names."""
    import tomllib

    tree = tomllib.loads(example)
    nodes = dict(tree["nodes"])
    wav = tmp_path / "example.wav"
    if not wav.exists():
        sf.write(wav, np.zeros((4410, 1), np.float32), 44100)
    for table in list(nodes.values()):
        for port in spec.inputs:
            refs = table.get(port.name)
            for ref in [refs] if isinstance(refs, str) else refs or []:
                source = ref.split(".")[0]
                if source not in nodes:
                    nodes[source] = {"type": "source.tone", "duration_s": 0.1}
        for name in spec.input_paths:
            if name in table:
                table[name] = str(wav)
        for name in spec.output_paths:
            if name in table:
                table[name] = str(tmp_path / Path(table[name]).name)
    return {"nodes": nodes}


def test_guide_node_example_registers_and_runs(tmp_path: Path) -> None:
    namespace: dict = {}
    exec(compile(blocks(DOCS / "guide.md", "python")[0], "guide.md", "exec"), namespace)
    spec = namespace["invert"].spec
    registry = Registry({s.type_id: s for s in default_registry()})
    registry.add(spec)
    g = ge.Graph()
    g.add("src", "source.tone", duration_s=0.01)
    g.add("flip", "effect.invert", in_="src")
    result = g.run(outputs=["flip", "src"], cache=False, registry=registry)
    np.testing.assert_allclose(result["flip"].samples, -result["src"].samples)


def test_file_format_examples_render(tmp_path: Path) -> None:
    toml = blocks(DOCS / "file-format.md", "toml")
    fx = next(b for b in toml if b.startswith("# fx.toml"))
    main = next(b for b in toml if b.startswith("# main.toml"))
    (tmp_path / "fx.toml").write_text(fx)
    (tmp_path / "main.toml").write_text(main)
    result = ge.load(tmp_path / "main.toml").run(cache=False)
    samples, _ = sf.read(tmp_path / "out" / "x.wav")
    assert abs(np.abs(samples).max() - 0.5 * 10 ** (-12 / 20)) < 1e-3
    assert "fx/g" in {s.node for s in result.stats}
