"""``ntkcheck reproduce jacot2018``: the NTK regime of deep ReLU networks, measured (Jacot et al. 2018).

Jacot, Gabriel & Hongler (NeurIPS 2018) state that as the widths grow the NTK of a deep network
(i) concentrates at initialisation on a deterministic limit Θ (docs/theory.md §10, the recursion
of :func:`ntkcheck.ntk_deep_infinite`) and (ii) stays constant during gradient-descent training.
The fluctuations of (i) are O(width^{-1/2}) by the central limit theorem; for (ii) the rate
width^{-1/2} is the usual upper bound (Jacot et al.; Arora et al. 2019), and finer analyses
(Dyer & Gur-Ari 2019) expect a faster decay at moderate widths.  For depth L = 1..4 and a range
of widths, each run (:func:`run_deep`, a built-in sweep runner) draws a network, measures
``‖Θ̂_0 − Θ‖₂/‖Θ‖₂``, trains it by full-batch gradient descent (:func:`ntkcheck.train_deep`) and
measures the kernel drift ``‖Θ̂_K − Θ̂_0‖_F/‖Θ̂_0‖_F``.  The slopes of both on log–log axes are
fitted with a bootstrap interval over seeds.  Verdicts follow :data:`RULES`, fixed before running.

The runs are a sweep in ``OUT/store`` (local workers or Dask; ``--resume`` continues).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

from . import plotting
from ._io import atomic_write, write_npz
from ._json import json_text, jsonable, toml_value
from ._outdir import claim_output_dir
from ._params import check_step_size
from ._stats import fit_slope
from ._validation import check_int, check_scalar
from .deep import init_deep_network, ntk_deep_finite, ntk_deep_infinite
from .deep_train import train_deep
from .report import fmt, write_report
from .store import Store
from .sweep import parse_spec, run_sweep
from .unit import load_data

__all__ = ["SIZES", "RULES", "RUNNER", "run_deep", "canonical_deep_params", "reproduce_jacot2018", "fit_slope"]

#: The built-in sweep runner of this reproduction.
RUNNER = "ntkcheck.jacot2018:run_deep"
SWEEP_SEED = 2018
#: Problem sizes (``quick`` in seconds; ``default`` in about a minute or two on 2 cores).
SIZES = {
    "quick": dict(n=16, d=8, depths=(1, 2, 3), widths=(128, 512, 2048), seeds=4, steps=30),
    "default": dict(n=32, d=8, depths=(1, 2, 3, 4), widths=(64, 128, 256, 512, 1024, 2048), seeds=4, steps=100),
}
#: The rule behind each verdict.
RULES = {
    "concentration": "for every depth, the least-squares slope of log(mean over seeds of ||Theta_0 - Theta||_2 / "
                     "||Theta||_2) on log(width) is within 0.15 of -1/2",
    "drift": "for every depth, the least-squares slope of log(mean over seeds of the kernel drift "
             "||Theta_K - Theta_0||_F / ||Theta_0||_F after K gradient steps) on log(width) is at most -0.4 "
             "(the kernel freezes at least as fast as width^(-1/2))",
}
_KEYS = {"data", "depth", "width", "steps", "sigma_w", "sigma_b", "eta"}


def canonical_deep_params(params: dict) -> dict:
    """Canonical parameters of one run (:func:`run_deep`): ``data``, ``depth``, ``width``, ``steps``,
    ``sigma_w`` (default 1), ``sigma_b`` (0), ``eta`` ("auto" = 1/λ_max(Θ), or a number)."""
    if not isinstance(params, dict):
        raise TypeError(f"run parameters must be a dict, got {type(params).__name__}.")
    unknown = sorted(set(params) - _KEYS)
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; expected some of {sorted(_KEYS)}.")
    if "data" not in params or not isinstance(params["data"], str):
        raise ValueError(f"`data` must be a dataset spec string, got {params.get('data')!r}.")
    eta = params.get("eta", "auto")
    return dict(data=params["data"], depth=check_int(params.get("depth"), "depth", min_val=1, max_val=16),
                width=check_int(params.get("width"), "width", min_val=1),
                steps=check_int(params.get("steps", 100), "steps", min_val=0),
                sigma_w=float(check_scalar(params.get("sigma_w", 1.0), "sigma_w", (int, float), min_val=0.0,
                                           closed="neither")),
                sigma_b=float(check_scalar(params.get("sigma_b", 0.0), "sigma_b", (int, float), min_val=0.0)),
                eta="auto" if eta == "auto" else check_step_size(eta, "eta"))


def run_deep(params: dict, seed: int, *, threads: int = 1) -> dict:
    """One network: its kernel's distance to the limit at initialisation, and its drift under training.

    Returns ``concentration`` (``‖Θ̂_0 − Θ‖₂/‖Θ‖₂``), ``drift`` and ``drift_spectral`` after K steps,
    ``lam_min_0``/``lam_min_K`` of Θ̂, the loss ratio ``L_K/L_0``, ``eta`` and the ``status``.
    """
    p = canonical_deep_params(params)
    ds = load_data(p["data"]).dataset
    theta = _limit(ds, p["depth"], p["sigma_w"], p["sigma_b"])
    lam_max = float(np.linalg.eigvalsh(theta)[-1])
    eta = 1.0 / lam_max if p["eta"] == "auto" else float(p["eta"])
    net = init_deep_network(ds.d, [p["width"]] * p["depth"], sigma_w=p["sigma_w"], sigma_b=p["sigma_b"],
                            rng=np.random.SeedSequence(int(seed)))
    H0 = ntk_deep_finite(ds.X, net)
    conc = float(np.max(np.abs(np.linalg.eigvalsh(H0 - theta)))) / lam_max
    res = train_deep(ds.X, ds.y, net, eta=eta, steps=p["steps"], record_kernel_at=[0, p["steps"]])
    if res.status == "interrupted":
        raise KeyboardInterrupt
    tr = res.trajectory
    loss = np.asarray(tr.loss, float)
    return dict(concentration=conc, drift=float(tr.kernel_drift[-1]), drift_spectral=float(tr.kernel_drift_spectral[-1]),
                lam_min_0=float(tr.lam_min[0]), lam_min_K=float(tr.lam_min[-1]),
                loss_ratio=float(loss[-1] / loss[0]) if loss[0] > 0 else math.nan, eta=eta, status=res.status,
                lam_max_limit=lam_max)


run_deep.validate = canonical_deep_params
run_deep.cost = lambda p: float(p["depth"] * p["width"] ** 2 * (p["steps"] + 1))

_LIMITS: dict = {}


def _limit(ds, depth, sigma_w, sigma_b):
    key = (ds.sha256, depth, sigma_w, sigma_b)
    if key not in _LIMITS:
        _LIMITS[key] = ntk_deep_infinite(ds.X, depth, sigma_w=sigma_w, sigma_b=sigma_b)
    return _LIMITS[key]


def reproduce_jacot2018(out, *, quick: bool = False, progress: bool = True, sizes: dict | None = None,
                        data: str | None = None, workers: int | None = None, scheduler: str | None = None,
                        resume: bool = False, force: bool = False, threads: int | None = None, log=None) -> dict:
    """Measure the NTK regime of deep ReLU networks; write figures and a summary into ``out``.

    Parameters are those of :func:`ntkcheck.reproduce.reproduce_liao2022` (``sizes`` overrides
    entries of :data:`SIZES`; ``data`` defaults to ``sphere:n=..,d=..,seed=0``).

    Returns
    -------
    dict
        The summary (also ``summary.json``): ``claims`` (``id``, ``claim``, ``rule``,
        ``statistics``, ``verdict``, ``figures``) and ``status``.
    """
    S = dict(SIZES["quick" if quick else "default"])
    S.update(sizes or {})
    out = os.fspath(out)
    t0 = time.perf_counter()
    data = data or f"sphere:n={S['n']},d={S['d']},seed=0"
    ds = load_data(data).dataset
    spec = _spec(S, data)
    sweep = parse_spec(spec, source="reproduce jacot2018")
    summary = dict(paper="Jacot, Gabriel & Hongler, NeurIPS 2018 (the NTK regime), deep ReLU networks",
                   size="quick" if quick else "default", sizes=S, data=ds.describe(), store="store",
                   runs=len(sweep.tasks), claims=[], status="running")
    claim_output_dir(out, kind="reproduce", force=force, resume=resume)
    os.makedirs(os.path.join(out, "figures"), exist_ok=True)
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    try:
        res = run_sweep(sweep, os.path.join(out, "store"), workers=workers, scheduler=scheduler, resume=resume,
                        threads=threads, progress=progress, log=log)
        summary["runs_executed"] = res.ran
        if res.done != res.total:
            raise RuntimeError(f"{res.failed} run(s) failed and {res.pending} are pending in "
                               f"{os.path.join(out, 'store')}; see `ntkcheck sweep-status`.")
        records = Store(os.path.join(out, "store")).scan().records
        by = {}
        for t in sweep.tasks:
            by.setdefault((t.params["depth"], t.params["width"]), []).append(records[t.run_id]["result"])
        arrays = {}
        for key, label, rule_ok in (("concentration", r"$\|\hat\Theta_0 - \Theta\|_2 / \|\Theta\|_2$",
                                     lambda s: abs(s + 0.5) <= 0.15),
                                    ("drift", r"drift $\|\hat\Theta_K - \hat\Theta_0\|_F / \|\hat\Theta_0\|_F$",
                                     lambda s: s <= -0.4)):
            fig, ax = plotting.new_axes()
            stats, ok = {}, True
            for L in S["depths"]:
                V = np.array([[r[key] for r in by[(L, w)]] for w in S["widths"]], float)
                arrays[f"{key}_depth{L}"] = V
                fit = fit_slope(S["widths"], V)
                stats[f"slope_depth{L}"] = fit["slope"]
                stats[f"slope_depth{L}_ci"] = fit["ci"]
                ok = ok and rule_ok(fit["slope"])
                plotting.plot_final_error(S["widths"], V, xlabel="width", ax=ax, logx=True,
                                          label=f"L = {L}: slope {fit['slope']:.2f}")
            ref = np.asarray(S["widths"], float)
            first = arrays[f"{key}_depth{S['depths'][0]}"].mean(axis=1)[0]
            ax.plot(ref, first * np.sqrt(ref[0] / ref), "k--", lw=1, label=r"$\propto$ width$^{-1/2}$")
            ax.set_yscale("log")
            ax.set_ylabel(label)
            ax.legend(fontsize=7)
            name = f"{key}_vs_width"
            plotting.save_figure(ax.figure, os.path.join(out, "figures", name))
            text = ("the NTK concentrates at initialisation on its infinite-width limit, with fluctuations "
                    "decaying as width^(-1/2)" if key == "concentration" else
                    "the NTK stays constant during gradient-descent training as width grows (drift at least as "
                    "small as width^(-1/2))")
            summary["claims"].append(jsonable(dict(id=key, claim=text, rule=RULES[key], statistics=stats,
                                                   verdict="holds" if ok else "does not hold",
                                                   figures=[f"figures/{name}.png"])))
        loss = {L: float(np.mean([r["loss_ratio"] for w in S["widths"] for r in by[(L, w)]])) for L in S["depths"]}
        summary["training"] = dict(steps=S["steps"], mean_loss_ratio_by_depth=loss,
                                   eta="1/lambda_max(Theta) of each depth")
        _npz(out, "jacot2018", widths=np.array(S["widths"]), depths=np.array(S["depths"]), **arrays)
        summary["status"] = "completed"
    except KeyboardInterrupt:
        summary["status"] = "interrupted"
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    atomic_write(os.path.join(out, "summary.json"), json_text(jsonable(summary)))
    write_report(_blocks(summary), out, title="ntkcheck reproduce jacot2018", stem="summary")
    return summary


def _spec(S: dict, data: str) -> str:
    lines = ["# ntkcheck reproduce jacot2018: one run per (depth, width) and seed", "[sweep]",
             f"seed = {SWEEP_SEED}", f"seeds = {int(S['seeds'])}", f"runner = {toml_value(RUNNER)}",
             'name = "reproduce jacot2018"', "", "[fixed]", f"data = {toml_value(data)}",
             f"steps = {int(S['steps'])}", "", "[grid]", f"depth = {list(S['depths'])}",
             f"width = {list(S['widths'])}", ""]
    return "\n".join(lines)


def _npz(out, name, **arrays):
    write_npz(os.path.join(out, "data", f"{name}.npz"), **arrays)


def _blocks(summary: dict) -> list:
    S = summary["sizes"]
    blocks = [("h1", "The NTK regime of deep ReLU networks (Jacot et al. 2018) — ntkcheck"),
              ("p", f"Size: {summary['size']} (n = {summary['data']['n']}, d = {summary['data']['d']}; depths "
                    f"{', '.join(map(str, S['depths']))}; widths {', '.join(map(str, S['widths']))}; {S['seeds']} "
                    f"seeds; {S['steps']} gradient steps at eta = 1/lambda_max(Theta)). Status: "
                    f"{summary.get('status')}, {fmt(summary.get('seconds'))} s."),
              ("p", "Slopes are least-squares fits of log(mean over seeds) on log(width), with 95% bootstrap "
                    "intervals over seeds. width^(-1/2) is the central-limit rate of the fluctuations at "
                    "initialisation; for the drift during training it is an upper bound, and a faster decay at "
                    "these widths is consistent with it.")]
    rows = []
    for c in summary["claims"]:
        st = "; ".join(f"{k.replace('slope_', '')} = {fmt(v, 3)}"
                       + (f" [{fmt(c['statistics'][k + '_ci'][0], 3)}, {fmt(c['statistics'][k + '_ci'][1], 3)}]"
                          if k + "_ci" in c["statistics"] else "")
                       for k, v in c["statistics"].items() if not isinstance(v, list))
        rows.append([c["id"], c["claim"], c["verdict"], st])
    blocks.append(("table", ["", "claim", "verdict", "slope by depth [95% CI]"], rows))
    blocks.append(("h2", "Rules"))
    blocks.append(("ul", [f"({c['id']}) {c['rule']}" for c in summary["claims"]]))
    if summary.get("training"):
        tr = summary["training"]
        blocks.append(("p", "Training reached L_K/L_0 = " + ", ".join(
            f"{fmt(v, 3)} (depth {L})" for L, v in tr["mean_loss_ratio_by_depth"].items()) + " on average."))
    for c in summary["claims"]:
        for f in c["figures"]:
            blocks.append(("img", f, f"({c['id']}) {c['claim']}"))
    return blocks
