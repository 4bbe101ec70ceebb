"""Fit a theorem's free exponents and constants to measurements across a sweep (issue 12, item 3).

A [STRUCT] template of :mod:`bounds` (LK22, docs/theory.md §6) states the *form* of a bound
with unknown exponents ``e_*`` and constants ``c_*``, e.g. the variance part of the error
term of LK22 Thm 3, ``B_var = c_var κ^e_κ n (ξ(1 − ξ))^e_ξ / p^e_p``.  Given one measured
quantity ``y_i > 0`` per run of a sweep (the plateau, the fitted contraction, ...) and the
theorem's other symbols mapped from the runs' parameters, :func:`fit_theorem` estimates the
free symbols θ by least squares in log space::

    log y_i ≈ log f(x_i; θ),        i = 1..N.

Constants are fitted as ``log c`` (they stay positive).  When ``log f`` is linear in the
fitted parameters — a product of powers: an exponent multiplies ``log x``, a constant enters
as ``log c`` — the problem is linear least squares, solved exactly by
:func:`numpy.linalg.lstsq`; otherwise (a sum of terms such as ``B_bias + B_var + B_local``, a
rate ``1 − c η λ0 / 2``) by :func:`scipy.optimize.least_squares` started at the defaults.
Confidence intervals come from the pairs bootstrap (resample the rows with replacement,
refit; percentile interval).  The theorem's qualitative claims (:class:`bounds.Claim`) are
re-checked by SymPy at the fitted values.

Run parameters -> theorem symbols (as :func:`ntkcheck.verify.run_values` maps them): ``m``,
``kappa``, ``p``, ``delta``; ``tau`` = ``local_steps``; ``K`` = ``steps``; ``k`` = the global
steps completed; ``eta`` = ``eta_resolved`` (``"auto"`` resolved); ``xi`` resolved by the
scheme (1 for ``gd``, 1/p for IST; :func:`ntkcheck._params.canonical_params`); ``lambda_0`` =
``lam0`` and ``lambda_max`` = ``lam_max`` of the data's H∞; ``n`` and ``d`` from the data
spec; ``r0 = ‖y − u(0)‖ = sqrt(initial_loss)``.  Any other symbol is read from a row column
of the same name, or given by ``values=``.

Usage
-----
The shipped example sweeps κ × ξ × p with Bernoulli masks (τ = 1, so LK22's local term
vanishes) and fits ``bounds/examples/liao2022_thm3_bvar.toml``, the B_var template with free
κ, ξ(1 − ξ) and p exponents (defaults 2, 1, 1)::

    ntkcheck sweep bounds/examples/fit_liao2022_thm3.sweep.toml --out runs/thm3
    ntkcheck sweep-report runs/thm3 --fit bounds/examples/liao2022_thm3_bvar.toml:error_variance \\
        --measured plateau --free c_var,e_kappa_var,e_xi_var,e_p_var --seed 0

The second command prints the table (symbol | fitted | CI | default | consistent) and writes
``fit_<theorem>_<key>.json`` and ``.md`` into the report directory.  A built-in theorem is
named by its registry name (``--fit liao2022.thm3:error_variance`` fits ``c_var``; ``--fit
liao2022.thm3:error --free c_bias,c_var`` fits the sum of the bias and variance terms, the
non-linear path).  ``--measured predicted_noise`` fits the same template to the mask noise of
the docs/theory.md §8 model instead of the measured plateau.  From Python::

    >>> from ntkcheck.verify import fit_theorem                      # doctest: +SKIP
    >>> fit = fit_theorem("bounds/examples/liao2022_thm3_bvar.toml", "error_variance",
    ...                   "runs/thm3", measured="plateau", rng=0)   # doctest: +SKIP
    >>> print(fit.to_markdown())                                     # doctest: +SKIP

The measured plateau is the whole error ``B_bias + B_var (+ B_local)`` plus what has not yet
converged, so a fit of B_var alone is a fit of a misspecified model: read ``residual_sd`` (the
typical multiplicative misfit is ``exp(residual_sd)``) and ``r_squared`` before the exponents.

References
----------
Liao & Kyrillidis (TMLR 2022, arXiv 2112.02668), Thm 3 (Bernoulli masks), Thm 4; docs/theory.md
§6 (the [STRUCT] templates) and §8 (the plateau model).
"""

from __future__ import annotations

import math
import numbers
import os
import re
from dataclasses import asdict, dataclass

import numpy as np
import sympy as sp

import bounds

from ._json import jsonable
from ._rng import as_generator, seed_record
from ._validation import check_int, check_scalar
from .data import load_dataset
from .masks import _resolve_scheme
from .store import Store

__all__ = ["ExponentFit", "fit_theorem", "default_measured", "resolve_theorem", "report_stem",
           "ROW_SYMBOLS"]

#: Theorem symbol -> (row columns tried in order, transform, sweep parameter that moves it).
ROW_SYMBOLS = {
    "m": (("m",), None, "m"),
    "kappa": (("kappa",), None, "kappa"),
    "p": (("p",), None, "p"),
    "tau": (("local_steps",), None, "local_steps"),
    "K": (("steps",), None, "steps"),
    "k": (("result.steps", "steps"), None, "steps"),
    "delta": (("delta",), None, "delta"),
    "eta": (("eta_resolved", "eta"), None, "eta"),
    "lambda_0": (("lam0",), None, "data"),
    "lambda_max": (("lam_max",), None, "data"),
    "r0": (("initial_loss",), math.sqrt, "kappa or data"),
}
#: A design whose smallest/largest singular value (unit-norm columns) is below this is singular.
SINGULAR_RTOL = 1e-9
#: Log-residual given to a row where the model is not finite (non-linear path only).
_NONFINITE_RESIDUAL = 50.0


@dataclass(frozen=True)
class ExponentFit:
    """Free symbols of one theorem expression fitted to sweep measurements (:func:`fit_theorem`).

    Attributes
    ----------
    theorem, key, expression : str
        Theorem name, expression key and the expression fitted.
    measured : str
        Row column of the measured quantity.
    free : tuple of str
        Fitted symbols, in order.
    method : {"linear", "nonlinear"}
        Linear least squares (``log f`` linear in the parameters) or ``scipy.optimize``.
    estimates : dict of str to float
        Fitted values.
    ci : dict of str to (float, float)
        Bootstrap percentile interval at `level` (NaN without bootstrap).
    defaults : dict of str to float or None
        The theorem's default value of each free symbol.
    consistent : dict of str to bool or None
        Whether the default lies inside the interval (None: no default or no interval).
    claims, claims_at_defaults : dict of str to bool or None
        The theorem's claims re-checked at the fitted values, and at the defaults.
    residual_sd : float
        Standard deviation of the log residuals (ddof = number of free symbols).
    r_squared : float
        ``1 − SSR / SST`` of ``log(measured)``.
    n_rows : int
        Rows used.
    dropped : int
        Rows left out; `drop_reasons` counts them by reason.
    drop_reasons : dict of str to int
    fixed : dict of str to float
        Symbols fixed by ``values=`` and non-free constants at their defaults.
    n_boot, n_boot_ok : int
        Bootstrap resamples asked for and those that could be fitted (not singular).
    level : float
    seed : int or dict or None
        The seed of the bootstrap stream (replay with ``rng=seed``).
    """

    theorem: str
    key: str
    expression: str
    measured: str
    free: tuple
    method: str
    estimates: dict
    ci: dict
    defaults: dict
    consistent: dict
    claims: dict
    claims_at_defaults: dict
    residual_sd: float
    r_squared: float
    n_rows: int
    dropped: int
    drop_reasons: dict
    fixed: dict
    n_boot: int
    n_boot_ok: int
    level: float
    seed: object

    def to_dict(self) -> dict:
        """JSON-serialisable dict (NaN written as the string ``"nan"``)."""
        return jsonable(asdict(self))

    def _table_rows(self) -> list:
        pct = f"{100 * self.level:g}% CI"
        rows = [("symbol", "fitted", pct, "default", "consistent")]
        for name in self.free:
            lo, hi = self.ci[name]
            default = self.defaults[name]
            ok = self.consistent[name]
            rows.append((name, _fmt(self.estimates[name]), f"[{_fmt(lo)}, {_fmt(hi)}]",
                         "-" if default is None else _fmt(default),
                         "-" if ok is None else ("yes" if ok else "NO")))
        return rows

    def _header(self, markdown: bool = False) -> list:
        code = (lambda text: f"`{text}`") if markdown else (lambda text: text)
        factor = math.exp(self.residual_sd) if math.isfinite(self.residual_sd) else math.nan
        lines = [f"fit of {code(f'{self.theorem}[{self.key!r}] = {self.expression}')}",
                 f"measured: {self.measured}; {self.method} least squares of log values on "
                 f"{self.n_rows} rows ({self.dropped} dropped"
                 + (": " + "; ".join(f"{v} {k}" for k, v in self.drop_reasons.items())
                    if self.dropped else "") + ")",
                 f"residual sd (log) {_fmt(self.residual_sd)} (typical factor x{_fmt(factor)}), "
                 f"R^2 (log) {_fmt(self.r_squared)}",
                 f"bootstrap: {self.n_boot_ok} of {self.n_boot} pairs resamples fitted, "
                 f"percentile CI at {self.level:g}, seed {self.seed}"]
        if self.fixed:
            lines.append("fixed: " + code(", ".join(f"{k}={_fmt(v)}" for k, v in self.fixed.items())))
        return lines

    def _claim_lines(self) -> list:
        if not self.claims:
            return []
        lines = ["claims re-checked at the fitted values (at the defaults):"]
        for desc, verdict in self.claims.items():
            lines.append(f"- {desc}: {verdict} ({self.claims_at_defaults.get(desc)})")
        return lines

    def summary(self) -> str:
        """Plain-text report: header, the table symbol | fitted | CI | default | consistent, claims."""
        rows = self._table_rows()
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        table = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(self._header() + [""] + table + [""] + self._claim_lines()).rstrip() + "\n"

    def to_markdown(self) -> str:
        """The same report as Markdown (a pipe table)."""
        rows = self._table_rows()
        table = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        table += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        head = [f"## {self.theorem}: `{self.key}`", ""]
        head += [f"- {line}" for line in self._header(markdown=True)]
        return "\n".join(head + [""] + table + [""] + self._claim_lines()).rstrip() + "\n"


def fit_theorem(theorem, key: str, rows, *, measured: str, free=None, values=None,
                n_boot: int = 1000, rng=None, level: float = 0.95,
                method: str = "auto") -> ExponentFit:
    """Fit the free symbols of ``theorem[key]`` to a measured column across sweep runs.

    Parameters
    ----------
    theorem : bounds.Theorem or str
        A theorem, a registry name (``"liao2022.thm3"``) or the path of a TOML theorem.
    key : str
        Expression key, e.g. ``"error_variance"``.
    rows : list of dict, str or path-like
        Sweep rows (:func:`ntkcheck.aggregate.load_rows`) or a store directory (its ``ok`` runs).
    measured : str
        Row column holding the measured quantity y (``"plateau"``, ``"contraction"``...).
    free : sequence of str or str, optional
        Symbols to fit (a comma-separated string is accepted).  Default: every ``e_*`` and
        ``c_*`` symbol of the expression.
    values : dict of str to float, optional
        Fixed values of other symbols (they take precedence over the rows).
    n_boot : int, default 1000
        Pairs-bootstrap resamples (0: no intervals).
    rng : None, int, SeedSequence or Generator
        Bootstrap randomness (``numpy.random.default_rng``); the seed is recorded.
    level : float, default 0.95
        Confidence level of the percentile intervals.
    method : {"auto", "linear", "nonlinear"}
        ``"auto"`` uses linear least squares whenever ``log f`` is linear in the parameters.

    Returns
    -------
    ExponentFit

    Raises
    ------
    ValueError
        Unknown theorem or key, an expression without free symbols, an unknown `measured`
        column, fewer usable rows than free symbols + 1, or a free symbol the rows cannot
        identify (the message names it and the column that must vary).
    TypeError
        Wrong argument types.

    Notes
    -----
    Exponents are fitted unconstrained (a negative estimate is a finding); symbols declared
    positive (constants ``c_*``) are fitted as their logarithm.  Rows whose measured value is
    not finite and positive, that lack a symbol's value, or where the expression is not finite
    and positive (at the defaults, for the non-linear path) are dropped and counted.
    """
    thm, key, expr, free_syms, fixed, n_boot, level, method = _fit_theorem_iv(
        theorem, key, measured, free, values, n_boot, level, method)
    seed, gen = _seed_and_generator(rng)
    table = _read_rows(rows)
    _check_rows(table, measured, len(free_syms))

    model = _Model(expr.xreplace(fixed), free_syms, [thm.constants.get(s) for s in free_syms],
                   method)
    X, y, reasons, kept = _design(model, table, measured)
    n = y.size
    if n < len(free_syms) + 1:
        why = "; ".join(f"{v} {k}" for k, v in reasons.items()) or "none dropped"
        raise ValueError(f"`rows`: {n} usable row(s) for {len(free_syms)} free symbol(s) "
                         f"{[s.name for s in free_syms]}; at least {len(free_syms) + 1} are "
                         f"needed (dropped: {why}).")
    u = model.solve(X, y, kept, check=True)
    resid = model.residuals(u, X, y)
    dof = n - len(free_syms)
    residual_sd = float(math.sqrt(np.sum(resid**2) / dof))
    sst = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / sst if sst > 0 else math.nan

    boot = []
    for _ in range(n_boot):
        idx = gen.integers(0, n, size=n)
        ub = model.solve(_take(X, idx), y[idx], None, check=False, start=u)
        if ub is not None:
            boot.append(ub)
    q = ((1 - level) / 2, (1 + level) / 2)
    lo_hi = np.quantile(np.array(boot), q, axis=0) if boot else np.full((2, len(u)), np.nan)

    names = [s.name for s in free_syms]
    est, ci, defaults, consistent = {}, {}, {}, {}
    for j, (sym, name) in enumerate(zip(free_syms, names)):
        back = math.exp if model.log_scale[j] else float
        est[name] = back(float(u[j]))
        ci[name] = (back(float(lo_hi[0, j])), back(float(lo_hi[1, j])))
        default = thm.constants.get(sym)
        defaults[name] = None if default is None else float(default)
        lo, hi = ci[name]
        consistent[name] = (None if defaults[name] is None or not np.isfinite([lo, hi]).all()
                            else bool(lo <= defaults[name] <= hi))
    const_overrides = {s.name: v for s, v in fixed.items() if s in thm.constants}
    return ExponentFit(
        theorem=thm.name, key=key, expression=str(expr), measured=measured, free=tuple(names),
        method="linear" if model.linear else "nonlinear", estimates=est, ci=ci,
        defaults=defaults, consistent=consistent,
        claims=_claims_at(thm, {**const_overrides, **est}),
        claims_at_defaults=_claims_at(thm, const_overrides),
        residual_sd=residual_sd, r_squared=r2, n_rows=int(n), dropped=sum(reasons.values()),
        drop_reasons=reasons,
        fixed={s.name: float(v) for s, v in sorted(fixed.items(), key=lambda t: t[0].name)
               if s in expr.free_symbols},
        n_boot=n_boot, n_boot_ok=len(boot), level=level, seed=seed)


def default_measured(key: str):
    """The measured column that goes with an expression key, or None when there is no default.

    ``error*`` keys -> ``"plateau"`` (the loss the run converges to), ``rate`` ->
    ``"contraction"`` (the fitted per-step factor).

    Examples
    --------
    >>> default_measured("error_variance"), default_measured("rate"), default_measured("width")
    ('plateau', 'contraction', None)
    """
    if key.startswith("error"):
        return "plateau"
    if key == "rate":
        return "contraction"
    return None


def resolve_theorem(theorem) -> bounds.Theorem:
    """A :class:`bounds.Theorem` from itself, a registry name, or the path of a TOML theorem.

    Raises
    ------
    ValueError
        Unknown registry name (with the known names).
    FileNotFoundError, bounds.ParseError
        A TOML path that does not exist or does not parse.
    """
    if isinstance(theorem, bounds.Theorem):
        return theorem
    if isinstance(theorem, os.PathLike) or (isinstance(theorem, str) and (
            theorem.endswith(".toml") or os.sep in theorem or "/" in theorem)):
        return bounds.load(theorem)
    if not isinstance(theorem, str):
        raise TypeError(f"`theorem` must be a bounds.Theorem, a registry name or a TOML path, "
                        f"got {type(theorem).__name__} {theorem!r}.")
    try:
        return bounds.get(theorem)
    except KeyError as exc:
        raise ValueError(f"`theorem`: {exc.args[0]} (or give the path of a TOML theorem)") from None


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def report_stem(theorem: str, key: str) -> str:
    """File stem ``fit_<theorem>_<key>`` of the files ``sweep-report --fit`` writes."""
    return _SAFE_NAME.sub("_", f"fit_{theorem}_{key}")


# ----------------------------------------------------------------------------- the model


class _Model:
    """``log f(x; θ)`` compiled for numbers: the linear design or the non-linear residual."""

    def __init__(self, expr, free_syms, defaults, method):
        self.free = list(free_syms)
        self.log_scale = [bool(s.is_positive) and not s.name.startswith("e_") for s in free_syms]
        self.U = [sp.Dummy(f"u_{s.name}", real=True) for s in free_syms]
        sub = {s: (sp.exp(u) if log else u) for s, u, log in zip(free_syms, self.U, self.log_scale)}
        self.expr_u = expr.xreplace(sub)
        self.vars = sorted(expr.free_symbols - set(free_syms), key=lambda s: s.name)
        g = sp.expand_log(sp.log(self.expr_u), force=True)
        coefs = [sp.diff(g, u) for u in self.U]
        self.linear = all(not (c.free_symbols & set(self.U)) for c in coefs)
        if method == "linear" and not self.linear:
            raise ValueError(f"`method`='linear' needs log of the expression to be linear in "
                             f"{[s.name for s in free_syms]}, but log({expr}) is not; use "
                             f"method='auto' or 'nonlinear'.")
        if method == "nonlinear":
            self.linear = False
        # u at the defaults: log c for a scale, the value for an exponent (1 when unknown)
        self.u0 = np.array([(math.log(float(d)) if log else float(d)) if d is not None
                            else (0.0 if log else 1.0)
                            for d, log in zip(defaults, self.log_scale)])
        if self.linear:
            self.coef_exprs = coefs
            self._offset = sp.lambdify(self.vars, g.xreplace({u: 0 for u in self.U}), "numpy")
            self._coefs = [sp.lambdify(self.vars, c, "numpy") for c in coefs]
        else:
            logf = sp.log(self.expr_u)
            self.coef_exprs = [sp.diff(logf, u) for u in self.U]
            args = self.U + self.vars
            self._logf = sp.lambdify(args, logf, "numpy")
            self._grads = [sp.lambdify(args, c, "numpy") for c in self.coef_exprs]

    # -- evaluation on rows (X: dict of variable arrays plus the design for the linear path)
    def prepare(self, cols: dict, n: int):
        """(X, ok): the evaluated design of `n` rows and the rows where it is finite."""
        args = [cols[v.name] for v in self.vars]
        with np.errstate(all="ignore"):
            if self.linear:
                offset = _vec(self._offset(*args), n)
                A = np.column_stack([_vec(f(*args), n) for f in self._coefs]) if self.U \
                    else np.empty((n, 0))
                ok = np.isfinite(offset) & np.isfinite(A).all(axis=1)
                return dict(A=A, offset=offset), ok
            lf = _vec(self._logf(*self.u0, *args), n)
        return dict(args=np.column_stack(args) if args else np.empty((n, 0))), np.isfinite(lf)

    def residuals(self, u, X, y):
        if self.linear:
            return y - X["offset"] - X["A"] @ u
        with np.errstate(all="ignore"):
            r = _vec(self._logf(*u, *X["args"].T), y.size) - y
        return np.where(np.isfinite(r), r, _NONFINITE_RESIDUAL)

    def jacobian(self, u, X, n):
        if self.linear:
            return X["A"]
        with np.errstate(all="ignore"):
            J = np.column_stack([_vec(g(*u, *X["args"].T), n) for g in self._grads])
        return np.where(np.isfinite(J), J, 0.0)

    def solve(self, X, y, kept, *, check, start=None):
        """Fitted u; a design that cannot identify the parameters raises (`check`) or gives None.

        Identifiability is a property of the rows, so the non-linear path judges it at the
        defaults: at the solution a constant driven to 0 also leaves a zero column, which is an
        estimate at the boundary (its interval shows it), not a defect of the design.
        """
        n = y.size
        A = X["A"] if self.linear else self.jacobian(self.u0, X, n)
        if _singular(A) is not None:
            if check:
                raise ValueError(self._not_identifiable(A, kept))
            return None
        if self.linear:
            return np.linalg.lstsq(A, y - X["offset"], rcond=None)[0]
        from scipy.optimize import least_squares  # lazy: scipy.optimize costs 0.4 s at import

        x0 = self.u0 if start is None else start
        res = least_squares(self.residuals, x0, jac=lambda u, X, y: self.jacobian(u, X, n),
                            args=(X, y), method="lm" if n >= len(x0) else "trf")
        return res.x if np.isfinite(res.x).all() else None

    def _not_identifiable(self, A, kept) -> str:
        """Which free symbols a singular design cannot tell apart, and which column must vary."""
        involved = _singular(A)
        names = [self.free[j].name for j in involved]
        const = {v: _single_value(kept, v.name) for v in self.vars}
        const = {v: val for v, val in const.items() if val is not None}
        parts, columns = [], []
        for j in involved:
            coef = self.coef_exprs[j]
            zeroing = [v for v in const if v in coef.free_symbols
                       and sp.simplify(coef.xreplace({v: sp.nsimplify(const[v])})) == 0]
            stuck = zeroing or [v for v in const if v in coef.free_symbols]
            if not stuck:
                continue
            how = "vanishes because" if zeroing else "depends on"
            what = ", ".join(f"{v} = {const[v]:g} in every row (column `{_column(v.name)}`)"
                             for v in stuck)
            term = "its term" if zeroing or not self.linear else f"its regressor {coef}"
            parts.append(f"`{self.free[j].name}`: {term} {how} {what}")
            columns += [_column(v.name) for v in stuck if _column(v.name) not in columns]
        msg = (f"`free` symbol(s) {names} cannot be identified from these {len(kept)} rows "
               f"(singular design)")
        if parts:
            return (msg + ": " + "; ".join(parts) + f". The column(s) {columns} must vary "
                    f"across the rows; otherwise fix the symbol with values={{...}} or leave it "
                    f"out of `free`.")
        return (msg + ": their effects on log f are collinear across the rows; vary the sweep "
                "parameters that enter their terms independently, or leave one out of `free`.")


# ----------------------------------------------------------------------------- rows


def _design(model, table, measured):
    """Evaluate the model on every row; drop rows that cannot be used (counted by reason)."""
    reasons: dict[str, int] = {}
    kept, cols = [], {v.name: [] for v in model.vars}
    data_cache: dict = {}
    for row in table:
        why = None
        if row.get("status", "ok") != "ok":
            why = "runs not ok (failed)"
        y = _num(row.get(measured))
        if why is None and not (math.isfinite(y) and y > 0):
            why = f"with `{measured}` not finite and positive"
        vals = {}
        if why is None:
            for v in model.vars:
                val = _row_value(row, v.name, data_cache)
                if not math.isfinite(val):
                    why = f"without a value for `{v.name}` ({_column(v.name)})"
                    break
                vals[v.name] = val
        if why is not None:
            reasons[why] = reasons.get(why, 0) + 1
            continue
        kept.append(dict(vals, _y=y))
        for name, val in vals.items():
            cols[name].append(val)
    n = len(kept)
    cols = {k: np.array(v, dtype=float) for k, v in cols.items()}
    X, ok = model.prepare(cols, n)
    if n and not ok.all():
        why = "where the expression is not finite and positive"
        reasons[why] = int((~ok).sum())
        X = _take(X, np.flatnonzero(ok))
        kept = [r for r, good in zip(kept, ok) if good]
    y = np.log(np.array([r["_y"] for r in kept], dtype=float))
    return X, y, reasons, kept


def _row_value(row: dict, name: str, data_cache: dict) -> float:
    """The value of theorem symbol `name` in a sweep row (NaN when it has none)."""
    if name == "xi":
        try:
            _, xi = _resolve_scheme(row.get("scheme", "bernoulli"), int(row.get("p", 1)),
                                    row.get("xi"), int(row.get("local_steps", 1)))
            return float(xi)
        except (TypeError, ValueError):
            return math.nan
    if name in ("n", "d") and name not in row and isinstance(row.get("data"), str):
        spec = (row["data"], row.get("target"), bool(row.get("normalize", False)))
        if spec not in data_cache:
            try:
                ds = load_dataset(spec[0], target=spec[1], normalize=spec[2])
                data_cache[spec] = dict(n=float(ds.n), d=float(ds.d))
            except (OSError, ValueError, TypeError):
                data_cache[spec] = dict(n=math.nan, d=math.nan)
        return data_cache[spec][name]
    columns, transform, _ = ROW_SYMBOLS.get(name, ((name,), None, name))
    for col in columns:
        val = _num(row.get(col))
        if math.isfinite(val):
            return float(transform(val)) if transform else val
    return math.nan


def _read_rows(rows) -> list:
    if isinstance(rows, Store):
        store = rows
    elif isinstance(rows, (str, os.PathLike)):
        store = Store(rows)
    else:
        return list(rows)
    if not store.runs.is_dir():
        raise FileNotFoundError(f"`rows`: {store.root} holds no sweep results (no runs/ directory).")
    return store.table(status="ok")


def _check_rows(table, measured, n_free) -> None:
    if not all(isinstance(r, dict) for r in table):
        raise TypeError("`rows` must be a list of dicts (sweep rows) or a store directory.")
    if not table:
        raise ValueError("`rows` holds no (successful) runs; nothing to fit.")
    if not any(measured in r for r in table):
        numeric = sorted({k for r in table for k, v in r.items() if not k.startswith("_")
                          and isinstance(v, numbers.Real) and not isinstance(v, bool)})
        raise ValueError(f"`measured` must be a column of the rows, got measured={measured!r}; "
                         f"numeric columns: {numeric}.")
    if len(table) < n_free + 1:
        raise ValueError(f"`rows` must hold at least {n_free + 1} runs to fit {n_free} free "
                         f"symbol(s), got {len(table)}.")


# ----------------------------------------------------------------------------- validation


def _fit_theorem_iv(theorem, key, measured, free, values, n_boot, level, method):
    thm = resolve_theorem(theorem)
    if not isinstance(key, str) or key not in thm.keys():
        raise ValueError(f"`key` must be an expression of {thm.name}, one of {list(thm.keys())}, "
                         f"got key={key!r}.")
    expr = thm.expr(key)
    if not isinstance(measured, str) or not measured:
        raise TypeError(f"`measured` must be a column name (str), got {measured!r}.")
    in_expr = {s.name: s for s in expr.free_symbols}
    if free is None:
        names = sorted(n for n in in_expr if n.startswith(("e_", "c_")))
        if not names:
            raise ValueError(f"`free`: {thm.name}[{key!r}] = {expr} has no e_* or c_* symbol "
                             f"to fit; name the symbols to fit with free=[...] (symbols of the "
                             f"expression: {sorted(in_expr)}).")
    else:
        names = [s.strip() for s in free.split(",")] if isinstance(free, str) else list(free)
        if not names or not all(isinstance(s, str) and s for s in names):
            raise ValueError(f"`free` must name at least one symbol, got free={free!r}.")
        unknown = [s for s in names if s not in in_expr]
        if unknown:
            raise ValueError(f"`free` must name symbols of {thm.name}[{key!r}] = {expr}; "
                             f"{unknown} do not occur in it (its symbols: {sorted(in_expr)}).")
        if len(set(names)) != len(names):
            raise ValueError(f"`free` names a symbol twice: {names}.")
    free_syms = [in_expr[s] for s in names]
    given = {} if values is None else values
    if not isinstance(given, dict):
        raise TypeError(f"`values` must be a dict of symbol name -> number, got "
                        f"{type(values).__name__}.")
    known = {s.name: s for s in thm.symbols}
    fixed = {}
    for name, val in given.items():
        if name not in known:
            raise ValueError(f"`values` names {name!r}, not a symbol of {thm.name} "
                             f"(known: {sorted(known)}).")
        if name in names:
            raise ValueError(f"`values` fixes {name!r}, which is also in `free`; a symbol is "
                             f"either fitted or fixed.")
        fixed[known[name]] = check_scalar(val, f"values[{name!r}]")
    for sym, default in thm.constants.items():  # non-free constants at their defaults
        if sym not in fixed and sym.name not in names:
            fixed[sym] = float(default)
    n_boot = check_int(n_boot, "n_boot", min_val=0)
    level = float(check_scalar(level, "level", min_val=0.0, max_val=1.0, closed="neither"))
    if method not in ("auto", "linear", "nonlinear"):
        raise ValueError(f"`method` must be one of ['auto', 'linear', 'nonlinear'], got "
                         f"method={method!r}.")
    return thm, key, expr, free_syms, fixed, n_boot, level, method


def _seed_and_generator(rng):
    """(recorded seed, Generator): None draws fresh entropy and records it."""
    if rng is None:
        seed = int(np.random.SeedSequence().entropy)
        return seed, np.random.default_rng(seed)
    gen = as_generator(rng)
    return seed_record(rng), gen


# ----------------------------------------------------------------------------- helpers


def _claims_at(thm, overrides: dict) -> dict:
    """Each claim checked with the overrides it has parameters for (6 significant digits)."""
    out = {}
    for claim in thm.claims:
        names = {s.name for s in claim.parameters}
        ov = {k: sp.Rational(format(v, ".6g")) for k, v in overrides.items() if k in names}
        try:
            out[claim.description] = claim.check(**ov)
        except (ValueError, TypeError, NotImplementedError, ZeroDivisionError):
            out[claim.description] = None  # SymPy could not decide at these values
    return out


def _singular(A):
    """Indices of the columns in the near-null space of `A` (unit-norm columns), or None."""
    if A.shape[1] == 0:
        return None
    norms = np.linalg.norm(A, axis=0)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        return [int(j) for j in zero]
    s, vt = np.linalg.svd(A / norms, full_matrices=False)[1:]
    small = s < SINGULAR_RTOL * s[0]
    if A.shape[0] < A.shape[1]:
        return list(range(A.shape[1]))
    if not small.any():
        return None
    weight = np.abs(vt[small]).max(axis=0)
    return [int(j) for j in np.flatnonzero(weight > 0.1)]


def _single_value(kept, name):
    vals = {r[name] for r in kept}
    return next(iter(vals)) if len(vals) == 1 else None


def _column(name: str) -> str:
    if name in ("n", "d"):
        return "data"
    return ROW_SYMBOLS[name][2] if name in ROW_SYMBOLS else name


def _take(X: dict, idx) -> dict:
    return {k: v[idx] for k, v in X.items()}


def _vec(v, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()


def _num(v) -> float:
    if isinstance(v, bool) or v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _fmt(x) -> str:
    if x is None:
        return "-"
    return format(float(x), ".4g")
