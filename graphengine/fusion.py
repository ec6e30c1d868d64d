"""Compiled chains: the kernels of consecutive region members composed into one numba call.

A region (see :mod:`graphengine.blocks`) runs its members one after another
for every block. Members whose node exposes a kernel (``BlockNode.kernel``)
and that follow each other in the region's order form a *run*; a run of two
or more is generated as the source of one numba function that, per block,
slices its outside inputs, calls each kernel, copies a block read twice
(exactly where the per-node loop copies) and zeroes frames past a member's
end. A tapped member's block is written into its whole array inside the
call when a later member of the run changes it in place, otherwise returned
and copied by numpy (whose memcpy beats a numba loop); the call also returns
the blocks read after the run. So a chain of N effects costs one Python
dispatch per block instead of N, and the samples are those of the per-node
loop, bit for bit (same kernels, same order, same data).

Frame loops: a chain of effects inside a run that also offer a sample kernel
(``BlockNode.sample_kernel``), each read only by the next, runs as one loop
over frames instead of one kernel call each: every frame passes the whole
chain with each member's state in registers, two channels at a time, and
the blocks between members never exist (the limit a hand-fused loop of the
chain reaches). The arithmetic per frame is the kernels' own, with the
float32 rounding their block stores do, so the samples are still those of
the per-node loop, bit for bit.

A run that is the whole region (its inputs are whole values, its outputs
taps) loops over the blocks itself: one call runs many blocks of the
region's block size, so the block size changes nothing but where states are
saved, and Python is visited once per ~24 s of audio (for progress).

Runs are contiguous slices of the region's topological order, so any shape
(splits, mixers, taps, members without kernels around them) keeps its
dependencies; a member without a kernel simply ends a run.

A generated function is compiled once per process per *shape* (kernel
functions, connections, copies, taps, frame loops) and argument types. Its
source is written to a cache folder so that numba's on-disk cache applies
to it; the file name hashes the source and the source files (name, size,
mtime) of every function it calls, since numba's cache does not notice a
change in a called function. Kernels defined outside a file (exec'd code)
compile in memory only.

Compiling a new shape takes 1 to 3 s (once per machine thanks to the disk
cache) while it saves microseconds per block and member, and with a frame
loop some 40 % of the chain's time, so by default (``auto``) a run is fused
when its shape is already compiled (in this process or on disk), when it
saves at least :data:`AUTO_MIN_CALLS` Python calls, or when its frame loops
carry at least :data:`AUTO_MIN_SAMPLES` samples. ``GRAPHENGINE_FUSE=1``
fuses every run, ``GRAPHENGINE_FUSE=0`` none.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.fsutil import write_text_atomic
from graphengine.types import Audio

MIN_RUN = 2
"""Fewest kernel members worth one compiled call (a single kernel gains nothing)."""

AUTO_MIN_CALLS = 100_000
"""Kernel calls a run must save (blocks x (members - 1)) to be compiled anew in ``auto``."""

AUTO_MIN_SAMPLES = 50_000_000
"""Samples (frames x channels, summed over members) a run's frame loops must carry to be
compiled anew in ``auto``: about 5 minutes of stereo through four effects, where the loop
saves some 0.1 s a run against its compile of 1 to 3 s, paid once per machine."""

_OFF = ("0", "false", "no", "off")
_ON = ("1", "true", "yes", "on")
_COMPILED: dict[Any, Callable[..., Any]] = {}


def fusion_mode() -> str:
    """``"on"``, ``"off"`` or ``"auto"`` (unset or anything else) from ``GRAPHENGINE_FUSE``."""
    value = os.environ.get("GRAPHENGINE_FUSE", "").strip().lower()
    return "on" if value in _ON else "off" if value in _OFF else "auto"


def member_kernel(node: Any) -> tuple[Callable[..., Any], tuple[Any, ...]] | None:
    """The node's kernel if it can be fused: a numba dispatcher and only arrays and scalars."""
    if node.kind not in ("effect", "mixer"):
        return None
    kernel = node.kernel()
    if kernel is None:
        return None
    from numba.core.dispatcher import Dispatcher

    fn, args = kernel
    scalars = (bool, int, float, np.number, np.bool_)
    if not isinstance(fn, Dispatcher) or not all(
        isinstance(a, (np.ndarray, *scalars)) for a in args
    ):
        return None
    return fn, tuple(args)


def member_stages(node: Any) -> tuple[Any, ...] | None:
    """The effect's sample kernel (``SampleStage``s) if it can be fused, else None."""
    method = getattr(node, "sample_kernel", None)
    if node.kind != "effect" or method is None:
        return None
    stages = method()
    if stages is None:
        return None
    from numba.core.dispatcher import Dispatcher

    scalars = (bool, int, float, np.number, np.bool_)
    for stage in stages:
        parts = (stage.begin, stage.step, stage.end, stage.after)
        if not all(isinstance(f, Dispatcher) for f in parts) or not all(
            isinstance(a, (np.ndarray, *scalars)) for a in stage.args
        ):
            return None
    return tuple(stages)


@dataclass
class Edge:
    """One input of a run member: outside value, outside member block, or an earlier run member.

    ``kind`` is ``"value"`` (``index`` into the run's values), ``"outside"``
    (``index`` into the blocks passed per call) or ``"inside"`` (``index`` of
    the run member). ``copy``: the block is read again later, so this reader
    gets a copy (inside edges only; outside blocks are copied by the caller).
    """

    kind: str
    index: int
    copy: bool = False


@dataclass
class RunMember:
    """A member of a run: its kernel, its inputs, its frames, the tap array written in the call."""

    node_id: str
    kind: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    edges: list[Edge]
    frames: int
    tap: np.ndarray | None = None
    stages: tuple[Any, ...] | None = None
    """The node's sample kernel (``SampleStage``s), when it offers one that can be fused."""
    lane: int = 0
    """0: runs its block kernel; 1: starts a frame loop; 2: continues the previous member's."""


@dataclass
class FusedRun:
    """Consecutive kernel members run as one compiled call per block.

    ``outside`` lists ``(member_id, copy)`` per block the run reads from
    earlier members; ``outputs`` the run members read after the run or
    tapped by the caller (those whose ``tap`` is None).
    """

    members: list[RunMember]
    values: list[Audio]
    outside: list[tuple[str, bool]]
    outputs: list[str]
    fn: Callable[..., Any] | None = None
    static: tuple[Any, ...] = field(default=())
    called: bool = False
    caller_taps: set[str] = field(default_factory=set)
    block_size: int = 0
    """Nonzero: the run is the whole region, reads no outside block and returns none, so one
    call runs many blocks of this size (see :func:`generate`)."""

    @property
    def label(self) -> str:
        """The members' ids joined by ``>``, as stats and events show the run."""
        return ">".join(m.node_id for m in self.members)

    @property
    def returned(self) -> list[int]:
        """Indices of the members whose blocks the compiled function returns."""
        ids = [m.node_id for m in self.members]
        return [ids.index(node_id) for node_id in self.outputs]

    @property
    def lanes(self) -> int:
        """Members that run in frame loops (sample kernels held in registers)."""
        return sum(1 for m in self.members if m.lane)

    def _layout(self) -> tuple[Sequence[RunMember], int, int, Sequence[int], bool]:
        assign_lanes(self.members, self.returned)
        return (
            self.members,
            len(self.values),
            len(self.outside),
            self.returned,
            self.block_size > 0,
        )

    def known(self) -> bool:
        """Whether this shape is compiled already, in this process or in the disk cache."""
        layout = self._layout()
        if _shape(*layout) in _COMPILED:
            return True
        name = _file_name(generate(*layout), _globals(self.members))
        folder = cache_folder()
        return name is not None and folder is not None and (folder / name).exists()

    def compile(self) -> None:
        """Find or build the compiled function of this run's shape (see :func:`compiled`)."""
        self.fn = compiled(*self._layout())
        static: list[Any] = [self.block_size] if self.block_size else []
        static += [v.samples for v in self.values]
        for m in self.members:
            static.append(m.frames)
            if m.tap is not None:
                static.append(m.tap)
            if m.lane:
                for stage in m.stages or ():
                    static.extend(stage.args)
            else:
                static.extend(m.args)
        self.static = tuple(static)

    def compiles(self, blocks: Sequence[np.ndarray], start: int, n: int) -> bool:
        """Compile (or load from numba's cache) for these argument types, running nothing.

        False when that fails, whatever the reason (typing, a stale or unreadable
        cache entry): the caller then runs the members one by one.
        """
        import numba

        assert self.fn is not None
        try:
            self.fn.compile(tuple(numba.typeof(a) for a in (start, n, *blocks, *self.static)))
        except Exception:
            return False
        return True

    def __call__(self, blocks: Sequence[np.ndarray], start: int, n: int) -> tuple[np.ndarray, ...]:
        """One block of every member; returns the blocks of ``outputs``, in order. O(block)."""
        assert self.fn is not None
        return self.fn(start, n, *blocks, *self.static)


def compiled(
    members: Sequence[RunMember],
    values: int,
    outside: int,
    returned: Sequence[int],
    chunked: bool = False,
) -> Callable[..., Any]:
    """The numba function of a run's shape, from the process memo, the disk cache or compiled.

    Its arguments: ``start, n`` (chunked: ``first, total, block_size``), the
    outside blocks, then per value its samples, then per member its frames,
    its tap array if any, its kernel args (in a frame loop: its stages'
    args). Compilation itself happens at the first call (numba is lazy).
    """
    shape = _shape(members, values, outside, returned, chunked)
    found = _COMPILED.get(shape)
    if found is None:
        source = generate(members, values, outside, returned, chunked)
        found = _load(source, _globals(members))
        _COMPILED[shape] = found
    return found


def _shape(
    members: Sequence[RunMember],
    values: int,
    outside: int,
    returned: Sequence[int],
    chunked: bool = False,
) -> tuple[Any, ...]:
    members_shape = tuple(_member_shape(m) for m in members)
    return (values, outside, tuple(returned), chunked, members_shape)


def _member_shape(m: RunMember) -> tuple[Any, ...]:
    edges = tuple((e.kind, e.index, e.copy) for e in m.edges)
    if m.lane:
        stages = tuple((st.begin, st.step, st.end, st.after, len(st.args)) for st in m.stages or ())
        return (m.lane, m.kind, stages, m.tap is not None, edges)
    return (m.fn, m.kind, len(m.args), m.tap is not None, edges)


def _globals(members: Sequence[RunMember]) -> dict[str, Callable[..., Any]]:
    """The functions the generated source calls, by the global names it gives them."""
    names: dict[str, Callable[..., Any]] = {}
    for j, m in enumerate(members):
        if not m.lane:
            names[f"k{j}"] = m.fn
            continue
        for q, stage in enumerate(m.stages or ()):
            for part in ("begin", "step", "end", "after"):
                names[f"k{j}_{q}{part[0]}"] = getattr(stage, part)
    return names


def assign_lanes(members: Sequence[RunMember], returned: Sequence[int]) -> None:
    """Mark the chains of sample-kernel members that run as one loop over frames.

    A chain is two or more consecutive effects with sample kernels, each read
    by the next one alone (in place, no copy) and by nothing after the run,
    so its blocks between them never need to exist: each frame passes the
    whole chain in registers (taps are written frame by frame).
    """
    outward = set(returned)
    for m in members:
        m.lane = 0
    j = 0
    while j < len(members):
        k = j
        while k + 1 < len(members) and _joins(members[k], members[k + 1], k, outward):
            k += 1
        if k > j:
            members[j].lane = 1
            for m in members[j + 1 : k + 1]:
                m.lane = 2
        j = k + 1


def _joins(prev: RunMember, m: RunMember, index: int, outward: set[int]) -> bool:
    """Whether ``m`` can continue the frame loop that ``prev`` (member ``index``) is in."""
    return (
        prev.stages is not None
        and prev.kind == "effect"
        and m.stages is not None
        and m.kind == "effect"
        and index not in outward
        and len(m.edges) == 1
        and (m.edges[0].kind, m.edges[0].index, m.edges[0].copy) == ("inside", index, False)
    )


def generate(
    members: Sequence[RunMember],
    values: int,
    outside: int,
    returned: Sequence[int],
    chunked: bool = False,
) -> str:
    """Python source of the run's function ``fused``; the functions it calls are globals.

    A member with ``lane == 0`` calls its block kernel ``k{j}``; a chain marked
    by :func:`assign_lanes` runs as one loop over channels and frames calling
    each member's stages (``k{j}_{q}b``/``s``/``e``/``a``: begin, step, end,
    after), the float32 rounding between members where their blocks would
    store it. ``chunked``: the body loops over the blocks of ``total`` frames
    from ``first`` itself, ``bs`` frames at a time, and returns nothing.
    """
    params = ["first", "total", "bs"] if chunked else ["start", "n"]
    params += [f"o{i}" for i in range(outside)] + [f"s{i}" for i in range(values)]
    body: list[str] = []
    direct = {m.edges[0].index for m in members if m.lane == 1 and m.edges[0].kind == "value"}
    for k in range(values):
        if k in direct:  # read frame by frame by a frame loop
            continue
        # explicit loops: numba's 2-D slice assignment takes twice as long as this
        body += [
            f"v{k} = np.empty((s{k}.shape[0], n), np.float32)",
            f"have = max(0, min(s{k}.shape[1], start + n) - start)",
            f"for c in range(s{k}.shape[0]):",
            "    for i in range(have):",
            f"        v{k}[c, i] = s{k}[c, start + i]",
            "    for i in range(have, n):",
            f"        v{k}[c, i] = 0.0",
        ]
    stage_args: dict[int, list[str]] = {}
    for j, m in enumerate(members):
        params.append(f"f{j}")
        if m.tap is not None:
            params.append(f"t{j}")
        if m.lane:
            stage_args[j] = []
            for q, stage in enumerate(m.stages or ()):
                names = [f"a{j}_{q}_{k}" for k in range(len(stage.args))]
                stage_args[j].append(", ".join(names))
                params += names
        else:
            params += [f"a{j}_{k}" for k in range(len(m.args))]
    read = {e.index for m in members for e in m.edges if e.kind == "inside"} | set(returned)
    j = 0
    while j < len(members):
        m = members[j]
        if m.lane:
            last = j
            while last + 1 < len(members) and members[last + 1].lane == 2:
                last += 1
            block = last in read
            body += _lane(members, j, last, stage_args, block)
            j, m = last, members[last]
            if not block:  # its tap was written frame by frame
                j += 1
                continue
        else:
            args = [f"a{j}_{k}" for k in range(len(m.args))]
            reads = [_read(e) for e in m.edges]
            first = reads[0] if m.kind == "effect" else "(" + "".join(r + ", " for r in reads) + ")"
            body += [
                f"b{j} = k{j}({', '.join([first, *args])})",
                f"valid = max(0, min(n, f{j} - start))",
                "if valid < n:",
                f"    b{j}[:, valid:] = 0.0",
            ]
        if m.tap is not None:
            body += [
                f"valid = max(0, min(n, f{j} - start))",
                f"for c in range(t{j}.shape[0]):",
                "    for i in range(valid):",
                f"        t{j}[c, start + i] = b{j}[c, i]",
            ]
        j += 1
    result = "return (" + "".join(f"b{j}, " for j in returned) + ")"
    if chunked:
        loop = [
            "for start in range(first, first + total, bs):",
            "    n = min(bs, first + total - start)",
        ]
        body = loop + ["    " + line for line in body] + ["return ()"]
    else:
        body.append(result)
    lines = ["import numpy as np", "from numba import njit", ""]
    lines += [f"{name} = None" for name in _globals(members)]
    lines += ["", "", "@njit(cache=True, nogil=True)", f"def fused({', '.join(params)}):"]
    lines += ["    " + line for line in body]
    return "\n".join(lines) + "\n"


def _lane(
    members: Sequence[RunMember],
    first: int,
    last: int,
    stage_args: dict[int, list[str]],
    block: bool,
) -> list[str]:
    """Source of the frame loop of members ``first`` .. ``last``.

    It reads a value's samples or the block of its first member's input
    directly, and writes ``b{last}`` (in place in that block, or new) when
    ``block``, else only the last member's tap. Per member and frame: each
    stage's step, then the float32 rounding its block store does, zero past
    its end (as the block loop zeroes), its tap. Channels go in pairs (two
    independent recursions keep the CPU busy), over the frames where every
    member is within its length and the input within its value, without any
    of those checks; the rest of the block runs after it as a block of its
    own (states are saved and resumed exactly), one channel at a time.
    """
    edge = members[first].edges[0]
    span = range(first, last + 1)
    taps = [j for j in span if members[j].tap is not None and (j != last or not block)]
    code = [f"valid{j} = max(0, min(n, f{j} - start))" for j in span]
    limits = [f"valid{j}" for j in span]
    if edge.kind == "value":
        source = f"s{edge.index}"
        code.append(f"have = max(0, min({source}.shape[1], start + n) - start)")
        limits.append("have")
        if block:
            code.append(f"b{last} = np.empty(({source}.shape[0], n), np.float32)")
    else:
        source = f"b{last}"
        code.append(f"b{last} = {_read(edge)}")
    code.append(f"full = min({', '.join(limits)})")

    def rows(ch: str) -> list[str]:
        """Row views of channel ``ch``: input ``x_``, output ``y_``, taps ``r{j}_``."""
        if edge.kind == "value":
            lines = [f"x_{ch} = {source}[{ch}, start : start + have]"]
        else:
            lines = [f"x_{ch} = {source}[{ch}]"]
        if block:
            lines.append(f"y_{ch} = b{last}[{ch}]")
        lines += [f"r{j}_{ch} = t{j}[{ch}, start : start + valid{j}]" for j in taps]
        return lines

    def frame(ch: str, pre: str, v: str, checks: bool) -> list[str]:
        """One frame of channel ``ch`` through the members, states ``{pre}{j}_{q}``."""
        if checks and edge.kind == "value":
            lines = [f"{v} = np.float64(x_{ch}[i]) if i < have else 0.0"]
        else:
            lines = [f"{v} = np.float64(x_{ch}[i])"]
        for j in span:
            for q, args in enumerate(stage_args[j]):
                lines.append(f"{pre}{j}_{q}, {v} = k{j}_{q}s({pre}{j}_{q}, {v}, {args})")
            lines.append(f"{v} = np.float64(np.float32({v}))")
            if checks:
                lines += [f"if i >= valid{j}:", f"    {v} = 0.0"]
            if j in taps:
                guard = [f"if i < valid{j}:"] if checks else []
                lines += [*guard, ("    " if checks else "") + f"r{j}_{ch}[i] = {v}"]
        if block:
            lines.append(f"y_{ch}[i] = {v}")
        return lines

    def begin(ch: str, pre: str) -> list[str]:
        return [
            f"{pre}{j}_{q} = k{j}_{q}b({ch}, {args})"
            for j in span
            for q, args in enumerate(stage_args[j])
        ]

    def finish(ch: str, pre: str) -> list[str]:
        return [
            f"k{j}_{q}e({pre}{j}_{q}, {ch}, {args})"
            for j in span
            for q, args in enumerate(stage_args[j])
        ]

    def after(frames: str) -> list[str]:
        return [
            f"k{j}_{q}a({frames}, {args})" for j in span for q, args in enumerate(stage_args[j])
        ]

    def indent(lines: list[str], depth: int) -> list[str]:
        return ["    " * depth + line for line in lines]

    code += ["c = 0", f"while c < {source}.shape[0]:", f"    if c + 1 < {source}.shape[0]:"]
    pair = ["d = c + 1", *rows("c"), *rows("d"), *begin("c", "st"), *begin("d", "su")]
    pair += ["for i in range(full):"]
    pair += indent(frame("c", "st", "y", False) + frame("d", "su", "w", False), 1)
    pair += [*finish("c", "st"), *finish("d", "su"), "c += 2"]
    code += indent(pair, 2)
    one = [*rows("c"), *begin("c", "st"), "for i in range(full):"]
    one += indent(frame("c", "st", "y", False), 1)
    one += [*finish("c", "st"), "c += 1"]
    code += ["    else:", *indent(one, 2)]
    code += after("full")
    # the rest of the block, as a block of its own (states saved and resumed exactly)
    rest = [f"for c in range({source}.shape[0]):"]
    rest += indent([*rows("c"), *begin("c", "st"), "for i in range(full, n):"], 1)
    rest += indent(frame("c", "st", "y", True), 2)
    rest += indent(finish("c", "st"), 1)
    code += ["if full < n:", *indent(rest + after("n - full"), 1)]
    return code


def _read(edge: Edge) -> str:
    name = {"value": "v", "outside": "o", "inside": "b"}[edge.kind] + str(edge.index)
    return f"{name}.copy()" if edge.copy else name


def _load(source: str, kernels: dict[str, Callable[..., Any]]) -> Callable[..., Any]:
    """Import ``source`` from a file of the cache folder (numba caches it) with the kernels set.

    ``kernels`` maps the global names the source calls to numba functions.

    Falls back to an in-memory module, compiled in every process, when a
    kernel has no source file or the folder cannot be written.
    """
    name = _file_name(source, kernels)
    path = _write(source, name) if name is not None else None
    if path is None:
        namespace: dict[str, Any] = {}
        exec(compile(source.replace("cache=True", "cache=False"), "<fused>", "exec"), namespace)
        module_dict = namespace
    else:
        name = f"_graphengine_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # numba's cache finds a function's globals by module name
        spec.loader.exec_module(module)
        module_dict = vars(module)
    module_dict.update(kernels)  # numba reads globals when it compiles, at the first call
    return module_dict["fused"]


def _file_name(source: str, kernels: dict[str, Callable[..., Any]]) -> str | None:
    """The cache file name of ``source`` calling ``kernels`` (hashes both); None without files."""
    stamps = [_stamp(k) for k in kernels.values()]
    if not all(stamps):
        return None
    digest = hashlib.sha256("\n".join([source, *stamps]).encode()).hexdigest()[:24]
    return f"fused_{digest}.py"


def _stamp(kernel: Callable[..., Any]) -> str:
    """Identity of a kernel's code: module, name, source file, size, mtime; "" without a file."""
    py_func = getattr(kernel, "py_func", None)
    try:
        file = inspect.getsourcefile(py_func) if py_func is not None else None
        info = os.stat(file) if file else None
    except (OSError, TypeError):
        return ""
    if info is None:
        return ""
    name = f"{py_func.__module__}.{py_func.__qualname__}"
    return f"{name} {file} {info.st_size} {info.st_mtime_ns}"


def cache_folder() -> Path | None:
    """Where generated sources go: ``$NUMBA_CACHE_DIR/graphengine_fused`` or the user cache.

    None when there is no home folder to find the user cache in.
    """
    numba_dir = os.environ.get("NUMBA_CACHE_DIR")
    if numba_dir:
        return Path(numba_dir) / "graphengine_fused"
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except (RuntimeError, KeyError):
        return None
    return Path(base) / "graphengine" / "fused"


def _write(source: str, name: str) -> Path | None:
    """``source`` at ``cache_folder() / name`` (written atomically once), or None if unwritable.

    An existing file is used only when it holds exactly ``source``: what is
    imported is always the code generated here.
    """
    folder = cache_folder()
    if folder is None:
        return None
    path = folder / name
    try:
        if not (path.exists() and path.read_text() == source):
            write_text_atomic(path, source)
    except (OSError, ValueError):  # ValueError: a file that is not text
        return None
    return path
