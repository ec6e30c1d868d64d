"""Sink outputs: temporary files, the all-or-nothing commit, provenance sidecars.

A sink writes each output to a hidden temporary file beside it
(``.<name>.graphengine-tmp-<pid>-<token><suffix>``). Once every node of a run
has succeeded, :func:`commit` makes the outputs and their sidecars visible
together:

1. every sidecar is written to a temporary file too;
2. a journal listing each (temporary, final) pair is written, atomically, into
   every folder that receives a file (``.graphengine-commit-<pid>-<token>.json``);
3. the temporary files are renamed into place; then the journals are removed.

A run killed before step 2 leaves only temporary files: the next run that
writes into that folder removes them (their process is gone), and no output
changed. A run killed during step 3 leaves a journal: the next run rolls it
forward, so the outputs end up all new, never a mix of new and old.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from graphengine.errors import GraphError, NodeRunError
from graphengine.fsutil import os_error_reason, pid_alive, write_text_atomic
from graphengine.graph import SIDECAR_SUFFIX
from graphengine.plan import NodeKey
from graphengine.validate import ValidGraph, ValidNode

TEMP_MARK = ".graphengine-tmp-"
JOURNAL_PREFIX = ".graphengine-commit-"
STALE_TEMP_SECONDS = 24 * 3600.0
"""A temporary output older than this is removed even when its process seems alive."""

Pending = list[tuple[ValidNode, dict[str, Path]]]
"""What a run commits: each sink with its {final path: temporary path}."""


def sidecar_path(output: str | os.PathLike) -> Path:
    """Where the provenance of ``output`` is written (``<output>.graph.json``)."""
    return Path(str(output) + SIDECAR_SUFFIX)


def output_params(node: ValidNode) -> list[str]:
    """The node's OutputPath parameters that name a file (an optional one may be unset)."""
    return [name for name in node.spec.output_paths if node.params.get(name) is not None]


def output_folders(valid: ValidGraph) -> list[Path]:
    """The folders the graph's sinks write into, each once."""
    folders = {
        Path(node.params[name]).parent: None
        for node in valid.nodes.values()
        for name in output_params(node)
    }
    return list(folders)


# -- temporary files ---------------------------------------------------------------


def _owner_pid(name: str) -> int | None:
    """The pid in a temporary or journal file name made by this module, else None."""
    for mark in (TEMP_MARK, JOURNAL_PREFIX):
        at = name.find(mark)
        if at >= 0 and (mark == TEMP_MARK or at == 0):
            token = name[at + len(mark) :].split("-")[0]
            return int(token) if token.isdigit() else None
    return None


def recover_folder(folder: Path) -> None:
    """Finish what a killed run left in ``folder``: roll its commits forward, drop its temps."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(JOURNAL_PREFIX) and entry.name.endswith(".json"):
            pid = _owner_pid(entry.name)
            if pid is not None and not pid_alive(pid):
                _roll_forward(Path(entry.path))
    now = time.time()
    for entry in entries:
        if entry.name.startswith(".") and TEMP_MARK in entry.name:
            pid = _owner_pid(entry.name)
            if pid is None:
                continue
            with contextlib.suppress(OSError):
                old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_SECONDS
                if (old or not pid_alive(pid)) and entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)


def temp_path_for(
    final: Path, created: list[Path] | None = None, recovered: set[Path] | None = None
) -> Path:
    """A temporary file beside ``final`` with the same suffix (formats go by suffix).

    Folders made for it are added to ``created``, so a failed run can remove them.
    The folder is recovered (:func:`recover_folder`) first unless it is in
    ``recovered``, to which it is then added.
    """
    missing = [p for p in (final.parent, *final.parent.parents) if not p.exists()]
    final.parent.mkdir(parents=True, exist_ok=True)
    if created is not None:
        created.extend(missing)
    if recovered is None or final.parent not in recovered:
        recover_folder(final.parent)
        if recovered is not None:
            recovered.add(final.parent)
    return _temp_name(final)


def _temp_name(final: Path) -> Path:
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    return final.with_name(f".{final.name}{TEMP_MARK}{token}{final.suffix}")


def discard(temps: Mapping[str, Path]) -> None:
    """Delete a node's temporary output files (its run failed or wrote nothing usable)."""
    for temp in temps.values():
        temp.unlink(missing_ok=True)


def remove_empty(folders: list[Path]) -> None:
    """Remove the folders a failed run made for its outputs, deepest first, if still empty."""
    for folder in sorted(set(folders), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()
    folders.clear()


def check_written(node: ValidNode, temps: dict[str, Path], file: str | None) -> None:
    """Every declared output was written; drop extra outputs that were asked for but not."""
    for name in output_params(node):
        if not temps[node.params[name]].exists():
            discard(temps)
            raise NodeRunError(node.id, name, "the node wrote no file", node.type, file=file)
    for final, temp in list(temps.items()):
        if not temp.exists():
            del temps[final]


# -- commit -----------------------------------------------------------------------------


def commit(pending: Pending, valid: ValidGraph, keys: Mapping[str, NodeKey]) -> list[Path]:
    """Move every pending output and its sidecar into place, all or nothing (see above).

    Returns the output files written (sidecars not included).
    """
    moves: list[tuple[Path, Path]] = []
    written: list[Path] = []
    tree = resolved_tree(valid) if pending else {}  # once: every sidecar holds the same graph
    try:
        for node, temps in pending:
            outputs: dict[str, dict] = {}
            for final, temp in temps.items():
                stat = temp.stat()  # a rename keeps size and mtime
                outputs[str(final)] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
                moves.append((temp, Path(final)))
                written.append(Path(final))
            text = json.dumps(provenance(valid, keys, node, outputs, tree), indent=2) + "\n"
            for final in outputs:
                side = sidecar_path(final)
                side_temp = _temp_name(side)
                moves.append((side_temp, side))
                try:
                    side_temp.write_text(text, encoding="utf-8")
                except OSError as error:
                    reason = os_error_reason(error.errno, str(error))
                    name = output_params(node)[0] if output_params(node) else None
                    message = f"cannot write {side}: {reason}"
                    raise NodeRunError(node.id, name, message, node.type, file=valid.file) from None
        try:
            journals = _write_journals(moves)
        except OSError as error:
            folder = moves[0][1].parent if moves else Path(".")
            reason = os_error_reason(error.errno, str(error))
            raise GraphError(f"cannot commit the outputs in {folder}: {reason}") from None
    except BaseException:
        for temp, _ in moves:
            temp.unlink(missing_ok=True)
        raise
    _apply(moves)
    for journal in journals:
        journal.unlink(missing_ok=True)
    return written


def _write_journals(moves: list[tuple[Path, Path]]) -> list[Path]:
    text = json.dumps({"moves": [[str(t), str(f)] for t, f in moves]}) + "\n"
    name = f"{JOURNAL_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.json"
    journals = [folder / name for folder in dict.fromkeys(final.parent for _, final in moves)]
    try:
        for journal in journals:
            write_text_atomic(journal, text)
    except BaseException:
        for journal in journals:
            journal.unlink(missing_ok=True)
        raise
    return journals


def _apply(moves: Iterable[tuple[Path, Path]]) -> None:
    for temp, final in moves:
        if temp.exists():
            os.replace(temp, final)


def _roll_forward(journal: Path) -> None:
    """Complete the commit ``journal`` describes, then remove it and its copies."""
    try:
        moves = [(Path(t), Path(f)) for t, f in json.loads(journal.read_text("utf-8"))["moves"]]
    except (OSError, ValueError, KeyError, TypeError):
        return  # not ours or unreadable: leave it alone
    with contextlib.suppress(OSError):
        _apply(moves)
    for folder in dict.fromkeys(final.parent for _, final in moves):
        (folder / journal.name).unlink(missing_ok=True)
    journal.unlink(missing_ok=True)


# -- provenance ---------------------------------------------------------------------


def read_sidecar(output: Path) -> dict[str, Any] | None:
    """The provenance sidecar of ``output`` as a dict; None when missing or unreadable."""
    try:
        tree = json.loads(sidecar_path(output).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return tree if isinstance(tree, dict) else None


def sink_is_current(node: ValidNode, key: NodeKey) -> bool:
    """Whether every file this sink wrote for this key still exists as its sidecar recorded."""
    for name in output_params(node):
        path = Path(node.params[name])
        sidecar = read_sidecar(path)
        if sidecar is None:
            return False
        recorded_provenance = sidecar.get("provenance", {})
        outputs = recorded_provenance.get("outputs", {})
        if recorded_provenance.get("key") != key.key or str(path) not in outputs:
            return False
        for output, recorded in outputs.items():
            try:
                stat = Path(output).stat()
            except OSError:
                return False
            if not isinstance(recorded, dict) or (stat.st_size, stat.st_mtime_ns) != (
                recorded.get("size"),
                recorded.get("mtime_ns"),
            ):
                return False
    return True


def resolved_tree(valid: ValidGraph) -> dict[str, Any]:
    """The graph as run: concrete parameters (absolute paths, Hz, seeds), sub-graphs expanded."""
    graph = valid.graph
    nodes: dict[str, Any] = {}
    for node_id in valid.order:
        node = valid.nodes[node_id]
        table: dict[str, Any] = {"type": node.type}
        for port, refs in node.inputs.items():
            names = [str(ref) for ref in refs]
            table[port] = names if node.spec.input(port).variadic else names[0]
        table.update({k: v for k, v in node.params.items() if v is not None})
        nodes[node_id] = table
    tree = {"format": 1, "name": graph.name, "sample_rate": graph.sample_rate, "seed": graph.seed}
    tree["nodes"] = nodes
    return tree


def provenance(
    valid: ValidGraph,
    keys: Mapping[str, NodeKey],
    node: ValidNode,
    outputs: dict[str, dict],
    tree: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The sidecar of a sink's outputs: engine, parameters, keys of its ancestors, the graph.

    ``tree`` is :func:`resolved_tree` of ``valid`` when the caller has it already.
    O(a) for a ancestors, plus O(n) for the tree of n nodes when not given.
    """
    from graphengine.version import __version__

    graph = valid.graph
    ancestors = valid.ancestors({node.id})

    codes: dict[int, dict[str, Any]] = {}  # spec.code walks modules: once per node type

    def about(node_id: str) -> dict[str, Any]:
        ancestor = valid.nodes[node_id]
        spec = ancestor.spec
        if id(spec) not in codes:
            codes[id(spec)] = spec.code
        entry = {
            "type": ancestor.type,
            "version": spec.version,
            "code": codes[id(spec)],
            "key": keys[node_id].key,
        }
        if "seed" in ancestor.params:
            entry["seed"] = ancestor.params["seed"]
        return entry

    return {
        "provenance": {
            "engine": f"graphengine {__version__}",
            "graph_file": graph.file,
            "graph_home": str(graph.home) if graph.home is not None else None,
            "params": graph.params,
            "overrides": graph.overrides,
            "node": node.id,
            "key": keys[node.id].key,
            "outputs": outputs,
            "nodes": {node_id: about(node_id) for node_id in valid.in_order(ancestors)},
        },
        "graph": tree if tree is not None else resolved_tree(valid),
    }
