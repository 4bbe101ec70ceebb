"""Speed of the eigenvalue routines on ``H_inf`` (docs/theory.md §4), side by side in one run.

For ``H = ntkcheck.ntk_infinite(X)`` of sphere data (``d = 32``, unit rows) and ``lambda_0`` its
smallest eigenvalue, five routes are timed on the same matrix:

* ``eigvalsh``: ``numpy.linalg.eigvalsh(H)``, all eigenvalues (the baseline of every ratio);
* ``min_eigenvalue``: :func:`ntkcheck.min_eigenvalue` (``dsytrd`` + bisection ``dstebz``);
* ``fast``: :func:`ntkcheck.certify.min_eigenvalue_fast` (shift-and-invert block Lanczos, float32
  then float64 Cholesky; relative accuracy 1e-10);
* ``certify``: :func:`ntkcheck.certify.certify_min_eigenvalue` ``(H, lambda_0 / 2)``, the
  per-step call of the training loop (one Cholesky);
* ``count``: :func:`ntkcheck.certify.count_eigenvalues_below` ``(H, lambda_0 / 2)`` (one
  Bunch-Kaufman ``LDL^T``).

The methods run round-robin (one call of each per round), so drifting machine load hits all of
them alike; times are the median over the rounds with the spread (min-max), and the ratio is
eigvalsh's median over the route's (a speed-up, > 1 is faster).  Calls under a second get one
untimed warm-up call first; a slower first call is kept as a sample (eigvalsh's first call also
gives the reference spectrum).  At n = 10^4 ``min_eigenvalue`` is timed once (about a minute a
call, and within 25 % of eigvalsh at the smaller sizes) to keep the full run near 5 minutes.
Each route's answer is checked against eigvalsh on the same matrix.

Usage: ``python benchmarks/bench_eigen.py [--quick]`` (``--quick``: n = 2000 and 3000, seconds).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _measure import environment  # noqa: E402  (benchmarks/_measure.py)
from ntkcheck import min_eigenvalue, ntk_infinite  # noqa: E402
from ntkcheck.certify import certify_min_eigenvalue, count_eigenvalues_below, min_eigenvalue_fast  # noqa: E402

D = 32
ROUTES = ("eigvalsh", "min_eigenvalue", "fast", "certify", "count")


def sphere_ntk(n: int, seed: int = 0) -> np.ndarray:
    X = np.random.default_rng(seed).standard_normal((n, D))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return ntk_infinite(X)


def run_size(n: int, repeat: int, single: set) -> dict:
    H = sphere_ntk(n)
    times = {name: [] for name in ROUTES}
    t0 = time.perf_counter()
    lam = np.linalg.eigvalsh(H)  # the reference spectrum; its time is eigvalsh's first sample
    if time.perf_counter() - t0 > 1.0:  # as for every route: a quick first call is a warm-up
        times["eigvalsh"].append(time.perf_counter() - t0)
    lam0, t = float(lam[0]), float(lam[0]) / 2
    out = {"eigvalsh": lam0}
    calls = {
        "eigvalsh": lambda k: np.linalg.eigvalsh(H),
        "min_eigenvalue": lambda k: min_eigenvalue(H),
        "fast": lambda k: min_eigenvalue_fast(H, rng=k),
        "certify": lambda k: certify_min_eigenvalue(H, t),
        "count": lambda k: count_eigenvalues_below(H, t),
    }
    for name in ROUTES[1:]:  # warm-up of the quick calls (page faults, BLAS threads), and the answers
        t0 = time.perf_counter()
        out[name] = calls[name](0)
        if time.perf_counter() - t0 > 1.0 or name in single:
            times[name].append(time.perf_counter() - t0)  # a slow call's first run counts: no warm-up
    for k in range(1, repeat + 1):
        for name in ROUTES:
            if len(times[name]) >= (1 if name in single else repeat):
                continue
            gc.collect()
            t0 = time.perf_counter()
            calls[name](k)
            times[name].append(time.perf_counter() - t0)
    return {"n": n, "lam0": lam0, "lam_max": float(lam[-1]), "t": t, "answers": out,
            "count_ref": int(np.sum(lam < t)), "times": times}


def report(row: dict) -> None:
    n, lam0, t, ans = row["n"], row["lam0"], row["t"], row["answers"]
    base = statistics.median(row["times"]["eigvalsh"])
    print(f"\nn={n:5d}  lambda_0={lam0:.10g}  lambda_max={row['lam_max']:.6g}  t=lambda_0/2={t:.6g}")
    notes = {
        "eigvalsh": "reference",
        "min_eigenvalue": f"rel. diff {abs(ans['min_eigenvalue'] - lam0) / lam0:.1e}",
        "fast": f"rel. diff {abs(ans['fast'] - lam0) / lam0:.1e}",
        "certify": f"certified={ans['certify'].certified}, margin={ans['certify'].margin:.2e}",
        "count": f"count={ans['count']} (eigvalsh: {row['count_ref']})",
    }
    for name in ROUTES:
        ts = row["times"][name]
        med = statistics.median(ts)
        spread = f"[{min(ts):.3f}-{max(ts):.3f}]" if len(ts) > 1 else "(1 run)"
        print(f"  {name:15s} {med:8.3f} s {spread:17s} x{base / med:6.2f}  {notes[name]}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="n = 2000 and 3000 only (seconds)")
    args = parser.parse_args(argv)
    print(environment())
    print(f"H = ntk_infinite(X), X: n x {D} unit rows; time = median [min-max] over round-robin rounds; "
          "x = eigvalsh median / route median")
    plan = [(2000, 5, set()), (3000, 3, set())] if args.quick else \
        [(2000, 5, set()), (5000, 3, set()), (10000, 3, {"min_eigenvalue"})]
    t_start = time.perf_counter()
    for n, repeat, single in plan:
        report(run_size(n, repeat, single))
        gc.collect()
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
