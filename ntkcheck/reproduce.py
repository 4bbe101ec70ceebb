"""Reproduce the empirical claims of LK22 §5 / Fig. 2 (theory.md §7) on built-in data.

Analogues of the four panels, at a size that runs in seconds (``quick``) or minutes (default),
on points uniform on the sphere with teacher labels (not LK22's n = 1000, d = 2048 data):

* (a) the loss trajectory of Algorithm 1 shows three movements per global step — up at mask
  sampling, down during local steps, down at aggregation — and varies little across seeds;
* (b) Bernoulli masks, fixed τ: the final error decreases as ξ grows and as p grows;
* (c) as m grows (κ reduced with it, κ ∝ m^{-1/2}), the final error decreases;
* (d) categorical masks: the per-global-step loss improvement decreases as p grows;

plus three checks of the theory behind them: the NTK concentration ``‖H(0) − H∞‖₂ ∝ m^{-1/2}``
(log–log slope), ``λ_min(H(W_k))`` along training against ``λ0/2`` (DZPS19 Lemma 3.2), and the
weight movement against R and R' (DZPS19).  Each verdict is computed from the runs with a rule
fixed in advance (below, :data:`RULES`) and is reported whether or not it matches the paper.

"Final error" is the mean of ``L_k = ‖y − u_k‖²`` over the last 10% of the global steps (the
plateau); the per-global-step improvement is ``1 − c`` with ``c`` the fitted contraction
(:func:`ntkcheck.verify.fit_contraction`).  Seed s draws its initialisation and masks from
``default_rng(s)`` (:func:`ntkcheck.experiment.run_seed`), so every number can be replayed.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import replace

import numpy as np

__all__ = ["SIZES", "RULES", "reproduce_liao2022"]

#: Problem sizes. ``quick`` runs in well under a minute on 2 cores, ``default`` in a few.
SIZES = {
    "quick": dict(n=64, d=16, m=512, steps=40, tau=4, seeds=3, a_xi=0.5, a_p=2,
                  xis=(0.25, 0.5, 0.75, 1.0), xi_p=2, ps=(1, 2, 4, 8), p_xi=0.25,
                  widths=(128, 512, 2048), c_xi=0.5, c_p=2, cat_ps=(1, 2, 4, 8),
                  ntk_widths=tuple(2**k for k in range(7, 15)), ntk_seeds=3),
    "default": dict(n=200, d=32, m=1024, steps=150, tau=4, seeds=5, a_xi=0.5, a_p=2,
                    xis=(0.125, 0.25, 0.5, 0.75, 1.0), xi_p=2, ps=(1, 2, 4, 8, 16), p_xi=0.25,
                    widths=(256, 1024, 4096, 8192), c_xi=0.5, c_p=2, cat_ps=(1, 2, 4, 8, 16),
                    ntk_widths=tuple(2**k for k in range(8, 17)), ntk_seeds=5),
}

#: The rule behind each verdict (fixed before running; never tuned to the outcome).
RULES = {
    "a": "each movement is seen in >= 90% of (global step, seed) pairs, and the median over k of "
         "the across-seed coefficient of variation of L_k is <= 0.1",
    "b": "Spearman rank correlation of the final error with xi (and with p) over all runs is "
         "negative with two-sided p-value < 0.05",
    "c": "Spearman rank correlation of the final error with m over all runs is negative with "
         "p-value < 0.05",
    "d": "Spearman rank correlation of the per-global-step improvement with p over all runs is "
         "negative with p-value < 0.05",
    "ntk": "the least-squares slope of log ||H(0) - H_inf||_2 on log m is within 0.1 of -1/2",
    "lambda_min": "min over training and seeds of lambda_min(H(W_k)) >= lambda_0/2",
    "movement": "max over training and seeds of max_r ||w_r(k) - w_r(0)|| <= R' (and <= R)",
}


def reproduce_liao2022(out, *, quick: bool = False, progress: bool = True, sizes: dict | None = None) -> dict:
    """Run the LK22 Fig. 2 analogues, write figures and a summary into ``out``; return it.

    Parameters
    ----------
    out : str or path-like
        Output folder: ``summary.json``, ``summary.md``, ``summary.html``, ``figures/``,
        ``data/*.npz`` (the raw numbers behind each figure, written as each part finishes).
    quick : bool, default False
        Use :data:`SIZES` ``["quick"]`` (under a minute) instead of ``["default"]``.
    progress : bool, default True
        Progress on stderr.
    sizes : dict, optional
        Override entries of the chosen size (for tests and exploration).

    Returns
    -------
    dict
        The summary (also in ``summary.json``): ``claims``, a list with ``id``, ``claim``,
        ``rule``, ``statistics``, ``verdict`` (``"reproduced"`` / ``"not reproduced"``) and
        ``figure``.
    """
    from ._progress import Progress
    from .assumptions import check_assumptions
    from .data import sphere
    from .experiment import RunConfig, _dumps, atomic_write, prepare

    S = dict(SIZES["quick" if quick else "default"])
    S.update(sizes or {})
    out = os.fspath(out)
    os.makedirs(os.path.join(out, "figures"), exist_ok=True)
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    t0 = time.perf_counter()
    ds = sphere(S["n"], S["d"], rng=0)
    rep = check_assumptions(ds.X, ds.y)
    seeds = tuple(range(S["seeds"]))
    base = RunConfig(data=ds.name, scheme="bernoulli", m=S["m"], steps=S["steps"],
                     local_steps=S["tau"], p=S["a_p"], xi=S["a_xi"], seeds=seeds,
                     record="loss", identity_samples=0)
    base_prep = prepare(base, ds, assumptions=rep)
    n_runs = len(seeds) * (1 + len(S["xis"]) + len(S["ps"]) + len(S["widths"]) + len(S["cat_ps"]))
    bar = Progress(n_runs + len(S["ntk_widths"]) * S["ntk_seeds"], "reproduce", enabled=progress)
    state = dict(done=0)

    def runs(**changes):
        from .experiment import run_seed

        m = changes.pop("m", None)
        kappa = changes.pop("kappa", None)
        prep = prepare(replace(base, **changes), ds, assumptions=rep)
        res = []
        for s in seeds:
            res.append(run_seed(prep, s, identities=False, m=m, kappa=kappa).result.trajectory)
            state["done"] += 1
            bar.update(state["done"])
        return prep, res

    summary = dict(paper="Liao & Kyrillidis, TMLR 2022 (arXiv 2112.02668), Fig. 2 / §5",
                   size="quick" if quick else "default", sizes=S, data=ds.describe(),
                   lambda_0=rep.lam0_hat, lambda_max=rep.lam_max, eta=base_prep.eta, claims=[])
    parts = (lambda: _claim_a(runs, S, rep, base_prep, out), lambda: _claim_b(runs, S, out),
             lambda: _claim_c(runs, S, out), lambda: _claim_d(runs, S, base_prep, rep, out),
             lambda: _check_ntk(ds, S, out, bar, state))
    try:
        for part in parts:
            t1 = time.perf_counter()
            claim = part()
            claim["seconds"] = round(time.perf_counter() - t1, 2)
            summary["claims"].append(claim)
            _save(summary, out, atomic_write, _dumps)
        summary["status"] = "completed"
    except KeyboardInterrupt:
        summary["status"] = "interrupted"
    finally:
        bar.close()
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    _save(summary, out, atomic_write, _dumps)
    from .report import write_report

    write_report(summary_blocks(summary), out, title="ntkcheck reproduce liao2022", stem="summary")
    return summary


# ----------------------------------------------------------------------------- the claims


def _claim_a(runs, S, rep, prep, out):
    from . import plotting
    from .verify import check_theorem

    prep_a, trajs = runs(record="standard")
    up = np.concatenate([t.sampled_loss > t.loss[:-1] for t in trajs])
    local_end = [t.local_loss[:, -1, :].mean(axis=1) for t in trajs]
    down = np.concatenate([le < t.sampled_loss for le, t in zip(local_end, trajs)])
    agg = np.concatenate([t.loss[1:] < le for le, t in zip(local_end, trajs)])
    L = np.stack([t.loss for t in trajs])
    cv = float(np.median(L.std(axis=0, ddof=1) / L.mean(axis=0))) if len(trajs) > 1 else float("nan")
    fr = dict(up_at_sampling=float(up.mean()), down_during_local_steps=float(down.mean()),
              down_at_aggregation=float(agg.mean()), median_cv_across_seeds=cv)
    ok = min(fr["up_at_sampling"], fr["down_during_local_steps"], fr["down_at_aggregation"]) >= 0.9 and cv <= 0.1
    fig, axes = _fig2()
    plotting.plot_three_movements(trajs, steps=6, ax=axes[0])
    axes[0].set_title(f"(a) Bernoulli, $\\xi$={S['a_xi']}, p={S['a_p']}, $\\tau$={S['tau']}: first steps")
    plotting.plot_loss(trajs, ax=axes[1], label="L_k")
    axes[1].set_title("(a) whole trajectory")
    fa = _savefig(fig, out, "fig2a_loss_trajectory")
    # theory checks on the same runs: lambda_min vs lambda_0/2 and movement vs R, R'
    lam = float(min(np.nanmin(t.lam_min_full) for t in trajs))
    fig, ax = plotting.new_axes()
    plotting.plot_lambda_min(trajs, lam0=rep.lam0_hat, xi=prep_a.xi, ax=ax)
    fl = _savefig(fig, out, "lambda_min_training")
    r0 = float(np.mean([math.sqrt(t.loss[0]) for t in trajs]))
    vals = dict(n=rep.n, lambda_0=rep.lam0_hat, delta=0.1, m=S["m"], r0=r0)
    R = check_theorem("du2019.lemma3_2", **vals).values["radius"]
    Rp = check_theorem("du2019.thm4_1", **vals).values["radius_movement"]
    mv = float(max(np.nanmax(t.max_movement) for t in trajs))
    fig, ax = plotting.new_axes()
    plotting.plot_movement(trajs, R=R, R_prime=Rp, ax=ax)
    fm = _savefig(fig, out, "movement_vs_radii")
    _npz(out, "fig2a", loss=L, sampled=np.stack([t.sampled_loss for t in trajs]),
         local=np.stack([t.local_loss for t in trajs]), lam_min=np.stack([t.lam_min_full for t in trajs]),
         movement=np.stack([t.max_movement for t in trajs]))
    a = _claim("a", "the loss trajectory shows three movements per global step (up at sampling, "
               "down during local steps, down at aggregation); variance across seeds is tiny",
               fr, ok, fa)
    a["extra_checks"] = [
        _claim("lambda_min", "lambda_min(H(W_k)) stays above lambda_0/2 along training "
               "(DZPS19 Lemma 3.2; LK22 Thm 2)", dict(min_lambda_min=lam, half_lambda_0=rep.lam0_hat / 2),
               lam >= rep.lam0_hat / 2, fl, verdicts=("holds", "does not hold")),
        _claim("movement", "weights stay within R' (DZPS19 Thm 4.1 proof) and R (Lemma 3.2)",
               dict(max_movement=mv, R_prime=Rp, R=R, within_R_prime=mv <= Rp, within_R=mv <= R),
               mv <= Rp and mv <= R, fm, verdicts=("holds", "does not hold")),
    ]
    return a


def _claim_b(runs, S, out):
    from . import plotting
    from .verify import plateau

    E_xi = np.array([[plateau(t.loss) for t in runs(xi=xi, p=S["xi_p"])[1]] for xi in S["xis"]])
    E_p = np.array([[plateau(t.loss) for t in runs(p=p, xi=S["p_xi"])[1]] for p in S["ps"]])
    rx, px = _spearman(S["xis"], E_xi)
    rp, pp = _spearman(S["ps"], E_p)
    ok = rx < 0 and px < 0.05 and rp < 0 and pp < 0.05
    fig, axes = _fig2()
    plotting.plot_final_error(S["xis"], E_xi, xlabel=r"keep probability $\xi$", ax=axes[0],
                              label=f"p = {S['xi_p']}")
    axes[0].set_title(f"(b) Spearman $\\rho$ = {rx:.2f} (p-value {px:.1g})")
    plotting.plot_final_error(S["ps"], E_p, xlabel="subnetworks $p$", ax=axes[1], logx=True,
                              label=f"$\\xi$ = {S['p_xi']}")
    axes[1].set_title(f"(b) Spearman $\\rho$ = {rp:.2f} (p-value {pp:.1g})")
    f = _savefig(fig, out, "fig2b_final_error_xi_p")
    _npz(out, "fig2b", xis=np.array(S["xis"]), error_xi=E_xi, ps=np.array(S["ps"]), error_p=E_p)
    stats = dict(spearman_xi=rx, pvalue_xi=px, spearman_p=rp, pvalue_p=pp,
                 mean_error_by_xi=E_xi.mean(axis=1).tolist(), mean_error_by_p=E_p.mean(axis=1).tolist())
    return _claim("b", "Bernoulli masks, fixed tau: the final error decreases as xi grows and as p grows",
                  stats, ok, f)


def _claim_c(runs, S, out):
    from . import plotting
    from .verify import plateau

    m0 = S["widths"][0]
    kappas = [math.sqrt(m0 / m) for m in S["widths"]]
    E = np.array([[plateau(t.loss) for t in runs(xi=S["c_xi"], p=S["c_p"], m=m, kappa=k)[1]]
                  for m, k in zip(S["widths"], kappas)])
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


def _claim_d(runs, S, prep, rep, out):
    from . import plotting
    from .verify import check_theorem, fit_contraction

    F, pred = [], []
    for p in S["cat_ps"]:
        prep_p, trajs = runs(scheme="ist-categorical", p=p, xi=None)
        F.append([fit_contraction(t.loss)["factor"] for t in trajs])
        pred.append(check_theorem("liao2022.thm4", n=rep.n, lambda_0=rep.lam0_hat, lambda_max=rep.lam_max,
                                  eta=prep.eta, tau=S["tau"], p=p).values["rate"])
    F = np.array(F)
    r, pv = _spearman(S["cat_ps"], 1.0 - F)
    fig, ax = plotting.new_axes()
    plotting.plot_contraction(S["cat_ps"], F, predicted=pred, ax=ax)
    ax.set_title(f"(d) categorical masks: Spearman $\\rho$ = {r:.2f} (p-value {pv:.1g})")
    f = _savefig(fig, out, "fig2d_improvement_categorical_p")
    _npz(out, "fig2d", ps=np.array(S["cat_ps"]), contraction=F, predicted_rate=np.array(pred))
    return _claim("d", "categorical masks: the per-global-step loss improvement decreases as p grows",
                  dict(spearman_p=r, pvalue=pv, mean_improvement_by_p=(1 - F.mean(axis=1)).tolist(),
                       predicted_rate_liao2022_thm4=pred), r < 0 and pv < 0.05, f)


def _check_ntk(ds, S, out, bar, state):
    from . import plotting
    from .ntk import ntk_at_init, ntk_infinite

    H = ntk_infinite(ds.X)
    rngs = np.random.default_rng(12345).spawn(S["ntk_seeds"])
    E = np.empty((len(S["ntk_widths"]), S["ntk_seeds"]))
    for i, m in enumerate(S["ntk_widths"]):
        for j, g in enumerate(rngs):
            D = ntk_at_init(ds.X, m, rng=g.spawn(1)[0]) - H
            E[i, j] = float(np.max(np.abs(np.linalg.eigvalsh(D))))
            state["done"] += 1
            bar.update(state["done"])
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
    from ._json import jsonable

    figs = figure if isinstance(figure, list) else [figure]
    return jsonable(dict(id=cid, claim=text, rule=RULES[cid], statistics=stats,
                       verdict=verdicts[0] if ok else verdicts[1], figures=figs))


def _spearman(values, Y):
    from scipy.stats import spearmanr

    Y = np.asarray(Y, dtype=float)
    x = np.repeat(np.asarray(values, dtype=float), Y.shape[1])
    y = Y.reshape(-1)
    keep = np.isfinite(y)
    res = spearmanr(x[keep], y[keep])
    return float(res.statistic), float(res.pvalue)


def _fig2():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.8), layout="constrained")
    return fig, fig.subplots(1, 2)


def _savefig(fig, out, name):
    from .plotting import save_figure

    save_figure(fig, os.path.join(out, "figures", name))
    return f"figures/{name}.png"


def _npz(out, name, **arrays):
    import io

    from .experiment import atomic_write

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(os.path.join(out, "data", f"{name}.npz"), buf.getvalue())


def _save(summary, out, atomic_write, dumps):
    from ._json import jsonable

    atomic_write(os.path.join(out, "summary.json"), dumps(jsonable(summary)))


def summary_blocks(summary: dict) -> list:
    """Report blocks of a reproduction summary (:mod:`ntkcheck.report`)."""
    from .report import fmt

    S = summary["sizes"]
    blocks = [("h1", "Reproducing Liao & Kyrillidis (TMLR 2022), Fig. 2 — ntkcheck"),
              ("p", f"Size: {summary['size']} (n = {S['n']}, d = {S['d']}, m = {S['m']}, K = {S['steps']} "
                    f"global steps of tau = {S['tau']} local steps, {S['seeds']} seeds); data: "
                    f"{summary['data']['source']}; lambda_0 = {fmt(summary['lambda_0'])}, lambda_max = "
                    f"{fmt(summary['lambda_max'])}, eta = 1/lambda_max = {fmt(summary['eta'])}. "
                    f"Status: {summary.get('status', 'running')}, {fmt(summary.get('seconds'))} s."),
              ("p", "LK22 used n = 1000, d = 2048; these are analogues at a smaller size. Every verdict "
                    "follows the stated rule, fixed before running; a claim that is not reproduced at "
                    "this size is reported as such.")]
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
