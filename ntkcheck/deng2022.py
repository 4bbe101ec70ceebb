"""``ntkcheck reproduce deng2022``: sparsity and Gauss-Newton training of shifted-ReLU networks (DHSWZ22).

Deng, Hu, Song, Weinstein & Zhuo (2022, "Training overparametrized neural networks in sublinear
time", arXiv 2208.04508) train ``f_b(W, x) = m^{-1/2} Σ_r a_r max(<w_r, x> − b, 0)`` with
``w_r(0) ~ N(0, κ² I)`` (docs/theory.md §9).  Their claims, as measured here:

(i)   **firing** — ``|S_i| = O(m e^{−b²/2})`` neurons fire on an input; exactly
      ``E|S_i| = m Φ(−b/κ)`` for unit rows.  Per seed network, the mean over points of ``|S_i|``
      (:func:`ntkcheck.firing_fraction` times m) is compared with ``m Φ(−b/κ)`` by a z-test whose
      variance is exact: with ``c_r = (1/n) Σ_i 1{<w_r, x_i> ≥ b}`` i.i.d. over r,
      ``Var(mean_i |S_i|) = m [(1/n²) Σ_ij P_ij − Φ(−b/κ)²]``,
      ``P_ij = P(<w, x_i> ≥ b, <w, x_j> ≥ b)`` (bivariate-normal orthant, Owen's T, theory.md §4).
      Points within one network are dependent; networks (seeds) are independent.
(ii)  **stability** — few (i, r) pairs change firing status per Gauss-Newton iteration, relative
      to ``Σ_i |S_i|``, and fewer as m grows (lazy-training heuristic: ``∝ m^{-1/2}`` at fixed b).
(iii) **lambda_min** — ``λ_min(H_b∞) ≥ e^{−b²/2} δ_sep/(100 n²)`` for δ_sep-separated unit data,
      ``δ_sep = min_{i≠j} min(‖x_i − x_j‖, ‖x_i + x_j‖)``.
(iv)  **convergence** — Gauss-Newton (η = 1, μ = 0) halves the residual at every iteration, so
      O(log(n/ε)) iterations reach ε.
(v)   **cost** — with ``b = κ √(2α log m)`` the time per iteration is ``Õ(m^{1−α} n d + n³)``:
      the sparse engine (:class:`ntkcheck.fired.SparseFiredEngine`) against the dense one, with
      the counts behind it (``Σ_i |S_i|``, ``|U|``, pairs rechecked).

Verdicts follow :data:`RULES`, fixed before running.  The computation runs directly in this
process (no sweep store); an interrupted reproduction writes what it has computed so far.
"""

from __future__ import annotations

import math
import os
import time
import warnings

import numpy as np
from scipy.special import ndtr, ndtri
from threadpoolctl import threadpool_limits

from . import plotting
from ._config import NumericalWarning
from ._io import atomic_write, write_npz
from ._json import json_text, jsonable
from ._outdir import claim_output_dir
from ._progress import Progress
from ._stats import fit_slope, loglog_exponent
from ._validation import check_X
from .assumptions import min_separation
from .eigen import min_eigenvalue
from .network import init_network
from .ntk import _orthant_probability, angles, firing_fraction, ntk_infinite
from .deng2022_report import report_blocks
from .report import fmt, write_report
from .train import train
from .unit import load_data

__all__ = ["SIZES", "RULES", "KAPPA", "FIRING_LEVEL", "reproduce_deng2022", "firing_variance", "loglog_exponent"]

SEED = 2022
#: Initialisation scale κ of every network here.
KAPPA = 1.0
#: Familywise level of the firing z-tests (Bonferroni over the (m, b) cells).
FIRING_LEVEL = 0.01
#: Problem sizes (``quick`` well under a minute on 2 cores; ``default`` a few minutes).
SIZES = {
    "quick": dict(n=50, d=16, firing_widths=(1024, 4096, 16384), shifts=(0.5, 1.0, 1.5, 2.0, 2.5), firing_seeds=6,
                  lam_ns=(25, 50, 100), lam_shifts=(0.0, 0.5, 1.0, 1.5, 2.0, 2.5),
                  gn_shift=1.0, gn_widths=(1024, 4096, 16384), gn_seeds=3, gn_steps=8, eps=1e-8,
                  cost_widths=(1024, 4096, 16384), alphas=(0.3, 0.5), cost_steps=8, cost_repeats=3,
                  cost_damping=1e-6),
    "default": dict(n=100, d=32, firing_widths=(1024, 4096, 16384), shifts=(0.5, 1.0, 1.5, 2.0, 2.5),
                    firing_seeds=10, lam_ns=(50, 100, 200), lam_shifts=(0.0, 0.5, 1.0, 1.5, 2.0, 2.5),
                    gn_shift=1.0, gn_widths=(1024, 2048, 4096, 8192, 16384), gn_seeds=4, gn_steps=10, eps=1e-8,
                    cost_widths=(1024, 2048, 4096, 8192, 16384, 32768, 65536), alphas=(0.3, 0.5), cost_steps=12,
                    cost_repeats=3, cost_damping=1e-6),
}
#: The rule behind each verdict (fixed before running).
RULES = {
    "firing": "for every width m and shift b (kappa = 1), |z| <= z*, where z = (mean over seed networks of the "
              "per-network mean over points of |S_i| - m Phi(-b/kappa)) / sqrt(Var / seeds) with Var the exact "
              "variance of the per-network mean over the random weights, and z* the two-sided Bonferroni "
              "threshold for a familywise level of 1% over the (m, b) cells; and every per-network mean is "
              "<= the bound m exp(-b^2 / (2 kappa^2))",
    "stability": "in every Gauss-Newton run (eta = 1, mu = 0, fixed b), every iteration after the first changes "
                 "the firing status of fewer than 1% of the fired pairs (relative to sum_i |S_i| before the "
                 "iteration); and the least-squares slope of log(mean over seeds of the cumulative fraction of "
                 "status changes) on log(m) has a 95% bootstrap interval (over seeds) entirely below 0 (the "
                 "lazy-training heuristic predicts -1/2). The first iteration's fraction is reported, not ruled",
    "lambda_min": "for every n and b, lambda_min(H_b_inf) >= exp(-b^2/2) delta_sep / (100 n^2) on unit data "
                  "uniform on the sphere, delta_sep = min_{i != j} min(||x_i - x_j||, ||x_i + x_j||)",
    "convergence": "every Gauss-Newton run (eta = 1, mu = 0) completes without a singular system, reaches "
                   "||f_t - y|| <= eps within its iterations, and ||f_{t+1} - y|| / ||f_t - y|| <= 1/2 at every "
                   "iteration t before it does",
    "cost": "for each alpha, with b = kappa sqrt(2 alpha log m): the least-squares exponent on m of the wall time "
            "per iteration (median over iterations of the minimum over repeated identical runs, which removes "
            "load spikes of a shared machine) is smaller for the sparse engine than for the dense engine, and the sparse "
            "exponent is <= 1 - alpha + 0.25; and the least-squares exponent of sum_i |S_i| (at initialisation) "
            "on m is within 0.1 of 1 - alpha",
}
_ORDER = ("firing", "stability", "lambda_min", "convergence", "cost")
_CLAIMS = {
    "firing": "|S_i| = O(m exp(-b^2/2)) neurons fire per input (exactly m Phi(-b/kappa) in expectation)",
    "stability": "the fired sets are stable during Gauss-Newton training: few (i, r) status changes per "
                 "iteration, fewer as m grows",
    "lambda_min": "lambda_min(H_b_inf) >= exp(-b^2/2) delta_sep / (100 n^2) for delta_sep-separated unit data",
    "convergence": "Gauss-Newton (eta = 1, mu = 0) halves the residual per iteration: O(log(n/eps)) iterations",
    "cost": "per-iteration cost O~(m^(1-alpha) n d + n^3) with b = kappa sqrt(2 alpha log m): sublinear in m",
}


def firing_variance(X, shift: float, *, kappa: float = 1.0) -> float:
    """Exact variance of ``c_r = (1/n) Σ_i 1{<w_r, x_i> ≥ b}`` for one neuron, ``w_r ~ N(0, κ² I)``.

    ``Var(c_r) = (1/n²) Σ_ij P_ij − Φ(−b/κ)²`` with ``P_ij`` the bivariate-normal upper-orthant
    probability at correlation ``cos φ_ij`` (docs/theory.md §4); the per-network mean over points
    of ``|S_i|`` is ``Σ_r c_r`` and has variance ``m Var(c_r)``.

    Parameters
    ----------
    X : array_like of shape (n, d)
        Unit rows.
    shift : float
        b ≥ 0.
    kappa : float, default 1.0

    Returns
    -------
    float
    """
    X = check_X(X, unit_norm=True)
    t = float(shift) / float(kappa)
    phi = angles(X)
    if t == 0.0:
        P = (np.pi - phi) / (2 * np.pi)
    else:
        P = _orthant_probability(np.full(X.shape[0], t), phi)
    return max(0.0, float(P.mean()) - float(ndtr(-t)) ** 2)


def reproduce_deng2022(out, *, quick: bool = False, progress: bool = True, sizes: dict | None = None,
                       data: str | None = None, force: bool = False, log=None) -> dict:
    """Measure the five claims of DHSWZ22 (docs/theory.md §9); write figures and a summary into ``out``.

    Parameters
    ----------
    out : str or path-like
        Output folder (:func:`ntkcheck._outdir.claim_output_dir` rules; ``force`` replaces an
        earlier reproduction).
    quick : bool, default False
        The ``quick`` entry of :data:`SIZES` (under a minute) instead of ``default``.
    progress : bool, default True
        Progress on stderr.
    sizes : dict, optional
        Overrides of :data:`SIZES` entries.
    data : str, optional
        Dataset spec (unit rows) for claims (i), (ii), (iv) and (v); default
        ``sphere:n=..,d=..,seed=0``.  Claim (iii) always uses spheres of the sizes ``lam_ns``.
    force : bool, default False
    log : callable, optional
        Receives one-line progress messages.

    Returns
    -------
    dict
        The summary (also ``summary.json``): ``claims`` (``id``, ``claim``, ``rule``,
        ``statistics``, ``verdict``, ``figures``, ``details``) and ``status``
        ("completed" or "interrupted", with the claims finished so far).
    """
    S = dict(SIZES["quick" if quick else "default"])
    S.update(sizes or {})
    out = os.fspath(out)
    log = log or (lambda msg: None)
    t0 = time.perf_counter()
    data = data or f"sphere:n={S['n']},d={S['d']},seed=0"
    ds = load_data(data).dataset
    X = check_X(ds.X, unit_norm=True)
    y = np.asarray(ds.y, float)
    summary = dict(paper="Deng, Hu, Song, Weinstein & Zhuo 2022 (arXiv 2208.04508), shifted-ReLU NTK and "
                         "sublinear Gauss-Newton training", size="quick" if quick else "default", sizes=S,
                   data=ds.describe(), kappa=KAPPA, claims=[], status="running")
    claim_output_dir(out, kind="reproduce", force=force)
    os.makedirs(os.path.join(out, "figures"), exist_ok=True)
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    arrays: dict = {}
    ctx = dict(S=S, X=X, y=y, out=out, arrays=arrays, log=log, progress=progress, bar=None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumericalWarning)  # singular/diverged runs are recorded as such
            log("claim (i): firing counts against m Phi(-b/kappa)")
            summary["claims"].append(_firing(ctx))
            log("claim (iii): lambda_min(H_b_inf) against its bound")
            summary["claims"].append(_lambda(ctx))
            log("claims (ii), (iv): Gauss-Newton runs")
            summary["claims"] += _gauss_newton(ctx)
            log("claim (v): time per iteration, sparse and dense engines")
            summary["claims"].append(_cost(ctx))
        summary["status"] = "completed"
    except KeyboardInterrupt:
        summary["status"] = "interrupted"
        if ctx["bar"] is not None:
            ctx["bar"].close("interrupted")
    summary["claims"].sort(key=lambda c: _ORDER.index(c["id"]))
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    if arrays:
        write_npz(os.path.join(out, "data", "deng2022.npz"), **arrays)
    atomic_write(os.path.join(out, "summary.json"), json_text(jsonable(summary)))
    write_report(report_blocks(summary, RULES, _ORDER), out, title="ntkcheck reproduce deng2022", stem="summary")
    return summary


# --------------------------------------------------------------------------- the five panels


def _bar(ctx, total: int, desc: str) -> Progress:
    ctx["bar"] = Progress(total, f"deng2022 {desc}", enabled=ctx["progress"])
    ctx["done"] = 0
    return ctx["bar"]


def _tick(ctx, **fields):
    ctx["done"] += 1
    ctx["bar"].update(ctx["done"], **fields)


def _done(ctx):
    ctx["bar"].close()
    ctx["bar"] = None


def _claim(cid, stats, ok, figures, details):
    return jsonable(dict(id=cid, claim=_CLAIMS[cid], rule=RULES[cid], statistics=stats,
                         verdict="holds" if ok else "does not hold", figures=figures, details=details))


def _firing(ctx) -> dict:
    S, X = ctx["S"], ctx["X"]
    n, d = X.shape
    widths, shifts, seeds = list(S["firing_widths"]), list(S["shifts"]), int(S["firing_seeds"])
    C = np.empty((len(widths), len(shifts), seeds))  # per-network mean over points of |S_i|
    Cmax = np.empty_like(C)  # per-network max over points of |S_i|
    _bar(ctx, len(widths) * seeds, "(i) firing")
    for k, m in enumerate(widths):
        for s in range(seeds):
            W = init_network(d, m, kappa=KAPPA, rng=_seed(1, m, s)).W
            for j, b in enumerate(shifts):
                counts = firing_fraction(X, W, shift=b) * m  # |S_i|, exact integers
                C[k, j, s] = counts.mean()
                Cmax[k, j, s] = counts.max()
            _tick(ctx, m=m)
    _done(ctx)
    cells = len(widths) * len(shifts)
    zcrit = float(-ndtri(FIRING_LEVEL / (2 * cells)))
    var_c = np.array([firing_variance(X, b, kappa=KAPPA) for b in shifts])
    details, zs, worst_bound, ratios = [], [], 0.0, []
    for k, m in enumerate(widths):
        for j, b in enumerate(shifts):
            p = float(ndtr(-b / KAPPA))
            expected, bound = m * p, m * math.exp(-b * b / (2 * KAPPA ** 2))
            sd_exact = math.sqrt(m * var_c[j])
            mean = float(C[k, j].mean())
            se = sd_exact / math.sqrt(seeds)
            z = (mean - expected) / se if se > 0 else (0.0 if mean == expected else math.inf)
            zs.append(z)
            worst_bound = max(worst_bound, float(C[k, j].max()) / bound)
            ratios.append(bound / expected)
            details.append(dict(m=m, b=b, expected=expected, mean=mean, z=z, sd_exact=sd_exact,
                                sd_seeds=float(C[k, j].std(ddof=1)) if seeds > 1 else math.nan,
                                bound=bound, bound_over_expected=bound / expected,
                                max_mean_over_bound=float(C[k, j].max()) / bound,
                                max_point_over_bound=float(Cmax[k, j].max()) / bound))
    sd_ratio = [r["sd_seeds"] / r["sd_exact"] for r in details if r["sd_exact"] > 0]
    ok = max(abs(z) for z in zs) <= zcrit and worst_bound <= 1.0
    stats = dict(max_abs_z=max(abs(z) for z in zs), z_threshold=zcrit, cells=cells, seeds=seeds, n=n,
                 max_mean_over_bound=worst_bound,
                 max_point_over_bound=max(r["max_point_over_bound"] for r in details),
                 bound_over_expectation_min=min(ratios), bound_over_expectation_max=max(ratios),
                 median_sd_seeds_over_sd_exact=float(np.median(sd_ratio)) if sd_ratio else math.nan)
    ctx["arrays"].update(firing_widths=np.array(widths), firing_shifts=np.array(shifts), firing_mean=C,
                         firing_max=Cmax, firing_var_c=var_c)
    ax = plotting.plot_firing_vs_shift(shifts, widths, C, kappa=KAPPA)
    ax.set_title(f"(i) fired neurons per input, n = {n}, {seeds} networks per point", fontsize=9)
    plotting.save_figure(ax.figure, os.path.join(ctx["out"], "figures", "firing_vs_shift"))
    return _claim("firing", stats, ok, ["figures/firing_vs_shift.png"], details)


def _lambda(ctx) -> dict:
    S = ctx["S"]
    ns, shifts = list(S["lam_ns"]), list(S["lam_shifts"])
    lam = np.empty((len(ns), len(shifts)))
    bound = np.empty_like(lam)
    seps, details = [], []
    _bar(ctx, len(ns), "(iii) lambda_min")
    for k, n in enumerate(ns):
        Xn = check_X(load_data(f"sphere:n={n},d={S['d']},seed=0").dataset.X, unit_norm=True)
        sep = min_separation(Xn)
        seps.append(sep)
        for j, b in enumerate(shifts):
            lam[k, j] = min_eigenvalue(ntk_infinite(Xn, shift=b))
            bound[k, j] = math.exp(-b * b / 2) * sep / (100 * n * n)
            details.append(dict(n=n, b=b, delta_sep=sep, lambda_min=float(lam[k, j]), bound=float(bound[k, j]),
                                ratio=float(lam[k, j] / bound[k, j])))
        _tick(ctx, n=n)
    _done(ctx)
    ratio = lam / bound
    ok = bool(np.all(lam >= bound))
    stats = dict(min_ratio=float(ratio.min()), max_ratio=float(ratio.max()), median_ratio=float(np.median(ratio)),
                 min_delta_sep=float(min(seps)), d=S["d"])
    ctx["arrays"].update(lam_ns=np.array(ns), lam_shifts=np.array(shifts), lam_min=lam, lam_bound=bound,
                         lam_delta_sep=np.array(seps))
    ax = plotting.plot_lambda_vs_bound(shifts, ns, lam, bound)
    ax.set_title(f"(iii) sphere data, d = {S['d']}: measured / bound from {fmt(float(ratio.min()), 3)} "
                 f"to {fmt(float(ratio.max()), 3)}", fontsize=9)
    plotting.save_figure(ax.figure, os.path.join(ctx["out"], "figures", "lambda_min_vs_bound"))
    return _claim("lambda_min", stats, ok, ["figures/lambda_min_vs_bound.png"], details)


def _gauss_newton(ctx) -> list:
    S, X, y = ctx["S"], ctx["X"], ctx["y"]
    n, d = X.shape
    widths, seeds, K, b, eps = list(S["gn_widths"]), int(S["gn_seeds"]), int(S["gn_steps"]), S["gn_shift"], S["eps"]
    R = np.full((len(widths), seeds, K + 1), np.nan)  # residuals ||f_t - y||
    F = np.full((len(widths), seeds, K), np.nan)  # status changes / sum_i |S_i| per iteration
    status = np.empty((len(widths), seeds), dtype=object)
    _bar(ctx, len(widths) * seeds, "(ii, iv) Gauss-Newton")
    for k, m in enumerate(widths):
        for s in range(seeds):
            net = init_network(d, m, kappa=KAPPA, rng=_seed(2, m, s))
            try:
                res = train(X, y, net, scheme="gauss-newton", eta=1.0, global_steps=K, shift=b, damping=0.0,
                            engine="sparse", record="loss")
            except ValueError as exc:  # singular H_b(W_0) without damping
                status[k, s] = "singular"
                ctx["log"](f"m = {m}, seed {s}: {exc}")
                _tick(ctx, m=m)
                continue
            if res.status == "interrupted":
                raise KeyboardInterrupt
            tr = res.trajectory
            status[k, s] = res.status
            r = np.sqrt(np.asarray(tr.loss, float))
            R[k, s, :r.size] = r
            fired = n * np.asarray(tr.fired_mean, float)
            ch = np.asarray(tr.status_changes, float)
            with np.errstate(divide="ignore", invalid="ignore"):
                F[k, s, :ch.size] = ch / fired[:ch.size]
            _tick(ctx, m=m)
    _done(ctx)
    ctx["arrays"].update(gn_widths=np.array(widths), gn_residual=R, gn_change_fraction=F,
                         gn_status=status.astype(str))
    return [_stability(ctx, widths, F, R, status), _convergence(ctx, widths, R, status, n, eps)]


def _stability(ctx, widths, F, R, status) -> dict:
    first = F[:, :, 0]
    later = F[:, :, 1:]
    cumulative = np.nansum(F, axis=2)
    cumulative[~np.isfinite(first)] = np.nan
    ok_later = bool(np.isfinite(first).all() and np.all(np.nan_to_num(later, nan=0.0) < 0.01))
    fit = dict(slope=math.nan, ci=[math.nan, math.nan])
    first_fit = dict(slope=math.nan, ci=[math.nan, math.nan])
    if np.isfinite(cumulative).all() and (cumulative > 0).all() and len(widths) >= 2:
        fit = fit_slope(widths, cumulative)
        first_fit = fit_slope(widths, np.maximum(first, np.finfo(float).tiny))
    ok = ok_later and np.isfinite(fit["ci"][1]) and fit["ci"][1] < 0
    details = [dict(m=m, first_mean=float(np.nanmean(first[k])),
                    later_max=float(np.nanmax(later[k])) if later.shape[2] and np.isfinite(later[k]).any() else 0.0,
                    cumulative_mean=float(np.nanmean(cumulative[k]))) for k, m in enumerate(widths)]
    stats = dict(shift=ctx["S"]["gn_shift"], max_later_fraction=max(r["later_max"] for r in details),
                 first_fraction_smallest_m=details[0]["first_mean"], first_fraction_largest_m=details[-1]["first_mean"],
                 slope=fit["slope"], slope_ci=fit["ci"], first_iteration_slope=first_fit["slope"],
                 first_iteration_slope_ci=first_fit["ci"], runs_not_completed=int(np.sum(status != "completed")))
    ax = plotting.plot_status_changes(widths, first, cumulative)
    ax.set_title(f"(ii) Gauss-Newton, b = {ctx['S']['gn_shift']:g}: slope {fmt(fit['slope'], 3)} "
                 f"[{fmt(fit['ci'][0], 3)}, {fmt(fit['ci'][1], 3)}]", fontsize=9)
    plotting.save_figure(ax.figure, os.path.join(ctx["out"], "figures", "status_changes_vs_width"))
    return _claim("stability", stats, ok, ["figures/status_changes_vs_width.png"], details)


def _convergence(ctx, widths, R, status, n, eps) -> dict:
    details, all_ok = [], True
    curves = {}
    for k, m in enumerate(widths):
        ratios, iters, starts, reached = [], [], [], 0
        for s in range(R.shape[1]):
            r = R[k, s]
            r = r[np.isfinite(r)]
            if status[k, s] != "completed" or r.size == 0:
                all_ok = False
                continue
            curves.setdefault(f"m = {m}", []).append(r)
            starts.append(r[0])
            hit = np.flatnonzero(r <= eps)
            T = int(hit[0]) if hit.size else r.size - 1
            if hit.size:
                reached += 1
                iters.append(T)
            else:
                all_ok = False
            ratios += list(r[1:T + 1] / r[:T])
        ratios = np.asarray(ratios, float)
        ok_frac = float(np.mean(ratios <= 0.5)) if ratios.size else math.nan
        all_ok = all_ok and ratios.size > 0 and bool(np.all(ratios <= 0.5))
        details.append(dict(m=m, runs=int(R.shape[1]), reached_eps=reached,
                            fraction_ratio_le_half=ok_frac, max_ratio=float(ratios.max()) if ratios.size else math.nan,
                            mean_iterations_to_eps=float(np.mean(iters)) if iters else math.nan,
                            log2_n_over_eps=math.log2(n / eps),
                            mean_log2_r0_over_eps=float(np.mean(np.log2(np.asarray(starts) / eps)))
                            if starts else math.nan))
    stats = dict(eps=eps, shift=ctx["S"]["gn_shift"],
                 max_ratio=float(np.nanmax([r["max_ratio"] for r in details])),
                 min_fraction_ratio_le_half=float(np.nanmin([r["fraction_ratio_le_half"] for r in details])),
                 max_iterations_to_eps=float(np.nanmax([r["mean_iterations_to_eps"] for r in details])),
                 log2_n_over_eps=math.log2(n / eps),
                 runs_not_completed=int(np.sum(status != "completed")))
    ax = plotting.plot_gn_residuals(curves, eps=eps)
    ax.set_title(f"(iv) Gauss-Newton, eta = 1, mu = 0, b = {ctx['S']['gn_shift']:g}, n = {n}", fontsize=9)
    plotting.save_figure(ax.figure, os.path.join(ctx["out"], "figures", "gauss_newton_residuals"))
    return _claim("convergence", stats, all_ok, ["figures/gauss_newton_residuals.png"], details)


def _cost(ctx) -> dict:
    S, X = ctx["S"], ctx["X"]
    n = X.shape[0]
    widths, alphas, K, mu = list(S["cost_widths"]), list(S["alphas"]), int(S["cost_steps"]), S["cost_damping"]
    repeats = int(S["cost_repeats"])
    engines = ("sparse", "dense")
    # one BLAS thread: the times measure the algorithms' work, not how two threads fare on a shared machine
    with threadpool_limits(limits=1, user_api="blas"):
        T, runs = _timed_runs(ctx, widths, alphas, engines, K, mu, repeats)
    best = np.nanmin(T, axis=3)  # (alphas, widths, engines, K): minimum over repeats per iteration
    details, ok, figures = [], True, []
    stats = dict(damping=mu, steps=K, repeats=repeats,
                 runs_not_completed=sum(r["status"] != "completed" for v in runs.values() for r in v))
    for a, alpha in enumerate(alphas):
        tag = f"alpha{alpha:g}"
        fits = {e: loglog_exponent(widths, list(best[a, :, i])) for i, e in enumerate(engines)}
        counts = [runs[(a, k, 0)][0]["fired"] for k in range(len(widths))]
        expect = [n * m * float(ndtr(-math.sqrt(2 * alpha * math.log(m)))) for m in widths]
        c_exp = float(np.polyfit(np.log(widths), np.log(counts), 1)[0])
        c_exp_expected = float(np.polyfit(np.log(widths), np.log(expect), 1)[0])
        # diagnostics (not ruled): the growth of |U| and of the pairs the sparse engine touches per iteration
        unions = [runs[(a, k, 0)][0]["union"] for k in range(len(widths))]
        touched = [counts[k] + runs[(a, k, 0)][0]["rechecked"] for k in range(len(widths))]
        u_exp = float(np.polyfit(np.log(widths), np.log(unions), 1)[0])
        t_exp = float(np.polyfit(np.log(widths), np.log(touched), 1)[0])
        sp, de = fits["sparse"]["exponent"], fits["dense"]["exponent"]
        ok = ok and bool(sp < de and sp <= 1 - alpha + 0.25 and abs(c_exp - (1 - alpha)) <= 0.1)
        stats.update({f"sparse_exponent_{tag}": sp, f"sparse_exponent_{tag}_ci": fits["sparse"]["ci"],
                      f"dense_exponent_{tag}": de, f"dense_exponent_{tag}_ci": fits["dense"]["ci"],
                      f"count_exponent_{tag}": c_exp, f"count_exponent_expected_{tag}": c_exp_expected,
                      f"one_minus_alpha_{tag}": 1 - alpha, f"union_exponent_{tag}": u_exp,
                      f"touched_pairs_exponent_{tag}": t_exp})
        med = {e: [_median(best[a, k, i]) for k in range(len(widths))] for i, e in enumerate(engines)}
        for k, m in enumerate(widths):
            sp_run, de_run = runs[(a, k, 0)][0], runs[(a, k, 1)][0]
            details.append(dict(alpha=alpha, m=m, b=KAPPA * math.sqrt(2 * alpha * math.log(m)),
                                fired_pairs=counts[k], expected_fired_pairs=expect[k], union=sp_run["union"],
                                sparse_rechecked=sp_run["rechecked"], dense_rechecked=de_run["rechecked"],
                                sparse_seconds=med["sparse"][k], dense_seconds=med["dense"][k],
                                sparse_init_seconds=sp_run["init"], dense_init_seconds=de_run["init"]))
        ctx["arrays"][f"cost_seconds_{tag}"] = T[a]
        ctx["arrays"][f"cost_fired_pairs_{tag}"] = np.array(counts)
        ctx["arrays"][f"cost_union_{tag}"] = np.array([runs[(a, k, 0)][0]["union"] for k in range(len(widths))])
        ctx["arrays"][f"cost_sparse_rechecked_{tag}"] = np.array([runs[(a, k, 0)][0]["rechecked"]
                                                                   for k in range(len(widths))])
        ax = plotting.plot_cost_vs_width(widths, med, alpha=alpha)
        ax.set_title(f"(v) b = sqrt(2 alpha log m), alpha = {alpha:g}: exponents sparse {fmt(sp, 3)}, "
                     f"dense {fmt(de, 3)}", fontsize=9)
        name = f"cost_vs_width_{tag}"
        plotting.save_figure(ax.figure, os.path.join(ctx["out"], "figures", name))
        figures.append(f"figures/{name}.png")
    ctx["arrays"].update(cost_widths=np.array(widths), cost_alphas=np.array(alphas),
                         cost_engines=np.array(engines))
    return _claim("cost", stats, ok, figures, details)


def _timed_runs(ctx, widths, alphas, engines, K, mu, repeats):
    """Gauss-Newton runs of both engines; seconds per iteration of shape (alphas, widths, engines, repeats, K)."""
    X, y = ctx["X"], ctx["y"]
    n, d = X.shape
    _warm_up(X, y)
    T = np.full((len(alphas), len(widths), len(engines), repeats, K), np.nan)
    runs: dict = {}
    # repeats outermost, so that a burst of load on the machine spreads over the widths instead of
    # hitting all repeats of one width; the run is deterministic, so repeats do the same work
    _bar(ctx, repeats * len(alphas) * len(widths) * len(engines), "(v) cost")
    for rep in range(repeats):
        for a, alpha in enumerate(alphas):
            for k, m in enumerate(widths):
                b = KAPPA * math.sqrt(2 * alpha * math.log(m))
                net = init_network(d, m, kappa=KAPPA, rng=_seed(3, m))
                for e, engine in enumerate(engines):
                    res = train(X, y, net, scheme="gauss-newton", eta=1.0, global_steps=K, shift=b, damping=mu,
                                engine=engine, record="loss")
                    if res.status == "interrupted":
                        raise KeyboardInterrupt
                    tr = res.trajectory
                    sec = np.asarray(tr.step_seconds, float)
                    T[a, k, e, rep, :sec.size] = sec
                    runs.setdefault((a, k, e), []).append(dict(
                        status=res.status, fired=n * float(tr.fired_mean[0]), union=float(np.median(tr.union_size)),
                        rechecked=float(np.median(tr.pairs_rechecked)) if tr.pairs_rechecked.size else math.nan,
                        init=float(res.config.get("init_seconds", math.nan))))
                    _tick(ctx, alpha=alpha, m=m, engine=engine)
    _done(ctx)
    return T, runs


def _median(v) -> float:
    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else math.nan


def _warm_up(X, y) -> None:
    """Compile both engines' kernels on a small problem, so that no timed iteration includes it."""
    m = 256
    net = init_network(X.shape[1], m, kappa=KAPPA, rng=_seed(0))
    for e in ("sparse", "dense"):
        train(X, y, net, scheme="gauss-newton", eta=1.0, global_steps=2, shift=0.5, damping=1e-3, engine=e,
              record="loss")


def _seed(*key: int) -> np.random.SeedSequence:
    """The seed of one network: entropy :data:`SEED`, spawn key (panel, width, seed)."""
    return np.random.SeedSequence(SEED, spawn_key=tuple(int(k) for k in key))


# --------------------------------------------------------------------------- report
