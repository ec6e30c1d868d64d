"""ParamGroup: shared node parameters appear in the spec as if written out."""

from __future__ import annotations

from typing import Any

import pytest

from graphengine.node import NodeContext, node, param
from graphengine.paramgroup import ParamGroup
from graphengine.types import Audio

GROUP = ParamGroup(
    level_db=(float, param(0.0, unit="dB", description="level")),
    count=(int, param(2, range=(1, 8), description="how many")),
)


def test_a_group_goes_before_ctx_and_first_before_the_own_parameters():
    @node("test.after", version=1)
    @GROUP
    def after(in_: Audio, *, own: bool = param(True), ctx: NodeContext, **group: Any) -> Audio:
        return in_

    @node("test.before", version=1)
    @GROUP.first
    def before(in_: Audio, *, own: bool = param(True), **group: Any) -> Audio:
        return in_

    assert [p.name for p in after.spec.params] == ["own", "level_db", "count"]
    assert after.spec.wants_ctx
    assert [p.name for p in before.spec.params] == ["level_db", "count", "own"]
    count = before.spec.param("count")
    assert (count.kind, count.default, count.range) == ("int", 2, (1, 8))


def test_without_drops_names_and_a_function_without_kwargs_is_refused():
    assert list(GROUP.without("count").params) == ["level_db"]
    with pytest.raises(TypeError, match="needs \\*\\*kwargs"):

        @GROUP
        def plain(in_: Audio) -> Audio:
            return in_
