"""Assumption 1 of LK22 / DZPS19, checked item by item on a dataset (docs/theory.md §1, §4).

Assumption 1: ``‖x_i‖ = 1``, ``|y_i| ≤ C`` and no two inputs parallel (``x_i ≠ ζ x_j``).
Under it the infinite-width NTK ``H∞`` is positive definite (DZPS19 Thm 3.1), and
``λ0 = λ_min(H∞)`` is the quantity every bound of docs/theory.md §6 is stated in.

The checks are diagnostics: :func:`check_assumptions` returns a frozen
:class:`AssumptionReport` and raises only with ``strict=True``.  Parallelism is measured
through the separation ``min(‖u − v‖, ‖u + v‖)`` of the unit directions ``u, v`` (zero exactly
for parallel or antiparallel pairs, accurate when nearly parallel, docs/theory.md §4), and reported
beside ``|cos φ_ij|`` for the most nearly parallel pairs.  Its minimum is the δ_sep of DHSWZ22
(docs/theory.md §9); with ``shift=b`` the spectrum is that of the shifted kernel.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from ._json import jsonable
from ._config import NumericalWarning
from ._validation import check_int, check_scalar, check_X, check_y
from .certify import certify_min_eigenvalue
from .eigen import eigenvalue_extremes
from .ntk import ntk_infinite

__all__ = ["AssumptionReport", "check_assumptions", "min_separation"]

#: yᵀ(H∞)⁻¹y is attempted when H∞ ≻ 0 is certified or λ0 > PD_RTOL·λ_max (positive definiteness
#: itself is decided by the Cholesky certificate).
PD_RTOL = 1e-10
#: Pairs whose direction separation is at most this are reported as parallel.
PARALLEL_ATOL = 1e-10


@dataclass(frozen=True)
class AssumptionReport:
    """Result of :func:`check_assumptions` (Assumption 1 plus the H∞ spectrum).

    Attributes
    ----------
    n, d : int
        Data shape.
    norm_min, norm_max : float
        Smallest and largest row norm ``‖x_i‖``.
    unit_norm : bool
        Every ``|‖x_i‖ − 1| ≤ norm_atol``.
    norm_atol : float
    label_bound : float
        C of ``|y_i| ≤ C``.
    label_max : float
        ``max_i |y_i|``.
    labels_bounded : bool
    min_separation : float
        ``min_{i<j} min(‖u_i − u_j‖, ‖u_i + u_j‖)`` over unit directions (0: parallel pair).
    max_abs_cos : float
        ``max_{i<j} |cos φ_ij|``.
    nearest_pairs : tuple of (int, int, float, float)
        The most nearly parallel pairs ``(i, j, |cos φ_ij|, separation)``, closest first.
    parallel_pairs : tuple of (int, int)
        Pairs with separation ≤ :data:`PARALLEL_ATOL` (parallel or antiparallel).
    duplicates : tuple of (int, int)
        Pairs of identical rows (a subset of the parallel pairs).
    no_parallel : bool
    lam0_hat : float
        ``λ0 = λ_min(H∞)`` of the data as given.
    lam_max : float
        ``λ_max(H∞)``.
    y_Hinv_y : float
        ``yᵀ(H∞)⁻¹y`` (ADHLW19 Thm 5.1); ``inf`` when H∞ is numerically singular.
    h_inf_certified : bool
        ``H∞ ≻ 0`` is *proved*: a floating-point Cholesky factorisation of ``H∞`` minus a rigorous
        bound on its rounding errors succeeds (:func:`ntkcheck.certify_min_eigenvalue` with
        ``t = 0``).  This, not the computed λ0, decides the positive-definiteness item.
    passed : bool
        All three items hold (and λ0 > 0).
    messages : tuple of str
        One line per item, prefixed ``[ok]`` or ``[FAIL]``.
    """

    n: int
    d: int
    norm_min: float
    norm_max: float
    unit_norm: bool
    norm_atol: float
    label_bound: float
    label_max: float
    labels_bounded: bool
    min_separation: float
    max_abs_cos: float
    nearest_pairs: tuple
    parallel_pairs: tuple
    duplicates: tuple
    no_parallel: bool
    lam0_hat: float
    lam_max: float
    y_Hinv_y: float
    h_inf_certified: bool
    passed: bool
    messages: tuple

    def to_dict(self) -> dict:
        """JSON-serialisable dict (non-finite floats become strings such as ``"inf"``)."""
        return jsonable(asdict(self))

    def __str__(self) -> str:
        return "\n".join(self.messages)


def check_assumptions(
    X,
    y,
    *,
    label_bound: float = 1.0,
    norm_atol: float = 1e-8,
    top: int = 5,
    strict: bool = False,
    shift: float = 0.0,
) -> AssumptionReport:
    """Check Assumption 1 item by item and compute ``λ0``, ``λ_max`` of H∞ and ``yᵀ(H∞)⁻¹y``.

    Parameters
    ----------
    X : array_like of shape (n, d)
        Inputs; any nonzero rows (unit norm is one of the checks, not a precondition).
    y : array_like of shape (n,)
        Labels.
    label_bound : float, default 1.0
        The constant C of ``|y_i| ≤ C``.
    norm_atol : float, default 1e-8
        Tolerance of ``‖x_i‖ = 1``.
    top : int, default 5
        How many of the most nearly parallel pairs to report.
    strict : bool, default False
        Raise ``ValueError`` (with every failed item) instead of only reporting.
    shift : float, default 0.0
        Threshold ``b`` of the shifted ReLU ``max(z − b, 0)`` (DHSWZ22, docs/theory.md §4, §9):
        ``λ0``, ``λ_max`` and ``yᵀ(H∞)⁻¹y`` are those of the shifted kernel
        ``ntk_infinite(X, shift=b)``.  The other items do not depend on it.

    Returns
    -------
    AssumptionReport

    Raises
    ------
    ValueError
        Bad input; or, with ``strict=True``, a failed item.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    >>> rep = check_assumptions(X, [0.5, -0.5, 0.1])
    >>> rep.passed, rep.duplicates
    (False, ((0, 2),))
    """
    X = check_X(X)
    n, d = X.shape
    y = check_y(y, n)
    label_bound = check_scalar(label_bound, "label_bound", min_val=0.0, closed="neither")
    norm_atol = check_scalar(norm_atol, "norm_atol", min_val=0.0)
    top = check_int(top, "top", min_val=0)
    shift = check_scalar(shift, "shift")
    if n < 2:
        raise ValueError(f"`X` must have at least 2 rows to check parallel pairs, got n={n}.")

    norms = np.linalg.norm(X, axis=1)
    unit = bool(np.all(np.abs(norms - 1.0) <= norm_atol))
    label_max = float(np.abs(y).max())
    bounded = label_max <= label_bound
    near, parallel, min_sep, max_cos = _nearest_pairs(X, norms, top)
    dups = _duplicates(X)
    lam0, lam_max, yhy, pos = _spectrum(X, y, shift)
    no_par = not parallel

    msgs = []
    worst = int(np.argmax(np.abs(norms - 1.0)))
    msgs.append(f"[{'ok' if unit else 'FAIL'}] unit rows: ||x_i|| in [{norms.min():.6g}, "
                f"{norms.max():.6g}] (atol {norm_atol:g})"
                + ("" if unit else f"; worst row {worst} has norm {norms[worst]:.6g} "
                   f"(use --normalize to project onto the sphere)"))
    msgs.append(f"[{'ok' if bounded else 'FAIL'}] bounded labels: max |y_i| = {label_max:.6g} "
                f"{'<=' if bounded else '>'} C = {label_bound:g}")
    pair_txt = ", ".join(f"({i},{j}) |cos|={c:.10f}" for i, j, c, _ in near[:3])
    msgs.append(f"[{'ok' if no_par else 'FAIL'}] no parallel pairs: min separation "
                f"{min_sep:.3g}, max |cos| = {max_cos:.10f}; nearest: {pair_txt}"
                + ("" if no_par else f"; {len(parallel)} parallel pair(s), e.g. {parallel[0]}"))
    if dups:
        msgs.append(f"[FAIL] duplicated points: {len(dups)} pair(s) of identical rows, e.g. "
                    f"rows {dups[0][0]} and {dups[0][1]}")
    kernel = "H_inf" if shift == 0.0 else f"H_inf (shift {shift:g}, w ~ N(0, I))"
    msgs.append(f"[{'ok' if pos else 'FAIL'}] {kernel} positive definite ({'proved' if pos else 'not proved'} by a "
                f"Cholesky certificate): lambda_0 = {lam0:.6g}, lambda_max = {lam_max:.6g}, "
                f"y^T H_inf^-1 y = {yhy:.6g}")
    passed = unit and bounded and no_par and not dups and pos
    report = AssumptionReport(
        n=n, d=d, norm_min=float(norms.min()), norm_max=float(norms.max()), unit_norm=unit,
        norm_atol=norm_atol, label_bound=label_bound, label_max=label_max,
        labels_bounded=bounded, min_separation=min_sep, max_abs_cos=max_cos,
        nearest_pairs=tuple(near), parallel_pairs=tuple(parallel), duplicates=tuple(dups),
        no_parallel=no_par, lam0_hat=lam0, lam_max=lam_max, y_Hinv_y=yhy, h_inf_certified=pos, passed=passed,
        messages=tuple(msgs))
    if strict and not passed:
        raise ValueError("Assumption 1 fails:\n" + "\n".join(m for m in msgs if m.startswith("[FAIL]")))
    return report


# ----------------------------------------------------------------------------- helpers


def min_separation(X) -> float:
    """``δ_sep = min_{i≠j} min(‖u_i − u_j‖, ‖u_i + u_j‖)`` of the directions ``u_i = x_i/‖x_i‖``.

    The separation of DHSWZ22 (docs/theory.md §9 (iii)) and of the "no parallel pairs" item of
    :func:`check_assumptions` (``AssumptionReport.min_separation``): 0 exactly when two points are
    parallel or antiparallel; ``inf`` for a single point.

    Parameters
    ----------
    X : array_like of shape (n, d)
        Finite, nonzero rows.

    Returns
    -------
    float
    """
    X = check_X(X)
    return _nearest_pairs(X, np.linalg.norm(X, axis=1), 1)[2]


def _nearest_pairs(X, norms, top, block: int = 1024):
    """Most nearly parallel pairs by separation ``min(‖u−v‖, ‖u+v‖)`` (streamed in blocks)."""
    U = X / norms[:, None]
    n = U.shape[0]
    keep = max(top, 1)
    cand_i, cand_j, cand_c = [], [], []
    for s in range(0, n, block):
        C = np.abs(U[s : s + block] @ U.T)  # |cos| from the Gram matrix: accurate enough to rank
        rows = np.arange(s, min(s + block, n))
        mask = np.arange(n)[None, :] <= rows[:, None]  # keep only j > i
        C[mask] = -1.0
        k = min(keep, C.size)
        flat = np.argpartition(C.ravel(), -k)[-k:]
        bi, bj = np.unravel_index(flat, C.shape)
        cand_i.append(rows[bi])
        cand_j.append(bj)
        cand_c.append(C[bi, bj])
    ci, cj = np.concatenate(cand_i), np.concatenate(cand_j)
    valid = np.concatenate(cand_c) >= 0
    ci, cj = ci[valid], cj[valid]
    # exact separation (half-angle form) for the candidates only
    sep = np.minimum(np.linalg.norm(U[ci] - U[cj], axis=1), np.linalg.norm(U[ci] + U[cj], axis=1))
    order = np.lexsort((cj, ci, sep))
    ci, cj, sep = ci[order], cj[order], sep[order]
    # |cos φ| = 1 − s²/2 with s the separation (exact; avoids the rounded Gram cosine)
    cos = 1.0 - sep**2 / 2.0
    near = [(int(i), int(j), float(c), float(s)) for i, j, c, s in zip(ci[:top], cj[:top], cos[:top], sep[:top])]
    parallel = _parallel_pairs(U)
    min_sep = float(sep[0]) if sep.size else math.inf
    max_cos = float(cos[0]) if sep.size else 0.0
    return near, parallel, min_sep, max_cos


def _parallel_pairs(U):
    """All pairs with separation ≤ PARALLEL_ATOL: rows equal up to sign after rounding."""
    sign = np.sign(U[np.arange(U.shape[0]), np.argmax(np.abs(U), axis=1)])
    V = U * sign[:, None]
    groups = {}
    for i, key in enumerate(map(bytes, np.round(V, 9))):
        groups.setdefault(key, []).append(i)
    out = []
    for members in groups.values():
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                i, j = members[a], members[b]
                if min(np.linalg.norm(U[i] - U[j]), np.linalg.norm(U[i] + U[j])) <= PARALLEL_ATOL:
                    out.append((i, j))
    return sorted(out)


def _duplicates(X):
    _, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    out = []
    for g in np.flatnonzero(counts > 1):
        members = np.flatnonzero(inverse == g)
        out += [(int(members[0]), int(j)) for j in members[1:]]
    return sorted(out)


def _spectrum(X, y, shift=0.0):
    H = ntk_infinite(X, shift=shift)
    with warnings.catch_warnings():
        # a singular H_inf (duplicated / parallel points) is what this check reports
        warnings.simplefilter("ignore", NumericalWarning)
        lam0, lam_max = eigenvalue_extremes(H)
    certified = certify_min_eigenvalue(H, 0.0, check=False).certified
    yhy = math.inf
    if certified or lam0 > PD_RTOL * lam_max:
        try:
            yhy = float(y @ cho_solve(cho_factor(H), y))
        except LinAlgError:
            yhy = math.inf
    return float(lam0), float(lam_max), yhy, bool(certified)
