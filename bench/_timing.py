"""Timing shared by the benchmarks: best of several calls, wall clock and CPU.

The bars are about wall clock; on a busy machine the CPU time of a one-thread run is the
figure to trust, since it does not count the time other processes hold the cores.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU (process) seconds of `repeat` calls of `fn`."""
    best_wall = best_cpu = math.inf
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu
