"""Compiled chains (graphengine.fusion): the same samples as the per-node loop, bit for bit."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from node_harness import kernel_specs

import graphengine as ge
from graphengine import fusion
from graphengine.blocks import Member, Region, run_region
from graphengine.node import NodeContext
from graphengine.registry import default_registry
from graphengine.types import Audio
from graphengine.validate import convert_param
from support import REPO_ROOT

SR = 44100.0
BLOCKS = (1, 7, 64, 4096)
REGISTRY = default_registry()


KERNELS = kernel_specs()


def _example_params(spec) -> dict:
    table = next(iter(tomllib.loads(spec.example)["nodes"].values()))
    params = {
        p.name: convert_param(p, table.get(p.name, p.default), Path.cwd()) for p in spec.params
    }
    if params.get("gains"):
        params["gains"] = (params["gains"] + [1.0, 1.0])[:2]
    return params


def _noise(channels: int, frames: int, seed: int) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio(rng.uniform(-0.8, 0.8, (channels, frames)).astype(np.float32), SR)


def _member(type_id: str, node_id: str, sources: list, shapes: dict, **params) -> Member:
    """A region member of ``type_id``; its output shape from its node, recorded in ``shapes``."""
    spec = REGISTRY.get(type_id)
    node = spec.block_class(NodeContext(node_id, type_id, SR, Path(".")), **params)
    inputs = [shapes[s] if kind == "node" else (s.channels, s.frames) for kind, s in sources]
    channels = node.output_channels(tuple(c for c, _ in inputs))
    frames = node.output_frames(tuple(f for _, f in inputs))
    shapes[node_id] = (channels, frames)
    return Member(node_id, node, sources, channels, frames, tap=True)


def _run(build, block_size: int, fuse: bool) -> tuple[dict[str, np.ndarray], list[Member]]:
    members = build()
    return run_region(Region(members, block_size, SR, fuse=fuse)), members


def _assert_fused_equals_unfused(build, expect_fused: bool = True) -> None:
    reference = None
    for block_size in BLOCKS:
        fused, members = _run(build, block_size, True)
        unfused, _ = _run(build, block_size, False)
        assert fused.keys() == unfused.keys()
        for node_id in fused:
            np.testing.assert_array_equal(fused[node_id], unfused[node_id], err_msg=node_id)
        assert any(m.fused for m in members) == expect_fused, [m.fused for m in members]
        if reference is None:
            reference = fused
        for node_id in fused:  # block-size invariance, as the per-node loop has it
            np.testing.assert_allclose(fused[node_id], reference[node_id], rtol=0, atol=1e-6)


@pytest.mark.parametrize("spec", KERNELS, ids=lambda s: s.type_id)
def test_every_kernel_node_fused_in_a_chain_equals_the_per_node_loop(spec) -> None:
    params = _example_params(spec)
    left, right = _noise(2, 1500, 1), _noise(2, 900, 2)

    def build() -> list[Member]:
        shapes: dict = {}
        first = _member("effect.gain", "g1", [("value", left)], shapes, gain_db=-3.0)
        members = [first]
        sources = [("node", "g1")]
        if spec.block_class.kind == "mixer":
            members.append(_member("effect.gain", "g2", [("value", right)], shapes, gain_db=2.0))
            sources.append(("node", "g2"))
        members.append(_member(spec.type_id, "x", sources, shapes, **params))
        members.append(_member("effect.gain", "g3", [("node", "x")], shapes, gain_db=1.0))
        return members

    _assert_fused_equals_unfused(build)
    members = build()
    run_region(Region(members, 64, SR, fuse=True))
    offers = fusion.member_stages(members[-2].node) is not None
    assert members[-2].looped == offers  # a sample kernel runs in the chain's frame loop


def _chain(g: ge.Graph, tail_s: float = 0.0) -> None:
    g.add("gain", "effect.gain", in_="src", gain_db=-6.0)
    g.add("lp", "filter.biquad", in_="gain", mode="lowpass", cutoff_hz=2000.0)
    g.add("delay", "effect.delay", in_="lp", time_ms=5.0, feedback=0.5, mix=0.5, tail_s=tail_s)
    g.add("hp", "filter.biquad", in_="delay", mode="highpass", cutoff_hz=100.0)


def _linear(g: ge.Graph) -> list[str]:
    _chain(g, tail_s=0.01)
    return ["hp"]


def _with_mix(g: ge.Graph) -> list[str]:
    _chain(g)
    g.add("dry", "effect.gain", in_="src", gain_db=-12.0)
    g.add("bus", "signal.mix", in_=["hp", "dry"], gains=[1.0, 0.5])
    g.add("crush", "effect.bitcrush", in_="bus", bits=8)
    g.add("out", "effect.gain", in_="crush", gain_db=-1.0)
    return ["out"]


def _with_tap(g: ge.Graph) -> list[str]:
    _chain(g)
    return ["lp", "hp"]  # lp is kept whole in the middle of the compiled chain


def _with_split(g: ge.Graph) -> list[str]:
    _chain(g)
    g.add("side", "filter.biquad", in_="lp", mode="highpass", cutoff_hz=500.0)  # lp read twice
    g.add("left", "channels.mono", in_="hp")
    g.add("right", "channels.mono", in_="side")
    g.add("both", "channels.merge", in_=["left", "right"])
    return ["both"]


SHAPES = {"linear": _linear, "mix": _with_mix, "tap": _with_tap, "split_merge": _with_split}


@pytest.mark.parametrize("name", list(SHAPES))
def test_mixed_chains_fused_equal_unfused_at_every_block_size(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _noise(2, 3000, 7)
    results = {}
    for fuse in ("1", "0"):
        monkeypatch.setenv("GRAPHENGINE_FUSE", fuse)
        for block_size in BLOCKS:
            g = ge.Graph(sample_rate=SR)
            g.add("src", "source.file", path="fed.wav")
            wanted = SHAPES[name](g)
            result = g.run(outputs=wanted, inputs={"src": src}, cache=False, block_size=block_size)
            results[fuse, block_size] = [result[w].samples for w in wanted]
            fused = {s.node: s.as_dict().get("fused", "") for s in result.stats}
            assert any(fused.values()) == (fuse == "1"), fused
    for block_size in BLOCKS:
        for got, want in zip(results["1", block_size], results["0", block_size], strict=True):
            np.testing.assert_array_equal(got, want, err_msg=f"{block_size=}")
        for got, want in zip(results["1", block_size], results["1", 4096], strict=True):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6, err_msg=f"{block_size=}")


def test_stats_and_events_name_the_fused_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHENGINE_FUSE", "1")
    events = []
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.file", path="fed.wav")
    _with_mix(g)
    result = g.run(
        outputs=["out"], inputs={"src": _noise(2, 2000, 3)}, cache=False, on_event=events.append
    )
    fused = {s.node: s.fused for s in result.stats}
    run = fused["gain"]  # the unconnected "dry" may sit in the same run (planner's order)
    assert "gain>lp>delay>hp" in run and fused["hp"] == run
    assert fused["crush"] == "crush>out"
    assert fused["bus"] == "" and "fused" not in result.stats[0].as_dict()
    ends = {e.node_id: e.data.get("fused") for e in events if e.kind == "node_end"}
    assert ends["lp"] == run and ends["bus"] is None


def test_a_run_that_does_not_compile_runs_per_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fusion.FusedRun, "compiles", lambda self, *a: False)
    src = _noise(2, 1000, 5)

    def build() -> list[Member]:
        shapes: dict = {}
        return [
            _member("effect.gain", "a", [("value", src)], shapes, gain_db=-6.0),
            _member("filter.biquad", "b", [("node", "a")], shapes, cutoff_hz=900.0),
        ]

    _assert_fused_equals_unfused(build, expect_fused=False)
    said: list[str] = []
    run_region(Region(build(), 256, SR, fuse=True, on_warning=said.append))
    assert said == [
        "the chain a>b could not be compiled as one; it ran node by node (the same samples, slower)"
    ]


def test_a_plain_python_kernel_is_not_fused() -> None:
    class Plain:
        kind = "effect"

        def kernel(self):
            return (lambda block: block), ()

    assert fusion.member_kernel(Plain()) is None


def test_generated_sources_are_cached_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    path = fusion._write("x = 1\n", "fused_test.py")
    assert path == tmp_path / "graphengine_fused" / "fused_test.py"
    stamp = path.stat().st_mtime_ns
    assert fusion._write("x = 1\n", "fused_test.py") == path
    assert path.stat().st_mtime_ns == stamp  # unchanged: numba's cache entry stays valid
    from nodes.effect._gain_kernels import scale_inplace

    assert "_gain_kernels" in fusion._stamp(scale_inplace)
    assert fusion._stamp(lambda x: x) == ""


def test_auto_fuses_a_new_shape_only_when_it_saves_enough_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphengine import blocks

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GRAPHENGINE_FUSE", raising=False)
    src = _noise(2, 1500, 9)

    def build() -> list[Member]:
        shapes: dict = {}
        return [
            _member("effect.dcblock", "a", [("value", src)], shapes, cutoff_hz=20.0),
            _member("effect.distortion", "b", [("node", "a")], shapes, drive_db=6.0),
            _member("effect.fade", "c", [("node", "b")], shapes, fade_in_s=0.01),
        ]

    members = build()
    run_region(Region(members, 64, SR))
    assert [m.fused for m in members] == ["", "", ""]  # 24 blocks: compiling would not pay
    monkeypatch.setattr(blocks, "AUTO_MIN_CALLS", 10)
    members = build()
    run_region(Region(members, 64, SR))
    assert {m.fused for m in members} == {"a>b>c"}
    monkeypatch.setattr(blocks, "AUTO_MIN_CALLS", 10**9)
    members = build()
    run_region(Region(members, 64, SR))  # the shape is compiled now: fused at once
    assert {m.fused for m in members} == {"a>b>c"}


CACHED_RUN = """
import numpy as np
import graphengine as ge
from graphengine import fusion
g = ge.Graph(sample_rate=44100)
g.add("src", "source.file", path="fed.wav")
g.add("a", "effect.gain", in_="src", gain_db=-6.0)
g.add("b", "filter.biquad", in_="a", cutoff_hz=3000.0)
x = ge.Audio(np.linspace(-1, 1, 2000, dtype=np.float32).reshape(2, 1000), 44100)
out = g.run(outputs=["b"], inputs={"src": x}, cache=False)["b"].samples
(fn,) = fusion._COMPILED.values()
print(sum(fn.stats.cache_hits.values()), float(np.abs(out).sum()))
"""


def test_a_fused_shape_is_loaded_from_numba_disk_cache_in_a_new_process(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), GRAPHENGINE_FUSE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    runs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", CACHED_RUN], env=env, capture_output=True, text=True, check=True
        )
        runs.append(done.stdout.split())
    assert runs[0][0] == "0" and runs[1][0] != "0", runs  # compiled, then loaded
    assert runs[0][1] == runs[1][1]
    assert list((tmp_path / "graphengine_fused").glob("fused_*.py"))


def test_an_unwritable_cache_folder_compiles_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "file"))
    assert fusion._write("x = 1\n", "fused_test.py") is None
    from nodes.effect._gain_kernels import scale_inplace

    fn = fusion._load(
        "import numpy as np\nfrom numba import njit\nk0 = None\n"
        "@njit(cache=True)\ndef fused(x, f):\n    return k0(x, f)\n",
        {"k0": scale_inplace},
    )
    x = np.ones((1, 4), np.float32)
    assert fn(x, np.float32(2.0))[0, 0] == 2.0


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_frame_loops_equal_the_per_node_loop(channels: int) -> None:
    """Sample kernels of several stages, tails, taps, odd channel counts, at every block size."""
    src = _noise(channels, 600, 11)

    def build() -> list[Member]:
        shapes: dict = {}
        return [
            _member("effect.gain", "g", [("value", src)], shapes, gain_db=-4.0),
            _member("filter.butterworth", "bw", [("node", "g")], shapes, cutoff_hz=3000.0, order=5),
            _member("effect.delay", "d", [("node", "bw")], shapes, time_ms=1.0, tail_s=0.005),
            _member(
                "filter.biquad", "hp", [("node", "d")], shapes, cutoff_hz=90.0, mode="highpass"
            ),
        ]

    _assert_fused_equals_unfused(build)
    members = build()
    run_region(Region(members, 64, SR, fuse=True))
    assert all(m.looped for m in members)


def test_a_frame_loop_between_python_members_equals_the_per_node_loop() -> None:
    """A loop fed by a source's block, its block read by a kernel after it, a tap inside."""

    def build() -> list[Member]:
        shapes: dict = {}
        tone = _member("source.tone", "osc", [], shapes, duration_s=0.01, channels=2)
        tone.tap = False
        return [
            tone,
            _member("effect.gain", "g", [("node", "osc")], shapes, gain_db=-6.0),
            _member("filter.biquad", "lp", [("node", "g")], shapes, cutoff_hz=1500.0),
            _member("effect.delay", "d", [("node", "lp")], shapes, time_ms=2.0, feedback=-0.4),
            _member("effect.distortion", "x", [("node", "d")], shapes, drive_db=9.0, mode="hard"),
            _member("effect.dcblock", "dc", [("node", "x")], shapes, cutoff_hz=30.0),
            _member(
                "effect.fade", "f", [("node", "dc")], shapes, fade_in_s=0.002, fade_out_s=0.003
            ),
            _member("channels.mono", "m", [("node", "f")], shapes),
        ]

    _assert_fused_equals_unfused(build)
    members = build()
    run_region(Region(members, 7, SR, fuse=True))
    assert [m.looped for m in members] == [False] + [True] * 6 + [False]
    assert members[-1].fused == "g>lp>d>x>dc>f>m"
