"""Speed and memory of the NTK kernels, measured side by side in one run.

Prints, for each (n, d, m):

* ``ntk_finite`` against the plain NumPy formula ``(X X^T) * (A A^T) / m`` with
  ``A = (X W^T >= 0)`` as float32 (BLAS sgemm), and the ratio of their times;
* the float64 GEMM ``X W^T`` timed alone (the floor for the baseline's first step) and the
  ratio of ``ntk_finite`` to it;
* extra peak memory (tracemalloc: NumPy allocations during the call, inputs excluded);
* the roofline: the two parts no implementation of the counting formula avoids, timed alone —
  the float32 GEMM ``X W^T`` (sgemm, all cores) and the popcount co-activation pass over the
  packed patterns (``_accumulate_counts_kernel`` on random bits of the same shape, two threads on
  halves of the words, as ``ntk_finite`` runs it) — and ``ntk_finite``'s time over their sum.

Then: ``ntk_finite`` and the streamed ``ntk_at_init`` at m = 10^7, ``ntk_infinite`` at
n = 10000 against a plain NumPy arccos formula, and ``eigenvalue_extremes`` /
``min_eigenvalue`` against ``numpy.linalg.eigvalsh`` at n = 5000.

Usage: ``python benchmarks/bench_ntk.py [--quick] [--no-large]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _measure import environment, extra_peak, repeat_times  # noqa: E402  (benchmarks/_measure.py)
from ntkcheck import eigenvalue_extremes, min_eigenvalue, ntk_at_init, ntk_finite, ntk_infinite  # noqa: E402

GiB = 1024**3
#: the baseline holds X W^T (float64), the bool pattern and A (float32): 13 bytes per entry
BASELINE_BYTES_PER_ENTRY = 13
BASELINE_LIMIT = 12 * GiB


def best_time(fn, repeat):
    return min(repeat_times(fn, repeat))




def baseline_ntk(X, W):
    A = (X @ W.T >= 0).astype(np.float32)
    return (X @ X.T) * (A @ A.T) / W.shape[0]


def fmt_bytes(b):
    return f"{b / 2**20:8.1f} MiB"


def bench_finite(grid, repeat):
    print("\n== ntk_finite vs plain NumPy (X X^T) * (A A^T)/m, A = (X W^T >= 0) as float32 ==")
    print(f"{'n':>5} {'d':>4} {'m':>8} | {'numpy':>8} {'ntkcheck':>9} {'speedup':>8} | "
          f"{'GEMM XW^T':>9} {'ours/GEMM':>9} | {'mem numpy':>12} {'mem ours':>12}")
    rng = np.random.default_rng(0)
    for n, d, m in grid:
        X = rng.standard_normal((n, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        W = rng.standard_normal((m, d))
        reps = repeat if n * m <= 2**28 else 1
        t_ours = best_time(lambda: ntk_finite(X, W), reps)
        mem_ours = extra_peak(lambda: ntk_finite(X, W))
        gemm_out = None
        if n * m * 8 <= BASELINE_LIMIT:
            gemm_out = np.empty((n, m))
            t_gemm = best_time(lambda: np.matmul(X, W.T, out=gemm_out), reps)
            gemm_out = None
            gemm = f"{t_gemm:9.3f} {t_ours / t_gemm:9.2f}"
        else:
            gemm = f"{'skipped':>9} {'':>9}"
        if n * m * BASELINE_BYTES_PER_ENTRY <= BASELINE_LIMIT:
            t_base = best_time(lambda: baseline_ntk(X, W), reps)
            mem_base = extra_peak(lambda: baseline_ntk(X, W))
            H_ours, H_base = ntk_finite(X, W), baseline_ntk(X, W)
            agree = np.max(np.abs(H_ours - H_base)) <= 1e-6 * np.max(np.abs(H_base))
            base = f"{t_base:8.3f} {t_ours:9.3f} {t_base / t_ours:7.2f}x"
            mems = f"{fmt_bytes(mem_base)} {fmt_bytes(mem_ours)}"
            if not agree:
                base += " (DISAGREE)"
        else:
            need = n * m * BASELINE_BYTES_PER_ENTRY / GiB
            base = f"{'skip':>8} {t_ours:9.3f} {'':>8}"
            mems = f"{'needs ' + format(need, '.0f') + ' GiB':>12} {fmt_bytes(mem_ours)}"
        print(f"{n:5d} {d:4d} {m:8d} | {base} | {gemm} | {mems}", flush=True)
        if n * m * 4 <= BASELINE_LIMIT:
            t32, tpop = roofline_parts(X, W, reps)
            print(f"{'':19}roofline: sgemm X W^T {t32:7.3f} s + popcount pass {tpop:7.3f} s = "
                  f"{t32 + tpop:7.3f} s; ntk_finite / roofline = {t_ours / (t32 + tpop):5.2f}", flush=True)
        gc.collect()


def roofline_parts(X, W, reps):
    """Times of the float32 GEMM ``X W^T`` and of the popcount pass on packed (n, m/64) patterns."""
    from concurrent.futures import ThreadPoolExecutor

    from ntkcheck._ntk_kernels import _accumulate_counts_kernel

    n, m = X.shape[0], W.shape[0]
    X32, W32 = X.astype(np.float32), W.astype(np.float32)
    out = np.empty((n, m), dtype=np.float32)
    t32 = best_time(lambda: np.matmul(X32, W32.T, out=out), reps)
    out = None
    n4, nw = -(-n // 4) * 4, -(-m // 64)
    B = np.random.default_rng(0).integers(0, 2**63, size=(n4, nw), dtype=np.uint64)
    halves = [np.ascontiguousarray(B[:, : nw // 2]), np.ascontiguousarray(B[:, nw // 2:])]
    counts = [np.zeros((n4, n4), dtype=np.int64) for _ in halves]
    with ThreadPoolExecutor(2) as pool:
        tpop = best_time(lambda: list(pool.map(_accumulate_counts_kernel, halves, counts)), reps)
    return t32, tpop


def bench_huge(m):
    print(f"\n== width m = {m:.0e} at n = 1000, d = 64 ==")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1000, 64))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    t0 = time.perf_counter()
    mem = extra_peak(lambda: ntk_at_init(X, m, rng=2))
    t1 = time.perf_counter()
    print(f"ntk_at_init (W streamed, never held): {t1 - t0:7.2f} s (under tracemalloc), extra {fmt_bytes(mem)}")
    W = rng.standard_normal((m, 64))
    t = best_time(lambda: ntk_finite(X, W), 1)
    mem = extra_peak(lambda: ntk_finite(X, W))
    print(f"ntk_finite (W given, {W.nbytes / GiB:.1f} GiB input): {t:7.2f} s, extra {fmt_bytes(mem)} "
          f"({'under' if mem < 2 * GiB else 'OVER'} the 2 GiB target)")


def baseline_infinite(X):
    G = X @ X.T
    nrm = np.sqrt(np.diag(G))
    phi = np.arccos(np.clip(G / np.outer(nrm, nrm), -1.0, 1.0))
    return G * (np.pi - phi) / (2 * np.pi)


def bench_infinite(n):
    print(f"\n== ntk_infinite at n = {n}, d = 64 ==")
    X = np.random.default_rng(3).standard_normal((n, 64))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    t_base = best_time(lambda: baseline_infinite(X), 1)
    t0 = best_time(lambda: ntk_infinite(X), 1)
    t1 = best_time(lambda: ntk_infinite(X, shift=0.5), 1)
    print(f"plain NumPy arccos formula (inexact near parallel pairs): {t_base:6.2f} s")
    print(f"ntk_infinite shift=0:   {t0:6.2f} s  (ratio to NumPy {t_base / t0:.2f}x)")
    print(f"ntk_infinite shift=0.5: {t1:6.2f} s  (Owen's T, {n * (n - 1) // 2:.2e} pairs)")


def bench_eigen(n):
    print(f"\n== extreme eigenvalues at n = {n} ==")
    A = np.random.default_rng(4).standard_normal((n, n))
    H = A @ A.T / n
    t_np = best_time(lambda: np.linalg.eigvalsh(H), 2)
    t_ext = best_time(lambda: eigenvalue_extremes(H), 2)
    t_min = best_time(lambda: min_eigenvalue(H), 2)
    print(f"numpy.linalg.eigvalsh: {t_np:6.2f} s")
    print(f"eigenvalue_extremes:   {t_ext:6.2f} s  (ratio eigvalsh/ours {t_np / t_ext:.2f}x)")
    print(f"min_eigenvalue:        {t_min:6.2f} s  (ratio eigvalsh/ours {t_np / t_min:.2f}x)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small grid only (a smoke run)")
    parser.add_argument("--no-large", action="store_true", help="skip m = 10^7, n = 10000 and n = 5000 parts")
    args = parser.parse_args(argv)
    print(environment())
    if args.quick:
        grid = [(200, 64, 16384), (1000, 64, 131072), (1000, 784, 16384)]
    else:
        grid = [(n, d, m) for n in (200, 1000, 2000) for d in (64, 784) for m in (16384, 131072, 1048576)]
    bench_finite(grid, repeat=3)
    if not args.no_large:
        bench_huge(10**6 if args.quick else 10**7)
        bench_infinite(2000 if args.quick else 10000)
        bench_eigen(1000 if args.quick else 5000)


if __name__ == "__main__":
    main()
