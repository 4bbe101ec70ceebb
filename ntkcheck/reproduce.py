"""Reproduce the empirical claims of LK22 §5 / Fig. 2 (docs/theory.md §7) in the paper's regime.

Analogues of the four panels at a size that runs in seconds (``quick``) or minutes (default), on
points uniform on the sphere with teacher labels by default (``data=`` takes any dataset spec,
e.g. ``digits`` or a ``d ≥ n`` sphere closer to LK22's n = 1000, d = 2048):

* (a) the loss trajectory of Algorithm 1 shows three movements per global step — up at mask
  sampling, down during local steps, down at aggregation — and varies little across seeds.  Run
  where the theorems live: small step η = 0.1/λ_max (their condition η = O(λ0/n²) is far below
  1/λ_max) and small κ = 0.1; statistics over the first 160 local-step iterations (LK22 plot the
  first 160), i.e. 160/τ global steps.  With ηλ_max·τ of order 1 the local steps erase the jump
  at sampling and no drop at aggregation can appear (docs/theory.md §8.5).
* (b) Bernoulli masks, fixed τ: the final error decreases as ξ grows and as p grows — the
  (ξ × p) grid of LK22, at κ = 0.1, with separate verdicts for the ξ-trend and the p-trend; and
  a **κ panel**: the slope of log(final error) against ξ at κ ∈ {1, 0.3, 0.1, 0.03, 0.01}, the
  κ* where it changes sign, and the slope the plateau model of docs/theory.md §8 predicts
  (error ≈ bias(ξ) + κ² noise(ξ): the ξ-trend holds below κ* and reverses above, §8.4);
* (c) as m grows (κ reduced with it, κ ∝ m^{-1/2}), the final error decreases;
* (d) categorical masks: the per-global-step loss improvement decreases as p grows (the fitted
  contraction, and LK22's per-step improvement over the first three global steps beside it);

plus three checks of the theory behind them: the NTK concentration ``‖H(0) − H∞‖₂ ∝ m^{-1/2}``
(log–log slope), ``λ_min(H(W_k))`` along training against ``λ0/2`` (DZPS19 Lemma 3.2), and the
weight movement against R and R' (DZPS19).  Each verdict is computed from the runs with a rule
fixed in advance (:data:`RULES`) and is reported whether or not it matches the paper.

The training runs of all panels are one sweep (:mod:`ntkcheck.sweep`) in ``OUT/store``: each
run is the package's unit of work (:func:`ntkcheck.unit.run_seed`) and its summary
(:class:`ntkcheck.unit.RunSummary`) is everything a panel reads — "final error" is the
summary's ``plateau`` (mean of ``L_k = ‖y − u_k‖²`` over the last 10% of the global steps),
the predicted error its ``predicted_plateau`` (§8), the per-global-step improvement is
``1 − contraction``, the three movements are its ``frac_*`` fields; R, R' and the λ_min check
come from :func:`ntkcheck.verify.compare_run`.  So the runs go to local worker processes or a
Dask cluster, an interrupted reproduction resumes without redoing finished runs, ``ntkcheck
sweep-report OUT/store`` tabulates them, and ``ntkcheck sweep-status OUT/store --show RUN_ID``
replays any of them with ``ntkcheck run``.
"""

from __future__ import annotations

import math
import os
import time
from types import SimpleNamespace

import numpy as np
from matplotlib.figure import Figure
from scipy.stats import spearmanr

from . import plotting
from ._io import atomic_write, write_npz
from ._json import json_text, jsonable, toml_value
from ._outdir import claim_output_dir
from ._params import canonical_params
from ._progress import Progress
from .aggregate import heatmap
from .ntk import ntk_at_init, ntk_infinite
from .report import fmt, write_report
from .store import Store, canonical_json
from .sweep import parse_spec, run_sweep
from .unit import RunSummary, load_data
from ._width_panel import CLAIM as WIDTH_CLAIM, RULE as WIDTH_RULE, measure_width_panel
from .verify import check_theorem, compare_run, run_values

__all__ = ["SIZES", "RULES", "SWEEP_SEED", "reproduce_liao2022", "liao2022_spec", "panels"]

#: Problem sizes. ``quick`` runs in well under a minute on 2 cores, ``default`` in a few.
#: Step sizes are multiples of 1/λ_max(H∞) of the data; ``*_steps`` are global steps.
SIZES = {
    "quick": dict(n=64, d=16, m=512, seeds=3,
                  a_xi=0.5, a_p=2, a_tau=4, a_kappa=0.1, a_eta=0.1, a_local_iterations=160,
                  b_tau=2, b_kappa=0.1, b_eta=1.0, b_steps=300, xis=(0.125, 0.25, 0.5, 0.75, 1.0),
                  ps=(1, 2, 4), kappas=(1.0, 0.3, 0.1, 0.03, 0.01), k_xis=(0.25, 0.5, 0.75), k_p=2,
                  cd_tau=4, cd_steps=40, widths=(128, 512, 2048), c_xi=0.5, c_p=2, cat_ps=(1, 2, 4, 8),
                  ntk_widths=tuple(2**k for k in range(7, 15)), ntk_seeds=3,
                  width_ns=(16, 32), width_seeds=4, width_m_start=8),
    "default": dict(n=200, d=32, m=1024, seeds=4,
                    a_xi=0.5, a_p=2, a_tau=4, a_kappa=0.1, a_eta=0.1, a_local_iterations=160,
                    b_tau=2, b_kappa=0.1, b_eta=1.0, b_steps=400, xis=(0.125, 0.25, 0.5, 0.75, 1.0),
                    ps=(1, 2, 4, 8), kappas=(1.0, 0.3, 0.1, 0.03, 0.01), k_xis=(0.25, 0.5, 0.75), k_p=2,
                    cd_tau=4, cd_steps=150, widths=(256, 1024, 4096, 8192), c_xi=0.5, c_p=2,
                    cat_ps=(1, 2, 4, 8, 16), ntk_widths=tuple(2**k for k in range(8, 17)), ntk_seeds=5,
                    width_ns=(25, 50, 100, 200), width_seeds=10, width_m_start=16),
}
#: Sweep seed of the reproduction's runs (run seeds derive from it, :func:`ntkcheck.sweep.derive_seed`).
SWEEP_SEED = 2022

#: The rule behind each verdict (fixed before running; never tuned to the outcome).
RULES = {
    "a": "each movement is seen in >= 90% of (global step, seed) pairs over the first 160 local-step "
         "iterations, and the median over k of the across-seed coefficient of variation of L_k is <= 0.1",
    "b_xi": "Spearman rank correlation of the final error with xi over all runs of the (xi x p) grid "
            "(kappa = 0.1) is negative with two-sided p-value < 0.05",
    "b_p": "Spearman rank correlation of the final error with p over the runs of the (xi x p) grid with "
           "xi < 1 is negative with two-sided p-value < 0.05",
    "kappa": "at every kappa of the panel, the sign of the least-squares slope of log(mean final error) on "
             "xi predicted by the docs/theory.md §8 model equals the measured sign",
    "c": "Spearman rank correlation of the final error with m over all runs is negative with "
         "p-value < 0.05",
    "d": "Spearman rank correlation of the per-global-step improvement with p over all runs is "
         "negative with p-value < 0.05",
    "ntk": "the least-squares slope of log ||H(0) - H_inf||_2 on log m is within 0.1 of -1/2",
    "lambda_min": "min over training and seeds of lambda_min(H(W_k)) >= lambda_0/2",
    "movement": "max over training and seeds of max_r ||w_r(k) - w_r(0)|| <= R' (and <= R)",
    "width": WIDTH_RULE,
}


def panels(S: dict, lam_max: float) -> dict:
    """The configurations of each panel: panel -> list of run-parameter changes over the base.

    ``lam_max`` is λ_max(H∞) of the data (the step sizes are multiples of 1/λ_max).
    """
    a_steps = max(1, int(S["a_local_iterations"]) // int(S["a_tau"]))
    b = dict(scheme="bernoulli", local_steps=S["b_tau"], eta=S["b_eta"] / lam_max, steps=S["b_steps"],
             predict=True)
    cd = dict(local_steps=S["cd_tau"], eta=1.0 / lam_max, steps=S["cd_steps"])
    m0 = S["widths"][0]
    return {
        "a": [dict(scheme="bernoulli", p=S["a_p"], xi=S["a_xi"], local_steps=S["a_tau"], kappa=S["a_kappa"],
                   eta=S["a_eta"] / lam_max, steps=a_steps, record="standard")],
        "b": [dict(b, p=p, xi=xi, kappa=S["b_kappa"]) for p in S["ps"] for xi in S["xis"]],
        "kappa": [dict(b, p=S["k_p"], xi=xi, kappa=k) for k in S["kappas"] for xi in S["k_xis"]],
        "c": [dict(cd, scheme="bernoulli", p=S["c_p"], xi=S["c_xi"], m=m, kappa=math.sqrt(m0 / m))
              for m in S["widths"]],
        "d": [dict(cd, scheme="ist-categorical", p=p, xi=None) for p in S["cat_ps"]],
    }


def _base(S: dict, data: str) -> dict:
    return dict(data=data, m=S["m"], kappa=1.0, record="loss", identity_samples=0, predict=False)


def liao2022_spec(S: dict, data: str, lam_max: float, *, name: str = "liao2022") -> str:
    """The sweep specification (TOML text) of every training run of the reproduction.

    One ``[[points]]`` entry per distinct configuration of the panels (:func:`panels`), with
    ``S["seeds"]`` replicates each.
    """
    base = _base(S, data)
    configs = {}
    for runs in panels(S, lam_max).values():
        for change in runs:
            params = canonical_params({**base, **change})
            configs.setdefault(canonical_json(params), {**base, **change})
    lines = ["# ntkcheck reproduce liao2022: the training runs of every panel",
             "[sweep]", f"seed = {SWEEP_SEED}", f"seeds = {int(S['seeds'])}", f"name = {toml_value(name)}", ""]
    for params in configs.values():
        lines.append("[[points]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in params.items() if v is not None]
        lines.append("")
    return "\n".join(lines)


def reproduce_liao2022(out, *, quick: bool = False, progress: bool = True, sizes: dict | None = None,
                       data: str | None = None, workers: int | None = None, scheduler: str | None = None,
                       resume: bool = False, force: bool = False, threads: int | None = None, log=None) -> dict:
    """Run the LK22 Fig. 2 analogues, write figures and a summary into ``out``; return it.

    Parameters
    ----------
    out : str or path-like
        Output folder: ``store/`` (the sweep store of every training run), ``summary.json``,
        ``summary.md``, ``summary.html``, ``figures/``, ``data/*.npz`` (the numbers behind each
        figure).
    quick : bool, default False
        Use :data:`SIZES` ``["quick"]`` (under a minute) instead of ``["default"]``.
    progress : bool, default True
        Progress on stderr.
    sizes : dict, optional
        Override entries of the chosen size (for tests and exploration).
    data : str, optional
        Dataset spec (:func:`ntkcheck.data.load_dataset`; default the sphere of the size,
        ``sphere:n=..,d=..,seed=0``). Rows should have unit norm (LK22 Assumption 1).
    workers : int, optional
        Local worker processes for the runs (default: the CPUs available; 0: this process).
    scheduler : str, optional
        Address of a Dask scheduler instead (``tcp://host:port``).
    resume : bool, default False
        Continue a reproduction in ``out`` whose runs were interrupted: finished runs are kept.
    force : bool, default False
        Replace an earlier reproduction in ``out`` (its files are removed first). A folder
        holding files ntkcheck did not write is always refused.
    threads : int, optional
        Threads per run (default: CPUs // workers).
    log : callable, optional
        ``log(str)`` for the sweep's messages.

    Returns
    -------
    dict
        The summary (also in ``summary.json``): ``claims``, a list with ``id``, ``claim``,
        ``rule``, ``statistics``, ``verdict`` and ``figures``; ``regimes`` (which claim holds in
        which regime); ``status`` ``"completed"`` or ``"interrupted"`` (then no verdicts; resume).
    """
    S = dict(SIZES["quick" if quick else "default"])
    S.update(sizes or {})
    out = os.fspath(out)
    t0 = time.perf_counter()
    data = data or f"sphere:n={S['n']},d={S['d']},seed=0"
    ctx = load_data(data)
    rep = ctx.assumptions
    spec = liao2022_spec(S, data, rep.lam_max, name=f"reproduce liao2022 ({'quick' if quick else 'default'})")
    sweep = parse_spec(spec, source="reproduce liao2022")
    summary = dict(paper="Liao & Kyrillidis, TMLR 2022 (arXiv 2112.02668), Fig. 2 / §5",
                   size="quick" if quick else "default", sizes=S, data=ctx.dataset.describe(),
                   lambda_0=rep.lam0_hat, lambda_max=rep.lam_max, store="store", runs=len(sweep.tasks),
                   claims=[], regimes=[], status="running")
    claim_output_dir(out, kind="reproduce", force=force, resume=resume)
    os.makedirs(os.path.join(out, "figures"), exist_ok=True)
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    try:
        t1 = time.perf_counter()
        res = run_sweep(sweep, os.path.join(out, "store"), workers=workers, scheduler=scheduler,
                        resume=resume, threads=threads, progress=progress, log=log)
        summary["runs_seconds"] = round(time.perf_counter() - t1, 2)
        summary["runs_executed"] = res.ran
        if res.done != res.total:
            raise RuntimeError(f"{res.failed} run(s) failed and {res.pending} are pending in "
                               f"{os.path.join(out, 'store')}; see `ntkcheck sweep-status`.")
        runs = _Runs(Store(os.path.join(out, "store")), sweep, _base(S, data), panels(S, rep.lam_max))
        for part in (lambda: _claim_a(runs, S, ctx, out), lambda: _claim_b(runs, S, out),
                     lambda: _claim_kappa(runs, S, out), lambda: _claim_c(runs, S, out),
                     lambda: _claim_d(runs, S, rep, out), lambda: _check_ntk(ctx.dataset, S, out, progress),
                     lambda: _claim_width(S, data, rep, out, resume=resume, workers=workers, scheduler=scheduler,
                                          threads=threads, progress=progress, log=log)):
            t1 = time.perf_counter()
            claim = part()
            claim["seconds"] = round(time.perf_counter() - t1, 2)
            summary["claims"].append(claim)
            _save(summary, out)
        summary["regimes"] = _regimes(summary["claims"], S)
        summary["status"] = "completed"
    except KeyboardInterrupt:
        summary["status"] = "interrupted"
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    _save(summary, out)
    write_report(summary_blocks(summary), out, title="ntkcheck reproduce liao2022", stem="summary")
    return summary


class _Runs:
    """The summaries of the sweep's runs, by panel: ``runs.get(panel)`` -> list (one per config)
    of lists (one per replicate) of :class:`~ntkcheck.unit.RunSummary`."""

    def __init__(self, store: Store, sweep, base: dict, panels_: dict):
        records = store.scan().records
        self.by = {}
        for t in sorted(sweep.tasks, key=lambda t: t.replicate):
            self.by.setdefault(canonical_json(t.params), []).append(RunSummary.from_dict(records[t.run_id]["result"]))
        self.base, self.panels = base, panels_

    def params(self, panel: str) -> list:
        return [canonical_params({**self.base, **c}) for c in self.panels[panel]]

    def get(self, panel: str) -> list:
        return [self.by[canonical_json(p)] for p in self.params(panel)]

    def values(self, panel: str, field: str) -> np.ndarray:
        """(configs, replicates) array of a summary field."""
        return np.array([[getattr(s, field) for s in reps] for reps in self.get(panel)], dtype=float)


# ----------------------------------------------------------------------------- the claims


def _claim_a(runs, S, ctx, out):
    (params,), (sums,) = runs.params("a"), runs.get("a")
    rep = ctx.assumptions
    fr = dict(up_at_sampling=float(np.mean([s.frac_up_at_sampling for s in sums])),
              down_during_local_steps=float(np.mean([s.frac_down_local for s in sums])),
              down_at_aggregation=float(np.mean([s.frac_down_at_aggregation for s in sums])))
    L = np.stack([np.asarray(s.loss) for s in sums])
    cv = float(np.median(L.std(axis=0, ddof=1) / L.mean(axis=0))) if len(sums) > 1 else float("nan")
    fr["median_cv_across_seeds"] = cv
    fr.update(eta=params["eta"], eta_times_lambda_max=params["eta"] * rep.lam_max, tau=params["local_steps"],
              kappa=params["kappa"], global_steps=params["steps"],
              local_iterations=params["steps"] * params["local_steps"])
    ok = min(fr["up_at_sampling"], fr["down_during_local_steps"], fr["down_at_aggregation"]) >= 0.9 and cv <= 0.1
    views = [s.view() for s in sums]
    heads = [SimpleNamespace(loss=v.head_loss, sampled_loss=v.sampled_loss, local_loss=v.local_loss,
                             steps=len(v.sampled_loss)) for v in views]
    fig, axes = _fig2()
    plotting.plot_three_movements(heads, steps=6, ax=axes[0])
    axes[0].set_title(f"(a) Bernoulli, $\\xi$={S['a_xi']}, p={S['a_p']}, $\\tau$={params['local_steps']}, "
                      f"$\\kappa$={params['kappa']}, $\\eta\\lambda_{{max}}$={S['a_eta']}: first steps", fontsize=9)
    plotting.plot_loss(views, ax=axes[1], label="L_k")
    axes[1].set_title(f"(a) first {fr['local_iterations']} local-step iterations")
    fa = _savefig(fig, out, "fig2a_loss_trajectory")
    # theory checks on the same runs: lambda_min vs lambda_0/2 and movement vs R, R' (verify)
    cmp_ = compare_run(sums, theorem="du2019.thm4_1",
                       values=run_values(params, eta=params["eta"], xi=params["xi"], assumptions=rep))
    lam, mv = cmp_["lambda_min"], cmp_["movement"]
    fig, ax = plotting.new_axes()
    plotting.plot_lambda_min(views, lam0=rep.lam0_hat, xi=params["xi"], ax=ax)
    fl = _savefig(fig, out, "lambda_min_training")
    fig, ax = plotting.new_axes()
    plotting.plot_movement(views, R=mv["R"], R_prime=mv["R_prime"], ax=ax)
    fm = _savefig(fig, out, "movement_vs_radii")
    _npz(out, "fig2a", loss=L, lam_min=np.stack([v.lam_min_full for v in views]),
         movement=np.stack([v.max_movement for v in views]),
         sampled_head=np.stack([v.sampled_loss for v in views]), local_head=np.stack([v.local_loss for v in views]))
    a = _claim("a", "the loss trajectory shows three movements per global step (up at sampling, "
               "down during local steps, down at aggregation); variance across seeds is tiny",
               fr, ok, fa)
    a["extra_checks"] = [
        _claim("lambda_min", "lambda_min(H(W_k)) stays above lambda_0/2 along training "
               "(DZPS19 Lemma 3.2; LK22 Thm 2)", dict(min_lambda_min=lam["min_full"],
                                                      half_lambda_0=lam["half_lambda_0"], delta=params["delta"]),
               bool(lam["full_above_half_lambda_0"]), fl, verdicts=("holds", "does not hold")),
        _claim("movement", "weights stay within R' (DZPS19 Thm 4.1 proof) and R (Lemma 3.2)",
               dict(max_movement=mv["max"], R_prime=mv["R_prime"], R=mv["R"], within_R_prime=mv["within_R_prime"],
                    within_R=mv["within_R"], delta=params["delta"]),
               bool(mv["within_R_prime"] and mv["within_R"]), fm, verdicts=("holds", "does not hold")),
    ]
    return a


def _plateaued(sums) -> float:
    """Relative change of the error over the last 20 % of the steps (mean over replicates):
    ``|plateau − mean L_k over k in [0.7K, 0.8K]| / plateau``."""
    rel = []
    for s in sums:
        k, L = s.loss_steps, np.asarray(s.loss, dtype=float)
        win = (k >= 0.7 * s.steps) & (k <= 0.8 * s.steps)
        rel.append(abs(s.plateau - float(L[win].mean())) / s.plateau if win.any() and s.plateau > 0 else math.nan)
    return float(np.nanmean(rel))


def _claim_b(runs, S, out):
    xis, ps = np.array(S["xis"], float), np.array(S["ps"], float)
    E = runs.values("b", "plateau").reshape(len(ps), len(xis), -1)  # (p, xi, seed)
    Pred = runs.values("b", "predicted_plateau").reshape(len(ps), len(xis), -1)
    reps = E.shape[2]
    x_xi = np.broadcast_to(xis[None, :, None], E.shape).ravel()
    x_p = np.broadcast_to(ps[:, None, None], E.shape).ravel()
    rx, px = _spearman_flat(x_xi, E.ravel())
    keep = x_xi < 1.0
    rp, pp = _spearman_flat(x_p[keep], E.ravel()[keep])
    smallest = runs.get("b")[int(np.argmin(xis))]  # p = ps[0], the smallest xi
    plateau_change = _plateaued(smallest)
    rows = [dict(xi=float(xi), p=int(p), plateau=float(E[i, j, r]), ratio=float(Pred[i, j, r] / E[i, j, r]))
            for i, p in enumerate(ps) for j, xi in enumerate(xis) for r in range(reps)]
    fig = Figure(figsize=(16, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    heatmap(rows, "xi", "p", "plateau", ax=axes[0], title=f"(b) final error, $\\kappa$ = {S['b_kappa']}")
    heatmap(rows, "xi", "p", "ratio", ax=axes[1], log=False, cmap="coolwarm",
            title="predicted (§8 model) / measured")
    for i, p in enumerate(ps):
        plotting.plot_final_error(xis, E[i], xlabel=r"keep probability $\xi$", ax=axes[2], label=f"p = {int(p)}",
                                  predicted=Pred[i].mean(axis=1), predicted_label=f"§8 model, p = {int(p)}")
    axes[2].set_title(f"(b) Spearman $\\rho_\\xi$ = {rx:.2f}, $\\rho_p$ = {rp:.2f}")
    f = _savefig(fig, out, "fig2b_heatmap_xi_p")
    _npz(out, "fig2b", xis=xis, ps=ps, error=E, predicted=Pred)
    common = dict(kappa=S["b_kappa"], tau=S["b_tau"], eta_times_lambda_max=S["b_eta"], global_steps=S["b_steps"],
                  relative_change_last_20pct_smallest_xi=plateau_change,
                  mean_error_by_xi=E.mean(axis=(0, 2)).tolist(), mean_error_by_p=E.mean(axis=(1, 2)).tolist(),
                  mean_predicted_over_measured=float(np.mean(Pred / E)))
    bx = _claim("b_xi", "Bernoulli masks, fixed tau: the final error decreases as xi grows",
                dict(spearman_xi=rx, pvalue_xi=px, **common), rx < 0 and px < 0.05, f)
    bp = _claim("b_p", "Bernoulli masks, fixed tau: the final error decreases as p grows",
                dict(spearman_p=rp, pvalue_p=pp, **common), rp < 0 and pp < 0.05, f)
    bx["extra_checks"] = [bp]
    return bx


def _slope(xs, ys) -> float:
    ys = np.asarray(ys, float)
    if np.any(~np.isfinite(ys)) or np.any(ys <= 0):
        return math.nan
    return float(np.polyfit(np.asarray(xs, float), np.log(ys), 1)[0])


def _claim_kappa(runs, S, out):
    ks, xis = np.array(S["kappas"], float), np.array(S["k_xis"], float)
    E = runs.values("kappa", "plateau").reshape(len(ks), len(xis), -1)
    Pred = runs.values("kappa", "predicted_plateau").reshape(len(ks), len(xis), -1)
    meas = [_slope(xis, E[i].mean(axis=1)) for i in range(len(ks))]
    pred = [_slope(xis, Pred[i].mean(axis=1)) for i in range(len(ks))]
    k_meas, k_pred = _kappa_star(ks, meas), _kappa_star(ks, pred)
    ok = all(np.sign(a) == np.sign(b) for a, b in zip(meas, pred))
    fig, ax = plotting.new_axes()
    ax.plot(ks, meas, "o-", label="measured")
    ax.plot(ks, pred, "k--", marker="x", label="§8 model (bias + noise)")
    ax.axhline(0.0, color="grey", lw=0.8)
    for kstar, style in ((k_meas, ":"), (k_pred, "-.")):
        if kstar is not None:
            ax.axvline(kstar, color="grey", ls=style, lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(r"initialisation scale $\kappa$")
    ax.set_ylabel(r"slope of log(final error) on $\xi$")
    ax.set_title(r"(b) $\kappa$ panel: the $\xi$-trend holds where the slope is < 0", fontsize=9)
    ax.legend(fontsize=8)
    f = _savefig(fig, out, "fig2b_kappa_panel")
    _npz(out, "kappa_panel", kappas=ks, xis=xis, error=E, predicted=Pred, slope=np.array(meas),
         predicted_slope=np.array(pred))
    return _claim("kappa", "the xi-trend of Fig. 2(b) holds below a threshold kappa* and reverses above it, "
                  "as the plateau model of docs/theory.md §8 predicts (error ~ bias(xi) + kappa^2 noise(xi))",
                  dict(kappas=ks.tolist(), slope_measured=meas, slope_predicted=pred, kappa_star_measured=k_meas,
                       kappa_star_predicted=k_pred, p=S["k_p"], xis=xis.tolist()),
                  ok, f, verdicts=("holds", "does not hold"))


def _kappa_star(ks, slopes):
    """κ where the slope changes sign from < 0 (small κ) to > 0, interpolated in log κ; None if none."""
    order = np.argsort(ks)
    k, s = np.asarray(ks, float)[order], np.asarray(slopes, float)[order]
    for i in range(len(k) - 1):
        if np.isfinite(s[i]) and np.isfinite(s[i + 1]) and s[i] < 0 <= s[i + 1]:
            t = -s[i] / (s[i + 1] - s[i])
            return float(math.exp(math.log(k[i]) + t * (math.log(k[i + 1]) - math.log(k[i]))))
    return None


def _claim_c(runs, S, out):
    kappas = [c["kappa"] for c in runs.params("c")]
    E = runs.values("c", "plateau")
    r, pv = _spearman(S["widths"], E)
    fig, ax = plotting.new_axes()
    plotting.plot_final_error(S["widths"], E, xlabel=r"width $m$ ($\kappa \propto m^{-1/2}$)", ax=ax,
                              logx=True, label=f"$\\xi$ = {S['c_xi']}, p = {S['c_p']}")
    ax.set_title(f"(c) Spearman $\\rho$ = {r:.2f} (p-value {pv:.1g})")
    f = _savefig(fig, out, "fig2c_final_error_width")
    _npz(out, "fig2c", widths=np.array(S["widths"]), kappas=np.array(kappas), error=E)
    return _claim("c", "as m grows (with kappa reduced), the final error decreases",
                  dict(spearman_m=r, pvalue=pv, kappas=kappas, mean_error_by_m=E.mean(axis=1).tolist()),
                  r < 0 and pv < 0.05, f)


def _claim_d(runs, S, rep, out):
    F = runs.values("d", "contraction")
    first3 = np.array([[_first_steps_improvement(s, 3) for s in reps] for reps in runs.get("d")])
    eta = runs.params("d")[0]["eta"]
    pred = [check_theorem("liao2022.thm4", n=rep.n, lambda_0=rep.lam0_hat, lambda_max=rep.lam_max,
                          eta=eta, tau=S["cd_tau"], p=p).values["rate"] for p in S["cat_ps"]]
    r, pv = _spearman(S["cat_ps"], 1.0 - F)
    r3, pv3 = _spearman(S["cat_ps"], first3)
    fig, ax = plotting.new_axes()
    plotting.plot_contraction(S["cat_ps"], F, predicted=pred, ax=ax)
    ax.plot(S["cat_ps"], first3.mean(axis=1), "s:", label="first 3 global steps (LK22)")
    ax.legend(fontsize=8)
    ax.set_title(f"(d) categorical masks: Spearman $\\rho$ = {r:.2f} (p-value {pv:.1g})")
    f = _savefig(fig, out, "fig2d_improvement_categorical_p")
    _npz(out, "fig2d", ps=np.array(S["cat_ps"]), contraction=F, first3_improvement=first3,
         predicted_rate=np.array(pred))
    return _claim("d", "categorical masks: the per-global-step loss improvement decreases as p grows",
                  dict(spearman_p=r, pvalue=pv, mean_improvement_by_p=(1 - F.mean(axis=1)).tolist(),
                       spearman_p_first3=r3, pvalue_first3=pv3,
                       mean_first3_improvement_by_p=first3.mean(axis=1).tolist(),
                       predicted_rate_liao2022_thm4=pred), r < 0 and pv < 0.05, f)


def _claim_width(S, data, rep, out, **kw):
    stats, ok, fig, arrays = measure_width_panel(S, data, rep.lam_max, out, **kw)
    f = _savefig(fig, out, "width_scaling")
    _npz(out, "width", **arrays)
    return _claim("width", WIDTH_CLAIM, stats, ok, f, verdicts=("conservative", "not shown"))


def _first_steps_improvement(s: RunSummary, k: int) -> float:
    """LK22's per-step improvement ``1 − L_{j+1}/L_j`` averaged over the first ``k`` global steps."""
    L = np.asarray(s.head["loss"], dtype=float)[: k + 1]
    return float(np.mean(1.0 - L[1:] / L[:-1])) if L.size > 1 else math.nan


def _regimes(claims, S) -> list:
    """Plain sentences: which claim holds in which regime (from the verdicts and statistics)."""
    by = {c["id"]: c for c in claims}
    out = []
    if "a" in by:
        st = by["a"]["statistics"]
        out.append(f"(a) three movements at eta = {fmt(st['eta_times_lambda_max'])}/lambda_max, tau = {st['tau']}, "
                   f"kappa = {st['kappa']}, first {st['local_iterations']} local iterations: {by['a']['verdict']} "
                   f"(up {fmt(st['up_at_sampling'], 3)}, local {fmt(st['down_during_local_steps'], 3)}, "
                   f"aggregation {fmt(st['down_at_aggregation'], 3)}, CV {fmt(st['median_cv_across_seeds'], 3)})")
    if "kappa" in by:
        st = by["kappa"]["statistics"]
        neg = [k for k, s in zip(st["kappas"], st["slope_measured"]) if s < 0]
        pos = [k for k, s in zip(st["kappas"], st["slope_measured"]) if s >= 0]
        out.append(f"xi-trend (error falls as xi grows): holds at kappa in {neg or 'none'}, reverses at kappa in "
                   f"{pos or 'none'} (kappa* ~ {fmt(st['kappa_star_measured'])} measured, "
                   f"{fmt(st['kappa_star_predicted'])} predicted by the §8 model); sign predicted at every kappa: "
                   f"{by['kappa']['verdict']}")
    if "b_xi" in by:
        bp = by["b_xi"]["extra_checks"][0]
        out.append(f"(b) at kappa = {S['b_kappa']}: xi-trend {by['b_xi']['verdict']}, p-trend {bp['verdict']}")
    if "width" in by:
        for name, st in by["width"]["statistics"]["conclusions"].items():
            nominal = ", ".join(f"{t} n^{fmt(v['nominal'], 2)}" for t, v in st["theorems"].items())
            out.append(f"width ({name}): m* = {', '.join(fmt(m) for m in st['m_star'])} at n = "
                       f"{', '.join(map(str, st['ns']))}, m* ~ n^{fmt(st['b'], 3)} [{fmt(st['b_ci'][0], 3)}, "
                       f"{fmt(st['b_ci'][1], 3)}] against {nominal}")
    return out


def _check_ntk(ds, S, out, progress):
    H = ntk_infinite(ds.X)
    rngs = np.random.default_rng(12345).spawn(S["ntk_seeds"])
    E = np.empty((len(S["ntk_widths"]), S["ntk_seeds"]))
    bar = Progress(E.size, "ntk concentration", enabled=progress)
    for i, m in enumerate(S["ntk_widths"]):
        for j, g in enumerate(rngs):
            D = ntk_at_init(ds.X, m, rng=g.spawn(1)[0]) - H
            E[i, j] = float(np.max(np.abs(np.linalg.eigvalsh(D))))
            bar.update(i * E.shape[1] + j + 1)
    bar.close()
    slope = float(np.polyfit(np.log(S["ntk_widths"]), np.log(E.mean(axis=1)), 1)[0])
    per_seed = [float(np.polyfit(np.log(S["ntk_widths"]), np.log(E[:, j]), 1)[0]) for j in range(E.shape[1])]
    fig, ax = plotting.new_axes()
    plotting.plot_ntk_concentration(S["ntk_widths"], E, ax=ax)
    ax.set_title("NTK concentration at initialisation")
    f = _savefig(fig, out, "ntk_concentration")
    _npz(out, "ntk_concentration", widths=np.array(S["ntk_widths"]), error=E)
    return _claim("ntk", "||H(0) - H_inf||_2 decreases as m^(-1/2) (DZPS19 Lemma 3.1 concentration)",
                  dict(slope=slope, slope_per_seed=per_seed, reference=-0.5), abs(slope + 0.5) <= 0.1, f,
                  verdicts=("holds", "does not hold"))


# ----------------------------------------------------------------------------- helpers


def _claim(cid, text, stats, ok, figure, verdicts=("reproduced", "not reproduced")):
    figs = figure if isinstance(figure, list) else [figure]
    return jsonable(dict(id=cid, claim=text, rule=RULES[cid], statistics=stats,
                       verdict=verdicts[0] if ok else verdicts[1], figures=figs))


def _spearman(values, Y):
    Y = np.asarray(Y, dtype=float)
    return _spearman_flat(np.repeat(np.asarray(values, dtype=float), Y.shape[1]), Y.reshape(-1))


def _spearman_flat(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(y)
    res = spearmanr(x[keep], y[keep])
    return float(res.statistic), float(res.pvalue)


def _fig2():
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    return fig, fig.subplots(1, 2)


def _savefig(fig, out, name):
    plotting.save_figure(fig, os.path.join(out, "figures", name))
    return f"figures/{name}.png"


def _npz(out, name, **arrays):
    write_npz(os.path.join(out, "data", f"{name}.npz"), **arrays)


def _save(summary, out):
    atomic_write(os.path.join(out, "summary.json"), json_text(jsonable(summary)))


def summary_blocks(summary: dict) -> list:
    """Report blocks of a reproduction summary (:mod:`ntkcheck.report`)."""
    S = summary["sizes"]
    blocks = [("h1", "Reproducing Liao & Kyrillidis (TMLR 2022), Fig. 2 — ntkcheck"),
              ("p", f"Size: {summary['size']} (n = {summary['data']['n']}, d = {summary['data']['d']}, "
                    f"m = {S['m']}, {S['seeds']} seeds per configuration, {summary['runs']} training runs); "
                    f"data: {summary['data']['source']}; lambda_0 = {fmt(summary['lambda_0'])}, lambda_max = "
                    f"{fmt(summary['lambda_max'])}. Status: {summary.get('status', 'running')}, "
                    f"{fmt(summary.get('seconds'))} s."),
              ("p", "LK22 used n = 1000, d = 2048; these are analogues at a smaller size, run in the paper's "
                    "regime (small step and small initialisation scale kappa where its theorems apply; the "
                    "kappa panel shows what changes outside it). Every verdict follows the stated rule, fixed "
                    "before running; a claim that is not reproduced is reported as such.")]
    if summary.get("regimes"):
        blocks.append(("h2", "Which claim holds in which regime"))
        blocks.append(("ul", list(summary["regimes"])))
    rows = []
    claims = list(summary["claims"])
    for c in list(claims):
        claims += c.get("extra_checks", [])
    for c in claims:
        st = "; ".join(f"{k} = {fmt(v, 3)}" for k, v in c["statistics"].items()
                       if not isinstance(v, (list, dict)))
        rows.append([c["id"], c["claim"], c["verdict"], st])
    blocks.append(("table", ["", "claim", "verdict", "statistic"], rows))
    blocks.append(("h2", "Rules"))
    blocks.append(("ul", [f"({c['id']}) {c['rule']}" for c in claims]))
    blocks.append(("h2", "Figures"))
    for c in claims:
        for f in c["figures"]:
            blocks.append(("img", f, f"({c['id']}) {c['claim']}"))
    return blocks
