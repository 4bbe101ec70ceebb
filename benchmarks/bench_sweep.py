"""Sweep throughput: runs per second with 1 and 2 local worker processes on a fixed small grid.

    python benchmarks/bench_sweep.py [--runs-per-config 4] [--steps 300]

The grid (ξ ∈ {0.25, 0.5, 1} × p ∈ {1, 2, 4} × replicates, n=60, d=10, m=256, τ=2) is run
into a fresh temporary store with ``--workers 1`` and ``--workers 2`` (one BLAS/train thread
per run, the default when workers = cores).  Wall time includes starting the worker
processes (spawn) and writing every record with fsync; "steady" counts from the first run's
start to the last run's end (no start-up); "s/run" is the mean wall and CPU time a run spent
inside its worker (CPU < wall means the cores were shared).  Scaling efficiency = (throughput with 2 workers) / (2 × throughput with 1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

SPEC = """
[sweep]
seed = 1
seeds = {reps}
[fixed]
data = "sphere:n=60,d=10,seed=0"
m = 256
scheme = "bernoulli"
eta = 1.0
steps = {steps}
record = "loss"
identity_samples = 0
local_steps = 2
[grid]
xi = [0.25, 0.5, 1.0]
p = [1, 2, 4]
"""


def measure(spec: Path, workers: int, tmp: Path) -> dict:
    from ntkcheck.store import Store
    from ntkcheck.sweep import run_sweep

    out = tmp / f"w{workers}"
    t0 = time.perf_counter()
    summary = run_sweep(spec, out, workers=workers, threads=1)
    wall = time.perf_counter() - t0
    assert summary.done == summary.total, summary
    recs = list(Store(out).scan().records.values())
    span = max(r["finished"] for r in recs) - min(r["started"] for r in recs)
    return dict(workers=workers, runs=summary.total, wall=wall, rate=summary.total / wall,
                steady=summary.total / span, per_run=statistics.mean(r["elapsed"] for r in recs),
                cpu=statistics.mean(r["cpu"] for r in recs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs-per-config", type=int, default=4, help="replicates per configuration (default 4)")
    ap.add_argument("--steps", type=int, default=300, help="global steps per run (default 300)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        spec = tmp / "spec.toml"
        spec.write_text(SPEC.format(reps=args.runs_per_config, steps=args.steps))
        measure(spec, 1, tmp / "warm")  # compile/load the Numba cache once
        res = [measure(spec, w, tmp) for w in (1, 2)]
    one, two = res
    print(f"sweep throughput, {one['runs']} runs (9 configurations x {args.runs_per_config} seeds, "
          f"n=60, m=256, K={args.steps}, tau=2)")
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (shared machines skew this)")
    print(f"{'workers':>8} {'wall s':>8} {'runs/s':>8} {'steady runs/s':>14} {'wall s/run':>11} {'cpu s/run':>10}")
    for r in res:
        print(f"{r['workers']:8d} {r['wall']:8.2f} {r['rate']:8.2f} {r['steady']:14.2f} "
              f"{r['per_run']:11.3f} {r['cpu']:10.3f}")
    for key, what in (("rate", "end to end (incl. worker start-up)"), ("steady", "steady state")):
        print(f"{what}: speed-up {two[key] / one[key]:.2f}x, scaling efficiency {two[key] / (2 * one[key]):.0%}")


if __name__ == "__main__":
    main()
