"""Saved models: a folder with ``model.json`` and ``weights.msgpack``, never pickle.

``model.json`` holds everything but the weights: format, task
(``classify``/``generate``), architecture and its config, class names, the
input spec (port type, feature names, shape, frame and sample rates, the
graph and node it came from), the normaliser fitted on the training split,
training settings, and ``weights``: the weights file's name and sha256.
``weights.msgpack`` is ``flax.serialization.msgpack_serialize`` of a plain
dict ``{"params": <the model's nnx.Param and nnx.BatchStat state as a pure
dict>, "extra": {name: array}}``. Loading checks the sha256 first, so a corrupted or swapped
weights file fails with a clear message, and since ``model.json`` records
the hash, the engine's content hash of ``model.json`` (an ``InputPath``)
covers the weights too. Every key of ``model.json`` is checked before it is
used (:mod:`nodes.model.modelspec`), and the weights file must be a plain
file name inside the folder.

A model folder is written whole or not at all: everything goes into a
temporary sibling folder that is renamed into place at the end, with the
marker file that lets a later ``train --replace`` recognise it
(:mod:`nodes.model.folder`); nothing else is ever replaced.

Loaded models are kept per process (keyed by the two files' hashes) with one
compiled apply function per input shape (:func:`compiled`), so a graph run
again in the same process pays neither loading nor ``jax.jit`` again.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import nodes.model.modelspec as modelspec
from nodes.model.folder import MARKER, MARKER_TEXT, MODEL_FILE, WEIGHTS_FILE, check_out
from nodes.model.modelspec import FORMAT, ModelFileError


def model_json(path: str | os.PathLike) -> Path:
    """``path`` itself if it is a file, else ``path/model.json``."""
    path = Path(path)
    return path / MODEL_FILE if path.is_dir() else path


_SPECS: dict[tuple[str, int, int], dict[str, Any]] = {}
_HASHES: dict[tuple[str, int, int, int], str] = {}


def read_spec(path: str | os.PathLike, *, verify: bool = True) -> dict[str, Any]:
    """Read and check ``model.json`` (and the weights' sha256); no JAX needed.

    Raises :class:`ModelFileError` naming the file and what is wrong (and
    the key, for a value that is missing or out of place).
    """
    file = model_json(path)
    if not file.is_file():
        where = file.parent if file.name == MODEL_FILE else file
        raise ModelFileError(f"no model at {where} (expected a {MODEL_FILE} written by training)")
    stat = file.stat()
    memo = (str(file.resolve()), stat.st_mtime_ns, stat.st_size)
    spec = _SPECS.get(memo)
    if spec is None:
        try:
            spec = json.loads(file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ModelFileError(f"{file}: not a readable model file ({error})") from None
        modelspec.check(spec, file)
        spec["dir"] = str(file.parent)
        spec["file"] = str(file)
    weights = file.parent / spec["weights"]["file"]
    if verify:
        if not weights.is_file():
            raise ModelFileError(f"{file}: its weights file {weights.name} is missing")
        if weights.resolve().parent != file.parent.resolve():
            raise ModelFileError(
                f"{file}: weights.file: {weights.name} is a link to a file outside the model "
                "folder; the weights must be inside it"
            )
        actual = _sha256(weights)
        if actual != spec["weights"]["sha256"]:
            raise ModelFileError(
                f"{weights}: corrupted or replaced weights file (sha256 {actual[:12]}..., "
                f"{file.name} expects {spec['weights']['sha256'][:12]}...)"
            )
    _SPECS[memo] = spec
    return spec


def _sha256(path: Path) -> str:
    """sha256 of a file's content, memoised on its size, mtime and inode."""
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    digest = _HASHES.get(memo)
    if digest is None:
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        _HASHES[memo] = digest
    return digest


def write_model_dir(
    out: str | os.PathLike,
    spec: dict[str, Any],
    params: dict[str, Any],
    extra: dict[str, np.ndarray] | None = None,
    fill: Callable[[Path], None] | None = None,
    *,
    replace: bool = False,
) -> Path:
    """Write a model folder atomically; ``fill(temp_dir)`` adds files such as metrics.json.

    ``out`` is checked again (:func:`~nodes.model.folder.check_out`) just
    before it is replaced: only a model folder, and only with ``replace``.
    """
    from flax import serialization

    out = check_out(out, replace=replace)
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    try:
        tree = {"params": params, "extra": dict(extra or {})}
        tree = _to_numpy(tree)
        blob = serialization.msgpack_serialize(tree)
        (temp / WEIGHTS_FILE).write_bytes(blob)
        spec = {
            **spec,
            "format": FORMAT,
            "weights": {"file": WEIGHTS_FILE, "sha256": hashlib.sha256(blob).hexdigest()},
        }
        spec.pop("dir", None)
        spec.pop("file", None)
        (temp / MODEL_FILE).write_text(json.dumps(spec, indent=2) + "\n")
        (temp / MARKER).write_text(MARKER_TEXT)
        if fill is not None:
            fill(temp)
        old = None
        if out.exists():
            check_out(out, replace=replace)
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            shutil.rmtree(old, ignore_errors=True)
        try:
            if old is not None:
                os.replace(out, old)
            os.replace(temp, out)
        except BaseException:  # Ctrl-C between the two renames: the old model goes back
            if old is not None and old.exists() and not out.exists():
                os.replace(old, out)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return out


def _to_numpy(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {str(k): _to_numpy(v) for k, v in tree.items()}
    return np.asarray(tree)


def read_weights(spec: dict[str, Any]) -> dict[str, Any]:
    """The ``{"params": ..., "extra": ...}`` tree of a model's weights file."""
    from flax import serialization

    path = Path(spec["dir"]) / spec["weights"]["file"]
    try:
        tree = serialization.msgpack_restore(path.read_bytes())
    except Exception as error:  # msgpack raises several unrelated types
        raise ModelFileError(f"{path}: unreadable weights ({error})") from None
    return tree


@dataclass
class Loaded:
    """A model of a folder, with compiled apply functions per input shape.

    ``model`` (the flax module) is rebuilt on first use: a process that finds
    the model's exported functions and decoded weights in the disk cache
    (:func:`compiled`) never builds it, nor imports flax.
    """

    spec: dict[str, Any]
    tree: dict[str, Any] | None
    extra: dict[str, np.ndarray]
    key: str
    compiled: dict[tuple, Any] = field(default_factory=dict)
    split: Any = None
    leaves: list[Any] | None = None
    _model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = restore(self.spec, self.tree)
            self.tree = None
        return self._model


_LOADED: dict[str, Loaded] = {}
COMPILES: list[tuple[str, tuple]] = []
"""Every (model key, signature) compiled in this process, in order (for tests and benchmarks)."""


def load(path: str | os.PathLike) -> Loaded:
    """The model at ``path`` (folder or model.json), loaded once per process per content."""
    spec = read_spec(path)
    key = hashlib.sha256(
        Path(spec["file"]).read_bytes() + spec["weights"]["sha256"].encode()
    ).hexdigest()
    loaded = _LOADED.get(key)
    if loaded is None:
        extra = _read_decoded(key)
        if extra is not None:  # decoded before, in the disk cache: no msgpack, no flax
            loaded = Loaded(spec, None, extra, key)
        else:
            tree = read_weights(spec)
            extra = {k: np.asarray(v) for k, v in (tree.get("extra") or {}).items()}
            loaded = Loaded(spec, tree, extra, key)
            loaded.model  # noqa: B018 - a weights file that does not fit fails here
        _LOADED[key] = loaded
    return loaded


def restore(spec: dict[str, Any], tree: dict[str, Any] | None = None) -> Any:
    """Build the architecture from ``spec`` and put the saved weights (``tree``, or read) in it.

    The model is built abstractly (``nnx.eval_shape``: shapes only, no random
    initialisers run, which would cost a compile each), then every parameter
    is the saved array. The few variables that are not saved (the dropout's
    random key and counter, unused in eval mode) get zeros.
    """
    from flax import nnx

    import nodes.model._nets as _nets

    jax_module()
    model = nnx.eval_shape(lambda: _nets.build(spec["arch"], spec["config"], seed=0))
    if tree is None:
        tree = read_weights(spec)
    saved = nnx.Any(nnx.Param, nnx.BatchStat)  # what training.params_of saves
    graphdef, state, rest = nnx.split(model, saved, ...)
    try:
        params = _match(nnx.to_pure_dict(state), tree.get("params", {}))
    except (KeyError, ValueError, TypeError, AttributeError):
        raise ModelFileError(
            f"{spec['file']}: the weights do not fit the {spec['arch']} architecture in its config"
        ) from None
    nnx.replace_by_pure_dict(state, params)
    model = nnx.merge(graphdef, state, _zeros(rest))
    model.eval()
    return model


def _zeros(abstract: Any) -> Any:
    """Concrete zeros (zero keys for key arrays) for a tree of shapes, without running XLA."""
    import jax

    def zeros(leaf: Any) -> Any:
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            data = jax.eval_shape(jax.random.key_data, leaf)
            return jax.random.wrap_key_data(np.zeros(data.shape, data.dtype))  # default impl
        return np.zeros(leaf.shape, leaf.dtype)

    return jax.tree.map(zeros, abstract)


def _match(expected: Any, saved: Any) -> Any:
    """``saved`` (msgpack: string keys) rebuilt on the keys and shapes of ``expected``."""
    if isinstance(expected, dict):
        if not isinstance(saved, dict) or len(saved) != len(expected):
            raise ValueError("structure differs")
        return {k: _match(v, saved[str(k)]) for k, v in expected.items()}
    array = np.asarray(saved)
    if array.shape != np.shape(expected):
        raise ValueError(f"shape {array.shape} != {np.shape(expected)}")
    return array


def compiled(loaded: Loaded, name: str, fn: Callable, *args: Any) -> Any:
    """``fn(model, *args)`` jit-compiled once per (model, name, argument shapes) and called.

    ``fn`` must be a pure function of the model and array arguments; the
    compiled executable is kept in the :class:`Loaded` entry.
    """
    jax = jax_module()
    signature = (name, *(tuple(np.shape(a)) for a in args))
    executable = loaded.compiled.get(signature)
    if executable is None and _can_export() and _exported_folder(loaded.key) is not None:
        executable = _exported(loaded, fn, signature, args)
        if executable is not None:
            loaded.compiled[signature] = executable
    if isinstance(executable, _ExportedCall):
        return executable(loaded, *args)
    from flax import nnx

    if loaded.split is None:
        loaded.split = nnx.split(loaded.model)
    graphdef, state = loaded.split
    if executable is None:

        def pure(state: Any, *arrays: Any) -> Any:
            return fn(nnx.merge(graphdef, state), *arrays)

        executable = jax.jit(pure).lower(state, *args).compile()
        loaded.compiled[signature] = executable
        COMPILES.append((loaded.key, signature))
    return executable(state, *args)


CACHE_ENV = "GRAPHENGINE_JAX_CACHE"
"""Environment variable naming the persistent compilation cache folder ("" or "0": none)."""


def jax_cache_folder() -> Path | None:
    """Where compiled XLA executables are kept across processes, or None for no disk cache.

    ``$GRAPHENGINE_JAX_CACHE`` if set (empty or ``0``: none), else
    ``$XDG_CACHE_HOME/graphengine/jax`` or ``~/.cache/graphengine/jax``.
    """
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return Path(chosen) if chosen not in ("", "0") else None
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except (RuntimeError, KeyError):
        return None
    return Path(base) / "graphengine" / "jax"


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


_CONFIGURED: list[Path | None] = []


def jax_module() -> Any:
    """``jax``, with the persistent compilation cache on (once per process, where possible).

    Every compile is cached (no minimum time or size: the models' are
    small but cost 0.1-1 s each, which is the start-up of a graph). A folder
    set through JAX's own ``JAX_COMPILATION_CACHE_DIR`` or ``jax.config`` is
    left as it is; a folder that cannot be created or written turns the disk
    cache off, silently.
    """
    import jax

    if not _CONFIGURED:
        folder = None
        if not jax.config.jax_compilation_cache_dir:
            folder = jax_cache_folder()
            if folder is not None and _writable(folder):
                jax.config.update("jax_compilation_cache_dir", str(folder))
                jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
                jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
            else:
                folder = None
        _CONFIGURED.append(folder)
    return jax


# -- exported functions and decoded weights, kept across processes --------------------------
#
# Beside JAX's compilation cache, a model's apply functions are kept as
# ``jax.export`` artifacts (StableHLO of the function over the model's flat
# state) with the state's arrays and the model's extra arrays as .npy files
# (never pickle), under ``<cache>/exported/<model key>-<code key>/``. A
# second process then imports JAX only: no flax, no msgpack decoding, no
# model rebuilt or traced; the executable comes from the compilation cache.
# The folder's name covers the model files (the key) and the code that
# computes (these modules, their libraries' versions, the backend).


class _ExportedCall:
    """An exported apply function: called with the model's flat state, then the arrays."""

    def __init__(self, exported: Any) -> None:
        self.exported = exported

    def __call__(self, loaded: Loaded, *args: Any) -> Any:
        assert loaded.leaves is not None
        return self.exported.call(loaded.leaves, *args)


def _code_key() -> str:
    import jax

    from graphengine.codehash import code_identity

    identity = code_identity(__name__)
    for module in ("nodes.model.inference", "nodes.model._nets"):
        other = code_identity(module)
        identity["modules"].update(other["modules"])
        identity["packages"].update(other["packages"])
    identity["backend"] = jax.default_backend()
    text = json.dumps(identity, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_FOLDERS: dict[str, Path | None] = {}


@functools.cache
def _can_export() -> bool:
    """Whether exported functions can be written and read (jax.export needs flatbuffers)."""
    return importlib.util.find_spec("flatbuffers") is not None


def _exported_folder(key: str) -> Path | None:
    """This model's folder of exported functions (``None``: no disk cache)."""
    if key not in _FOLDERS:
        jax_module()
        base = _CONFIGURED[0] if _CONFIGURED else None
        _FOLDERS[key] = None if base is None else base / "exported" / f"{key[:32]}-{_code_key()}"
    return _FOLDERS[key]


def _read_decoded(key: str) -> dict[str, np.ndarray] | None:
    """The model's extra arrays from the disk cache, and its flat state into ``_LEAVES``."""
    folder = _exported_folder(key)
    if folder is None:
        return None
    try:
        index = json.loads((folder / "weights.json").read_text())
        leaves = [_leaf(folder / f"leaf{i}.npy", kind) for i, kind in enumerate(index["leaves"])]
        extra = {
            name: np.load(folder / f"extra{i}.npy", allow_pickle=False)
            for i, name in enumerate(index["extra"])
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None
    _LEAVES[key] = leaves
    return extra


_LEAVES: dict[str, list[Any]] = {}


def _leaf(path: Path, kind: str) -> Any:
    array = np.load(path, allow_pickle=False)
    if kind == "key":
        import jax

        return jax.random.wrap_key_data(array)
    return array


def _write_decoded(folder: Path, loaded: Loaded, leaves: list[Any]) -> None:
    """Keep the flat state and extra arrays (written once, atomically; failures ignored)."""
    if (folder / "weights.json").is_file():
        return
    import jax

    temp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    try:
        temp.mkdir(parents=True, exist_ok=True)
        kinds = []
        for i, leaf in enumerate(leaves):
            is_key = jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)
            data = jax.random.key_data(leaf) if is_key else leaf
            np.save(temp / f"leaf{i}.npy", np.asarray(data), allow_pickle=False)
            kinds.append("key" if is_key else "array")
        names = sorted(loaded.extra)
        for i, name in enumerate(names):
            np.save(temp / f"extra{i}.npy", np.asarray(loaded.extra[name]), allow_pickle=False)
        (temp / "weights.json").write_text(json.dumps({"leaves": kinds, "extra": names}))
        folder.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # another process was first: its folder is the same
            os.replace(temp, folder)
    except OSError:
        pass
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _signature_file(folder: Path, signature: tuple, args: tuple[Any, ...]) -> Path:
    dtypes = ",".join(str(np.asarray(a).dtype) for a in args)
    text = json.dumps([list(map(str, signature)), dtypes])
    return folder / f"{signature[0]}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.jaxexport"


def _exported(
    loaded: Loaded, fn: Callable, signature: tuple, args: tuple[Any, ...]
) -> _ExportedCall | None:
    """The exported apply function for these arguments: from disk, or exported now.

    ``None`` where it cannot be had (the caller then jit-compiles as before).
    """
    import jax
    from jax import export

    folder = _exported_folder(loaded.key)
    assert folder is not None
    path = _signature_file(folder, signature, args)
    if loaded.leaves is None:
        loaded.leaves = _LEAVES.get(loaded.key)
    if loaded.leaves is not None and path.is_file():
        try:
            return _ExportedCall(export.deserialize(bytearray(path.read_bytes())))
        except Exception:  # an artifact of another JAX: export it again
            pass
    from flax import nnx

    graphdef, state = nnx.split(loaded.model)
    leaves, treedef = jax.tree.flatten(state)

    def flat(leaves: Any, *arrays: Any) -> Any:
        return fn(nnx.merge(graphdef, jax.tree.unflatten(treedef, leaves)), *arrays)

    try:
        exported = export.export(jax.jit(flat))(leaves, *args)
        blob = exported.serialize()
    except Exception:  # a function JAX cannot export: jit-compile it as before
        return None
    loaded.leaves = leaves
    _write_decoded(folder, loaded, leaves)
    try:
        temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        temp.write_bytes(blob)
        os.replace(temp, path)
    except OSError:
        pass
    COMPILES.append((loaded.key, signature))
    return _ExportedCall(exported)
