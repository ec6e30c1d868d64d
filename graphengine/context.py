"""What a running node may know about its run, and how it reports back.

Its own module so that both the function-node layer (:mod:`graphengine.node`)
and the streaming layer (:mod:`graphengine.blocknode`) can use it without
importing each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from graphengine.errors import ParamError, PortError


@dataclass
class NodeContext:
    """What a node may know about the run it is part of.

    Attributes
    ----------
    node_id : str
    node_type : str
    sample_rate : float
        The graph's audio rate in Hz.
    graph_dir : Path
        Folder of the graph file (the working folder for graphs built in Python).
    memory_budget : int or None
        During validation, the most bytes one value may take (``--memory-budget``);
        a node that would need more working memory than this says so. None when
        running.
    sources : mapping of str to tuple of str
        Input port -> the outputs feeding it, as ``"node.port"`` in connection
        order, for messages that name where a value came from. A node's output
        must not depend on them: cache keys do not.
    """

    node_id: str
    node_type: str
    sample_rate: float
    graph_dir: Path
    emit: Callable[[str, dict], None] | None = None
    open_output: Callable[[str], str] | None = None
    finals: dict[str, str] = field(default_factory=dict)
    memory_budget: int | None = None
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def final_path(self, path: str) -> str:
        """The final path of an ``OutputPath`` parameter (the node receives a temporary one)."""
        return self.finals.get(path, path)

    def output_path(self, path: str) -> str:
        """A temporary path to write an extra output file to (e.g. numbered chunks).

        ``path`` is the absolute final path. The engine renames the temporary
        file to it, with a provenance sidecar, when the whole run succeeds, and
        deletes it otherwise. Files named by ``OutputPath`` parameters need no
        call: the node already receives their temporary paths.
        """
        if self.open_output is None:
            raise RuntimeError("this node is not running inside the engine: no outputs to commit")
        return self.open_output(path)

    def param_error(self, name: str, message: str) -> ParamError:
        """The error to raise for a bad value of parameter ``name`` of this node."""
        return ParamError(self.node_id, name, message, self.node_type)

    def port_error(self, name: str, message: str) -> PortError:
        """The error to raise for a bad value arriving at (or leaving) port ``name``."""
        return PortError(self.node_id, name, message, self.node_type)

    def progress(self, fraction: float) -> None:
        """Report progress of this node in [0, 1]."""
        if self.emit is not None:
            self.emit("node_progress", {"fraction": float(fraction)})

    def warn(self, message: str) -> None:
        """Report a warning about this node's output (e.g. clipped samples)."""
        if self.emit is not None:
            self.emit("warning", {"message": message})
