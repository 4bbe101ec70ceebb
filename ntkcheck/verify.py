"""Predictions of the theorems in :mod:`bounds` next to measurements (with its companions
:mod:`ntkcheck.exponents` and :mod:`ntkcheck.verify_shift`, the only users of ``bounds``).

Five jobs (style.md §1: the numeric core stays free of SymPy; this layer joins the two):

* :func:`check_theorem` evaluates a theorem on a dataset and a configuration — its predicted
  width, step size, rate, radii and error term — and says which hypotheses the given width m,
  step η and scale κ satisfy, and by what factor they fall short (docs/theory.md §6).  The absolute
  constants hidden by O(·)/Ω(·) take their defaults (1) from :mod:`bounds`; LK22 statements
  are [STRUCT] templates and are labelled so.
* :func:`compare_run` puts a training run (LK22 Algorithm 1, :func:`ntkcheck.train`) beside the
  theorem: the fitted per-global-step contraction of ``L_k = ‖y − u_k‖²`` against the predicted
  rate, the final plateau against the error term, the largest weight movement against
  ``R = cδλ0/n²`` (DZPS19 Lemma 3.2) and ``R' = 4√n‖y − u(0)‖/(√m λ0)`` (DZPS19 Thm 4.1 proof),
  and ``min_k λ_min(H(W_k))`` against ``λ0/2``.  :func:`measure_identities`
  (:mod:`ntkcheck._identities`) measures each [EXACT] identity of docs/theory.md §5 with its
  Monte-Carlo standard error, the exact expectations being those of ``exact.lk22_identities``.
* :func:`predicted_widths` gives each theorem's width requirement beside the width a conclusion
  needs on the data (:mod:`ntkcheck.width`), with its exponent of n (:func:`n_exponent`).
* :func:`fit_theorem` (:mod:`ntkcheck.exponents`) fits a theorem's free exponents and constants to
  measurements across a sweep.
* :mod:`ntkcheck.verify_shift` puts the DHSWZ22 shifted-ReLU theorems (``deng2022.*``,
  docs/theory.md §9) beside the data.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass

import numpy as np
import sympy as sp
from scipy.special import ndtr

import bounds
from bounds import MissingValueError

from ._json import jsonable
from .exponents import ExponentFit, fit_theorem
from ._identities import identity_samples
from ._stats import z_test
from .masks import theta as masks_theta

__all__ = ["Requirement", "TheoremCheck", "check_theorem", "data_values",
           "expected_r0", "run_values", "dzps19_rate", "dzps19_step", "fit_contraction", "plateau", "compare_run", "measure_identities",
           "fit_theorem", "ExponentFit", "predicted_widths", "n_exponent"]

#: Expressions evaluated for display (when the theorem has them), in this order.
PREDICTION_KEYS = ("width", "step_size", "kappa_max", "rate", "error", "radius",
                   "radius_movement", "lambda_min", "kernel_deviation", "theta",
                   "generalization", "probability")
#: Deterministic identities: relative error at most this.
EXACT_RTOL = 1e-9


@dataclass(frozen=True)
class Requirement:
    """One hypothesis of a theorem at given numbers.

    Attributes
    ----------
    hypothesis : str
    status : {"satisfied", "violated", "undecided"}
    lhs, rhs : float or None
        Numeric sides when determined.
    variable : str or None
        The bare symbol side (``m`` in ``m >= width``), if any.
    factor : float or None
        For ``a >= b``: ``b / a``; for ``a <= b``: ``a / b``.  Above 1 the hypothesis fails
        by that factor (e.g. the width is ``factor`` times too small).
    """

    hypothesis: str
    status: str
    lhs: float | None
    rhs: float | None
    variable: str | None
    factor: float | None


@dataclass(frozen=True)
class TheoremCheck:
    """A theorem evaluated at given numbers (:func:`check_theorem`).

    Attributes
    ----------
    name, citation, provenance, confidence, notes : str
    inputs : dict
        The numbers substituted (plain symbol names).
    values : dict of str to float
        Evaluated expressions (``width``, ``step_size``, ``rate``, ``error``, radii...).
    unavailable : dict of str to str
        Expressions that could not be evaluated, with the reason (missing values).
    requirements : tuple of Requirement
    passed : bool
        No hypothesis is violated (undecided ones pass).
    """

    name: str
    citation: str
    provenance: str
    confidence: str
    notes: str
    inputs: dict
    values: dict
    unavailable: dict
    requirements: tuple
    passed: bool

    def to_dict(self) -> dict:
        """JSON-serialisable dict."""
        return jsonable(asdict(self))


def data_values(report) -> dict:
    """Theorem inputs that come from the data (an :class:`~ntkcheck.AssumptionReport`)."""
    return dict(n=report.n, d=report.d, lambda_0=report.lam0_hat, lambda_max=report.lam_max,
                C=report.label_bound, y_Hinv_y=report.y_Hinv_y)


def expected_r0(X, y, *, kappa: float, xi: float, shift: float = 0.0) -> float:
    """Expected initial residual ``√E‖y − ξ f(W_0, X)‖² = √(‖y‖² + ξ² κ² Σ_i ‖x_i‖² / 2)``.

    Used when no run is available (``E f(W_0, x)² = κ²‖x‖²/2`` for ``a_r = ±1``);
    :func:`compare_run` uses the measured ``‖y − u(0)‖`` instead.  With a ``shift`` b (shifted
    ReLU, docs/theory.md §9) ``E f_b(W_0, x)² = E max(g − b, 0)² = s² ((1 + t²) Φ(−t) − t φ(t))``
    for ``g ~ N(0, s²)``, ``s = κ‖x‖``, ``t = b/s`` (``s²/2`` at b = 0).
    """
    X, y = np.asarray(X, float), np.asarray(y, float)
    if shift == 0.0:
        return math.sqrt(float(y @ y) + xi**2 * kappa**2 * float(np.sum(X * X)) / 2.0)
    s2 = kappa**2 * np.sum(X * X, axis=1)
    t = shift / np.sqrt(s2)
    second = s2 * ((1.0 + t**2) * ndtr(-t) - t * np.exp(-t**2 / 2.0) / math.sqrt(2.0 * math.pi))
    return math.sqrt(float(y @ y) + xi**2 * float(np.sum(second)))


def check_theorem(theorem, **values) -> TheoremCheck:
    """Evaluate a theorem's predictions and hypotheses at the given numbers.

    Parameters
    ----------
    theorem : str or bounds.Theorem
        A registered name (``bounds.names()``) or a theorem object (e.g. from ``bounds.load``).
    **values : float
        Numbers by plain symbol name (``n``, ``lambda_0``, ``m``, ``eta``, ``kappa``, ``delta``,
        ``xi``, ``p``, ``tau``, ``K``, ``r0``...).  Names the theorem does not use are ignored;
        non-finite values are dropped.

    Returns
    -------
    TheoremCheck

    Raises
    ------
    KeyError
        Unknown theorem name.

    Examples
    --------
    >>> chk = check_theorem("du2019.thm4_1", n=10, lambda_0=0.5, delta=0.1, m=1000, eta=0.001)
    >>> chk.values["step_size"], chk.passed
    (0.005, False)
    """
    thm = bounds.get(theorem) if isinstance(theorem, str) else theorem
    known = set(thm.symbol_names)
    vals = {k: v for k, v in values.items()
            if k in known and v is not None and math.isfinite(float(v))}
    for k in ("n", "d", "m", "p", "tau", "K", "k"):
        if k in vals:
            vals[k] = int(round(vals[k]))
    out, missing = {}, {}
    for key in thm.keys():
        try:
            out[key] = thm.evaluate(key, **vals)
        except MissingValueError as exc:
            missing[key] = str(exc)
        except (ValueError, ZeroDivisionError, OverflowError) as exc:
            missing[key] = str(exc)
    report = thm.check_hypotheses(**vals)
    reqs = []
    for c in report.checks:
        hyp = c.hypothesis
        var = None
        for side in (hyp.lhs, hyp.rhs):
            if getattr(side, "is_Symbol", False):
                var = side.name
                break
        factor = None
        if c.lhs is not None and c.rhs is not None and c.lhs > 0 and c.rhs > 0:
            factor = c.rhs / c.lhs if hyp.rel_op in (">=", ">") else c.lhs / c.rhs
        reqs.append(Requirement(str(hyp), c.status, c.lhs, c.rhs, var, factor))
    ordered = {k: out[k] for k in PREDICTION_KEYS if k in out}
    ordered.update({k: v for k, v in out.items() if k not in ordered})
    return TheoremCheck(name=thm.name, citation=thm.citation, provenance=thm.provenance,
                        confidence=thm.confidence, notes=thm.notes, inputs=vals, values=ordered,
                        unavailable=missing, requirements=tuple(reqs), passed=report.ok)


def dzps19_rate(eta: float, lambda_0: float) -> float:
    """DZPS19 Thm 4.1's per-step contraction ``1 − ηλ0/2`` of ``‖y − u(k)‖²``, from :mod:`bounds`.

    Evaluated from the theorem object ``du2019.thm4_1`` (its ``rate`` expression), never retyped.

    Examples
    --------
    >>> dzps19_rate(0.5, 0.2)
    0.95
    """
    return _dzps19("rate", eta=float(eta), lambda_0=float(lambda_0))


def dzps19_step(n: int, lambda_0: float) -> float:
    """DZPS19 Thm 4.1's step size ``η = c_η λ0/n²`` (default constant ``c_η = 1``), from :mod:`bounds`.

    Examples
    --------
    >>> dzps19_step(10, 0.5)
    0.005
    """
    return _dzps19("step_size", n=float(n), lambda_0=float(lambda_0))


def _dzps19(key: str, **values) -> float:
    fn, args = _dzps19_fn(key)
    return float(fn(*(values[a] for a in args)))


@functools.lru_cache(maxsize=4)
def _dzps19_fn(key: str):
    return bounds.get("du2019.thm4_1").lambdify(key)


def fit_contraction(loss, *, plateau_factor: float = 3.0) -> dict:
    """Fitted per-global-step contraction of a loss trajectory.

    Least squares of ``log L_k`` on k over the initial phase ``k = 0..k1``, where k1 is the
    last step before the loss first falls below ``plateau_factor`` times the final plateau
    (:func:`plateau`); at least the first 3 points are used.

    Returns
    -------
    dict
        ``factor`` (``exp`` of the slope: L_{k+1} ≈ factor · L_k), ``k_start``, ``k_end``.
    """
    L = np.asarray(loss, dtype=float)
    L = L[np.isfinite(L) & (L > 0)]
    if L.size < 2:
        return dict(factor=float("nan"), k_start=0, k_end=int(L.size) - 1)
    floor = plateau_factor * plateau(L)
    below = np.flatnonzero(L < floor)
    k1 = int(below[0]) - 1 if below.size else L.size - 1
    k1 = min(max(k1, 2), L.size - 1)
    k = np.arange(k1 + 1)
    slope = np.polyfit(k, np.log(L[: k1 + 1]), 1)[0]
    return dict(factor=float(math.exp(slope)), k_start=0, k_end=k1)


def plateau(loss, *, tail: float = 0.1) -> float:
    """Mean of the last ``tail`` fraction (at least 1 point) of a loss trajectory."""
    L = np.asarray(loss, dtype=float)
    L = L[np.isfinite(L)]
    t = max(1, int(math.ceil(tail * L.size)))
    return float(L[-t:].mean())


def run_values(params: dict, *, eta: float, xi: float, assumptions) -> dict:
    """Theorem inputs of a run: the data's (:func:`data_values`) and the configuration's.

    ``params`` are canonical run parameters (:mod:`ntkcheck._params`); ``eta`` and ``xi`` the
    resolved values (``eta="auto"`` is 1/λ_max of the data).
    """
    return dict(data_values(assumptions), m=params["m"], eta=float(eta), kappa=params["kappa"],
                xi=float(xi), p=params["p"], tau=params["local_steps"], K=params["steps"],
                delta=params["delta"])


def compare_run(summaries, *, theorem: str, values: dict) -> dict:
    """Measured quantities of a multi-seed run beside the theorem's predictions.

    Parameters
    ----------
    summaries : list of RunSummary
        One per seed (:class:`ntkcheck.unit.RunSummary`: every measured quantity is taken from
        there, never recomputed).
    theorem : str
        Theorem name whose ``rate`` / ``error`` are compared.
    values : dict
        Theorem inputs (:func:`run_values`); ``r0 = ‖y − u(0)‖`` is measured (mean over seeds).

    Returns
    -------
    dict
        JSON-serialisable comparison (see ``report.json`` in the README): ``theorem``,
        ``contraction`` (fitted vs the predicted rate, DZPS19 Thm 4.1 / LK22 Thm 3–4),
        ``envelope``, ``plateau`` (vs the error term), ``movement`` (vs R of DZPS19 Lemma 3.2 and
        R' of the Thm 4.1 proof) and ``lambda_min`` (vs λ0/2; masked: ξλ0/2, LK22 Thm 2).
    """
    runs = list(summaries)
    r0 = float(np.mean([math.sqrt(s.initial_loss) for s in runs]))
    vals = dict(values, r0=r0)
    chk = check_theorem(theorem, **vals)
    rate = chk.values.get("rate")
    err = chk.values.get("error", 0.0)
    factors = np.array([s.contraction for s in runs], dtype=float)
    plateaus = np.array([s.plateau for s in runs], dtype=float)
    env = []
    for s in runs:
        if rate is None or not (0 <= rate < 1):
            env.append(None)
            continue
        x = np.asarray(s.loss, dtype=float)
        bound = rate ** s.loss_steps * x[0] + err
        env.append(float(np.mean(x <= bound * (1 + 1e-12))))
    out = dict(theorem=chk.to_dict())
    out["contraction"] = dict(
        measured_per_seed=factors.tolist(), measured_mean=_mean(factors), measured_sd=_sd(factors),
        predicted_rate=rate,
        at_least_as_fast_as_predicted=None if rate is None else bool(np.all(factors <= rate)),
        fit_windows=[tuple(s.contraction_window) for s in runs],
        note="L_{k+1} ~ factor * L_k fitted on the initial phase; the theorem bounds the "
             "factor by `rate` only when its hypotheses hold")
    out["envelope"] = dict(
        fraction_of_steps_within_bound_per_seed=env,
        note="fraction of k with L_k <= rate^k L_0 + error (constants c_* = 1)")
    out["plateau"] = dict(measured_per_seed=plateaus.tolist(), measured_mean=_mean(plateaus),
                          predicted_error=err, within_error=bool(np.all(plateaus <= err))
                          if err is not None else None)
    preds = [s for s in runs if s.predicted_plateau is not None]
    if preds:
        tot = _mean([s.predicted_plateau for s in preds])
        meas = _mean([s.plateau for s in preds])
        out["plateau_model"] = dict(
            predicted_bias=_mean([s.predicted_bias for s in preds]),
            predicted_noise=_mean([s.predicted_noise for s in preds]),
            predicted_total=tot, measured_mean=meas,
            ratio=tot / meas if tot is not None and meas else None,
            ratio_per_seed=[s.plateau_ratio for s in preds],
            note="docs/theory.md §8 [DERIVED]: bias = tracked loss along gradient descent on the implicit "
                 "objective G (step eta tau theta/(2 xi)), noise = linear response to the mask sampling; "
                 "first order in eta, lazy regime; ratio = predicted / measured")
    mv = np.array([s.max_movement for s in runs], dtype=float)
    base = {k: v for k, v in vals.items() if k in ("n", "lambda_0", "delta", "m", "r0")}
    R = check_theorem("du2019.lemma3_2", **base).values.get("radius")
    Rp = check_theorem("du2019.thm4_1", **base).values.get("radius_movement")
    out["movement"] = dict(max_per_seed=mv.tolist(), max=_max(mv), R=R, R_prime=Rp,
                           within_R=None if R is None else bool(np.all(mv <= R)),
                           within_R_prime=None if Rp is None else bool(np.all(mv <= Rp)),
                           note="R = delta lambda_0 / n^2 (DZPS19 Lemma 3.2, c = 1); "
                                "R' = 4 sqrt(n) ||y - u(0)|| / (sqrt(m) lambda_0)")
    lam0 = vals.get("lambda_0")
    xi = float(vals.get("xi", 1.0))
    lam_full = [s.min_lam_full for s in runs if s.min_lam_full is not None]
    lam_mask = [s.min_lam_masked for s in runs if s.min_lam_masked is not None]
    out["lambda_min"] = dict(
        lambda_0=lam0, half_lambda_0=None if lam0 is None else lam0 / 2,
        min_full=_min(lam_full) if lam_full else None,
        full_above_half_lambda_0=None if not lam_full or lam0 is None else bool(min(lam_full) >= lam0 / 2),
        min_masked=_min(lam_mask) if lam_mask else None,
        masked_above_half_xi_lambda_0=None if not lam_mask or lam0 is None
        else bool(min(lam_mask) >= xi * lam0 / 2),
        note="full: lambda_min(H(W_k)) vs lambda_0/2 (DZPS19 Lemma 3.2); masked: LK22 Thm 2 "
             "(xi-convention) vs xi lambda_0/2")
    return jsonable(out)


def measure_identities(X, y, W, a, *, kind: str, xi: float, p: int, tau: int, eta: float,
                       samples: int = 2000, rng=None) -> list:
    """Measure the [EXACT] identities of docs/theory.md §5 at weights W, with MC standard errors.

    The samples come from :func:`ntkcheck._identities.identity_samples`; the exact
    expectations are evaluated from ``bounds.get("exact.lk22_identities")``.

    Returns
    -------
    list of dict
        One entry per identity: ``identity``, ``statement``, ``measured``, ``expected``,
        ``se`` (None for deterministic identities), ``z`` or ``rel_error``, ``ok``.
    """
    thm = bounds.get("exact.lk22_identities")
    raw = identity_samples(X, y, W, a, kind=kind, xi=xi, p=p, tau=tau, eta=eta,
                           samples=samples, rng=rng)
    m = W.shape[0]
    S = raw["S"]
    ev = dict(xi=xi, p=p, m=m, S=S)
    theta = masks_theta(kind, xi, p)  # the one θ (1 for categorical masks: a partition)
    if kind == "categorical":
        bias = (1.0 - xi) / m
    else:
        bias = thm.evaluate("bias_coefficient", **ev)
    out = []
    for item in raw["items"]:
        key = item["key"]
        if key == "skipped":  # not applicable here; says why (ok: None, never counted as a failure)
            out.append(dict(identity=item["identity"], statement=item["statement"], ok=None, note=item["note"]))
            continue
        if key == "exact":
            rel = item["abs_error"] / max(abs(item["expected"]), 1e-300)
            out.append(dict(identity=item["identity"], statement=item["statement"],
                            measured=item["measured"], expected=item["expected"], se=None,
                            rel_error=rel, ok=bool(rel <= EXACT_RTOL)))
            continue
        s = np.asarray(item["samples"], dtype=float)
        if key == "mean_scale":
            expected = thm.evaluate("mean_scale", xi=xi) * item["base"]
        elif key == "loss_increase":
            expected = item["base"] + thm.evaluate("loss_increase", **ev)
        elif key == "gradient":
            expected = theta * item["base"] + bias * item["base_bias"]
        elif key == "implicit_step":
            expected = item["expected"]
        elif key == "categorical_variance":
            expected = thm.evaluate("categorical_variance", **ev)
        else:  # pragma: no cover - identity_samples only produces the keys above
            raise AssertionError(key)
        zt = z_test(s, expected)
        pick = (lambda v: float(np.ravel(np.broadcast_to(v, np.shape(zt.z)))[zt.argmax]))
        out.append(dict(identity=item["identity"], statement=item["statement"],
                        measured=pick(zt.mean), expected=pick(expected), se=pick(zt.se),
                        z=zt.max_z, components=int(np.size(zt.z)), samples=zt.samples,
                        ok=zt.ok))
    return jsonable(out)


# ----------------------------------------------------------------------------- helpers


def _mean(a):
    a = np.asarray(a, float)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else None


def _sd(a):
    a = np.asarray(a, float)
    a = a[np.isfinite(a)]
    return float(a.std(ddof=1)) if a.size > 1 else 0.0 if a.size else None


def _max(a):
    a = np.asarray(a, float)
    return float(np.nanmax(a)) if a.size else None


def _min(a):
    a = np.asarray(a, float)
    return float(np.nanmin(a)) if a.size else None


# ----------------------------------------------------------------------------- widths (ntkcheck width)


def predicted_widths(theorems, values: dict) -> list[dict]:
    """Each theorem's predicted width (its ``width`` key at default constants) on these values.

    Parameters
    ----------
    theorems : sequence of str or bounds.Theorem
        Theorem names (e.g. the ``theorems`` of a :data:`ntkcheck.width.CONCLUSIONS` entry).
    values : dict
        Theorem inputs (``n``, ``lambda_0``, ``delta``, ``kappa``, ``xi``, ...); those a theorem
        does not use are ignored.

    Returns
    -------
    list of dict
        ``theorem``, ``provenance``, ``citation``, ``width`` (None when a value is missing:
        ``missing`` names it), ``expression``, ``n_exponent`` (the exponent of n as n → ∞,
        log factors aside).

    Raises
    ------
    ValueError
        A theorem has no ``width`` key (or is not registered).
    """
    names = tuple(theorems)
    out = []
    for name in names:
        thm = name if isinstance(name, bounds.Theorem) else bounds.get(name)
        if "width" not in thm.keys():
            raise ValueError(f"theorem {thm.name!r} has no `width` key (its keys: {', '.join(thm.keys())}); "
                             f"the width search compares m* with a theorem's width requirement.")
        have = {k: v for k, v in values.items() if k in thm.symbol_names and v is not None}
        needed = {s.name for s in thm.expr("width").free_symbols} - {s.name for s in thm.constants}
        missing = sorted(needed - set(have))
        width = None
        if not missing:
            try:
                width = thm.evaluate("width", **have)
            except (ValueError, OverflowError) as exc:
                missing = [f"(not evaluable: {exc})"]
        out.append(dict(theorem=thm.name, provenance=thm.provenance, citation=thm.citation, width=width,
                        missing=missing, expression=str(thm.expr("width")), n_exponent=n_exponent(thm)))
    return out


def n_exponent(thm) -> float | None:
    """Exponent of n in a theorem's width as n → ∞ (``lim n ∂ log width/∂n``; logs count 0)."""
    expr = thm.expr("width").subs(thm.constants)
    n = next((s for s in expr.free_symbols if s.name == "n"), None)
    if n is None:
        return 0.0
    try:
        val = sp.limit(sp.simplify(n * sp.diff(sp.log(expr), n)), n, sp.oo)
    except Exception:  # noqa: BLE001 - a template sympy cannot take the limit of
        return None
    return float(val) if val.is_real and val.is_finite else None
