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


def _producers(registry: Registry) -> dict[str, list[tuple[str, str]]]:
    """Port type -> a chain of (node type, output port) making it from a short tone.

    Built breadth-first through nodes with one required input and no required
    parameters, so every example can be wired to inputs of the types it needs.
    """
    chains: dict[str, list[tuple[str, str]]] = {"audio": [("source.tone", "out")]}
    for spec in registry:  # sources that need nothing
        if not any(p.required for p in spec.params) and not any(
            not p.optional for p in spec.inputs
        ):
            for output in spec.outputs:
                chains.setdefault(output.type, [(spec.type_id, output.name)])
    changed = True
    while changed:
        changed = False
        for spec in registry:
            required = [p for p in spec.inputs if not p.optional]
            if len(required) != 1 or any(p.required for p in spec.params):
                continue
            source = required[0].type
            if source not in chains:
                continue
            for output in spec.outputs:
                if output.type not in chains:
                    chains[output.type] = [*chains[source], (spec.type_id, output.name)]
                    changed = True
    return chains


def _placeholder_file(path: Path) -> bool:
    """Write a small valid file of the kind ``path``'s suffix names; False if unknown."""
    suffix = path.suffix.lower()
    if suffix in (".wav", ".flac", ".ogg", ".aiff"):
        t = np.arange(4410) / 44100
        sf.write(path, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100)
    elif suffix in (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"):
        from PIL import Image

        Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 4, (32, 1))).save(path)
    elif suffix == ".scl":
        path.write_text("! placeholder.scl\nplaceholder\n 2\n!\n 3/2\n 2/1\n")
    else:
        return False
    return True


def _example_graph(spec, chains: dict, tmp_path: Path, any_type: str = "audio") -> dict | None:
    """The example node table plus placeholder sources of the right type for its inputs.

    A port of type ``any`` gets a source of ``any_type``.
    """
    import tomllib

    nodes = dict(tomllib.loads(spec.example)["nodes"])
    (_node_id, table), *rest = nodes.items()
    assert not rest, f"{spec.type_id}: the example should hold one node table"
    for port in spec.inputs:
        refs = table.get(port.name)
        for ref in [refs] if isinstance(refs, str) else refs or []:
            source = ref.split(".")[0]
            wanted = any_type if port.type == "any" else port.type
            if wanted not in chains:
                return None
            chain = chains[wanted]
            previous = None
            for index, (type_id, out) in enumerate(chain):
                chain_id = source if index == len(chain) - 1 else f"{source}_{index}"
                link = {"type": type_id}
                if previous is not None:
                    link["in"] = previous
                elif type_id == "source.tone":
                    link["duration_s"] = 60.0  # validation only: long enough for any example
                nodes[chain_id] = link
                previous = f"{chain_id}.{out}"
    for name in spec.input_paths:
        if name in table:
            target = tmp_path / Path(table[name]).name
            if not _placeholder_file(target):
                return None
            table[name] = str(target)
    for name in spec.output_paths:
        if name in table:
            table[name] = str(tmp_path / Path(table[name]).name)
    return {"nodes": nodes}


def test_every_node_example_validates(tmp_path: Path) -> None:
    registry = default_registry()
    chains = _producers(registry)
    checked = []
    for spec in registry:
        assert spec.example, f"{spec.type_id} has no example"
        takes_any = any(port.type == "any" for port in spec.inputs)
        errors = []
        for any_type in sorted(chains) if takes_any else ["audio"]:
            tree = _example_graph(spec, chains, tmp_path, any_type)
            if tree is None:
                continue
            try:
                ge.load(tree).validate()
            except ge.GraphError as error:
                errors.append(error)
                continue
            checked.append(spec.type_id)
            break
        else:
            if errors:
                raise errors[0]
    assert len(checked) >= 0.9 * len(registry), "most examples must be checked"


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
