"""Content-addressed cache of node outputs: a memory LRU in front of a disk store.

An entry is a set of named numpy arrays plus JSON metadata, stored under a key
that is the lowercase sha256 hex digest of everything that determined it.

Disk layout (``<dir>`` is the cache directory)::

    <dir>/CACHEDIR.TAG                 marks the folder as a cache (https://bford.info/cachedir/)
    <dir>/<key[:2]>/<key>/<name>.npy   one file per array, written by np.save
    <dir>/<key[:2]>/<key>/meta.json    format version, key, meta, and per array
                                       its file, dtype, shape and CRC-32
    <dir>/records/<name>.json          small side records (e.g. last run of a graph)
    <dir>/.graphengine-scratch/        scratch space for atomic writes and removals,
                                       marked as the cache's own by a marker file in it

Guarantees:

- never pickle: arrays are written and read with ``allow_pickle=False``;
  object arrays are refused;
- atomic: an entry is built in the scratch folder and renamed into place, and
  is removed by renaming it back out, so a reader never sees half an entry;
- checked on read: a missing file, bad JSON, wrong format version, hash,
  shape or dtype mismatch, or any ``np.load`` failure makes the entry corrupt;
  it is removed and ``get`` reports a miss, so the caller recomputes;
- safe for several processes sharing one directory: when two write the same
  key, the first rename wins and the other discards its copy; scratch left
  behind by killed processes is removed on ``DiskStore`` creation and ``clear``;
- nothing the cache did not make is ever removed: only ``<key[:2]>/<key>``
  folders holding a ``meta.json`` count as entries, and only names of the
  pattern ``<pid>-<16 hex>-<host>`` inside the marked scratch folder as scratch.
  A folder without ``meta.json`` in an entry's place is left alone (a miss).

:func:`open_disk_cache` is how the engine opens one: it proves the folder can
be written before anything runs, and uses only a folder that is new, empty, or
already a cache (see :func:`folder_kind`); otherwise it runs memory-only with
one warning line.

Layout history: before scratch moved to ``.graphengine-scratch/`` it lived in
``<dir>/tmp/``; that folder is no longer used or cleaned (it cannot be told from
a user's own ``tmp/``). Entries are unchanged (``FORMAT_VERSION`` 2), so caches
written before the move are still read.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import socket
import threading
import time
import zlib
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from graphengine.fsutil import os_error_reason, pid_alive, write_text_atomic

__all__ = [
    "Cache",
    "CacheEntry",
    "CacheFolderError",
    "DiskStore",
    "MemoryLRU",
    "folder_kind",
    "open_disk_cache",
]

FORMAT_VERSION = 2
"""Version of the on-disk entry format; entries of another version are corrupt.

2: each array's file is checked by CRC-32 (1: sha256, which cost cold renders ~2x)."""

STALE_SCRATCH_SECONDS = 3600.0
"""Scratch older than this is removed even when its process seems alive."""

SCRATCH_DIR = ".graphengine-scratch"
"""The cache's scratch folder, inside the cache directory."""

TAG_FILE = "CACHEDIR.TAG"
TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"
_TAG_TEXT = (
    f"{TAG_SIGNATURE}\n"
    "# This file is a cache directory tag created by graphengine.\n"
    "# For information about cache directory tags, see: https://bford.info/cachedir/\n"
)
_SCRATCH_MARKER = "GRAPHENGINE-SCRATCH"
_MARKER_TEXT = "Scratch space of a graphengine cache; the engine removes what it left here.\n"
_META_FILE = "meta.json"
_OLD_TMP_DIR = "tmp"
_RECORDS_DIR = "records"
_KEY_RE = re.compile(r"[0-9a-f]{64}")
_PREFIX_RE = re.compile(r"[0-9a-f]{2}")
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,200}")
_RECORD_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
_HOST = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"
_SCRATCH_RE = re.compile(r"([0-9]{1,10})-[0-9a-f]{16}-([A-Za-z0-9_.]+)")
_IGNORED_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


class _CorruptEntry(Exception):
    """Raised inside the disk store when an entry fails a read check."""


@dataclass(frozen=True, eq=False)
class CacheEntry:
    """One cached node output.

    Parameters
    ----------
    arrays : dict of str to numpy.ndarray
        Named arrays; names match ``[A-Za-z0-9_.-]+`` (at most 200 characters),
        any dtype except object (also inside structured dtypes).
    meta : dict
        JSON-serialisable metadata (plain Python values, no numpy scalars).
        After a round trip through the cache it comes back as JSON would give
        it (tuples become lists).
    """

    arrays: dict[str, np.ndarray]
    meta: dict

    @property
    def nbytes(self) -> int:
        """Total size of the arrays in bytes (metadata is not counted)."""
        return sum(int(array.nbytes) for array in self.arrays.values())


class MemoryLRU:
    """In-memory least-recently-used cache bounded in bytes of array data.

    Stored arrays are read-only: ``put`` keeps a read-only copy of any array
    that could still be written through (the caller's array is left alone),
    and ``get`` hands those read-only arrays out. Thread-safe.

    Parameters
    ----------
    max_bytes : int >= 0
        Bound on the sum of ``CacheEntry.nbytes`` over the kept entries.
    """

    def __init__(self, max_bytes: int):
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"max_bytes must be an int >= 0, got {max_bytes!r}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._nbytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> CacheEntry | None:
        """Return the entry for ``key`` and mark it most recently used, or None."""
        _check_key(key)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: CacheEntry) -> None:
        """Keep ``entry`` under ``key``, evicting least recently used entries.

        An entry larger than ``max_bytes`` is not kept.

        Raises
        ------
        ValueError
            If the key or the entry is invalid (bad name, object array,
            metadata that is not JSON).
        """
        _check_key(key)
        _check_entry(entry)
        keep = entry.nbytes <= self.max_bytes
        frozen = _freeze_entry(entry) if keep else None
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._nbytes -= old.nbytes
            if frozen is None:
                return
            self._entries[key] = frozen
            self._nbytes += frozen.nbytes
            while self._nbytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._nbytes -= evicted.nbytes

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Sum of ``nbytes`` over the kept entries."""
        with self._lock:
            return self._nbytes

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self._nbytes = 0


class DiskStore:
    """Entries as ``.npy`` files plus ``meta.json`` in a directory.

    See the module docstring for the layout and guarantees. Arrays returned by
    ``get`` are read-only.

    Parameters
    ----------
    directory : str or os.PathLike
        Cache directory; created on the first write, not before.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self._remove_stale_scratch()

    def prepare(self) -> None:
        """Make the directory ready and prove it can be written, before anything runs.

        Creates the directory and the marked scratch folder, writes a probe file
        there and removes it, and writes ``CACHEDIR.TAG`` when it is missing.
        Call it only for a folder :func:`folder_kind` calls ``"missing"``,
        ``"empty"`` or ``"cache"``: the tag tells backup tools to skip the folder.

        Raises
        ------
        OSError
            If any of it cannot be written.
        """
        scratch = self._scratch_root()
        self._ensure_scratch_root()
        probe = scratch / _scratch_name()
        probe.write_bytes(b"probe")
        probe.unlink()
        tag = self.directory / TAG_FILE
        if not tag.is_file():
            write_text_atomic(tag, _TAG_TEXT)

    def get(self, key: str) -> CacheEntry | None:
        """Load the entry for ``key``; None when missing or corrupt (then removed)."""
        _check_key(key)
        path = self._entry_path(key)
        if not path.is_dir():
            return None
        try:
            return _read_entry(path, key)
        except MemoryError:
            raise
        except Exception:
            if (path / _META_FILE).is_file():  # only what the cache made is removed
                self._discard(path)
            return None

    def contains(self, key: str) -> bool:
        """Whether an entry for ``key`` is present (its content is not checked)."""
        _check_key(key)
        return (self._entry_path(key) / _META_FILE).is_file()

    def put(self, key: str, entry: CacheEntry) -> None:
        """Write ``entry`` under ``key`` atomically; keep the existing one if present.

        Raises
        ------
        ValueError
            If the key or the entry is invalid.
        OSError
            If the directory cannot be written, or something that is not an
            entry (no ``meta.json``) is in the entry's place; it is left alone.
        """
        _check_key(key)
        _check_entry(entry)
        final = self._entry_path(key)
        if (final / _META_FILE).is_file():
            return
        scratch = self._new_scratch_dir()
        try:
            _write_entry(scratch, key, entry)
            self._publish(scratch, final)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def info(self) -> dict:
        """Return ``{"directory": str, "entries": int, "bytes": int}`` for the entries."""
        entries = 0
        size = 0
        for path in self._entry_paths():
            entries += 1
            size += _tree_size(path)
        return {"directory": str(self.directory), "entries": entries, "bytes": size}

    def clear(self) -> int:
        """Remove every entry (records are kept) and stale scratch; return the count removed.

        Only entries are removed (``<key[:2]>/<key>`` holding ``meta.json``),
        and the prefix folders they leave empty; nothing else in the folder.
        """
        removed = sum(self._discard(path) for path in self._entry_paths())
        self._remove_stale_scratch()
        return removed

    def put_record(self, name: str, record: dict) -> None:
        """Write a small JSON side record atomically (temporary file, then replace).

        Parameters
        ----------
        name : str
            Record name, ``[A-Za-z0-9_][A-Za-z0-9_.-]*`` (at most 200 characters).
        record : dict
            JSON-serialisable content.
        """
        _check_record_name(name)
        if not isinstance(record, dict):
            raise ValueError(f"a record must be a dict, got {type(record).__name__}")
        text = _to_json(record, what=f"record {name!r}")
        write_text_atomic(self.directory / _RECORDS_DIR / f"{name}.json", text)

    def get_record(self, name: str) -> dict | None:
        """Return the record called ``name``; None when missing or unreadable."""
        _check_record_name(name)
        try:
            text = (self.directory / _RECORDS_DIR / f"{name}.json").read_text(encoding="utf-8")
            record = json.loads(text)
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def _entry_path(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def _entry_paths(self) -> list[Path]:
        """The entries: ``<key[:2]>/<key>`` folders that hold a ``meta.json``."""
        paths = []
        for prefix in _scandir(self.directory):
            if not _PREFIX_RE.fullmatch(prefix.name) or not prefix.is_dir(follow_symlinks=False):
                continue
            for item in _scandir(prefix.path):
                if _is_entry(item, prefix.name):
                    paths.append(Path(item.path))
        return paths

    def _scratch_root(self) -> Path:
        return self.directory / SCRATCH_DIR

    def _ensure_scratch_root(self) -> None:
        """Make the scratch folder; mark it as the cache's own when it holds nothing else.

        Unmarked, it is new or holds only scratch names (another process made
        it and has not marked it yet); anything else there leaves it unmarked,
        so never cleaned.
        """
        root = self._scratch_root()
        root.mkdir(parents=True, exist_ok=True)
        marker = root / _SCRATCH_MARKER
        if marker.is_file():
            return
        if all(_SCRATCH_RE.fullmatch(item.name) for item in _scandir(root)):
            write_text_atomic(marker, _MARKER_TEXT)

    def _new_scratch_path(self) -> Path:
        self._ensure_scratch_root()
        return self._scratch_root() / _scratch_name()

    def _new_scratch_dir(self) -> Path:
        """A new empty scratch folder; its root is made only when missing (one syscall per put)."""
        scratch = self._scratch_root() / _scratch_name()
        try:
            scratch.mkdir()
        except FileNotFoundError:
            scratch = self._new_scratch_path()
            scratch.mkdir()
        return scratch

    def _publish(self, scratch: Path, final: Path) -> None:
        """Rename ``scratch`` to ``final``; if another process got there first, keep theirs.

        Other processes may create or remove ``final`` and its parent at any
        moment, so a failed rename is looked at again and retried a few times.
        A folder in ``final``'s place that is not an entry is never removed.
        """
        error: OSError | None = None
        for attempt in range(8):
            try:
                if attempt:  # the prefix folder is usually there: make it only after a failure
                    final.parent.mkdir(parents=True, exist_ok=True)
                os.rename(scratch, final)
                return
            except OSError as exc:
                error = exc
            if not scratch.is_dir():
                return  # our scratch was cleaned away: nothing stored, a later put retries
            if (final / _META_FILE).is_file():
                return  # another process won the race
            if final.exists() and _scandir(final):
                error = FileExistsError(
                    errno.EEXIST, f"not a cache entry (no {_META_FILE}), left alone", str(final)
                )
        raise error

    def _discard(self, path: Path) -> bool:
        """Remove an entry directory by renaming it out of place first.

        Returns True when this call removed it, False when it was already gone
        (for example because another process removed it concurrently). Callers
        pass only entries (folders holding ``meta.json``).
        """
        try:
            trash = self._new_scratch_path()
            os.rename(path, trash)
        except OSError:
            if not path.exists():
                return False
            if (path / _META_FILE).is_file():
                shutil.rmtree(path, ignore_errors=True)
            return not path.exists()
        shutil.rmtree(trash, ignore_errors=True)
        _silently(os.rmdir, path.parent)  # the prefix folder, when that left it empty
        return True

    def _remove_stale_scratch(self) -> None:
        """Remove scratch of dead processes, only inside the marked scratch folder."""
        root = self._scratch_root()
        if not (root / _SCRATCH_MARKER).is_file():
            return
        now = time.time()
        for item in _scandir(root):
            if _is_stale_scratch(item, now):
                if item.is_dir(follow_symlinks=False):
                    shutil.rmtree(item.path, ignore_errors=True)
                else:
                    _silently(os.unlink, item.path)


class CacheFolderError(ValueError):
    """The cache directory names something that is not a folder (a regular file)."""


def folder_kind(directory: str | os.PathLike) -> str:
    """What ``directory`` is to the cache, one word.

    ``"missing"`` (not there yet), ``"empty"``, ``"cache"`` (a graphengine cache:
    its ``CACHEDIR.TAG`` says graphengine, or its scratch folder is marked, or it
    holds only the names of the cache's layout, as caches written before the
    tag did), ``"file"`` (not a folder), or ``"other"`` (a folder of other files).
    """
    path = Path(directory)
    if not path.exists():
        return "file" if path.is_symlink() else "missing"
    if not path.is_dir():
        return "file"
    items = [item for item in _scandir(path) if item.name not in _IGNORED_NAMES]
    if not items:
        return "empty"
    if _has_our_tag(path) or (path / SCRATCH_DIR / _SCRATCH_MARKER).is_file():
        return "cache"
    return "cache" if all(_is_cache_name(item) for item in items) else "other"


def open_disk_cache(directory: str | os.PathLike, memory: MemoryLRU | None = None) -> Cache:
    """A cache with a disk store in ``directory``, proved writable before anything runs.

    A folder that cannot be created or written, or that already holds files
    which are not a cache, gives a memory-only cache instead: the render still
    works, and ``Cache.warning`` is one line naming the folder and the reason.
    The cache never writes into a folder of other files, so ``--cache-dir ~``
    leaves the home folder as it was.

    Raises
    ------
    CacheFolderError
        If ``directory`` names an existing file that is not a folder: a path
        mix-up (``--cache-dir out.wav``) the user should hear about as an
        error, not a condition of the machine to work around on every run.
    """
    path = Path(directory)
    kind = folder_kind(path)
    if kind == "file":
        raise CacheFolderError(f"cache directory {path} is a file, not a folder")
    if kind == "other":
        return _memory_only(memory, f"{path} is not a graphengine cache (it holds other files)")
    cache = Cache(path, memory=memory)
    assert cache.disk is not None
    try:
        cache.disk.prepare()
    except OSError as error:
        reason = os_error_reason(error.errno, str(error))
        return _memory_only(memory, f"cannot write in {path} ({reason})")
    return cache


def _memory_only(memory: MemoryLRU | None, problem: str) -> Cache:
    cache = Cache(None, memory=memory)
    cache.warning = f"cache: {problem}; running without the disk cache"
    return cache


def _has_our_tag(path: Path) -> bool:
    try:
        text = (path / TAG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return text.startswith(TAG_SIGNATURE) and "graphengine" in text


def _is_cache_name(item: os.DirEntry) -> bool:
    """Whether a top-level item of a folder is one the cache's layout has (or had)."""
    if item.name == TAG_FILE:
        return True
    if not item.is_dir(follow_symlinks=False):
        return False
    if item.name == SCRATCH_DIR:
        return True
    children = _scandir(item.path)
    if item.name == _OLD_TMP_DIR:
        return all(_SCRATCH_RE.fullmatch(child.name) for child in children)
    if item.name == _RECORDS_DIR:
        return all(
            child.name.endswith(".json") and _RECORD_RE.fullmatch(child.name[:-5])
            for child in children
        )
    if _PREFIX_RE.fullmatch(item.name):  # meta.json may be missing: recognised, never removed
        return all(
            _KEY_RE.fullmatch(child.name) and child.name.startswith(item.name) for child in children
        )
    return False


def _is_entry(item: os.DirEntry, prefix: str) -> bool:
    """Whether ``item`` inside prefix folder ``prefix`` is an entry the cache made."""
    return (
        _KEY_RE.fullmatch(item.name) is not None
        and item.name.startswith(prefix)
        and item.is_dir(follow_symlinks=False)
        and os.path.isfile(os.path.join(item.path, _META_FILE))
    )


class Cache:
    """Memory LRU in front of an optional disk store.

    Parameters
    ----------
    directory : str or os.PathLike or None
        Disk store directory; None keeps entries in memory only.
    memory_bytes : int >= 0
        Bound of the memory LRU created when ``memory`` is not given.
    memory : MemoryLRU, optional
        An LRU to use (for example one shared between several caches).

    Attributes
    ----------
    memory : MemoryLRU
    disk : DiskStore or None
    warning : str or None
        Why there is no disk store although one was asked for (set by
        :func:`open_disk_cache`), one line; None otherwise.
    """

    def __init__(
        self,
        directory: str | os.PathLike | None,
        memory_bytes: int = 1 << 30,
        memory: MemoryLRU | None = None,
    ):
        self.memory = memory if memory is not None else MemoryLRU(memory_bytes)
        self.disk = DiskStore(directory) if directory is not None else None
        self.warning: str | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []

    def get(self, key: str) -> CacheEntry | None:
        """Return the entry from memory, else from disk (promoting it to memory), else None."""
        entry = self.memory.get(key)
        if entry is not None and self.disk is not None and not self.disk.contains(key):
            self.put(key, entry, background=True)  # computed for another cache directory
        if entry is not None or self.disk is None:
            return entry
        entry = self.disk.get(key)
        if entry is not None:
            self.memory.put(key, entry)
        return entry

    def contains(self, key: str) -> bool:
        """Whether ``key`` is cached, without loading arrays.

        A corrupt disk entry still counts until ``get`` finds it out.
        """
        if key in self.memory:
            return True
        if self.disk is None:
            _check_key(key)
            return False
        return self.disk.contains(key)

    def put(
        self, key: str, entry: CacheEntry, *, owned: bool = False, background: bool = False
    ) -> None:
        """Store ``entry`` in memory and, when there is a disk store, on disk.

        Parameters
        ----------
        owned : bool
            The caller hands the arrays over: they are made read-only in place
            instead of being copied.
        background : bool
            Write to disk on a writer thread; :meth:`flush` waits for it.
        """
        if owned:
            entry = CacheEntry({k: freeze_in_place(a) for k, a in entry.arrays.items()}, entry.meta)
        self.memory.put(key, entry)
        if self.disk is None:
            return
        if not background:
            self.disk.put(key, entry)
            return
        frozen = _freeze_entry(entry)
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cache-writer")
        self._pending.append(self._writer.submit(self.disk.put, key, frozen))

    def flush(self) -> list[BaseException]:
        """Wait for background disk writes; return the errors they raised (entries not stored)."""
        pending, self._pending = self._pending, []
        errors = []
        for future in pending:
            error = future.exception()
            if error is not None:
                errors.append(error)
        return errors


# --- validation ---------------------------------------------------------------------------


def _check_key(key: object) -> None:
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise ValueError(f"cache key must be 64 lowercase hex characters, got {key!r}")


def _check_record_name(name: object) -> None:
    if not isinstance(name, str) or not _RECORD_RE.fullmatch(name):
        raise ValueError(f"record name must match [A-Za-z0-9_][A-Za-z0-9_.-]*, got {name!r}")


def _check_entry(entry: object) -> None:
    if not isinstance(entry, CacheEntry):
        raise ValueError(f"expected a CacheEntry, got {type(entry).__name__}")
    if not isinstance(entry.arrays, dict) or not isinstance(entry.meta, dict):
        raise ValueError("CacheEntry.arrays and CacheEntry.meta must be dicts")
    folded: set[str] = set()
    for name, array in entry.arrays.items():
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise ValueError(f"array name must match [A-Za-z0-9_.-]+, got {name!r}")
        if name.lower() in folded:
            raise ValueError(f"array names differ only in case: {name!r}")
        folded.add(name.lower())
        if not isinstance(array, np.ndarray):
            raise ValueError(f"array {name!r} is a {type(array).__name__}, not a numpy array")
        if array.dtype.hasobject:
            raise ValueError(f"array {name!r} has dtype {array.dtype}: object arrays are refused")
    _to_json(entry.meta, what="entry meta")


def _to_json(value: Any, *, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not JSON-serialisable: {exc}") from exc


# --- read-only arrays -----------------------------------------------------------------------


def _is_frozen(array: np.ndarray) -> bool:
    """Whether no writeable array shares ``array``'s memory through its base chain."""
    base: object = array
    while isinstance(base, np.ndarray):
        if base.flags.writeable:
            return False
        base = base.base
    return base is None


def _freeze(array: np.ndarray) -> np.ndarray:
    """Return ``array`` if already frozen, else a read-only copy of it."""
    if _is_frozen(array):
        return array
    copy = np.array(array, copy=True, subok=False)
    copy.flags.writeable = False
    return copy


def freeze_in_place(array: np.ndarray) -> np.ndarray:
    """Mark ``array`` and its base arrays read-only in place (arrays this module made)."""
    base: object = array
    while isinstance(base, np.ndarray):
        base.flags.writeable = False
        base = base.base
    return array


def _freeze_entry(entry: CacheEntry) -> CacheEntry:
    arrays = {name: _freeze(array) for name, array in entry.arrays.items()}
    return CacheEntry(arrays=arrays, meta=json.loads(json.dumps(entry.meta)))


# --- entry files ------------------------------------------------------------------------------


def _write_entry(directory: Path, key: str, entry: CacheEntry) -> None:
    """Write the arrays and ``meta.json`` of one entry into an empty directory."""
    specs = {}
    for name, array in entry.arrays.items():
        file_name = f"{name}.npy"
        with open(directory / file_name, "wb") as fh:
            checked = _Crc32Writer(fh)
            np.save(checked, array, allow_pickle=False)
        specs[name] = {
            "file": file_name,
            "dtype": _dtype_descr(array.dtype),
            "shape": list(array.shape),
            "crc32": checked.crc,
        }
    doc = {"format": FORMAT_VERSION, "key": key, "meta": entry.meta, "arrays": specs}
    (directory / _META_FILE).write_text(json.dumps(doc, sort_keys=True), encoding="utf-8")


class _Crc32Writer:
    """A write-only file wrapper that keeps the CRC-32 of what passes through it.

    Corruption, not tampering, is what the check is for: CRC-32 catches torn
    and flipped bytes at twice sha256's speed, and the entry is computed while
    being written instead of read back.
    """

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self.crc = 0

    def write(self, data: Any) -> int:
        self.crc = zlib.crc32(data, self.crc)
        return self._fh.write(data)

    def flush(self) -> None:
        self._fh.flush()


def _read_entry(directory: Path, key: str) -> CacheEntry:
    """Read and check one entry; raise on any problem (the caller treats it as corrupt)."""
    doc = json.loads((directory / _META_FILE).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION:
        raise _CorruptEntry("unknown format")
    meta, specs = doc.get("meta"), doc.get("arrays")
    if doc.get("key") != key or not isinstance(meta, dict) or not isinstance(specs, dict):
        raise _CorruptEntry("bad meta.json")
    arrays = {name: _read_array(directory, name, spec) for name, spec in specs.items()}
    return CacheEntry(arrays=arrays, meta=meta)


def _read_array(directory: Path, name: str, spec: object) -> np.ndarray:
    if not _NAME_RE.fullmatch(name) or not isinstance(spec, dict):
        raise _CorruptEntry(f"bad array spec {name!r}")
    if spec.get("file") != f"{name}.npy":
        raise _CorruptEntry(f"bad file name for {name!r}")
    with open(directory / spec["file"], "rb") as fh:
        crc = 0
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            crc = zlib.crc32(chunk, crc)
        if crc != spec.get("crc32"):
            raise _CorruptEntry(f"checksum mismatch for {name!r}")
        fh.seek(0)
        array = np.load(fh, allow_pickle=False)
    if not isinstance(array, np.ndarray):
        raise _CorruptEntry(f"{name!r} is not a .npy array")
    if list(array.shape) != spec.get("shape") or _dtype_descr(array.dtype) != spec.get("dtype"):
        raise _CorruptEntry(f"shape or dtype mismatch for {name!r}")
    return freeze_in_place(array)


def _dtype_descr(dtype: np.dtype) -> Any:
    """The dtype as stored in meta.json (the .npy descr, after a JSON round trip)."""
    return json.loads(json.dumps(np.lib.format.dtype_to_descr(dtype)))


# --- file system helpers ----------------------------------------------------------------------


def _scratch_name(pid: int | None = None) -> str:
    """Unique scratch name ``<pid>-<16 hex>-<host>`` in the scratch folder."""
    return f"{os.getpid() if pid is None else pid}-{secrets.token_hex(8)}-{_HOST}"


def _is_stale_scratch(item: os.DirEntry, now: float) -> bool:
    """Whether ``item`` is scratch the cache made that nobody uses any more.

    Only names of the scratch pattern count; of those, one older than
    ``STALE_SCRATCH_SECONDS`` is stale, and so is one whose process on this
    host is gone.
    """
    match = _SCRATCH_RE.fullmatch(item.name)
    if match is None:
        return False
    try:
        if now - item.stat(follow_symlinks=False).st_mtime > STALE_SCRATCH_SECONDS:
            return True
    except OSError:
        return False
    return match.group(2) == _HOST and not pid_alive(int(match.group(1)))


def _scandir(path: str | os.PathLike) -> list[os.DirEntry]:
    try:
        with os.scandir(path) as it:
            return list(it)
    except OSError:
        return []


def _tree_size(path: Path) -> int:
    size = 0
    for item in _scandir(path):
        with contextlib.suppress(OSError):
            size += item.stat(follow_symlinks=False).st_size
    return size


def _silently(func: Any, *args: Any) -> None:
    with contextlib.suppress(OSError):
        func(*args)
