"""Graph files: TOML/JSON loading and saving, ``$param`` substitution, sub-graphs.

Loading turns a file (or a dict) into a :class:`GraphDocument`; resolving turns
a document plus parameter overrides into a :class:`ResolvedGraph`: parameters
substituted, sub-graphs (``type = "graph"``) expanded into prefixed node ids
(``fx/lp``), node tables split into connections and parameter values.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graphengine.errors import (
    GraphError,
    GraphFileError,
    ParamError,
    PortError,
    raise_collected,
)
from graphengine.fsutil import write_text_atomic
from graphengine.graph import (
    FORMAT_VERSION,
    NODE_ID,
    TOP_LEVEL_KEYS,
    GraphDocument,
    NodeInstance,
    PortRef,
    ResolvedGraph,
)
from graphengine.registry import Registry
from graphengine.upgrade import TableUpgrade, upgrade_table, warn_upgraded

SUBGRAPH_TYPE = "graph"
MAX_SUBGRAPH_DEPTH = 64
"""Sub-graphs may nest this deep (a graph in a graph in ... ); deeper is an error."""
_WHOLE_REF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_EMBEDDED_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def did_you_mean(name: str, candidates: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string.

    A candidate that the name starts with (``saw`` for ``sawtooth``) counts as close.
    """
    names = [str(c) for c in candidates]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if not close:
        prefixes = [c for c in names if len(c) >= 3 and (name.startswith(c) or c.startswith(name))]
        close = sorted(prefixes, key=len, reverse=True)[:1]
    return f" (did you mean {close[0]!r}?)" if close else ""


# -- reading ------------------------------------------------------------------


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in pairs:
        if key in tree:
            raise ValueError(f"duplicate key {key!r}")
        tree[key] = value
    return tree


def parse_text(text: str, *, file: str, suffix: str) -> dict[str, Any]:
    """Parse TOML or JSON text into a tree; errors carry line and column."""
    if suffix == ".json":
        try:
            tree = json.loads(text, object_pairs_hook=_reject_duplicates)
        except json.JSONDecodeError as error:
            raise GraphFileError(
                f"invalid JSON: {error.msg}", file=file, line=error.lineno, column=error.colno
            ) from None
        except ValueError as error:
            raise GraphFileError(f"invalid JSON: {error}", file=file) from None
    else:
        try:
            tree = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            message = str(error)
            position = _TOML_POSITION.search(message)
            line = int(position.group(1)) if position else None
            column = int(position.group(2)) if position else None
            message = _TOML_POSITION.sub("", message).strip()
            raise GraphFileError(
                f"invalid TOML: {message}", file=file, line=line, column=column
            ) from None
    if not isinstance(tree, dict):
        raise GraphFileError("a graph file must hold a table (object) at the top", file=file)
    return tree


def load_file(path: str | os.PathLike) -> GraphDocument:
    """Read a ``.toml`` or ``.json`` graph file into a document."""
    path = Path(path)
    file = str(path)
    if path.suffix not in (".toml", ".json"):
        raise GraphFileError("a graph file must end in .toml or .json", file=file)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark some editors add
    except FileNotFoundError:
        raise GraphFileError("no such graph file", file=file) from None
    except (OSError, UnicodeDecodeError) as error:
        raise GraphFileError(f"cannot read graph file: {error}", file=file) from None
    tree = parse_text(text, file=file, suffix=path.suffix)
    if "provenance" in tree and isinstance(tree.get("graph"), dict):
        # a sidecar written beside an output: re-render what made it, with the cache of
        # the graph file that made it (never one planted among the outputs)
        recorded = (
            tree["provenance"].get("graph_home") if isinstance(tree["provenance"], dict) else None
        )
        document = from_tree(tree["graph"], path=path)
        document.from_sidecar = True
        if isinstance(recorded, str) and Path(recorded).is_absolute() and Path(recorded).is_dir():
            document.sidecar_home = Path(recorded)
        return document
    return from_tree(tree, path=path)


def _check_table(value: Any, what: str, file: str | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GraphFileError(
            f"{what} must be a table (object), got {type(value).__name__}", file=file
        )
    return value


def _check_string_keys(table: Mapping[Any, Any], what: str, file: str | None) -> None:
    """JSON and TOML keys are strings; a dict built in Python may hold others."""
    for key in table:
        if not isinstance(key, str):
            raise GraphFileError(f"{what}: key {key!r} is not a string", file=file)


def from_tree(tree: Mapping[str, Any], *, path: str | os.PathLike | None = None) -> GraphDocument:
    """Check a graph tree's top-level structure and build a document from it."""
    file = str(path) if path is not None else None
    errors: list[GraphError] = []
    _check_string_keys(tree, "the graph", file)
    for key in tree:
        if key not in TOP_LEVEL_KEYS:
            errors.append(
                GraphFileError(f"unknown top-level key {key!r}{did_you_mean(key, TOP_LEVEL_KEYS)}")
            )
    version = tree.get("format", FORMAT_VERSION)
    if version != FORMAT_VERSION or isinstance(version, bool):
        errors.append(GraphFileError(f"format {version!r} is not supported (this engine reads 1)"))
    sample_rate = tree.get("sample_rate", 44100)
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, int | float)
        or not (1 <= sample_rate <= 1_536_000)
    ):
        errors.append(
            GraphFileError(
                f"sample_rate must be a number of Hz in [1, 1536000], got {sample_rate!r}"
            )
        )
    seed = tree.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        errors.append(GraphFileError(f"seed must be an integer, got {seed!r}"))
    name = tree.get("name", "")
    if not isinstance(name, str):
        errors.append(GraphFileError(f"name must be a string, got {name!r}"))
    raise_collected(errors, file)

    params = _check_table(tree.get("params"), "params", file)
    _check_string_keys(params, "params", file)
    for key in params:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            errors.append(GraphFileError(f"graph parameter name {key!r} is not an identifier"))
    nodes = _check_table(tree.get("nodes"), "nodes", file)
    _check_string_keys(nodes, "nodes", file)
    for table in nodes.values():
        if isinstance(table, dict):
            _check_string_keys(table, "a node table", file)
    for node_id, table in nodes.items():
        if not NODE_ID.match(node_id):
            errors.append(
                GraphFileError(f"node id {node_id!r} may hold only letters, digits, _ and -")
            )
        elif not isinstance(table, dict):
            errors.append(GraphFileError(f"node {node_id!r} must be a table, got {table!r}"))
        elif not isinstance(table.get("type"), str):
            errors.append(PortError(node_id, "type", "every node needs a type (a string)"))
    inputs = _check_table(tree.get("inputs"), "inputs", file)
    outputs = _check_table(tree.get("outputs"), "outputs", file)
    raise_collected(errors, file)
    return GraphDocument(
        sample_rate,
        name=name,
        seed=seed,
        params=params,
        nodes=nodes,
        inputs=inputs,
        outputs=outputs,
        path=path,
    )


def load(source: str | os.PathLike | Mapping[str, Any] | GraphDocument) -> GraphDocument:
    """A document from a file path, a dict tree, or a document (copied)."""
    if isinstance(source, GraphDocument):
        return source.copy()
    if isinstance(source, Mapping):
        return from_tree(source)
    return load_file(source)


# -- writing ------------------------------------------------------------------


def dumps(document: GraphDocument, suffix: str = ".toml") -> str:
    """The document as TOML or JSON text."""
    tree = document.to_dict()
    if suffix == ".json":
        try:
            return json.dumps(tree, indent=2, allow_nan=False) + "\n"
        except (TypeError, ValueError) as error:
            raise GraphError(f"cannot write this graph as JSON: {error}") from None
    import tomli_w

    try:
        return tomli_w.dumps(tree)
    except TypeError as error:
        raise GraphError(f"cannot write this graph as TOML: {error}") from None


def save(document: GraphDocument, path: str | os.PathLike) -> Path:
    """Write the document to ``path`` (.toml or .json) atomically."""
    path = Path(path)
    if path.suffix not in (".toml", ".json"):
        raise GraphError(f"{path}: a graph file must end in .toml or .json")
    write_text_atomic(path, dumps(document, path.suffix))
    return path


def upgrade_file(path: str | Path, registry: Registry) -> list[TableUpgrade]:
    """Rewrite a graph file's node tables to the current node versions, atomically.

    A TOML file keeps its comments and layout; JSON is rewritten with two-space
    indentation. Sub-graph files are not followed (upgrade each one). Returns
    what changed; an empty list leaves the file untouched.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        tree: Any = json.loads(text)
    else:
        import tomlkit

        tree = tomlkit.parse(text)
    nodes = tree.get("nodes", {}) if isinstance(tree, Mapping) else {}
    done: list[TableUpgrade] = []
    for node_id in list(nodes):
        table = nodes[node_id]
        if not isinstance(table, Mapping) or not isinstance(table.get("type"), str):
            continue
        if table["type"] == SUBGRAPH_TYPE:
            continue
        body = {k: v for k, v in table.items() if k != "type"}
        new_type, upgraded, change = upgrade_table(registry, node_id, table["type"], body)
        if change is None:
            continue
        done.append(change)
        _rewrite_table(table, new_type, upgraded)
    if done:
        if path.suffix == ".json":
            new_text = json.dumps(tree, indent=2) + "\n"
        else:
            import tomlkit

            new_text = tomlkit.dumps(tree)
        write_text_atomic(path, new_text)
    return done


def _rewrite_table(table: Any, new_type: str, upgraded: Mapping[str, Any]) -> None:
    """Change ``table`` in place (a tomlkit table keeps its comments) to ``upgraded``."""
    table["type"] = new_type
    for key in [k for k in table if k != "type" and k not in upgraded]:
        del table[key]
    for key, value in upgraded.items():
        if key not in table or table[key] != value:
            table[key] = value


# -- overrides ----------------------------------------------------------------


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` with the value read as a TOML literal (a bare word stays a string)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise GraphError(f"--set {text!r}: expected key=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def _split_overrides(
    overrides: Mapping[str, Any], document: GraphDocument
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[GraphError]]:
    graph_params: dict[str, Any] = {}
    node_params: dict[str, dict[str, Any]] = {}
    errors: list[GraphError] = []
    for key, value in overrides.items():
        if not isinstance(key, str):
            errors.append(GraphError(f"overrides: key {key!r} is not a string"))
            continue
        if "." in key:
            node_id, _, name = key.rpartition(".")
            node_params.setdefault(node_id, {})[name] = value
        elif key in document.params:
            graph_params[key] = value
        else:
            known = ", ".join(sorted(document.params)) or "none"
            errors.append(
                GraphError(
                    f"--set {key}: unknown graph parameter{did_you_mean(key, document.params)}"
                    f" (graph parameters: {known}; use node.param to set a node's parameter)"
                )
            )
    return graph_params, node_params, errors


def _inserted_converter(node_id: str, registry: Registry) -> tuple[str, str] | None:
    """(source, converter type) when ``node_id`` names a converter validation inserts.

    Such ids are ``<source>--<type with dashes>`` (``osc--spectral-stft``); see
    :func:`graphengine.validate._insert_converter`.
    """
    source, sep, dashed = node_id.rpartition("--")
    if not sep or not source:
        return None
    for type_id in registry.auto_converters():
        if type_id.replace(".", "-") == dashed:
            return source, type_id
    return None


# -- resolving ----------------------------------------------------------------


class _Resolver:
    def __init__(self, registry: Registry, node_overrides: dict[str, dict[str, Any]]) -> None:
        self.registry = registry
        self.node_overrides = node_overrides
        self.used_overrides: set[str] = set()
        self.errors: list[GraphError] = []
        self.instances: dict[str, NodeInstance] = {}
        self.aliases: dict[str, dict[str | None, str]] = {}
        self.input_targets: dict[str, dict[str, list[PortRef]]] = {}
        self.node_files: dict[str, str] = {}
        self.upgrades: dict[str | None, list[TableUpgrade]] = {}
        self.declared: list[str] = []
        self.unresolved: set[str] = set()

    def substitute(self, value: Any, params: Mapping[str, Any], node_id: str, key: str) -> Any:
        if isinstance(value, list):
            return [self.substitute(v, params, node_id, key) for v in value]
        if isinstance(value, dict):
            return {k: self.substitute(v, params, node_id, key) for k, v in value.items()}
        if not isinstance(value, str):
            return value
        whole = _WHOLE_REF.match(value)
        if whole:
            return self._param(whole.group(1), params, node_id, key)

        def embed(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            return str(self._param(match.group(1), params, node_id, key))

        return _EMBEDDED_REF.sub(embed, value)

    def _param(self, name: str, params: Mapping[str, Any], node_id: str, key: str) -> Any:
        if name in params:
            return params[name]
        self.errors.append(
            ParamError(
                node_id, key, f"undefined graph parameter ${name}{did_you_mean(name, params)}"
            )
        )
        return None

    def expand(
        self,
        document: GraphDocument,
        params: Mapping[str, Any],
        prefix: str,
        stack: tuple[Path, ...],
    ) -> None:
        for local_id, raw in document.nodes.items():
            node_id = prefix + local_id
            type_id = raw["type"]
            if prefix and document.file:
                self.node_files[node_id] = document.file
            table = {
                key: self.substitute(value, params, node_id, key)
                for key, value in raw.items()
                if key != "type"
            }
            overrides = self.node_overrides.get(node_id, {})
            if overrides:
                self.used_overrides.add(node_id)
                for key, value in overrides.items():
                    table[key] = self.substitute(value, params, node_id, key)
            if type_id == SUBGRAPH_TYPE:
                self.declared.append(node_id)
                self.expand_subgraph(node_id, table, document, prefix, stack)
            else:
                type_id, table, upgrade = upgrade_table(self.registry, local_id, type_id, table)
                if upgrade is not None:
                    self.upgrades.setdefault(document.file, []).append(upgrade)
                base_dir = document.base_dir if prefix else None
                self.add_node(node_id, type_id, table, prefix, base_dir)

    def add_node(
        self, node_id: str, type_id: str, table: dict[str, Any], prefix: str, base_dir: Path | None
    ) -> None:
        if node_id in self.instances:
            self.errors.append(PortError(node_id, None, "duplicate node id", type_id))
            return
        self.declared.append(node_id)
        spec = self.registry.get(type_id)
        if spec is None:
            close = self.registry.suggest(type_id)
            hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
            self.errors.append(PortError(node_id, "type", f"unknown node type {type_id!r}{hint}"))
            self.unresolved.add(node_id)
            return
        instance = NodeInstance(node_id, type_id, base_dir=base_dir)
        for key, value in table.items():
            port = spec.input(key)
            if port is not None:
                refs = self.port_refs(node_id, key, type_id, value, prefix)
                if refs is not None:
                    instance.inputs[key] = refs
            elif spec.param(key) is not None:
                instance.params[key] = value
            else:
                names = [p.name for p in spec.inputs] + [p.name for p in spec.params]
                self.errors.append(
                    ParamError(
                        node_id,
                        key,
                        f"unknown parameter or port {key!r}{did_you_mean(key, names)}",
                        type_id,
                    )
                )
        self.instances[node_id] = instance

    def port_refs(
        self, node_id: str, port: str, type_id: str, value: Any, prefix: str
    ) -> tuple[PortRef, ...] | None:
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            self.errors.append(
                PortError(
                    node_id,
                    port,
                    f"expects a node reference ('node' or 'node.port') or a list of them, "
                    f"got {value!r}",
                    type_id,
                )
            )
            return None
        return tuple(PortRef.parse(prefix + v) for v in values)

    def expand_subgraph(
        self,
        node_id: str,
        table: dict[str, Any],
        parent: GraphDocument,
        prefix: str,
        stack: tuple[Path, ...],
    ) -> None:
        raw_path = table.pop("path", None)
        if not isinstance(raw_path, str):
            self.errors.append(
                ParamError(node_id, "path", "a sub-graph needs a path (a string)", "graph")
            )
            return
        try:
            path = (parent.base_dir / raw_path).resolve()
        except (OSError, ValueError, RuntimeError) as error:
            message = f"not a usable path: {raw_path!r} ({error})"
            self.errors.append(ParamError(node_id, "path", message, "graph"))
            return
        if len(stack) > MAX_SUBGRAPH_DEPTH:
            message = f"sub-graphs nest deeper than {MAX_SUBGRAPH_DEPTH} levels here ({path.name})"
            self.errors.append(ParamError(node_id, "path", message, "graph"))
            return
        if path in stack:
            chain = " -> ".join(p.name for p in (*stack, path))
            self.errors.append(
                ParamError(node_id, "path", f"sub-graphs include each other: {chain}", "graph")
            )
            return
        try:
            sub = load_file(path)
        except GraphError as error:
            self.errors.append(
                ParamError(node_id, "path", f"cannot load sub-graph: {error}", "graph")
            )
            return
        sub_params = dict(sub.params)
        connections: dict[str, Any] = {}
        for key, value in table.items():
            if key in sub.inputs:
                connections[key] = value
            elif key in sub.params:
                sub_params[key] = value
            else:
                names = [*sub.inputs, *sub.params]
                self.errors.append(
                    ParamError(
                        node_id,
                        key,
                        f"sub-graph {path.name} has no input or parameter {key!r}"
                        f"{did_you_mean(key, names)}",
                        "graph",
                    )
                )
        inner_prefix = node_id + "/"
        self.expand(sub, sub_params, inner_prefix, (*stack, path))
        exposed: dict[str, list[PortRef]] = {}
        for name, targets in sub.inputs.items():
            exposed[name] = []
            for target in targets if isinstance(targets, list) else [targets]:
                ref = PortRef.parse(inner_prefix + str(target))
                nested = self.input_targets.get(ref.node, {})
                if ref.node in self.instances and ref.port is not None:
                    exposed[name].append(ref)
                elif ref.port in nested:
                    exposed[name].extend(nested[ref.port])
                else:
                    self.errors.append(
                        PortError(
                            node_id,
                            name,
                            f"sub-graph input {name!r} -> {target!r} names no node port",
                            "graph",
                        )
                    )
        self.input_targets[node_id] = exposed
        for name, value in connections.items():
            refs = self.port_refs(node_id, name, "graph", value, prefix)
            if refs is None:
                continue
            for target in exposed.get(name, []):
                self.instances[target.node].inputs[target.port] = refs
        aliases: dict[str | None, str] = {
            name: inner_prefix + str(target) for name, target in sub.outputs.items()
        }
        if aliases:
            aliases[None] = aliases.get("out", next(iter(aliases.values())))
        self.aliases[node_id] = aliases

    def rewrite_aliases(self) -> None:
        for instance in self.instances.values():
            for port, refs in instance.inputs.items():
                rewritten = []
                for ref in refs:
                    seen = 0
                    while ref.node in self.aliases and seen <= MAX_SUBGRAPH_DEPTH:
                        outputs = self.aliases[ref.node]
                        target = outputs.get(ref.port)
                        if target is None:
                            self.errors.append(
                                PortError(
                                    instance.id,
                                    port,
                                    f"sub-graph {ref.node!r} has no output {ref.port or 'out'!r}"
                                    f" (outputs: {', '.join(k for k in outputs if k) or 'none'})",
                                    instance.type,
                                )
                            )
                            break
                        ref = PortRef.parse(target)
                        seen += 1
                    rewritten.append(ref)
                instance.inputs[port] = tuple(rewritten)


def resolve(
    document: GraphDocument,
    registry: Registry,
    overrides: Mapping[str, Any] | None = None,
    *,
    collect: bool = False,
) -> ResolvedGraph:
    """Substitute parameters, apply overrides, expand sub-graphs, split node tables.

    ``overrides`` maps graph parameter names (``"delay_ms"``) or node
    parameters (``"echo.feedback"``, ``"fx/lp.cutoff_hz"``) to values.
    Raises a :class:`GraphError` listing every problem found; with
    ``collect=True`` it returns what resolved instead, the problems in
    ``errors`` (validation then reports them together with its own).
    """
    overrides = dict(overrides or {})
    graph_params, node_params, errors = _split_overrides(overrides, document)
    params = {**document.params, **graph_params}
    resolver = _Resolver(registry, node_params)
    resolver.errors.extend(errors)
    stack = (document.path.resolve(),) if document.path is not None else ()
    resolver.expand(document, params, "", stack)
    resolver.rewrite_aliases()
    for node_id in sorted(set(node_params) - resolver.used_overrides):
        names = ", ".join(f"{node_id}.{k}" for k in node_params[node_id])
        inserted = _inserted_converter(node_id, registry)
        if inserted is not None:
            source, type_id = inserted
            resolver.errors.append(
                GraphError(
                    f"--set {names}: {node_id} is the {type_id} node validation inserts after "
                    f"{source}, always with default parameters; to choose them, add a {type_id} "
                    f'node (in = "{source}") and connect the inputs it feeds to it'
                )
            )
            continue
        resolver.errors.append(
            GraphError(
                f"--set {names}: no node {node_id!r}{did_you_mean(node_id, resolver.instances)}"
            )
        )
    for file, upgrades in resolver.upgrades.items():
        warn_upgraded(file, upgrades)
    located = ResolvedGraph("", 0, 0, {}, node_files=resolver.node_files).locate(resolver.errors)
    if not collect:
        raise_collected(located, document.file)
    return ResolvedGraph(
        name=document.name or (document.path.stem if document.path else "graph"),
        sample_rate=float(document.sample_rate),
        seed=int(document.seed),
        nodes=resolver.instances,
        file=document.file,
        base_dir=document.base_dir,
        home=document.home,
        params=params,
        overrides=overrides,
        aliases=resolver.aliases,
        node_files=resolver.node_files,
        declared=tuple(resolver.declared),
        unresolved=frozenset(resolver.unresolved),
        errors=located if collect else [],
    )
