"""Per-iteration time of the fired-pair engines (DHSWZ22; docs/theory.md §9), sparse vs dense, in one run.

One Gauss-Newton-like iteration is ``r = f − y``, ``H = gram()``, ``c = solve(H + μ I, r)`` (μ = 1e-3),
``step(c)`` (``W <- W − Jᵀ c``), on ``n = 200`` unit-norm Gaussian inputs in ``d = 32`` and labels
``y = s·(±1)`` (``s = --label-scale``), for widths ``m = 2^14 … 2^21`` and shift ``b = √(2α log m)``
(α = 0.5 by default: ``E|S_i| <= m^{1−α}``).  Both engines start from the same ``W_0 ~ N(0, I)`` and
signs and run the same trajectory in lockstep, one iteration of each per round (so drifting machine
load hits both alike); the dense engine (``O(m n d)`` per iteration, ``Z`` of ``8 m n`` bytes) runs
only the first rounds at the largest widths, and the sparse engine then continues alone.

Printed per width: the median [min-max] seconds per iteration of each engine (the warm-up is the
JIT compilation at a small width beforehand; every iteration of the trajectory is a sample), the
ratio dense/sparse (medians over the rounds both ran), ``Σ|S_i|`` and ``|U|`` at initialisation and
at the end, the median status changes and inner products recomputed per sparse iteration, the
mean full rechecks (neurons whose ``n`` products were all recomputed) per sparse iteration, the
maximal neuron movement at the end, the initialisation times and the largest relative difference
of W between the engines after the rounds both ran.  At the end, the log-log slope of time per iteration against m for both engines
(expected: dense ≈ 1; sparse ≈ 1 − α plus constant overhead, e.g. the ``n³`` solve).

BLAS runs single-threaded by default (``--blas-threads``): the sparse engine's kernels are
single-threaded, so this compares the algorithms core for core, and multi-threaded BLAS on a small,
shared machine is erratic (a 200 x 200 solve took 0.1 s with two contended threads, 0.3 ms with one).

Usage::

    python benchmarks/bench_sparse.py                  # m = 2^14 … 2^21, about two minutes
    python benchmarks/bench_sparse.py --quick          # m = 2^12 … 2^16, seconds
    python benchmarks/bench_sparse.py --max-log2m 19 --alpha 0.7 --label-scale 0.01
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits  # benchmark-only dependency (as in _measure.environment)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _measure import environment  # noqa: E402  (benchmarks/_measure.py)
from ntkcheck.fired import DenseFiredEngine, SparseFiredEngine  # noqa: E402

N, D, MU = 200, 32, 1e-3


def iteration(eng, y):
    """One Gauss-Newton-like iteration; returns the step's info dict."""
    r = eng.outputs() - y
    H = eng.gram()
    H[np.diag_indices_from(H)] += MU
    c = np.linalg.solve(H, r)
    return eng.step(c)


def timed(eng, y):
    gc.collect()
    t0 = time.perf_counter()
    info = iteration(eng, y)
    return time.perf_counter() - t0, info


def run_width(X, y, m, alpha, iters, dense_iters, seed=1):
    rng = np.random.default_rng([seed, m])
    W0 = rng.standard_normal((m, D))
    a = rng.choice([-1.0, 1.0], size=m)
    b = math.sqrt(2.0 * alpha * math.log(m))
    sp = SparseFiredEngine(X, a, W0, b)
    pairs0, union0 = sp.fired_pair_count(), sp.union_size()
    de = DenseFiredEngine(X, a, W0, b) if dense_iters else None
    del W0
    ts, td, infos, wdiff = [], [], [], float("nan")
    for k in range(iters):
        t, info = timed(sp, y)
        ts.append(t)
        infos.append(info)
        if de is not None and k < dense_iters:
            t, info_d = timed(de, y)
            td.append(t)
            if k == dense_iters - 1:  # same trajectory: compare the states after the common rounds
                assert np.array_equal(sp.fired_counts(), de.fired_counts()), "fired sets differ"
                wdiff = float(np.abs(sp.W - de.W).max() / np.abs(de.W).max())
                t_init_d = de.init_seconds
                de.close()
                de = None
                gc.collect()
    row = dict(m=m, b=b, ts=ts, td=td, pairs0=pairs0, union0=union0, pairs=sp.fired_pair_count(),
               union=sp.union_size(), changes=statistics.median(i["changes"] for i in infos),
               rechecked=statistics.median(i["rechecked"] for i in infos), move=sp.max_movement(),
               init_s=sp.init_seconds, init_d=t_init_d if td else float("nan"), wdiff=wdiff,
               full=sp.full_rechecks / iters)
    sp.close()
    return row


def fmt(ts):
    if not ts:
        return f"{'-':>26}"
    spread = f"[{min(ts):.4f}-{max(ts):.4f}]" if len(ts) > 1 else "(1 run)"
    return f"{statistics.median(ts):9.4f} {spread:>16}"


def slope(ms, ts):
    if len(ms) < 2:
        return float("nan")
    return float(np.polyfit(np.log(ms), np.log(ts), 1)[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="m = 2^12 … 2^16 (seconds)")
    ap.add_argument("--max-log2m", type=int, default=21, help="largest width 2^k (default 21)")
    ap.add_argument("--alpha", type=float, default=0.5, help="b = sqrt(2 alpha log m) (default 0.5)")
    ap.add_argument("--label-scale", type=float, default=1.0, help="labels y = s * (±1) (default 1)")
    ap.add_argument("--iters", type=int, default=7, help="timed sparse iterations per width (default 7)")
    ap.add_argument("--blas-threads", type=int, default=1,
                    help="BLAS threads of both engines (default 1: the sparse kernels are single-threaded)")
    args = ap.parse_args(argv)
    print(environment())
    with threadpool_limits(args.blas_threads):
        run(args)


def run(args):
    lo, hi = (12, min(16, args.max_log2m)) if args.quick else (14, args.max_log2m)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = args.label_scale * np.sign(rng.standard_normal(N))
    print(f"n={N} d={D} unit rows, y = {args.label_scale:g}·(±1), alpha={args.alpha:g}, b = sqrt(2 alpha log m); "
          f"iteration: r = f - y, H = gram(), c = solve(H + {MU:g} I, r), step(c)")
    print(f"BLAS threads limited to {args.blas_threads}; time = s per iteration, median [min-max] over the "
          "iterations of one trajectory; x = dense median / sparse median over the rounds both ran")
    # JIT compilation and first-touch costs outside the timings
    run_width(X, y, 1 << 10, args.alpha, 2, 2)
    hdr = (f"{'m':>8} {'b':>5} | {'sparse s/iter':>26} | {'dense s/iter':>26} | {'x':>6} | {'sum|S_i|':>15} "
           f"{'|U|':>13} | {'changes':>7} {'rechecked':>9} {'full':>6} | {'max mv':>6} | {'init sp/de s':>12} | "
           f"{'W rel.diff':>9}")
    print(hdr)
    print("-" * len(hdr))
    ms, t_sp, t_de, m_de = [], [], [], []
    t_start = time.perf_counter()
    for k in range(lo, hi + 1):
        m = 1 << k
        dense_iters = args.iters if k <= 18 else (3 if k <= 20 else 2)
        row = run_width(X, y, m, args.alpha, max(args.iters, dense_iters), dense_iters)
        med_s = statistics.median(row["ts"])
        ms.append(m)
        t_sp.append(med_s)
        if row["td"]:
            m_de.append(m)
            t_de.append(statistics.median(row["td"]))
            ratio = statistics.median(row["td"]) / statistics.median(row["ts"][: len(row["td"])])
        else:
            ratio = float("nan")
        print(f"{m:>8} {row['b']:5.2f} | {fmt(row['ts'])} | {fmt(row['td'])} | {ratio:6.1f} | "
              f"{row['pairs0']:>7}->{row['pairs']:<7} {row['union0']:>6}->{row['union']:<6} | "
              f"{row['changes']:>7.0f} {row['rechecked']:>9.0f} {row['full']:>6.0f} | {row['move']:6.3f} | "
              f"{row['init_s']:5.2f}/{row['init_d']:<6.2f} | {row['wdiff']:9.1e}", flush=True)
        gc.collect()
    print(f"\nlog-log slope of s/iter vs m: sparse {slope(ms, t_sp):.2f} (expect ≈ 1 - alpha = {1 - args.alpha:.2f} "
          f"plus overhead), dense {slope(m_de, t_de):.2f} (expect ≈ 1)")
    half = [(mm, tt) for mm, tt in zip(ms, t_sp) if mm >= ms[len(ms) // 2]]
    if len(half) >= 2:
        print(f"sparse slope over the upper half of the widths (m >= {half[0][0]}): "
              f"{slope(*zip(*half)):.2f}")
    print(f"total wall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
