"""A picture of a graph as SVG, laid out here in pure Python (Graphviz is not needed).

The layout is layered, left to right, as Graphviz ``dot`` would draw it: a node
sits one column right of its furthest input (a source one column left of its
nearest reader), the order within a column is settled by a few barycentre
sweeps that reduce crossings, and each edge is a cubic curve from the source's
right side to the target's left side (one attachment point per port),
labelled with the input port where the target has several, and with the
output port where it is not the source's default one. Sources, sinks and the converters
that validation inserted (``src--spectral-stft``, dashed) are told apart by
colour and border.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from graphengine.validate import ValidGraph

FONT_PX = 12
CHAR_PX = 7.0
"""Mean advance of a 12 px sans-serif glyph, for box widths and label room."""
BOX_HEIGHT = 44.0
ROW_GAP = 24.0
MARGIN = 20.0
TITLE_HEIGHT = 28.0
SWEEPS = 4
LANE_GAP = 6.0
"""Spacing of the lanes that edges skipping columns run along."""

FILL = {"source": "#e6f4ea", "sink": "#fce8e6", "node": "#e8f0fe"}
STROKE = {"source": "#188038", "sink": "#c5221f", "node": "#3367d6"}
PORT_COLOURS = {
    "audio": "#1a73e8",
    "spectrum": "#e8710a",
    "cqt": "#f29900",
    "features": "#9334e6",
    "vector": "#d01884",
    "image": "#12b5cb",
    "notes": "#188038",
    "frequencies": "#7cb342",
    "prediction": "#c5221f",
    "subbands": "#795548",
}
PORT_OTHER = "#5f6368"
PORT_RADIUS = 4.5
LEGEND_HEIGHT = 26.0


@dataclass
class Box:
    """A node's box: top-left corner and size in px, its column, and its drawn kind."""

    node: str
    type: str
    kind: str
    layer: int
    width: float
    x: float = 0.0
    y: float = 0.0
    height: float = BOX_HEIGHT
    ins: list[str] = field(default_factory=list)
    outs: list[str] = field(default_factory=list)

    def in_point(self, port: str) -> tuple[float, float]:
        k = self.ins.index(port)
        return self.x, self.y + self.height * (k + 1) / (len(self.ins) + 1)

    def out_point(self, port: str) -> tuple[float, float]:
        k = self.outs.index(port)
        return self.x + self.width, self.y + self.height * (k + 1) / (len(self.outs) + 1)


@dataclass(frozen=True)
class Edge:
    source: str
    source_port: str
    target: str
    target_port: str
    label: str


@dataclass
class Layout:
    boxes: dict[str, Box]
    edges: list[Edge]
    columns: list[list[str]]
    width: float
    height: float

    def route(self, edge: Edge, lane_shift: float = 0.0) -> tuple[str, float, float]:
        """The SVG path of an edge, and where its label goes.

        Between neighbouring columns, one cubic curve. An edge that skips
        columns runs along a lane above (or below) the boxes of the columns it
        passes, so it is never hidden behind one.
        """
        source, target = self.boxes[edge.source], self.boxes[edge.target]
        x0, y0 = source.out_point(edge.source_port)
        x1, y1 = target.in_point(edge.target_port)
        passed = [self.boxes[n] for c in self.columns[source.layer + 1 : target.layer] for n in c]
        if not passed:
            bend = max((x1 - x0) / 2, 30.0)
            path = (
                f"M{x0:.1f},{y0:.1f} C{x0 + bend:.1f},{y0:.1f} {x1 - bend:.1f},{y1:.1f} "
                f"{x1:.1f},{y1:.1f}"
            )
            return path, (x0 + x1) / 2, (y0 + y1) / 2
        top = min(b.y for b in passed) - ROW_GAP / 2 - lane_shift
        bottom = max(b.y + b.height for b in passed) + ROW_GAP / 2 + lane_shift
        lane = top if abs(top - (y0 + y1) / 2) <= abs(bottom - (y0 + y1) / 2) else bottom
        xa, xb = min(b.x for b in passed), max(b.x + b.width for b in passed)
        ba, bb = (xa - x0) / 2, (x1 - xb) / 2
        path = (
            f"M{x0:.1f},{y0:.1f} C{x0 + ba:.1f},{y0:.1f} {xa - ba:.1f},{lane:.1f} "
            f"{xa:.1f},{lane:.1f} L{xb:.1f},{lane:.1f} C{xb + bb:.1f},{lane:.1f} "
            f"{x1 - bb:.1f},{y1:.1f} {x1:.1f},{y1:.1f}"
        )
        return path, (xa + xb) / 2, lane


def _edges(valid: ValidGraph) -> list[Edge]:
    """Every connection; labelled with its ports where they are not the obvious ones.

    The label is the input port when the target has several connected inputs,
    and ``output → input`` when the source port is not its default output.
    """
    edges = []
    for node_id in valid.order:
        node = valid.nodes[node_id]
        several = sum(1 for refs in node.inputs.values() if refs) > 1
        for port, refs in node.inputs.items():
            for ref in refs:
                source = valid.nodes[ref.node].spec
                if ref.port != source.default_output:
                    label = f"{ref.port} → {port}"
                else:
                    label = port if several else ""
                edges.append(Edge(ref.node, ref.port, node_id, port, label))
    return edges


def _layers(valid: ValidGraph, edges: list[Edge]) -> dict[str, int]:
    """Longest path from the inputs; a node without inputs moves next to its nearest reader."""
    inputs: dict[str, list[str]] = {n: [] for n in valid.order}
    readers: dict[str, list[str]] = {n: [] for n in valid.order}
    for edge in edges:
        inputs[edge.target].append(edge.source)
        readers[edge.source].append(edge.target)
    layer: dict[str, int] = {}
    for node_id in valid.order:  # topological: every input has its layer already
        layer[node_id] = 1 + max((layer[s] for s in inputs[node_id]), default=-1)
    for node_id in reversed(valid.order):
        if not inputs[node_id] and readers[node_id]:
            layer[node_id] = min(layer[r] for r in readers[node_id]) - 1
    return layer


def _order(columns: list[list[str]], edges: list[Edge]) -> None:
    """Reorder each column in place by the mean position of its neighbours (barycentres)."""
    before: dict[str, list[str]] = {}
    after: dict[str, list[str]] = {}
    for edge in edges:
        before.setdefault(edge.target, []).append(edge.source)
        after.setdefault(edge.source, []).append(edge.target)

    def sweep(indices: range, neighbours: dict[str, list[str]]) -> None:
        for c in indices:
            position = {n: k for column in columns for k, n in enumerate(column)}
            keys = {}
            for k, n in enumerate(columns[c]):
                near = [position[m] for m in neighbours.get(n, ())]
                keys[n] = (sum(near) / len(near) if near else k, k)
            columns[c].sort(key=keys.__getitem__)

    for _ in range(SWEEPS):
        sweep(range(1, len(columns)), before)
        sweep(range(len(columns) - 2, -1, -1), after)


def layout(valid: ValidGraph, *, every_output: bool = False) -> Layout:
    """Place every node of ``valid`` (positions in px) and list its edges.

    A box has an attachment point for each connected port; with
    ``every_output``, for each of its outputs, connected or not.
    """
    edges = _edges(valid)
    layer = _layers(valid, edges)
    boxes: dict[str, Box] = {}
    for node_id in valid.order:
        node = valid.nodes[node_id]
        spec = node.spec
        if spec.is_sink:
            kind = "sink"
        elif not node.inputs:
            kind = "source"
        else:
            kind = "node"
        width = max(len(node_id), len(node.type)) * CHAR_PX + 2 * 12
        box = Box(node_id, node.type, kind, layer[node_id], width)
        box.ins = [p.name for p in spec.inputs if node.inputs.get(p.name)]
        if every_output:
            box.outs = [p.name for p in spec.outputs]
        boxes[node_id] = box
    for edge in edges:
        outs = boxes[edge.source].outs
        if edge.source_port not in outs:
            outs.append(edge.source_port)
    spec_order = {n: [p.name for p in valid.nodes[n].spec.outputs] for n in boxes}
    for node_id, box in boxes.items():
        box.outs.sort(key=lambda p, n=node_id: spec_order[n].index(p) if p in spec_order[n] else 0)

    count = max(layer.values(), default=0) - min(layer.values(), default=0) + 1
    low = min(layer.values(), default=0)
    columns: list[list[str]] = [[] for _ in range(count)]
    for node_id in valid.order:
        columns[layer[node_id] - low].append(node_id)
        boxes[node_id].layer = layer[node_id] - low
    _order(columns, edges)

    gaps = [60.0] * count  # room left of each column for the labels of the edges entering it
    for edge in edges:
        c = layer[edge.target] - low
        gaps[c] = max(gaps[c], len(edge.label) * CHAR_PX + 40)
    heights = [len(col) * BOX_HEIGHT + max(len(col) - 1, 0) * ROW_GAP for col in columns]
    tallest = max(heights, default=0.0)
    skipping = sum(1 for e in edges if layer[e.target] - layer[e.source] > 1)
    lanes = (ROW_GAP / 2 + LANE_GAP * skipping) if skipping else 0.0  # room above and below
    x = MARGIN
    for c, column in enumerate(columns):
        if c:
            x += gaps[c]
        width = max((boxes[n].width for n in column), default=0.0)
        y = MARGIN + TITLE_HEIGHT + lanes + (tallest - heights[c]) / 2
        for node_id in column:
            box = boxes[node_id]
            box.x, box.y = x + (width - box.width) / 2, y
            y += BOX_HEIGHT + ROW_GAP
        x += width
    height = MARGIN + TITLE_HEIGHT + 2 * lanes + tallest + MARGIN
    return Layout(boxes, edges, columns, x + MARGIN, height)


def _port_marks(valid: ValidGraph, box: Box) -> list[str]:
    """A dot per port of a box, coloured by its port type, with a ``name: type`` tooltip."""
    spec = valid.nodes[box.node].spec
    marks = []
    for side, names, point, find in (
        ("in", box.ins, box.in_point, spec.input),
        ("out", box.outs, box.out_point, spec.output),
    ):
        for name in names:
            port = find(name)
            kind = port.type if port is not None else "any"
            x, y = point(name)
            marks.append(
                f'<circle class="port {side}" data-port="{escape(name)}" data-port-type='
                f'"{escape(kind)}" cx="{x:.1f}" cy="{y:.1f}" r="{PORT_RADIUS}" '
                f'fill="{PORT_COLOURS.get(kind, PORT_OTHER)}" stroke="#ffffff" stroke-width="1">'
                f"<title>{side}put {escape(name)}: {escape(kind)}</title></circle>"
            )
    return marks


def _legend(valid: ValidGraph, y: float) -> list[str]:
    """One swatch per port type the graph uses, in a row at ``y``."""
    kinds = sorted(
        {p.type for n in valid.nodes.values() for p in (*n.spec.inputs, *n.spec.outputs)}
    )
    parts, x = [], MARGIN
    for kind in kinds:
        parts.append(
            f'<circle cx="{x + PORT_RADIUS:.1f}" cy="{y:.1f}" r="{PORT_RADIUS}" '
            f'fill="{PORT_COLOURS.get(kind, PORT_OTHER)}"/>'
            f'<text x="{x + 3 * PORT_RADIUS:.1f}" y="{y + 4:.1f}" fill="#3c4043">'
            f"{escape(kind)}</text>"
        )
        x += 3 * PORT_RADIUS + len(kind) * CHAR_PX + 16
    return parts


def svg(valid: ValidGraph, *, ports: bool = False) -> str:
    """The graph as a standalone SVG document (UTF-8 text).

    With ``ports``, every output and connected input is a dot coloured by its
    port type (tooltip ``name: type``), with a legend of the types below.
    """
    drawn = layout(valid, every_output=ports)
    width, height = round(drawn.width), round(drawn.height + (LEGEND_HEIGHT if ports else 0))
    title = valid.graph.name or "graph"
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
        f'font-size="{FONT_PX}">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#5f6368"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{MARGIN}" y="{MARGIN + FONT_PX + 2}" font-size="{FONT_PX + 3}" '
        f'font-weight="bold">{escape(title)}</text>',
    ]
    skips = 0
    for edge in drawn.edges:
        long = drawn.boxes[edge.target].layer - drawn.boxes[edge.source].layer > 1
        path, mx, my = drawn.route(edge, LANE_GAP * skips)
        skips += long
        label = ""
        if edge.label:
            half = len(edge.label) * CHAR_PX / 2 + 3
            label = (
                f'<rect x="{mx - half:.1f}" y="{my - 9:.1f}" width="{2 * half:.1f}" height="16" '
                f'rx="3" fill="#ffffff" fill-opacity="0.85"/>'
                f'<text x="{mx:.1f}" y="{my + 3:.1f}" text-anchor="middle" fill="#3c4043">'
                f"{escape(edge.label)}</text>"
            )
        lines.append(
            f'<g class="edge" data-source="{escape(edge.source)}.{escape(edge.source_port)}" '
            f'data-target="{escape(edge.target)}.{escape(edge.target_port)}">'
            f'<path d="{path}" fill="none" stroke="#5f6368" stroke-width="1.4" '
            f'marker-end="url(#arrow)"/>{label}</g>'
        )
    for box in drawn.boxes.values():
        dashed = ' stroke-dasharray="5,3"' if "--" in box.node else ""
        border = "2.4" if box.kind == "sink" else "1.4"
        centre = box.x + box.width / 2
        lines.append(
            f'<g class="node {box.kind}" data-node="{escape(box.node)}" '
            f'data-type="{escape(box.type)}">'
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
            f'height="{box.height:.1f}" rx="6" fill="{FILL[box.kind]}" '
            f'stroke="{STROKE[box.kind]}" stroke-width="{border}"{dashed}/>'
            f'<text x="{centre:.1f}" y="{box.y + 18:.1f}" text-anchor="middle" '
            f'font-weight="bold">{escape(box.node)}</text>'
            f'<text x="{centre:.1f}" y="{box.y + 34:.1f}" text-anchor="middle" '
            f'fill="#5f6368">{escape(box.type)}</text>'
            + "".join(_port_marks(valid, box) if ports else ())
            + "</g>"
        )
    if ports:
        lines += _legend(valid, drawn.height + LEGEND_HEIGHT / 2 - 6)
    lines.append("</svg>")
    return "\n".join(lines) + "\n"
