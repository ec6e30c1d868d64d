"""Features for training: the graph run once per file through the engine's public API.

Each run sets the graph parameter (or ``node.param``) ``input_param`` to one
file's path and keeps ``output_node``'s value. The engine's cache serves what
an earlier run computed, so retraining with the same graph and files costs
no feature extraction; :class:`Extraction` counts what was computed and what
came from the cache.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import graphengine as ge
from graphengine.errors import GraphError
from nodes.model.training import Progress, ProgressCallback, quiet


@dataclass
class Extraction:
    """Values produced by the graph per input, and what the engine's cache served."""

    values: list[Any]
    computed: int = 0
    cached: int = 0
    seconds: float = 0.0
    graph: dict[str, Any] = field(default_factory=dict)


def extract(
    graph_path: str | os.PathLike,
    inputs: Sequence[str | None],
    input_param: str | None,
    output_node: str,
    cache: bool | str | os.PathLike = True,
    overrides: dict[str, Any] | None = None,
    log: Callable[[str], None] = quiet,
    progress: ProgressCallback | None = None,
) -> Extraction:
    """Run the graph once per input (setting ``input_param``) and keep ``output_node``'s value.

    ``inputs`` may be ``[None]``: one run of the graph as it is. Progress goes
    to ``progress`` (stage ``features``, one step per input) when given, else
    to ``log`` every tenth of the inputs.
    """
    graph = ge.load(graph_path)
    result = Extraction([])
    started = time.perf_counter()
    report_every = max(1, len(inputs) // 10)
    for number, path in enumerate(inputs, start=1):
        params = dict(overrides or {})
        if input_param is not None and path is not None:
            params[input_param] = str(path)
        try:
            run = graph.run(params, outputs=[output_node], cache=cache)
            value = run[output_node]
        except KeyError as error:
            raise GraphError(
                f"{graph_path}: --output-node {output_node}: {error.args[0]}"
            ) from None
        except GraphError as error:
            where = f" (input {path})" if path else ""
            error.file = f"{error.file or graph_path}{where}"
            raise
        for stat in run.stats:
            if stat.status == "computed":
                result.computed += 1
            else:
                result.cached += 1
        result.values.append(value)
        if number == 1:
            result.graph = _graph_info(run, output_node, input_param)
        if progress is not None:
            progress(Progress("features", number, len(inputs)))
        elif number % report_every == 0 or number == len(inputs):
            log(f"features: {number}/{len(inputs)} inputs")
    result.seconds = time.perf_counter() - started
    return result


def _graph_info(run: ge.Result, output_node: str, input_param: str | None) -> dict[str, Any]:
    """The graph name, output and the parameters of every node that feeds the output."""
    valid = run.valid
    feature_params: dict[str, Any] = {}
    for stat in run.stats:
        info = valid.nodes[stat.node]
        if info.spec.input_paths:
            continue  # the per-file source: its path changes with every input
        feature_params[stat.node] = {"type": info.type, **_plain(dict(info.params))}
    return {
        "name": valid.graph.name,
        "sample_rate": float(valid.graph.sample_rate),
        "output_node": output_node,
        "input_param": input_param,
        "nodes": feature_params,
    }


def _plain(value: Any) -> Any:
    """``value`` as JSON: dicts and lists kept, other non-scalars as strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)
