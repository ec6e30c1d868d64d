"""Tests for graph files: TOML/JSON loading and saving, ``$param`` substitution,
overrides, relative paths, sub-graphs, results and provenance sidecars.

Every render writes into ``tmp_path`` and is checked by reading the files back
with soundfile (FLOAT WAVs, so samples compare exactly).
"""

from __future__ import annotations

import json
import shutil
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import tomli_w

import graphengine as ge
from graphengine import graphfile
from graphengine.registry import default_registry
from support import GAIN_SUBGRAPH, REPO_ROOT

DEMO = REPO_ROOT / "graphs" / "demo.toml"
RATE = 22050


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


TONE = {"type": "source.tone", "duration_s": 0.1}
TRIANGLE = {
    "type": "source.tone",
    "waveform": "triangle",
    "frequency": 330.0,
    "duration_s": 0.5,
    "channels": 2,
}


def float_wav(source: str, path: str) -> dict[str, Any]:
    """A ``sink.wav`` table writing ``source`` to ``path`` as 32-bit float."""
    return {"type": "sink.wav", "in": source, "path": path, "subtype": "FLOAT"}


def graph_toml(nodes: dict[str, dict[str, Any]], **top: Any) -> str:
    """Graph file text at RATE: ``top`` (format, params, inputs...) and ``nodes``."""
    return tomli_w.dumps({"sample_rate": RATE, **top, "nodes": nodes})


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Samples shaped (channels, frames) and the rate of a WAV file."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), rate


def resolve(document: ge.Graph, overrides: dict | None = None):
    return graphfile.resolve(document, default_registry(), overrides)


def db(gain_db: float) -> float:
    return 10.0 ** (gain_db / 20.0)


# -- TOML and JSON ------------------------------------------------------------------

TREE_TOML = """\
format = 1
name = "pair"
sample_rate = 22050
seed = 5

[params]
level = -6.0
gains = [0.5, 0.25]
label = "take"

[inputs]
in = "g.in"

[outputs]
out = "m"
dry = "g.out"

[nodes.g]
type = "effect.gain"
gain_db = "$level"

[nodes.t]
type = "source.tone"
frequency = "A3"
duration_s = 0.25
channels = 2

[nodes.m]
type = "signal.mix"
in = ["g", "t.out"]
gains = "$gains"
"""

TREE_JSON = """\
{
  "format": 1,
  "name": "pair",
  "sample_rate": 22050,
  "seed": 5,
  "params": {"level": -6.0, "gains": [0.5, 0.25], "label": "take"},
  "inputs": {"in": "g.in"},
  "outputs": {"out": "m", "dry": "g.out"},
  "nodes": {
    "g": {"type": "effect.gain", "gain_db": "$level"},
    "t": {"type": "source.tone", "frequency": "A3", "duration_s": 0.25, "channels": 2},
    "m": {"type": "signal.mix", "in": ["g", "t.out"], "gains": "$gains"}
  }
}
"""


def test_toml_and_json_of_the_same_tree_load_to_equal_documents(tmp_path):
    from_toml = ge.load(write(tmp_path / "pair.toml", TREE_TOML))
    from_json = ge.load(write(tmp_path / "pair.json", TREE_JSON))
    assert from_toml == from_json
    assert from_toml.to_dict() == from_json.to_dict() == json.loads(TREE_JSON)
    assert from_toml.params["gains"] == [0.5, 0.25]
    assert from_toml.nodes["m"]["in"] == ["g", "t.out"]
    assert from_toml.inputs == {"in": "g.in"}
    assert from_toml.outputs == {"out": "m", "dry": "g.out"}
    assert (from_toml.sample_rate, from_toml.seed, from_toml.name) == (22050, 5, "pair")


def test_demo_as_json_loads_equal_to_the_toml(tmp_path):
    tree = tomllib.loads(DEMO.read_text(encoding="utf-8"))
    json_path = tmp_path / "demo.json"
    json_path.write_text(json.dumps(tree), encoding="utf-8")
    from_toml, from_json = ge.load(DEMO), ge.load(json_path)
    assert from_toml == from_json
    assert from_json.to_dict() == tree
    assert list(from_json.nodes) == list(from_toml.nodes)


def test_a_document_differing_in_one_value_is_not_equal(tmp_path):
    first = ge.load(write(tmp_path / "a.toml", TREE_TOML))
    second = ge.load(
        write(tmp_path / "b.toml", TREE_TOML.replace("duration_s = 0.25", "duration_s = 0.5"))
    )
    assert first != second


# -- saving ---------------------------------------------------------------------------


def builder_graph(out_dir: Path) -> ge.Graph:
    g = ge.Graph(
        sample_rate=44100,
        name="built",
        seed=11,
        params={
            "level": -6.0,
            "gains": [0.5, 0.25],
            "freq": 220,
            "label": "take",
            "stereo": 2,
        },
    )
    g.add("a", "source.tone", frequency="$freq", duration_s=0.1, channels="$stereo")
    g.add("b", "source.tone", frequency="A4", waveform="square", duration_s=0.1)
    g.add("n", "source.noise", color="pink", duration_s=0.1, amplitude=0.05)
    g.add("m", "signal.mix", gains=["$level", 0.25, 0.125])
    g.connect("a", "m.in")
    g.connect("b.out", "m.in")
    g.connect("n", "m.in")
    g.add("gain", "effect.gain", in_="m", gain_db="$level")
    g.add("out", "sink.wav", in_="gain", path=str(out_dir / "${label}-$$1.wav"), subtype="FLOAT")
    return g


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_save_and_load_round_trip_of_a_builder_graph(tmp_path, suffix):
    g = builder_graph(tmp_path)
    path = g.save(tmp_path / f"built{suffix}")
    assert path == tmp_path / f"built{suffix}"
    loaded = ge.load(path)
    assert isinstance(loaded, ge.Graph)
    assert loaded == g
    assert loaded.to_dict() == g.to_dict()
    nodes = loaded.to_dict()["nodes"]
    assert nodes["m"]["in"] == ["a", "b.out", "n"]
    assert nodes["m"]["gains"] == ["$level", 0.25, 0.125]
    assert nodes["a"]["frequency"] == "$freq"
    assert nodes["out"]["path"].endswith("${label}-$$1.wav")
    assert loaded.params == {
        "level": -6.0,
        "gains": [0.5, 0.25],
        "freq": 220,
        "label": "take",
        "stereo": 2,
    }
    # the text on disk is plain TOML / JSON holding the same tree
    text = path.read_text(encoding="utf-8")
    tree = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    assert tree == g.to_dict()


def test_saved_graph_renders_the_same_samples_as_the_builder(tmp_path):
    g = builder_graph(tmp_path / "a")
    g.run(cache=False)
    saved = ge.load(g.save(tmp_path / "built.toml"))
    saved.set("out", path=str(tmp_path / "b" / "${label}-$$1.wav"))
    saved.run(cache=False)
    first, rate_a = read_wav(tmp_path / "a" / "take-$1.wav")
    second, rate_b = read_wav(tmp_path / "b" / "take-$1.wav")
    assert rate_a == rate_b == 44100
    assert first.shape == (2, 4410)
    assert np.sqrt(np.mean(first**2)) > 0.01
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_saving_a_value_the_format_cannot_hold_is_a_graph_error(tmp_path, suffix):
    g = ge.Graph(sample_rate=RATE)
    g.add("t", "source.tone", duration_s=0.1)
    g.add("out", "sink.wav", in_="t", path="t.wav", subtype={"PCM_16"})  # a set
    with pytest.raises(ge.GraphError, match="cannot write this graph"):
        g.save(tmp_path / f"g{suffix}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_builder_paths_are_saved_as_strings(tmp_path, suffix):
    g = ge.Graph(sample_rate=RATE)
    g.add("t", "source.tone", duration_s=0.1)
    g.add("out", "sink.wav", in_="t", path=tmp_path / "t.wav")  # a Path, not a str
    saved = g.save(tmp_path / f"g{suffix}")
    assert ge.load(saved).nodes["out"]["path"] == str(tmp_path / "t.wav")


def test_save_refuses_other_suffixes(tmp_path):
    with pytest.raises(ge.GraphError, match=r"must end in \.toml or \.json"):
        builder_graph(tmp_path).save(tmp_path / "built.yaml")
    assert not (tmp_path / "built.yaml").exists()


# -- $param substitution --------------------------------------------------------------


SUB_PARAMS = {
    "freq": 330,
    "dur": 0.5,
    "ch": 1,
    "gains": [],
    "level": -6.0,
    "path": "x.wav",
    "fmt": "FLOAT",
}


def substitution_graph(params: dict) -> ge.Graph:
    g = ge.Graph(sample_rate=RATE, params=params)
    g.add("t", "source.tone", frequency="$freq", duration_s="$dur", channels="$ch")
    g.add("m", "signal.mix", in_=["t"], gains="$gains")
    g.add("g", "effect.gain", in_="m", gain_db="$level")
    g.add("out", "sink.wav", in_="g", path="$path", subtype="$fmt")
    return g


def test_whole_value_reference_keeps_the_type():
    params = {
        "freq": 330,
        "dur": 0.5,
        "ch": 2,
        "gains": [0.5],
        "level": -6.5,
        "path": "x.wav",
        "fmt": "FLOAT",
    }
    nodes = resolve(substitution_graph(params)).nodes
    assert nodes["t"].params == {"frequency": 330, "duration_s": 0.5, "channels": 2}
    assert type(nodes["t"].params["frequency"]) is int
    assert type(nodes["t"].params["channels"]) is int
    assert type(nodes["t"].params["duration_s"]) is float
    assert nodes["m"].params["gains"] == [0.5]
    assert isinstance(nodes["m"].params["gains"], list)
    assert nodes["g"].params["gain_db"] == -6.5
    assert nodes["out"].params == {"path": "x.wav", "subtype": "FLOAT"}


def test_references_inside_lists_are_substituted():
    g = ge.Graph(sample_rate=RATE, params={"a": 0.75, "b": 2})
    g.add("t", "source.tone", duration_s=0.1)
    g.add("m", "signal.mix", in_=["t", "t"], gains=["$a", 0.5, "$b"])
    assert resolve(g).nodes["m"].params["gains"] == [0.75, 0.5, 2]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("renders/${label}.wav", "renders/take.wav"),
        ("${label}-${n}-${x}.wav", "take-3-0.5.wav"),
        ("cost$$5.wav", "cost$5.wav"),
        ("$${label}.wav", "${label}.wav"),
        ("$$label", "$label"),
        ("$$$${label}", "$${label}"),
        ("a$$${label}.wav", "a$take.wav"),
        ("plain.wav", "plain.wav"),
    ],
)
def test_embedded_references_and_literal_dollars(template, expected):
    g = ge.Graph(sample_rate=RATE, params={"label": "take", "n": 3, "x": 0.5})
    g.add("t", "source.tone", duration_s=0.1)
    g.add("out", "sink.wav", in_="t", path=template)
    assert resolve(g).nodes["out"].params["path"] == expected


def test_a_port_reference_can_come_from_a_parameter(tmp_path):
    g = ge.Graph(sample_rate=RATE, params={"which": "low"})
    g.add("low", "source.tone", frequency=110.0, duration_s=0.1)
    g.add("high", "source.tone", frequency=880.0, duration_s=0.1)
    g.add("pick", "effect.gain", in_="$which")
    low = g.run(outputs=["pick", "low", "high"], cache=False)
    high = g.run({"which": "high"}, outputs=["pick", "high"], cache=False)
    np.testing.assert_array_equal(low["pick"].samples, low["low"].samples)
    np.testing.assert_array_equal(high["pick"].samples, high["high"].samples)
    assert not np.array_equal(low["low"].samples, low["high"].samples)


def test_an_undefined_reference_is_an_error_naming_node_and_param():
    g = substitution_graph({**{k: v for k, v in SUB_PARAMS.items() if k != "level"}, "lvl": -3.0})
    with pytest.raises(
        ge.GraphError,
        match=r"g\.gain_db.*undefined graph parameter \$level \(did you mean 'lvl'\?\)",
    ):
        resolve(g)


# -- overrides --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x=1e3", ("x", 1000.0)),
        ("x=true", ("x", True)),
        ("x=false", ("x", False)),
        ("x=[1, 2]", ("x", [1, 2])),
        ("x=[0.5, 'a']", ("x", [0.5, "a"])),
        ("x=hello", ("x", "hello")),
        ("x='A4'", ("x", "A4")),
        ('x="1e3"', ("x", "1e3")),
        ("x=A4", ("x", "A4")),
        ("x=-6", ("x", -6)),
        ("x=0.25", ("x", 0.25)),
        ("master.gain_db = -6", ("master.gain_db", -6)),
        ("fx/g.gain_db=-3.5", ("fx/g.gain_db", -3.5)),
        ("out.path=a=b.wav", ("out.path", "a=b.wav")),
        ("noise.color=brown", ("noise.color", "brown")),
    ],
)
def test_parse_override_reads_toml_literals(text, expected):
    key, value = graphfile.parse_override(text)
    assert (key, value) == expected
    assert type(value) is type(expected[1])


@pytest.mark.parametrize("text", ["novalue", "=3", " = 3"])
def test_parse_override_needs_key_and_value(text):
    with pytest.raises(ge.GraphError, match="expected key=value"):
        graphfile.parse_override(text)


def test_overrides_of_graph_and_node_parameters():
    params = {**SUB_PARAMS, "gains": [1.0]}
    g = substitution_graph(params)
    overrides = dict(
        graphfile.parse_override(s)
        for s in [
            "level=-12",
            "t.waveform=saw",
            "dur=1e-1",
            "m.gains=[0.5]",
            "out.subtype='PCM_16'",
        ]
    )
    resolved = resolve(g, overrides)
    assert resolved.nodes["g"].params["gain_db"] == -12
    assert resolved.nodes["t"].params["waveform"] == "saw"
    assert resolved.nodes["t"].params["duration_s"] == 0.1
    assert resolved.nodes["m"].params["gains"] == [0.5]
    assert resolved.nodes["out"].params["subtype"] == "PCM_16"
    assert resolved.params["level"] == -12
    # the document itself is not changed by a resolve with overrides
    assert g.params == params
    assert resolve(g).nodes["g"].params["gain_db"] == -6.0


def test_a_node_override_may_hold_a_reference():
    g = substitution_graph(SUB_PARAMS)
    assert resolve(g, {"t.duration_s": "$dur"}).nodes["t"].params["duration_s"] == 0.5


def test_overrides_change_the_rendered_samples(tmp_path):
    g = ge.Graph(sample_rate=RATE, params={"level": 0.0})
    g.add("t", "source.tone", frequency=441.0, duration_s=0.2)
    g.add("g", "effect.gain", in_="t", gain_db="$level")
    plain = g.run(outputs=["g", "t"], cache=False)
    np.testing.assert_array_equal(plain["g"].samples, plain["t"].samples)
    quiet = g.run({"level": -12.0}, outputs=["g"], cache=False)
    np.testing.assert_allclose(
        quiet["g"].samples, plain["t"].samples * db(-12.0), rtol=1e-6, atol=1e-9
    )
    saw = g.run({"t.waveform": "saw"}, outputs=["g"], cache=False)
    assert not np.allclose(saw["g"].samples, plain["g"].samples, atol=1e-3)


def test_an_unknown_graph_parameter_override_is_an_error():
    g = substitution_graph(SUB_PARAMS)
    with pytest.raises(
        ge.GraphError, match=r"--set levl: unknown graph parameter \(did you mean 'level'\?\)"
    ):
        resolve(g, {"levl": 1.0})


def test_an_override_of_an_unknown_node_is_an_error():
    g = substitution_graph(SUB_PARAMS)
    with pytest.raises(
        ge.GraphError, match=r"--set gg\.gain_db: no node 'gg' \(did you mean 'g'\?\)"
    ):
        resolve(g, {"gg.gain_db": 1.0})


# -- relative paths -----------------------------------------------------------------------


def test_relative_paths_resolve_against_the_graph_files_folder(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    source = (rng.uniform(-0.5, 0.5, size=(2, 3000))).astype(np.float32)
    folder = tmp_path / "sub"
    folder.mkdir()
    sf.write(str(folder / "in.wav"), source.T, RATE, subtype="FLOAT")
    nodes = {"src": {"type": "source.file", "path": "in.wav"}}
    nodes["out"] = float_wav("src", "renders/copy.wav")
    graph = write(folder / "copy.toml", graph_toml(nodes))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = ge.load(Path("..") / "sub" / "copy.toml").run(cache=False)
    assert result.outputs == [folder / "renders" / "copy.wav"]
    samples, rate = read_wav(folder / "renders" / "copy.wav")
    assert rate == RATE
    np.testing.assert_array_equal(samples, source)
    assert list(elsewhere.iterdir()) == []
    assert graph.exists()


def test_builder_graph_paths_resolve_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    g = ge.Graph(sample_rate=RATE)
    g.add("t", "source.tone", duration_s=0.1)
    g.add("out", "sink.wav", in_="t", path="here/t.wav")
    result = g.run(cache=False)
    assert result.outputs == [tmp_path / "here" / "t.wav"]
    samples, rate = read_wav(tmp_path / "here" / "t.wav")
    assert samples.shape == (1, round(0.1 * RATE)) and rate == RATE


# -- sub-graphs ----------------------------------------------------------------------------

FX = """\
format = 1
name = "fx"

[params]
gain_db = -6.0

""" + GAIN_SUBGRAPH.format(gain_db='"$gain_db"')


def parent_text(
    fx: dict[str, Any] | None = None, *, out: str = "sub.wav", path: str = "fx.toml"
) -> str:
    """A triangle tone through the sub-graph ``path`` (node ``fx``, its table given ``fx``)."""
    fx = {"gain_db": "$level"} if fx is None else fx
    nodes = {
        "src": TRIANGLE,
        "fx": {"type": "graph", "path": path, "in": "src", **fx},
        "out": float_wav("fx", out),
    }
    return graph_toml(nodes, format=1, params={"level": -12.0})


def flat_text(gain_db: float, out: str = "flat.wav") -> str:
    """What :func:`parent_text` renders, with the gain inline."""
    gain = {"type": "effect.gain", "in": "src", "gain_db": gain_db}
    return graph_toml({"src": TRIANGLE, "g": gain, "out": float_wav("g", out)}, format=1)


@pytest.fixture
def subgraph_dir(tmp_path: Path) -> Path:
    write(tmp_path / "fx.toml", FX)
    write(tmp_path / "parent.toml", parent_text())
    return tmp_path


def render_flat(folder: Path, gain_db: float) -> np.ndarray:
    name = f"flat{gain_db:+g}"
    ge.load(write(folder / f"{name}.toml", flat_text(gain_db, f"{name}.wav"))).run(cache=False)
    return read_wav(folder / f"{name}.wav")[0]


def test_a_subgraph_renders_the_same_samples_as_the_flat_graph(subgraph_dir):
    result = ge.load(subgraph_dir / "parent.toml").run(cache=False)
    assert [s.node for s in result.stats] == ["src", "fx/g", "out"]
    assert {s.node: s.type for s in result.stats}["fx/g"] == "effect.gain"
    nested, rate = read_wav(subgraph_dir / "sub.wav")
    flat = render_flat(subgraph_dir, -12.0)
    assert rate == RATE and nested.shape == (2, RATE // 2)
    np.testing.assert_array_equal(nested, flat)
    # the gain really was applied: -12 dB from the tone
    tone = ge.load(subgraph_dir / "parent.toml").run(outputs=["src"], cache=False)["src"].samples
    assert np.max(np.abs(tone)) > 0.4
    np.testing.assert_allclose(nested, tone * db(-12.0), rtol=1e-6, atol=1e-9)


def test_a_subgraph_parameter_defaults_to_the_subgraphs_own_value(subgraph_dir):
    write(subgraph_dir / "parent.toml", parent_text(fx={}))
    ge.load(subgraph_dir / "parent.toml").run(cache=False)
    np.testing.assert_array_equal(
        read_wav(subgraph_dir / "sub.wav")[0], render_flat(subgraph_dir, -6.0)
    )


def test_a_subgraph_parameter_is_passed_from_the_parent_node_table(subgraph_dir):
    write(subgraph_dir / "parent.toml", parent_text(fx={"gain_db": -20.0}))
    ge.load(subgraph_dir / "parent.toml").run(cache=False)
    np.testing.assert_array_equal(
        read_wav(subgraph_dir / "sub.wav")[0], render_flat(subgraph_dir, -20.0)
    )


def test_a_parent_parameter_override_reaches_the_subgraph(subgraph_dir):
    ge.load(subgraph_dir / "parent.toml").run({"level": -18.0}, cache=False)
    np.testing.assert_array_equal(
        read_wav(subgraph_dir / "sub.wav")[0], render_flat(subgraph_dir, -18.0)
    )


@pytest.mark.parametrize("key", ["fx/g.gain_db", "fx.gain_db"])
def test_an_override_of_a_node_inside_a_subgraph(subgraph_dir, key):
    result = ge.load(subgraph_dir / "parent.toml").run({key: -3.0}, cache=False)
    assert result.computed == ["src", "fx/g", "out"]
    np.testing.assert_array_equal(
        read_wav(subgraph_dir / "sub.wav")[0], render_flat(subgraph_dir, -3.0)
    )


def test_a_named_subgraph_output_and_an_exposed_input_list(tmp_path):
    write(
        tmp_path / "split.toml",
        """\
        [params]
        db = 0.0
        [inputs]
        x = ["a.in", "b.in"]
        [outputs]
        out = "m"
        left = "a.out"
        [nodes.a]
        type = "effect.gain"
        gain_db = "$db"
        [nodes.b]
        type = "effect.gain"
        gain_db = -6.0
        [nodes.m]
        type = "signal.mix"
        in = ["a", "b"]
        """,
    )
    nodes = {"src": TONE, "s": {"type": "graph", "path": "split.toml", "x": "src", "db": -12.0}}
    nodes["main"] = {"type": "effect.gain", "in": "s"}
    nodes["side"] = {"type": "effect.gain", "in": "s.left"}
    write(tmp_path / "top.toml", graph_toml(nodes))
    result = ge.load(tmp_path / "top.toml").run(outputs=["main", "side", "src"], cache=False)
    src = result["src"].samples
    np.testing.assert_allclose(result["side"].samples, src * db(-12.0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        result["main"].samples, src * (db(-12.0) + db(-6.0)), rtol=1e-5, atol=1e-7
    )
    assert {s.node for s in result.stats} == {"src", "s/a", "s/b", "s/m", "main", "side"}


def test_nested_subgraphs_and_two_instances_of_one_file(tmp_path):
    write(tmp_path / "fx.toml", FX)
    write(
        tmp_path / "chain.toml",
        """\
        [params]
        db = -6.0
        [inputs]
        in = "pre.in"
        [outputs]
        out = "inner"
        [nodes.pre]
        type = "effect.gain"
        gain_db = -1.0
        [nodes.inner]
        type = "graph"
        path = "fx.toml"
        in = "pre"
        gain_db = "$db"
        """,
    )
    nodes = {"src": TONE, "one": {"type": "graph", "path": "chain.toml", "in": "src", "db": -20.0}}
    nodes["two"] = {"type": "graph", "path": "chain.toml", "in": "one"}
    write(tmp_path / "top.toml", graph_toml(nodes))
    result = ge.load(tmp_path / "top.toml").run(
        {"two/inner/g.gain_db": -2.0}, outputs=["two/inner/g", "src"], cache=False
    )
    ids = [s.node for s in result.stats]
    assert ids == ["src", "one/pre", "one/inner/g", "two/pre", "two/inner/g"]
    expected = result["src"].samples * db(-1.0 - 20.0 - 1.0 - 2.0)
    np.testing.assert_allclose(result["two/inner/g"].samples, expected, rtol=1e-5, atol=1e-9)


def test_a_subgraph_input_may_forward_to_a_nested_subgraphs_input(tmp_path):
    write(tmp_path / "fx.toml", FX)
    write(
        tmp_path / "wrap.toml",
        """\
        [inputs]
        in = "inner.in"
        [outputs]
        out = "inner"
        [nodes.inner]
        type = "graph"
        path = "fx.toml"
        gain_db = -9.0
        """,
    )
    nodes = {"src": TONE, "w": {"type": "graph", "path": "wrap.toml", "in": "src"}}
    write(tmp_path / "top.toml", graph_toml(nodes))
    result = ge.load(tmp_path / "top.toml").run(outputs=["w/inner/g", "src"], cache=False)
    np.testing.assert_allclose(
        result["w/inner/g"].samples, result["src"].samples * db(-9.0), rtol=1e-6
    )


def test_relative_paths_inside_a_subgraph_resolve_against_its_own_folder(tmp_path):
    rng = np.random.default_rng(2)
    source = rng.uniform(-0.5, 0.5, size=(1, 2000)).astype(np.float32)
    (tmp_path / "lib").mkdir()
    sf.write(str(tmp_path / "lib" / "in.wav"), source.T, RATE, subtype="FLOAT")
    write(
        tmp_path / "lib" / "loop.toml",
        """\
        [outputs]
        out = "f"
        [nodes.f]
        type = "source.file"
        path = "in.wav"
        """,
    )
    nodes = {"loop": {"type": "graph", "path": "lib/loop.toml"}}
    nodes["out"] = float_wav("loop", "out.wav")
    write(tmp_path / "top.toml", graph_toml(nodes))
    ge.load(tmp_path / "top.toml").run(cache=False)
    np.testing.assert_array_equal(read_wav(tmp_path / "out.wav")[0], source)


# -- results -----------------------------------------------------------------------------------


def test_result_by_node_and_by_node_port(tmp_path):
    g = ge.Graph(sample_rate=RATE)
    g.add("t", "source.tone", frequency=220.0, duration_s=0.2, amplitude=0.5)
    g.add("g", "effect.gain", in_="t", gain_db=-6.0)
    result = g.run(outputs=["g", "t.out"], cache=False)
    audio = result["g"]
    assert isinstance(audio, ge.Audio)
    assert audio.samples.shape == (1, round(0.2 * RATE)) and audio.sample_rate == RATE
    assert result["g.out"] is audio
    np.testing.assert_allclose(
        audio.samples, result["t.out"].samples * db(-6.0), rtol=1e-6, atol=1e-9
    )
    assert "g.out" in result and "t" in result
    assert "g.nope" not in result and "nope" not in result
    with pytest.raises(KeyError, match="no node 'nope'"):
        result["nope"]
    with pytest.raises(KeyError, match="has no output 'nope'"):
        result["g.nope"]


def test_a_result_not_kept_is_read_from_the_cache_or_refused(tmp_path):
    g = ge.Graph(sample_rate=RATE)
    g.add("t", "source.tone", frequency=233.0, duration_s=0.2)
    g.add("g", "effect.gain", in_="t", gain_db=-6.0)
    g.add("out", "sink.wav", in_="g", path=str(tmp_path / "o.wav"), subtype="FLOAT")
    cached = g.run(cache=tmp_path / "cache")
    np.testing.assert_array_equal(cached["g"].samples[0], read_wav(tmp_path / "o.wav")[0][0])
    uncached = g.run(cache=False)
    with pytest.raises(KeyError, match="was not kept by this run"):
        uncached["g"]


# -- provenance sidecars ------------------------------------------------------------------------


def test_loading_a_sidecar_re_renders_identical_samples(tmp_path, monkeypatch):
    shutil.copy(DEMO, tmp_path / "demo.toml")
    result = ge.load(tmp_path / "demo.toml").run({"duration_s": 1.0}, cache=False)
    wav = tmp_path / "out" / "demo.wav"
    assert result.outputs == [wav]
    sidecar = Path(str(wav) + ".graph.json")
    provenance = json.loads(sidecar.read_text(encoding="utf-8"))["provenance"]
    monkeypatch.chdir(tmp_path / "out")  # the sidecar holds absolute paths: cwd does not matter
    again = ge.load(sidecar)
    assert set(again.nodes) == set(ge.load(tmp_path / "demo.toml").nodes)
    rerun = again.run({"out.path": str(tmp_path / "again.wav")}, cache=False)
    for stat in rerun.stats:
        if stat.node != "out":  # out's key holds its path, which the override changed
            assert stat.key == provenance["nodes"][stat.node]["key"], stat.node
    original, rate = read_wav(wav)
    copy, rate_again = read_wav(tmp_path / "again.wav")
    assert rate == rate_again == 44100 and original.shape == (2, 44100)
    assert np.sqrt(np.mean(original**2)) > 0.01
    np.testing.assert_array_equal(copy, original)


def test_a_sidecar_of_a_subgraph_render_re_renders_identical_samples(subgraph_dir):
    ge.load(subgraph_dir / "parent.toml").run({"fx/g.gain_db": -4.5}, cache=False)
    again = ge.load(subgraph_dir / "sub.wav.graph.json")
    assert "fx/g" in again.nodes
    again.run({"out.path": str(subgraph_dir / "again.wav")}, cache=False)
    np.testing.assert_array_equal(
        read_wav(subgraph_dir / "again.wav")[0], read_wav(subgraph_dir / "sub.wav")[0]
    )
    np.testing.assert_array_equal(
        read_wav(subgraph_dir / "again.wav")[0], render_flat(subgraph_dir, -4.5)
    )


def test_a_sidecar_of_a_file_source_re_renders_from_anywhere(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    source = rng.uniform(-0.5, 0.5, size=(1, 1500)).astype(np.float32)
    folder = tmp_path / "proj"
    folder.mkdir()
    sf.write(str(folder / "in.wav"), source.T, RATE, subtype="FLOAT")
    g = ge.Graph(sample_rate=RATE, params={"src": "in.wav"})
    g.add("src", "source.file", path="$src")
    g.add("g", "effect.gain", in_="src", gain_db=-6.0)
    g.add("out", "sink.wav", in_="g", path="o.wav", subtype="FLOAT")
    g.save(folder / "g.json")
    ge.load(folder / "g.json").run(cache=False)
    monkeypatch.chdir(tmp_path)
    ge.load(folder / "o.wav.graph.json").run({"out.path": str(tmp_path / "again.wav")}, cache=False)
    np.testing.assert_array_equal(
        read_wav(tmp_path / "again.wav")[0], read_wav(folder / "o.wav")[0]
    )
    np.testing.assert_allclose(
        read_wav(folder / "o.wav")[0], source * db(-6.0), rtol=1e-6, atol=1e-9
    )


def test_sidecar_tree_written_as_toml_loads_equal(tmp_path):
    # a sidecar's graph is an ordinary graph tree: it survives a TOML round trip
    shutil.copy(DEMO, tmp_path / "demo.toml")
    ge.load(tmp_path / "demo.toml").run({"duration_s": 0.5}, cache=False)
    sidecar = ge.load(tmp_path / "out" / "demo.wav.graph.json")
    path = sidecar.save(tmp_path / "sidecar.toml")
    assert ge.load(path) == sidecar
    assert tomli_w.dumps(sidecar.to_dict()) == path.read_text(encoding="utf-8")
