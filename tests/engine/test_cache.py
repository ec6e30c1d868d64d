"""Tests for graphengine.cache: memory LRU, disk store, and the two together."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from graphengine import cache as cache_mod
from graphengine.cache import Cache, CacheEntry, DiskStore, MemoryLRU
from support import dead_pid


def make_key(label: object) -> str:
    return hashlib.sha256(str(label).encode()).hexdigest()


def entry_dir(directory: Path, key: str) -> Path:
    return directory / key[:2] / key


def sample_entry(seed: int = 0, frames: int = 1000) -> CacheEntry:
    rng = np.random.default_rng(seed)
    audio = rng.standard_normal((2, frames)).astype(np.float32)
    return CacheEntry({"audio": audio}, {"sample_rate": 48000, "seed": seed})


def assert_same_arrays(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert set(got) == set(want)
    for name, array in want.items():
        assert got[name].dtype == array.dtype, name
        assert got[name].shape == array.shape, name
        assert got[name].tobytes() == np.ascontiguousarray(array).tobytes(), name


def sized_entry(nbytes: int, fill: float = 0.0) -> CacheEntry:
    return CacheEntry({"x": np.full(nbytes // 8, fill, dtype=np.float64)}, {})


def scratch_left(directory: Path) -> list[str]:
    """What is in the cache's scratch folder besides its marker."""
    root = directory / cache_mod.SCRATCH_DIR
    return sorted(p.name for p in root.iterdir() if p.name != cache_mod._SCRATCH_MARKER)


# --- round trips ---------------------------------------------------------------------------

ROUND_TRIP_ARRAYS = {
    "float32_stereo": np.linspace(-1, 1, 2 * 4410, dtype=np.float32).reshape(2, 4410),
    "complex64_3d": np.arange(60).astype(np.complex64).reshape(3, 4, 5) * (1 - 2j),
    "float64_1d": np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300]),
    "int64": np.arange(-5, 5, dtype=np.int64),
    "int16_2d": np.arange(12, dtype=np.int16).reshape(3, 4),
    "uint8_scalar": np.array(7, dtype=np.uint8),
    "bool": np.array([True, False, True]),
    "empty": np.zeros((0, 5), dtype=np.float32),
    "fortran": np.asfortranarray(np.arange(20.0).reshape(4, 5)),
    "strided_view": np.arange(40, dtype=np.float32).reshape(4, 10)[:, ::3],
    "big_endian": np.arange(6, dtype=">f8"),
    "structured": np.array([(1, 2.5), (3, -1.0)], dtype=[("n", "<i4"), ("v", "<f8")]),
}


def test_disk_round_trip_of_many_dtypes_and_shapes(tmp_path):
    key = make_key("round-trip")
    meta = {"sample_rate": 44100, "labels": ["a", "b"], "nested": {"x": 1.5, "none": None}}
    DiskStore(tmp_path).put(key, CacheEntry(dict(ROUND_TRIP_ARRAYS), meta))

    got = DiskStore(tmp_path).get(key)

    assert got is not None
    assert_same_arrays(got.arrays, ROUND_TRIP_ARRAYS)
    assert got.meta == meta
    assert all(not array.flags.writeable for array in got.arrays.values())
    assert got.nbytes == sum(array.nbytes for array in ROUND_TRIP_ARRAYS.values())


def test_disk_layout_is_npy_plus_meta_json(tmp_path):
    key = make_key("layout")
    DiskStore(tmp_path).put(key, sample_entry())

    path = entry_dir(tmp_path, key)
    assert sorted(p.name for p in path.iterdir()) == ["audio.npy", "meta.json"]
    doc = json.loads((path / "meta.json").read_text())
    assert doc["format"] == cache_mod.FORMAT_VERSION
    assert doc["meta"] == {"sample_rate": 48000, "seed": 0}
    spec = doc["arrays"]["audio"]
    assert spec["file"] == "audio.npy"
    assert spec["shape"] == [2, 1000]
    assert spec["dtype"] == "<f4"
    assert spec["crc32"] == zlib.crc32((path / "audio.npy").read_bytes())
    loaded = np.load(path / "audio.npy", allow_pickle=False)
    np.testing.assert_array_equal(loaded, sample_entry().arrays["audio"])


def test_entry_without_arrays_round_trips(tmp_path):
    key = make_key("meta-only")
    DiskStore(tmp_path).put(key, CacheEntry({}, {"note": "nothing"}))
    got = DiskStore(tmp_path).get(key)
    assert got is not None
    assert got.arrays == {}
    assert got.meta == {"note": "nothing"}
    assert got.nbytes == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    array=hnp.arrays(
        dtype=st.one_of(
            hnp.floating_dtypes(),
            hnp.complex_number_dtypes(),
            hnp.integer_dtypes(),
            hnp.unsigned_integer_dtypes(),
            hnp.boolean_dtypes(),
        ),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
    )
)
def test_disk_round_trip_is_bit_exact(array):
    key = make_key("hypothesis")
    with tempfile.TemporaryDirectory() as directory:
        DiskStore(directory).put(key, CacheEntry({"a": array}, {}))
        got = DiskStore(directory).get(key)
    assert got is not None
    assert_same_arrays(got.arrays, {"a": array})


# --- memory LRU ----------------------------------------------------------------------------


def test_lru_evicts_least_recently_used_first():
    lru = MemoryLRU(3000)
    a, b, c, d, e = (make_key(name) for name in "abcde")
    for key in (a, b, c):
        lru.put(key, sized_entry(1000))
    assert lru.get(a) is not None  # a becomes most recent: b is now the oldest

    lru.put(d, sized_entry(1000))
    assert b not in lru
    assert [k in lru for k in (a, c, d)] == [True, True, True]

    lru.put(e, sized_entry(1000))
    assert c not in lru
    assert len(lru) == 3
    assert lru.nbytes == 3000


def test_lru_byte_bound_holds_with_uneven_sizes():
    lru = MemoryLRU(10_000)
    for i, size in enumerate([4000, 3000, 2000, 6000, 800, 5600]):
        lru.put(make_key(i), sized_entry(size))
        assert lru.nbytes <= 10_000
    assert [make_key(i) in lru for i in range(6)] == [False, False, False, False, True, True]
    assert lru.nbytes == 6400


def test_lru_does_not_keep_an_entry_bigger_than_the_bound():
    lru = MemoryLRU(3000)
    small, big = make_key("small"), make_key("big")
    lru.put(small, sized_entry(1000))
    lru.put(big, sized_entry(4000))
    assert big not in lru
    assert small in lru
    assert lru.nbytes == 1000


def test_lru_reput_replaces_size_accounting():
    lru = MemoryLRU(10_000)
    key = make_key("k")
    lru.put(key, sized_entry(4000))
    lru.put(key, sized_entry(2000))
    assert len(lru) == 1
    assert lru.nbytes == 2000


def test_lru_clear_and_zero_bound():
    lru = MemoryLRU(5000)
    lru.put(make_key(1), sized_entry(1000))
    lru.clear()
    assert len(lru) == 0 and lru.nbytes == 0
    assert lru.get(make_key(1)) is None

    nothing = MemoryLRU(0)
    nothing.put(make_key(1), sized_entry(8))
    assert len(nothing) == 0


@pytest.mark.parametrize("bad", [-1, 1.5, "10", None, True])
def test_lru_rejects_bad_bound(bad):
    with pytest.raises(ValueError, match="max_bytes"):
        MemoryLRU(bad)


def test_lru_arrays_are_read_only_and_isolated_from_the_caller():
    lru = MemoryLRU(1 << 20)
    key = make_key("ro")
    audio = np.ones((2, 10), dtype=np.float32)
    lru.put(key, CacheEntry({"audio": audio}, {"gain": [1, 2]}))
    audio[:] = 5.0  # the caller keeps using its own array

    got = lru.get(key)
    np.testing.assert_array_equal(got.arrays["audio"], np.ones((2, 10), dtype=np.float32))
    assert audio.flags.writeable  # the caller's array is left alone
    with pytest.raises(ValueError, match="read-only"):
        got.arrays["audio"] *= 2
    assert got.meta == {"gain": [1, 2]}


# --- the two-level cache -------------------------------------------------------------------


def test_memory_only_cache():
    cache = Cache(None, memory_bytes=1 << 20)
    key = make_key("mem")
    assert cache.disk is None
    assert cache.get(key) is None
    assert not cache.contains(key)
    cache.put(key, sample_entry())
    assert cache.contains(key)
    assert_same_arrays(cache.get(key).arrays, sample_entry().arrays)


def test_disk_hit_is_promoted_to_memory(tmp_path):
    key = make_key("promote")
    Cache(tmp_path).put(key, sample_entry(3))

    cache = Cache(tmp_path, memory_bytes=1 << 20)
    assert key not in cache.memory
    assert cache.contains(key)
    got = cache.get(key)
    assert got is not None
    assert key in cache.memory

    shutil.rmtree(tmp_path / key[:2])  # gone from disk, still served from memory
    again = cache.get(key)
    assert again is not None
    assert again.arrays["audio"] is got.arrays["audio"]  # promoted without a copy
    assert_same_arrays(again.arrays, sample_entry(3).arrays)
    assert again.meta == sample_entry(3).meta


def test_cache_uses_a_given_memory_lru(tmp_path):
    shared = MemoryLRU(1 << 20)
    key = make_key("shared")
    Cache(tmp_path, memory=shared).put(key, sample_entry())
    assert key in shared
    assert Cache(None, memory=shared).get(key) is not None


def test_contains_does_not_load_arrays(tmp_path, monkeypatch):
    key = make_key("cheap")
    Cache(tmp_path).put(key, sample_entry())

    def no_load(*args, **kwargs):
        raise AssertionError("contains must not load arrays")

    monkeypatch.setattr(np, "load", no_load)
    assert Cache(tmp_path).contains(key)
    assert not Cache(tmp_path).contains(make_key("other"))


def test_first_writer_wins(tmp_path):
    key = make_key("first")
    store = DiskStore(tmp_path)
    store.put(key, sample_entry(1))
    store.put(key, sample_entry(2))
    assert DiskStore(tmp_path).get(key).meta["seed"] == 1


def test_losing_a_rename_race_keeps_the_winner(tmp_path, monkeypatch):
    key = make_key("race")
    mine, other = DiskStore(tmp_path), DiskStore(tmp_path)
    real_write = cache_mod._write_entry
    raced = []

    def write_then_lose_race(directory, key_, entry):
        real_write(directory, key_, entry)
        if not raced:  # another process publishes while we are still writing
            raced.append(True)
            other.put(key_, sample_entry(9))

    monkeypatch.setattr(cache_mod, "_write_entry", write_then_lose_race)
    mine.put(key, sample_entry(1))

    got = DiskStore(tmp_path).get(key)
    assert got.meta["seed"] == 9
    assert_same_arrays(got.arrays, sample_entry(9).arrays)
    assert scratch_left(tmp_path) == []


# --- checks on what goes in ----------------------------------------------------------------

BAD_KEYS = [
    "",
    "abc",
    make_key("x").upper(),
    make_key("x")[:-1],
    make_key("x") + "0",
    "../" + make_key("x")[3:],
    "g" * 64,
    None,
    123,
]


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_bad_keys_are_refused(tmp_path, bad):
    store, cache, lru = DiskStore(tmp_path), Cache(tmp_path), MemoryLRU(1000)
    calls = [
        lambda: store.get(bad),
        lambda: store.put(bad, sample_entry()),
        lambda: store.contains(bad),
        lambda: cache.get(bad),
        lambda: cache.put(bad, sample_entry()),
        lambda: cache.contains(bad),
        lambda: Cache(None).contains(bad),
        lambda: lru.get(bad),
        lambda: lru.put(bad, sample_entry()),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="cache key"):
            call()
    assert not any(tmp_path.iterdir())


OBJECT_ARRAYS = [
    np.array([1, "a", None], dtype=object),
    np.array([(1, None)], dtype=[("n", "i4"), ("o", "O")]),
]


@pytest.mark.parametrize("array", OBJECT_ARRAYS, ids=["object", "structured-object"])
def test_object_arrays_are_refused(tmp_path, array):
    entry = CacheEntry({"bad": array}, {})
    key = make_key("object")
    for store in (DiskStore(tmp_path), MemoryLRU(1 << 20), Cache(tmp_path)):
        with pytest.raises(ValueError, match="object arrays are refused"):
            store.put(key, entry)
    assert not DiskStore(tmp_path).contains(key)


@pytest.mark.parametrize("name", ["", "a/b", "../x", "spa ce", "ü", "x" * 201])
def test_bad_array_names_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="array name"):
        DiskStore(tmp_path).put(make_key("n"), CacheEntry({name: np.zeros(2)}, {}))


def test_names_differing_only_in_case_are_refused(tmp_path):
    entry = CacheEntry({"a": np.zeros(2), "A": np.ones(2)}, {})
    with pytest.raises(ValueError, match="only in case"):
        DiskStore(tmp_path).put(make_key("case"), entry)


@pytest.mark.parametrize("meta", [{"gain": np.float32(1.0)}, {"f": object()}, {1j: 2}])
def test_non_json_meta_is_refused(tmp_path, meta):
    entry = CacheEntry({"a": np.zeros(2)}, meta)
    for store in (DiskStore(tmp_path), MemoryLRU(1 << 20)):
        with pytest.raises(ValueError, match="not JSON-serialisable"):
            store.put(make_key("meta"), entry)


def test_non_arrays_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not a numpy array"):
        DiskStore(tmp_path).put(make_key("list"), CacheEntry({"a": [1, 2]}, {}))


# --- corruption ----------------------------------------------------------------------------


def _edit_meta(path: Path, edit) -> None:
    doc = json.loads((path / "meta.json").read_text())
    edit(doc)
    (path / "meta.json").write_text(json.dumps(doc))


def _truncate_npy(path: Path) -> None:
    data = (path / "audio.npy").read_bytes()
    (path / "audio.npy").write_bytes(data[: len(data) // 2])


def _flip_bytes(path: Path) -> None:
    data = bytearray((path / "audio.npy").read_bytes())
    data[-1] ^= 0xFF
    data[len(data) // 2] ^= 0x01
    (path / "audio.npy").write_bytes(bytes(data))


def _garbage_npy_with_matching_hash(path: Path) -> None:
    garbage = b"\x93NUMPY\x01\x00garbage header that is not a dict"
    (path / "audio.npy").write_bytes(garbage)
    digest = zlib.crc32(garbage)
    _edit_meta(path, lambda doc: doc["arrays"]["audio"].update(crc32=digest))


def _npz_instead_of_npy(path: Path) -> None:
    np.savez(path / "x.npz", audio=np.zeros(3))
    data = (path / "x.npz").read_bytes()
    (path / "x.npz").unlink()
    (path / "audio.npy").write_bytes(data)
    digest = zlib.crc32(data)
    _edit_meta(path, lambda doc: doc["arrays"]["audio"].update(crc32=digest))


CORRUPTIONS = {
    "truncated-npy": _truncate_npy,
    "flipped-bytes": _flip_bytes,
    "deleted-npy": lambda path: (path / "audio.npy").unlink(),
    "garbage-meta": lambda path: (path / "meta.json").write_bytes(b"{not json\xff"),
    "meta-not-a-dict": lambda path: (path / "meta.json").write_text("[1, 2]"),
    "wrong-format": lambda path: _edit_meta(path, lambda doc: doc.update(format=999)),
    "wrong-key": lambda path: _edit_meta(path, lambda doc: doc.update(key=make_key("other"))),
    "wrong-shape": lambda path: _edit_meta(
        path, lambda doc: doc["arrays"]["audio"].update(shape=[1000, 2])
    ),
    "wrong-dtype": lambda path: _edit_meta(
        path, lambda doc: doc["arrays"]["audio"].update(dtype="<f8")
    ),
    "escaping-file-name": lambda path: _edit_meta(
        path, lambda doc: doc["arrays"]["audio"].update(file="../../../etc/passwd")
    ),
    "unloadable-npy": _garbage_npy_with_matching_hash,
    "npz-not-npy": _npz_instead_of_npy,
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupt_entry_is_a_miss_and_is_removed(tmp_path, corrupt):
    key = make_key("corrupt")
    DiskStore(tmp_path).put(key, sample_entry(4))
    path = entry_dir(tmp_path, key)
    corrupt(path)

    cache = Cache(tmp_path)
    assert cache.get(key) is None
    assert not path.exists()
    assert not cache.contains(key)
    assert scratch_left(tmp_path) == []

    cache.put(key, sample_entry(4))
    got = Cache(tmp_path).get(key)
    assert got is not None
    assert_same_arrays(got.arrays, sample_entry(4).arrays)


def test_put_fills_an_empty_leftover_directory(tmp_path):
    key = make_key("leftover")
    entry_dir(tmp_path, key).mkdir(parents=True)

    DiskStore(tmp_path).put(key, sample_entry(5))
    got = DiskStore(tmp_path).get(key)
    assert got is not None and got.meta["seed"] == 5


def test_a_folder_without_meta_json_in_an_entrys_place_is_left_alone(tmp_path):
    """Only a folder holding meta.json is an entry the cache made; anything else is a miss
    that is never removed, and a put there fails with a message naming it."""
    key = make_key("not-ours")
    path = entry_dir(tmp_path, key)
    path.mkdir(parents=True)
    (path / "audio.npy").write_bytes(b"someone else's")
    store = DiskStore(tmp_path)

    assert store.get(key) is None
    assert not store.contains(key)
    with pytest.raises(FileExistsError, match="not a cache entry") as caught:
        store.put(key, sample_entry(5))
    assert caught.value.filename == str(path)
    assert store.clear() == 0
    assert store.info()["entries"] == 0
    assert (path / "audio.npy").read_bytes() == b"someone else's"
    assert scratch_left(tmp_path) == []


# --- several processes ---------------------------------------------------------------------

HAMMER = r"""
import hashlib, json, sys, time
import numpy as np
from graphengine.cache import CacheEntry, DiskStore

directory, seed, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = np.random.default_rng(seed)
store = DiskStore(directory)

def expected(i):
    audio = np.random.default_rng(i).standard_normal((2, 20_000 + 10_000 * i))
    return {"audio": audio.astype(np.float32), "index": np.arange(i + 1)}

keys = [hashlib.sha256(b"hammer-%d" % i).hexdigest() for i in range(4)]
arrays = [expected(i) for i in range(4)]
stats = {"put": 0, "hit": 0, "miss": 0, "clear": 0, "bad": 0}
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    i = int(rng.integers(4))
    op = rng.random()
    if op < 0.35:
        store.put(keys[i], CacheEntry(arrays[i], {"i": i}))
        stats["put"] += 1
    elif op < 0.97:
        got = store.get(keys[i])
        if got is None:
            stats["miss"] += 1
        elif got.meta == {"i": i} and set(got.arrays) == set(arrays[i]) and all(
            got.arrays[n].dtype == a.dtype and np.array_equal(got.arrays[n], a)
            for n, a in arrays[i].items()
        ):
            stats["hit"] += 1
        else:
            stats["bad"] += 1
    else:
        store.clear()
        stats["clear"] += 1
print(json.dumps(stats))
"""


def test_two_processes_sharing_a_directory(tmp_path):
    repo_root = Path(cache_mod.__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(repo_root), env.get("PYTHONPATH", "")])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HAMMER, str(tmp_path), str(seed), "1.5"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seed in (1, 2)
    ]
    results = [proc.communicate(timeout=60) for proc in procs]

    stats = []
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        stats.append(json.loads(out))
    assert sum(s["bad"] for s in stats) == 0
    assert all(s["put"] > 0 and s["hit"] > 0 for s in stats), stats
    assert sum(s["clear"] for s in stats) > 0, stats
    assert scratch_left(tmp_path) == []  # no scratch left by clean exits
    for i in range(4):
        key = hashlib.sha256(b"hammer-%d" % i).hexdigest()
        got = DiskStore(tmp_path).get(key)
        assert got is None or got.meta == {"i": i}


# --- scratch cleanup, records, info and clear --------------------------------------------


def test_stale_scratch_is_removed_on_init_and_clear(tmp_path):
    DiskStore(tmp_path).prepare()  # makes the marked scratch folder
    tmp = tmp_path / cache_mod.SCRATCH_DIR
    dead = dead_pid()
    dead_dir = tmp / cache_mod._scratch_name(dead)
    dead_dir.mkdir()
    (dead_dir / "audio.npy").write_bytes(b"partial")
    dead_file = tmp / cache_mod._scratch_name(dead)
    dead_file.write_text("{")
    old_dir = tmp / cache_mod._scratch_name()  # our own pid, but two hours old
    old_dir.mkdir()
    two_hours_ago = time.time() - 7200
    os.utime(old_dir, (two_hours_ago, two_hours_ago))
    live_dir = tmp / cache_mod._scratch_name()
    live_dir.mkdir()
    foreign_dir = tmp / f"{dead}-0123456789abcdef-some-other-host"  # pid means nothing here
    foreign_dir.mkdir()
    not_ours = tmp / "notes.txt"  # not a scratch name: never removed, however old
    not_ours.write_text("mine")
    os.utime(not_ours, (two_hours_ago, two_hours_ago))
    kept = sorted([live_dir, foreign_dir, not_ours, tmp / cache_mod._SCRATCH_MARKER])

    store = DiskStore(tmp_path)
    assert sorted(tmp.iterdir()) == kept

    later_dead = tmp / cache_mod._scratch_name(dead)
    later_dead.mkdir()
    assert store.clear() == 0
    assert sorted(tmp.iterdir()) == kept


def test_an_unmarked_scratch_folder_is_never_cleaned(tmp_path):
    tmp = tmp_path / cache_mod.SCRATCH_DIR
    tmp.mkdir()
    dead = tmp / cache_mod._scratch_name(dead_pid())
    dead.mkdir()
    DiskStore(tmp_path).clear()
    assert dead.is_dir()


def test_records_round_trip(tmp_path):
    store = DiskStore(tmp_path)
    assert store.get_record("last-run.demo") is None
    record = {"graph": "demo.toml", "keys": {"osc": make_key("osc")}, "seconds": 1.25}
    store.put_record("last-run.demo", record)
    assert DiskStore(tmp_path).get_record("last-run.demo") == record

    store.put_record("last-run.demo", {"graph": "demo.toml", "run": 2})
    assert store.get_record("last-run.demo") == {"graph": "demo.toml", "run": 2}
    assert [p.name for p in (tmp_path / "records").iterdir()] == ["last-run.demo.json"]


def test_unreadable_records_read_as_none(tmp_path):
    store = DiskStore(tmp_path)
    store.put_record("r", {"a": 1})
    path = next((tmp_path / "records").iterdir())
    path.write_text("{broken")
    assert store.get_record("r") is None
    path.write_text("[1, 2]")
    assert store.get_record("r") is None


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 201])
def test_bad_record_names_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="record name"):
        DiskStore(tmp_path).put_record(name, {})
    with pytest.raises(ValueError, match="record name"):
        DiskStore(tmp_path).get_record(name)


@pytest.mark.parametrize("record", [{"x": np.int64(1)}, [1, 2]])
def test_bad_records_are_refused(tmp_path, record):
    with pytest.raises(ValueError, match="record"):
        DiskStore(tmp_path).put_record("r", record)


def test_info_and_clear_count_entries(tmp_path):
    directory = tmp_path / "cache"
    store = DiskStore(directory)
    assert not directory.exists()  # created lazily
    assert store.get(make_key(0)) is None
    assert store.info() == {"directory": str(directory), "entries": 0, "bytes": 0}
    assert store.clear() == 0
    assert not directory.exists()

    entries = [sample_entry(i, frames=100 * (i + 1)) for i in range(3)]
    for i, entry in enumerate(entries):
        store.put(make_key(i), entry)
    store.put_record("last-run", {"ok": True})

    info = store.info()
    assert info["entries"] == 3
    assert info["bytes"] > sum(entry.nbytes for entry in entries)

    assert store.clear() == 3
    assert store.info()["entries"] == 0
    assert store.info()["bytes"] == 0
    assert store.get(make_key(0)) is None
    assert store.get_record("last-run") == {"ok": True}  # records are not entries
    assert store.clear() == 0

    store.put(make_key(0), entries[0])
    assert store.info()["entries"] == 1
