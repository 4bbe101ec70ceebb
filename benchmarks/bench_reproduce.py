"""``ntkcheck reproduce liao2022`` with 1 and 2 local worker processes, side by side in one run.

    python benchmarks/bench_reproduce.py [--size default|quick] [--repeat 2]

Each repetition runs the whole command (``python -m ntkcheck.cli reproduce liao2022 --workers W
--quiet``, a fresh process and a fresh output folder, so worker start-up and every record's
fsync are included) with W = 1 and then W = 2, alternating so that both see the same machine
state.  Threads per run are the default (``cpus // workers``: 2 with one worker, 1 with two).
Prints each wall time, the median and range per worker count, and the speed-up of 2 workers
over 1 (ratio of medians, and the per-repetition ratios).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def once(workers: int, size: str, tmp: Path, tag: str) -> float:
    out = tmp / f"w{workers}-{tag}"
    cmd = [sys.executable, "-m", "ntkcheck.cli", "reproduce", "liao2022", "--workers", str(workers),
           "--quiet", "--out", str(out)] + (["--quick"] if size == "quick" else [])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=("default", "quick"), default="default")
    ap.add_argument("--repeat", type=int, default=2, help="repetitions per worker count (default 2)")
    args = ap.parse_args()
    times = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        once(2, "quick", tmp, "warm")  # load the Numba cache and the page cache once
        for r in range(args.repeat):
            for w in (1, 2):
                times[w].append(once(w, args.size, tmp, str(r)))
                print(f"repetition {r}: --workers {w}: {times[w][-1]:.1f} s", flush=True)
    print(f"ntkcheck reproduce liao2022 ({args.size} size), {os.cpu_count()} CPUs, {args.repeat} repetitions")
    for w, ts in times.items():
        print(f"  --workers {w}: median {statistics.median(ts):.1f} s (min {min(ts):.1f}, max {max(ts):.1f})")
    ratios = [a / b for a, b in zip(times[1], times[2])]
    print(f"speed-up of 2 workers over 1: {statistics.median(times[1]) / statistics.median(times[2]):.2f}x "
          f"(per repetition: {', '.join(f'{x:.2f}x' for x in ratios)})")


if __name__ == "__main__":
    main()
