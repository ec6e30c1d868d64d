"""``graphengine viz``: DOT on stdout without -o, real SVG for .svg, other endings refused."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from graphengine import cli

REPO = Path(__file__).resolve().parents[2]
SVG_NS = "{http://www.w3.org/2000/svg}"
GRAPHS = ["demo", "features", "chained_pedals"]


def _run(capsys, *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _dot_edges(dot: str) -> set[tuple[str, str]]:
    return set(re.findall(r'^\s*"([^"]+)" -> "([^"]+)"', dot, flags=re.M))


def test_viz_without_output_prints_dot_on_stdout(capsys, tmp_path: Path) -> None:
    code, out, err = _run(capsys, "viz", REPO / "graphs" / "demo.toml")
    assert code == 0, err
    assert out.startswith('digraph "demo" {') and out.rstrip().endswith("}")
    code, _, _ = _run(capsys, "viz", REPO / "graphs" / "demo.toml", "-o", tmp_path / "d.dot")
    assert code == 0 and (tmp_path / "d.dot").read_text() == out


def _boxes(root: ET.Element) -> dict[str, tuple[float, float, float, float]]:
    boxes = {}
    for group in root.iter(f"{SVG_NS}g"):
        if "node" in group.get("class", "").split():
            rect = group.find(f"{SVG_NS}rect")
            assert rect is not None
            texts = [t.text for t in group.iter(f"{SVG_NS}text")]
            assert texts == [group.get("data-node"), group.get("data-type")]
            boxes[group.get("data-node")] = tuple(
                float(rect.get(k)) for k in ("x", "y", "width", "height")
            )
    return boxes


@pytest.mark.parametrize("name", GRAPHS)
def test_viz_svg_is_a_drawing_of_every_node_and_edge(capsys, tmp_path: Path, name: str) -> None:
    graph = REPO / "graphs" / f"{name}.toml"
    _, dot, _ = _run(capsys, "viz", graph)
    target = tmp_path / f"{name}.svg"
    code, out, err = _run(capsys, "viz", graph, "-o", target)
    assert code == 0 and out == f"wrote {target}\n", err
    root = ET.fromstring(target.read_bytes())  # well-formed XML
    assert root.tag == f"{SVG_NS}svg"
    width, height = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    boxes = _boxes(root)
    assert set(boxes) == set(re.findall(r'^\s*"([^"]+)" \[label=', dot, flags=re.M))
    for x, y, w, h in boxes.values():
        assert x >= 0 and x + w <= width and y >= 0 and y + h <= height
    items = sorted(boxes.items())
    for k, (a, (ax, ay, aw, ah)) in enumerate(items):  # no two boxes overlap
        for b, (bx, by, bw, bh) in items[k + 1 :]:
            apart = ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay
            assert apart, f"{a} and {b} overlap"
    edges = set()
    for group in root.iter(f"{SVG_NS}g"):
        if group.get("class") != "edge":
            continue
        source, target_port = group.get("data-source"), group.get("data-target")
        source_node, target_node = source.rsplit(".", 1)[0], target_port.rsplit(".", 1)[0]
        edges.add((source_node, target_node))
        numbers = [
            float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", group.find(f"{SVG_NS}path").get("d"))
        ]
        sx, sy, sw, sh = boxes[source_node]
        tx, ty, _, th = boxes[target_node]
        assert numbers[0] == pytest.approx(sx + sw, abs=0.15)  # leaves the source's right side
        assert sy <= numbers[1] <= sy + sh
        assert numbers[-2] == pytest.approx(tx, abs=0.15)  # enters the target's left side
        assert ty <= numbers[-1] <= ty + th
    assert edges == _dot_edges(dot)


def test_viz_svg_rasterises_to_a_picture(capsys, tmp_path: Path) -> None:
    try:
        import cairosvg
    except (ImportError, OSError) as error:  # OSError: the cairo library itself is missing
        pytest.skip(f"cairosvg cannot draw here: {error}")
    from PIL import Image

    target = tmp_path / "demo.svg"
    assert _run(capsys, "viz", REPO / "graphs" / "demo.toml", "-o", target)[0] == 0
    root = ET.fromstring(target.read_bytes())
    png = cairosvg.svg2png(bytestring=target.read_bytes())
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (int(root.get("width")), int(root.get("height")))
        grey = np.asarray(image.convert("L"), dtype=np.float64)
    assert grey.std() > 10  # boxes, text and edges, not a blank page
    assert (grey < 128).mean() > 0.005  # dark ink: text and lines


@pytest.mark.parametrize("name", ["g.pdf", "g.jpg", "g"])
def test_viz_refuses_an_ending_it_cannot_draw(capsys, tmp_path: Path, name: str) -> None:
    code, out, err = _run(capsys, "viz", REPO / "graphs" / "demo.toml", "-o", tmp_path / name)
    assert code == 2 and out == ""
    assert "cannot draw" in err and ".svg" in err
    assert not (tmp_path / name).exists()
