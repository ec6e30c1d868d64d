"""The engine's topological order and cycle search give what networkx gives."""

from __future__ import annotations

import random

import networkx as nx

from graphengine.toposort import Digraph


def _random_graph(rng: random.Random, acyclic: bool) -> tuple[list[str], list[tuple[str, str]]]:
    names = list(dict.fromkeys(f"{rng.choice('abcdefgh')}{rng.randint(0, 3)}" for _ in range(10)))
    edges = [(rng.choice(names), rng.choice(names)) for _ in range(rng.randint(0, 18))]
    if acyclic:
        rank = {name: index for index, name in enumerate(rng.sample(names, len(names)))}
        edges = [(a, b) for a, b in edges if rank[a] < rank[b]]
    return names, edges


def test_order_and_cycles_match_networkx() -> None:
    rng = random.Random(7)
    for trial in range(400):
        names, edges = _random_graph(rng, acyclic=trial % 2 == 0)
        reference = nx.DiGraph()
        reference.add_nodes_from(names)
        reference.add_edges_from(edges)
        graph = Digraph(names)
        for tail, head in edges:
            graph.add_edge(tail, head)
        key = (lambda name: name[::-1]) if trial % 3 == 0 else None
        try:
            expected = list(nx.lexicographical_topological_sort(reference, key=key))
        except nx.NetworkXUnfeasible:
            found = nx.find_cycle(reference)
            assert graph.order(key=key) is None
            assert graph.cycle() == [edge[0] for edge in found] + [found[0][0]]
        else:
            assert graph.order(key=key) == expected
            assert graph.cycle() is None
