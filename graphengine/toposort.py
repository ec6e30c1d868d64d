"""Topological order and cycle search for the small graphs the engine plans (no dependencies).

The order is networkx's ``lexicographical_topological_sort``: Kahn's algorithm
with a heap, ties broken by ``key`` and then by the order nodes were added; a
cycle is the first one a depth-first search finds, visiting nodes and their
successors in the order they were added. Importing networkx for this cost a
command more than everything else it did before running a node.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable
from typing import Any

_END = object()


class Digraph:
    """A directed graph without parallel edges; nodes and successors keep insertion order."""

    def __init__(self, nodes: Iterable[Hashable] = ()) -> None:
        self._successors: dict[Any, dict[Any, None]] = {}
        for node in nodes:
            self.add_node(node)

    def add_node(self, node: Hashable) -> None:
        self._successors.setdefault(node, {})

    def add_edge(self, tail: Hashable, head: Hashable) -> None:
        self.add_node(tail)
        self.add_node(head)
        self._successors[tail][head] = None

    def __len__(self) -> int:
        return len(self._successors)

    def order(self, key: Callable[[Any], Any] | None = None) -> list[Any] | None:
        """Every node after all its predecessors, least ``key`` first; ``None`` on a cycle.

        O((n + e) log n).
        """
        rank = {node: index for index, node in enumerate(self._successors)}
        indegree = dict.fromkeys(self._successors, 0)
        for successors in self._successors.values():
            for head in successors:
                indegree[head] += 1

        def entry(node: Any) -> tuple[Any, int, Any]:
            return (node if key is None else key(node)), rank[node], node

        ready = [entry(node) for node, degree in indegree.items() if degree == 0]
        heapq.heapify(ready)
        ordered = []
        while ready:
            node = heapq.heappop(ready)[2]
            ordered.append(node)
            for head in self._successors[node]:
                indegree[head] -= 1
                if indegree[head] == 0:
                    heapq.heappush(ready, entry(head))
        return ordered if len(ordered) == len(self._successors) else None

    def cycle(self) -> list[Any] | None:
        """The first cycle found, as its nodes ``[a, b, ..., a]``; ``None`` if there is none.

        Iterative depth-first search, O(n + e).
        """
        done: set[Any] = set()
        for start in self._successors:
            if start in done:
                continue
            path = [start]
            on_path = {start}
            stack = [iter(self._successors[start])]
            while stack:
                head = next(stack[-1], _END)
                if head is _END:
                    stack.pop()
                    done.add(path[-1])
                    on_path.discard(path.pop())
                elif head in on_path:
                    return [*path[path.index(head) :], head]
                elif head not in done:
                    path.append(head)
                    on_path.add(head)
                    stack.append(iter(self._successors[head]))
        return None
