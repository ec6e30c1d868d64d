"""Node declaration API: ``@node``, ``param``, port and parameter specs.

A node is an ordinary function whose signature is its spec::

    @node("effect.gain", version=1, infer=same_as_input)
    def gain(in_: Audio, *, gain_db: float = param(0.0, unit="dB", range=(-120, 24))) -> Audio:
        ...

Positional parameters are input ports, typed with port value classes (a
trailing underscore is dropped, so ``in_`` is the port ``in``; ``list[Audio]``
is a variadic port; ``Audio | None = None`` an optional one). Keyword-only
parameters whose default is :func:`param` are parameters. The return
annotation is the output port ``out``, or a NamedTuple of several, or ``None``
for a sink. A keyword-only ``ctx`` receives the :class:`NodeContext`.

``@node`` only attaches a :class:`NodeSpec` (as ``fn.spec``) and returns the
function unchanged; the registry collects specs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import math
import re
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphengine.codehash import code_identity
from graphengine.context import NodeContext
from graphengine.types import ANY, PORT_TYPES, Value

REQUIRED: Any = inspect.Parameter.empty
"""Default of a parameter that must be given in the graph."""


class InputPath(str):
    """Annotation for a parameter naming a file the node reads (resolved, checked readable)."""


class OutputPath(str):
    """Annotation for a parameter naming a file the node writes (resolved, written atomically)."""


class Pitch(float):
    """Annotation for a frequency given in Hz or as a pitch name (``"A4"``, ``"C#-1"``)."""


PARAM_KINDS = {
    float: "float",
    int: "int",
    bool: "bool",
    str: "str",
    InputPath: "input_path",
    OutputPath: "output_path",
    Pitch: "pitch",
}
LIST_KINDS = {float: "float_list", str: "str_list", int: "int_list"}

UNIT_SUFFIXES = {
    "_hz": "Hz",
    "_s": "s",
    "_ms": "ms",
    "_db": "dB",
    "_dbfs": "dBFS",
    "_cents": "cents",
    "_bpm": "BPM",
    "_semitones": "semitones",
}
"""Parameter-name suffix -> the unit it promises (see STYLE.md, Naming)."""

UNIT_WITHOUT_SUFFIX = {"frequency": "Hz"}


Bound = float | str
"""A bound of a parameter: a number, ``"nyquist"`` (half the sample rate of the
node's audio input, or of the graph when it has none), or another parameter's name.
Where a keyword takes bounds, a tuple of them means every one must hold."""

NYQUIST = "nyquist"


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: type, default, unit, allowed range or choices, description.

    ``kind`` is one of ``float``, ``int``, ``bool``, ``str``, ``float_list``,
    ``int_list``, ``str_list``, ``input_path``, ``output_path``, ``pitch``.
    ``range`` bounds are inclusive; ``None`` leaves a side open. ``above`` and
    ``below`` are exclusive bounds, ``at_least`` and ``at_most`` inclusive ones,
    each a number or a :data:`Bound` reference (``"nyquist"``, or the name of
    another parameter of the node). The engine checks all of them; nodes never
    re-check a declared rule.
    """

    name: str
    kind: str
    default: Any = REQUIRED
    unit: str | None = None
    range: tuple[float | None, float | None] | None = None
    choices: tuple[Any, ...] | None = None
    description: str = ""
    nullable: bool = False
    above: Bound | tuple[Bound, ...] | None = None
    below: Bound | tuple[Bound, ...] | None = None
    at_least: Bound | tuple[Bound, ...] | None = None
    at_most: Bound | tuple[Bound, ...] | None = None
    suffix: str | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def bounds(self) -> list[tuple[str, Bound]]:
        """The declared comparisons as ``(operator, bound)``: ``(">", 0)``, ``("<", "nyquist")``."""
        pairs = (("<", self.below), ("<=", self.at_most), (">", self.above), (">=", self.at_least))
        return [
            (op, bound)
            for op, given in pairs
            for bound in (given if isinstance(given, tuple) else (given,))
            if bound is not None
        ]


@dataclass(frozen=True)
class PortSpec:
    """One input or output port: a name, a port type and, for inputs, arity."""

    name: str
    type: str
    variadic: bool = False
    optional: bool = False


@dataclass(frozen=True)
class PortInfo:
    """What validation knows of a port's value before anything runs.

    ``shape`` is the array shape the value will have (``(channels, frames)``
    for audio), ``None`` where unknown; ``itemsize`` its bytes per element;
    ``names`` the names a ``vector``'s values or a ``features`` value's rows
    will carry, ``None`` where only the run knows them (checks on names,
    such as a table sink refusing a repeated one, then wait for the run).
    """

    type: str
    shape: tuple[int, ...] | None = None
    sample_rate: float | None = None
    itemsize: int = 4
    names: tuple[str, ...] | None = None

    @property
    def nbytes(self) -> int | None:
        if self.shape is None:
            return None
        return math.prod(self.shape) * self.itemsize

    @property
    def channels(self) -> int | None:
        return self.shape[0] if self.shape else None

    @property
    def frames(self) -> int | None:
        return self.shape[-1] if self.shape else None


Inputs = Mapping[str, Any]
"""What ``infer`` gets for the inputs: port name -> PortInfo (a list for a variadic port)."""
Params = Mapping[str, Any]
"""What ``infer`` gets for the parameters: name -> value, converted and checked."""
InferFn = Callable[[Inputs, Params, NodeContext], Mapping[str, PortInfo]]


@dataclass(frozen=True)
class Upgrade:
    """How to read a node table written for an older version of a node type.

    Applied by the loader to every table of the type, before checking it: a key
    named in ``rename`` is renamed (its value passed through ``convert[new]``
    when given, e.g. milliseconds to seconds), a key in ``drop`` is removed.
    Triggered by the presence of the old key alone, so tables written for the
    current version are never touched.

    Attributes
    ----------
    version : int
        The node version that introduced the change (for the notice).
    rename : mapping of str to str
        Old parameter or port name -> new name.
    drop : tuple of str
        Names the node no longer reads.
    convert : mapping of str to callable
        New name -> function from the old value to the new one.
    """

    version: int
    rename: Mapping[str, str] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    convert: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)

    def apply(self, table: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The upgraded table and one line per change made."""
        upgraded: dict[str, Any] = {}
        changes = []
        for key, value in table.items():
            if key in self.drop:
                changes.append(f"dropped {key!r}")
            elif key in self.rename and self.rename[key] not in table:
                new = self.rename[key]
                upgraded[new] = self.convert[new](value) if new in self.convert else value
                changes.append(f"{key!r} -> {new!r}")
            else:
                upgraded[key] = value
        return upgraded, changes


@dataclass(frozen=True)
class NodeSpec:
    """Everything the engine knows about a node type."""

    type_id: str
    version: int
    inputs: tuple[PortSpec, ...]
    outputs: tuple[PortSpec, ...]
    params: tuple[ParamSpec, ...]
    doc: str
    function: Callable[..., Any] = field(repr=False)
    infer: InferFn | None = field(default=None, repr=False)
    wants_ctx: bool = False
    output_class: type | None = field(default=None, repr=False)
    origin: str = ""
    auto_convert: bool = False
    block_class: type | None = field(default=None, repr=False)
    aliases: tuple[str, ...] = ()
    """Former type ids that still resolve to this node (graph files keep working)."""
    upgrades: tuple[Upgrade, ...] = ()
    """How tables written for older versions are read, oldest first."""

    @property
    def source_location(self) -> str:
        """``path:line`` of the definition, the path relative to its package's parent folder.

        E.g. ``nodes/filter/iir.py:142`` for graphengine's own ``filter.biquad``.
        """
        target = self.block_class or self.function
        try:
            file = Path(inspect.getsourcefile(target) or "")
            _, line = inspect.getsourcelines(target)
        except (OSError, TypeError):
            return self.origin
        root = sys.modules[target.__module__.split(".")[0]]
        base = Path(inspect.getfile(root)).parent.parent
        with contextlib.suppress(ValueError):  # a plug-in outside its package folder
            file = file.resolve().relative_to(base.resolve())
        return f"{file.as_posix()}:{line}"

    @property
    def streaming(self) -> bool:
        """Whether the node can run block by block (a :mod:`graphengine.blocknode` class)."""
        return self.block_class is not None

    @property
    def summary(self) -> str:
        """First line of the docstring."""
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""

    @property
    def example(self) -> str:
        """The docstring's example as a graph-file node table (``[nodes.ID]``, type first).

        The docstring states it as one line, ``ID = {in = "src", gain_db = -6}``,
        without the type, which the decorator already declares; a docstring
        written as a full ``[nodes.ID]`` table is shown as it stands.
        """
        import tomllib

        match = re.search(r"^Example\s*\n-+\s*\n(.*?)(?:\n\S|\Z)", self.doc, re.S | re.M)
        if not match:
            return ""
        body = textwrap.dedent(match.group(1)).strip()
        tree = tomllib.loads(body)
        if "nodes" in tree:  # the full form, [nodes.ID] with its type: kept for plug-ins
            return body
        lines: list[str] = []
        for node_id, table in tree.items():
            if not isinstance(table, dict) or "type" in table:
                raise TypeError(
                    f"{self.type_id}: the Example section holds 'ID = {{param = value, ...}}' "
                    "lines without 'type'"
                )
            lines += ["", f"[nodes.{node_id}]", f'type = "{self.type_id}"']
            lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
        return "\n".join(lines[1:])

    @property
    def is_sink(self) -> bool:
        return not self.outputs

    @property
    def output_paths(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.kind == "output_path")

    @property
    def input_paths(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.kind == "input_path")

    @property
    def default_output(self) -> str | None:
        return self.outputs[0].name if self.outputs else None

    def input(self, name: str) -> PortSpec | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> PortSpec | None:
        return next((p for p in self.outputs if p.name == name), None)

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def code(self) -> dict[str, Any]:
        """The code the node's outputs depend on (part of the cache key).

        Source hashes of every first-party module its implementation reaches and
        the versions of the libraries they import; see :mod:`graphengine.codehash`.
        """
        return code_identity(self.function.__module__, streaming=self.streaming)

    def call(
        self, inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
    ) -> dict[str, Value]:
        """Run the node on complete values; returns output port -> value."""
        args = [inputs.get(port.name) for port in self.inputs]
        kwargs = dict(params)
        if self.wants_ctx:
            kwargs["ctx"] = ctx
        result = self.function(*args, **kwargs)
        if not self.outputs:
            return {}
        if len(self.outputs) == 1 and self.output_class is None:
            result = (result,)
        values = dict(zip((p.name for p in self.outputs), result, strict=True))
        for port in self.outputs:
            value = values[port.name]
            expected = PORT_TYPES.get(port.type, Value)
            if not isinstance(value, expected):
                raise TypeError(
                    f"node returned {type(value).__name__} on port {port.name!r}, "
                    f"declared {port.type}"
                )
        return values


@dataclass(frozen=True)
class _ParamDefault:
    default: Any
    unit: str | None
    range: tuple[float | None, float | None] | None
    choices: tuple[Any, ...] | None
    description: str
    above: Bound | tuple[Bound, ...] | None = None
    below: Bound | tuple[Bound, ...] | None = None
    at_least: Bound | tuple[Bound, ...] | None = None
    at_most: Bound | tuple[Bound, ...] | None = None
    suffix: str | None = None


def param(
    default: Any = REQUIRED,
    *,
    unit: str | None = None,
    range: tuple[float | None, float | None] | None = None,
    choices: tuple[Any, ...] | list[Any] | None = None,
    description: str = "",
    above: Bound | tuple[Bound, ...] | None = None,
    below: Bound | tuple[Bound, ...] | None = None,
    at_least: Bound | tuple[Bound, ...] | None = None,
    at_most: Bound | tuple[Bound, ...] | None = None,
    suffix: str | None = None,
) -> Any:
    """Declare a node parameter as the default of a keyword-only argument.

    Every rule on a value is declared here, once: the engine checks it before
    anything runs, ``graphengine nodes`` and the JSON Schema print it, and the
    node never checks it again.

    Parameters
    ----------
    default : any
        The value used when the graph does not set it; omit for a required parameter.
    unit : str, optional
        The unit, matching the name's suffix (``_hz`` -> ``"Hz"``, ``_db`` -> ``"dB"``).
    range : (low, high), optional
        Inclusive numeric bounds; ``None`` leaves a side open.
    choices : sequence, optional
        The allowed values.
    description : str
        One line for the node reference.
    above, below : number or str, optional
        Exclusive bounds: a number, ``"nyquist"`` (half the rate of the node's
        audio input, else of the graph) or the name of another numeric
        parameter of the node (``below="fmax_hz"``).
    at_least, at_most : str, optional
        Inclusive bounds given by reference (``at_most="n_fft"``, ``at_most="nyquist"``);
        inclusive numeric bounds go in ``range``. Each of the four keywords also
        takes a tuple of bounds that must all hold (``below=("fmax_hz", "nyquist")``).
    suffix : str, optional
        For a file path: the extension it must end in (``".wav"``, any case).
    """
    return _ParamDefault(
        default,
        unit,
        range,
        tuple(choices) if choices is not None else None,
        description,
        above,
        below,
        at_least,
        at_most,
        suffix,
    )


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _param_kind(annotation: Any) -> str | None:
    if annotation in PARAM_KINDS:
        return PARAM_KINDS[annotation]
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (None,)
        return LIST_KINDS.get(item)
    return None


def _port_type(annotation: Any) -> tuple[str, bool] | None:
    variadic = typing.get_origin(annotation) is list
    if variadic:
        (annotation,) = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Value):
        return annotation.port_type, variadic
    return None


def _check_unit(type_id: str, name: str, unit: str | None) -> None:
    for suffix, expected in UNIT_SUFFIXES.items():
        if name.endswith(suffix):
            if unit is not None and unit != expected:
                raise TypeError(f"{type_id}: parameter {name!r} promises {expected}, unit={unit!r}")
            return
    if unit is not None and UNIT_WITHOUT_SUFFIX.get(name) != unit:
        raise TypeError(
            f"{type_id}: parameter {name!r} has unit {unit!r} but its name has no unit suffix"
        )


def _build_spec(
    function: Callable[..., Any],
    type_id: str,
    version: int,
    infer: InferFn | None,
    auto_convert: bool = False,
) -> NodeSpec:
    hints = typing.get_type_hints(function)
    signature = inspect.signature(function)
    inputs: list[PortSpec] = []
    params: list[ParamSpec] = []
    wants_ctx = False
    for name, parameter in signature.parameters.items():
        annotation = hints.get(name, parameter.annotation)
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            base, optional = _strip_optional(annotation)
            port = _port_type(base)
            if port is None:
                raise TypeError(f"{type_id}: input port {name!r} needs a port type annotation")
            inputs.append(PortSpec(name.rstrip("_"), port[0], variadic=port[1], optional=optional))
        elif parameter.kind is parameter.KEYWORD_ONLY and name == "ctx":
            wants_ctx = True
        elif parameter.kind is parameter.KEYWORD_ONLY:
            params.append(_param_spec(type_id, name, annotation, parameter.default))
        else:
            raise TypeError(f"{type_id}: *args and **kwargs are not allowed in a node signature")
    outputs, output_class = _outputs(type_id, hints.get("return", signature.return_annotation))
    _check_references(type_id, params)
    return NodeSpec(
        type_id=type_id,
        version=version,
        inputs=tuple(inputs),
        outputs=outputs,
        params=tuple(params),
        doc=inspect.cleandoc(function.__doc__ or ""),
        function=function,
        infer=infer,
        wants_ctx=wants_ctx,
        output_class=output_class,
        origin=f"{function.__module__}:{function.__qualname__}",
        auto_convert=auto_convert,
    )


def _param_spec(type_id: str, name: str, annotation: Any, declared: Any) -> ParamSpec:
    if not isinstance(declared, _ParamDefault):
        raise TypeError(f"{type_id}: parameter {name!r} must default to param(...)")
    base, nullable = _strip_optional(annotation)
    kind = _param_kind(base)
    if kind is None:
        raise TypeError(f"{type_id}: parameter {name!r} has unsupported type {annotation!r}")
    unit = declared.unit
    if kind == "pitch" and unit is None:
        unit = "Hz"
    _check_unit(type_id, name, unit)
    for keyword in ("at_least", "at_most"):
        if isinstance(getattr(declared, keyword), int | float):
            raise TypeError(f"{type_id}: parameter {name!r}: a numeric {keyword} goes in range=")
    return ParamSpec(
        name,
        kind,
        declared.default,
        unit,
        declared.range,
        declared.choices,
        declared.description,
        nullable or declared.default is None,
        declared.above,
        declared.below,
        declared.at_least,
        declared.at_most,
        declared.suffix,
    )


def _check_references(type_id: str, params: list[ParamSpec]) -> None:
    """Every bound that names a parameter names a numeric parameter of the same node."""
    numeric = {p.name for p in params if p.kind in ("float", "int", "pitch")}
    for spec in params:
        for _op, bound in spec.bounds():
            if isinstance(bound, str) and bound != NYQUIST and bound not in numeric:
                raise TypeError(
                    f"{type_id}: parameter {spec.name!r} is bounded by {bound!r}, "
                    f"which is neither 'nyquist' nor a numeric parameter of the node"
                )


_BLOCK_PORTS = {
    "effect": ((PortSpec("in", "audio"),), (PortSpec("out", "audio"),)),
    "mixer": ((PortSpec("in", "audio", variadic=True),), (PortSpec("out", "audio"),)),
    "source": ((), (PortSpec("out", "audio"),)),
    "sink": ((PortSpec("in", "audio"),), ()),
}


def _build_block_spec(
    cls: type, type_id: str, version: int, infer: InferFn | None, auto_convert: bool
) -> NodeSpec:
    from graphengine.blocknode import run_whole

    kind = getattr(cls, "kind", "")
    if kind not in _BLOCK_PORTS:
        raise TypeError(f"{type_id}: derive from BlockEffect, BlockMixer, BlockSource or BlockSink")
    hints = typing.get_type_hints(cls)
    params = []
    for name, annotation in hints.items():
        declared = getattr(cls, name, None)
        if isinstance(declared, _ParamDefault):
            params.append(_param_spec(type_id, name, annotation, declared))
    inputs, outputs = _BLOCK_PORTS[kind]
    _check_references(type_id, params)

    def whole_signal(*inputs: Any, ctx: NodeContext, **values: Any) -> Any:
        from graphengine.types import Audio

        given = list(inputs[0]) if kind == "mixer" else [a for a in inputs if a is not None]
        rate = _one_rate([a.sample_rate for a in given], ctx)
        result = run_whole(cls(ctx, **values), given, rate)
        return None if result is None else Audio(result, rate)

    whole_signal.__module__ = cls.__module__
    whole_signal.__qualname__ = cls.__qualname__
    return NodeSpec(
        type_id=type_id,
        version=version,
        inputs=inputs,
        outputs=outputs,
        params=tuple(params),
        doc=inspect.cleandoc(cls.__doc__ or ""),
        function=whole_signal,
        infer=infer or _block_infer(cls, kind),
        wants_ctx=True,
        origin=f"{cls.__module__}:{cls.__qualname__}",
        auto_convert=auto_convert,
        block_class=cls,
    )


def _one_rate(rates: list[float | None], ctx: NodeContext) -> float:
    """The one sample rate of a block node's inputs (the graph's when none is known)."""
    known = sorted({rate for rate in rates if rate is not None})
    if len(known) > 1:
        listed = ", ".join(f"{r:g}" for r in known)
        message = f"inputs have different sample rates ({listed} Hz); resample them to one rate"
        raise ctx.port_error("in", message)
    return known[0] if known else ctx.sample_rate


def _block_infer(cls: type, kind: str) -> InferFn:
    """Validation of a streaming node: its one hook, :meth:`BlockNode.prepare`, on the stream."""

    def infer(
        inputs: Mapping[str, Any], params: Mapping[str, Any], ctx: NodeContext
    ) -> dict[str, PortInfo]:
        from graphengine.blocknode import DEFAULT_BLOCK_SIZE, StreamSpec

        port = inputs.get("in")
        infos = list(port) if kind == "mixer" else ([port] if port is not None else [])
        rate = _one_rate([info.sample_rate for info in infos if info is not None], ctx)
        instance = cls(ctx, **params)
        if any(info is None or info.shape is None for info in infos):
            return {"out": PortInfo("audio", sample_rate=rate)} if kind != "sink" else {}
        input_frames = tuple(int(info.shape[-1]) for info in infos)
        input_channels = tuple(int(info.shape[0]) for info in infos)
        frames = instance.output_frames(input_frames)
        channels = instance.output_channels(input_channels)
        spec = StreamSpec(
            rate,
            input_channels[0] if input_channels else channels,
            DEFAULT_BLOCK_SIZE,
            frames,
            input_channels,
            input_frames,
        )
        instance.prepare(spec)
        if kind == "sink":
            return {}
        return {"out": PortInfo("audio", (channels, frames), rate)}

    return infer


def _outputs(type_id: str, annotation: Any) -> tuple[tuple[PortSpec, ...], type | None]:
    if annotation in (None, type(None)):
        return (), None
    port = _port_type(annotation)
    if port is not None and not port[1]:
        return (PortSpec("out", port[0]),), None
    fields = getattr(annotation, "__annotations__", None)
    if isinstance(annotation, type) and issubclass(annotation, tuple) and fields:
        fields = typing.get_type_hints(annotation)  # resolves postponed (string) annotations
        ports = []
        for name, field_annotation in fields.items():
            field_port = _port_type(field_annotation)
            if field_port is None or field_port[1]:
                raise TypeError(f"{type_id}: output {name!r} needs a port type annotation")
            ports.append(PortSpec(name, field_port[0]))
        return tuple(ports), annotation
    raise TypeError(f"{type_id}: the return annotation must be a port type, a NamedTuple or None")


_TYPE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


def _toml_value(value: Any) -> str:
    """A TOML literal for an example value: strings, numbers, booleans and lists of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def node(
    type_id: str,
    *,
    version: int = 1,
    infer: InferFn | None = None,
    auto_convert: bool = False,
    aliases: tuple[str, ...] = (),
    upgrades: tuple[Upgrade, ...] = (),
) -> Callable:
    """Declare a function (or a streaming class, see :mod:`graphengine.blocknode`) as a node type.

    Parameters
    ----------
    type_id : str
        Dotted type name used in graph files, e.g. ``"effect.gain"``; never
        derived from the Python name.
    version : int >= 1
        Bump when the node's outputs change for the same inputs (part of the cache key).
    infer : callable, optional
        ``infer(inputs, params, ctx) -> {port: PortInfo}``: output shapes from
        input shapes and parameters, and the checks that need them. Raise
        :class:`graphengine.errors.ParamError` or ``PortError`` for bad values.
    auto_convert : bool
        Mark a one-input converter (e.g. ``spectral.stft``: audio -> spectrum)
        that the engine inserts, with its default parameters and shared by all
        consumers of one output, when an output of its input type is connected
        straight to an input of its output type.
    aliases : tuple of str
        Former type ids of this node; graph files that use them load with a
        notice, and ``graphengine upgrade`` rewrites them.
    upgrades : tuple of Upgrade
        Parameter renames, drops and conversions since older versions.
    """
    if not _TYPE_ID.match(type_id):
        raise TypeError(f"node type id {type_id!r} must be dotted lower-case words")
    if version < 1:
        raise TypeError(f"{type_id}: version must be >= 1")
    for alias in aliases:
        if not _TYPE_ID.match(alias) or alias == type_id:
            raise TypeError(f"{type_id}: alias {alias!r} must be another dotted lower-case id")

    def decorate(target: Callable) -> Callable:
        if isinstance(target, type):
            spec = _build_block_spec(target, type_id, version, infer, auto_convert)
        else:
            spec = _build_spec(target, type_id, version, infer, auto_convert)
        spec = dataclasses.replace(spec, aliases=tuple(aliases), upgrades=tuple(upgrades))
        target.spec = spec  # type: ignore[attr-defined]
        return target

    return decorate


def port_types() -> tuple[str, ...]:
    """All port type names, including ``any``."""
    return (*PORT_TYPES, ANY)
