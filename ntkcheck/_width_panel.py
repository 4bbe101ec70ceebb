"""The width panel of ``ntkcheck reproduce liao2022``: m*(n) for ``lambda_min`` and ``rate``.

Private companion of :mod:`ntkcheck.reproduce`.  At the reproduction's paper-faithful settings
(small init κ; LK22 Thm 2's conclusion with the Bernoulli masks of panel (a); DZPS19/SY19's rate
along gradient descent), it measures the empirical width requirement m*(n) on nested subsets of
the reproduction's data (:func:`ntkcheck.scaling.width_scaling`) and fits its exponent, beside the
theorems' exponents of n.  The runs are sweeps in ``OUT/width/<conclusion>/n=<n>`` (resumable).
"""

from __future__ import annotations

import os

import numpy as np

from . import plotting
from .scaling import width_scaling
from .unit import load_data

__all__ = ["RULE", "CLAIM", "width_panel_settings", "measure_width_panel"]

#: The verdict rule (fixed before running).
RULE = ("for each conclusion, the upper end of the 95% bootstrap interval of the exponent b of m*(n) is below "
        "the smallest nominal exponent of n among the conclusion's PAPER theorems (so the width scaling of the "
        "theorems is conservative on these data)")


def width_panel_settings(S: dict, lam_max: float) -> dict:
    """Conclusion -> run parameters of its width search (panel (a)'s masks for ``lambda_min``)."""
    return {
        "lambda_min": dict(scheme="bernoulli", p=S["a_p"], xi=S["a_xi"], local_steps=S["a_tau"], kappa=S["a_kappa"],
                           eta=S["a_eta"] / lam_max, steps=max(1, int(S["a_local_iterations"]) // int(S["a_tau"]))),
        "rate": dict(scheme="gd", kappa=S["a_kappa"], eta="auto"),
    }


#: What the panel shows when its rule holds.
CLAIM = ("the conclusions of DZPS19 Lemma 3.2 / LK22 Thm 2 (lambda_min at least xi*lambda_0/2 along masked training) "
         "and DZPS19 Thm 4.1 / SY19 (the rate) hold from widths m*(n) that grow far slower than the width "
         "requirements of the theorems")


def measure_width_panel(S: dict, data: str, lam_max: float, out, *, resume: bool, workers, scheduler, threads,
                        progress: bool, log):
    """Run the width searches; return ``(statistics, rule holds, figure, arrays)`` for the summary."""
    n_data = load_data(data).dataset.n
    ns = [v for v in S["width_ns"] if v <= n_data]
    if len(ns) < 2:  # data smaller than the panel's sizes (e.g. --data with few points): halve down from n
        ns = sorted({max(2, n_data // 4), max(2, n_data // 2), n_data})
    stats, arrays, ok = {"conclusions": {}, "sizes": ns}, {}, True
    fig, axes = plotting.new_axes(figsize=(10, 3.8))
    fig.clear()
    axes = fig.subplots(1, 2)
    for ax, (conclusion, params) in zip(axes, width_panel_settings(S, lam_max).items()):
        res = width_scaling(data, conclusion, ns, out=os.path.join(out, "width", conclusion),
                            seeds=S["width_seeds"], delta=0.1, m_start=S["width_m_start"], tolerance=0.1,
                            workers=workers, scheduler=scheduler, threads=threads, resume=resume,
                            progress=progress, log=log, n_boot=1000, rng=0, **params)
        f = res.fit
        paper = [t["nominal"] for t, r in zip(res.theorems, res.results[0].theorems)
                 if r["provenance"] == "PAPER" and t["nominal"] is not None]
        bound = min(paper) if paper else None
        holds = bound is not None and f.b_ci[1] < bound
        ok = ok and holds
        stats[f"b_{conclusion}"] = f.b
        stats[f"b_{conclusion}_ci_upper"] = f.b_ci[1]
        stats[f"smallest_paper_exponent_{conclusion}"] = bound
        stats["conclusions"][conclusion] = dict(
            settings={k: (round(v, 6) if isinstance(v, float) else v) for k, v in params.items()},
            ns=list(f.ns), m_star=list(f.m_star), lambda_0=list(f.lam0), b=f.b, b_ci=list(f.b_ci),
            b_with_lambda=f.b_with_lambda, c_lambda=f.c,
            theorems={t["theorem"]: dict(nominal=t["nominal"], on_data=t["on_data"], widths=t["widths"])
                      for t in res.theorems},
            smallest_paper_exponent=bound, conservative=holds, runs=sum(r.runs for r in res.results),
            runs_executed=sum(r.runs_executed for r in res.results))
        plotting.plot_width_scaling(f, res.theorems, ax=ax)
        ax.set_title(f"{conclusion}: $m^* \\propto n^{{{f.b:.2f}}}$", fontsize=9)
        arrays.update({f"{conclusion}_ns": np.array(f.ns), f"{conclusion}_m_star": np.array(f.m_star),
                       f"{conclusion}_lambda_0": np.array(f.lam0)})
    return stats, ok, fig, arrays
