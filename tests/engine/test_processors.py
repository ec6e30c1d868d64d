"""Graphs as processors: files bound to a graph's file inputs and outputs from the command line.

``graphengine render G in.wav -o out.wav`` fills the graph's file inputs in
order and its one file output; every path typed resolves against the folder
the command runs in; ``batch --bind`` and ``train --input-param`` take the
same names.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import graphengine as ge
from graphengine.fileslots import bind, file_slots
from graphengine.registry import default_registry
from support import REPO_ROOT, graph_toml, read_csv, run_cli

PEDALS = REPO_ROOT / "graphs" / "chained_pedals.toml"
SR = 22050


def _pedals_frames(seconds: float) -> int:
    """In (resampled to 44.1 kHz) -> echo +3 s -> stretch / 0.8 -> half speed x2 -> +1.5 s."""
    echoed = round(seconds * 44100) + 3 * 44100
    return 2 * round(echoed / 0.8) + round(1.5 * 44100)


def _take(path: Path, seconds: float = 1.0) -> Path:
    rng = np.random.default_rng(0)
    sf.write(path, 0.1 * rng.standard_normal((round(SR * seconds), 2)), SR)
    return path


@pytest.fixture()
def graphs(tmp_path: Path) -> Path:
    """A copy of graphs/ (the shipped processor and its example input)."""
    copy = tmp_path / "graphs"
    shutil.copytree(REPO_ROOT / "graphs", copy, ignore=shutil.ignore_patterns("out", ".graph*"))
    return copy


def test_render_takes_an_input_file_and_an_output_relative_to_the_shell(graphs, tmp_path):
    work = tmp_path / "session"
    work.mkdir()
    _take(work / "my.wav", 1.0)
    done = run_cli(
        "render", str(graphs / "chained_pedals.toml"), "my.wav", "-o", "wet.wav", cwd=work
    )
    assert done.returncode == 0, done.stderr
    samples, rate = sf.read(work / "wet.wav")
    assert rate == 44100 and samples.shape[0] == _pedals_frames(1.0)
    assert np.abs(samples).max() == pytest.approx(10 ** (-1 / 20), abs=1e-4)
    assert not (graphs / "out" / "chained_pedals.wav").exists()


def test_a_path_given_with_set_is_relative_to_the_shell_too(graphs, tmp_path):
    work = tmp_path / "session"
    work.mkdir()
    _take(work / "take.wav", 0.5)
    done = run_cli(
        "render", str(graphs / "chained_pedals.toml"), "--set", "input=take.wav",
        "--output", "output=renders/wet.wav", cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sf.info(str(work / "renders" / "wet.wav")).frames == _pedals_frames(0.5)


def test_the_shipped_example_input_is_the_plucks_phrase_it_is_rendered_from():
    phrase = ge.load(REPO_ROOT / "graphs" / "sources" / "plucks.toml").run(
        outputs=["phrase"], cache=False
    )["phrase"]
    shipped, rate = sf.read(REPO_ROOT / "graphs" / "assets" / "plucks.flac", dtype="float32")
    assert rate == phrase.sample_rate and shipped.shape[0] == phrase.frames
    np.testing.assert_allclose(shipped, phrase.samples[0], atol=1.0 / 32768)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a.wav", "b.wav"], "2 input files given, but the graph has 1 file input(s) (input)"),
        (["--input", "nope=x.wav"], "--input nope: the graph has no file input 'nope' (input)"),
        (["--input", "input"], "--input 'input': expected NAME=PATH"),
        (["--output", "wet=x.wav"], "the graph has no file output 'wet' (output)"),
        (["missing.wav"], "src.path [source.file]: no such file:"),
    ],
)
def test_bad_bindings_name_the_graph_and_the_slot(graphs, tmp_path, args, message):
    done = run_cli("render", str(graphs / "chained_pedals.toml"), *args, cwd=tmp_path)
    assert done.returncode == 2
    assert "chained_pedals.toml" in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (graphs / "out").exists()


def test_o_sets_the_output_declared_as_a_graph_parameter(tmp_path):
    nodes = {
        "osc": {"type": "source.tone", "frequency": 440.0, "duration_s": 0.1},
        "a": {"type": "sink.wav", "in": "osc", "path": "a.wav"},
        "b": {"type": "sink.wav", "in": "osc", "path": "$second"},
    }
    (tmp_path / "g.toml").write_text(graph_toml(nodes, params={"second": "b.wav"}))
    done = run_cli("render", "g.toml", "-o", "x.wav", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sf.info(str(tmp_path / "x.wav")).frames == 4410
    assert (tmp_path / "a.wav").is_file() and not (tmp_path / "b.wav").exists()
    done = run_cli("render", "g.toml", "--output", "a.path=one.wav", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "one.wav").is_file() and (tmp_path / "b.wav").is_file()


def test_o_is_refused_where_no_one_output_is_the_main_one(tmp_path):
    nodes = {
        "osc": {"type": "source.tone", "frequency": 440.0, "duration_s": 0.1},
        "a": {"type": "sink.wav", "in": "osc", "path": "a.wav"},
        "b": {"type": "sink.wav", "in": "osc", "path": "b.wav"},
    }
    (tmp_path / "g.toml").write_text(graph_toml(nodes))
    done = run_cli("render", "g.toml", "-o", "x.wav", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        "-o x.wav: the graph has 2 file outputs (a.path, b.path; none declared as graph "
        "parameters); name one with --output NAME=PATH"
    ) in done.stderr
    assert not any(tmp_path.glob("*.wav"))


def test_slots_are_graph_parameters_in_file_order_then_node_parameters():
    document = ge.Graph(params={"late": "x.wav", "early": "y.wav"})
    document.add("one", "source.file", path="$early")
    document.add("two", "source.file", path="literal.wav")
    document.add("three", "source.file", path="$late")
    document.add("mix", "signal.mix", in_=["one", "two", "three"])
    document.add("out", "sink.wav", in_="mix", path="o.wav")
    slots = file_slots(document, default_registry())
    assert list(slots.inputs) == ["late", "early", "two.path"]
    assert slots.outputs == {"out.path": "out.path"}
    assert slots.targets["early"] == [("one", "path")]
    bound = bind(slots, ["a.wav", "b.wav"], output="w.wav", cwd="/data")
    assert bound == {"late": "/data/a.wav", "early": "/data/b.wav", "out.path": "/data/w.wav"}


def test_batch_binds_the_same_input_name_or_the_only_one(graphs, tmp_path):
    takes = tmp_path / "takes"
    takes.mkdir()
    for name, seconds in (("a", 0.5), ("b", 1.0)):
        _take(takes / f"{name}.wav", seconds)
    pedals = str(graphs / "chained_pedals.toml")
    runs = (("named", ["takes/*.wav", "--bind", "input"]), ("default", ["--inputs", "takes/*"]))
    for out, bind_args in runs:
        done = run_cli(
            "batch", pedals, *bind_args, "--out-dir", out,
            "--workers", "1", "--no-cache", cwd=tmp_path, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        rows = read_csv(tmp_path / out / "manifest.csv")
        assert sorted(row["status"] for row in rows) == ["ok", "ok"]
        for name, seconds in (("a", 0.5), ("b", 1.0)):
            wet = tmp_path / out / name / "chained_pedals.wav"
            assert sf.info(str(wet)).frames == _pedals_frames(seconds)
    done = run_cli(
        "batch", pedals, "--inputs", "takes/*.wav", "--bind", "inptu", "--out-dir", "x",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--bind 'inptu': expected a file input of the graph (input) or NODE.PARAM" in (
        done.stderr
    )


PROCESSORS = ("chained_pedals.toml", "features.toml", "mastering.toml")
"""The shipped examples that process a recording: one file input, one main output."""


SHIPPED = sorted((REPO_ROOT / "graphs").glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_graph_reading_audio_declares_its_input_with_an_example(path):
    graph = ge.load(path)
    registry = default_registry()
    slots = file_slots(graph, registry)
    reads = [n for n, t in graph.nodes.items() if t.get("type") == "source.file"]
    for node_id in reads:
        [name] = [n for n, targets in slots.targets.items() if (node_id, "path") in targets]
        assert name in slots.declared, f"{node_id}.path is not a graph parameter"
        assert (path.parent / graph.params[name]).is_file(), f"{name}: no example file"
    if path.name in PROCESSORS:
        assert len(slots.inputs) == 1 and next(iter(slots.inputs)) in slots.declared
        assert slots.main_output("-o") in slots.declared


def test_mastering_masters_a_take_named_as_on_the_command_line(tmp_path):
    """``render graphs/mastering.toml take.wav -o master.flac``, checked with pyloudnorm."""
    import pyloudnorm

    take = _take(tmp_path / "take.wav", 1.0)
    graph = ge.load(REPO_ROOT / "graphs" / "mastering.toml")
    overrides = bind(
        file_slots(graph, default_registry()), ["take.wav"], output="m.flac", cwd=tmp_path
    )
    assert overrides == {"input": str(take), "output": str(tmp_path / "m.flac")}
    graph.run(overrides, outputs=["out"], cache=False)
    master, rate = sf.read(tmp_path / "m.flac")
    assert rate == 44100 and master.shape == (44100, 2)  # resampled to the graph's rate
    assert pyloudnorm.Meter(rate).integrated_loudness(master) == pytest.approx(-16.0, abs=0.1)
    assert np.abs(master).max() <= 10 ** (-1 / 20)  # the sample peak is under the true peak
