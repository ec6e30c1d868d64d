"""The node contract, checked on every registered node.

- every parameter default is a valid value of its own spec (type, range, choices);
- a parameter with a unit carries it in its name;
- every streaming node, run with its docstring example's parameters, gives the
  same samples in blocks of 1, 7, 64 and 4096 frames as over the whole signal.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from node_harness import kernel_specs

from graphengine.blocks import stream
from graphengine.node import REQUIRED, UNIT_SUFFIXES, UNIT_WITHOUT_SUFFIX, NodeContext
from graphengine.registry import default_registry
from graphengine.types import Audio
from graphengine.validate import convert_param

SR = 44100.0
REGISTRY = default_registry()
STREAMING = [spec for spec in REGISTRY if spec.streaming]


@pytest.mark.parametrize("spec", list(REGISTRY), ids=lambda s: s.type_id)
def test_defaults_are_valid_and_units_are_in_names(spec) -> None:
    for param in spec.params:
        if param.default is not REQUIRED:
            convert_param(param, param.default, Path.cwd())
        if param.unit is None:
            continue
        suffixes = [s for s, unit in UNIT_SUFFIXES.items() if unit == param.unit]
        named = any(param.name.endswith(s) for s in suffixes)
        assert named or UNIT_WITHOUT_SUFFIX.get(param.name) == param.unit, (
            f"{spec.type_id}.{param.name} has unit {param.unit} but no matching suffix"
        )


def _example_params(spec, tmp_path: Path) -> dict:
    """Parameters from the docstring example, converted as validation would, paths made real."""
    table = next(iter(tomllib.loads(spec.example)["nodes"].values()))
    params = {}
    for param in spec.params:
        value = table.get(param.name, param.default)
        if param.kind == "input_path":
            value = str(tmp_path / Path(value).name)
            sf.write(value, np.random.default_rng(1).uniform(-0.5, 0.5, (3000, 2)), 48000)
        elif param.kind == "output_path":
            value = str(tmp_path / Path(value).name)
        elif param.name == "seed" and value is None:
            value = 5
        params[param.name] = convert_param(param, value, tmp_path)
    return params


def _input(channels: int, frames: int, seed: int) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio(rng.uniform(-0.8, 0.8, (channels, frames)).astype(np.float32), SR)


@pytest.mark.parametrize("spec", STREAMING, ids=lambda s: s.type_id)
def test_streaming_nodes_are_block_size_invariant(spec, tmp_path: Path) -> None:
    cls = spec.block_class
    params = _example_params(spec, tmp_path)
    if cls.kind == "source" and "duration_s" in params:
        params["duration_s"] = min(params["duration_s"], 0.05)
    inputs = []
    if cls.kind in ("effect", "sink"):
        inputs = [_input(2, 1500, 2)]
    elif cls.kind == "mixer":
        inputs = [_input(2, 1500, 3), _input(2, 900, 4)]
        if params.get("gains"):
            params["gains"] = params["gains"][:2] + [1.0] * (2 - len(params["gains"][:2]))
    ctx = NodeContext("n", spec.type_id, SR, tmp_path)
    flat = [inputs] if cls.kind == "mixer" else inputs
    reference = spec.function(*flat, ctx=ctx, **params)
    files = {}
    if cls.kind == "sink":
        files = {p: Path(params[p]).read_bytes() for p in spec.output_paths}
        channels, frames = 2, 1500
    else:
        channels, frames = reference.samples.shape
    for block_size in (1, 7, 64, 4096):
        if block_size == 1 and frames > 5000:
            continue
        got = stream(
            cls,
            inputs,
            params,
            sample_rate=SR,
            block_size=block_size,
            channels=channels,
            frames=frames,
            ctx=ctx,
        )
        if cls.kind == "sink":
            for name, content in files.items():
                assert Path(params[name]).read_bytes() == content, f"{block_size=}"
        else:
            np.testing.assert_allclose(
                got, reference.samples, atol=1e-6, rtol=0, err_msg=f"{block_size=}"
            )


KERNELS = kernel_specs()


@pytest.mark.parametrize("spec", KERNELS, ids=lambda s: s.type_id)
def test_a_kernel_computes_what_process_does(spec, tmp_path: Path) -> None:
    """The kernel protocol (``BlockNode.kernel``): ``fn(block, *args)`` is ``process(block)``,
    block after block, with its state carried in ``args``."""
    from graphengine.blocknode import StreamSpec

    cls = spec.block_class
    params = _example_params(spec, tmp_path)
    widths = (2, 2) if cls.kind == "mixer" else (2,)
    stream_spec = StreamSpec(SR, 2, 512, 2048, widths, (2048,) * len(widths))
    if params.get("gains"):
        params["gains"] = (params["gains"] + [1.0, 1.0])[:2]
    nodes = []
    for _ in range(2):
        node = cls(NodeContext("n", spec.type_id, SR, tmp_path), **params)
        node.prepare(stream_spec)
        node.reset()
        nodes.append(node)
    by_process, by_kernel = nodes
    kernel = by_kernel.kernel()
    assert kernel is not None, f"{spec.type_id} defines kernel() but returns None"
    fn, args = kernel
    signals = [_input(2, 2048, seed) for seed in range(len(widths))]
    for start in range(0, 2048, 512):
        blocks = [s.samples[:, start : start + 512].copy() for s in signals]
        if cls.kind == "mixer":
            want = by_process.process([b.copy() for b in blocks])
            got = fn(tuple(blocks), *args)
        else:
            want = by_process.process(blocks[0].copy())
            got = fn(blocks[0], *args)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=f"{start=}")
