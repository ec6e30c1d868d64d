"""Fuzzing load and validation: whatever the graph, only a GraphError comes out.

Random graph trees (mostly real node types, port and parameter names, plus
junk; and chains of real nodes wired by port type with mostly plausible
values, to get deep into validation) go through
``graphengine.load(tree).validate(overrides)``; the same trees, written as TOML
or JSON text and then corrupted, go through ``graphfile.parse_text`` +
``from_tree`` + resolve + validate; and they are included as sub-graphs. Any
exception other than a :class:`graphengine.GraphError` is an engine bug.

Validation never writes files; the tests still run in ``tmp_path`` (graphs
loaded from dicts resolve relative paths against the current directory), with
copies of tests/graphs/bad/assets and sub/ there so that file sources and
sub-graphs can name real files.
"""

from __future__ import annotations

import json
import math
import shutil
import string
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphengine
from graphengine import graphfile
from graphengine.registry import default_registry
from graphengine.types import compatible
from graphengine.validate import validate

BAD = Path(__file__).resolve().parents[1] / "graphs" / "bad"
REGISTRY = default_registry()
SPECS = list(REGISTRY)
TYPES = [spec.type_id for spec in SPECS]
PORT_NAMES = sorted({p.name for s in SPECS for p in (*s.inputs, *s.outputs)})
PARAM_NAMES = sorted({p.name for s in SPECS for p in s.params})
CHOICES = sorted({str(c) for s in SPECS for p in s.params for c in p.choices or ()})
TOP_KEYS = ["format", "name", "sample_rate", "seed", "params", "inputs", "outputs", "nodes"]
IDS = ["a", "b", "osc", "out", "fx", "src", "fx/g", "mix"]
GRAPH_PARAMS = ["p", "q", "duration_s", "path"]

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Integers up to INT_BOUND: far beyond a float (JSON and tomllib read integers
# of any size).
INT_BOUND = 10**400
PITCH = r"[A-Ha-h][#bx♯♭]{0,2}-?[0-9]{1,6}([+-][0-9]{1,12}(\.[0-9]{0,2})?c)?( ?Hz)?"


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("assets", "sub"):
        shutil.copytree(BAD / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- strategies --------------------------------------------------------------------

node_ids = st.one_of(
    st.sampled_from(IDS),
    st.integers(-1, 2),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,6}", fullmatch=True),
    st.sampled_from(["", "1x", "a.b", "a b", "fx/", "/g", "ü", "$p", "a..b"]),
    st.text(max_size=6),
)
refs = st.one_of(
    st.sampled_from(IDS),
    st.builds(lambda n, p: f"{n}.{p}", st.sampled_from(IDS), st.sampled_from([*PORT_NAMES, "x"])),
    st.sampled_from(["", ".", "a.", ".out", "a.out.x", "fx/g.out", "nosuch"]),
)
strings = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["$p", "${p}", "$nosuch", "${nosuch}", "a${p}b", "$$", "$", "${", "$1", "$$p"]),
    st.from_regex(PITCH, fullmatch=True),
    st.sampled_from(["440 Hz", "1e999", "0 Hz", "-3", "nan", "inf"]),
    st.sampled_from(CHOICES),
    st.sampled_from(["assets/tiny.wav", "assets/notes.txt", "assets", "nosuch.wav"]),
    st.sampled_from(["assets/truncated.flac", "out/x.wav", "out/x.npy", "x.wav", "sub"]),
    st.sampled_from(["assets/notes.txt/o.wav", "out/a.wav", "~/x.wav", "sub/gain.toml"]),
    refs,
)
EDGE_NUMBERS = (0, 1, -1, 0.5, -0.0, 5e-324, 1e9, 1e308, -1e308, 44100, INT_BOUND, -INT_BOUND)
edge_numbers = st.sampled_from([*EDGE_NUMBERS, math.nan, math.inf, -math.inf])
numbers = st.one_of(
    st.integers(-INT_BOUND, INT_BOUND),
    st.integers(-3, 70),
    st.floats(),
    st.floats(-1e3, 1e5),
    edge_numbers,
)
scalars = st.one_of(st.none(), st.booleans(), numbers, strings)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["a", "type", "in", "x", *PARAM_NAMES]), inner, max_size=3),
    ),
    max_leaves=6,
)
node_keys = st.one_of(
    st.sampled_from(PORT_NAMES),
    st.sampled_from(PARAM_NAMES),
    st.sampled_from(["type", "path", "in", "gain_db", "gian_db"]),
    st.text(max_size=6),
)
table_keys = st.one_of(node_keys, st.integers(-1, 2))
types = st.one_of(
    st.sampled_from(TYPES),
    st.sampled_from(TYPES),
    st.just("graph"),
    st.sampled_from(["source.tne", "", "graph.x", "effect", "sink"]),
    st.integers(),
    st.none(),
)


@st.composite
def node_tables(draw: st.DrawFn) -> dict[str, Any]:
    table: dict[str, Any] = {}
    if draw(st.integers(0, 9)) < 9:
        table["type"] = draw(types)
    for key in draw(st.lists(table_keys, max_size=5)):
        if key == "type":
            continue
        table[key] = draw(refs if key in PORT_NAMES and draw(st.booleans()) else values)
    if table.get("type") == "graph" and draw(st.booleans()):
        table["path"] = draw(
            st.sampled_from(["sub/gain.toml", "sub/self.toml", "sub/ping.toml", "sub/broken.toml"])
        )
    return table


def _plausible(param: Any, node_id: str) -> st.SearchStrategy[Any]:
    """Values a user would write for this parameter, mostly valid ones."""
    if param.choices:
        return st.sampled_from(param.choices)
    if param.kind == "output_path":
        suffix = ".npy" if "npy" in node_id else ".wav"
        return st.sampled_from([f"out/{node_id}{suffix}", f"{node_id}{suffix}", "out/a.wav"])
    if param.kind == "input_path":
        return st.sampled_from(["assets/tiny.wav", "assets/truncated.flac", "assets/notes.txt"])
    if param.kind == "bool":
        return st.booleans()
    if param.kind == "str_list":
        return st.lists(st.sampled_from(CHOICES) | strings, max_size=4)
    if param.kind == "int_list":
        return st.lists(st.integers(-2, 12), max_size=4)
    if param.kind == "float_list":
        return st.lists(st.floats(-2, 2), max_size=4)
    if param.kind == "pitch":
        return st.one_of(st.from_regex(PITCH, fullmatch=True), st.floats(20, 3000))
    if param.kind in ("int", "float"):
        low, high = param.range or (None, None)
        low = 0 if low is None else low
        high = low + 10 if high is None else min(high, low + 10)
        if param.kind == "int":
            return st.integers(math.ceil(low), math.floor(high))
        return st.floats(low, high)
    return strings


def _rare(draw: st.DrawFn) -> bool:
    """True about one time in twenty (never for the simplest draw, which hypothesis favours)."""
    return draw(st.integers(0, 19)) == 19


def _pick(draw: st.DrawFn, plausible: st.SearchStrategy[Any]) -> Any:
    """Nine times in ten a plausible value, else an edge case or anything."""
    if _rare(draw):
        return draw(edge_numbers)
    if _rare(draw):
        return draw(values)
    return draw(plausible)


def _feeds(port: Any, kinds: dict[str, str]) -> list[str]:
    """References to earlier nodes' outputs whose type the port accepts."""
    found = []
    for node_id, kind in kinds.items():
        outputs = REGISTRY.get(kind).outputs
        for index, output in enumerate(outputs):
            if compatible(output.type, port.type):
                found.append(node_id if index == 0 else f"{node_id}.{output.name}")
    return found


@st.composite
def valid_node(draw: st.DrawFn, kinds: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    """A node of a real type wired to earlier outputs of the right type, mostly plausible values.

    ``kinds`` maps the earlier nodes' ids to their types; returns the new
    node's id, type and table (whose "type" a perturbation may have replaced).
    """
    buildable = [
        spec for spec in SPECS if all(port.optional or _feeds(port, kinds) for port in spec.inputs)
    ]
    spec = draw(st.sampled_from(buildable))
    node_id = f"n{len(kinds)}{'npy' if spec.type_id == 'sink.npy' else ''}"
    table: dict[str, Any] = {"type": spec.type_id}
    for port in spec.inputs:
        feeds = _feeds(port, kinds)
        if feeds and not _rare(draw):
            chosen = draw(st.lists(st.sampled_from(feeds), min_size=1, max_size=3))
            table[port.name] = chosen if port.variadic else chosen[0]
        elif draw(st.booleans()):
            table[port.name] = draw(st.one_of(refs, values))
    for param in spec.params:
        if param.required or draw(st.booleans()):
            table[param.name] = _pick(draw, _plausible(param, node_id))
    if _rare(draw):
        table[draw(node_keys)] = draw(values)
    return node_id, spec.type_id, table


@st.composite
def near_valid_trees(draw: st.DrawFn) -> dict[str, Any]:
    """A chain of real nodes, each wired to earlier ones: deep into validation."""
    tree: dict[str, Any] = {"format": 1, "sample_rate": draw(st.sampled_from([8000, 44100]))}
    if draw(st.booleans()):
        tree["params"] = {"p": draw(values), "duration_s": draw(st.floats(0, 2))}
    nodes: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    for _ in range(draw(st.integers(1, 7))):
        node_id, kind, table = draw(valid_node(kinds))
        nodes[node_id] = table
        kinds[node_id] = kind
    if draw(st.integers(0, 4)) == 4:
        nodes["fx"] = {"type": "graph", "path": "sub/gain.toml", "in": "n0"}
        if draw(st.booleans()):
            nodes["fx"][draw(st.sampled_from(["gain_db", "gian_db", "out"]))] = draw(values)
    if "params" in tree and draw(st.booleans()):  # refer to the graph parameters
        target = draw(st.sampled_from(sorted(kinds)))
        names = [p.name for p in REGISTRY.get(kinds[target]).params]
        if names:
            key = draw(st.sampled_from(names))
            nodes[target][key] = draw(st.sampled_from(["$duration_s", "$p", "x${p}", "$nope"]))
    tree["nodes"] = nodes
    return tree


@st.composite
def random_trees(draw: st.DrawFn) -> dict[str, Any]:
    """Anything shaped roughly like a graph tree, and sometimes not at all."""
    tree: dict[str, Any] = {}
    keys = draw(st.lists(st.sampled_from(TOP_KEYS), max_size=8, unique=True))
    if draw(st.integers(0, 5)) == 5:
        keys.append(draw(st.text(max_size=8)))
    for key in keys:
        if key == "format":
            tree[key] = draw(st.one_of(st.just(1), st.just(1), values))
        elif key == "sample_rate":
            tree[key] = draw(st.one_of(st.sampled_from([8000, 44100, 48000.0]), values))
        elif key == "seed":
            tree[key] = draw(st.one_of(st.integers(0, 2**32), values))
        elif key == "params":
            tree[key] = draw(
                st.one_of(
                    st.dictionaries(st.sampled_from(GRAPH_PARAMS), values, max_size=3),
                    st.dictionaries(st.text(max_size=4) | st.integers(0, 2), values, max_size=2),
                    values,
                )
            )
        elif key in ("inputs", "outputs"):
            tree[key] = draw(
                st.one_of(st.dictionaries(st.sampled_from(["in", "out", "x"]), refs), values)
            )
        elif key == "nodes":
            tree[key] = draw(
                st.one_of(
                    st.dictionaries(node_ids, node_tables(), max_size=5),
                    st.dictionaries(node_ids, values, max_size=2),
                    values,
                )
            )
        else:
            tree[key] = draw(values)
    if draw(st.integers(0, 20)) == 20:  # a provenance sidecar wraps the graph it ran
        tree = {"provenance": draw(values), "graph": draw(st.just(tree) | values)}
    return tree


trees = st.one_of(near_valid_trees(), random_trees())
overrides = st.dictionaries(
    st.one_of(
        st.sampled_from(GRAPH_PARAMS),
        st.builds(lambda n, k: f"{n}.{k}", st.sampled_from([*IDS, "n0", "n1"]), node_keys),
        st.text(max_size=5),
        st.integers(0, 2),
    ),
    values,
    max_size=2,
)


# -- checks -------------------------------------------------------------------------


def _check_error(error: graphengine.GraphError) -> None:
    """A GraphError must print: a message, and for several errors a header plus each one."""
    text = str(error)
    assert text.strip()
    if isinstance(error, graphengine.GraphValidationError):
        assert len(error.errors) >= 2
        assert all(e.line().strip() for e in error.errors)
        assert text.startswith(f"{error.file}: " if error.file else error.message)


def _load_and_validate(tree: Any, params: dict[str, Any]) -> None:
    try:
        graphengine.load(tree).validate(params)
    except graphengine.GraphError as error:
        _check_error(error)


@FUZZ
@given(tree=trees, params=overrides)
def test_load_and_validate_raise_only_graph_errors(
    in_tmp: Path, tree: dict[str, Any], params: dict[str, Any]
) -> None:
    _load_and_validate(tree, params)


@FUZZ
@given(tree=near_valid_trees())
def test_near_valid_graphs_raise_only_graph_errors(in_tmp: Path, tree: dict[str, Any]) -> None:
    _load_and_validate(tree, {})


# -- text, corrupted -----------------------------------------------------------------


def _toml_safe(value: Any) -> Any:
    """Drop what TOML cannot hold (None; keys that are not strings)."""
    if isinstance(value, dict):
        return {str(k): _toml_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_toml_safe(v) for v in value if v is not None]
    return value


def _as_text(tree: dict[str, Any], suffix: str) -> str:
    if suffix == ".json":
        return json.dumps(tree)
    return tomli_w.dumps(_toml_safe(tree))


CORRUPTION_CHARS = string.printable + "ü\x00\ufeff\u2028"
corruptions = st.lists(
    st.tuples(
        st.sampled_from(["truncate", "insert", "delete", "replace"]),
        st.floats(0, 1),
        st.text(alphabet=CORRUPTION_CHARS, min_size=1, max_size=4),
    ),
    min_size=1,
    max_size=3,
)


def _corrupt(text: str, edits: list[tuple[str, float, str]]) -> str:
    for kind, where, chars in edits:
        at = math.floor(where * len(text))
        if kind == "truncate":
            text = text[:at]
        elif kind == "insert":
            text = text[:at] + chars + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + len(chars) :]
        else:
            text = text[:at] + chars + text[at + len(chars) :]
    return text


@FUZZ
@given(tree=trees, suffix=st.sampled_from([".toml", ".json"]), edits=corruptions)
def test_corrupted_text_raises_only_graph_errors(
    in_tmp: Path, tree: dict[str, Any], suffix: str, edits: list[tuple[str, float, str]]
) -> None:
    text = _corrupt(_as_text(tree, suffix), edits)
    file = in_tmp / f"fuzz{suffix}"
    try:
        parsed = graphfile.parse_text(text, file=str(file), suffix=suffix)
        document = graphfile.from_tree(parsed, path=file)
        resolved = graphfile.resolve(document, REGISTRY)
        validate(resolved, REGISTRY)
    except graphengine.GraphError as error:
        _check_error(error)
        if isinstance(error, graphengine.GraphFileError) and error.lineno is not None:
            assert str(error).startswith(f"{file}:{error.lineno}:")


# -- sub-graphs made of random trees -------------------------------------------------


@FUZZ
@given(
    sub=trees,
    keys=st.dictionaries(
        st.one_of(node_keys, st.sampled_from(["in", "p", "gain_db"])), values, max_size=4
    ),
    port=st.sampled_from(["fx", "fx.out", "fx.in", "fx.x"]),
)
def test_random_sub_graphs_raise_only_graph_errors(
    in_tmp: Path, sub: dict[str, Any], keys: dict[str, Any], port: str
) -> None:
    (in_tmp / "rand.json").write_text(json.dumps(sub), encoding="utf-8")
    fx = {key: value for key, value in keys.items() if key not in ("type", "path")}
    tree = {
        "nodes": {
            "src": {"type": "source.tone", "duration_s": 0.01},
            "fx": {**fx, "type": "graph", "path": "rand.json"},
            "out": {"type": "sink.npy", "in": port, "path": "out/o.npy"},
        }
    }
    _load_and_validate(tree, {})


# -- regressions: bugs the fuzzing found that only the Python API reaches ------------


@pytest.mark.skipif("effect.reverb" not in REGISTRY, reason="needs effect.reverb")
def test_unset_optional_file_parameter_validates(in_tmp: Path) -> None:
    graph = graphengine.load(
        {
            "nodes": {
                "osc": {"type": "source.tone", "duration_s": 0.1},
                "room": {"type": "effect.reverb", "in": "osc"},
                "out": {"type": "sink.wav", "in": "room", "path": "out/room.wav"},
            }
        }
    )
    assert graph.validate().order == ["osc", "room", "out"]


NON_STRING_KEYS = {
    "node-id": ({"nodes": {1: {"type": "source.tone"}}}, {}),
    "graph-param": ({"params": {1: 2}, "nodes": {"a": {"type": "source.tone"}}}, {}),
    "node-key": ({"nodes": {"a": {"type": "source.tone", 1: 2}}}, {}),
    "override": ({"nodes": {"a": {"type": "source.tone"}}}, {1: 2}),
}


@pytest.mark.parametrize(("tree", "params"), NON_STRING_KEYS.values(), ids=NON_STRING_KEYS)
def test_non_string_keys_are_graph_errors(
    in_tmp: Path, tree: dict[Any, Any], params: dict[Any, Any]
) -> None:
    with pytest.raises(graphengine.GraphError, match="key 1 is not a string"):
        graphengine.load(tree).validate(params)


def test_provenance_without_a_graph_table_is_a_graph_error(in_tmp: Path) -> None:
    with pytest.raises(graphengine.GraphError, match="'graph' must be a table"):
        graphengine.load({"provenance": {}, "graph": 5}).validate()
