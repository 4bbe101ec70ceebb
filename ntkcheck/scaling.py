"""How the empirical width requirement m* grows with n, beside the theorems' exponents.

:func:`width_scaling` measures m*(n) (:func:`ntkcheck.width.find_width`) on nested subsets of
one dataset (:func:`ntkcheck.data.subset_rows`) and :func:`fit_scaling` fits

    log m* = a + b log n            (and, when λ0 varies with n,  + c log λ0)

by least squares, with a bootstrap interval on b.  The bootstrap redraws what is random in each
m*: the seeds' outcomes at every width the search evaluated (a binomial redraw at the observed
frequency), the search's decision replayed on them, and the threshold placed uniformly (in log)
inside the bracket the decision leaves — so the interval carries both the seed noise and the
search's resolution.  Given plain replicate measurements of m* per n instead, the bootstrap
resamples them within each n.

Each theorem's width is a power of n times powers of λ0 (and logs): its *nominal* exponent of n
(DZPS19 6, SY19 4, ADHLW19 7) assumes λ0 fixed, so the report also fits the theorem's predicted
widths on the same data (with the measured λ0(n)) — the slope it predicts *here* — beside b.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import asdict, dataclass

import numpy as np

from ._json import jsonable
from ._rng import as_generator, seed_record
from ._validation import check_int, check_scalar
from .unit import load_data
from .width import WidthSearch, find_width

__all__ = ["ScalingFit", "ScalingResult", "fit_loglog", "bootstrap_mstar", "fit_scaling", "width_scaling",
           "parse_scale"]


def fit_loglog(ns, ms, lam0s=None) -> np.ndarray:
    """Least-squares coefficients ``(a, b)`` of ``log m = a + b log n`` (``(a, b, c)`` with ``+ c log λ0``)."""
    ns, ms = np.asarray(ns, float), np.asarray(ms, float)
    cols = [np.ones_like(ns), np.log(ns)]
    if lam0s is not None:
        cols.append(np.log(np.asarray(lam0s, float)))
    A = np.column_stack(cols)
    coef, *_ = np.linalg.lstsq(A, np.log(ms), rcond=None)
    return coef


def bootstrap_mstar(search, n_boot: int, rng) -> np.ndarray:
    """``n_boot`` bootstrap draws of the m* of a :class:`~ntkcheck.width.WidthSearch` (see the module
    docstring); NaN where the redrawn search finds no width."""
    rng = as_generator(rng)
    lv = sorted(search.levels, key=lambda v: v.m)
    if not lv:
        raise ValueError("the width search evaluated no width.")
    ms = np.array([v.m for v in lv], float)
    t = np.array([v.trials for v in lv])
    p = np.array([v.successes / v.trials for v in lv])
    need = np.array([max(0, math.ceil((1.0 - search.delta) * v.trials - 1e-9)) for v in lv])
    k = rng.binomial(t, p, size=(n_boot, len(lv)))
    holds = k >= need
    # the smallest evaluated width from which every evaluated width holds
    tail = np.flip(np.logical_and.accumulate(np.flip(holds, axis=1), axis=1), axis=1)
    found = tail.any(axis=1)
    first = np.argmax(tail, axis=1)
    hi = ms[first]
    # the threshold lies in (lower, upper]: uniform in log between the width below and m*
    lo = np.where(first > 0, ms[np.maximum(first - 1, 0)], hi)
    u = rng.random(n_boot)
    out = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
    out[~found] = np.nan
    return out


@dataclass(frozen=True)
class ScalingFit:
    """``log m* = a + b log n`` (and ``+ c log λ0``) with bootstrap intervals.

    Attributes
    ----------
    b, a : float
        Fitted exponent of n and intercept.
    b_ci : tuple
        Percentile bootstrap interval of b at ``level``.
    c, c_ci, b_with_lambda, b_with_lambda_ci : float, tuple or None
        The fit with ``+ c log λ0`` (None unless λ0 varies and there are at least 4 sizes).
    boot : int
        Bootstrap replicates used (those where every size found a width).
    seed
        The bootstrap's seed (``rng``).
    """

    ns: tuple
    m_star: tuple
    lam0: tuple | None
    a: float
    b: float
    b_ci: tuple
    c: float | None
    c_ci: tuple | None
    b_with_lambda: float | None
    b_with_lambda_ci: tuple | None
    level: float
    boot: int
    seed: object

    def to_dict(self) -> dict:
        return jsonable(asdict(self))


def fit_scaling(ns, measurements, *, lam0s=None, n_boot: int = 2000, rng=None, level: float = 0.95) -> ScalingFit:
    """Fit m*(n) on log–log axes with a bootstrap interval on the exponent.

    Parameters
    ----------
    ns : sequence of int
        Dataset sizes, at least two distinct.
    measurements : sequence
        Per size, a :class:`~ntkcheck.width.WidthSearch` (bootstrapped as in the module
        docstring) or a sequence of replicate m* values (resampled within the size).
    lam0s : sequence of float, optional
        λ0 at each size; a second fit adds ``c log λ0`` when it varies (by more than 5 %) and
        there are at least 4 sizes.
    n_boot : int, default 2000
    rng : seed or Generator
    level : float, default 0.95

    Returns
    -------
    ScalingFit

    Examples
    --------
    >>> ns = [50, 100, 200, 400]
    >>> reps = [[2.0 * n**1.5 * f for f in (0.9, 1.0, 1.1)] for n in ns]
    >>> fit = fit_scaling(ns, reps, rng=0)
    >>> round(fit.b, 6), fit.b_ci[0] < 1.5 < fit.b_ci[1]
    (1.5, True)
    """
    ns = [check_int(n, f"ns[{i}]", min_val=1) for i, n in enumerate(ns)]
    if len(set(ns)) < 2:
        raise ValueError(f"`ns` must hold at least two distinct sizes to fit an exponent, got {ns}.")
    if len(measurements) != len(ns):
        raise ValueError(f"`measurements` must have one entry per size ({len(ns)}), got {len(measurements)}.")
    n_boot = check_int(n_boot, "n_boot", min_val=10)
    level = float(check_scalar(level, "level", numbers.Real, min_val=0.0, max_val=1.0, closed="neither"))
    seed = seed_record(rng)
    gen = as_generator(rng)
    points, draws = [], []
    for i, meas in enumerate(measurements):
        if hasattr(meas, "levels"):
            if meas.m_star is None:
                raise ValueError(f"the width search at n = {ns[i]} found no width (status {meas.status!r}); "
                                 "raise m_max or drop that size.")
            points.append(float(meas.m_star))
            draws.append(bootstrap_mstar(meas, n_boot, gen))
        else:
            vals = np.asarray(meas, float).ravel()
            if vals.size == 0 or not np.all(np.isfinite(vals)) or np.any(vals <= 0):
                raise ValueError(f"`measurements[{i}]` must be positive finite widths, got {list(vals)}.")
            points.append(float(np.exp(np.mean(np.log(vals)))))
            idx = gen.integers(0, vals.size, size=(n_boot, vals.size))
            draws.append(np.exp(np.mean(np.log(vals[idx]), axis=1)))
    D = np.column_stack(draws)
    good = np.all(np.isfinite(D), axis=1)
    if good.sum() < 10:
        raise ValueError("fewer than 10 bootstrap replicates found a width at every size; the fit is not defined.")
    D = D[good]
    a, b = fit_loglog(ns, points)
    boot_b = np.array([fit_loglog(ns, row)[1] for row in D])
    q = ((1 - level) / 2 * 100, (1 + level) / 2 * 100)
    b_ci = tuple(float(x) for x in np.percentile(boot_b, q))
    c = c_ci = bl = bl_ci = None
    lam = None if lam0s is None else [float(v) for v in lam0s]
    if lam is not None and len(set(ns)) >= 4 and max(lam) / min(lam) > 1.05:
        _, bl, c = fit_loglog(ns, points, lam)
        coefs = np.array([fit_loglog(ns, row, lam) for row in D])
        bl_ci = tuple(float(x) for x in np.percentile(coefs[:, 1], q))
        c_ci = tuple(float(x) for x in np.percentile(coefs[:, 2], q))
        bl, c = float(bl), float(c)
    return ScalingFit(ns=tuple(ns), m_star=tuple(points), lam0=None if lam is None else tuple(lam), a=float(a),
                      b=float(b), b_ci=b_ci, c=c, c_ci=c_ci, b_with_lambda=bl, b_with_lambda_ci=bl_ci,
                      level=level, boot=int(good.sum()), seed=seed)


@dataclass(frozen=True)
class ScalingResult:
    """m*(n) for one conclusion: each size's :class:`~ntkcheck.width.WidthResult`, the fit, and the
    theorems' exponents (``theorems``: ``theorem``, ``nominal``, ``on_data`` slope, widths)."""

    conclusion: str
    results: tuple
    fit: ScalingFit
    theorems: tuple

    def to_dict(self) -> dict:
        return dict(conclusion=self.conclusion, fit=self.fit.to_dict(), theorems=jsonable(list(self.theorems)),
                    results=[r.to_dict() for r in self.results])


def parse_scale(text: str) -> list[int]:
    """The sizes of ``--scale n=50,100,200``: at least two distinct integers >= 2, ascending.

    Examples
    --------
    >>> parse_scale("n=200,50,100")
    [50, 100, 200]
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"`--scale` must look like n=50,100,200 (at least two sizes), got {text!r}.")
    key, sep, rest = text.partition("=")
    if not sep or key.strip() != "n":
        raise ValueError(f"`--scale` must look like n=50,100,200 (the data size n is what scales), got {text!r}.")
    try:
        ns = sorted({int(v) for v in rest.split(",") if v.strip()})
    except ValueError:
        raise ValueError(f"`--scale` must list integers after n=, got {rest!r}.") from None
    if len(ns) < 2:
        raise ValueError(f"`--scale` needs at least two distinct sizes to fit an exponent, got {text!r}.")
    if ns[0] < 2:
        raise ValueError(f"`--scale` sizes must be at least 2, got {ns[0]}.")
    return ns


def width_scaling(data: str, conclusion: str, ns, *, out=None, theorems=None, n_boot: int = 2000, rng=0,
                  log=None, **search) -> ScalingResult:
    """Measure m*(n) on nested subsets of ``data`` and fit its exponent (see the module docstring).

    Parameters
    ----------
    data : str
        Dataset spec with at least ``max(ns)`` points; size n uses its nested subset of n points.
    conclusion : str
        As in :func:`ntkcheck.width.find_width`.
    ns : sequence of int
        Sizes (at least two distinct).
    out : path-like, optional
        Folder of the stores: one sweep store per size, ``out/n=<n>``; resumable.
    theorems : sequence of str, optional
        Theorems to put beside the fit (default: the conclusion's).
    n_boot, rng
        Bootstrap of :func:`fit_scaling`.
    log : callable, optional
    **search
        Passed to :func:`ntkcheck.width.find_width` (seeds, delta, run parameters, workers...).

    Returns
    -------
    ScalingResult
    """

    ns = sorted({check_int(n, "ns", min_val=2) for n in ns})
    if len(ns) < 2:
        raise ValueError(f"`ns` needs at least two distinct sizes to fit an exponent, got {ns}.")
    full = load_data(data, search.get("target"), search.get("normalize", False)).dataset
    if ns[-1] > full.n:
        raise ValueError(f"`ns` goes up to {ns[-1]} but {full.name} has {full.n} points; use a dataset with at "
                         f"least {ns[-1]} (e.g. sphere:n={ns[-1]},d={full.d},seed=0).")
    log = log or (lambda msg: None)
    results = []
    for n in ns:
        log(f"n = {n}")
        store = None if out is None else os.path.join(os.fspath(out), f"n={n}")
        results.append(find_width(data, conclusion, out=store, theorems=theorems, rows=n, log=log, **search))
    searches = [_as_search(r) for r in results]
    lam0s = [r.lam0 for r in results]
    fit = fit_scaling(ns, searches, lam0s=lam0s, n_boot=n_boot, rng=rng)
    table = []
    names = [t["theorem"] for t in results[0].theorems]
    for j, name in enumerate(names):
        widths = [r.theorems[j]["width"] for r in results]
        on_data = float(fit_loglog(ns, widths)[1]) if all(w is not None and w > 0 for w in widths) else None
        table.append(dict(theorem=name, provenance=results[0].theorems[j]["provenance"],
                          nominal=results[0].theorems[j]["n_exponent"], on_data=on_data, widths=widths))
    return ScalingResult(conclusion=conclusion, results=tuple(results), fit=fit, theorems=tuple(table))


def _as_search(result):

    return WidthSearch(m_star=result.m_star, bracket=result.bracket, status=result.status, levels=result.levels,
                       delta=result.delta, level=result.level, tolerance=result.tolerance)
