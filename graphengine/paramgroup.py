"""Parameters that several nodes share, declared once.

A :class:`ParamGroup` holds keyword-only node parameters (an annotation and a
:func:`graphengine.node.param` default each). Used as a decorator below
``@node`` it adds them to a node function's signature, just before ``ctx``
(``group.first``: before the function's own parameters); the function
receives them through its ``**kwargs``::

    TIMING = ParamGroup(tempo_bpm=(float, param(120.0, unit="BPM")))

    @node("notes.click", version=1)
    @TIMING
    def click(*, beats: float = param(1.0), ctx: NodeContext, **timing: Any) -> Notes: ...

For ``@node``, the docs and the schema the parameters are exactly as if they
had been written out in the signature.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
F = TypeVar("F", bound=Callable[..., Any])


class ParamGroup:
    """Named node parameters, each ``name=(annotation, param(...))``, in signature order."""

    def __init__(self, **params: tuple[Any, Any]) -> None:
        self.params = dict(params)

    def without(self, *names: str) -> ParamGroup:
        """The same group less ``names``."""
        return ParamGroup(**{k: v for k, v in self.params.items() if k not in names})

    def __call__(self, function: F) -> F:
        return self._extend(function, first=False)

    def first(self, function: F) -> F:
        """As a decorator: the group's parameters before the function's own."""
        return self._extend(function, first=True)

    def _extend(self, function: F, *, first: bool) -> F:
        if not function.__code__.co_flags & inspect.CO_VARKEYWORDS:
            raise TypeError(f"{function.__qualname__}: needs **kwargs to receive a ParamGroup")
        signature = inspect.signature(function)  # groups applied before this one included
        own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        if first:
            at = next((i for i, p in enumerate(own) if p.kind is p.KEYWORD_ONLY), len(own))
        else:
            at = next((i for i, p in enumerate(own) if p.name == "ctx"), len(own))
        added = [
            inspect.Parameter(name, KEYWORD_ONLY, default=default, annotation=hint)
            for name, (hint, default) in self.params.items()
        ]
        function.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*own[:at], *added, *own[at:]]
        )
        function.__annotations__ = {
            **function.__annotations__,
            **{name: hint for name, (hint, _) in self.params.items()},
        }
        return function
