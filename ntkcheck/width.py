"""The width a theorem's conclusion really needs: m* measured on data, beside the predicted width.

The theorems' width requirements (docs/theory.md §6) are sufficient conditions with unspecified
constants, so ``ntkcheck check`` reports shortfalls like 10^15.  This module measures the
*empirical* requirement instead: the smallest hidden width m* at which a theorem's conclusion
holds on the data with empirical probability ≥ 1 − δ over seeds.  A conclusion is a predicate
on one run (one seed, one width), evaluated by :func:`run_conclusion` (a built-in sweep runner):

``lambda_min``
    ``λ_min(H(W_k)) ≥ λ0/2`` for every step k = 0..K of the training (DZPS19 Lemma 3.2 and
    Thm 4.1's induction); with masks, every masked NTK ``H(W_k, m_k^l)`` of the run has
    ``λ_min ≥ ξ λ0/2`` (LK22 Thm 2, ξ-convention).
``rate``
    ``‖y − u_k‖² ≤ (1 − η λ0/2)^k ‖y − u_0‖²`` for every k ≤ K along gradient descent (DZPS19
    Thm 4.1, SY19).  The theorems prove it for ``η ≤ c λ0/n²``; the search uses the run's η
    (default ``"auto"`` = 1/λ_max(H∞), a practical step far above λ0/n²) and reports the
    theorem's step beside it.  ``eta="theorem"`` uses ``λ0/n²`` (the constant taken as 1).
``concentration``
    ``‖H(W_0) − H∞‖₂ ≤ λ0/4`` at initialisation (DZPS19 Lemma 3.1); no training.

Search (:func:`search_width`): the width is doubled from ``m_start`` until the conclusion holds
(halved while it holds, when it already holds at ``m_start``), then the bracket is bisected on a
log grid (geometric midpoints) until ``upper/lower ≤ 1 + tolerance`` (``tolerance=0``: adjacent
integers, so a deterministic threshold is found exactly).  Each width is decided by the
empirical probability ``successes/seeds ≥ 1 − δ``, reported with its Clopper–Pearson interval.
The search assumes the probability grows with m (by construction every width it evaluated below
m* failed and every one above held, so the levels cannot show otherwise; the bootstrap of
:mod:`ntkcheck.scaling` redraws the seeds at each width to say how firm m* is).

The runs of a search are a sweep (:mod:`ntkcheck.sweep`) in ``OUT/store``: local worker
processes or Dask, and an interrupted search resumes (``resume=True``) without redoing finished
runs — the search replays its decisions from the stored records.  ``sweep-status`` and
``sweep-report`` read that store like any other.

Examples
--------
>>> s = search_width(lambda m: [m >= 37] * 5, delta=0.1, m_start=4, tolerance=0)
>>> s.m_star, s.bracket
(37, (36, 37))
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from ._config import NumericalWarning
from ._json import jsonable, toml_value
from ._params import canonical_params
from ._validation import check_choice, check_int, check_scalar
from ._sweep_exec import warm_pool
from .network import init_network
from .ntk import ntk_finite
from .store import Store
from .sweep import parse_spec, run_sweep
from .unit import load_data, run_cost, run_seed, seed_streams
from .verify import data_values, dzps19_rate, dzps19_step, predicted_widths

__all__ = ["CONCLUSIONS", "Conclusion", "WidthLevel", "WidthSearch", "WidthResult", "search_width",
           "clopper_pearson", "canonical_width_params", "run_conclusion", "find_width",
           "rate_horizon", "RUNNER"]

#: The built-in sweep runner of the width search.
RUNNER = "ntkcheck.width:run_conclusion"
#: The ``rate`` runs last until the bound ``(1 − ηλ0/2)^K`` falls to this fraction (unless ``steps`` is given).
RATE_HORIZON = 1e-3
#: ... but at most this many steps.
MAX_HORIZON = 20_000
#: Sweep seed of the search's runs (run seeds derive from it and the run's parameters).
SWEEP_SEED = 0


@dataclass(frozen=True)
class Conclusion:
    """A theorem's conclusion as a predicate on one run (see the module docstring)."""

    name: str
    statement: str
    source: str
    theorems: tuple


CONCLUSIONS = {
    "lambda_min": Conclusion(
        "lambda_min", "lambda_min(H(W_k)) >= lambda_0/2 for every step k (masked NTKs: >= xi*lambda_0/2)",
        "DZPS19 Lemma 3.2 / Thm 4.1; LK22 Thm 2 with masks",
        ("du2019.thm4_1", "song_yang2019.thm", "liao2022.thm2")),
    "rate": Conclusion(
        "rate", "||y - u_k||^2 <= (1 - eta*lambda_0/2)^k ||y - u_0||^2 for every k <= K (gradient descent)",
        "DZPS19 Thm 4.1; SY19",
        ("du2019.thm4_1", "song_yang2019.thm", "arora2019.thm4_1")),
    "concentration": Conclusion(
        "concentration", "||H(W_0) - H_inf||_2 <= lambda_0/4 at initialisation",
        "DZPS19 Lemma 3.1", ("du2019.lemma3_1",)),
}

#: Run parameters that matter to each conclusion (the others are dropped from the run's identity).
_CONCENTRATION_KEYS = ("data", "target", "normalize", "m", "kappa")


# ----------------------------------------------------------------------------- the search


def clopper_pearson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) two-sided interval of a binomial probability.

    Examples
    --------
    >>> lo, hi = clopper_pearson(10, 10)
    >>> round(lo, 4), hi
    (0.6915, 1.0)
    """
    from scipy.stats import binomtest

    trials = check_int(trials, "trials", min_val=1)
    successes = check_int(successes, "successes", min_val=0, max_val=trials)
    level = float(check_scalar(level, "level", numbers.Real, min_val=0.0, max_val=1.0, closed="neither"))
    ci = binomtest(successes, trials).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class WidthLevel:
    """The runs at one width: successes out of trials, the estimate and its interval."""

    m: int
    successes: int
    trials: int
    probability: float
    ci: tuple
    holds: bool


@dataclass(frozen=True)
class WidthSearch:
    """Outcome of :func:`search_width`.

    Attributes
    ----------
    m_star : int or None
        Smallest width found at which the conclusion holds (None: not up to ``m_max``).
    bracket : tuple
        ``(lower, upper)``: it fails at ``lower`` (0: nothing below was tried) and holds at
        ``upper`` (None when not found).
    status : {"found", "not_found"}
    levels : tuple of WidthLevel
        Every width evaluated, ascending.
    """

    m_star: int | None
    bracket: tuple
    status: str
    levels: tuple
    delta: float
    level: float
    tolerance: float

    def to_dict(self) -> dict:
        return jsonable(asdict(self))


def search_width(evaluate, *, delta: float = 0.1, m_start: int = 16, m_max: int = 2**22,
                 tolerance: float = 0.1, level: float = 0.95, log=None) -> WidthSearch:
    """Smallest width at which a conclusion holds with empirical probability ≥ 1 − δ.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(m) -> sequence of bool``: the conclusion's outcome for each seed at width m
        (the same number of seeds at every width).
    delta : float, default 0.1
        Allowed failure probability: a width passes when ``successes/seeds ≥ 1 − δ``.
    m_start, m_max : int
        First width tried; largest width tried.
    tolerance : float, default 0.1
        Stop bisecting when ``upper/lower ≤ 1 + tolerance``; 0 bisects to adjacent integers.
    level : float, default 0.95
        Confidence level of the Clopper–Pearson intervals.
    log : callable, optional
        ``log(str)`` after each width.

    Returns
    -------
    WidthSearch
    """
    delta = float(check_scalar(delta, "delta", numbers.Real, min_val=0.0, max_val=1.0, closed="right"))
    m_start = check_int(m_start, "m_start", min_val=1)
    m_max = check_int(m_max, "m_max", min_val=m_start)
    tolerance = float(check_scalar(tolerance, "tolerance", numbers.Real, min_val=0.0))
    levels: dict[int, WidthLevel] = {}

    def passes(m: int) -> bool:
        if m not in levels:
            out = [bool(v) for v in evaluate(m)]
            if not out:
                raise ValueError(f"`evaluate({m})` returned no outcome; it must return one bool per seed.")
            k, t = sum(out), len(out)
            # the smallest count that is >= (1 - delta) t, robust to rounding of (1 - delta) t
            need = max(0, math.ceil((1.0 - delta) * t - 1e-9))
            levels[m] = WidthLevel(m, k, t, k / t, clopper_pearson(k, t, level), k >= need)
            if log:
                lv = levels[m]
                log(f"m = {m}: {k}/{t} seeds hold (95% CI {lv.ci[0]:.2f}-{lv.ci[1]:.2f}) -> "
                    f"{'holds' if lv.holds else 'fails'}")
        return levels[m].holds

    lo, hi = 0, None
    if passes(m_start):
        hi = m_start
        while hi > 1:
            m = max(1, hi // 2)
            if passes(m):
                hi = m
            else:
                lo = m
                break
    else:
        lo = m_start
        while lo < m_max:
            m = min(m_max, 2 * lo)
            if passes(m):
                hi = m
                break
            lo = m
    if hi is not None:
        while hi - lo > 1 and (lo == 0 or hi / lo > 1.0 + tolerance):
            mid = int(round(math.sqrt(max(lo, 1) * hi))) if lo else hi // 2
            mid = min(max(mid, lo + 1), hi - 1)
            if passes(mid):
                hi = mid
            else:
                lo = mid
    ordered = tuple(levels[m] for m in sorted(levels))
    return WidthSearch(m_star=hi, bracket=(lo, hi), status="found" if hi is not None else "not_found",
                       levels=ordered, delta=delta, level=float(level), tolerance=tolerance)


# ----------------------------------------------------------------------------- one run


def canonical_width_params(params: dict) -> dict:
    """Canonical parameters of one run of the width search (:func:`run_conclusion`).

    The run parameters of ``ntkcheck run`` (:mod:`ntkcheck._params`) that matter to the
    conclusion, plus ``conclusion`` and ``rows`` (a nested subset of the data, None: all).  What
    the conclusion sets itself (``record``, ``predict``, ``identity_samples``) is not a
    parameter, so runs that differ only there are the same run.

    Raises
    ------
    ValueError, TypeError
        Unknown names, bad values, or ``rate`` with a masked scheme.
    """
    if not isinstance(params, dict):
        raise TypeError(f"width-search parameters must be a dict, got {type(params).__name__}.")
    params = dict(params)
    conclusion = check_choice(params.pop("conclusion", None), "conclusion", tuple(CONCLUSIONS))
    params.setdefault("scheme", "gd")  # the theorems' training (DZPS19, SY19); masks on request
    rows = params.pop("rows", None)
    if rows is not None:
        rows = check_int(rows, "rows", min_val=2)
    for key in ("record", "predict", "identity_samples", "theorem", "delta"):
        if key in params:
            raise ValueError(f"`{key}` is set by the width search itself (it is not a parameter of a "
                             f"`{conclusion}` run); remove it.")
    eta_theorem = params.get("eta") == "theorem"
    if eta_theorem:
        if conclusion != "rate":
            raise ValueError(f"`eta` = 'theorem' (the theorems' step lambda_0/n^2) is for the `rate` conclusion, "
                             f"not `{conclusion}`; give a number or 'auto'.")
        params.pop("eta")
    run = canonical_params(params)
    if eta_theorem:
        run["eta"] = "theorem"
    if conclusion == "concentration":
        out = {k: run[k] for k in _CONCENTRATION_KEYS}
    else:
        if run["steps"] < 1:
            raise ValueError(f"`steps` must be at least 1 for the `{conclusion}` conclusion (it is a statement "
                             f"about a training run), got {run['steps']}.")
        if conclusion == "rate" and run["scheme"] != "gd":
            raise ValueError(f"the `rate` conclusion is that of gradient descent (DZPS19 Thm 4.1, SY19): "
                             f"`scheme` must be 'gd', got {run['scheme']!r}; use `lambda_min` for masked training.")
        out = {k: v for k, v in run.items() if k not in ("record", "predict", "identity_samples", "theorem", "delta")}
    out["conclusion"] = conclusion
    out["rows"] = rows
    return out


def run_conclusion(params: dict, seed: int, *, threads: int = 1) -> dict:
    """The width search's sweep runner: does the conclusion hold on one run?

    Trains through the package's one unit of work (:func:`ntkcheck.unit.run_seed`, its seed rule
    :data:`ntkcheck.unit.SEED_RULE`); ``concentration`` draws W(0) from the same init stream.

    Returns
    -------
    dict
        ``holds`` (bool), ``margin`` (≥ 1 exactly when it holds: threshold over value for
        ``rate``'s loss, ``λ0/4`` over the deviation for ``concentration``), ``value`` and
        ``threshold`` at the worst step ``worst_step``, ``lam0``, ``lam_max``, ``n``, ``eta`` and
        the run's ``status``.  ``lambda_min`` is decided by certificates, not eigenvalues
        (``record="certified"`` of :func:`ntkcheck.train`: one Cholesky factorisation per kernel
        proves ``λ_min > threshold`` with a rigorous rounding margin), so its ``value`` and
        ``margin`` are None and ``worst_step`` is the first step not certified (None if all are);
        a λ_min within about ``(n+1) 2^-53 tr H`` of the threshold counts as not holding.
    """
    params = canonical_width_params(params)
    ctx = load_data(params["data"], params["target"], params["normalize"], params["rows"])
    rep, ds = ctx.assumptions, ctx.dataset
    lam0 = float(rep.lam0_hat)
    out = dict(conclusion=params["conclusion"], lam0=lam0, lam_max=float(rep.lam_max), n=ds.n, m=params["m"])
    if params["conclusion"] == "concentration":
        init_ss = seed_streams(seed)[0]
        net = init_network(ds.d, params["m"], kappa=params["kappa"], rng=init_ss)
        dev = float(np.max(np.abs(np.linalg.eigvalsh(ntk_finite(ds.X, net.W) - ctx.h_inf))))
        thr = lam0 / 4.0
        return dict(out, holds=bool(dev <= thr), margin=_ratio(thr, dev), value=dev, threshold=thr, worst_step=0,
                    status="completed", eta=None)
    run_params = {k: v for k, v in params.items() if k not in ("conclusion", "rows")}
    masked = run_params["scheme"] != "gd"
    if params["conclusion"] == "rate" and run_params["eta"] == "theorem":
        run_params["eta"] = dzps19_step(ds.n, lam0)
    run_params.update(record="certified" if params["conclusion"] == "lambda_min" else "loss",
                      predict=False, identity_samples=0)
    run = run_seed(run_params, seed, data=ctx, threads=threads)
    if run.summary.status == "interrupted":
        raise KeyboardInterrupt
    tr = run.result.trajectory
    out.update(status=run.summary.status, eta=run.resolved.eta, final_loss=run.summary.final_loss,
               max_movement=run.summary.max_movement)
    if params["conclusion"] == "lambda_min":
        # the run's certificates are against t = lambda_0/2 of the same data (train's default),
        # and xi * t for the masked kernels
        if masked:
            ok = np.asarray(tr.lam_certified_masked, bool).reshape(tr.steps, -1).all(axis=1)
            thr = run.resolved.xi * tr.lam_threshold
        else:
            ok = np.asarray(tr.lam_certified_full, bool)
            thr = tr.lam_threshold
        bad = np.flatnonzero(~ok)
        holds = run.summary.status == "completed" and bad.size == 0
        return dict(out, holds=holds, margin=None, value=None, threshold=float(thr),
                    worst_step=int(bad[0]) if bad.size else None, decided_by="certificate")
    loss = np.asarray(tr.loss, float)
    steps = np.arange(loss.size)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        bound = loss[0] * dzps19_rate(run.resolved.eta, lam0) ** steps
        ratio = np.where(np.isfinite(loss), bound / loss, 0.0)
    # k = 0 holds with equality; compare with a relative rounding margin
    ok = np.isfinite(loss) & (loss <= bound * (1.0 + 1e-12))
    k = int(np.argmin(ratio))
    holds = run.summary.status == "completed" and bool(ok.all())
    return dict(out, holds=holds, margin=float(ratio[k]), value=float(loss[k]), threshold=float(bound[k]),
                worst_step=k)


run_conclusion.validate = canonical_width_params


def _width_cost(params: dict) -> float:
    if params["conclusion"] == "concentration":
        return float(params["m"])
    return run_cost(dict(params, predict=False))


run_conclusion.cost = _width_cost


def _ratio(a: float, b: float) -> float:
    if b == 0:
        return math.inf if a > 0 else (1.0 if a == 0 else -math.inf)
    return float(a / b)


def rate_horizon(eta: float, lam0: float) -> tuple[int, str]:
    """Default K of the ``rate`` conclusion: the first k with ``(1 − ηλ0/2)^k ≤`` :data:`RATE_HORIZON`
    (capped at :data:`MAX_HORIZON`), so the bound asks for a real decrease; and a note saying so."""
    q = dzps19_rate(eta, lam0)
    K = MAX_HORIZON if not 0.0 < q < 1.0 else math.ceil(math.log(RATE_HORIZON) / math.log(q))
    if K >= MAX_HORIZON:
        return MAX_HORIZON, (f"K = {MAX_HORIZON} steps (the cap): the bound (1 - eta*lambda_0/2)^K only reaches "
                             f"{q ** MAX_HORIZON:.3g} of the initial loss there")
    return int(K), f"K = {K} steps: the first k at which the bound (1 - eta*lambda_0/2)^k reaches {RATE_HORIZON:g}"


# ----------------------------------------------------------------------------- the search on data


@dataclass(frozen=True)
class WidthResult:
    """A width search on data: m*, its bracket, every width's runs, and the theorems' widths.

    ``to_dict()`` is the JSON of ``ntkcheck width --json`` (keys ``m_star``, ``bracket``,
    ``conclusion``, ``theorems`` with each predicted width and its ratio to m*, ...).
    """

    conclusion: str
    statement: str
    source: str
    m_star: int | None
    bracket: tuple
    status: str
    levels: tuple
    delta: float
    seeds: int
    tolerance: float
    level: float
    data: dict
    lam0: float
    lam_max: float
    n: int
    params: dict
    eta: float | None
    eta_theorem: float
    theorems: tuple
    store: str | None
    runs: int
    runs_executed: int
    seconds: float
    notes: tuple = field(default=())

    def to_dict(self) -> dict:
        return jsonable(asdict(self))


def find_width(data: str, conclusion: str, *, theorems=None, seeds: int = 10, delta: float = 0.1,
               out=None, m_start: int = 16, m_max: int = 2**20, tolerance: float = 0.1, level: float = 0.95,
               workers: int | None = None, scheduler: str | None = None, resume: bool = False,
               threads: int | None = None, progress: bool = False, log=None, **run) -> WidthResult:
    """Measure m*, the smallest width at which ``conclusion`` holds with probability ≥ 1 − δ.

    Parameters
    ----------
    data : str
        Dataset spec (``sphere:n=100,d=10,seed=0``, ``digits:n=300``, a file).
    conclusion : {"lambda_min", "rate", "concentration"}
        See the module docstring.
    theorems : sequence of str, optional
        Theorems whose width is put beside m* (default: the conclusion's); each needs a
        ``width`` key.
    seeds : int, default 10
        Runs per width (replicates).
    delta : float, default 0.1
        The conclusion must hold on at least ``(1 − δ)`` of the seeds; also the theorems' δ.
    out : path-like, optional
        Sweep store of the runs (a new or resumable folder); default a temporary folder.
    m_start, m_max, tolerance, level
        Search settings (:func:`search_width`).
    workers, scheduler, threads
        Where the runs execute (:func:`ntkcheck.sweep.run_sweep`).
    resume : bool, default False
        Continue the search whose store is ``out``.
    progress, log
        Progress bar and messages.
    **run
        Run parameters (``scheme``, ``kappa``, ``eta``, ``steps``, ``local_steps``, ``p``,
        ``xi``, ``target``, ``normalize``, ``rows``).

    Returns
    -------
    WidthResult
    """
    t0 = time.perf_counter()
    log = log or (lambda msg: None)
    seeds = check_int(seeds, "seeds", min_val=1)
    check_int(m_start, "m_start", min_val=1)
    base = canonical_width_params({"data": data, "conclusion": conclusion, "m": m_start, **run})
    base.pop("m")
    ctx = load_data(base["data"], base["target"], base["normalize"], base["rows"])
    rep = ctx.assumptions
    eta_thm = dzps19_step(rep.n, rep.lam0_hat)
    eta = None
    if conclusion != "concentration":
        eta = eta_thm if base["eta"] == "theorem" else (1.0 / rep.lam_max if base["eta"] == "auto" else base["eta"])
    horizon_note = None
    if conclusion == "rate" and "steps" not in run and "global_steps" not in run:
        base["steps"], horizon_note = rate_horizon(eta, rep.lam0_hat)
    values = dict(data_values(rep), delta=delta)
    if conclusion != "concentration":
        values.update(kappa=base["kappa"], p=base["p"], tau=base["local_steps"], K=base["steps"], eta=eta)
        values["xi"] = base["xi"] if base["xi"] is not None else 1.0
    preds = predicted_widths(CONCLUSIONS[conclusion].theorems if theorems is None else theorems, values)

    tmp = None
    if out is None:
        tmp = tempfile.TemporaryDirectory(prefix="ntkcheck-width-")
        store_dir = tmp.name
    else:
        store_dir = os.fspath(out)
    widths: list[int] = []
    state = dict(ran=0, first=not resume)

    def evaluate(m: int):
        widths.append(m)
        sweep = parse_spec(_spec(base, widths, seeds, conclusion), source="ntkcheck width")
        res = run_sweep(sweep, store_dir, workers=workers, scheduler=scheduler, resume=not state["first"],
                        threads=threads, progress=progress, log=log)
        state["first"] = False
        state["ran"] += res.ran
        if res.failed:
            msg = res.failures[0].get("error", {}).get("message", "") if res.failures else ""
            raise RuntimeError(f"{res.failed} run(s) failed at m = {m} (see `ntkcheck sweep-status {store_dir}`): {msg}")
        if res.pending:
            raise KeyboardInterrupt
        records = Store(store_dir).scan().records
        outcome = []
        for t in sweep.tasks:
            if t.params["m"] == m:
                outcome.append(bool(records[t.run_id]["result"]["holds"]))
        return outcome

    try:
        with warnings.catch_warnings(), warm_pool():
            warnings.simplefilter("ignore", NumericalWarning)
            search = search_width(evaluate, delta=delta, m_start=m_start, m_max=m_max, tolerance=tolerance,
                                  level=level, log=log)
    finally:
        if tmp is not None:
            tmp.cleanup()
    notes = [horizon_note] if horizon_note else []
    if conclusion == "rate" and eta is not None:
        notes.append(f"the runs use eta = {eta:.4g}; the theorems prove the rate for eta <= c*lambda_0/n^2 = "
                     f"{eta_thm:.3g} (c = 1), {eta / eta_thm:.3g}x smaller"
                     if base["eta"] != "theorem" else
                     f"the runs use the theorems' step eta = lambda_0/n^2 = {eta_thm:.3g} (c = 1)")
    for p in preds:
        p["ratio"] = (p["width"] / search.m_star) if (p["width"] is not None and search.m_star) else None
    return WidthResult(
        conclusion=conclusion, statement=CONCLUSIONS[conclusion].statement, source=CONCLUSIONS[conclusion].source,
        m_star=search.m_star, bracket=search.bracket, status=search.status, levels=search.levels,
        delta=float(delta), seeds=seeds, tolerance=search.tolerance, level=search.level,
        data=ctx.dataset.describe(), lam0=float(rep.lam0_hat), lam_max=float(rep.lam_max), n=int(rep.n),
        params=base, eta=eta, eta_theorem=eta_thm, theorems=tuple(preds),
        store=None if tmp is not None else store_dir, runs=len(search.levels) * seeds, runs_executed=state["ran"],
        seconds=round(time.perf_counter() - t0, 2), notes=tuple(notes))


def _spec(base: dict, widths, seeds: int, conclusion: str) -> str:
    lines = [f"# ntkcheck width: the runs of a width search for `{conclusion}`", "[sweep]",
             f"seed = {SWEEP_SEED}", f"seeds = {int(seeds)}", f"runner = {toml_value(RUNNER)}",
             f"name = {toml_value('width ' + conclusion)}", "", "[fixed]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in base.items() if v is not None]
    lines.append("")
    for m in sorted(set(widths)):
        lines += ["[[points]]", f"m = {int(m)}", ""]
    return "\n".join(lines)
