"""Streaming: block-size invariance, regions around whole-signal barriers, caching, memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import graphengine as ge
from graphengine.blocks import stream
from graphengine.node import NodeContext, node
from graphengine.registry import Registry, default_registry
from graphengine.types import Audio
from nodes.effect.gain import Gain
from nodes.signal.mix import Mix
from nodes.sink.audio import Wav
from nodes.source.file import AudioFile
from nodes.source.generators import Noise, Tone
from support import barrier_graph, cli_env

SR = 44100.0
BLOCKS = (1, 7, 64, 4096)


def ctx_for(cls: type, node_id: str = "n") -> NodeContext:
    return NodeContext(node_id, cls.spec.type_id, SR, Path("."))


def whole(cls: type, inputs: list, **params) -> np.ndarray:
    defaults = {p.name: p.default for p in cls.spec.params if not p.required}
    return cls.spec.function(*inputs, ctx=ctx_for(cls), **(defaults | params)).samples


def blocked(cls: type, inputs: list, block_size: int, shape: tuple[int, int], **params):
    defaults = {p.name: p.default for p in cls.spec.params if not p.required}
    flat = inputs[0] if cls.kind == "mixer" else inputs
    return stream(
        cls,
        flat,
        defaults | params,
        sample_rate=SR,
        block_size=block_size,
        channels=shape[0],
        frames=shape[1],
        ctx=ctx_for(cls),
    )


def assert_block_invariant(cls: type, inputs: list, **params) -> np.ndarray:
    reference = whole(cls, inputs, **params)
    for block_size in BLOCKS:
        got = blocked(cls, inputs, block_size, reference.shape, **params)
        np.testing.assert_allclose(got, reference, rtol=0, atol=1e-6, err_msg=f"{block_size=}")
    return reference


@pytest.mark.parametrize("waveform", ["sine", "square", "saw", "triangle"])
def test_tone_is_block_size_invariant(waveform: str) -> None:
    out = assert_block_invariant(
        Tone, [], waveform=waveform, frequency=1234.5, duration_s=0.02, phase=0.3, channels=2
    )
    assert out.shape == (2, round(0.02 * SR))


@pytest.mark.parametrize("color", ["white", "pink", "brown"])
def test_noise_is_block_size_invariant(color: str) -> None:
    assert_block_invariant(Noise, [], color=color, duration_s=0.02, seed=11, channels=2)


@pytest.mark.parametrize("rate,mono", [(44100, False), (48000, False), (22050, True)])
def test_file_source_is_block_size_invariant(tmp_path: Path, rate: int, mono: bool) -> None:
    path = tmp_path / "in.wav"
    data = np.random.default_rng(3).uniform(-0.5, 0.5, (int(rate * 0.03), 2))
    sf.write(path, data, rate, subtype="FLOAT")
    out = assert_block_invariant(AudioFile, [], path=str(path), mono=mono)
    assert out.shape[0] == (1 if mono else 2)


def test_gain_and_mix_are_block_size_invariant() -> None:
    rng = np.random.default_rng(5)
    stereo = Audio(rng.uniform(-1, 1, (2, 700)).astype(np.float32), SR)
    mono = Audio(rng.uniform(-1, 1, (1, 500)).astype(np.float32), SR)
    assert_block_invariant(Gain, [stereo], gain_db=-7.5)
    mixed = assert_block_invariant(Mix, [[stereo, mono]], gains=[0.5, 2.0])
    expected = 0.5 * stereo.samples
    expected[:, :500] += 2.0 * mono.samples
    np.testing.assert_allclose(mixed, expected, atol=1e-6)


def test_wav_sink_writes_the_same_file_in_any_block_size(tmp_path: Path) -> None:
    audio = Audio(np.random.default_rng(2).uniform(-1.2, 1.2, (2, 900)).astype(np.float32), SR)
    Wav.spec.function(audio, ctx=ctx_for(Wav), path=str(tmp_path / "whole.wav"), subtype="PCM_24")
    for block_size in BLOCKS:
        target = tmp_path / f"b{block_size}.wav"
        blocked(Wav, [audio], block_size, (2, 900), path=str(target), subtype="PCM_24")
        assert target.read_bytes() == (tmp_path / "whole.wav").read_bytes()


def chain_graph(tmp_path: Path) -> ge.Graph:
    g = ge.Graph(sample_rate=SR, seed=4)
    g.add("a", "source.tone", waveform="saw", frequency="A3", duration_s=0.05, channels=2)
    g.add("b", "source.noise", color="pink", duration_s=0.04, amplitude=0.05)
    g.add("mix", "signal.mix", in_=["a", "b"], gains=[0.5, 1.0])
    g.add("loud", "effect.gain", in_="mix", gain_db=3.0)
    g.add("out", "sink.wav", in_="loud", path=str(tmp_path / "chain.wav"), subtype="FLOAT")
    return g


def test_a_mixed_chain_renders_the_same_in_any_block_size(tmp_path: Path) -> None:
    graph = chain_graph(tmp_path)
    graph.run(cache=False, block_size=1 << 20)
    reference, _ = sf.read(tmp_path / "chain.wav", dtype="float32")
    for block_size in BLOCKS:
        graph.run(cache=False, block_size=block_size)
        got, _ = sf.read(tmp_path / "chain.wav", dtype="float32")
        np.testing.assert_allclose(got, reference, atol=1e-6, err_msg=f"{block_size=}")


def _with_reverse() -> Registry:
    @node("test.reverse", version=1)
    def reverse(in_: Audio) -> Audio:
        """Reverse in time (a whole-signal node)."""
        return in_.with_samples(in_.samples[:, ::-1])

    registry = Registry({spec.type_id: spec for spec in default_registry()})
    registry.add(reverse.spec)
    return registry


def test_whole_signal_barrier_between_two_streaming_chains(tmp_path: Path) -> None:
    g = barrier_graph("test.reverse", SR, 0.05, tmp_path / "rev.wav", subtype="FLOAT")
    registry = _with_reverse()
    result = g.run(outputs=["both", "osc"], cache=False, registry=registry, block_size=100)
    osc = result["osc"].samples
    expected = osc[:, ::-1] * np.float32(10 ** (-6 / 20)) ** 2 + osc
    np.testing.assert_allclose(result["both"].samples, expected, atol=1e-6)
    g.run(cache=False, registry=registry, block_size=100)
    written, _ = sf.read(tmp_path / "rev.wav", dtype="float32", always_2d=True)
    np.testing.assert_allclose(written.T, expected, atol=1e-6)


def test_streamed_outputs_are_cached(tmp_path: Path) -> None:
    graph = chain_graph(tmp_path)
    cache = tmp_path / "cache"
    first = graph.run(cache=cache)
    assert [s.status for s in first.stats] == ["computed"] * 5
    assert all(s.bytes > 0 for s in first.stats if s.node != "out")
    again = graph.run(params={"loud.gain_db": 0.0}, cache=cache)
    status = {s.node: s.status for s in again.stats}
    assert status == {
        "a": "cached",
        "b": "cached",
        "mix": "cached",
        "loud": "computed",
        "out": "computed",
    }
    written, _ = sf.read(tmp_path / "chain.wav", dtype="float32", always_2d=True)
    np.testing.assert_allclose(written.T, again["mix"].samples, atol=1e-6)


PEAK_RSS = """
import json, sys
import graphengine as ge
g = ge.Graph(sample_rate=44100)
seconds = float(sys.argv[1])
g.add("osc", "source.tone", waveform="saw", frequency=110.0, duration_s=seconds, channels=2)
g.add("quiet", "effect.gain", in_="osc", gain_db=-6)
g.add("out", "sink.wav", in_="quiet", path=sys.argv[2], subtype="FLOAT")
g.run(cache=False)
with open("/proc/self/status") as status:  # VmHWM: ru_maxrss would keep pytest's size
    print(next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM")))
"""


@pytest.mark.slow
def test_memory_stays_bounded_as_the_signal_grows(tmp_path: Path) -> None:
    def peak(seconds: float) -> int:
        done = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, str(seconds), str(tmp_path / "long.wav")],
            env=cli_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    short, long = peak(30.0), peak(240.0)
    whole_signal = 240 * 44100 * 2 * 4  # one copy of the 4-minute signal: 85 MB
    assert long - short < whole_signal / 4, f"peak RSS grew by {(long - short) / 2**20:.0f} MiB"
    assert sf.info(tmp_path / "long.wav").frames == 240 * 44100
