"""Tests for graphengine.schema: the JSON Schema of graph files, generated from the registry.

The schema must accept every graph the engine accepts (the example graphs, the
good fixtures, sidecar trees, node docstring examples) and reject the mistakes
validation rejects, pointing at the node and key that are wrong.
"""

from __future__ import annotations

import copy
import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import graphengine as ge
from graphengine.registry import default_registry
from graphengine.schema import graph_schema
from support import REPO_ROOT as REPO

GRAPHS = REPO / "graphs"
GOOD = REPO / "tests" / "graphs" / "good"


def graph_files(folder: Path) -> list[Path]:
    """Graph files under ``folder``: .toml and .json, but not outputs' provenance sidecars."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".toml", ".json") or path.name.endswith(".graph.json"):
            continue
        if "out" in path.relative_to(folder).parts or ".graphengine-cache" in path.parts:
            continue
        if (path.parent / "model.json").exists() and (path.parent / "weights.msgpack").exists():
            continue  # a trained model's folder: its JSON files are not graphs
        found.append(path)
    return found


def read_tree(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(graph_schema(default_registry()))


def messages(validator: Draft202012Validator, tree: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(tree)
    ]


def error_paths(validator: Draft202012Validator, tree: Any) -> list[list[Any]]:
    return [list(e.absolute_path) for e in validator.iter_errors(tree)]


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = graph_schema(default_registry())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    types = {spec.type_id for spec in default_registry()}
    assert set(schema["$defs"]["node"]["properties"]["type"]["enum"]) == types | {"graph"}
    for spec in default_registry():
        properties = schema["$defs"][spec.type_id]["properties"]
        assert set(properties) == {"type"} | {p.name for p in spec.inputs} | {
            p.name for p in spec.params
        }


def test_the_schema_is_plain_json():
    schema = graph_schema(default_registry())
    assert json.loads(json.dumps(schema)) == schema


def test_there_are_example_graphs_to_check():
    assert GRAPHS / "demo.toml" in graph_files(GRAPHS)
    assert len(graph_files(GOOD)) >= 3


@pytest.mark.parametrize("path", graph_files(GRAPHS), ids=lambda p: str(p.relative_to(REPO)))
def test_every_example_graph_validates(validator, path):
    assert messages(validator, read_tree(path)) == []


@pytest.mark.parametrize("path", graph_files(GOOD), ids=lambda p: p.name)
def test_every_good_fixture_validates(validator, path):
    tree = read_tree(path)
    assert messages(validator, tree) == []
    if "inputs" not in tree:  # a sub-graph's exposed inputs are connected by its includer
        ge.load(path).validate()


def test_a_sidecar_tree_validates(validator, tmp_path):
    shutil.copy(GRAPHS / "demo.toml", tmp_path / "demo.toml")
    ge.load(tmp_path / "demo.toml").run({"duration_s": 0.25}, cache=False)
    sidecar = json.loads((tmp_path / "out" / "demo.wav.graph.json").read_text(encoding="utf-8"))
    assert messages(validator, sidecar["graph"]) == []
    assert messages(validator, sidecar) != []  # the provenance wrapper itself is not a graph tree


def test_a_builder_graph_tree_validates(validator):
    g = ge.Graph(sample_rate=48000, params={"f": 220.0, "g": [1.0, 0.5]})
    g.add("a", "source.tone", frequency="$f", duration_s=0.1)
    g.add("b", "source.noise", color="pink", channels=2, seed=4)
    g.add("m", "signal.mix", in_=["a", "b.out"], gains="$g")
    g.add("out", "sink.npy", in_="m", path="x.npy")
    assert messages(validator, g.to_dict()) == []


@pytest.mark.parametrize("type_id", [s.type_id for s in default_registry()])
def test_every_node_docstring_example_validates(validator, type_id):
    spec = default_registry().get(type_id)
    assert spec.example, f"{type_id} has no example"
    tree = tomllib.loads(spec.example)
    assert [table["type"] for table in tree["nodes"].values()] == [type_id]
    assert messages(validator, tree) == []


@pytest.mark.parametrize("type_id", [s.type_id for s in default_registry()])
def test_every_default_value_validates(validator, type_id):
    spec = default_registry().get(type_id)
    table: dict[str, Any] = {"type": type_id}
    for param in spec.params:
        if param.required:
            table[param.name] = {"input_path": "in.wav", "output_path": "out.wav"}.get(
                param.kind, "x"
            )
        else:
            table[param.name] = param.default
    assert messages(validator, {"nodes": {"n": table}}) == []


# -- rejections --------------------------------------------------------------------------

BASE = {
    "format": 1,
    "sample_rate": 44100,
    "params": {"level": -6.0},
    "nodes": {
        "osc": {"type": "source.tone", "frequency": "A3", "duration_s": 0.5},
        "g": {"type": "effect.gain", "in": "osc", "gain_db": -3.0},
        "out": {"type": "sink.wav", "in": "g", "path": "out.wav"},
    },
}


def changed(node: str, **values: Any) -> dict[str, Any]:
    tree = copy.deepcopy(BASE)
    tree["nodes"][node].update(values)
    return tree


def test_the_base_tree_is_valid(validator, tmp_path):
    assert messages(validator, BASE) == []
    tree = copy.deepcopy(BASE)
    tree["nodes"]["out"]["path"] = str(tmp_path / "out.wav")
    ge.load(tree).validate()


def with_node(node: str, table: dict[str, Any]) -> dict[str, Any]:
    return {**BASE, "nodes": {**BASE["nodes"], node: table}}


# (id, node, key, value, engine message): BASE with nodes.<node>.<key> = value, wrong at that key
VALUE_MISTAKES = [
    ("unknown-type", "g", "type", "effect.gainn", r"unknown node type 'effect\.gainn'"),
    ("wrong-type-number", "g", "gain_db", "loud", r"g\.gain_db.*expects a number"),
    ("wrong-type-int", "osc", "channels", True, r"osc\.channels.*expects an integer"),
    ("fractional-int", "osc", "channels", 1.5, r"osc\.channels.*expects an integer"),
    ("wrong-type-str", "out", "subtype", 24, r"out\.subtype.*expects a string"),
    ("not-a-choice", "out", "subtype", "PCM_32", r"out\.subtype.*'PCM_32' is not one of"),
    ("above-range", "g", "gain_db", 30.0, r"g\.gain_db.*out of range \[-120, 24\]"),
    ("below-range", "osc", "amplitude", -0.1, r"osc\.amplitude.*out of range \[0, 1\]"),
    ("negative-pitch", "osc", "frequency", -440.0, r"osc\.frequency"),
    ("not-a-whole-reference", "g", "gain_db", "$level extra", r"g\.gain_db.*expects a number"),
]

# id: (tree, the path the schema points at, engine message)
TREE_MISTAKES = {
    "unknown-parameter": (
        changed("g", gain_dB=-3.0),
        ["nodes", "g"],
        r"unknown parameter or port 'gain_dB'",
    ),
    "missing-required": (
        with_node("out", {"type": "sink.wav", "in": "g"}),
        ["nodes", "out"],
        r"out\.path.*is required",
    ),
    "missing-type": (with_node("g", {"in": "osc"}), ["nodes", "g"], r"every node needs a type"),
    "unknown-top-level-key": (
        {**BASE, "node": {}},
        [],
        r"unknown top-level key 'node' \(did you mean 'nodes'\?\)",
    ),
    "sample-rate-range": (
        {**BASE, "sample_rate": 0},
        ["sample_rate"],
        r"sample_rate must be a number of Hz",
    ),
    "format-version": ({**BASE, "format": 2}, ["format"], r"format 2 is not supported"),
    "bad-node-id": (
        with_node("a.b", {"type": "source.tone"}),
        ["nodes"],
        r"node id 'a\.b' may hold only",
    ),
}


@pytest.mark.parametrize(
    ("tree", "path", "engine_message"),
    [
        pytest.param(changed(node, **{key: value}), ["nodes", node, key], message, id=name)
        for name, node, key, value, message in VALUE_MISTAKES
    ]
    + [pytest.param(*case, id=name) for name, case in TREE_MISTAKES.items()],
)
def test_schema_and_engine_reject(validator, tmp_path, tree, path, engine_message):
    paths = error_paths(validator, tree)
    assert paths, "the schema accepted a bad tree"
    assert path in paths, messages(validator, tree)
    tree = copy.deepcopy(tree)
    if "path" in tree["nodes"].get("out", {}):
        tree["nodes"]["out"]["path"] = str(tmp_path / "out.wav")  # nothing written beside the repo
    with pytest.raises(ge.GraphError, match=engine_message):
        ge.load(tree).validate()


# -- $param references ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "key", "value"),
    [
        ("g", "gain_db", "$level"),  # float
        ("osc", "duration_s", "$dur"),  # float with a range
        ("osc", "channels", "$n"),  # int
        ("osc", "frequency", "$pitch"),  # pitch
        ("osc", "amplitude", "$level"),  # a reference is not range-checked by the schema
        ("out", "path", "renders/${take}.wav"),  # an embedded reference in a path
    ],
)
def test_param_references_are_accepted(validator, tmp_path, node, key, value):
    tree = changed(node, **{key: value})
    tree["params"] = {"level": 0.5, "dur": 0.25, "n": 2, "pitch": "C4", "take": "one"}
    assert messages(validator, tree) == []
    tree["nodes"]["out"]["path"] = str(tmp_path / tree["nodes"]["out"]["path"])
    ge.load(tree).validate()


def test_param_references_in_lists_bools_and_ports_are_accepted(validator, tmp_path):
    import numpy as np
    import soundfile as sf

    sf.write(str(tmp_path / "in.wav"), np.zeros((100, 2), dtype=np.float32), 44100)
    tree = {
        "params": {"g": 0.5, "gains": [1.0, 0.5], "src": "a", "mono": True, "seed": 9},
        "nodes": {
            "a": {"type": "source.tone", "duration_s": 0.1},
            "b": {"type": "source.noise", "duration_s": 0.1, "seed": "$seed"},
            "f": {"type": "source.file", "path": str(tmp_path / "in.wav"), "mono": "$mono"},
            "m": {"type": "signal.mix", "in": ["$src", "b"], "gains": ["$g", 0.5]},
            "n": {"type": "signal.mix", "in": ["a", "f"], "gains": "$gains"},
            "o": {"type": "sink.npy", "in": "$src", "path": str(tmp_path / "o.npy")},
        },
    }
    assert messages(validator, tree) == []
    valid = ge.load(tree).validate()
    assert valid.nodes["f"].params["mono"] is True
    assert [str(r) for r in valid.nodes["m"].inputs["in"]] == ["a.out", "b.out"]


@pytest.mark.parametrize(
    ("node", "key"),
    [("osc", "waveform"), ("out", "subtype")],
)
def test_param_references_are_accepted_for_choice_params(validator, tmp_path, node, key):
    tree = changed(node, **{key: "$choice"})
    tree["params"] = {"choice": "square" if key == "waveform" else "FLOAT"}
    tree["nodes"]["out"]["path"] = str(tmp_path / "out.wav")
    ge.load(tree).validate()  # the engine accepts it ...
    assert messages(validator, tree) == []  # ... so the schema must too


def test_a_reference_is_not_a_valid_node_type(validator):
    assert ["nodes", "g", "type"] in error_paths(validator, changed("g", type="$kind"))
