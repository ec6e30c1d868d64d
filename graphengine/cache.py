"""Content-addressed cache of node outputs: a memory LRU in front of a disk store.

An entry is a set of named numpy arrays plus JSON metadata, stored under a key
that is the lowercase sha256 hex digest of everything that determined it.

Disk layout (``<dir>`` is the cache directory)::

    <dir>/<key[:2]>/<key>/<name>.npy   one file per array, written by np.save
    <dir>/<key[:2]>/<key>/meta.json    format version, key, meta, and per array
                                       its file, dtype, shape and CRC-32
    <dir>/records/<name>.json          small side records (e.g. last run of a graph)
    <dir>/tmp/                         scratch space for atomic writes and removals

Guarantees:

- never pickle: arrays are written and read with ``allow_pickle=False``;
  object arrays are refused;
- atomic: an entry is built in ``<dir>/tmp/`` and renamed into place, and is
  removed by renaming it back out, so a reader never sees half an entry;
- checked on read: a missing file, bad JSON, wrong format version, hash,
  shape or dtype mismatch, or any ``np.load`` failure makes the entry corrupt;
  it is removed and ``get`` reports a miss, so the caller recomputes;
- safe for several processes sharing one directory: when two write the same
  key, the first rename wins and the other discards its copy; scratch left
  behind by killed processes is removed on ``DiskStore`` creation and ``clear``.

Arrays handed out by the cache are read-only (``flags.writeable`` is False);
treat the ``arrays`` and ``meta`` dicts of a returned entry as read-only too.
"""

from __future__ import annotations

import contextlib
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

from graphengine.fsutil import pid_alive, write_text_atomic

__all__ = ["Cache", "CacheEntry", "DiskStore", "MemoryLRU"]

FORMAT_VERSION = 2
"""Version of the on-disk entry format; entries of another version are corrupt.

2: each array's file is checked by CRC-32 (1: sha256, which cost cold renders ~2x)."""

STALE_SCRATCH_SECONDS = 3600.0
"""Scratch older than this is removed even when its process seems alive."""

_META_FILE = "meta.json"
_TMP_DIR = "tmp"
_RECORDS_DIR = "records"
_KEY_RE = re.compile(r"[0-9a-f]{64}")
_PREFIX_RE = re.compile(r"[0-9a-f]{2}")
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,200}")
_RECORD_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
_HOST = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"


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
            if path.is_dir():
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
            If the directory cannot be written.
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
        """Remove every entry (records are kept) and stale scratch; return the count removed."""
        removed = sum(self._discard(path) for path in self._entry_paths())
        for prefix in _scandir(self.directory):
            if _PREFIX_RE.fullmatch(prefix.name):
                _silently(os.rmdir, prefix.path)
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
        paths = []
        for prefix in _scandir(self.directory):
            if not _PREFIX_RE.fullmatch(prefix.name):
                continue
            for item in _scandir(prefix.path):
                if _KEY_RE.fullmatch(item.name) and item.name.startswith(prefix.name):
                    paths.append(Path(item.path))
        return paths

    def _new_scratch_path(self) -> Path:
        tmp = self.directory / _TMP_DIR
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp / _scratch_name()

    def _new_scratch_dir(self) -> Path:
        """A new empty scratch folder; ``tmp/`` is made only when missing (one syscall per put)."""
        scratch = self.directory / _TMP_DIR / _scratch_name()
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
            if final.is_dir():
                self._discard(final)  # a broken leftover: replace it
        raise error

    def _discard(self, path: Path) -> bool:
        """Remove an entry directory by renaming it out of place first.

        Returns True when this call removed it, False when it was already gone
        (for example because another process removed it concurrently).
        """
        try:
            trash = self._new_scratch_path()
            os.rename(path, trash)
        except OSError:
            if not path.exists():
                return False
            shutil.rmtree(path, ignore_errors=True)
            return not path.exists()
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def _remove_stale_scratch(self) -> None:
        now = time.time()
        for item in _scandir(self.directory / _TMP_DIR):
            if _is_stale_scratch(item, now):
                if item.is_dir(follow_symlinks=False):
                    shutil.rmtree(item.path, ignore_errors=True)
                else:
                    _silently(os.unlink, item.path)


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
    """

    def __init__(
        self,
        directory: str | os.PathLike | None,
        memory_bytes: int = 1 << 30,
        memory: MemoryLRU | None = None,
    ):
        self.memory = memory if memory is not None else MemoryLRU(memory_bytes)
        self.disk = DiskStore(directory) if directory is not None else None
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
            entry = CacheEntry({k: _freeze_owned(a) for k, a in entry.arrays.items()}, entry.meta)
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


def _freeze_owned(array: np.ndarray) -> np.ndarray:
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
    return _freeze_owned(array)


def _dtype_descr(dtype: np.dtype) -> Any:
    """The dtype as stored in meta.json (the .npy descr, after a JSON round trip)."""
    return json.loads(json.dumps(np.lib.format.dtype_to_descr(dtype)))


# --- file system helpers ----------------------------------------------------------------------


def _scratch_name(pid: int | None = None) -> str:
    """Unique scratch name ``<pid>-<random>-<host>`` under ``<dir>/tmp/``."""
    return f"{os.getpid() if pid is None else pid}-{secrets.token_hex(8)}-{_HOST}"


def _is_stale_scratch(item: os.DirEntry, now: float) -> bool:
    """Scratch is stale when older than an hour, or its local process is gone."""
    try:
        if now - item.stat(follow_symlinks=False).st_mtime > STALE_SCRATCH_SECONDS:
            return True
    except OSError:
        return False
    parts = item.name.split("-", 2)
    if len(parts) != 3 or not parts[0].isdigit() or parts[2] != _HOST:
        return False
    return not pid_alive(int(parts[0]))


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
