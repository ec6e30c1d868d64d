"""The one exception family of graphengine.

Every error a user can cause by writing a graph (or by calling the API with
bad values) is a :class:`GraphError`. Each names where the problem is: the
graph file, the node id and the port or parameter. Anything else that escapes
the engine is a bug.
"""

from __future__ import annotations

from collections.abc import Sequence


class GraphError(Exception):
    """Base class of all user-facing graph errors.

    Parameters
    ----------
    message : str
        What is wrong, in one line.
    file : str or None
        The graph file the problem is in, when there is one.
    """

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file

    def with_file(self, file: str | None) -> GraphError:
        """Return this error with ``file`` set, unless it already names one."""
        if self.file is None and file is not None:
            self.file = file
        return self

    def location(self) -> str:
        """Where the problem is, without the file: e.g. ``lp.cutoff_hz [filter.biquad]``."""
        return ""

    def line(self) -> str:
        """The error as one line, without the file name."""
        where = self.location()
        return f"{where}: {self.message}" if where else self.message

    def __str__(self) -> str:
        return f"{self.file}: {self.line()}" if self.file else self.line()


class GraphFileError(GraphError):
    """A graph file that cannot be read or parsed, with line and column when known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message, file=file)
        self.lineno = line
        self.column = column

    def __str__(self) -> str:
        where = self.file or "<graph>"
        if self.lineno is not None:
            where += f":{self.lineno}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class NodeError(GraphError):
    """A problem with one node, one of its ports or one of its parameters.

    Parameters
    ----------
    node_id : str
        The node's id in the graph.
    port_or_param : str or None
        The port or parameter name, when the problem is in one.
    message : str
        What is wrong.
    node_type : str or None
        The node's type id, e.g. ``effect.gain``.
    """

    def __init__(
        self,
        node_id: str,
        port_or_param: str | None,
        message: str,
        node_type: str | None = None,
        *,
        file: str | None = None,
    ) -> None:
        super().__init__(message, file=file)
        self.node_id = node_id
        self.port_or_param = port_or_param
        self.node_type = node_type

    def location(self) -> str:
        where = self.node_id
        if self.port_or_param:
            where += f".{self.port_or_param}"
        if self.node_type:
            where += f" [{self.node_type}]"
        return where


class PortError(NodeError):
    """A bad connection: unknown port, unconnected input, type mismatch."""


class ParamError(NodeError):
    """A bad parameter: unknown, missing, wrong type, out of range, undefined ``$param``."""


class NodeRunError(NodeError):
    """A node failed while computing; raised ``from`` the original exception."""

    exit_code = 1


class CycleError(GraphError):
    """The graph has a cycle; ``path`` lists the node ids around it."""

    def __init__(self, path: Sequence[str], *, file: str | None = None) -> None:
        self.path = list(path)
        super().__init__("cycle: " + " -> ".join(self.path), file=file)


class GraphValidationError(GraphError):
    """Several problems found by validation, reported together."""

    def __init__(self, errors: Sequence[GraphError], *, file: str | None = None) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        super().__init__(f"{count} error{'s' if count != 1 else ''}", file=file)
        for error in self.errors:
            error.with_file(file)

    def __str__(self) -> str:
        head = f"{self.file}: {self.message}" if self.file else self.message
        return "\n".join([head, *(f"  {e.line()}" for e in self.errors)])


def raise_collected(errors: Sequence[GraphError], file: str | None) -> None:
    """Raise nothing, the one error, or a :class:`GraphValidationError` of all."""
    if not errors:
        return
    if len(errors) == 1:
        raise errors[0].with_file(file)
    raise GraphValidationError(errors, file=file)


class GraphUpgradeWarning(UserWarning):
    """A graph file uses former node type ids or parameter names (it still loads).

    Defined here, with the errors, so the command line can set its filter
    without importing the loader; :mod:`graphengine.upgrade` raises it.
    """
