"""Shared measurement helpers of the benchmark scripts (imported as ``_measure`` from their folder)."""

from __future__ import annotations

import gc
import os
import time
import tracemalloc

__all__ = ["extra_peak", "repeat_times", "environment"]


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


def environment() -> str:
    """One line naming the versions, the cores and the BLAS libraries (with their thread counts) a
    benchmark ran on; also starts the BLAS threads, so that nothing timed afterwards pays for it."""
    import numpy as np
    from threadpoolctl import threadpool_info  # benchmark-only dependency report

    import ntkcheck

    np.ones((512, 512)) @ np.ones((512, 512))
    blas = [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()]
    return f"ntkcheck {ntkcheck.__version__}, numpy {np.__version__}, cores {os.cpu_count()}, BLAS {blas}"
