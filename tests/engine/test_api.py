"""The embedding API end to end: build, run, cache, re-run, feed arrays, read results."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import soundfile as sf

import graphengine as ge
from graphengine import api
from graphengine.cache import DiskStore
from graphengine.node import NodeContext, node, param
from graphengine.registry import Registry, default_registry
from graphengine.types import Audio, Spectrum, Vector

SR = 44100


def chain(tmp_path: Path, **tone: object) -> ge.Graph:
    """tone -> gain -> sink.wav (FLOAT, so samples are exact)."""
    g = ge.Graph(sample_rate=SR, name="chain")
    g.add("osc", "source.tone", frequency=440.0, duration_s=0.5, amplitude=0.5, **tone)
    g.add("gain", "effect.gain", in_="osc", gain_db=-6.0)
    g.add("out", "sink.wav", path=str(tmp_path / "chain.wav"), subtype="FLOAT")
    g.connect("gain", "out.in")
    return g


def descendants(graph: ge.Graph, node_id: str) -> set[str]:
    valid = graph.validate()
    digraph = nx.DiGraph(
        (ref.node, n.id) for n in valid.nodes.values() for refs in n.inputs.values() for ref in refs
    )
    return {node_id} | nx.descendants(digraph, node_id)


def test_builder_renders_exact_samples(tmp_path: Path) -> None:
    result = chain(tmp_path).run(cache=tmp_path / "cache")
    samples, rate = sf.read(tmp_path / "chain.wav", dtype="float32", always_2d=True)
    t = np.arange(int(0.5 * SR)) / SR
    expected = 0.5 * np.sin(2 * np.pi * 440.0 * t) * 10 ** (-6 / 20)
    assert rate == SR
    np.testing.assert_allclose(samples[:, 0], expected, atol=2e-6)
    assert {s.node for s in result.stats} == {"osc", "gain", "out"}
    assert all(s.status == "computed" for s in result.stats)
    assert result.outputs == [tmp_path / "chain.wav"]


def test_result_values_by_node_and_port(tmp_path: Path) -> None:
    result = chain(tmp_path).run(outputs=["gain", "osc.out"], cache=False)
    osc, gained = result["osc.out"], result["gain"]
    assert isinstance(osc, Audio) and osc.sample_rate == SR
    np.testing.assert_allclose(gained.samples, osc.samples * np.float32(10 ** (-6 / 20)), rtol=1e-6)
    assert not (tmp_path / "chain.wav").exists(), "asking for outputs runs no sink"
    with pytest.raises(KeyError, match="no node"):
        result["nope"]
    with pytest.raises(KeyError, match="no output"):
        result["osc.nope"]


def test_rerun_is_all_cached_and_byte_identical(tmp_path: Path) -> None:
    graph = chain(tmp_path)
    graph.run(cache=tmp_path / "cache")
    first = (tmp_path / "chain.wav").read_bytes()
    api._MEMORY.clear()  # a new process would start with an empty memory cache
    again = graph.run(cache=tmp_path / "cache")
    assert [s.status for s in again.stats] == ["cached"] * 3
    assert (tmp_path / "chain.wav").read_bytes() == first
    assert again.outputs == []


def test_changing_one_param_recomputes_exactly_its_descendants(tmp_path: Path) -> None:
    g = ge.Graph(sample_rate=SR)
    g.add("a", "source.tone", frequency="A3", duration_s=0.3)
    g.add("b", "source.noise", duration_s=0.3, color="pink")
    g.add("ga", "effect.gain", in_="a", gain_db=-3)
    g.add("gb", "effect.gain", in_="b", gain_db=-12)
    g.add("mix", "signal.mix", in_=["ga", "gb"])
    g.add("master", "effect.gain", in_="mix", gain_db=-1)
    g.add("out", "sink.wav", in_="master", path=str(tmp_path / "m.wav"))
    g.add("side", "sink.npy", in_="gb", path=str(tmp_path / "side.npy"))
    cache = tmp_path / "cache"
    for changed, override in (("gb", {"gb.gain_db": -6}), ("master", {"master.gain_db": -2})):
        g.run(cache=cache)  # the base graph, rendered and up to date
        result = g.run(params=override, cache=cache)
        computed = {s.node for s in result.stats if s.status == "computed"}
        assert computed == descendants(g, changed)
        reasons = {s.node: s.reason for s in result.stats}
        assert "param gain_db" in reasons[changed]


def test_explain_names_changed_file(tmp_path: Path) -> None:
    wav = tmp_path / "in.wav"
    sf.write(wav, np.zeros((1000, 1), np.float32), SR)
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.file", path=str(wav))
    g.add("out", "sink.npy", in_="src", path=str(tmp_path / "x.npy"))
    g.run(cache=tmp_path / "cache")
    sf.write(wav, np.full((1000, 1), 0.25, np.float32), SR)
    result = g.run(cache=tmp_path / "cache")
    reasons = {s.node: s.reason for s in result.stats}
    assert "file path changed" in reasons["src"]
    np.testing.assert_allclose(np.load(tmp_path / "x.npy"), 0.25)


def test_values_fed_from_python(tmp_path: Path) -> None:
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.file", path="does-not-exist.wav")
    g.add("gain", "effect.gain", in_="src", gain_db=20 * np.log10(0.5))
    samples = np.random.default_rng(1).uniform(-0.5, 0.5, (2, 999)).astype(np.float32)
    result = g.run(outputs=["gain"], inputs={"src": Audio(samples, SR)}, cache=False)
    np.testing.assert_allclose(result["gain"].samples, samples * 0.5, rtol=1e-6)
    with pytest.raises(ge.GraphError, match="no such file"):
        g.run(outputs=["gain"], cache=False)


def test_seeds_derive_from_graph_seed_and_node_id(tmp_path: Path) -> None:
    def render(seed: int) -> tuple[np.ndarray, np.ndarray]:
        g = ge.Graph(sample_rate=SR, seed=seed)
        g.add("n1", "source.noise", duration_s=0.1)
        g.add("n2", "source.noise", duration_s=0.1)
        result = g.run(outputs=["n1", "n2"], cache=False)
        return result["n1"].samples, result["n2"].samples

    a1, a2 = render(1)
    b1, _ = render(1)
    c1, _ = render(2)
    np.testing.assert_array_equal(a1, b1)
    assert not np.allclose(a1, a2), "two nodes must not share noise"
    assert not np.allclose(a1, c1), "the graph seed must change the noise"


def test_provenance_sidecar_rerenders_the_output(tmp_path: Path) -> None:
    g = ge.Graph(sample_rate=SR, seed=3, params={"level": 0.2})
    g.add("n", "source.noise", duration_s=0.2, amplitude="$level", color="brown")
    g.add("out", "sink.wav", in_="n", path=str(tmp_path / "n.wav"))
    g.run(params={"level": 0.3}, cache=False)
    original = (tmp_path / "n.wav").read_bytes()
    sidecar = json.loads((tmp_path / "n.wav.graph.json").read_text())
    provenance = sidecar["provenance"]
    assert provenance["overrides"] == {"level": 0.3}
    assert provenance["nodes"]["n"]["seed"] == sidecar["graph"]["nodes"]["n"]["seed"]
    assert provenance["key"] == provenance["nodes"]["out"]["key"]
    (tmp_path / "n.wav").unlink()
    ge.load(tmp_path / "n.wav.graph.json").run(cache=False)
    assert (tmp_path / "n.wav").read_bytes() == original


def test_corrupt_cache_entry_is_recomputed(tmp_path: Path) -> None:
    graph = chain(tmp_path)
    cache = tmp_path / "cache"
    result = graph.run(outputs=["gain"], cache=cache)
    expected = result["gain"].samples.copy()
    for npy in cache.rglob("*.npy"):
        npy.write_bytes(npy.read_bytes()[:-100])
    api._MEMORY.clear()
    again = graph.run(outputs=["gain"], cache=cache)
    np.testing.assert_array_equal(again["gain"].samples, expected)
    assert {s.node for s in again.stats if s.status == "computed"} == {"osc", "gain"}
    assert DiskStore(cache).info()["entries"] == 2


def _failing_registry() -> Registry:
    @node("test.explode", version=1)
    def explode(in_: Audio) -> Audio:
        """Fail on purpose."""
        raise RuntimeError("boom")

    registry = Registry()
    for spec in default_registry():
        registry.add(spec)
    registry.add(explode.spec)
    return registry


def test_failed_run_writes_no_output(tmp_path: Path) -> None:
    g = ge.Graph(sample_rate=SR)
    g.add("osc", "source.tone", duration_s=0.1)
    g.add("early", "sink.wav", in_="osc", path=str(tmp_path / "out" / "early.wav"))
    g.add("bad", "test.explode", in_="osc")
    g.add("late", "sink.wav", in_="bad", path=str(tmp_path / "out" / "late.wav"))
    with pytest.raises(ge.NodeRunError, match=r"bad.*boom") as info:
        g.run(cache=False, registry=_failing_registry())
    assert isinstance(info.value.__cause__, RuntimeError)
    leftovers = list(tmp_path.rglob("*"))
    assert leftovers == [], "no file, and not the out/ folder made for them"


def test_memory_budget_refuses_huge_outputs_before_allocating() -> None:
    g = ge.Graph(sample_rate=SR)
    g.add("osc", "source.tone", duration_s=1e9)
    with pytest.raises(ge.GraphError, match=r"osc\.out \[source\.tone\].*memory budget"):
        g.run(outputs=["osc"], cache=False)


def test_node_code_hash_is_in_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import sys

    from graphengine import codehash
    from graphengine.plan import node_key
    from graphengine.validate import ValidNode

    source = '''
from graphengine.node import node, param
from graphengine.types import Audio

@node("test.scale", version=1)
def scale(in_: Audio, *, factor: float = param(1.0)) -> Audio:
    """Scale."""
    return in_.with_samples(in_.samples * factor)
'''
    (tmp_path / "scale_nodes.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("scale_nodes")
    key = node_key(ValidNode("s", module.scale.spec, {}, {"factor": 1.0}), {})
    (tmp_path / "scale_nodes.py").write_text(source.replace("* factor", "* factor * 2"))
    codehash.forget()
    module = importlib.reload(module)
    changed = node_key(ValidNode("s", module.scale.spec, {}, {"factor": 1.0}), {})
    sys.modules.pop("scale_nodes", None)
    assert key.key != changed.key
    assert key.material["code"] != changed.material["code"]


def test_node_context_reaches_nodes(tmp_path: Path) -> None:
    seen: list[NodeContext] = []

    @node("test.peek", version=1)
    def peek(in_: Audio, *, ctx: NodeContext, label: str = param("x")) -> Audio:
        """Record the context."""
        seen.append(ctx)
        return in_

    registry = Registry({spec.type_id: spec for spec in default_registry()})
    registry.add(peek.spec)
    g = ge.Graph(sample_rate=22050)
    g.add("osc", "source.tone", duration_s=0.01)
    g.add("p", "test.peek", in_="osc")
    g.run(outputs=["p"], cache=False, registry=registry)
    assert seen[0].node_id == "p" and seen[0].sample_rate == 22050


def test_extra_outputs_are_committed_with_the_run(tmp_path: Path) -> None:
    @node("test.chunks", version=1)
    def chunks(in_: Audio, *, path: ge.OutputPath = param(), ctx: NodeContext) -> None:
        """Write the input and two halves of it."""
        np.save(path, in_.samples)
        half = in_.frames // 2
        final = ctx.final_path(path)
        for index, part in enumerate((in_.samples[:, :half], in_.samples[:, half:])):
            with open(ctx.output_path(final.replace(".npy", f"-{index}.npy")), "wb") as handle:
                np.save(handle, part)

    registry = Registry({spec.type_id: spec for spec in default_registry()})
    registry.add(chunks.spec)
    g = ge.Graph(sample_rate=SR)
    g.add("osc", "source.tone", duration_s=0.01)
    g.add("out", "test.chunks", in_="osc", path=str(tmp_path / "all.npy"))
    result = g.run(cache=tmp_path / "cache", registry=registry)
    names = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert names == [
        "all-0.npy",
        "all-0.npy.graph.json",
        "all-1.npy",
        "all-1.npy.graph.json",
        "all.npy",
        "all.npy.graph.json",
    ]
    assert len(result.outputs) == 3
    whole = np.load(tmp_path / "all.npy")
    parts = [np.load(tmp_path / f"all-{i}.npy") for i in (0, 1)]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
    assert [s.status for s in g.run(cache=tmp_path / "cache", registry=registry).stats] == [
        "cached",
        "cached",
    ]
    (tmp_path / "all-1.npy").unlink()
    again = g.run(cache=tmp_path / "cache", registry=registry)
    assert {s.node: s.status for s in again.stats}["out"] == "computed"
    assert (tmp_path / "all-1.npy").is_file()


def test_an_auto_converter_is_inserted_once_per_source() -> None:
    @node("test.to_spectrum", version=1, auto_convert=True)
    def to_spectrum(in_: Audio) -> Spectrum:
        """FFT of the whole signal."""
        return Spectrum(np.fft.rfft(in_.samples)[:, :, None], in_.frames, in_.frames, "boxcar", 1.0)

    @node("test.energy", version=1)
    def energy(in_: Spectrum, *, scale: float = param(1.0)) -> Vector:
        """Total energy times a scale."""
        return Vector([scale * float(np.sum(np.abs(in_.data) ** 2))], ["energy"])

    others = {s.type_id: s for s in default_registry() if not s.auto_convert}
    registry = Registry(others)  # without spectral.stft: two converters would be ambiguous
    registry.add(to_spectrum.spec)
    registry.add(energy.spec)
    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.tone", duration_s=0.01)
    g.add("e1", "test.energy", in_="src")
    g.add("e2", "test.energy", in_="src", scale=2.0)
    result = g.run(outputs=["e1", "e2"], cache=False, registry=registry)
    assert [s.node for s in result.stats] == ["src", "src--test-to_spectrum", "e1", "e2"]
    assert result["e2"].values[0] == pytest.approx(2 * result["e1"].values[0])
    samples = g.run(outputs=["src"], cache=False, registry=registry)["src"].samples
    parseval = np.sum(np.abs(np.fft.rfft(samples)) ** 2)
    assert result["e1"].values[0] == pytest.approx(parseval, rel=1e-5)


def test_a_spectrum_must_have_the_bins_of_its_n_fft() -> None:
    # The port type keeps its own invariant, so no node checks it again.
    with pytest.raises(ValueError, match=r"n_fft // 2 \+ 1 = 513 bins, got 512"):
        ge.Spectrum(np.ones((1, 512, 4)), 1024, 256, "hann", 22050)
