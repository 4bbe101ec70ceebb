"""``ntkcheck sweep``, ``sweep-status`` and ``sweep-report``: parameter grids × seeds (issue 6).

::

    ntkcheck sweep SPEC.toml --out DIR [--workers N] [--scheduler tcp://HOST:PORT] [--resume]
                   [--retry-failed] [--threads T] [--max-retries R] [--quiet]
    ntkcheck sweep-status DIR [--all-failures] [--show RUN_ID]
    ntkcheck sweep-report DIR [--out REPORT_DIR] [--value COLUMN] [--formats png,pdf]
                          [--fit THEOREM:KEY [--measured COLUMN] [--free e_x,c_y] [--boot N] [--seed S]]

The spec format, seed derivation and scheduling are described in :mod:`ntkcheck.sweep`, the
store layout in :mod:`ntkcheck.store`, the tables and figures in :mod:`ntkcheck.aggregate`, the
fit of a theorem's free exponents and constants (``--fit``; THEOREM is a registry name or the
path of a TOML theorem) in :mod:`ntkcheck.exponents`.

Exit codes: ``sweep`` and ``sweep-status`` return 0 when every run of the spec finished
successfully, 1 when some failed or are pending, 2 for bad arguments, 130 when interrupted
(finished records are kept; ``--resume`` continues).
"""

from __future__ import annotations

# lazy imports: the package is imported inside the command's function, so that `ntkcheck --help`
# and the other commands start without loading SymPy, matplotlib and the workflow modules
# (measured: `import ntkcheck` 1.0 s, `import ntkcheck.reproduce` 3.2 s).

import sys

__all__ = ["add_parser"]


def add_parser(subparsers) -> None:
    """Register ``sweep``, ``sweep-status`` and ``sweep-report`` on `subparsers`."""
    p = subparsers.add_parser("sweep", help="run a parameter grid x seeds into a crash-safe store",
                              description="Run a parameter sweep (grid or list x seeds) locally or on Dask.")
    p.add_argument("spec", metavar="SPEC.toml", help="sweep specification (see ntkcheck.sweep)")
    p.add_argument("--out", required=True, metavar="DIR", help="results store directory")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: the CPUs available; 0 = in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask distributed cluster, e.g. tcp://127.0.0.1:8786 (needs ntkcheck[dask])")
    p.add_argument("--resume", action="store_true", help="continue the sweep in DIR, skipping finished runs")
    p.add_argument("--retry-failed", action="store_true", help="with --resume, also redo failed runs")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS/training threads per run (default cpus // workers; 1 on Dask)")
    p.add_argument("--max-retries", type=int, default=2,
                   help="worker deaths a run may cause before it is recorded as failed (default 2)")
    p.add_argument("--allow-runner", action="store_true",
                   help="let the spec name any 'module:function' runner (runners are code that will be "
                        "imported and run: only for specs you trust). Without it only the built-in runner "
                        "and runners installed under the entry-point group 'ntkcheck.runners' are allowed.")
    p.add_argument("--max-runs", type=int, default=None, metavar="N",
                   help="refuse specs that expand to more than N runs (default 100000; counted before "
                        "anything is expanded)")
    p.add_argument("--quiet", action="store_true", help="no progress or messages on stderr")
    p.set_defaults(func=_sweep)

    s = subparsers.add_parser("sweep-status", help="done / failed / pending runs of a sweep store",
                              description="Show done / failed / pending counts of a sweep and its failures.")
    s.add_argument("dir", metavar="DIR", help="results store directory")
    s.add_argument("--all-failures", action="store_true", help="list every failure (default: the first 20)")
    s.add_argument("--show", metavar="RUN_ID",
                   help="print the `ntkcheck run` configuration (TOML) that replays run RUN_ID (or a "
                        "unique prefix) bit for bit, and the command to run it")
    s.set_defaults(func=_status)

    r = subparsers.add_parser("sweep-report", help="tables and figures of a sweep store",
                              description="Write tables (CSV, text) and figures (heatmap over xi x p, "
                                          "error vs width, fitted vs predicted rate) from a sweep store.")
    r.add_argument("dir", metavar="DIR", help="results store directory")
    r.add_argument("--out", metavar="REPORT_DIR", default=None, help="output directory (default DIR/report)")
    r.add_argument("--value", default="final_loss", help="column to aggregate (default final_loss)")
    r.add_argument("--formats", default="png,pdf", help="figure formats (default png,pdf)")
    r.add_argument("--fit", metavar="THEOREM:KEY", default=None,
                   help="also fit the free e_*/c_* symbols of expression KEY of THEOREM (a registry name "
                        "or a TOML theorem file) to the runs, e.g. liao2022.thm3:error_variance; prints "
                        "the table and writes fit_<theorem>_<key>.json/.md into the report directory")
    r.add_argument("--measured", metavar="COLUMN", default=None,
                   help="with --fit: the measured column (default: plateau for error* keys, contraction "
                        "for rate; required otherwise)")
    r.add_argument("--free", metavar="NAMES", default=None,
                   help="with --fit: comma-separated symbols to fit (default: every e_* and c_* of KEY)")
    r.add_argument("--boot", type=int, default=1000, metavar="N",
                   help="with --fit: bootstrap resamples for the confidence intervals (default 1000)")
    r.add_argument("--seed", type=int, default=None, metavar="S",
                   help="with --fit: bootstrap seed (default: fresh entropy, recorded in the JSON)")
    r.set_defaults(func=_report)


def _sweep(args) -> int:
    from ..sweep import run_sweep

    if args.retry_failed and not args.resume:
        raise ValueError("--retry-failed needs --resume (it redoes failed runs of an existing sweep).")
    if args.scheduler is not None and args.workers is not None:
        raise ValueError("give either --workers (local processes) or --scheduler (Dask), not both.")
    log = (lambda msg: None) if args.quiet else (lambda msg: print(f"ntkcheck sweep: {msg}", file=sys.stderr))
    try:
        summary = run_sweep(args.spec, args.out, workers=args.workers, scheduler=args.scheduler,
                            resume=args.resume, retry_failed=args.retry_failed, threads=args.threads,
                            max_retries=args.max_retries, progress=not args.quiet, log=log,
                            allow_runner=args.allow_runner,
                            **({} if args.max_runs is None else {"max_runs": args.max_runs}))
    except ImportError as exc:
        print(f"ntkcheck sweep: error: {exc}", file=sys.stderr)
        return 2
    _print_summary(summary, args.out, limit=5)
    return 0 if summary.done == summary.total else 1


def _status(args) -> int:
    from ..sweep import find_record, replay_config, sweep_status

    if args.show is not None:
        rec = find_record(args.dir, args.show)
        cfg = replay_config(rec)
        print(f"# run {rec['run_id']} (replicate {rec['replicate']}, status {rec['status']}) of sweep {args.dir}")
        print("# replay: save this as replay.toml, then  ntkcheck run --config replay.toml --out DIR")
        print(cfg.to_toml(), end="")
        return 0
    summary = sweep_status(args.dir)
    _print_summary(summary, args.dir, limit=None if args.all_failures else 20)
    return 0 if summary.done == summary.total else 1


def _report(args) -> int:
    from pathlib import Path

    from ..aggregate import report

    out = Path(args.out) if args.out else Path(args.dir) / "report"
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    bad = [f for f in formats if f not in ("png", "pdf", "svg")]
    if bad or not formats:
        raise ValueError(f"--formats must be a comma-separated subset of png,pdf,svg, got {args.formats!r}.")
    fit = _fit(args)  # before anything is written: a bad --fit leaves no partial report
    written = report(args.dir, out, value=args.value, formats=formats)
    for kind in ("tables", "figures"):
        for path in written[kind]:
            print(path)
    for note in written["notes"]:
        print(f"note: {note}", file=sys.stderr)
    if fit is not None:
        _write_fit(fit, out)
    return 0


def _fit(args):
    """The :class:`~ntkcheck.exponents.ExponentFit` of ``--fit THEOREM:KEY``, or None.

    Bad values raise ValueError (one line, exit 2 through ``ntkcheck.cli.main``).
    """
    from ..exponents import default_measured, fit_theorem, resolve_theorem

    if args.fit is None:
        given = [f"--{name}" for name in ("measured", "free") if getattr(args, name) is not None]
        if given:
            raise ValueError(f"{', '.join(given)} only apply with --fit THEOREM:KEY.")
        return None
    name, colon, key = args.fit.rpartition(":")
    if not colon or not name or not key:
        raise ValueError(f"--fit must be THEOREM:KEY (a registry name or a TOML theorem file, a colon, an "
                         f"expression key), e.g. liao2022.thm3:error_variance; got {args.fit!r}.")
    thm = resolve_theorem(name)
    if key not in thm.keys():
        raise ValueError(f"--fit: {thm.name} has no expression {key!r}; its keys: {list(thm.keys())}.")
    measured = args.measured or default_measured(key)
    if measured is None:
        raise ValueError(f"--measured COLUMN is required with --fit {args.fit} (defaults exist only for "
                         f"error* keys: plateau, and rate: contraction).")
    return fit_theorem(thm, key, args.dir, measured=measured, free=args.free, n_boot=args.boot,
                       rng=args.seed)


def _write_fit(fit, out) -> None:
    from .._io import atomic_write
    from .._json import json_text
    from ..exponents import report_stem

    print(fit.summary(), end="")
    stem = report_stem(fit.theorem, fit.key)
    for path, text in ((out / f"{stem}.json", json_text(fit.to_dict())),
                       (out / f"{stem}.md", fit.to_markdown())):
        atomic_write(path, text)
        print(path)


def _print_summary(s, where, *, limit) -> None:
    print(f"sweep {where}: {s.total} runs")
    print(f"  done     {s.done}")
    print(f"  failed   {s.failed}")
    print(f"  pending  {s.pending}")
    if s.corrupt:
        print(f"  corrupt  {s.corrupt} (counted as pending; `ntkcheck sweep --resume` redoes them)")
    if s.extra:
        print(f"  extra    {s.extra} record(s) of runs not in the current spec")
    shown = s.failures if limit is None else s.failures[:limit]
    if shown:
        print("failures:")
        for rec in shown:
            err = rec.get("error") or {}
            params = ", ".join(f"{k}={v}" for k, v in rec["params"].items())
            print(f"  {rec['run_id']}  replicate {rec['replicate']}  {params}")
            print(f"      {err.get('type', '?')}: {err.get('message', '')}")
        if len(shown) < len(s.failures):
            print(f"  ... and {len(s.failures) - len(shown)} more (--all-failures lists them)")
