"""``ntkcheck width DATA --conclusion C``: the width a theorem's conclusion really needs on DATA.

Finds m*, the smallest hidden width at which the conclusion holds on at least 1 − δ of the seeds
(doubling, then bisection on a log grid; Clopper–Pearson interval at every width), and puts
each theorem's predicted width beside it.  ``--scale n=50,100,200`` measures m*(n) on nested
subsets of DATA and fits its exponent (bootstrap interval) against the theorems' exponents.

Conclusions (see ntkcheck.width): ``lambda_min`` — λ_min(H(W_k)) ≥ λ0/2 at every step of the
training (DZPS19 Lemma 3.2, LK22 Thm 2 with masks: ξλ0/2); ``rate`` — ‖y − u_k‖² ≤ (1 − ηλ0/2)^k
‖y − u_0‖² along gradient descent (DZPS19 Thm 4.1, SY19; default K: until the bound reaches
1e-3); ``concentration`` — ‖H(0) − H∞‖₂ ≤ λ0/4 (DZPS19 Lemma 3.1).

Writes OUT/summary.json (m_star, bracket, conclusion, theorems, ...), summary.md, summary.html,
figures/ and the runs' sweep store OUT/store (``--resume`` continues an interrupted search
without redoing finished runs; ``ntkcheck sweep-status OUT/store`` reads it).

Exit codes: 0 finished (found or not), 2 bad arguments, 130 interrupted (finished runs are kept).
"""

from __future__ import annotations

# lazy imports: the package is imported inside the command's function, so that `ntkcheck --help`
# and the other commands start without loading SymPy, matplotlib and the workflow modules.

import argparse

from . import check_exclusive_flags

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Register ``width`` on `subparsers`."""
    p = subparsers.add_parser("width", help="measure the width a theorem's conclusion needs (m*), and its scaling",
                              description="\n\n".join(__doc__.split("\n\n")[:4]).replace("``", ""),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", metavar="DATA", help="dataset spec or file, e.g. sphere:n=100,d=10,seed=0")
    p.add_argument("--conclusion", required=True, choices=("lambda_min", "rate", "concentration"),
                   help="the theorem conclusion to test on each run")
    p.add_argument("--theorem", action="append", metavar="NAME",
                   help="theorem whose width to compare (repeatable; needs a `width` key; default: the "
                        "conclusion's: du2019.thm4_1, song_yang2019.thm, ...)")
    p.add_argument("--seeds", type=int, default=10, metavar="S", help="seeds per width (default 10)")
    p.add_argument("--delta", type=float, default=0.1,
                   help="the conclusion must hold on >= 1 - delta of the seeds; also the theorems' delta (default 0.1)")
    p.add_argument("--scale", metavar="n=N1,N2,...",
                   help="measure m*(n) on nested subsets of DATA of these sizes and fit the exponent")
    p.add_argument("--out", metavar="DIR", default=None, help="output folder (default ntkcheck-out/width)")
    p.add_argument("--json", metavar="PATH", help="also write the JSON summary to PATH ('-' for stdout)")
    p.add_argument("--resume", action="store_true", help="continue the search in --out (finished runs are kept)")
    p.add_argument("--force", action="store_true", help="replace an earlier width search in --out")
    p.add_argument("--m-start", type=int, default=16, metavar="M", help="first width tried (default 16)")
    p.add_argument("--m-max", type=int, default=2**20, metavar="M", help="largest width tried (default 2^20)")
    p.add_argument("--tolerance", type=float, default=0.1,
                   help="stop bisecting at upper/lower <= 1 + tolerance (default 0.1; 0 = adjacent integers)")
    p.add_argument("--scheme", default=None,
                   help="training scheme of lambda_min runs (default gd; rate is gradient descent)")
    p.add_argument("--kappa", type=float, default=None, help="init scale kappa (default 1)")
    p.add_argument("--eta", default=None,
                   help="step size: a number, 'auto' = 1/lambda_max(H_inf) (default), or 'theorem' = lambda_0/n^2 (rate)")
    p.add_argument("--steps", type=int, default=None, metavar="K",
                   help="global steps K (default 100; rate: until the bound (1 - eta*lambda_0/2)^K reaches 1e-3)")
    p.add_argument("--tau", dest="local_steps", type=int, default=None, help="local steps tau (masked schemes)")
    p.add_argument("--p", type=int, default=None, help="subnetworks p (masked schemes)")
    p.add_argument("--xi", type=float, default=None, help="keep probability xi (masked schemes)")
    p.add_argument("--target", help="CSV label column (name or 0-based index; default last)")
    p.add_argument("--normalize", action="store_true", help="project rows onto the unit sphere first")
    p.add_argument("--boot", type=int, default=2000, help="bootstrap replicates of the scaling fit (default 2000)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: the CPUs available; 0 = in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--threads", type=int, default=None, help="threads per run (default cpus // workers)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    """Entry point of ``ntkcheck width``."""
    import os
    import sys

    from .._io import atomic_write
    from .._json import json_text
    from .._outdir import claim_output_dir
    from ..scaling import parse_scale, width_scaling
    from ..verify import predicted_widths
    from ..width import find_width
    from ..width_report import text_summary, write_outputs

    check_exclusive_flags(args, "the search")
    ns = parse_scale(args.scale) if args.scale is not None else None
    run_params = {k: getattr(args, k) for k in ("scheme", "kappa", "steps", "local_steps", "p", "xi", "target")
                  if getattr(args, k) is not None}
    if args.normalize:
        run_params["normalize"] = True
    if args.eta is not None:
        run_params["eta"] = _eta(args.eta)
    if args.theorem:  # a theorem without a `width` key is refused before any run
        predicted_widths(args.theorem, {})
    out = args.out or os.path.join("ntkcheck-out", "width")
    log = (lambda msg: None) if args.quiet else (lambda msg: print(f"ntkcheck width: {msg}", file=sys.stderr))
    search = dict(theorems=args.theorem, seeds=args.seeds, delta=args.delta, m_start=args.m_start,
                  m_max=args.m_max, tolerance=args.tolerance, workers=args.workers, scheduler=args.scheduler,
                  threads=args.threads, progress=not args.quiet, log=log, resume=args.resume, **run_params)
    # every argument is checked (by a dry canonicalisation) before the folder is claimed
    from ..width import canonical_width_params

    canonical_width_params({"data": args.data, "conclusion": args.conclusion, "m": args.m_start, **run_params})
    claim_output_dir(out, kind="width", force=args.force, resume=args.resume)
    store = os.path.join(out, "store")
    if ns is not None:
        result = width_scaling(args.data, args.conclusion, ns, out=store, n_boot=args.boot, **search)
    else:
        result = find_width(args.data, args.conclusion, out=store, **search)
    data = write_outputs(result, out)
    if args.json:
        if args.json == "-":
            sys.stdout.write(json_text(data))
        else:
            atomic_write(args.json, json_text(data))
    if args.json != "-":
        print(text_summary(result))
        print(f"report: {os.path.join(out, 'summary.md')}")
    return 0


def _eta(text: str):
    if text in ("auto", "theorem"):
        return text
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"`--eta` must be a positive number, 'auto' or 'theorem', got {text!r}.") from None
