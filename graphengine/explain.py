"""Why a node's cache key changed since the previous run, in words (``--explain``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphengine.codehash import code_changes
from graphengine.plan import canonical


def explain(
    material: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    sources: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """Why a node's key differs from the one it had when it last ran.

    ``previous`` is the node's key material when it was last computed or found
    in the cache (a ``--target`` run leaves the nodes it did not reach as they
    were); ``sources`` names the nodes feeding each input port, so that a
    changed input says where it comes from.
    """
    if previous is None:
        return "first run: not in the cache"
    if canonical(dict(material)) == canonical(dict(previous)):
        return "not in the cache (cleared, evicted or corrupt)"
    reasons = []
    if material.get("version") != previous.get("version"):
        reasons.append(f"node version {previous.get('version')} -> {material.get('version')}")
    reasons += code_changes(previous.get("code"), material.get("code"))
    old_params, new_params = previous.get("params", {}), material.get("params", {})
    for name in sorted(set(old_params) | set(new_params)):
        if old_params.get(name) != new_params.get(name):
            reasons.append(f"param {name} {old_params.get(name)!r} -> {new_params.get(name)!r}")
    old_files, new_files = previous.get("files", {}), material.get("files", {})
    for name in sorted(set(old_files) | set(new_files)):
        if old_files.get(name) != new_files.get(name):
            reasons.append(f"file {name} changed")
    old_inputs, new_inputs = previous.get("inputs", {}), material.get("inputs", {})
    for port in sorted(set(old_inputs) | set(new_inputs)):
        if old_inputs.get(port) != new_inputs.get(port):
            upstream = ", ".join(dict.fromkeys((sources or {}).get(port, ())))
            reasons.append(f"input {port} changed" + (f" (from {upstream})" if upstream else ""))
    if material.get("provided") != previous.get("provided"):
        reasons.append("value given from Python changed")
    if material.get("type") != previous.get("type"):
        reasons.append(f"type {previous.get('type')} -> {material.get('type')}")
    return "; ".join(reasons) or "key recipe changed"
