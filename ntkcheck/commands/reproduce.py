"""``ntkcheck reproduce {liao2022,jacot2018,deng2022}``: a paper's empirical claims, measured on built-in data.

``liao2022``: analogues of Liao & Kyrillidis (TMLR 2022) Fig. 2 (and the width m*(n) panel).
``jacot2018``: the NTK regime of deep ReLU networks (Jacot et al. 2018): concentration at
initialisation and kernel drift during training against the width, for depth 1–4.
``deng2022``: shifted-ReLU sparsity and Gauss-Newton training (Deng et al. 2022): fired neurons
per input, stability of the fired sets, λ_min(H_b∞) against its bound, residual halving and the
time per iteration of the sparse and dense engines against m (computed directly, no sweep store:
``--workers``, ``--scheduler``, ``--threads`` and ``--resume`` do not apply).

Writes figures (PNG and PDF), the raw numbers (``data/*.npz``) and a summary (``summary.md``,
``summary.html``, ``summary.json``) listing each claim of LK22 §5 as reproduced or not, with the
statistic behind the verdict.  The training runs are a sweep in ``OUT/store`` (run on
``--workers`` local processes or a Dask ``--scheduler``; ``--resume`` continues an interrupted
reproduction without redoing finished runs; ``ntkcheck sweep-report OUT/store`` tabulates them).
``--quick`` takes under a minute; the default a few minutes.  Progress goes to stderr
(``--quiet`` silences it).

Exit codes: 0 finished (whatever the verdicts), 2 bad arguments, 130 interrupted.
"""

from __future__ import annotations

# lazy imports: the package is imported inside the command's function, so that `ntkcheck --help`
# and the other commands start without loading SymPy, matplotlib and the workflow modules
# (measured: `import ntkcheck` 1.0 s, `import ntkcheck.reproduce` 3.2 s).

from . import check_exclusive_flags

__all__ = ["add_parser", "run"]

PAPERS = ("liao2022", "jacot2018", "deng2022")


def add_parser(subparsers) -> None:
    """Register ``reproduce`` on `subparsers`."""
    p = subparsers.add_parser("reproduce", help="reproduce a paper's empirical claims (liao2022, jacot2018, deng2022)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("paper", choices=PAPERS, help="paper to reproduce")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output folder (default results/<paper>)")
    p.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    p.add_argument("--data", metavar="SPEC",
                   help="dataset spec instead of the size's sphere (e.g. digits:n=300, or sphere:n=100,d=200 "
                        "for d >= n as in LK22's n = 1000, d = 2048)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes for the runs (default: the CPUs available; 0 = in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask distributed cluster, e.g. tcp://127.0.0.1:8786 (needs ntkcheck[dask])")
    p.add_argument("--resume", action="store_true",
                   help="continue the reproduction in --out: finished runs are kept, the rest run")
    p.add_argument("--threads", type=int, default=None, help="threads per run (default cpus // workers)")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier reproduction in --out (its files are removed first; a folder with "
                        "files ntkcheck did not write is always refused)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    """Entry point of ``ntkcheck reproduce``."""
    import os
    import sys

    from ..report import fmt

    direct = args.paper == "deng2022"  # computed in this process, no sweep store
    if args.paper == "jacot2018":
        from ..jacot2018 import reproduce_jacot2018 as reproduce
    elif direct:
        from ..deng2022 import reproduce_deng2022 as reproduce
    else:
        from ..reproduce import reproduce_liao2022 as reproduce

    check_exclusive_flags(args, "the reproduction")
    if direct:
        given = [flag for flag, value in (("--workers", args.workers), ("--scheduler", args.scheduler),
                                          ("--threads", args.threads), ("--resume", args.resume)) if value]
        if given:
            raise ValueError(f"`ntkcheck reproduce deng2022` computes directly in this process (no sweep store); "
                             f"{', '.join(given)} do(es) not apply. Drop it, or use --force to replace an "
                             f"earlier output.")
    out = args.out or os.path.join("results", args.paper)
    log = (lambda msg: None) if args.quiet else (lambda msg: print(f"ntkcheck reproduce: {msg}", file=sys.stderr))
    if direct:
        summary = reproduce(out, quick=args.quick, progress=not args.quiet, data=args.data, force=args.force,
                            log=log)
    else:
        summary = reproduce(out, quick=args.quick, progress=not args.quiet, data=args.data, workers=args.workers,
                            scheduler=args.scheduler, resume=args.resume, force=args.force, threads=args.threads,
                            log=log)
    claims = list(summary["claims"])
    for c in list(claims):
        claims += c.get("extra_checks", [])
    print(f"ntkcheck reproduce {args.paper} ({summary['size']} size, {fmt(summary['seconds'])} s, "
          f"status {summary['status']})")
    for c in claims:
        stat = "; ".join(f"{k}={fmt(v, 3)}" for k, v in c["statistics"].items()
                         if not isinstance(v, (list, dict)))
        print(f"  ({c['id']}) {c['verdict'].upper():<15} {c['claim']}")
        print(f"      {stat}")
    if summary.get("regimes"):
        print("regimes:")
        for line in summary["regimes"]:
            print(f"  {line}")
    if direct:
        print(f"summary: {os.path.join(out, 'summary.html')} (and summary.md, summary.json, figures/, data/)")
    else:
        print(f"summary: {os.path.join(out, 'summary.html')} (and summary.md, summary.json, figures/; runs in "
              f"{os.path.join(out, 'store')}: ntkcheck sweep-report / sweep-status --show RUN_ID)")
    if summary["status"] == "interrupted":
        print("interrupted: the claims measured so far are in the summary; run again with --force to redo all"
              if direct else "interrupted: finished runs are kept; continue with the same command and --resume",
              file=sys.stderr)
    return 130 if summary["status"] == "interrupted" else 0
