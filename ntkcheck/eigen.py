"""Extreme eigenvalues of symmetric positive semi-definite kernel matrices.

``lambda_0 := lambda_min(H_inf)`` is the quantity every NTK convergence theorem is stated in
(DZPS19 Thm 3.1, docs/theory.md §4); ``lambda_max(H_inf)`` enters LK22 Thm 4.

Method: one Householder tridiagonalisation (LAPACK ``dsytrd``, the O(n^3) part), then
bisection (``dstebz``) for just the eigenvalues wanted.  This is exact to LAPACK accuracy,
symmetric-aware, and computes no eigenvectors; ``benchmarks/bench_eigen.py`` compares it
side by side with ``numpy.linalg.eigvalsh``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import eigvalsh_tridiagonal
from scipy.linalg.lapack import dsytrd, dsytrd_lwork

from ._config import PSD_ATOL, PSD_RTOL, SYM_RTOL, NumericalWarning
from ._validation import check_square

__all__ = ["min_eigenvalue", "max_eigenvalue", "eigenvalue_extremes"]


def eigenvalue_extremes(H, *, check: bool = True) -> tuple[float, float]:
    """Smallest and largest eigenvalue of a symmetric PSD matrix.

    Parameters
    ----------
    H : array_like of shape (n, n)
        Symmetric positive semi-definite matrix (an NTK Gram matrix).
    check : bool, default True
        Check symmetry (``|H - H^T| <= 1e-10 max|H|``) and positive semi-definiteness.
        Negative eigenvalues above ``-max(1e-10, 1e-5 lambda_max)`` are rounding noise: they
        are clipped to 0 with a :class:`~ntkcheck.NumericalWarning`; below it an error is raised.

    Returns
    -------
    lam_min, lam_max : float

    Raises
    ------
    ValueError
        ``H`` is not square, not finite, not symmetric, or significantly indefinite.

    Notes
    -----
    One tridiagonal reduction (``dsytrd``) serves both extremes; each is then found by
    bisection on the tridiagonal matrix (``dstebz``), O(n) per eigenvalue.

    Examples
    --------
    >>> lo, hi = eigenvalue_extremes([[2.0, 1.0], [1.0, 2.0]])
    >>> round(lo, 12), round(hi, 12)
    (1.0, 3.0)
    """
    lo, hi = _extremes(_prepare(H, check), want_max=True)
    if check:
        lo = _psd_clip(lo, hi)
    return lo, hi


def min_eigenvalue(H, *, check: bool = True) -> float:
    """Smallest eigenvalue of a symmetric PSD matrix (e.g. ``lambda_0 = lambda_min(H_inf)``).

    Parameters
    ----------
    H : array_like of shape (n, n)
        Symmetric positive semi-definite matrix.
    check : bool, default True
        See :func:`eigenvalue_extremes`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(min_eigenvalue([[2.0, 1.0], [1.0, 2.0]]), 12)
    1.0
    """
    lo, hi = _extremes(_prepare(H, check), want_max=check)  # lambda_max only for the PSD check
    return _psd_clip(lo, hi) if check else lo


def max_eigenvalue(H, *, check: bool = True) -> float:
    """Largest eigenvalue of a symmetric PSD matrix. See :func:`eigenvalue_extremes`."""
    return eigenvalue_extremes(H, check=check)[1]


def _prepare(H, check: bool) -> np.ndarray:
    H = check_square(H, "H")
    if check:
        scale = float(np.max(np.abs(H)))
        asym = float(np.max(np.abs(H - H.T))) if H.shape[0] > 1 else 0.0
        if asym > SYM_RTOL * max(scale, np.finfo(float).tiny):
            raise ValueError(
                f"`H` must be symmetric (|H - H.T| <= {SYM_RTOL:g} * max|H| = {SYM_RTOL * scale:.3g}), "
                f"got max|H - H.T| = {asym:.3g}. Symmetrise with (H + H.T) / 2 if this is rounding."
            )
    return H


def _extremes(H: np.ndarray, *, want_max: bool):
    """(lambda_min, lambda_max or None): one tridiagonalisation, bisection per eigenvalue."""
    n = H.shape[0]
    if n == 1:
        return float(H[0, 0]), float(H[0, 0])
    d, e = _tridiagonal(H)
    lo = float(eigvalsh_tridiagonal(d, e, select="i", select_range=(0, 0))[0])
    hi = float(eigvalsh_tridiagonal(d, e, select="i", select_range=(n - 1, n - 1))[0]) if want_max else None
    return lo, hi


def _tridiagonal(H: np.ndarray):
    """Householder reduction of the lower triangle of ``H``: diagonal and off-diagonal."""
    n = H.shape[0]
    lwork, info = dsytrd_lwork(n, lower=1)
    # H is symmetric, so H.T (F-contiguous) is H; copying it in F order is a plain memcpy.
    a = np.array(H.T, order="F", dtype=np.float64)  # dsytrd overwrites its input
    c, d, e, _tau, info = dsytrd(a, lower=1, lwork=int(lwork), overwrite_a=1)
    if info != 0:  # pragma: no cover - LAPACK argument error
        raise RuntimeError(f"LAPACK dsytrd failed with info={info}.")
    return d, e


def _psd_clip(lo: float, hi: float) -> float:
    """sklearn ``_check_psd_eigenvalues``: raise on significant negatives, clip noise to 0."""
    if lo >= 0.0:
        return lo
    tol = max(PSD_ATOL, PSD_RTOL * max(hi, 0.0))
    if lo < -tol:
        raise ValueError(
            f"`H` must be positive semi-definite, got lambda_min={lo:.6g} < -{tol:.3g} "
            f"(lambda_max={hi:.6g}). An NTK Gram matrix is PSD; check how H was built."
        )
    warnings.warn(
        f"lambda_min={lo:.3g} is negative rounding noise (|.| <= {tol:.3g}); clipped to 0.",
        NumericalWarning,
        stacklevel=3,
    )
    return 0.0
