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

Runs are contiguous slices of the region's topological order, so any shape
(splits, mixers, taps, members without kernels around them) keeps its
dependencies; a member without a kernel simply ends a run.

A generated function is compiled once per process per *shape* (kernel
functions, connections, copies, taps) and argument types. Its source is
written to a cache folder so that numba's on-disk cache applies to it; the
file name hashes the source and the kernels' source files (name, size,
mtime), since numba's cache does not notice a change in a called function.
Kernels defined outside a file (exec'd code) compile in memory only.

Compiling a new shape takes 0.5 to 3 s (four kernels; once per machine
thanks to the disk cache) while it saves microseconds per block and member,
so by default (``auto``) a run is fused when its shape is already compiled
(in this process or on disk) or when it saves at least
:data:`AUTO_MIN_CALLS` Python calls. ``GRAPHENGINE_FUSE=1`` fuses every run,
``GRAPHENGINE_FUSE=0`` none.
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

    @property
    def label(self) -> str:
        """The members' ids joined by ``>``, as stats and events show the run."""
        return ">".join(m.node_id for m in self.members)

    @property
    def returned(self) -> list[int]:
        """Indices of the members whose blocks the compiled function returns."""
        ids = [m.node_id for m in self.members]
        return [ids.index(node_id) for node_id in self.outputs]

    def known(self) -> bool:
        """Whether this shape is compiled already, in this process or in the disk cache."""
        shape = _shape(self.members, len(self.values), len(self.outside), self.returned)
        if shape in _COMPILED:
            return True
        source = generate(self.members, len(self.values), len(self.outside), self.returned)
        name = _file_name(source, [m.fn for m in self.members])
        folder = cache_folder()
        return name is not None and folder is not None and (folder / name).exists()

    def compile(self) -> None:
        """Find or build the compiled function of this run's shape (see :func:`compiled`)."""
        self.fn = compiled(self.members, len(self.values), len(self.outside), self.returned)
        static: list[Any] = [v.samples for v in self.values]
        for m in self.members:
            static.append(m.frames)
            if m.tap is not None:
                static.append(m.tap)
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
    members: Sequence[RunMember], values: int, outside: int, returned: Sequence[int]
) -> Callable[..., Any]:
    """The numba function of a run's shape, from the process memo, the disk cache or compiled.

    Its arguments: ``start, n``, the outside blocks, then per value its
    samples, then per member its frames, its tap array if any, its kernel
    args. Compilation itself happens at the first call (numba is lazy).
    """
    shape = _shape(members, values, outside, returned)
    found = _COMPILED.get(shape)
    if found is None:
        source = generate(members, values, outside, returned)
        found = _load(source, [m.fn for m in members])
        _COMPILED[shape] = found
    return found


def _shape(
    members: Sequence[RunMember], values: int, outside: int, returned: Sequence[int]
) -> tuple[Any, ...]:
    return (values, outside, tuple(returned), tuple(_member_shape(m) for m in members))


def _member_shape(m: RunMember) -> tuple[Any, ...]:
    edges = tuple((e.kind, e.index, e.copy) for e in m.edges)
    return (m.fn, m.kind, len(m.args), m.tap is not None, edges)


def generate(
    members: Sequence[RunMember], values: int, outside: int, returned: Sequence[int]
) -> str:
    """Python source of the run's function ``fused`` (kernels are globals ``k0``, ``k1``, ...)."""
    params = ["start", "n"] + [f"o{i}" for i in range(outside)] + [f"s{i}" for i in range(values)]
    body: list[str] = []
    for k in range(values):
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
    for j, m in enumerate(members):
        params.append(f"f{j}")
        if m.tap is not None:
            params.append(f"t{j}")
        args = [f"a{j}_{k}" for k in range(len(m.args))]
        params += args
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
                f"for c in range(t{j}.shape[0]):",
                "    for i in range(valid):",
                f"        t{j}[c, start + i] = b{j}[c, i]",
            ]
    body.append("return (" + "".join(f"b{j}, " for j in returned) + ")")
    lines = ["import numpy as np", "from numba import njit", ""]
    lines += [f"k{j} = None" for j in range(len(members))]
    lines += ["", "", "@njit(cache=True, nogil=True)", f"def fused({', '.join(params)}):"]
    lines += ["    " + line for line in body]
    return "\n".join(lines) + "\n"


def _read(edge: Edge) -> str:
    name = {"value": "v", "outside": "o", "inside": "b"}[edge.kind] + str(edge.index)
    return f"{name}.copy()" if edge.copy else name


def _load(source: str, kernels: Sequence[Callable[..., Any]]) -> Callable[..., Any]:
    """Import ``source`` from a file of the cache folder (numba caches it) with the kernels set.

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
    for j, kernel in enumerate(kernels):
        module_dict[f"k{j}"] = kernel  # numba reads globals when it compiles, at the first call
    return module_dict["fused"]


def _file_name(source: str, kernels: Sequence[Callable[..., Any]]) -> str | None:
    """The cache file name of ``source`` calling ``kernels`` (hashes both); None without files."""
    stamps = [_stamp(k) for k in kernels]
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
