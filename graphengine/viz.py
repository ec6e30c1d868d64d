"""Pictures of a graph: Graphviz DOT text, or a PNG drawn with matplotlib."""

from __future__ import annotations

from pathlib import Path

from graphengine.validate import ValidGraph


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(valid: ValidGraph) -> str:
    """The graph in Graphviz DOT: one box per node (id and type), one edge per connection."""
    lines = [
        f"digraph {_quote(valid.graph.name)} {{",
        "  rankdir=LR;",
        "  node [shape=box, fontname=Helvetica];",
    ]
    for node_id in valid.order:
        node = valid.nodes[node_id]
        shape = ", shape=box3d" if node.spec.is_sink else ""
        lines.append(f"  {_quote(node_id)} [label={_quote(node_id + chr(10) + node.type)}{shape}];")
    for node_id in valid.order:
        node = valid.nodes[node_id]
        for port, refs in node.inputs.items():
            for ref in refs:
                source = valid.nodes[ref.node]
                default = ref.port == source.spec.default_output
                label = port if default else f"{ref.port} -> {port}"
                lines.append(f"  {_quote(ref.node)} -> {_quote(node_id)} [label={_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def png(valid: ValidGraph, path: Path) -> None:
    """Draw the graph left to right by topological generation into a PNG file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    graph = nx.DiGraph()
    for node_id in valid.order:
        graph.add_node(node_id)
    for node_id, node in valid.nodes.items():
        for refs in node.inputs.values():
            for ref in refs:
                graph.add_edge(ref.node, node_id)
    for layer, generation in enumerate(nx.topological_generations(graph)):
        for node_id in generation:
            graph.nodes[node_id]["layer"] = layer
    positions = nx.multipartite_layout(graph, subset_key="layer")
    width = max(6.0, 2.2 * (max(d["layer"] for _, d in graph.nodes(data=True)) + 1))
    height = max(3.0, 1.2 * max(len(g) for g in nx.topological_generations(graph)))
    figure, axes = plt.subplots(figsize=(width, height))
    labels = {node_id: f"{node_id}\n{valid.nodes[node_id].type}" for node_id in graph}
    nx.draw_networkx_edges(graph, positions, ax=axes, arrows=True, arrowsize=16, node_size=3000)
    nx.draw_networkx_labels(
        graph,
        positions,
        labels,
        ax=axes,
        font_size=8,
        bbox={"boxstyle": "round,pad=0.4", "facecolor": "#e8f0fe", "edgecolor": "#3367d6"},
    )
    axes.set_title(valid.graph.name)
    axes.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
