"""Tests for the ``graphengine`` command line.

Most commands run in-process through ``graphengine.cli.main`` with capsys; a
few run as ``python -m graphengine`` subprocesses to check exit codes, stderr
and tracebacks as a user sees them. Every render writes into ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from jsonschema import Draft202012Validator

import graphengine as ge
from graphengine import api, cli
from graphengine.registry import default_registry

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "graphs" / "demo.toml"
DEMO_NODES = {
    "root": "source.tone",
    "third": "source.tone",
    "fifth": "source.tone",
    "noise": "source.noise",
    "bass": "effect.gain",
    "mix": "signal.mix",
    "master": "effect.gain",
    "out": "sink.wav",
}
DEMO_EDGES = [
    ("root", "bass"),
    ("bass", "mix"),
    ("third", "mix"),
    ("fifth", "mix"),
    ("noise", "mix"),
    ("mix", "master"),
    ("master", "out"),
]
MIX_ANCESTORS = {"root", "bass", "third", "fifth", "noise", "mix"}
DEMO_SECONDS, DEMO_RATE = 4.0, 44100
PCM_24_STEP = 1.0 / 2**23


@pytest.fixture(autouse=True)
def fresh_memory_cache():
    """Each test starts as a fresh process would: with an empty in-process memory cache.

    (The memory LRU is shared by every graph a process runs; without this, a
    node computed by an earlier in-process test would be a memory hit here.)
    """
    api._MEMORY.clear()
    yield
    api._MEMORY.clear()


@pytest.fixture
def run(capsys):
    """``run(*args) -> (exit code, stdout, stderr)`` of ``graphengine args`` in-process."""

    def call(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def run_process(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "graphengine", *(str(a) for a in args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """demo.toml copied into tmp_path (it writes out/demo.wav next to itself)."""
    path = tmp_path / "demo.toml"
    shutil.copy(DEMO, path)
    return path


def demo_wav(demo: Path) -> Path:
    return demo.parent / "out" / "demo.wav"


def stats_of(path: Path) -> dict[str, dict]:
    records = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(records, list)
    by_node = {r["node"]: r for r in records}
    assert len(by_node) == len(records)
    return by_node


def statuses(stats: dict[str, dict]) -> dict[str, str]:
    return {node: record["status"] for node, record in stats.items()}


def read_wav(path: Path) -> np.ndarray:
    data, _ = sf.read(str(path), dtype="float64", always_2d=True)
    return data.T


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- nodes ----------------------------------------------------------------------------


def test_nodes_lists_every_registered_type(run):
    code, out, err = run("nodes")
    assert code == 0 and err == ""
    lines = out.splitlines()
    specs = list(default_registry())
    assert len(lines) == len(specs)
    for spec, line in zip(specs, lines, strict=True):
        assert line.split()[0] == spec.type_id
        assert line.endswith(spec.summary)
    listed = {line.split()[0] for line in lines}
    assert {
        "source.tone",
        "source.noise",
        "source.file",
        "effect.gain",
        "signal.mix",
        "sink.wav",
        "sink.npy",
    } <= listed


def test_nodes_shows_one_type_with_ports_params_units_ranges_and_example(run):
    code, out, err = run("nodes", "source.tone")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "source.tone  (version 1)"
    for expected in [
        "ports:",
        "  out  out: audio",
        "parameters:",
        "  waveform (str, default 'sine')  sine | square | saw | triangle",
        "  frequency (pitch Hz, default 440.0)  < nyquist",
        "  duration_s (float s, default 1.0)  [0, inf]",
        "  amplitude (float, default 0.5)  [0, 1]",
        "  phase (float, default 0.0)  [0, 1]",
        "  channels (int, default 1)  [1, 64]",
        "example:",
        '  type = "source.tone"',
    ]:
        assert expected in lines, expected
    spec = default_registry().get("source.tone")
    example = "\n".join(lines[lines.index("example:") + 1 :])
    assert example == "\n".join("  " + line if line else "" for line in spec.example.splitlines())


@pytest.mark.parametrize("type_id", [s.type_id for s in default_registry()])
def test_nodes_shows_every_parameter_of_every_type(run, type_id):
    spec = default_registry().get(type_id)
    code, out, _ = run("nodes", type_id)
    assert code == 0
    lines = out.splitlines()
    for port in spec.inputs:
        assert any(line.startswith(f"  in   {port.name}: {port.type}") for line in lines), port.name
    for port in spec.outputs:
        assert f"  out  {port.name}: {port.type}" in lines, port.name
    for param in spec.params:
        head = f"  {param.name} ({param.kind}{' ' + param.unit if param.unit else ''}, "
        line = next((li for li in lines if li.startswith(head)), None)
        assert line is not None, f"{type_id}: no line for {param.name}"
        assert ("required" in line) == param.required
        low, high = param.range or (None, None)
        low = f"({param.above}" if isinstance(param.above, int | float) else f"[{low}"
        high = f"{param.below})" if isinstance(param.below, int | float) else f"{high}]"
        if low != "[None" or high != "None]":
            assert f"{low}, {high}".replace("[None", "[-inf").replace("None]", "inf]") in line
        for op, bound in param.bounds():
            if isinstance(bound, str):
                assert f"{op} {bound}" in line, (param.name, line)
        if param.choices:
            assert " | ".join(str(c) for c in param.choices) in line
        if param.description:
            assert f"      {param.description}" in lines


def test_nodes_json_matches_the_registry(run):
    code, out, _ = run("nodes", "--json")
    assert code == 0
    listed = json.loads(out)
    specs = list(default_registry())
    assert [entry["type"] for entry in listed] == [s.type_id for s in specs]
    for entry, spec in zip(listed, specs, strict=True):
        assert entry["version"] == spec.version
        assert entry["summary"] == spec.summary
        assert entry["example"] == spec.example
        assert [(p["name"], p["type"], p["variadic"], p["optional"]) for p in entry["inputs"]] == [
            (p.name, p.type, p.variadic, p.optional) for p in spec.inputs
        ]
        assert [(p["name"], p["type"]) for p in entry["outputs"]] == [
            (p.name, p.type) for p in spec.outputs
        ]
        assert [p["name"] for p in entry["params"]] == [p.name for p in spec.params]
        for got, param in zip(entry["params"], spec.params, strict=True):
            assert got["kind"] == param.kind
            assert got["unit"] == param.unit
            assert got["required"] == param.required
            assert got["range"] == (list(param.range) if param.range else None)
            assert got["choices"] == (list(param.choices) if param.choices else None)
            if not param.required:
                assert got["default"] == param.default
    tone = json.loads(run("nodes", "source.tone", "--json")[1])
    assert tone == listed[[e["type"] for e in listed].index("source.tone")]
    gain = {p["name"]: p for p in tone["params"]}
    assert gain["duration_s"]["unit"] == "s" and gain["frequency"]["kind"] == "pitch"


def test_nodes_markdown_documents_every_type(run):
    code, out, _ = run("nodes", "--markdown")
    assert code == 0
    assert out.startswith("# Node reference\n")
    specs = list(default_registry())
    for spec in specs:
        assert f"\n### {spec.type_id}\n" in out
        assert f"| [`{spec.type_id}`](#{spec.type_id.replace('.', '')}) |" in out
        for param in spec.params:
            assert f"| `{param.name}` | {param.kind} |" in out
    assert out.count("```toml\n") == sum(1 for s in specs if s.example)
    one = run("nodes", "effect.gain", "--markdown")[1]
    assert "### effect.gain" in one and "### mix" not in one
    assert "| `gain_db` | float | `0.0` | dB | [-120, 24] | gain in decibels |" in one


def test_nodes_unknown_type_exits_2_with_a_suggestion(run):
    code, out, err = run("nodes", "source.tonee")
    assert (code, out) == (2, "")
    assert err.strip() == "unknown node type 'source.tonee' (did you mean 'source.tone'?)"
    code, out, err = run("nodes", "nosuch.type")
    assert (code, out) == (2, "")
    assert err.startswith("unknown node type 'nosuch.type'")


@pytest.mark.parametrize("name", ["sorce.tone", "tone", "gain"])  # far ones get none
def test_nodes_suggests_what_validation_suggests(run, tmp_path, name):
    graph = write(tmp_path / "g.toml", f'[nodes.n]\ntype = "{name}"\n')
    with pytest.raises(ge.GraphError, match="did you mean") as raised:
        ge.load(graph).validate()
    best = default_registry().suggest(name)[0]
    assert repr(best) in str(raised.value)
    code, _, err = run("nodes", name)
    assert code == 2
    assert f"unknown node type {name!r} (did you mean {best!r}" in err


def test_nodes_unknown_type_as_a_process(tmp_path):
    done = run_process("nodes", "efect.gain", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "unknown node type 'efect.gain' (did you mean 'effect.gain'?)" in done.stderr
    assert "Traceback" not in done.stderr


# -- schema and validate ----------------------------------------------------------------


def test_schema_prints_a_valid_json_schema(run):
    code, out, _ = run("schema")
    assert code == 0
    schema = json.loads(out)
    Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]) >= {s.type_id for s in default_registry()} | {"node", "graph"}


def test_validate_ok(run, demo):
    code, out, err = run("validate", demo)
    assert code == 0 and err == ""
    assert out == f"{demo}: ok, 8 nodes, sinks: out\n"
    assert not demo_wav(demo).exists()


def test_validate_reports_a_bad_override(run, demo):
    code, out, err = run("validate", demo, "--set", "master.gain_db=99")
    assert (code, out) == (2, "")
    assert "master.gain_db [effect.gain]: 99.0 dB is out of range [-120, 24] dB" in err


# -- render -----------------------------------------------------------------------------


def test_render_writes_the_wav_and_its_sidecar(run, demo):
    code, out, err = run("render", demo)
    assert code == 0 and out == ""
    wav = demo_wav(demo)
    assert "8 nodes (8 computed, 0 cached)" in err and str(wav) in err
    info = sf.info(str(wav))
    assert (info.samplerate, info.channels, info.frames) == (
        DEMO_RATE,
        2,
        int(DEMO_SECONDS * DEMO_RATE),
    )
    assert info.subtype == "PCM_24"
    samples = read_wav(wav)
    assert 0.05 < np.max(np.abs(samples)) < 1.0
    assert np.sqrt(np.mean(samples**2)) > 0.01
    assert not np.array_equal(samples[0], samples[1])  # the pink noise is independent per channel
    sidecar = json.loads(Path(str(wav) + ".graph.json").read_text(encoding="utf-8"))
    provenance = sidecar["provenance"]
    assert provenance["node"] == "out"
    assert provenance["outputs"][str(wav)]["size"] == wav.stat().st_size
    assert set(provenance["nodes"]) == set(DEMO_NODES)
    assert {n: t["type"] for n, t in sidecar["graph"]["nodes"].items()} == DEMO_NODES
    assert sidecar["graph"]["nodes"]["out"]["path"] == str(wav)


def test_render_stats_to_a_file_and_to_stdout(run, demo, tmp_path):
    stats_file = tmp_path / "reports" / "stats.json"
    code, out, _ = run("render", demo, "--stats", stats_file)
    assert code == 0 and out == ""
    stats = stats_of(stats_file)
    assert {n: s["type"] for n, s in stats.items()} == DEMO_NODES
    assert set(statuses(stats).values()) == {"computed"}
    for record in stats.values():
        assert {"node", "type", "status", "seconds", "bytes", "key", "reason"} <= set(record)
        assert isinstance(record["seconds"], float) and record["seconds"] >= 0
        assert len(record["key"]) == 64
    assert stats["mix"]["bytes"] == 2 * int(DEMO_SECONDS * DEMO_RATE) * 4
    assert stats["root"]["bytes"] == int(DEMO_SECONDS * DEMO_RATE) * 4
    assert stats["out"]["bytes"] == 0
    code, out, err = run("render", demo, "--stats", "-", "--no-cache")
    assert code == 0
    from_stdout = {r["node"]: r for r in json.loads(out)}
    assert set(from_stdout) == set(DEMO_NODES)
    assert {n: r["key"] for n, r in from_stdout.items()} == {n: r["key"] for n, r in stats.items()}
    assert "8 nodes" in err


def test_second_render_is_all_cached_and_byte_identical(run, demo, tmp_path):
    assert run("render", demo, "--stats", tmp_path / "first.json")[0] == 0
    wav = demo_wav(demo)
    first_bytes, first_mtime = wav.read_bytes(), wav.stat().st_mtime_ns
    code, _, err = run("render", demo, "--stats", tmp_path / "second.json")
    assert code == 0
    assert "8 nodes (0 computed, 8 cached)" in err
    second = stats_of(tmp_path / "second.json")
    assert statuses(second) == dict.fromkeys(DEMO_NODES, "cached")
    assert {n: s["key"] for n, s in second.items()} == {
        n: s["key"] for n, s in stats_of(tmp_path / "first.json").items()
    }
    assert wav.read_bytes() == first_bytes
    assert wav.stat().st_mtime_ns == first_mtime


def test_a_second_process_finds_the_disk_cache(demo):
    first = run_process("render", demo, "--stats", "-", cwd=demo.parent)
    assert first.returncode == 0, first.stderr
    assert set(statuses({r["node"]: r for r in json.loads(first.stdout)}).values()) == {"computed"}
    demo_wav(demo).unlink()  # the output is gone: the sink must run again, from cached inputs
    second = run_process("render", demo, "--stats", "-", "--explain", cwd=demo.parent)
    assert second.returncode == 0, second.stderr
    got = statuses({r["node"]: r for r in json.loads(second.stdout)})
    assert got == {**dict.fromkeys(DEMO_NODES, "cached"), "out": "computed"}
    assert demo_wav(demo).exists()


def test_set_recomputes_exactly_the_changed_node_and_its_descendants(run, demo, tmp_path):
    assert run("render", demo)[0] == 0
    before = read_wav(demo_wav(demo))
    code, _, err = run("render", demo, "--set", "master.gain_db=-6", "--stats", tmp_path / "s.json")
    assert code == 0
    got = statuses(stats_of(tmp_path / "s.json"))
    assert {n for n, s in got.items() if s == "computed"} == {"master", "out"}
    assert {n for n, s in got.items() if s == "cached"} == set(DEMO_NODES) - {"master", "out"}
    assert "8 nodes (2 computed, 6 cached)" in err
    after = read_wav(demo_wav(demo))
    # master went from -3 dB to -6 dB: every sample scaled by 10 ** (-3 / 20)
    np.testing.assert_allclose(after, before * 10 ** (-3 / 20), rtol=0, atol=2 * PCM_24_STEP)
    assert np.max(np.abs(after - before)) > 0.01


def test_reverting_a_change_reloads_the_cache_and_restores_the_bytes(run, demo, tmp_path):
    assert run("render", demo)[0] == 0
    original = demo_wav(demo).read_bytes()
    assert run("render", demo, "--set", "master.gain_db=-6")[0] == 0
    assert demo_wav(demo).read_bytes() != original
    code, _, err = run("render", demo, "--explain", "--stats", tmp_path / "s.json")
    assert code == 0
    got = statuses(stats_of(tmp_path / "s.json"))
    assert got == {**dict.fromkeys(DEMO_NODES, "cached"), "out": "computed"}
    assert "cache hit" in next(line for line in err.splitlines() if line.startswith("master "))
    assert demo_wav(demo).read_bytes() == original


def test_render_a_subgraph_with_an_override_inside_it(run, tmp_path):
    for name in ("subgraph_fx.toml", "subgraph_parent.toml"):
        shutil.copy(REPO / "tests" / "graphs" / "good" / name, tmp_path / name)
    graph = tmp_path / "subgraph_parent.toml"
    code, out, _ = run("render", graph, "--stats", "-", "--no-cache")
    assert code == 0
    assert [r["node"] for r in json.loads(out)] == ["src", "fx/g", "out"]
    wav = tmp_path / "out" / "subgraph_parent.wav"
    level_12 = read_wav(wav)
    code, out, _ = run("render", graph, "--stats", "-", "--set", "fx/g.gain_db=-6")
    assert code == 0
    assert {r["node"] for r in json.loads(out) if r["status"] == "computed"} >= {"fx/g", "out"}
    np.testing.assert_allclose(read_wav(wav), level_12 * 10 ** (6 / 20), rtol=1e-6, atol=1e-9)


def test_set_of_a_graph_parameter_changes_the_length(run, demo, tmp_path):
    code, _, _ = run(
        "render",
        demo,
        "--set",
        "duration_s=0.5",
        "--set",
        "noise.color=brown",
        "--stats",
        tmp_path / "s.json",
    )
    assert code == 0
    assert sf.info(str(demo_wav(demo))).frames == DEMO_RATE // 2
    assert stats_of(tmp_path / "s.json")["noise"]["bytes"] == 2 * (DEMO_RATE // 2) * 4


def test_no_cache_computes_everything(run, demo, tmp_path):
    assert run("render", demo, "--no-cache", "--stats", tmp_path / "a.json")[0] == 0
    assert not (demo.parent / ".graphengine-cache").exists()
    assert run("render", demo, "--no-cache", "--stats", tmp_path / "b.json")[0] == 0
    assert statuses(stats_of(tmp_path / "a.json")) == dict.fromkeys(DEMO_NODES, "computed")
    assert statuses(stats_of(tmp_path / "b.json")) == dict.fromkeys(DEMO_NODES, "computed")
    assert not (demo.parent / ".graphengine-cache").exists()
    # a cached render followed by --no-cache still computes every node
    assert run("render", demo)[0] == 0
    assert run("render", demo, "--no-cache", "--stats", tmp_path / "c.json")[0] == 0
    assert statuses(stats_of(tmp_path / "c.json")) == dict.fromkeys(DEMO_NODES, "computed")


def test_cache_dir_puts_the_cache_there(run, demo, tmp_path):
    cache_dir = tmp_path / "elsewhere" / "cache"
    code, _, _ = run("render", demo, "--cache-dir", cache_dir)
    assert code == 0
    assert not (demo.parent / ".graphengine-cache").exists()
    code, out, _ = run("cache", "info", "--cache-dir", cache_dir)
    assert code == 0
    info = json.loads(out)
    assert info["directory"] == str(cache_dir)
    assert info["entries"] == len(DEMO_NODES) - 1  # every node but the sink stores its output
    assert info["bytes"] > 4 * int(DEMO_SECONDS * DEMO_RATE) * 4


def test_target_runs_only_the_ancestors_and_writes_no_wav(run, demo, tmp_path):
    code, out, err = run("render", demo, "--target", "mix", "--stats", tmp_path / "s.json")
    assert code == 0 and out == ""
    stats = stats_of(tmp_path / "s.json")
    assert set(stats) == MIX_ANCESTORS
    assert set(statuses(stats).values()) == {"computed"}
    assert not demo_wav(demo).exists()
    assert not demo_wav(demo).parent.exists()
    mix = ge.load(demo).run(outputs=["mix"], cache=False)["mix"].samples
    peak_db = 20 * np.log10(np.abs(mix).max())
    frames = int(DEMO_SECONDS * DEMO_RATE)
    assert mix.shape == (2, frames)
    assert f"mix: Audio(2 ch, {frames} frames, 44100 Hz, 4.000 s, peak {peak_db:.1f} dBFS)\n" in err


def test_target_port_after_a_full_render_loads_from_the_cache(run, demo, tmp_path):
    assert run("render", demo)[0] == 0
    code, _, err = run("render", demo, "--target", "master.out", "--stats", tmp_path / "s.json")
    assert code == 0
    got = statuses(stats_of(tmp_path / "s.json"))
    assert got["master"] == "cached" and "out" not in got
    assert "master.out: Audio(2 ch, 176400 frames, 44100 Hz, 4.000 s, peak " in err


def test_target_of_a_node_with_several_outputs_shows_each_and_a_sink_shows_none(run, tmp_path):
    graph = tmp_path / "loud.toml"
    graph.write_text(
        textwrap.dedent(
            """
            format = 1
            sample_rate = 8000
            [nodes.osc]
            type = "source.tone"
            frequency = 440.0
            duration_s = 1.0
            [nodes.loud]
            type = "feature.loudness"
            in = "osc"
            [nodes.out]
            type = "sink.json"
            in = "loud"
            path = "loud.json"
            """
        )
    )
    code, _, err = run("render", graph, "--target", "loud", "--no-cache")
    assert code == 0, err
    shown = [line.split(":")[0] for line in err.splitlines()[:-1]]
    assert shown == ["loud.out", "loud.momentary", "loud.short_term"]
    assert "loud.out: Vector(" in err and "loud.momentary: Features(1 ch, 1 rows, " in err
    code, _, err = run("render", graph, "--target", "out", "--no-cache")
    assert code == 0 and len(err.splitlines()) == 1 and err.startswith(f"{graph}: ")


def test_explain_prints_a_line_per_node_with_the_reason(run, demo):
    code, _, err = run("render", demo, "--explain")
    assert code == 0
    first = {
        line.split()[0]: line
        for line in err.splitlines()
        if line.split() and line.split()[0] in DEMO_NODES
    }
    assert set(first) == set(DEMO_NODES)
    assert all(
        "computed" in line and "first run: not in the cache" in line for line in first.values()
    )
    code, _, err = run("render", demo, "--explain", "--set", "master.gain_db=-6")
    assert code == 0
    lines = [line for line in err.splitlines() if line.split() and line.split()[0] in DEMO_NODES]
    assert len(lines) == len(DEMO_NODES)
    by_node = {line.split()[0]: line for line in lines}
    assert "computed" in by_node["master"] and "param gain_db -3.0 -> -6.0" in by_node["master"]
    assert "computed" in by_node["out"] and "input in changed" in by_node["out"]
    assert "cached" in by_node["mix"] and "cache hit" in by_node["mix"]
    for node in ("root", "bass", "third", "fifth", "noise"):
        assert "cached" in by_node[node] and "not needed" in by_node[node]
    for node, node_type in DEMO_NODES.items():
        assert by_node[node].split()[1] == node_type


def test_quiet_prints_nothing_on_success(run, demo):
    code, out, err = run("render", demo, "--quiet")
    assert (code, out, err) == (0, "", "")
    assert sf.info(str(demo_wav(demo))).frames == int(DEMO_SECONDS * DEMO_RATE)


def test_quiet_still_prints_errors(run, demo):
    code, out, err = run("render", demo, "--quiet", "--set", "mix.gainz=[1]")
    assert code == 2 and out == ""
    assert (
        "mix.gainz [signal.mix]: unknown parameter or port 'gainz' (did you mean 'gains'?)" in err
    )


def test_render_a_graph_without_a_sink_exits_2(run, tmp_path):
    graph = write(
        tmp_path / "nosink.toml",
        """\
        [nodes.t]
        type = "source.tone"
        duration_s = 0.1
        """,
    )
    code, out, err = run("render", graph)
    assert (code, out) == (2, "")
    assert err == f"{graph}: nothing to render: the graph has no sink (use --target NODE)\n"
    assert list(tmp_path.iterdir()) == [graph]
    code, _, err = run("render", graph, "--target", "t", "--no-cache")
    assert code == 0 and "t: Audio(1 ch, 4410 frames, 44100 Hz, 0.100 s" in err


# -- viz ----------------------------------------------------------------------------------


def test_viz_writes_dot_naming_every_node_and_edge(run, demo, tmp_path):
    target = tmp_path / "pics" / "demo.dot"
    code, out, _ = run("viz", demo, "-o", target)
    assert code == 0 and out == f"wrote {target}\n"
    text = target.read_text(encoding="utf-8")
    assert text.startswith('digraph "demo" {') and text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    for node, node_type in DEMO_NODES.items():
        assert f'"{node}" [label="{node}\n{node_type}"' in text
    for source, sink in DEMO_EDGES:
        assert f'"{source}" -> "{sink}"' in text
    assert text.count("->") == len(DEMO_EDGES)


def test_viz_writes_a_png(run, demo, tmp_path):
    import matplotlib.image

    target = tmp_path / "demo.png"
    code, _, _ = run("viz", demo, "-o", target)
    assert code == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(str(target))
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0  # not a blank picture
    assert {p.name for p in tmp_path.iterdir()} == {"demo.toml", "demo.png"}  # no temporary left


# -- cache ---------------------------------------------------------------------------------


def test_cache_info_and_clear(run, demo):
    code, out, _ = run("cache", "info", demo)
    assert code == 0
    assert json.loads(out)["entries"] == 0
    assert run("render", demo)[0] == 0
    info = json.loads(run("cache", "info", demo)[1])
    assert info["directory"] == str(demo.parent / ".graphengine-cache")
    assert info["entries"] == len(DEMO_NODES) - 1
    assert info["bytes"] > 0
    assert run("render", demo, "--set", "master.gain_db=-6")[0] == 0
    assert json.loads(run("cache", "info", demo)[1])["entries"] == len(DEMO_NODES)
    code, out, _ = run("cache", "clear", demo)
    assert code == 0
    assert json.loads(out)["removed"] == len(DEMO_NODES)
    after = json.loads(run("cache", "info", demo)[1])
    assert (after["entries"], after["bytes"]) == (0, 0)
    assert demo_wav(demo).exists()  # clearing the cache leaves outputs alone


# -- as a process: exit codes, stderr, tracebacks ---------------------------------------------


def test_render_as_a_process(demo):
    done = run_process("render", "demo.toml", "--set", "duration_s=1", cwd=demo.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "8 nodes (8 computed, 0 cached)" in done.stderr
    assert sf.info(str(demo_wav(demo))).frames == DEMO_RATE


def test_a_bad_graph_exits_2_without_a_traceback_unless_debug(tmp_path):
    graph = write(
        tmp_path / "bad.toml",
        """\
        [nodes.t]
        type = "source.tone"
        duration_s = 0.1
        amplitude = 2.0
        [nodes.out]
        type = "sink.wav"
        in = "t"
        path = "t.wav"
        """,
    )
    done = run_process("render", graph.name, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2
    assert "bad.toml" in lines[0]
    assert "t.amplitude [source.tone]: 2.0 is out of range [0, 1]" in done.stderr
    assert not (tmp_path / "t.wav").exists()
    debug = run_process("render", graph.name, "--debug", cwd=tmp_path)
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr and "ParamError" in debug.stderr


def test_version_and_usage_errors(tmp_path):
    done = run_process("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"graphengine {ge.__version__}"
    done = run_process("render", cwd=tmp_path)
    assert done.returncode == 2 and "usage:" in done.stderr


def test_the_render_bar_moves_inside_a_streaming_region_and_a_long_node() -> None:
    from graphengine.cli import _node_events
    from graphengine.execute import Event
    from graphengine.progress import ProgressBar

    class Recording(ProgressBar):
        def __init__(self) -> None:
            super().__init__("render", "nodes", enabled=False)
            self.infos: list[str] = []

        def update(self, **fields) -> None:
            if fields.get("info"):
                self.infos.append(fields["info"])

    bar = Recording()
    feed = _node_events(bar)
    feed(Event("run_start", None, {"nodes": 3}))
    feed(Event("node_start", "src", {}))
    for frames in (0, 44100, 88200):
        feed(Event("block", None, {"frames": frames, "total": 441000}))
        time.sleep(0.01)
    feed(Event("node_progress", "stretch", {"fraction": 0.25}))
    assert bar.infos[0] == "0%"
    assert bar.infos[1].startswith("10% ") and "frames/s" in bar.infos[1]
    assert bar.infos[2].startswith("20% ") and bar.infos[2].endswith(" s left")
    assert bar.infos[-1] == "25%"
