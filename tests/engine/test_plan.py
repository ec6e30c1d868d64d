"""Planning at scale: streaming regions match a plain reference, and large graphs plan.

``reference_units`` is the grouping as first written: before every merge it
rebuilds the whole unit graph with networkx and asks whether it is still
acyclic (O(n) per merge, O(n^2) in all). :func:`graphengine.plan.group_units`
must form exactly the same units, in the same order, with the same taps, on
random graphs of streaming and whole-signal nodes, cached or not.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphengine as ge
from graphengine.plan import (
    COMPUTE,
    Plan,
    Step,
    Unit,
    _streamable,
    add_cache_taps,
    compute_keys,
    group_units,
    make_plan,
)
from graphengine.validate import ValidGraph

SR = 8000
OUT = Path(tempfile.mkdtemp(prefix="graphengine-test-plan-"))


# -- the reference ---------------------------------------------------------------------


def _reference_cycle(groups: dict[str, int], valid: ValidGraph, merged: set[int]) -> bool:
    target = min(merged)
    graph = nx.DiGraph()
    for node_id, node in valid.nodes.items():
        here = target if groups.get(node_id) in merged else groups.get(node_id, node_id)
        graph.add_node(here)
        for refs in node.inputs.values():
            for ref in refs:
                there = target if groups.get(ref.node) in merged else groups.get(ref.node, ref.node)
                if there != here:
                    graph.add_edge(there, here)
    return not nx.is_directed_acyclic_graph(graph)


def reference_units(plan: Plan, *, cache_taps: bool) -> list[Unit]:
    """The grouping as first written (quadratic; fine for small graphs)."""
    valid = plan.valid
    groups: dict[str, int] = {}
    for index, step in enumerate(plan.steps):
        if _streamable(valid, step):
            groups[step.node_id] = index
    for step in plan.steps:
        if step.node_id not in groups:
            continue
        for refs in valid.nodes[step.node_id].inputs.values():
            for ref in refs:
                a, b = groups.get(ref.node), groups.get(step.node_id)
                if a is None or a == b or _reference_cycle(groups, valid, {a, b}):
                    continue
                for node_id, group in groups.items():
                    if group in (a, b):
                        groups[node_id] = min(a, b)
    units: dict[Any, Unit] = {}
    for step in plan.steps:
        group = groups.get(step.node_id)
        key = ("region", group) if group is not None else ("node", step.node_id)
        units.setdefault(key, Unit([], streaming=group is not None)).steps.append(step)
    owner = {step.node_id: key for key, unit in units.items() for step in unit.steps}
    position = {step.node_id: index for index, step in enumerate(plan.steps)}
    first = {key: min(position[s.node_id] for s in unit.steps) for key, unit in units.items()}
    order = nx.DiGraph()
    order.add_nodes_from(units)
    for step in plan.steps:
        for refs in valid.nodes[step.node_id].inputs.values():
            for ref in refs:
                if ref.node in owner and owner[ref.node] != owner[step.node_id]:
                    order.add_edge(owner[ref.node], owner[step.node_id])
    ordered = [units[k] for k in nx.lexicographical_topological_sort(order, key=first.get)]
    steps = {step.node_id: step for step in plan.steps}
    for unit in ordered:
        if unit.streaming:
            unit.taps = _reference_taps(plan, unit, steps, cache_taps)
    return ordered


def _reference_taps(plan: Plan, unit: Unit, steps: dict[str, Step], cache_taps: bool) -> set[str]:
    valid = plan.valid
    members = set(unit.node_ids)
    taps: set[str] = set()
    for node_id, node in valid.nodes.items():
        if node_id in members or steps.get(node_id) is None:
            continue
        if steps[node_id].action != COMPUTE:
            continue
        for refs in node.inputs.values():
            taps.update(ref.node for ref in refs if ref.node in members)
    taps.update(node_id for node_id in plan.wanted if node_id in members)
    taps = {t for t in taps if not valid.nodes[t].spec.is_sink}
    if cache_taps:  # the budget rule itself is not what this reference checks
        add_cache_taps(valid, unit.node_ids, taps)
    return taps


def shape(units: list[Unit]) -> list[tuple[list[str], bool, set[str]]]:
    return [(unit.node_ids, unit.streaming, unit.taps) for unit in units]


def plan_of(graph: ge.Graph, cached: set[str] = frozenset(), targets=None) -> Plan:  # type: ignore[assignment]
    valid = graph.validate()
    keys = compute_keys(valid, {})
    cached_keys = {keys[node_id].key for node_id in cached}
    return make_plan(
        valid,
        keys,
        targets=targets,
        is_cached=cached_keys.__contains__,
        sink_is_current=lambda node, key: False,
    )


# -- random graphs -----------------------------------------------------------------------

KINDS = ["tone", "silence", "gain", "gain", "mix", "mix", "reverse", "sink"]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[ge.Graph, set[str], list[str] | None]:
    """A random DAG of streaming and whole-signal nodes, some cached, some asked for."""
    graph = ge.Graph(sample_rate=SR)
    readable: list[str] = []
    for index in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(KINDS if readable else ["tone", "silence"]))
        node_id = f"{kind}{index}"
        pick = st.sampled_from(readable) if readable else st.nothing()
        if kind == "tone":
            graph.add(node_id, "source.tone", frequency=200.0 + index, duration_s=0.01)
        elif kind == "silence":
            graph.add(node_id, "source.silence", duration_s=0.005)
        elif kind == "gain":
            graph.add(node_id, "effect.gain", in_=draw(pick), gain_db=-1.0)
        elif kind == "reverse":
            graph.add(node_id, "effect.reverse", in_=draw(pick))
        elif kind == "mix":
            graph.add(node_id, "signal.mix", in_=draw(st.lists(pick, min_size=1, max_size=3)))
        else:
            graph.add(node_id, "sink.wav", in_=draw(pick), path=str(OUT / f"{node_id}.wav"))
        if kind != "sink":
            readable.append(node_id)
    cached = draw(st.sets(st.sampled_from(readable), max_size=3))
    targets = draw(st.none() | st.lists(st.sampled_from(readable), min_size=1, max_size=3))
    return graph, cached, targets


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.booleans())
def test_grouping_matches_the_reference(case, cache_taps: bool) -> None:
    graph, cached, targets = case
    plan = plan_of(graph, cached, targets)
    assert shape(group_units(plan, cache_taps=cache_taps)) == shape(
        reference_units(plan, cache_taps=cache_taps)
    )


def test_a_diamond_through_a_whole_signal_node_is_split() -> None:
    """osc feeds both a whole-signal node and the mix that reads it: no single region."""
    g = ge.Graph(sample_rate=SR)
    g.add("osc", "source.tone", frequency=300.0, duration_s=0.01)
    g.add("pre", "effect.gain", in_="osc", gain_db=-6.0)
    g.add("rev", "effect.reverse", in_="pre")
    g.add("post", "effect.gain", in_="rev", gain_db=-6.0)
    g.add("both", "signal.mix", in_=["osc", "post"])
    g.add("out", "sink.wav", in_="both", path=str(OUT / "diamond.wav"))
    plan = plan_of(g)
    units = group_units(plan, cache_taps=False)
    assert shape(units) == shape(reference_units(plan, cache_taps=False))
    assert [unit.node_ids for unit in units] == [["osc", "pre"], ["rev"], ["post", "both", "out"]]


# -- rendered samples against numpy ---------------------------------------------------------


def test_a_long_chain_renders_what_numpy_computes(tmp_path: Path) -> None:
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.tone", frequency=440.0, duration_s=0.05)
    previous = "src"
    for index in range(300):
        g.add(f"g{index}", "effect.gain", in_=previous, gain_db=0.01)
        previous = f"g{index}"
    g.add("out", "sink.wav", in_=previous, path=str(tmp_path / "chain.wav"), subtype="FLOAT")
    result = g.run(outputs=["src", previous, "out"], cache=tmp_path / "cache")
    gain = np.float32(10 ** (0.01 / 20))
    expected = result["src"].samples.copy()
    for _ in range(300):
        expected *= gain
    np.testing.assert_allclose(result[previous].samples, expected, rtol=1e-6)
    written, _ = sf.read(tmp_path / "chain.wav", dtype="float32", always_2d=True)
    np.testing.assert_allclose(written.T, expected, rtol=1e-6)


def test_a_wide_fan_in_renders_what_numpy_computes(tmp_path: Path) -> None:
    g = ge.Graph(sample_rate=SR)
    sources = [f"s{index}" for index in range(300)]
    for index, name in enumerate(sources):
        g.add(name, "source.tone", frequency=100.0 + index, duration_s=0.05, amplitude=0.001)
    g.add("mix", "signal.mix", in_=sources)
    g.add("out", "sink.wav", in_="mix", path=str(tmp_path / "fan.wav"), subtype="FLOAT")
    result = g.run(outputs=[*sources, "mix"], cache=tmp_path / "cache")
    expected = np.zeros_like(result["s0"].samples)
    for name in sources:
        expected += result[name].samples
    np.testing.assert_allclose(result["mix"].samples, expected, atol=1e-6)
    uncached = g.run(outputs=["mix"], cache=False)
    np.testing.assert_array_equal(uncached["mix"].samples, result["mix"].samples)


# -- scale ------------------------------------------------------------------------------------


def test_a_ten_thousand_node_chain_validates_and_plans_as_one_region() -> None:
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.tone", frequency=440.0, duration_s=0.01)
    previous = "src"
    for index in range(10_000):
        g.add(f"g{index}", "effect.gain", in_=previous, gain_db=-0.001)
        previous = f"g{index}"
    g.add("out", "sink.wav", in_=previous, path=str(OUT / "long.wav"))
    plan = plan_of(g)
    units = group_units(plan, cache_taps=True)
    members = [node_id for unit in units for node_id in unit.node_ids]
    assert len(members) == len(set(members)) == 10_002
    assert len(units) == 1 and units[0].streaming
    assert members == plan.valid.order


def test_a_ten_thousand_input_mix_plans_as_one_region() -> None:
    g = ge.Graph(sample_rate=SR)
    sources = [f"s{index}" for index in range(10_000)]
    for name in sources:
        g.add(name, "source.tone", frequency=440.0, duration_s=0.01)
    g.add("mix", "signal.mix", in_=sources)
    g.add("out", "sink.wav", in_="mix", path=str(OUT / "wide.wav"))
    units = group_units(plan_of(g), cache_taps=False)
    members = [node_id for unit in units for node_id in unit.node_ids]
    assert len(members) == len(set(members)) == 10_002
    assert len(units) == 1 and units[0].taps == set()
