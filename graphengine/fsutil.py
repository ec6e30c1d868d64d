"""File-system helpers the engine shares: atomic writes and process liveness.

An atomic write goes to a temporary file beside its destination (the same
folder, so the same file system) and is renamed over it: a reader sees the old
content or the new, never a part of it.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, making its folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, FILE_MODE)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically, making its folder if needed."""
    write_bytes_atomic(path, text.encode("utf-8"))


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` on this machine may still be running.

    Errs towards "alive": a process we may not signal, or any platform where
    the probe would do harm (``os.kill`` terminates on Windows), counts as alive,
    so nothing of a live process is ever cleaned away.
    """
    if pid == os.getpid():
        return True
    if os.name == "nt" or pid <= 0:
        return pid > 0
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def os_error_reason(code: int | None, fallback: str = "") -> str:
    """The words for a failed file operation's errno: a full disk says so plainly."""
    if code == errno.ENOSPC:
        return "the disk is full (no space left on device)"
    if code is not None and code in errno.errorcode:
        return os.strerror(code)
    return fallback or "unknown error"
