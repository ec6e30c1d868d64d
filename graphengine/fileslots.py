"""A graph's file inputs and outputs: the slots a command line binds paths to.

A graph is a processor of files when some of its nodes take file paths
(``input_path`` / ``output_path`` parameters, e.g. ``source.file.path`` and
``sink.wav.path``). Each such parameter is one slot, named by the graph
parameter it is set from (``path = "$input"`` makes the slot ``input``) or,
when set in the node table itself, by ``NODE.PARAM`` (``src.path``). The
slot's value in the file is its example default, so the graph renders as
shipped; ``graphengine render G in.wav -o out.wav`` replaces them (``-o``
sets the output declared as a graph parameter when the graph also writes
side files from paths in node tables).

Paths typed on a command line are relative to the folder the command runs
in, not to the graph's folder: :func:`bind` makes them absolute.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphengine.errors import GraphError
from graphengine.graph import GraphDocument
from graphengine.registry import Registry


@dataclass(frozen=True)
class Slots:
    """A graph's file slots in file order: name -> the override key that sets it.

    ``targets`` maps each slot to the ``(node, param)`` pairs it sets;
    ``declared`` holds the slots that are graph parameters (``path =
    "$output"``), as opposed to paths written in a node table.
    """

    inputs: dict[str, str]
    outputs: dict[str, str]
    targets: dict[str, list[tuple[str, str]]]
    declared: frozenset[str] = frozenset()

    def main_output(self, what: str) -> str:
        """The output ``-o`` sets: the one declared as a graph parameter, else the only one.

        A graph with side outputs written in node tables (a report, a picture)
        and one ``$output`` parameter takes ``-o`` for that parameter.
        """
        declared = [name for name in self.outputs if name in self.declared]
        if len(declared) == 1:
            return declared[0]
        if len(self.outputs) == 1:
            return next(iter(self.outputs))
        known = ", ".join(self.outputs) or "none"
        shown = f"{len(declared) or 'none'} declared as graph parameters"
        raise GraphError(
            f"{what}: the graph has {len(self.outputs)} file outputs ({known}; {shown}); "
            "name one with --output NAME=PATH"
        )

    def one_input(self, what: str) -> str:
        """The graph's only file input, or a GraphError saying why there is no one."""
        if len(self.inputs) != 1:
            known = ", ".join(self.inputs) or "none"
            raise GraphError(
                f"{what}: the graph has {len(self.inputs)} file inputs ({known}); name one"
            )
        return next(iter(self.inputs))


def file_slots(document: GraphDocument, registry: Registry) -> Slots:
    """The graph's file inputs and outputs (its top-level nodes; sub-graphs are not entered)."""
    found: dict[str, dict[str, str]] = {"input_path": {}, "output_path": {}}
    targets: dict[str, list[tuple[str, str]]] = {}
    declared: set[str] = set()
    for node_id, table in document.nodes.items():
        spec = registry.get(str(table.get("type", "")))
        if spec is None:
            continue
        for param in spec.params:
            if param.kind not in found:
                continue
            value = table.get(param.name, param.default)
            if isinstance(value, str) and value.startswith("$") and value[1:] in document.params:
                name = key = value[1:]
                declared.add(name)
            elif isinstance(value, str):
                name = key = f"{node_id}.{param.name}"
            else:
                continue
            found[param.kind][name] = key
            targets.setdefault(name, []).append((node_id, param.name))
    order = {name: i for i, name in enumerate(document.params)}

    def ordered(slots: dict[str, str]) -> dict[str, str]:
        """Graph parameters in [params] order, then node parameters in node order."""
        return dict(sorted(slots.items(), key=lambda kv: order.get(kv[0], len(order))))

    # A graph parameter in both roles (rare) counts as an input.
    outputs = {k: v for k, v in found["output_path"].items() if k not in found["input_path"]}
    return Slots(ordered(found["input_path"]), ordered(outputs), targets, frozenset(declared))


def _absolute(path: str | os.PathLike, cwd: Path) -> str:
    return str((cwd / Path(path).expanduser()).resolve())


def _named(pairs: Sequence[str], option: str, slots: Mapping[str, str], kind: str) -> dict:
    bound: dict[str, str] = {}
    for pair in pairs:
        name, eq, path = pair.partition("=")
        if not eq or not name or not path:
            raise GraphError(f"{option} {pair!r}: expected NAME=PATH")
        if name not in slots:
            known = ", ".join(slots) or "none"
            raise GraphError(f"{option} {name}: the graph has no file {kind} {name!r} ({known})")
        bound[name] = path
    return bound


def bind(
    slots: Slots,
    positional: Sequence[str] = (),
    *,
    inputs: Sequence[str] = (),
    output: str | None = None,
    outputs: Sequence[str] = (),
    cwd: str | os.PathLike | None = None,
) -> dict[str, str]:
    """Overrides that set the named slots to absolute paths.

    ``positional`` files fill the file inputs in order; ``inputs`` and
    ``outputs`` are ``NAME=PATH`` pairs; ``output`` is the main file output
    (``-o``: see :meth:`Slots.main_output`). Raises :class:`GraphError`
    naming the slot or option at fault.
    """
    folder = Path(cwd) if cwd is not None else Path.cwd()
    chosen = _named(inputs, "--input", slots.inputs, "input")
    free = [name for name in slots.inputs if name not in chosen]
    if len(positional) > len(free):
        known = ", ".join(slots.inputs) or "none"
        raise GraphError(
            f"{len(positional)} input files given, but the graph has "
            f"{len(slots.inputs)} file input(s) ({known})"
            + (f", {len(chosen)} of them set with --input" if chosen else "")
        )
    chosen.update(zip(free, positional, strict=False))
    written = _named(outputs, "--output", slots.outputs, "output")
    if output is not None:
        written[slots.main_output(f"-o {output}")] = output
    overrides = {slots.inputs[name]: _absolute(path, folder) for name, path in chosen.items()}
    overrides.update({slots.outputs[name]: _absolute(p, folder) for name, p in written.items()})
    return overrides


def absolute_overrides(
    slots: Slots, overrides: Mapping[str, Any], cwd: str | os.PathLike | None = None
) -> dict[str, Any]:
    """``--set`` values for file slots made absolute against the command's folder."""
    folder = Path(cwd) if cwd is not None else Path.cwd()
    keys = {*slots.inputs.values(), *slots.outputs.values()}
    return {
        key: _absolute(value, folder) if key in keys and isinstance(value, str) else value
        for key, value in overrides.items()
    }
