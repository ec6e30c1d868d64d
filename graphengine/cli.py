"""The ``graphengine`` command line.

This module only parses arguments and formats output; each ``cmd_*``
function returns data so it can be tested without a terminal. A
:class:`GraphError` is printed in a line or two without a traceback (exit 2
for a bad graph or arguments, 1 for a failure while running); ``--debug``
shows the traceback. Commands of node families (``graphengine train``) plug in
through the entry-point group ``graphengine.commands``: each entry point is a
function ``register(subparsers)`` that adds a sub-command whose ``func``
default takes the parsed arguments and returns an exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from graphengine.defaults import DEFAULT_BLOCK_SIZE
from graphengine.errors import GraphError, GraphUpgradeWarning
from graphengine.progress import ProgressBar

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_GRAPH = 0, 1, 2


# -- commands -------------------------------------------------------------------


def _overrides(pairs: Sequence[str] | None) -> dict[str, Any]:
    from graphengine.graphfile import parse_override

    return dict(parse_override(pair) for pair in pairs or ())


def _graph_overrides(args: argparse.Namespace, graph: Any) -> dict[str, Any]:
    """``--set`` values plus the files bound to the graph's file inputs and outputs.

    Paths typed here resolve against the current folder, not the graph's.
    """
    from graphengine import fileslots
    from graphengine.registry import default_registry

    slots = fileslots.file_slots(graph, default_registry())
    overrides = fileslots.absolute_overrides(slots, _overrides(args.set))
    try:
        overrides.update(
            fileslots.bind(
                slots,
                args.files,
                inputs=args.input or (),
                output=args.out,
                outputs=args.output or (),
            )
        )
    except GraphError as error:
        raise GraphError(str(error), file=graph.file) from None
    return overrides


def cmd_validate(args: argparse.Namespace) -> dict[str, Any]:
    """Validate a graph; returns a summary."""
    from graphengine.api import load

    graph = load(args.graph)
    valid = graph.validate(_graph_overrides(args, graph), memory_budget=args.memory_budget)
    sinks = [n for n in valid.order if valid.nodes[n].spec.is_sink]
    return {"file": args.graph, "nodes": len(valid.order), "sinks": sinks, "order": valid.order}


def cmd_render(args: argparse.Namespace) -> Any:
    """Render a graph; returns the run's :class:`Result`."""
    from graphengine.api import load, target_node

    graph = load(args.graph)
    cache = cache_choice(args)
    outputs = [args.target] if args.target else None
    valid = graph.validate(_graph_overrides(args, graph), memory_budget=args.memory_budget)
    if outputs is None and not any(valid.nodes[n].spec.is_sink for n in valid.order):
        raise GraphError(
            "nothing to render: the graph has no sink (use --target NODE)", file=graph.file
        )
    if args.target:
        target_node(valid, args.target, "--target")
    if args.stats and args.stats != "-":
        _check_writable(Path(args.stats), "--stats")
    with ProgressBar("rendering", "nodes", enabled=not args.quiet and sys.stderr.isatty()) as bar:
        return graph.execute(
            valid, outputs, cache, on_event=_node_events(bar), block_size=args.block_size
        )


def cmd_nodes(args: argparse.Namespace) -> str:
    """The node list, one node's reference, or the whole reference as JSON/Markdown."""
    from graphengine.nodeindex import memo
    from graphengine.registry import default_registry

    registry = default_registry()
    if not args.type:
        # the whole reference is kept with the node index: printing it imports no node
        name = "json" if args.json else "markdown" if args.markdown else "listing"
        return memo(registry.index_key, f"nodes-{name}", lambda: _reference(registry, name))
    from graphengine import describe

    spec = registry.get(args.type)
    if spec is None:
        close = registry.suggest(args.type)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        raise GraphError(f"unknown node type {args.type!r}{hint}")
    if args.json:
        return json.dumps(describe.spec_dict(spec), indent=2) + "\n"
    if args.markdown:
        return describe.markdown([spec])
    return describe.text(spec)


def _reference(registry: Any, form: str) -> str:
    """The whole node reference: ``json``, ``markdown`` or ``listing``."""
    from graphengine import describe

    if form == "json":
        return json.dumps([describe.spec_dict(s) for s in registry], indent=2) + "\n"
    if form == "markdown":
        return describe.markdown(registry)
    return describe.listing(registry)


def cmd_upgrade(args: argparse.Namespace) -> list[str]:
    """Rewrite graph files in place to the current node type ids and parameter names."""
    from graphengine.graphfile import upgrade_file
    from graphengine.registry import default_registry

    lines = []
    for name in args.graphs:
        path = Path(name)
        if not path.is_file():
            raise GraphError(f"{name}: no such graph file")
        changes = upgrade_file(path, default_registry())
        if not changes:
            lines.append(f"{name}: up to date")
        for change in changes:
            lines.append(f"{name}: {change.describe()}")
    return lines


def cmd_schema(args: argparse.Namespace) -> str:
    """The JSON Schema of graph files."""
    from graphengine.nodeindex import memo
    from graphengine.registry import default_registry

    def schema() -> str:
        from graphengine.schema import graph_schema

        return json.dumps(graph_schema(registry), indent=2) + "\n"

    registry = default_registry()
    return memo(registry.index_key, "schema", schema)


VIZ_FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}
"""What ``viz -o`` writes for each file name ending."""


def cmd_viz(args: argparse.Namespace) -> Path | str:
    """Draw the graph: DOT text on stdout, or a file by its ending (.dot/.gv, .svg, .png).

    Returns the path written, or the DOT text when there is no ``-o``. An
    ending it cannot draw is refused (exit 2) before the graph is read.
    """
    from graphengine import viz
    from graphengine.api import load
    from graphengine.fsutil import write_text_atomic

    output = Path(args.output) if args.output else None
    kind = VIZ_FORMATS.get(output.suffix.lower()) if output is not None else "dot"
    if kind is None:
        endings = ", ".join(VIZ_FORMATS)
        raise GraphError(
            f"viz -o {output}: cannot draw a {output.suffix or 'file without an ending'!r} "
            f"picture (endings: {endings}; no -o prints DOT)"
        )
    valid = load(args.graph).validate(_overrides(args.set))
    if output is None:
        return viz.dot(valid)
    if kind == "png":
        temp = output.with_name(f".{output.name}.tmp.png")
        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            viz.png(valid, temp)
            temp.replace(output)
        finally:
            temp.unlink(missing_ok=True)
    elif kind == "svg":
        from graphengine.svg import svg

        write_text_atomic(output, svg(valid))
    else:
        write_text_atomic(output, viz.dot(valid))
    return output


def cmd_cache(args: argparse.Namespace) -> dict[str, Any]:
    """Cache statistics, or clear it.

    Only a graphengine cache (or a folder not there yet) is looked at: a folder
    of other files, or a file, is an error (exit 2) and nothing in it is touched.
    """
    from graphengine.api import CACHE_DIR_NAME
    from graphengine.cache import DiskStore, folder_kind
    from graphengine.graph import SIDECAR_SUFFIX

    if args.cache_dir:
        directory = Path(args.cache_dir)
    elif args.graph and args.graph.endswith(SIDECAR_SUFFIX):
        from graphengine.api import load

        found = load(args.graph).cache_dir()
        if found is None:
            raise GraphError(f"{args.graph}: the sidecar does not say where its graph's cache is")
        directory = found
    elif args.graph:
        directory = Path(args.graph).resolve().parent / CACHE_DIR_NAME
    else:
        directory = Path.cwd() / CACHE_DIR_NAME
    kind = folder_kind(directory)
    if kind == "file":
        raise GraphError(f"cache directory {directory} is a file, not a folder")
    if kind == "other":
        raise GraphError(
            f"{directory} is not a graphengine cache (it holds other files); nothing touched"
        )
    store = DiskStore(directory)
    if args.action == "clear":
        return {"directory": str(directory), "removed": store.clear()}
    return store.info()


def cmd_info(args: argparse.Namespace) -> int:
    """Print what each audio file holds; returns 0, or 2 when a file could not be read.

    Every file is reported (a bad one as one ``error:`` line naming it, on
    stderr) before the exit code says whether any failed.
    """
    from graphengine import info

    reports: list[dict[str, Any]] = []
    failed = 0
    for name in args.files:
        try:
            reports.append(info.file_info(name))
        except GraphError as error:
            failed += 1
            print(f"error: {error}", file=sys.stderr)
            if args.json:
                reports.append({"file": name, "error": str(error)})
    if args.json:
        cleaned = [info.json_ready(r) for r in reports]
        print(json.dumps(cleaned, indent=2, allow_nan=False))
    else:
        sys.stdout.write("".join(info.text(r) for r in reports))
    return EXIT_BAD_GRAPH if failed else EXIT_OK


# -- output ---------------------------------------------------------------------


def _node_events(bar: ProgressBar) -> Callable[[Any], None]:
    """Feed the executor's events to a bar counting nodes.

    Within a node, the info column moves too: a streaming region's share of
    frames done with its rate and time left, a long node's own progress.
    """
    stream = {"started": 0.0}

    def event(event: Any) -> None:
        if event.kind == "run_start":
            bar.start(event.data["nodes"])
        elif event.kind == "node_start":
            bar.update(label=event.node_id, info="")
            stream["started"] = 0.0
        elif event.kind == "node_end":
            bar.update(advance=1, info="")
        elif event.kind == "block":
            bar.update(info=_stream_info(event.data["frames"], event.data["total"], stream))
        elif event.kind == "node_progress":
            bar.update(info=f"{event.data['fraction']:.0%}")

    return event


def _stream_info(done: int, total: int, stream: dict[str, float]) -> str:
    """``42% 3.1M frames/s 2 s left`` for a streaming region ``done`` of ``total`` frames in."""
    now = time.perf_counter()
    if not stream["started"]:
        stream["started"], stream["done"] = now, done
    elapsed = now - stream["started"]
    share = f"{done / total:.0%}" if total else ""
    if elapsed <= 0 or done <= stream["done"]:
        return share
    rate = (done - stream["done"]) / elapsed
    left = (total - done) / rate
    return f"{share} {rate / 1e6:.1f}M frames/s {left:.0f} s left"


def _summary(result: Any, seconds: float) -> str:
    computed = sum(1 for s in result.stats if s.status == "computed")
    cached = sum(1 for s in result.stats if s.status == "cached")
    line = f"{len(result.stats)} nodes ({computed} computed, {cached} cached) in {seconds:.2f} s"
    if result.outputs:
        line += " -> " + ", ".join(_shown(p) for p in result.outputs)
    return line


def _shown(path: Path) -> str:
    """A path relative to the working folder when it lies inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _explain_table(result: Any) -> str:
    width = max((len(s.node) for s in result.stats), default=4)
    type_width = max((len(s.type) for s in result.stats), default=4)
    lines = []
    for s in result.stats:
        timing = f"{s.status:<8}  {s.seconds:8.3f} s"
        reason = s.reason + (f" (ran fused: {s.fused})" if getattr(s, "fused", None) else "")
        lines.append(f"{s.node:<{width}}  {s.type:<{type_width}}  {timing}  {reason}")
    return "\n".join(lines) + "\n"


def _target_lines(result: Any, target: str) -> list[str]:
    """``mix: Audio(2 ch, 88200 frames, 44100 Hz, 2.000 s, peak -3.1 dBFS)`` per output shown.

    ``--target node.port`` shows that output; ``--target node`` every output of
    the node (one, or one line per port); a sink's target shows none.
    """
    from graphengine.graph import PortRef

    ref = result.valid.graph.resolve_alias(PortRef.parse(target))
    spec = result.valid.nodes[ref.node].spec
    names = [target] if ref.port else [f"{ref.node}.{p.name}" for p in spec.outputs]
    if not ref.port and len(names) == 1:
        names = [ref.node]
    return [f"{name}: {result[name]!r}" for name in names if name in result]


def _write_stats(result: Any, destination: str) -> None:
    text = json.dumps(result.stats_dicts(), indent=2) + "\n"
    if destination == "-":
        sys.stdout.write(text)
        return
    from graphengine.fsutil import os_error_reason, write_text_atomic

    try:
        write_text_atomic(Path(destination), text)
    except OSError as error:
        raise GraphError(f"--stats {destination}: {os_error_reason(error.errno)}") from None


def _check_writable(path: Path, option: str) -> None:
    """Prove a file can be written at ``path`` before anything renders, leaving nothing behind.

    Missing folders are made and a probe file is written beside ``path``; all
    are removed again. Raises GraphError (exit 2) naming ``option`` and ``path``.
    """
    import tempfile

    from graphengine.fsutil import os_error_reason

    if path.is_dir():
        raise GraphError(f"{option} {path}: is a folder, not a file")
    made: list[Path] = []
    try:
        for folder in reversed([path.parent, *path.parent.parents]):
            if folder.exists() and not folder.is_dir():
                raise GraphError(f"{option} {path}: {folder} is not a folder")
            if not folder.is_dir():
                folder.mkdir()
                made.append(folder)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        reason = os_error_reason(error.errno, str(error))
        raise GraphError(f"{option} {path}: cannot write there ({reason})") from None
    finally:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()


# -- parser ---------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _memory_bytes(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    text = text.strip().lower().removesuffix("b").removesuffix("i")
    factor = units.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in units else text
    try:
        size = float(number) * factor
    except ValueError:
        size = -1.0
    if not (0 < size < 2**62):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 4G or 500M")
    return int(size)


def _add_debug(command: argparse.ArgumentParser, help: str = argparse.SUPPRESS) -> None:
    """``--debug`` after the subcommand too; unset, it leaves the top-level flag's value."""
    command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=help)


def _add_memory_budget(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--memory-budget",
        type=_memory_bytes,
        default="4G",
        help="largest output a node may produce (default 4G)",
    )


def _add_cache_options(command: argparse.ArgumentParser) -> None:
    """``--no-cache`` and ``--cache-dir``, read back by :func:`cache_choice`."""
    command.add_argument(
        "--no-cache", action="store_true", help="compute everything; read and write no cache"
    )
    command.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="cache directory (default: .graphengine-cache next to the graph); used only "
        "when new, empty or already a cache, else the run goes on without a disk cache, "
        "with a warning (so a folder of other files is never written into)",
    )


def cache_choice(args: argparse.Namespace) -> Any:
    """The ``cache`` argument of a run: the folder given, or whether to use the default one."""
    return args.cache_dir if args.cache_dir else not args.no_cache


def _add_file_slots(command: argparse.ArgumentParser) -> None:
    """The arguments that bind files to a graph's file inputs and outputs."""
    command.add_argument(
        "files",
        nargs="*",
        metavar="INPUT",
        help="files for the graph's file inputs, in order (paths relative to this folder)",
    )
    command.add_argument(
        "-o",
        "--out",
        metavar="PATH",
        help="the file for the graph's main file output (the one set from a graph parameter)",
    )
    command.add_argument(
        "--input", action="append", metavar="NAME=PATH", help="a file for a named file input"
    )
    command.add_argument(
        "--output", action="append", metavar="NAME=PATH", help="a file for a named output"
    )


def build_parser() -> argparse.ArgumentParser:
    from graphengine.version import __version__

    parser = argparse.ArgumentParser(
        prog="graphengine", description="Validate, render and inspect audio dataflow graphs."
    )
    parser.add_argument("--version", action="version", version=f"graphengine {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def graph_command(name: str, help: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help, description=help)
        command.add_argument("graph", help="graph file (.toml or .json)")
        command.add_argument(
            "--set",
            action="append",
            metavar="KEY=VALUE",
            help="override a graph parameter (name=value) or a node parameter (node.param=value); "
            "values are TOML literals; file paths are relative to this folder",
        )
        _add_memory_budget(command)
        _add_debug(command, "show tracebacks")
        return command

    render = graph_command(
        "render", "render a graph: run every sink (or --target) that is not up to date"
    )
    _add_file_slots(render)
    _add_cache_options(render)
    render.add_argument(
        "--target", metavar="NODE[.PORT]", help="run only this node and its stale ancestors"
    )
    render.add_argument(
        "--explain",
        action="store_true",
        help="print per node whether it was cached or computed, and why",
    )
    render.add_argument(
        "--stats", metavar="FILE", help="write per-node statistics as JSON to FILE ('-' for stdout)"
    )
    render.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    render.add_argument(
        "--block-size",
        type=_positive_int,
        default=DEFAULT_BLOCK_SIZE,
        metavar="N",
        help=f"frames per block for streaming chains (default {DEFAULT_BLOCK_SIZE}; "
        "the output does not change)",
    )
    render.set_defaults(func=cmd_render)

    validate = graph_command("validate", "check a graph without running it")
    _add_file_slots(validate)
    validate.set_defaults(func=cmd_validate)

    nodes = sub.add_parser(
        "nodes", help="list node types, or show one", description="list node types, or show one"
    )
    nodes.add_argument("type", nargs="?", help="a node type, e.g. effect.gain")
    form = nodes.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true")
    form.add_argument("--markdown", action="store_true")
    _add_debug(nodes)
    nodes.set_defaults(func=cmd_nodes)

    upgrade = sub.add_parser(
        "upgrade",
        help="rewrite graph files to the current node ids and parameters",
        description="Rewrite graph files in place (atomically) to the current node type ids "
        "and parameter names; a TOML file keeps its comments and layout. Sub-graph files are "
        "not followed: upgrade each one.",
    )
    upgrade.add_argument("graphs", nargs="+", metavar="GRAPH", help="graph files to rewrite")
    _add_debug(upgrade)
    upgrade.set_defaults(func=cmd_upgrade)

    schema = sub.add_parser("schema", help="print the JSON Schema of graph files")
    _add_debug(schema)
    schema.set_defaults(func=cmd_schema)

    viz = graph_command(
        "viz", "draw a graph: Graphviz DOT on stdout, or -o FILE ending in .dot, .gv, .svg or .png"
    )
    viz.add_argument("-o", "--output", metavar="FILE", help="the picture (default: DOT on stdout)")
    viz.set_defaults(func=cmd_viz)

    help = "what audio files hold: rate, channels, length, format, bit depth, peak, RMS, clipping"
    info = sub.add_parser("info", help=help, description=help + " (read in blocks).")
    info.add_argument("files", nargs="+", metavar="FILE", help="audio files")
    info.add_argument("--json", action="store_true", help="a JSON list, one object per file")
    _add_debug(info)
    info.set_defaults(func=cmd_info)

    cache = sub.add_parser("cache", help="show or clear the disk cache")
    cache.add_argument("action", choices=("info", "clear"))
    cache.add_argument("graph", nargs="?", help="use the cache next to this graph file")
    cache.add_argument(
        "--cache-dir", metavar="DIR", help="the cache folder (a folder of other files is refused)"
    )
    _add_debug(cache)
    cache.set_defaults(func=cmd_cache)

    _add_batch_command(sub)
    _add_authoring_commands(sub)
    _add_studio_command(sub)
    _plugin_commands(sub)
    return parser


# -- batch (graphengine/cli_batch.py; the Dask runner is graphengine/distributed/) ----


def cmd_batch(args: argparse.Namespace) -> int:
    """Run a graph once per input file on Dask; returns the exit code (0, 3; 2 raised)."""
    from graphengine.cli_batch import cmd_batch as run_batch

    return run_batch(args)


def _add_batch_command(sub: Any) -> None:
    help = "run a graph once per input file on Dask (a LocalCluster, or --scheduler)"
    batch = sub.add_parser(
        "batch",
        help=help,
        description=help + ". Exit codes: 0 all inputs succeeded, 3 some failed, "
        "2 bad graph or arguments (nothing run).",
    )
    batch.add_argument("graph", help="graph file (.toml or .json)")
    batch.add_argument(
        "patterns",
        nargs="*",
        metavar="GLOB",
        help="input files, as for --inputs (quote a glob so the shell leaves it alone)",
    )
    batch.add_argument(
        "--inputs", action="append", metavar="GLOB", help="input files; ** recurses (repeatable)"
    )
    batch.add_argument(
        "--inputs-file",
        action="append",
        metavar="LIST.txt",
        help="a file listing inputs, one a line (relative to its folder)",
    )
    batch.add_argument(
        "--bind",
        metavar="INPUT",
        help="what receives each input path: a file input of the graph (a graph parameter) or "
        "NODE.PARAM (default: the graph's only file input)",
    )
    batch.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a parameter (as for render)"
    )
    batch.add_argument(
        "--out-dir", required=True, metavar="DIR", help="outputs, manifest.csv, collected.csv"
    )
    batch.add_argument(
        "--input-root",
        metavar="FOLDER",
        help="folder the output layout mirrors (default: where the inputs' globs start)",
    )
    batch.add_argument(
        "--collect",
        action="append",
        metavar="NODE[.PORT]",
        help="gather this vector/prediction output into DIR/collected.csv (repeatable)",
    )
    batch.add_argument("--workers", type=int, metavar="N", help="LocalCluster worker processes")
    batch.add_argument("--threads-per-worker", type=int, default=1, metavar="N")
    batch.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask cluster instead"
    )
    batch.add_argument(
        "--retries", type=int, default=1, metavar="N", help="re-runs after a worker dies"
    )
    batch.add_argument(
        "--force", action="store_true", help="redo inputs the manifest records as done"
    )
    _add_cache_options(batch)
    _add_memory_budget(batch)
    batch.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    _add_debug(batch, "show tracebacks")
    batch.set_defaults(func=cmd_batch)


# -- authoring: watch (graphengine/watch.py) and new (graphengine/templates.py) -------


def cmd_watch(args: argparse.Namespace) -> int:
    """Render a graph now and on every change of it or a file it uses; returns 0.

    Files are bound to the graph's file inputs and outputs as for ``render``
    (again at every render, so an edit of the graph's slots is followed).
    """
    from graphengine.watch import watch

    cache = cache_choice(args)
    watch(
        args.graph,
        play=args.play,
        bind=lambda graph: _graph_overrides(args, graph),
        cache=cache,
        interval_s=args.interval,
        max_seconds=args.max_seconds,
        echo=lambda line: print(line, flush=True),
    )
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    """Write a starter graph from a template; returns 0."""
    from graphengine.templates import new_graph

    path = new_graph(args.name, args.template, directory=args.dir, force=args.force)
    print(f"wrote {path}: graphengine render {path}")
    return EXIT_OK


def _add_authoring_commands(sub: Any) -> None:
    from graphengine.templates import TEMPLATES

    help = "render a graph, then again on every save of it or of a file it uses"
    watch = sub.add_parser("watch", help=help, description=help + " (Ctrl-C stops).")
    watch.add_argument("graph", help="graph file (.toml or .json)")
    watch.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a parameter (as for render)"
    )
    _add_file_slots(watch)
    watch.add_argument(
        "--play", action="store_true", help="play the main audio output after each render"
    )
    _add_cache_options(watch)
    watch.add_argument(
        "--interval", type=float, default=0.25, metavar="S", help="seconds between polls"
    )
    watch.add_argument(
        "--max-seconds", type=float, metavar="S", help="stop after S seconds (for scripts)"
    )
    _add_debug(watch, "show tracebacks")
    watch.set_defaults(func=cmd_watch)

    help = "write a starter graph that validates and renders"
    new = sub.add_parser("new", help=help, description=help + ".")
    new.add_argument("name", help="graph name; writes NAME.toml")
    new.add_argument(
        "--template", "-t", choices=list(TEMPLATES), default="effect", help="what it does"
    )
    new.add_argument("--dir", default=".", help="folder to write it in (default: here)")
    new.add_argument("--force", action="store_true", help="overwrite an existing file")
    _add_debug(new)
    new.set_defaults(func=cmd_new)


def cmd_studio(args: argparse.Namespace) -> int:
    """Serve the studio page for a graph until Ctrl-C; returns 0."""
    from graphengine.api import load
    from graphengine.studio.server import serve

    graph = load(args.graph)
    serve(
        args.graph,
        _graph_overrides(args, graph),
        host=args.host,
        port=args.port,
        cache=cache_choice(args),
        echo=lambda line: print(line, flush=True),
    )
    return EXIT_OK


def _add_studio_command(sub: Any) -> None:
    help = "see, hear and try every node of a graph in a local web page"
    studio = sub.add_parser(
        "studio",
        help=help,
        description=help + " (follows the file as it is saved; Ctrl-C stops). "
        "Needs the studio extra: pip install 'graphengine[studio]'.",
    )
    studio.add_argument("graph", help="graph file (.toml or .json)")
    _add_file_slots(studio)
    studio.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a parameter (as for render)"
    )
    studio.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: this machine only)"
    )
    studio.add_argument(
        "--port", type=int, default=8765, help="port to listen on (0: any free port)"
    )
    _add_cache_options(studio)
    _add_debug(studio)
    studio.set_defaults(func=cmd_studio)


def _plugin_commands(sub: Any) -> None:
    from graphengine.plugins import entry_points, load
    from graphengine.registry import COMMAND_GROUP

    for _name, value in entry_points(COMMAND_GROUP):
        load(value)(sub)


def _print_result(args: argparse.Namespace, value: Any, seconds: float) -> None:
    func = args.func
    if func is cmd_render:
        if args.stats:
            _write_stats(value, args.stats)
        if args.quiet:
            return
        for warning in value.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if args.explain:
            sys.stderr.write(_explain_table(value))
        if args.target:
            for line in _target_lines(value, args.target):
                print(line, file=sys.stderr)
        print(f"{args.graph}: {_summary(value, seconds)}", file=sys.stderr)
    elif func is cmd_validate:
        sinks = ", ".join(value["sinks"]) or "none"
        print(f"{value['file']}: ok, {value['nodes']} nodes, sinks: {sinks}")
    elif func is cmd_upgrade:
        print("\n".join(value))
    elif func in (cmd_nodes, cmd_schema):
        sys.stdout.write(value)
    elif func is cmd_viz:
        if isinstance(value, str):
            sys.stdout.write(value)
        else:
            print(f"wrote {value}")
    elif func is cmd_cache:
        print(json.dumps(value, indent=2))


def _show_upgrade_notice(message: Warning | str, category: type[Warning], *rest: Any) -> None:
    """Print a graph-upgrade notice as one ``note:`` line; other warnings as Python would."""
    if issubclass(category, GraphUpgradeWarning):
        print(f"note: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, *rest[:2]))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``graphengine`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", GraphUpgradeWarning)
            warnings.showwarning = _show_upgrade_notice
            value = args.func(args)
    except GraphError as error:
        if getattr(args, "debug", False):
            raise
        print(str(error), file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    _print_result(args, value, time.perf_counter() - started)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
