"""``graphengine train`` and ``graphengine train-gen``: the model family's commands.

Registered through the entry-point group ``graphengine.commands``
(``models = "nodes.model.commands:register"``). JAX is imported only when a
command runs. Training reports progress as events; on a terminal this layer
draws them with :class:`graphengine.progress.ProgressBar`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from graphengine.errors import GraphError

if TYPE_CHECKING:
    from graphengine.progress import ProgressBar
    from nodes.model.training import Progress


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument("graph", help="the feature graph (.toml or .json)")
    command.add_argument(
        "--output-node", required=True, metavar="NODE[.PORT]", help="the output the model learns"
    )
    command.add_argument("--out", required=True, metavar="MODEL_DIR", help="model folder to write")
    command.add_argument(
        "--replace", action="store_true", help="replace MODEL_DIR if it holds a model already"
    )
    command.add_argument("--epochs", type=int, metavar="N")
    command.add_argument("--batch-size", type=int, metavar="N")
    command.add_argument("--lr", type=float, metavar="X", help="learning rate")
    command.add_argument("--seed", type=int, default=0, metavar="S")
    command.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a graph or node parameter"
    )
    command.add_argument("--cache-dir", metavar="DIR", help="engine cache (default: by the graph)")
    command.add_argument("--no-cache", action="store_true", help="recompute every feature")
    command.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    command.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )


def register(subparsers: Any) -> None:
    """Add ``train`` and ``train-gen`` to the ``graphengine`` command line."""
    help = "train a classifier (mlp, cnn, lstm) on the features a graph gives for labelled files"
    train = subparsers.add_parser("train", help=help, description=help)
    _common(train)
    train.add_argument(
        "--labels", required=True, metavar="LABELS.csv", help="columns path,label[,split]"
    )
    train.add_argument(
        "--input-param",
        metavar="NAME",
        help="a file input of the graph (a graph parameter) or node.param set to each file's "
        "path (default: the graph's only file input)",
    )
    train.add_argument("--arch", required=True, choices=("mlp", "cnn", "lstm"))
    train.add_argument("--patience", type=int, default=20, metavar="N", help="early stopping")
    train.add_argument(
        "--weight-decay", type=float, default=1e-3, metavar="X", help="AdamW weight decay"
    )
    train.add_argument(
        "--no-augment",
        action="store_true",
        help="train on the features as they are (default: varied every epoch)",
    )
    train.add_argument(
        "--test-fraction", type=float, default=0.25, metavar="F", help="without a split column"
    )
    train.set_defaults(func=cmd_train)

    help = "train a generator (lstm_gen, gan) on the audio a graph gives"
    gen = subparsers.add_parser("train-gen", help=help, description=help)
    _common(gen)
    gen.add_argument(
        "--inputs", nargs="+", default=[], metavar="FILE", help="audio files (default: run once)"
    )
    gen.add_argument(
        "--input-param",
        metavar="NAME",
        help="as for train (default with --inputs: the graph's only file input)",
    )
    gen.add_argument("--arch", required=True, choices=("lstm_gen", "gan"))
    gen.set_defaults(func=cmd_train_gen)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments both training functions take, from the common options."""
    from graphengine.graphfile import parse_override
    from nodes.model.training import stderr

    if args.no_cache:
        cache: Any = False
    else:
        cache = args.cache_dir or True
    return {
        "graph": args.graph,
        "input_param": args.input_param,
        "arch": args.arch,
        "output_node": args.output_node,
        "out": args.out,
        "replace": args.replace,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "cache": cache,
        "overrides": dict(parse_override(pair) for pair in args.set or ()),
        "log": None if args.quiet else stderr,
    }


def _train(args: argparse.Namespace, train: Callable[..., dict[str, Any]], **given: Any) -> int:
    """Run ``train`` with the common options and a progress bar on a terminal; exit code 0."""
    from graphengine.progress import ProgressBar

    with ProgressBar("features", "files", enabled=not args.quiet and sys.stderr.isatty()) as bar:
        feed = _BarFeed(bar) if bar.enabled else None
        metrics = train(**given, **_options(args), progress=feed)
    if not args.quiet:
        accuracy = metrics.get("test_accuracy")
        shown = "" if accuracy is None else f": test accuracy {accuracy:.4f}"
        print(f"wrote {args.out}{shown}")
    return 0


class _BarFeed:
    """Draws training's progress events: a fresh bar for each stage (files, then epochs)."""

    def __init__(self, bar: ProgressBar) -> None:
        self.bar = bar
        self.stage: str | None = None

    def __call__(self, event: Progress) -> None:
        if event.stage != self.stage:
            self.stage = event.stage
            self.bar.unit = "files" if event.stage == "features" else "epochs"
            self.bar.close()
            self.bar.start(event.total)
            self.bar.update(label=event.stage)
        self.bar.update(completed=event.done, info=event.info)


def cmd_train(args: argparse.Namespace) -> int:
    """Train a classifier; prints the metrics and writes MODEL_DIR; returns the exit code."""
    from nodes.model import train_classifier

    if not args.input_param:
        args.input_param = _only_file_input(args.graph)
    given = {
        "labels": args.labels,
        "patience": args.patience,
        "test_fraction": args.test_fraction,
        "weight_decay": args.weight_decay,
        "augment": not args.no_augment,
    }
    return _train(args, train_classifier, **given)


def _only_file_input(graph: str) -> str:
    """The graph's one file input, the default of ``--input-param``."""
    import graphengine as ge
    from graphengine.fileslots import file_slots
    from graphengine.registry import default_registry

    document = ge.load(graph)
    try:
        return file_slots(document, default_registry()).one_input("--input-param")
    except GraphError as error:
        raise GraphError(str(error), file=document.file) from None


def cmd_train_gen(args: argparse.Namespace) -> int:
    """Train a generator; writes MODEL_DIR; returns the exit code."""
    from nodes.model import train_generator

    if args.inputs and not args.input_param:
        args.input_param = _only_file_input(args.graph)
    return _train(args, train_generator, inputs=args.inputs)
