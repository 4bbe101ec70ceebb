"""``ntkcheck demo``: the kernels on built-in data, in a few seconds.

Draws unit-norm points on the sphere, prints lambda_0 and lambda_max of the infinite-width NTK
(DZPS19 Thm 3.1), and the spectral distance ``|H(0) - H_inf|_2`` of the finite-width NTK at
growing widths with its fitted rate (docs/theory.md §4: about m^{-1/2}).
"""

from __future__ import annotations

# lazy imports: the package is imported inside the command's function, so that `ntkcheck --help`
# and the other commands start without loading SymPy, matplotlib and the workflow modules
# (measured: `import ntkcheck` 1.0 s, `import ntkcheck.reproduce` 3.2 s).

import time

import numpy as np


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="finite- vs infinite-width NTK on built-in data (seconds)",
        description=__doc__,
    )
    p.add_argument("--n", type=int, default=200, help="number of points (default 200)")
    p.add_argument("--d", type=int, default=16, help="input dimension (default 16)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--max-width", type=int, default=2**17, help="largest width m (default 131072)")
    p.set_defaults(func=run)


def run(args) -> int:
    from .. import eigenvalue_extremes, ntk_at_init, ntk_infinite
    from .._validation import check_int
    from ..data import sphere

    n = check_int(args.n, "--n", min_val=2)
    d = check_int(args.d, "--d", min_val=2)
    max_width = check_int(args.max_width, "--max-width", min_val=1024)
    rng = np.random.default_rng(args.seed)
    data_rng, init_rng = rng.spawn(2)
    X = sphere(n, d, rng=data_rng).X
    t0 = time.perf_counter()
    H_inf = ntk_infinite(X)
    lam0, lam_max = eigenvalue_extremes(H_inf)
    print(f"data: n={n} points uniform on S^{d - 1} (seed {args.seed})")
    print(f"H_inf: lambda_0 = {lam0:.6g}, lambda_max = {lam_max:.6g}  ({time.perf_counter() - t0:.2f} s)")
    print(f"{'m':>9} {'|H(0)-H_inf|_2':>16} {'x sqrt(m)':>10} {'lambda_min(H(0))':>17} {'seconds':>8}")
    widths, errs = [], []
    m = 1024
    while m <= max_width:
        t0 = time.perf_counter()
        H = ntk_at_init(X, m, rng=init_rng.spawn(1)[0])
        err = np.linalg.norm(H - H_inf, 2)
        lam = eigenvalue_extremes(H)[0]
        print(f"{m:9d} {err:16.6g} {err * np.sqrt(m):10.4g} {lam:17.6g} {time.perf_counter() - t0:8.2f}")
        widths.append(m)
        errs.append(err)
        m *= 4
    if len(widths) >= 2:
        slope = np.polyfit(np.log(widths), np.log(errs), 1)[0]
        print(f"fitted rate: |H(0) - H_inf|_2 ~ m^{slope:.3f}  (theory: m^-0.5)")
    return 0
