"""Shared measurement helpers of the benchmark scripts (imported as ``_measure`` from their folder)."""

from __future__ import annotations

import gc
import time
import tracemalloc

__all__ = ["extra_peak", "repeat_times"]


def extra_peak(fn):
    """Peak NumPy memory allocated during ``fn()`` beyond what was allocated before (bytes)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def repeat_times(fn, repeat: int, *, warmup: bool = True) -> list:
    """Wall times (s) of ``repeat`` calls of ``fn()`` (after one warm-up call unless ``warmup=False``:
    JIT compilation, page faults of first allocations, BLAS thread start), each after a gc pass."""
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times
