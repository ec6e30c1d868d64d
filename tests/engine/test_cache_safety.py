"""The disk cache never deletes what it did not make, and a bad cache folder never breaks
a render: driven through ``graphengine render`` / ``graphengine cache`` as a user does."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from graphengine import api
from graphengine import cache as cache_mod
from graphengine.cache import CacheEntry, DiskStore, folder_kind
from graphengine.errors import GraphError
from support import TONE_GRAPH, dead_pid, private_mount_tool, run_cli, run_cli_in_mount

GRAPH = (
    TONE_GRAPH
    + """
[nodes.gain]
type = "effect.gain"
in = "osc"
gain_db = -3.0
[nodes.out]
type = "sink.wav"
in = "gain"
path = "out.wav"
"""
)

TWO_HOURS_AGO = time.time() - 7200


def _graph(folder: Path, duration: float = 0.25) -> Path:
    (folder / "g.toml").write_text(GRAPH.format(duration=duration))
    return folder / "g.toml"


def _reference_wav(tmp_path: Path, duration: float = 0.25) -> bytes:
    """The output rendered with no cache at all, to compare against."""
    folder = tmp_path / "reference"
    folder.mkdir()
    _graph(folder, duration)
    done = run_cli("render", "g.toml", "--no-cache", cwd=folder)
    assert done.returncode == 0, done.stderr
    return (folder / "out.wav").read_bytes()


def _user_folder(folder: Path) -> None:
    """A folder of a user's own files, with names that look like the cache's, all old."""
    dead = dead_pid()
    key_like = "ab" + "0" * 62
    files = {
        "notes.txt": b"my notes",
        "ab/photo.jpg": b"\xff\xd8 a photo",
        f"ab/{key_like}/audio.npy": b"my array, no meta.json",
        "0f/empty-ish.txt": b"",
        "tmp/old.log": b"a log from last year",
        f"tmp/{dead}-0123456789abcdef-{cache_mod._HOST}": b"looks like scratch, is not",
        f"tmp/{dead}-0123456789abcdef-{cache_mod._HOST}.d/inner.txt": b"inner",
        "records/run-mine.json": b'{"mine": true}',
    }
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (folder / "empty-dir").mkdir()
    for path in sorted(folder.rglob("*"), reverse=True):
        os.utime(path, (TWO_HOURS_AGO, TWO_HOURS_AGO))


def _snapshot(folder: Path) -> dict[str, tuple[str, bytes, int]]:
    """Every file and folder under ``folder``: kind, bytes, modification time (ns)."""
    shot = {}
    for path in sorted(folder.rglob("*")):
        data = path.read_bytes() if path.is_file() else b""
        kind = "file" if path.is_file() else "dir"
        shot[str(path.relative_to(folder))] = (kind, data, path.stat().st_mtime_ns)
    return shot


def _warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: cache:")]


def _make_key(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


# --- 1. nothing the cache did not make is removed ----------------------------------------


def test_render_and_cache_clear_leave_a_folder_of_user_files_byte_identical(tmp_path):
    """``--cache-dir ~``: a folder of user files is not used as a cache, and nothing in it is
    touched, not even old files in its ``tmp/`` (main emptied those on every open)."""
    home = tmp_path / "home"
    _user_folder(home)
    before = _snapshot(home)
    work = tmp_path / "work"
    work.mkdir()
    _graph(work)

    done = run_cli("render", "g.toml", "--cache-dir", str(home), cwd=work)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert _warning_lines(done.stderr) == [
        f"warning: cache: {home} is not a graphengine cache (it holds other files); "
        "running without the disk cache"
    ]
    assert (work / "out.wav").read_bytes() == _reference_wav(tmp_path)
    assert _snapshot(home) == before

    for action in ("clear", "info"):
        done = run_cli("cache", action, "--cache-dir", str(home), cwd=work)
        assert done.returncode == 2, done.stderr
        assert str(home) in done.stderr and "not a graphengine cache" in done.stderr
        assert "Traceback" not in done.stderr
    assert _snapshot(home) == before


def test_a_store_used_directly_in_a_folder_of_user_files_removes_only_its_entries(tmp_path):
    """Even a ``DiskStore`` opened on such a folder (no check first) removes only what it made:
    ``??/<key>`` folders holding meta.json, and scratch of its own name in its marked folder."""
    home = tmp_path / "home"
    _user_folder(home)
    before = _snapshot(home)

    store = DiskStore(home)
    keys = [_make_key(f"k{i}") for i in range(3)]
    for i, key in enumerate(keys):
        store.put(key, CacheEntry({"a": np.arange(10.0) + i}, {"i": i}))
    (home / keys[0][:2] / keys[0] / "a.npy").write_bytes(b"torn")  # ours, corrupt
    assert store.get(keys[0]) is None
    assert store.info()["entries"] == 2
    assert store.clear() == 2
    assert DiskStore(home).clear() == 0

    after = _snapshot(home)
    ours = {name for name in after if name.startswith(cache_mod.SCRATCH_DIR)}
    assert ours == {cache_mod.SCRATCH_DIR, f"{cache_mod.SCRATCH_DIR}/{cache_mod._SCRATCH_MARKER}"}
    assert {name: after[name] for name in after if name not in ours} == before


def test_a_new_cache_is_tagged_and_its_scratch_folder_marked(tmp_path):
    _graph(tmp_path)
    cache = tmp_path / "new" / "cache"
    first = run_cli("render", "g.toml", "--cache-dir", str(cache), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert _warning_lines(first.stderr) == []
    tag = (cache / "CACHEDIR.TAG").read_text()
    assert tag.startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache / cache_mod.SCRATCH_DIR / cache_mod._SCRATCH_MARKER).is_file()
    assert folder_kind(cache) == "cache"

    (tmp_path / "out.wav").unlink()
    again = run_cli("render", "g.toml", "--cache-dir", str(cache), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "2 cached" in again.stderr, again.stderr


def test_a_cache_written_before_the_tag_is_still_used_and_its_old_tmp_left_alone(tmp_path):
    """Compatibility: entries keep their format; a cache with only the old layout's names
    (``??/<key>``, ``records/``, ``tmp/`` of scratch names) is recognised and tagged."""
    _graph(tmp_path)
    cache = tmp_path / "cache"
    assert run_cli("render", "g.toml", "--cache-dir", str(cache), cwd=tmp_path).returncode == 0
    for name in ("CACHEDIR.TAG", f"{cache_mod.SCRATCH_DIR}/{cache_mod._SCRATCH_MARKER}"):
        (cache / name).unlink()
    (cache / cache_mod.SCRATCH_DIR).rmdir()
    old_scratch = cache / "tmp" / f"{dead_pid()}-0123456789abcdef-{cache_mod._HOST}"
    old_scratch.mkdir(parents=True)
    os.utime(old_scratch, (TWO_HOURS_AGO, TWO_HOURS_AGO))
    assert folder_kind(cache) == "cache"

    (tmp_path / "out.wav").unlink()
    done = run_cli("render", "g.toml", "--cache-dir", str(cache), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _warning_lines(done.stderr) == []
    assert "2 cached" in done.stderr, done.stderr
    assert (cache / "CACHEDIR.TAG").is_file()
    assert old_scratch.is_dir()


# --- 2. every place the engine writes is checked before anything runs ---------------------


def _assert_renders_without_cache(done: subprocess.CompletedProcess, folder: Path, why: str):
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = _warning_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert str(folder) in lines[0] and why in lines[0], lines[0]
    assert lines[0].endswith("running without the disk cache")


def test_a_cache_folder_under_a_regular_file_renders_without_the_disk_cache(tmp_path):
    _graph(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    folder = tmp_path / "afile" / "cache"
    done = run_cli("render", "g.toml", "--cache-dir", str(folder), cwd=tmp_path)
    _assert_renders_without_cache(done, folder, "Not a directory")
    assert (tmp_path / "out.wav").read_bytes() == _reference_wav(tmp_path)
    assert (tmp_path / "afile").read_text() == "not a folder"


def test_a_read_only_cache_folder_renders_without_the_disk_cache(tmp_path):
    """A real read-only file system (a tmpfs remounted read-only in a private mount
    namespace): chmod does not stop root, which these tests may run as."""
    tool = private_mount_tool()
    if tool is None:
        pytest.skip("no private mount namespace with tmpfs here (unshare --map-root-user)")
    _graph(tmp_path)
    folder = tmp_path / "ro"
    folder.mkdir()
    mount = 'mount -t tmpfs tmpfs "$1"\nmount -o remount,ro "$1"'
    args = ("render", "g.toml", "--cache-dir", str(folder))
    done = run_cli_in_mount(tool, mount, folder, *args, cwd=tmp_path)
    _assert_renders_without_cache(done, folder, "Read-only file system")
    assert (tmp_path / "out.wav").read_bytes() == _reference_wav(tmp_path)


def test_a_cache_folder_without_write_permission_renders_without_the_disk_cache(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: permissions do not stop writes (see the tmpfs test)")
        _graph(tmp_path)
        done = run_cli("render", "g.toml", "--cache-dir", str(folder), cwd=tmp_path)
        _assert_renders_without_cache(done, folder, "Permission denied")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_a_cache_dir_naming_a_regular_file_is_exit_2_and_writes_nothing(tmp_path):
    """A file given as the cache folder is a path mix-up, said as an error before any work."""
    _graph(tmp_path)
    afile = tmp_path / "take.wav"
    afile.write_bytes(b"RIFF precious")
    done = run_cli("render", "g.toml", "--cache-dir", str(afile), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"cache directory {afile} is a file, not a folder" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out.wav").exists()
    assert afile.read_bytes() == b"RIFF precious"

    cleared = run_cli("cache", "clear", "--cache-dir", str(afile), cwd=tmp_path)
    assert cleared.returncode == 2 and str(afile) in cleared.stderr
    assert "Traceback" not in cleared.stderr
    assert afile.read_bytes() == b"RIFF precious"


def test_run_with_a_regular_file_as_cache_raises_a_graph_error(tmp_path):
    graph = api.load(_graph(tmp_path))
    afile = tmp_path / "somefile"
    afile.write_text("x")
    with pytest.raises(GraphError, match="somefile is a file, not a folder"):
        graph.run(cache=afile)
    assert not (tmp_path / "out.wav").exists()
    assert afile.read_text() == "x"


def test_run_with_an_unwritable_cache_folder_warns_and_succeeds(tmp_path):
    graph = api.load(_graph(tmp_path))
    (tmp_path / "afile").write_text("x")
    result = graph.run(cache=tmp_path / "afile" / "cache")
    assert result.cache is not None and result.cache.disk is None
    assert result.warnings[0].startswith(f"cache: cannot write in {tmp_path / 'afile' / 'cache'}")
    assert (tmp_path / "out.wav").read_bytes() == _reference_wav(tmp_path)


@pytest.mark.parametrize(
    ("stats", "why"),
    [
        ("/proc/x/stats.json", "cannot write there"),
        ("afile/stats.json", "afile is not a folder"),
        ("a-folder", "is a folder, not a file"),
    ],
    ids=["under-proc", "under-a-file", "a-folder"],
)
def test_stats_to_an_unwritable_path_is_exit_2_before_rendering(tmp_path, stats, why):
    _graph(tmp_path)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "a-folder").mkdir()
    done = run_cli("render", "g.toml", "--stats", stats, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"--stats {stats}: " in done.stderr and why in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out.wav").exists()
    assert not (tmp_path / ".graphengine-cache").exists()  # nothing ran, nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder", "afile", "g.toml"]


def test_stats_to_a_new_folder_is_written_after_the_check(tmp_path):
    _graph(tmp_path)
    done = run_cli("render", "g.toml", "--stats", "new/deeper/stats.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "new" / "deeper" / "stats.json").is_file()
    assert [p.name for p in (tmp_path / "new" / "deeper").iterdir()] == ["stats.json"]


def test_a_full_cache_disk_warns_and_renders_correctly(tmp_path):
    """A 64 KiB tmpfs as the cache: the check passes, the entries do not fit; each says so."""
    tool = private_mount_tool()
    if tool is None:
        pytest.skip("no private mount namespace with tmpfs here (unshare --map-root-user)")
    _graph(tmp_path, duration=4.0)
    folder = tmp_path / "small"
    folder.mkdir()
    mount = 'mount -t tmpfs -o size=64k tmpfs "$1"'
    args = ("render", "g.toml", "--cache-dir", str(folder))
    done = run_cli_in_mount(tool, mount, folder, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "warning: cache: an entry was not stored" in done.stderr, done.stderr
    assert "disk is full" in done.stderr or "No space left" in done.stderr
    assert (tmp_path / "out.wav").read_bytes() == _reference_wav(tmp_path, duration=4.0)
