"""Shared measurement helpers of the benchmark scripts (imported as ``_measure`` from their folder)."""

from __future__ import annotations

import gc
import tracemalloc

__all__ = ["extra_peak"]


def extra_peak(fn):
    """Peak NumPy memory allocated during ``fn()`` beyond what was allocated before (bytes)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak
