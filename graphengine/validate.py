"""Every check that runs before anything is computed.

Validation takes a :class:`ResolvedGraph` and either raises one
:class:`GraphError` listing every problem, or returns a :class:`ValidGraph`:
parameters converted to what nodes receive (pitch names to Hz, relative paths
to absolute ones, unset seeds derived from the graph seed and node id),
connections checked edge by edge, a deterministic topological order, and the
shape of every output inferred without allocating anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from graphengine.errors import (
    CycleError,
    GraphError,
    NodeError,
    ParamError,
    PortError,
    raise_collected,
)
from graphengine.fsutil import os_error_reason
from graphengine.graph import SIDECAR_SUFFIX, PortRef, ResolvedGraph
from graphengine.graphfile import did_you_mean
from graphengine.node import NYQUIST, REQUIRED, NodeContext, NodeSpec, ParamSpec, PortInfo
from graphengine.pitch import PitchError, to_hz
from graphengine.registry import Registry
from graphengine.toposort import Digraph
from graphengine.types import ANY, Value, compatible

DEFAULT_MEMORY_BUDGET = 4 << 30
"""Largest output (bytes) a node may produce unless the caller allows more."""


@dataclass
class ValidNode:
    """A node ready to plan: its spec, resolved connections and converted parameters."""

    id: str
    spec: NodeSpec
    inputs: dict[str, tuple[PortRef, ...]]
    params: dict[str, Any]
    info: dict[str, PortInfo] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.spec.type_id

    def sources(self) -> dict[str, tuple[str, ...]]:
        """Input port -> the ``"node.port"`` outputs feeding it, in connection order."""
        return {
            port: tuple(f"{ref.node}.{ref.port}" if ref.port else ref.node for ref in refs)
            for port, refs in self.inputs.items()
        }


@dataclass
class ValidGraph:
    """A validated graph: nodes in a deterministic topological order."""

    graph: ResolvedGraph
    nodes: dict[str, ValidNode]
    order: list[str]
    provided: frozenset[str] = frozenset()

    @property
    def file(self) -> str | None:
        return self.graph.file

    def consumers(self) -> dict[str, list[str]]:
        """Node id -> ids of the nodes that read its outputs."""
        result: dict[str, dict[str, None]] = {node_id: {} for node_id in self.nodes}
        for node in self.nodes.values():
            for refs in node.inputs.values():
                for ref in refs:
                    result[ref.node][node.id] = None  # a dict: ordered, each reader once
        return {node_id: list(readers) for node_id, readers in result.items()}

    @cached_property
    def position(self) -> dict[str, int]:
        """Node id -> its index in :attr:`order`."""
        return {node_id: index for index, node_id in enumerate(self.order)}

    def in_order(self, node_ids: Iterable[str]) -> list[str]:
        """The given node ids in topological order: O(k log k) for k ids."""
        return sorted(node_ids, key=self.position.__getitem__)

    def ancestors(self, node_ids: set[str]) -> set[str]:
        """The given nodes and every node they depend on."""
        found: set[str] = set()
        pending = list(node_ids)
        while pending:
            node_id = pending.pop()
            if node_id in found:
                continue
            found.add(node_id)
            for refs in self.nodes[node_id].inputs.values():
                pending.extend(ref.node for ref in refs)
        return found


def derive_seed(graph_seed: int, node_id: str) -> int:
    """A node's seed from the graph seed and its id (stable across runs and platforms)."""
    digest = hashlib.sha256(f"{graph_seed}:{node_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"


# -- parameters -----------------------------------------------------------------


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def convert_param(spec: ParamSpec, value: Any, base_dir: Path) -> Any:
    """Check one parameter value and convert it to what the node receives.

    Raises ``ValueError`` with a message (without the node/param location).
    """
    if value is None:
        if spec.nullable:
            return None
        raise ValueError("must be set (no value given)")
    kind = spec.kind
    if kind in ("float", "int"):
        if not _number(value) or (kind == "int" and not _is_integral(value)):
            raise ValueError(
                f"expects {'an integer' if kind == 'int' else 'a number'}, got {_describe(value)}"
            )
        if not math.isfinite(_as_float(value)):
            raise ValueError(f"must be finite, got {value}")
        value = int(value) if kind == "int" else _as_float(value)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expects true or false, got {_describe(value)}")
    elif kind in ("str", "input_path", "output_path"):
        if not isinstance(value, str):
            raise ValueError(f"expects a string, got {_describe(value)}")
        if kind != "str":
            if not value.strip():
                raise ValueError("expects a file path, got an empty string")
            value = _absolute_path(value, base_dir)
    elif kind == "pitch":
        if not (_number(value) or isinstance(value, str)):
            raise ValueError(f"expects Hz or a pitch name like 'A4', got {_describe(value)}")
        try:
            value = to_hz(value)
        except PitchError as error:
            raise ValueError(str(error)) from None
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"must be a positive number of Hz, got {value}")
    elif kind.endswith("_list"):
        value = _convert_list(kind, value)
    _check_bounds(spec, value)
    return value


def _as_float(value: float | int) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{value} is too large") from None


def _is_integral(value: float | int) -> bool:
    return isinstance(value, int) or (math.isfinite(value) and float(value).is_integer())


def _absolute_path(value: str, base_dir: Path) -> str:
    try:
        return str((base_dir / Path(value).expanduser()).resolve())
    except (RuntimeError, ValueError, OSError) as error:
        raise ValueError(f"not a usable file path: {value!r} ({error})") from None


def _convert_list(kind: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"expects a list, got {_describe(value)}")
    if kind == "str_list":
        if not all(isinstance(v, str) for v in value):
            raise ValueError(f"expects a list of strings, got {value!r}")
        return list(value)
    if not all(_number(v) for v in value):
        raise ValueError(f"expects a list of numbers, got {value!r}")
    if not all(math.isfinite(_as_float(v)) for v in value):
        raise ValueError(f"must hold finite numbers, got {value!r}")
    if kind == "int_list":
        if not all(_is_integral(v) for v in value):
            raise ValueError(f"expects a list of integers, got {value!r}")
        return [int(v) for v in value]
    return [_as_float(v) for v in value]


_FAILED = {"<": "is not below", "<=": "is above", ">": "is not above", ">=": "is below"}
"""How a value that breaks each comparison is described."""


def _holds(op: str, value: float, bound: float) -> bool:
    if op == "<":
        return value < bound
    if op == "<=":
        return value <= bound
    if op == ">":
        return value > bound
    return value >= bound


def _fmt(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _is_folder(path: str) -> bool:
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):  # a name too long, say: the path check reports it
        return False


def _check_bounds(spec: ParamSpec, value: Any) -> None:
    """Choices, ``range`` and numeric ``above``/``below`` (references: :func:`_relation_errors`)."""
    items = value if isinstance(value, list) else [value]
    if spec.choices is not None:
        for item in items:
            if item not in spec.choices:
                hint = did_you_mean(str(item), spec.choices)
                options = ", ".join(str(c) for c in spec.choices)
                raise ValueError(f"{item!r} is not one of {options}{hint}")
    wrong_suffix = (
        spec.suffix is not None
        and isinstance(value, str)
        and Path(value).suffix.lower() != spec.suffix
        and not _is_folder(value)  # a folder: the path check says so
    )
    if wrong_suffix:
        raise ValueError(f"{Path(value).name!r} does not end in {spec.suffix}")
    unit = f" {spec.unit}" if spec.unit else ""
    for item in items:
        if not _number(item):
            continue
        if spec.range is not None:
            low, high = spec.range
            if (low is not None and item < low) or (high is not None and item > high):
                bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
                raise ValueError(f"{item}{unit} is out of range {bounds}{unit}")
        for op, bound in spec.bounds():
            if not isinstance(bound, str) and not _holds(op, item, bound):
                raise ValueError(f"{_fmt(item)}{unit} {_FAILED[op]} {_fmt(bound)}{unit}")


def _relation_errors(node: ValidNode, rate: float) -> list[GraphError]:
    """The bounds that name another parameter or Nyquist (``rate``: the node's audio rate, Hz)."""
    errors: list[GraphError] = []
    units = {p.name: f" {p.unit}" if p.unit else "" for p in node.spec.params}
    for spec in node.spec.params:
        value = node.params.get(spec.name)
        if value is None:
            continue
        for op, bound in spec.bounds():
            if not isinstance(bound, str):
                continue
            if bound == NYQUIST:
                limit = rate / 2.0
                what = f"Nyquist ({limit:g} Hz at {rate:g} Hz)"
            else:
                limit = node.params.get(bound)
                if limit is None:
                    continue
                what = f"{bound} ({_fmt(limit)}{units[bound]})"
            items = value if isinstance(value, list) else [value]
            bad = next((v for v in items if _number(v) and not _holds(op, v, limit)), None)
            if bad is not None:
                message = f"{_fmt(bad)}{units[spec.name]} {_FAILED[op]} {what}"
                errors.append(ParamError(node.id, spec.name, message, node.type))
                break
    return errors


def _path_problem(path: str, kind: str) -> str | None:
    """Why a file parameter's path cannot be read (``input_path``) or written (None: fine)."""
    problem, verb = (
        (_readable_problem, "read") if kind == "input_path" else (_writable_problem, "write")
    )
    try:
        return problem(Path(path))
    except (OSError, ValueError) as error:
        return f"cannot {verb} {path}: {error}"


def _readable_problem(target: Path) -> str | None:
    path = str(target)
    if not target.exists():
        return f"no such file: {path}"
    if not target.is_file():
        return f"not a file: {path}"
    if not os.access(target, os.R_OK):
        return f"file is not readable: {path}"
    return None


def _probe_write(folder: Path) -> str | None:
    """Why a file cannot be made in ``folder`` (None: it can), found by making one.

    ``os.access`` says yes to root everywhere, also in /proc or on a read-only
    mount; a real file (removed at once) is the only sure test.
    """
    try:
        fd, probe = tempfile.mkstemp(prefix=".graphengine-probe-", dir=folder)
    except OSError as error:
        return os_error_reason(error.errno, str(error))
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


def _writable_problem(target: Path) -> str | None:
    path = str(target)
    if target.is_dir():
        return f"output path is a directory: {path}"
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot create {path}: {parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot write to {parent}"
    problem = _probe_write(parent)
    if problem:
        return f"cannot write to {parent}: {problem}"
    name_max = os.pathconf(parent, "PC_NAME_MAX")
    for part in target.relative_to(parent).parts:
        if len(os.fsencode(part)) > name_max:
            return (
                f"file name too long ({len(os.fsencode(part))} bytes, at most {name_max}): {part}"
            )
    if target.exists() and not os.access(target, os.W_OK):
        return f"cannot overwrite {path}"
    return None


def _convert_params(
    node_id: str,
    spec: NodeSpec,
    raw: Mapping[str, Any],
    graph: ResolvedGraph,
    provided: bool,
    base_dir: Path,
) -> tuple[dict[str, Any], list[GraphError]]:
    params: dict[str, Any] = {}
    errors: list[GraphError] = []
    for param in spec.params:
        if param.name not in raw:
            if param.default is REQUIRED:
                if not provided:
                    errors.append(ParamError(node_id, param.name, "is required", spec.type_id))
                continue
            value = param.default
        else:
            value = raw[param.name]
        try:
            value = convert_param(param, value, base_dir)
        except ValueError as error:
            errors.append(ParamError(node_id, param.name, str(error), spec.type_id))
            continue
        if param.name == "seed" and value is None:
            value = derive_seed(graph.seed, node_id)
        if value is None:  # an optional file left unset
            pass
        elif (param.kind == "input_path" and not provided) or param.kind == "output_path":
            problem = _path_problem(value, param.kind)
            if problem:
                errors.append(ParamError(node_id, param.name, problem, spec.type_id))
        params[param.name] = value
    return params, errors


# -- connections ----------------------------------------------------------------


def _check_connections(
    nodes: dict[str, ValidNode],
    registry: Registry,
    provided: frozenset[str],
    unresolved: frozenset[str],
) -> tuple[list[GraphError], set[str]]:
    """Errors of every connection, and the nodes reading one the loader could not resolve."""
    errors: list[GraphError] = []
    cut: set[str] = set()
    for node in list(nodes.values()):
        spec = node.spec
        resolved: dict[str, tuple[PortRef, ...]] = {}
        for port in spec.inputs:
            refs = node.inputs.get(port.name, ())
            if not refs:
                if not port.optional and node.id not in provided:
                    errors.append(
                        PortError(
                            node.id, port.name, "required input is not connected", spec.type_id
                        )
                    )
                continue
            if len(refs) > 1 and not port.variadic:
                errors.append(
                    PortError(node.id, port.name, f"takes one input, got {len(refs)}", spec.type_id)
                )
                continue
            good = []
            for ref in refs:
                if ref.node in unresolved:  # reported by the loader; nothing more to say
                    cut.add(node.id)
                    continue
                checked = _check_ref(node, port.name, port.type, ref, nodes, registry)
                if isinstance(checked, GraphError):
                    errors.append(checked)
                else:
                    good.append(checked)
            resolved[port.name] = tuple(good)
        node.inputs = resolved
    return errors, cut


def _check_ref(
    node: ValidNode,
    port: str,
    port_type: str,
    ref: PortRef,
    nodes: dict[str, ValidNode],
    registry: Registry,
) -> PortRef | GraphError:
    source = nodes.get(ref.node)
    if source is None:
        hint = did_you_mean(ref.node, nodes)
        return PortError(node.id, port, f"no node {ref.node!r}{hint}", node.type)
    out_name = ref.port or source.spec.default_output
    if out_name is None:
        return PortError(node.id, port, f"{ref.node} [{source.type}] has no outputs", node.type)
    output = source.spec.output(out_name)
    if output is None:
        names = [p.name for p in source.spec.outputs]
        return PortError(
            node.id,
            port,
            f"{source.type} {ref.node!r} has no output {out_name!r}{did_you_mean(out_name, names)}"
            f" (outputs: {', '.join(names)})",
            node.type,
        )
    if not compatible(output.type, port_type):
        candidates = registry.converters(output.type, port_type)
        automatic = [t for t in candidates if registry.get(t).auto_convert]
        if len(automatic) == 1:
            return _insert_converter(nodes, registry.get(automatic[0]), PortRef(ref.node, out_name))
        converters = registry.converters(output.type, port_type) if port_type != ANY else []
        hint = f"; put a {' or '.join(converters)} node between them" if converters else ""
        return PortError(
            node.id,
            port,
            f"expects {port_type}, got {output.type} from {ref.node}.{out_name}{hint}",
            node.type,
        )
    return PortRef(ref.node, out_name)


def _insert_converter(nodes: dict[str, ValidNode], spec: NodeSpec, source: PortRef) -> PortRef:
    """Put one converter with default parameters after ``source``, shared by all its readers.

    Its id is ``<source>--<converter type>`` (e.g. ``src--spectral-stft``), so
    it shows in statistics and provenance like any node.
    """
    suffix = "" if source.port == nodes[source.node].spec.default_output else f"-{source.port}"
    node_id = f"{source.node}{suffix}--{spec.type_id.replace('.', '-')}"
    if node_id not in nodes:
        params = {}
        for param in spec.params:
            if param.default is not REQUIRED:
                params[param.name] = convert_param(param, param.default, Path.cwd())
        nodes[node_id] = ValidNode(node_id, spec, {spec.inputs[0].name: (source,)}, params)
    return PortRef(node_id, spec.default_output)


def _topological_order(nodes: dict[str, ValidNode]) -> list[str]:
    graph = Digraph(nodes)
    for node in nodes.values():
        for refs in node.inputs.values():
            for ref in refs:
                graph.add_edge(ref.node, node.id)
    order = graph.order()
    if order is None:
        raise CycleError(graph.cycle() or [])
    return order


# -- shapes ---------------------------------------------------------------------


def _value_info(value: Value) -> dict[str, PortInfo]:
    arrays, meta = value.to_arrays()
    primary = next(iter(arrays.values()))
    names = getattr(value, "names", None) if value.port_type in ("vector", "features") else None
    return {
        "out": PortInfo(
            value.port_type,
            tuple(primary.shape),
            meta.get("sample_rate"),
            primary.dtype.itemsize,
            tuple(names) if names is not None else None,
        )
    }


def _input_rate(inputs: Mapping[str, Any]) -> float | None:
    """The sample rate of the first audio input whose rate is known."""
    for value in inputs.values():
        for info in value if isinstance(value, list) else [value]:
            if info is not None and info.sample_rate is not None:
                return float(info.sample_rate)
    return None


def _infer(
    valid: ValidGraph, values: Mapping[str, Value], budget: int, broken: set[str]
) -> list[GraphError]:
    """Output shapes node by node; a node with errors, and all below it, stays unknown.

    Nodes in ``broken`` already have errors: their outputs are left unknown and
    nothing downstream of them is checked further (what it would report
    follows from the error already found).
    """
    errors: list[GraphError] = []
    graph = valid.graph
    for node_id in valid.order:
        node = valid.nodes[node_id]
        node.info = {port.name: PortInfo(port.type) for port in node.spec.outputs}
        if node_id in values:
            info = _value_info(values[node_id])
            node.info = {port.name: info["out"] for port in node.spec.outputs[:1]}
            continue
        upstream = {ref.node for refs in node.inputs.values() for ref in refs}
        if node_id in broken or upstream & broken:
            broken.add(node_id)
            continue
        inputs: dict[str, Any] = {}
        for port in node.spec.inputs:
            infos = [
                valid.nodes[r.node].info.get(r.port or "") for r in node.inputs.get(port.name, ())
            ]
            if port.variadic:
                inputs[port.name] = [i or PortInfo(port.type) for i in infos]
            else:
                inputs[port.name] = (infos[0] or PortInfo(port.type)) if infos else None
        relations = _relation_errors(node, _input_rate(inputs) or graph.sample_rate)
        if relations:
            errors.extend(relations)
            broken.add(node_id)
            continue
        if node.spec.infer is None:
            continue
        ctx = NodeContext(
            node_id,
            node.type,
            graph.sample_rate,
            graph.base_dir,
            memory_budget=budget,
            sources=node.sources(),
        )
        try:
            node.info = dict(node.spec.infer(inputs, node.params, ctx))
        except GraphError as error:
            errors.append(error)
            broken.add(node_id)
            continue
        except Exception as error:  # an infer bug must not hide the graph's other errors
            message = f"check failed: {type(error).__name__}: {error}"
            errors.append(NodeError(node_id, None, message, node.type))
            broken.add(node_id)
            continue
        for port, info in node.info.items():
            if info.nbytes is not None and info.nbytes > budget:
                errors.append(
                    PortError(
                        node_id,
                        port,
                        f"output would hold {_format_bytes(info.nbytes)}, over the memory budget "
                        f"of {_format_bytes(budget)}",
                        node.type,
                    )
                )
    return errors


def validate(
    graph: ResolvedGraph,
    registry: Registry,
    *,
    values: Mapping[str, Value] | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> ValidGraph:
    """Run every check; raise one :class:`GraphError` listing all problems.

    Parameters
    ----------
    values : mapping, optional
        Node id -> value fed from Python in place of that node's output.
    memory_budget : int > 0
        Largest output in bytes any node may produce.
    """
    values = dict(values or {})
    provided = frozenset(values)
    errors: list[GraphError] = list(graph.errors)
    broken = {e.node_id for e in graph.errors if isinstance(e, NodeError)}
    reported = {(e.node_id, e.port_or_param) for e in graph.errors if isinstance(e, NodeError)}
    if not graph.nodes and not graph.unresolved:
        errors.append(GraphError("the graph has no nodes"))
    for node_id in values:
        if node_id not in graph.nodes:
            errors.append(
                GraphError(f"inputs: no node {node_id!r}{did_you_mean(node_id, graph.nodes)}")
            )
    nodes: dict[str, ValidNode] = {}
    for node_id, instance in graph.nodes.items():
        spec = registry.get(instance.type)
        assert spec is not None  # resolve() reported unknown types
        base_dir = instance.base_dir or graph.base_dir
        params, param_errors = _convert_params(
            node_id, spec, instance.params, graph, node_id in provided, base_dir
        )
        param_errors = [e for e in param_errors if (e.node_id, e.port_or_param) not in reported]
        errors.extend(param_errors)
        if param_errors:
            broken.add(node_id)
        nodes[node_id] = ValidNode(node_id, spec, dict(instance.inputs), params)
        value = values.get(node_id)
        if value is not None:
            expected = spec.outputs[0].type if spec.outputs else None
            if not isinstance(value, Value) or value.port_type != expected:
                message = f"inputs: expects a {expected} value, got {type(value).__name__}"
                errors.append(PortError(node_id, "out", message, spec.type_id))
    connection_errors, cut = _check_connections(nodes, registry, provided, graph.unresolved)
    broken |= cut | {e.node_id for e in connection_errors if isinstance(e, NodeError)}
    errors.extend(connection_errors)
    errors.extend(_check_output_clashes(nodes))
    errors.extend(_check_outputs_spare_what_is_read(nodes, graph))
    valid: ValidGraph | None = None
    try:
        valid = ValidGraph(graph, nodes, _topological_order(nodes), provided)
    except CycleError as error:
        errors.append(error)
    if valid is not None:
        errors.extend(_infer(valid, values, memory_budget, broken))
    raise_collected(_in_file_order(graph.locate(errors), graph), graph.file)
    assert valid is not None
    return valid


def _in_file_order(errors: list[GraphError], graph: ResolvedGraph) -> list[GraphError]:
    """Graph-wide problems first, then node by node in the order the file declares them."""
    position = {node_id: index for index, node_id in enumerate(graph.declared or graph.nodes)}

    def where(error: GraphError) -> int:
        node_id = getattr(error, "node_id", None)
        if node_id is None:
            return -1
        return position.get(node_id, position.get(node_id.split("--")[0], len(position)))

    return sorted(errors, key=where)


def _check_output_clashes(nodes: dict[str, ValidNode]) -> list[GraphError]:
    """Two sinks writing one file, or a file inside another's path.

    O(p * d) for p output paths of depth d: each path looks up its parents among
    the files written so far, and itself among their parents.
    """
    errors: list[GraphError] = []
    writers: dict[str, str] = {}
    order: dict[str, int] = {}  # when each path was first written
    below: dict[Path, str] = {}  # a parent folder of a written file -> the first such file
    for node in nodes.values():
        for name in node.spec.output_paths:
            path = node.params.get(name)
            if path is None:
                continue
            here = Path(path)
            nested = [str(p) for p in here.parents if str(p) in writers]
            if here in below:
                nested.append(below[here])
            if nested:
                other = min(nested, key=order.__getitem__)  # the first written, as reported
                message = (
                    f"{path} and {other} (written by {writers[other]}) would contain each other"
                )
                errors.append(ParamError(node.id, name, message, node.type))
            elif path in writers:
                errors.append(
                    ParamError(
                        node.id, name, f"{path} is also written by {writers[path]}", node.type
                    )
                )
            writers[path] = f"{node.id}.{name}"
            order.setdefault(path, len(order))
            for parent in here.parents:
                below.setdefault(parent, path)
    return errors


def _real(path: str | os.PathLike) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def _check_outputs_spare_what_is_read(
    nodes: dict[str, ValidNode], graph: ResolvedGraph
) -> list[GraphError]:
    """No output, and no output's sidecar, is a file the graph reads, its graph files, or
    another output (a sink's ``x.wav.graph.json`` would be overwritten by the other's)."""
    read: dict[str, str] = {}
    for file in (graph.file, *graph.node_files.values()):
        if file:
            read[_real(file)] = "the graph file"
    for node in nodes.values():
        for name in node.spec.input_paths:
            if node.params.get(name) is not None:
                read.setdefault(_real(node.params[name]), f"{node.id}.{name} reads it")
    written = {
        _real(node.params[name]): f"{node.id}.{name}"
        for node in nodes.values()
        for name in node.spec.output_paths
        if node.params.get(name) is not None
    }
    own = _real(graph.file) if graph.file else None
    errors: list[GraphError] = []
    for node in nodes.values():
        for name in node.spec.output_paths:
            path = node.params.get(name)
            if path is None:
                continue
            real, sidecar = _real(path), _real(path + SIDECAR_SUFFIX)
            if real in read:
                message = f"would overwrite {path}, which the graph reads ({read[real]})"
            elif sidecar in read and sidecar != own:  # re-rendering from a sidecar renews it
                message = (
                    f"its sidecar {path}{SIDECAR_SUFFIX} would overwrite a file the graph "
                    f"reads ({read[sidecar]})"
                )
            elif sidecar in written:
                message = f"its sidecar {path}{SIDECAR_SUFFIX} is the output of {written[sidecar]}"
            else:
                continue
            errors.append(ParamError(node.id, name, message, node.type))
    return errors
