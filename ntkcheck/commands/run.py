"""``ntkcheck run``: train one scheme over several seeds and write a results folder.

Configure with flags or ``--config FILE.toml`` (flat keys named as the flags, ``_`` for ``-``;
flags given on the command line override the file).  The folder holds the resolved config and
seeds (``config.toml`` replays the run), per-seed trajectories (NPZ and CSV), figures (PNG and
PDF), ``report.json`` (measured vs predicted) and ``report.md`` / ``report.html``.  Each seed is
written as soon as it finishes; Ctrl-C keeps what is done.

Exit codes: 0 done, 1 an exact identity failed or training diverged, 2 bad arguments,
130 interrupted (finished seeds are kept).
"""

from __future__ import annotations

# lazy imports: the package is imported inside the command's function, so that `ntkcheck --help`
# and the other commands start without loading SymPy, matplotlib and the workflow modules
# (measured: `import ntkcheck` 1.0 s, `import ntkcheck.reproduce` 3.2 s).

import argparse
import os

from .._params import RUN_PARAMS

__all__ = ["add_parser", "run"]

#: Every run parameter, and the seeds, may be given as a flag (or in --config).
_FIELDS = (*RUN_PARAMS, "seeds")


def add_parser(subparsers) -> None:
    """Register ``run`` on `subparsers`."""
    p = subparsers.add_parser("run", help="train a scheme over seeds, compare with a theorem",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="?", metavar="DATA",
                   help="dataset spec or file (default sphere:n=100,d=10,seed=0)")
    p.add_argument("--config", metavar="FILE.toml", help="read the configuration from a TOML file")
    p.add_argument("--out", metavar="DIR", default=None, help="results folder (default ntkcheck-out/run)")
    p.add_argument("--scheme", help="gd, dropout, multi-sample-dropout, ist-bernoulli, "
                                    "ist-categorical, bernoulli, categorical (default bernoulli)")
    p.add_argument("--width", "-m", dest="m", type=int, help="hidden width m (default 1000)")
    p.add_argument("--kappa", type=float, help="init scale kappa (default 1)")
    p.add_argument("--eta", help="step size eta, or 'auto' = 1/lambda_max(H_inf) (default)")
    p.add_argument("--steps", type=int, help="global steps K (default 100)")
    p.add_argument("--local-steps", "--tau", dest="local_steps", type=int, help="local steps tau (default 1)")
    p.add_argument("--p", type=int, help="subnetworks p (default 1)")
    p.add_argument("--xi", type=float, help="keep probability xi (default: the scheme's)")
    p.add_argument("--seeds", help="comma-separated seeds ('7,' for the single seed 7), or a count N "
                                    "for 0..N-1 (default 0,1,2)")
    p.add_argument("--theorem", help="theorem to compare with (default from the scheme)")
    p.add_argument("--delta", type=float, help="failure probability delta (default 0.1)")
    p.add_argument("--record", choices=("loss", "basic", "standard", "full"),
                   help="what to record (default standard; full adds masked lambda_min, slow)")
    p.add_argument("--predict", action=argparse.BooleanOptionalAction, default=None,
                   help="predict the plateau with the model of docs/theory.md §8 beside the measured one "
                        "(default on; --no-predict skips it)")
    p.add_argument("--identity-samples", dest="identity_samples", type=int,
                   help="mask samples per exact identity (default 2000; 0 skips)")
    p.add_argument("--target", help="CSV label column")
    p.add_argument("--normalize", action="store_true", default=None, help="project rows onto the unit sphere")
    p.add_argument("--no-plots", action="store_true", help="skip figures and HTML/Markdown")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier `ntkcheck run` output in --out (its files are removed first; a "
                        "folder with files ntkcheck did not write is always refused)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    """Entry point of ``ntkcheck run``."""
    from ..experiment import RunConfig, load_config, run_experiment

    given = {f: getattr(args, f, None) for f in _FIELDS}
    if given["eta"] is not None and given["eta"] != "auto":
        try:
            given["eta"] = float(given["eta"])
        except ValueError:
            raise ValueError(f"`--eta` must be a number or 'auto', got {given['eta']!r}.") from None
    if args.config:
        cfg = load_config(args.config, **given)
    else:
        cfg = RunConfig(**{k: v for k, v in given.items() if v is not None})
    out = args.out or os.path.join("ntkcheck-out", "run")
    res = run_experiment(cfg, out=out, progress=not args.quiet, plots=not args.no_plots, force=args.force)
    print(summary_text(res.report, out))
    if res.status == "interrupted":
        return 130
    bad_ids = [i["identity"] for i in res.report.get("identities", []) if i["ok_all"] is False]
    diverged = [s["seed"] for s in res.report["seeds"] if s["status"] == "diverged"]
    return 1 if bad_ids or diverged else 0


def summary_text(rep: dict, out: str) -> str:
    """Short stdout summary of a run."""
    from ..report import fmt

    cfg, res = rep["config"], rep["resolved"]
    lines = [f"ntkcheck run: {cfg['scheme']} on {rep['data']['name']} (n={rep['data']['n']}, "
             f"d={rep['data']['d']}), m={cfg['m']}, kappa={fmt(cfg['kappa'])}, eta={fmt(res['eta'])}, "
             f"K={cfg['steps']}, tau={cfg['local_steps']}, p={cfg['p']}, xi={fmt(res['xi'])}, "
             f"seeds={[s['seed'] for s in rep['seeds']]}  [{rep['status']}]"]
    if rep["data"]["normalized"]:
        lines.append("note: rows were normalized to the unit sphere")
    if not rep["assumptions"]["passed"]:
        lines.append("warning: Assumption 1 fails on these data:")
        lines += ["  " + m for m in rep["assumptions"]["messages"] if m.startswith("[FAIL]")]
    cmp_ = rep.get("comparison")
    if cmp_:
        t = cmp_["theorem"]
        c, pl, mv, lm = cmp_["contraction"], cmp_["plateau"], cmp_["movement"], cmp_["lambda_min"]
        fails = [r for r in t["requirements"] if r["status"] == "violated"]
        lines.append(f"theorem {t['name']} [{t['provenance']}]: "
                     + ("hypotheses hold" if not fails else
                        "hypotheses violated: " + "; ".join(
                            f"{r['variable'] or r['hypothesis']} off by x{fmt(r['factor'], 3)}" for r in fails)))
        rows = [("quantity", "predicted", "measured", "consistent"),
                ("contraction / global step", fmt(c["predicted_rate"]),
                 f"{fmt(c['measured_mean'])} +- {fmt(c['measured_sd'], 2)}", fmt(c["at_least_as_fast_as_predicted"])),
                ("plateau of L_k", fmt(pl["predicted_error"]), fmt(pl["measured_mean"]), fmt(pl["within_error"])),
                *_model_rows(cmp_.get("plateau_model")),
                ("max movement vs R", fmt(mv["R"]), fmt(mv["max"]), fmt(mv["within_R"])),
                ("max movement vs R'", fmt(mv["R_prime"]), fmt(mv["max"]), fmt(mv["within_R_prime"])),
                ("min lambda_min(H(W_k)) vs lambda_0/2", fmt(lm["half_lambda_0"]), fmt(lm["min_full"]),
                 fmt(lm["full_above_half_lambda_0"]))]
        w = [max(len(r[i]) for r in rows) for i in range(4)]
        lines += ["  " + "  ".join(s.ljust(w[i]) for i, s in enumerate(r)) for r in rows]
    if cmp_ and cmp_.get("plateau_model"):
        lines.append("  (* plateau model of docs/theory.md §8 [DERIVED], first order in eta: a checked "
                     "approximation, not a theorem)")
    if rep.get("identities"):
        tested = [i for i in rep["identities"] if i["ok_all"] is not None]
        ok = [i for i in tested if i["ok_all"]]
        lines.append(f"exact identities (docs/theory.md §5, §8.2): {len(ok)}/{len(tested)} consistent")
        for i in rep["identities"]:
            if i["ok_all"] is None:
                lines.append(f"  [skip] {i['identity']:<10} {i.get('note', '')}")
                continue
            stat = f"max z = {fmt(i['max_z'], 3)}" if i["max_z"] is not None else \
                f"max rel. error = {fmt(i['max_rel_error'], 3)}"
            lines.append(f"  [{'ok' if i['ok_all'] else 'FAIL'}] {i['identity']:<10} {stat:<26} {i['statement']}")
    lines.append(f"results: {out}/report.json, report.html, seeds/, figures/ (replay: ntkcheck run "
                 f"--config {out}/config.toml --out NEW_DIR)")
    return "\n".join(lines)


def _model_rows(pm) -> list:
    """Rows of the §8 plateau model beside the measured plateau (``consistent``: the ratio)."""
    from ..report import fmt

    if not pm:
        return []
    return [("plateau model* bias + noise", f"{fmt(pm['predicted_bias'], 3)} + {fmt(pm['predicted_noise'], 3)}",
             "", ""),
            ("plateau model* total vs measured", fmt(pm["predicted_total"]), fmt(pm["measured_mean"]),
             f"ratio {fmt(pm['ratio'], 3)}")]
