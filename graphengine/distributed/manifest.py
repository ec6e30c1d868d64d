"""``DIR/manifest.csv``: one row per input, appended as results arrive; resume reads it.

The file is rewritten atomically at the start and the end of a run with one
row per input, and a row is appended (and flushed) per result in between, so a
killed batch keeps what it finished. Only one batch writes to a DIR at a time.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from graphengine.distributed.records import DONE, FAILED, OK, SKIPPED, Record
from graphengine.errors import GraphError
from graphengine.fsutil import write_text_atomic

MANIFEST_CSV = "manifest.csv"
MANIFEST_FIELDS = (
    "input",
    "status",
    "error",
    "outputs",
    "seconds",
    "worker",
    "fingerprint",
    "values",
)
"""Columns of ``manifest.csv``; ``outputs`` is ``;``-separated (relative to DIR when
inside it), ``values`` the collected numbers as JSON."""


def _to_row(record: Mapping[str, Any], out_dir: Path) -> dict[str, str]:
    outputs = []
    for output in record.get("outputs") or ():
        path = Path(output)
        try:
            outputs.append(path.relative_to(out_dir).as_posix())
        except ValueError:
            outputs.append(str(path))
    seconds = record.get("seconds")
    return {
        "input": str(record["input"]),
        "status": str(record["status"]),
        "error": str(record.get("error") or ""),
        "outputs": ";".join(outputs),
        "seconds": f"{seconds:.4f}" if isinstance(seconds, float | int) else "",
        "worker": str(record.get("worker") or ""),
        "fingerprint": str(record.get("fingerprint") or ""),
        "values": json.dumps(record.get("values") or {}, separators=(",", ":")),
    }


def _from_row(row: Mapping[str, str], out_dir: Path) -> Record | None:
    if not row.get("input") or row.get("status") not in (OK, FAILED, SKIPPED):
        return None
    try:
        values = json.loads(row.get("values") or "{}")
        seconds = float(row["seconds"]) if row.get("seconds") else None
    except ValueError:
        return None
    outputs = [str(out_dir / p) for p in (row.get("outputs") or "").split(";") if p]
    return {
        "input": row["input"],
        "status": row["status"],
        "error": row.get("error") or "",
        "outputs": outputs,
        "seconds": seconds,
        "worker": row.get("worker") or "",
        "fingerprint": row.get("fingerprint") or "",
        "values": values if isinstance(values, dict) else {},
    }


def read_manifest(out_dir: str | os.PathLike) -> dict[str, Record]:
    """The manifest's records by input; when an input has several rows, the last wins.

    Rows a killed batch left incomplete are ignored; no manifest gives ``{}``.
    """
    out_dir = Path(out_dir).resolve()
    path = out_dir / MANIFEST_CSV
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise GraphError(f"{path}: cannot read the manifest ({error})") from None
    records: dict[str, Record] = {}
    if not text.endswith("\n"):  # a row cut short: drop it
        text = text[: text.rfind("\n") + 1]
    for row in csv.DictReader(io.StringIO(text, newline="")):
        record = _from_row(row, out_dir)
        if record is not None:
            records.pop(record["input"], None)  # keep the order of the latest rows
            records[record["input"]] = record
    return records


def csv_text(rows: Iterable[Mapping[str, Any]], fields: Sequence[str], header: bool) -> str:
    """Rows as CSV text with ``\\n`` line ends, after a header line when ``header``."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


class ManifestWriter:
    """Rewrites the manifest atomically, then appends one row per result (flushed)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.path = out_dir / MANIFEST_CSV
        self._handle: io.TextIOWrapper | None = None

    def rewrite(self, records: Iterable[Mapping[str, Any]]) -> None:
        self.close()
        rows = [_to_row(r, self.out_dir) for r in records]
        write_text_atomic(self.path, csv_text(rows, MANIFEST_FIELDS, header=True))

    def append(self, record: Mapping[str, Any]) -> None:
        if self._handle is None:
            self._handle = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115
        self._handle.write(csv_text([_to_row(record, self.out_dir)], MANIFEST_FIELDS, False))
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None


@contextlib.contextmanager
def lock_folder(out_dir: Path) -> Iterator[None]:
    """One batch at a time per output folder (released even when the process is killed)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(out_dir / ".manifest.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GraphError(f"{out_dir}: another batch is writing to this folder") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_done(record: Mapping[str, Any] | None, fingerprint: str) -> bool:
    """Whether a manifest record lets a run with ``fingerprint`` skip its input."""
    if record is None or record["status"] not in DONE or record["fingerprint"] != fingerprint:
        return False
    return all(os.path.exists(p) for p in record["outputs"])
