"""Wall-clock timing shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def seconds_of(
    action: Callable[[], object], repeats: int = 3, *, warm_up: bool = True, median: bool = False
) -> float:
    """The best (or, with ``median``, the median) of ``repeats`` timed calls, in seconds.

    ``warm_up`` runs the action once untimed first, so numba compilation,
    cache loads and imports are not counted.
    """
    if warm_up:
        action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) if median else min(times)
