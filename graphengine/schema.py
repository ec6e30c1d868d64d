"""A JSON Schema of the graph file format, generated from the node registry.

Editors use it to complete node types, ports and parameters. Every value may
also be a whole ``"$param"`` reference, which the schema allows everywhere.
"""

from __future__ import annotations

from typing import Any

from graphengine.graph import FORMAT_VERSION, NODE_ID
from graphengine.graphfile import SUBGRAPH_TYPE
from graphengine.node import NodeSpec, ParamSpec
from graphengine.registry import Registry

PARAM_REF = {"type": "string", "pattern": r"^\$[A-Za-z_][A-Za-z0-9_]*$"}
PORT_REF = {"type": "string", "pattern": r"^[A-Za-z_$][A-Za-z0-9_/${}-]*(\.[A-Za-z0-9_]+)?$"}


def _param_schema(param: ParamSpec) -> dict[str, Any]:
    kind = param.kind
    schema: dict[str, Any]
    if kind in ("float", "int"):
        schema = {"type": "number" if kind == "float" else "integer"}
        if param.range is not None:
            low, high = param.range
            if low is not None:
                schema["minimum"] = low
            if high is not None:
                schema["maximum"] = high
        for op, bound in param.bounds():  # bounds by reference are checked by validation
            if isinstance(bound, int | float):
                schema["exclusiveMinimum" if op == ">" else "exclusiveMaximum"] = bound
    elif kind == "bool":
        schema = {"type": "boolean"}
    elif kind == "pitch":
        schema = {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string"}]}
    elif kind.endswith("_list"):
        item = {"float_list": "number", "int_list": "integer", "str_list": "string"}[kind]
        items: dict[str, Any] = {"type": item}
        if param.choices is not None:
            items = {"enum": list(param.choices)}
        schema = {"type": "array", "items": {"anyOf": [items, PARAM_REF]}}
    else:
        schema = {"type": "string"}
    if param.choices is not None and not kind.endswith("_list"):
        schema = {"enum": list(param.choices)}
    if param.nullable:
        schema = {"anyOf": [schema, {"type": "null"}]}
    plain_string = kind in ("str", "input_path", "output_path") and param.choices is None
    schema = schema if plain_string else {"anyOf": [schema, PARAM_REF]}
    if param.description:
        schema["description"] = param.description + (f" ({param.unit})" if param.unit else "")
    return schema


def _node_schema(spec: NodeSpec) -> dict[str, Any]:
    properties: dict[str, Any] = {"type": {"const": spec.type_id, "description": spec.summary}}
    for port in spec.inputs:
        ref = (
            {"anyOf": [PORT_REF, {"type": "array", "items": PORT_REF}]}
            if port.variadic
            else PORT_REF
        )
        properties[port.name] = {**ref, "description": f"input port ({port.type})"}
    for param in spec.params:
        properties[param.name] = _param_schema(param)
    return {
        "type": "object",
        "properties": properties,
        "required": ["type", *(p.name for p in spec.params if p.required)],
        "additionalProperties": False,
    }


def graph_schema(registry: Registry) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a graph file's tree."""
    specs = list(registry)
    defs: dict[str, Any] = {spec.type_id: _node_schema(spec) for spec in specs}
    defs[SUBGRAPH_TYPE] = {
        "type": "object",
        "properties": {"type": {"const": SUBGRAPH_TYPE}, "path": {"type": "string"}},
        "required": ["type", "path"],
        "description": "another graph file as one node; its [inputs] and [params] are keys here",
    }
    types = [spec.type_id for spec in specs] + [SUBGRAPH_TYPE]
    node = {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": types}},
        "allOf": [
            {
                "if": {"properties": {"type": {"const": type_id}}, "required": ["type"]},
                "then": {"$ref": f"#/$defs/{type_id}"},
            }
            for type_id in types
        ],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "graphengine graph file",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "format": {"const": FORMAT_VERSION},
            "name": {"type": "string"},
            "sample_rate": {"type": "number", "minimum": 1, "maximum": 1536000},
            "seed": {"type": "integer"},
            "params": {"type": "object", "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}},
            "inputs": {
                "type": "object",
                "additionalProperties": {"anyOf": [PORT_REF, {"type": "array"}]},
            },
            "outputs": {"type": "object", "additionalProperties": PORT_REF},
            "nodes": {
                "type": "object",
                "propertyNames": {"pattern": NODE_ID.pattern},
                "additionalProperties": {"$ref": "#/$defs/node"},
            },
        },
        "required": ["nodes"],
        "$defs": {"node": node, **defs},
    }
