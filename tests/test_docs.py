"""docs/ stays true: the node reference is the registry's, and every example runs.

Every fenced block in docs/*.md is executed or checked, in document order, in a
working folder per page holding a copy of graphs/ (so ``graphs/demo.toml``
works there). A marker in an HTML comment on the line before a block changes
what happens to it:

- ```` ```python ````: run (one namespace per page); ``<!-- skip -->``: compiled only.
- ```` ```toml ````: a whole graph (it has ``format``) is rendered; a fragment is
  parsed and its node tables are checked against the registry (known types,
  ports and parameters); ``<!-- file: NAME -->`` writes it to NAME instead,
  ``<!-- append: NAME -->`` adds it to the end of NAME (any language).
- ```` ```sh ````: every line runs with bash (``graphengine`` is this working
  tree's CLI) and must exit 0, or the code in ``<!-- exit: N -->``.
- ```` ```text ```` after ``<!-- expect -->``: the previous sh block printed it.
- ```` ```json ````: parsed. Other languages (console, text) are shown, not run.
- ``<!-- skip -->`` on any block: not run (kept for fragments, used sparingly).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import graphengine as ge
from graphengine import describe
from graphengine.registry import Registry, default_registry
from support import REPO_ROOT, cli_env

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
    elif suffix in (".mid", ".midi"):
        import mido

        smf = mido.MidiFile(type=0)
        smf.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=90)]))
        smf.tracks[0].append(mido.Message("note_off", note=60, time=480))
        smf.save(path)
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
            if "." not in ref:  # the producer's port of that type may not be its default one
                refs = table[port.name]
                named = f"{source}.{chain[-1][1]}"
                table[port.name] = (
                    named if isinstance(refs, str) else [named if r == ref else r for r in refs]
                )
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
    toml = blocks(DOCS / "graph-format.md", "toml")
    fx = next(b for b in toml if b.startswith("# fx.toml"))
    main = next(b for b in toml if b.startswith("# main.toml"))
    (tmp_path / "fx.toml").write_text(fx)
    (tmp_path / "main.toml").write_text(main)
    result = ge.load(tmp_path / "main.toml").run(cache=False)
    samples, _ = sf.read(tmp_path / "out" / "x.wav")
    assert abs(np.abs(samples).max() - 0.5 * 10 ** (-12 / 20)) < 1e-3
    assert "fx/g" in {s.node for s in result.stats}


# -- every example in docs/ runs -----------------------------------------------------

PAGES = sorted(p for p in DOCS.glob("*.md") if p.name not in ("nodes.md", "gallery.md"))
_FENCE = re.compile(r"(?:<!--\s*(.*?)\s*-->\s*\n)?```(\w*)\n(.*?)```", re.S)


def fenced(path: Path) -> list[tuple[str, str, str]]:
    """(marker, language, body) of every fenced block, in order; marker is '' when absent."""
    return [(m.group(1) or "", m.group(2), m.group(3)) for m in _FENCE.finditer(path.read_text())]


def _check_fragment(tree: dict, where: str) -> None:
    """Node tables name known types, and only their ports and parameters."""
    registry = default_registry()
    for node_id, table in (tree.get("nodes") or {}).items():
        type_id = table.get("type")
        if type_id in (None, "graph"):
            continue
        spec = registry.get(type_id)
        assert spec is not None, f"{where}: node {node_id}: unknown type {type_id!r}"
        known = {p.name for p in spec.inputs} | {p.name for p in spec.params} | {"type"}
        unknown = set(table) - known
        assert not unknown, f"{where}: node {node_id} [{type_id}]: unknown keys {unknown}"


def _sh_lines(body: str) -> list[str]:
    lines, current = [], ""
    for raw in body.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        command = re.split(r"\s{2,}#", current)[0].strip()
        current = ""
        if command and not command.startswith("#"):
            lines.append(command)
    return lines


def _run_sh(body: str, cwd: Path, expected: int, where: str) -> str:
    python = shlex.quote(sys.executable)
    printed = []
    for command in _sh_lines(body):
        shell = re.sub(r"(^|[;&|]\s*)graphengine\b", rf"\1{python} -m graphengine", command)
        shell = re.sub(r"^python\b", python, shell)
        done = subprocess.run(
            ["bash", "-c", shell], cwd=cwd, env=cli_env(), capture_output=True, text=True
        )
        assert done.returncode == expected, (
            f"{where}: {command!r} exited {done.returncode}, expected {expected}\n"
            f"{done.stdout}{done.stderr}"
        )
        printed.append(done.stdout + done.stderr)
    return "".join(printed)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_example_in_the_docs_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(
        REPO_ROOT / "graphs",
        tmp_path / "graphs",
        ignore=shutil.ignore_patterns("out", ".graphengine-cache"),
    )
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    printed = ""
    for index, (marker, language, body) in enumerate(fenced(page)):
        where = f"{page.name} block {index + 1} ({language or 'plain'})"
        if marker.startswith(("file:", "append:")):
            target = tmp_path / marker.split(":", 1)[1].strip()
            target.parent.mkdir(parents=True, exist_ok=True)
            before = target.read_text() + "\n" if marker.startswith("append:") else ""
            target.write_text(before + body)
            continue
        if language == "python":
            source = tmp_path / f"{namespace['__name__']}_{index}.py"  # numba caches need a file
            source.write_text(body)
            code = compile(body, str(source), "exec")
            if marker != "skip":
                exec(code, namespace)
        elif language == "toml":
            tree = tomllib.loads(body)
            if "format" in tree and marker != "skip":
                graph_file = tmp_path / f"doc_graph_{index}.toml"
                graph_file.write_text(body)
                result = ge.load(graph_file).run(cache=False)
                assert result.outputs, f"{where}: a whole graph should write something"
            else:
                _check_fragment(tree, where)
        elif language == "json" and marker != "skip":
            json.loads(body)
        elif language == "sh" and marker != "skip":
            expected = int(marker.split(":", 1)[1]) if marker.startswith("exit:") else 0
            printed = _run_sh(body, tmp_path, expected, where)
        elif marker == "expect":
            for line in body.strip().splitlines():
                assert line.strip() in printed, f"{where}: not printed: {line!r}\n{printed}"


def test_docs_links_resolve() -> None:
    """Relative links in docs/ and README.md point at files that exist (rendered audio aside)."""
    for page in [*DOCS.glob("*.md"), REPO_ROOT / "README.md"]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or "/out/" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_graph_format_covers_the_schema() -> None:
    """Every top-level key of the JSON Schema is documented in graph-format.md's table."""
    from graphengine.schema import graph_schema

    text = (DOCS / "graph-format.md").read_text()
    for key in graph_schema(default_registry())["properties"]:
        assert f"| `{key}` |" in text, f"graph-format.md does not document `{key}`"


def test_every_cli_command_is_in_cli_md() -> None:
    """The engine's own commands (node packages' plugin commands document themselves)."""
    from graphengine.cli import build_parser

    text = (DOCS / "cli.md").read_text()
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    engine = (
        "render",
        "validate",
        "watch",
        "new",
        "nodes",
        "schema",
        "viz",
        "cache",
        "batch",
        "info",
    )
    assert set(engine) <= set(sub.choices)
    for name in engine:
        assert f"graphengine {name}" in text, f"cli.md does not show `graphengine {name}`"


def test_gallery_shows_every_graph_with_real_pictures() -> None:
    from PIL import Image

    text = (DOCS / "gallery.md").read_text()
    for graph in sorted((REPO_ROOT / "graphs").glob("*.toml")):
        assert f"## {graph.stem}\n" in text, (
            f"gallery.md lacks {graph.name}: run docs/make_gallery.py"
        )
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert len(pictures) >= len(list((REPO_ROOT / "graphs").glob("*.toml")))
    for picture in pictures:
        with Image.open(DOCS / picture) as image:
            assert image.size[0] <= 800 and image.size[1] <= 1200, picture
            grey = np.asarray(image.convert("L"), dtype=np.float64)
        assert grey.std() > 20, f"{picture} looks blank"
        assert (DOCS / picture).stat().st_size < 200_000, f"{picture} is too big for the repo"


def test_make_gallery_builds_a_page(tmp_path: Path) -> None:
    """The gallery script renders a graph and draws a non-blank spectrogram of its audio."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_gallery", DOCS / "make_gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graphs = tmp_path / "graphs"
    graphs.mkdir()
    (graphs / "beep.toml").write_text(
        '# A beep.\nformat = 1\n[nodes.osc]\ntype = "source.chirp"\nduration_s = 0.5\n'
        '[nodes.out]\ntype = "sink.wav"\nin = "osc"\npath = "out/beep.wav"\n'
    )
    pictures = module.build(graphs, tmp_path / "gallery", tmp_path / "gallery.md")
    page = (tmp_path / "gallery.md").read_text()
    assert "## beep" in page and "A beep." in page and "gallery/beep.png" in page
    from PIL import Image

    with Image.open(pictures[0]) as image:
        assert image.size == (800, 300)
        assert np.asarray(image.convert("L"), dtype=np.float64).std() > 20
