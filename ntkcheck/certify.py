"""Eigenvalue certificates and a fast smallest eigenvalue for symmetric kernel matrices.

Every NTK convergence theorem assumes ``lambda_min(H) > 0`` along the trajectory: DZPS19 Thm 3.1
needs ``lambda_min(H(W_k)) >= lambda_0 / 2`` at every step (docs/theory.md §4).  Three tools:

* :func:`certify_min_eigenvalue` *proves* ``lambda_min(H) > t`` with one floating-point Cholesky
  factorisation of ``H - (t + c) I`` (Rump 2006, Cor. 2.4): if it runs to completion and the
  shift ``c`` exceeds the rigorous bound on its rounding errors, ``H - t I`` is positive
  definite.  A quarter of the flops of a tridiagonalisation, all of them BLAS-3.
* :func:`count_eigenvalues_below` counts the eigenvalues below ``t`` from the inertia of a
  Bunch-Kaufman ``L D L^T`` factorisation of ``H - t I`` (Sylvester's law of inertia).
* :func:`min_eigenvalue_fast` computes ``lambda_min`` to relative accuracy ``rtol`` by block
  Lanczos on the shifted inverse ``(H - s I)^{-1}`` (shift-and-invert): a float32 Cholesky
  locates ``lambda_min`` roughly, a float64 Cholesky at a shift ``s`` just below it makes the
  smallest eigenvalue dominant, and a handful of block triangular solves finish the job.  It
  falls back to :func:`ntkcheck.eigen.min_eigenvalue` (LAPACK ``dsytrd`` + ``dstebz``) whenever
  a step fails.

``benchmarks/bench_eigen.py`` times all three against ``numpy.linalg.eigvalsh`` side by side.
Factorisations are LAPACK's (``dpotrf``, ``spotrf``, ``dsytrf``) and triangular solves BLAS's
(``dtrsm``); nothing here loops over matrix entries in Python.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.linalg import eigh
from scipy.linalg.blas import dtrsm, strsm
from scipy.linalg.lapack import dpotrf, dsytrf, dsytrf_lwork, spotrf

from ._config import SYM_RTOL
from ._rng import as_generator
from ._validation import check_scalar, check_square
from .eigen import min_eigenvalue

__all__ = ["Certificate", "certify_min_eigenvalue", "count_eigenvalues_below", "min_eigenvalue_fast"]

#: Unit roundoff and smallest positive subnormal of IEEE-754 binary64 (``u`` and ``eta``).
_U = 2.0**-53
_ETA = 2.0**-1074

_TILE = 256  # the symmetry check compares H with H^T in square tiles of this side

# min_eigenvalue_fast: below this order LAPACK's tridiagonal route is as fast (benchmarks/bench_eigen.py)
_FAST_MIN_N = 3000
_BLOCK = 8  # block size of the block Lanczos iterations
_PHASE1_REL = 0.03  # phase 1 stops once lambda_min - s0 is bracketed to 3 %
_PHASE1_SHIFTS = (2.0**-20, 2.0**-10)  # -s0 / ||H||, tried in turn (float32 factorisation)
_PHASE1_MAXIT = 30
_PHASE2_MAXIT = 40
_PHASE2_TRIES = 3  # float64 factorisations tried at shifts ever closer to s0
_KAPPA = 0.25  # s1 = (heuristic lower bound) - _KAPPA * (bracket width)


@dataclasses.dataclass(frozen=True)
class Certificate:
    """Outcome of :func:`certify_min_eigenvalue`.

    Attributes
    ----------
    certified : bool
        True only when ``lambda_min(H) > t`` is *proved* (for a non-symmetric ``H`` within the
        symmetry tolerance: ``lambda_min((H + H^T)/2) > t``).  False proves nothing either way
        unless ``reason`` says so.
    t : float
        The threshold.
    margin : float
        The rigorous extra shift: the Cholesky factorisation was run on ``H - (t + margin) I``
        (diagonal rounded down).  Eigenvalues in ``(t, t + margin]`` cannot be certified.
    n : int
        Order of ``H``.
    method : str
        How the proof was attempted.
    reason : str
        One sentence on the outcome.
    """

    certified: bool
    t: float
    margin: float
    n: int
    method: str
    reason: str

    def to_dict(self) -> dict:
        """The fields as a JSON-friendly ``dict``."""
        return dataclasses.asdict(self)


def certify_min_eigenvalue(H, t, *, check: bool = True) -> Certificate:
    """Prove ``lambda_min(H) > t`` with one floating-point Cholesky factorisation.

    Parameters
    ----------
    H : array_like of shape (n, n)
        Symmetric matrix (an NTK Gram matrix ``H(W_k)``).
    t : float
        Threshold (e.g. ``lambda_0 / 2``, DZPS19 Thm 3.1).
    check : bool, default True
        Check symmetry (``|H - H^T| <= 1e-10 max|H|``, as :func:`ntkcheck.min_eigenvalue`).  The
        measured asymmetry is added to the margin, so the proof is about the symmetric part
        ``(H + H^T)/2``, whose quadratic form is ``x^T H x``.  With ``check=False`` ``H`` is
        taken to be exactly symmetric and only one triangle is read.

    Returns
    -------
    Certificate
        ``certified`` is True only when the bound is proved.

    Raises
    ------
    ValueError
        ``H`` is not square, not finite or not symmetric; ``t`` is not finite.
    TypeError
        ``t`` is not a real number.

    Notes
    -----
    Theorem (Rump 2006, Cor. 2.4, with the computable constant of the Coq proof in the ValidSDP
    library, ``libvalidsdp/cholesky.v``, Section ``C_upper_bound``; its later revision with the
    Rump-Jeannerod 2014 bounds needs only ``(n+1)u / (1 - (n+1)u)``): let ``A`` be a
    symmetric binary64 matrix with ``0 <= a_ii <= m_d``, ``4 (n + 1) u < 1`` (``u = 2^-53``,
    ``eta = 2^-1074``) and::

        c >= (n + 1) u / (1 - 2 (n + 1) u) * tr(A) + 4 eta n (2 (n + 1) + m_d).

    If the floating-point Cholesky factorisation of the matrix ``A~`` that equals ``A`` off the
    diagonal and has ``a~_ii <= a_ii - c`` runs to completion (every pivot positive), ``A`` is
    positive definite.  It rests on the rounding-error analysis of the Cholesky recurrences
    (Higham 2002, Lemma 8.4 and Thm 10.3), which holds for every order of evaluation of the dot
    products, so LAPACK's blocked ``dpotrf`` (with or without fused multiply-adds) is covered;
    an overflow ends in a failed pivot, never in a false success (an inf or NaN in an entry
    ``l_ij`` of the factor, ``i > j``, enters the pivot of row ``i``, which ``dpotrf`` rejects).

    Applied here with ``a_ii = down(h_ii - t')``, ``t' = t + (n - 1) delta / 2`` where
    ``delta >= max|h_ij - h_ji|`` (Weyl: the symmetric part differs from the triangle read by
    at most ``(n - 1) delta / 2`` in norm), so ``H - t' I >= A`` on the diagonal and
    ``lambda_min((H + H^T)/2) > t`` follows.  Every bound is rounded upwards with
    :func:`math.nextafter` (the trace with :func:`math.fsum`), and every shifted diagonal entry
    downwards, so no rounding in this routine can make the margin too small.

    For an NTK ``H`` of order ``n`` with unit-norm inputs ``tr(H) = n/2``, so the margin is
    about ``n^2 u / 2`` (``5.6e-9`` at ``n = 10^4``), far below ``lambda_0 / 2``.

    References
    ----------
    S. M. Rump, "Verification of positive definiteness", BIT Numer. Math. 46 (2006) 433-452.
    N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM, 2002.

    Examples
    --------
    >>> H = [[2.0, 1.0], [1.0, 2.0]]  # eigenvalues 1 and 3
    >>> certify_min_eigenvalue(H, 0.999).certified
    True
    >>> certify_min_eigenvalue(H, 1.0).certified
    False
    """
    H = check_square(H, "H")
    t = check_scalar(t, "t")
    asym = _asymmetry(H) if check else 0.0
    n = H.shape[0]
    method = "Cholesky with Rump's rounding-error shift (BIT 2006, Cor. 2.4)"
    # t' = t + (n - 1) delta / 2, rounded up: covers the symmetric part of a nearly symmetric H.
    t_eff = _up(t + _up(_up((n - 1) * _up(asym)) / 2.0)) if asym > 0.0 else t
    diag = np.nextafter(H.diagonal() - t_eff, -np.inf)  # a_ii <= h_ii - t' exactly
    if not np.all(diag > 0.0):
        i = int(np.argmin(diag))
        if H[i, i] <= t:
            why = f"H[{i}, {i}] = {H[i, i]:.17g} <= t: lambda_min(H) <= H[{i}, {i}] <= t (refuted)."
        else:
            why = f"H[{i}, {i}] - t is not positive beyond the symmetry allowance; not proved."
        return Certificate(False, t, _up(t_eff - t), n, method, why)
    c = _rump_shift(diag)
    margin = _up(_up(t_eff - t) + c)
    if not math.isfinite(c):
        return Certificate(False, t, margin, n, method,
                           "the rounding-error shift overflowed; rescale H and t by a power of 2.")
    a = np.array(H.T, order="F")  # H^T is F-contiguous: this copy is a memcpy
    a[_diag_index(n)] = np.nextafter(diag - c, -np.inf)  # a~_ii <= a_ii - c exactly
    _, info = dpotrf(a, lower=1, clean=0, overwrite_a=1)
    if info < 0:  # pragma: no cover - LAPACK argument error
        raise RuntimeError(f"LAPACK dpotrf failed with info={info}.")
    if info > 0:
        return Certificate(False, t, margin, n, method,
                           f"Cholesky of H - (t + margin) I broke down at pivot {info} of {n}: not proved "
                           "(lambda_min(H) <= t + margin is likely).")
    return Certificate(True, t, margin, n, method,
                       "Cholesky of H - (t + margin) I completed: lambda_min(H) > t is proved.")


def count_eigenvalues_below(H, t, *, check: bool = True) -> int:
    """Number of eigenvalues of ``H`` below ``t``, from the inertia of ``H - t I``.

    Parameters
    ----------
    H : array_like of shape (n, n)
        Symmetric matrix.
    t : float
        Threshold.
    check : bool, default True
        Check symmetry (``|H - H^T| <= 1e-10 max|H|``); only one triangle is read.

    Returns
    -------
    int
        The number of negative eigenvalues of the block-diagonal ``D`` in the Bunch-Kaufman
        factorisation ``P (H - t I) P^T = L D L^T`` (LAPACK ``dsytrf``), equal to the number of
        eigenvalues of ``H`` below ``t`` by Sylvester's law of inertia.

    Raises
    ------
    ValueError
        ``H`` is not square, not finite or not symmetric; ``t`` is not finite.
    TypeError
        ``t`` is not a real number.

    Notes
    -----
    The count is exact for a matrix ``H - t I + E`` with ``||E|| <= p(n) u rho ||H - t I||``
    (Higham 2002, ch. 11; ``rho`` is the element growth, small in practice), so eigenvalues
    farther than about ``n u ||H||`` from ``t`` are counted correctly, while those within that
    band of ``t`` may be miscounted.  Unlike :func:`certify_min_eigenvalue` this is *not* a proof.
    ``H - t I`` is formed with ordinary rounding.  A 2x2 pivot block ``[[a, b], [b, c]]`` is
    counted by the sign of its determinant (Bunch-Kaufman chooses such blocks only when
    ``a c - b^2 < 0``: one negative and one positive eigenvalue).

    Examples
    --------
    >>> count_eigenvalues_below([[2.0, 1.0], [1.0, 2.0]], 2.0)  # eigenvalues 1 and 3
    1
    """
    H = check_square(H, "H")
    t = check_scalar(t, "t")
    if check:
        _asymmetry(H)
    n = H.shape[0]
    a = np.array(H.T, order="F")
    a[_diag_index(n)] -= t
    lwork, _ = dsytrf_lwork(n, lower=1)
    ldu, ipiv, info = dsytrf(a, lower=1, lwork=max(1, int(lwork)), overwrite_a=1)
    if info < 0:  # pragma: no cover - LAPACK argument error
        raise RuntimeError(f"LAPACK dsytrf failed with info={info}.")
    # info > 0: D has an exact zero pivot; the factorisation is complete and a zero is not "below t".
    d = ldu.diagonal().tolist()
    e = ldu.diagonal(-1).tolist()
    piv = ipiv.tolist()
    neg, k = 0, 0
    while k < n:
        if piv[k] > 0 or k == n - 1:
            neg += d[k] < 0.0
            k += 1
        else:  # 2x2 block D[k:k+2, k:k+2] (ipiv[k] = ipiv[k+1] < 0 in the lower storage)
            det = d[k] * d[k + 1] - e[k] * e[k]
            if det < 0.0:
                neg += 1
            elif d[k] + d[k + 1] < 0.0:  # not produced by Bunch-Kaufman; counted for robustness
                neg += 2 if det > 0.0 else 1
            k += 2
    return int(neg)


def min_eigenvalue_fast(H, *, rtol: float = 1e-10, check: bool = True, rng=None) -> float:
    """Smallest eigenvalue of a symmetric PSD matrix by shift-and-invert block Lanczos.

    Parameters
    ----------
    H : array_like of shape (n, n)
        Symmetric positive semi-definite matrix (e.g. ``H_inf``, ``lambda_0 = lambda_min(H_inf)``).
    rtol : float, default 1e-10
        Target accuracy ``|lambda - lambda_min| <= rtol * |lambda_min|``, relative to
        ``lambda_min`` itself; for a (nearly) singular ``H`` the absolute floor
        ``16 u ||H||_2`` (``u = 2^-53``) applies instead, the noise level of any backward-stable
        method.  Must be in (0, 1).
    check : bool, default True
        As :func:`ntkcheck.min_eigenvalue`: check symmetry, raise on significantly negative
        eigenvalues, clip rounding-noise negatives to 0 with a :class:`~ntkcheck.NumericalWarning`.
    rng : None, int, SeedSequence, BitGenerator or Generator
        Random start block of the Lanczos iteration (pass a seed for bit-reproducible output).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``H`` not square, not finite, not symmetric or significantly indefinite; ``rtol``
        outside (0, 1).

    Notes
    -----
    Phase 1 factors ``H - s0 I`` in float32 (``s0 = -2^-20 ||H||``, scaled by a power of 2) and
    runs block Lanczos (block size 8, full reorthogonalisation) on its inverse until
    ``lambda_min - s0`` is bracketed within 3 % by the residual bound.  Phase 2 factors
    ``H - s1 I`` in float64 with ``s1`` just below that bracket, so that ``1/(lambda_min - s1)``
    dominates the spectrum of ``(H - s1 I)^{-1}`` (started from phase 1's Ritz vectors), and
    stops once the error estimate of its largest Ritz value ``mu`` is below the tolerance:
    ``min(res, res^2 / gap)`` with ``res`` the Lanczos residual norm and ``gap`` half the
    distance from ``mu`` to the nearest Ritz value lying outside the tolerance (the residual
    and Kato-Temple bounds, Parlett 1998, with the gap estimated from the Ritz values).
    The value returned, ``s1 + 1/mu``, is an upper bound on ``lambda_min`` in exact arithmetic.
    Both factorisations cost about ``n^3/3`` flops (BLAS-3) and each Lanczos step ``2 n^2 b``,
    against ``4 n^3/3`` largely BLAS-2 flops for the tridiagonal reduction behind
    ``numpy.linalg.eigvalsh``; ``benchmarks/bench_eigen.py`` has the timings.

    The answer is an estimate, not a proof: like every Krylov method it presumes that the
    random start block is not (numerically) orthogonal to the eigenvector of ``lambda_min``
    (probability zero), and the gap is estimated.  :func:`certify_min_eigenvalue` proves lower
    bounds.  Any failure (a factorisation breaking down, no convergence) falls back to
    :func:`ntkcheck.min_eigenvalue`, as do ``n < 3000``, where LAPACK's route is as fast, and
    a negative estimate under ``check=True``, so that the PSD checks and messages are those of
    :func:`ntkcheck.min_eigenvalue`.

    References
    ----------
    B. N. Parlett, *The Symmetric Eigenvalue Problem*, SIAM, 1998.
    T. Ericsson and A. Ruhe, "The spectral transformation Lanczos method", Math. Comp. 35 (1980).

    Examples
    --------
    >>> lam = min_eigenvalue_fast([[2.0, 1.0], [1.0, 2.0]])  # n < 3000: the LAPACK route
    >>> round(lam, 12)
    1.0
    """
    H = check_square(H, "H")
    rtol = check_scalar(rtol, "rtol", min_val=0.0, max_val=1.0, closed="neither")
    rng = as_generator(rng)
    if check:
        _asymmetry(H)
    if H.shape[0] < _FAST_MIN_N:
        return min_eigenvalue(H, check=check)
    lam = _shift_invert_min(H, rtol, rng)
    if lam is None or (check and lam < 0.0):  # LAPACK decides (and raises or clips) as eigen does
        return min_eigenvalue(H, check=check)
    return lam


# ----------------------------------------------------------------------------------------------
# private helpers


def _up(x: float) -> float:
    """The next float above ``x``: an upper bound of the exact result of the operation that gave ``x``."""
    return math.nextafter(x, math.inf)


def _down(x: float) -> float:
    """The next float below ``x``."""
    return math.nextafter(x, -math.inf)


def _diag_index(n: int):
    idx = np.arange(n)
    return idx, idx


def _rump_shift(diag: np.ndarray) -> float:
    """Upper bound of Rump's ``c = (n+1)u/(1-2(n+1)u) tr(A) + 4 eta n (2(n+1) + max a_ii)``."""
    n = diag.shape[0]
    if not 4 * (n + 1) * _U < 1:  # pragma: no cover - n >= 2^51
        raise ValueError(f"`H` is too large for the rounding-error bound (n={n}).")
    g = (n + 1) * _U  # exact: an integer times a power of 2
    coef = _up(g / _down(1.0 - 2.0 * g))
    try:
        trace = _up(math.fsum(diag.tolist()))  # fsum is correctly rounded
    except OverflowError:
        return math.inf
    maxdiag = float(diag.max())
    tail = _up(_up(_up(4.0 * n) * _up(2.0 * (n + 1) + maxdiag)) * _ETA)
    return _up(_up(coef * trace) + tail)


def _asymmetry(H: np.ndarray) -> float:
    """``max|H - H^T|`` rounded up; raise like :mod:`ntkcheck.eigen` above ``SYM_RTOL * max|H|``.

    Compares square tiles ``H[I, J]`` with ``H[J, I]^T`` (``J >= I``): cache-friendly, and no
    ``n x n`` temporary is allocated.
    """
    n, b = H.shape[0], _TILE
    scale = asym = 0.0
    for i in range(0, n, b):
        for j in range(i, n, b):
            upper, lower = H[i : i + b, j : j + b], H[j : j + b, i : i + b]
            scale = max(scale, float(np.abs(upper).max()), float(np.abs(lower).max()))
            asym = max(asym, float(np.abs(upper - lower.T).max()))
    if asym > SYM_RTOL * max(scale, np.finfo(float).tiny):
        raise ValueError(
            f"`H` must be symmetric (|H - H.T| <= {SYM_RTOL:g} * max|H| = {SYM_RTOL * scale:.3g}), "
            f"got max|H - H.T| = {asym:.3g}. Symmetrise with (H + H.T) / 2 if this is rounding."
        )
    return _up(asym) if asym > 0.0 else 0.0


def _shift_invert_min(H: np.ndarray, rtol: float, rng: np.random.Generator):
    """The two phases of :func:`min_eigenvalue_fast`; None when LAPACK's route must decide."""
    n = H.shape[0]
    hnorm = max(float(np.abs(H.diagonal()).max()), float(np.linalg.norm(H @ np.ones(n))) / math.sqrt(n))
    if not 0.0 < hnorm < math.inf:  # hnorm <= ||H||_2: a zero diagonal and zero row sums
        return None
    scale = math.ldexp(1.0, -math.frexp(hnorm)[1])  # a power of 2: exact scaling, |H| ~ 1 in float32
    start = rng.standard_normal((n, _BLOCK))
    found = _phase1(H, scale, start)
    if found is None:
        return None
    s0, d_lo, d_hi, X = found  # lambda_min - s0 is bracketed in [d_lo, d_hi] (scaled units)
    floor = 16.0 * _U * hnorm
    offset = max(0.0, d_lo - _KAPPA * (d_hi - d_lo))
    for _ in range(_PHASE2_TRIES):
        s1 = (s0 + offset) / scale
        a = np.array(H.T, order="F")
        a[_diag_index(n)] -= s1
        c, info = dpotrf(a, lower=1, clean=0, overwrite_a=1)
        del a
        if info == 0:
            break
        offset /= 4.0  # lambda_min is below s1 after all: move the shift towards s0
    else:
        return None

    def converged(mu, res, theta):
        if not mu > 0.0:
            return False
        tol = max(rtol * abs(s1 + 1.0 / mu), floor)
        err = res  # |mu - mu_j| <= res for some eigenvalue mu_j (residual bound)
        with np.errstate(divide="ignore"):  # a zero Ritz value (breakdown) is simply "far"
            far = theta[np.abs(1.0 / theta - 1.0 / mu) > tol]  # Ritz values beyond the tolerance cluster
        if far.size:  # gap estimate: err <= res^2 / gap (Kato-Temple), gap halved for safety
            err = min(err, res * res / (0.5 * (mu - far[-1])))
        return mu > err and err / (mu * (mu - err)) <= tol

    mu, res, _, ok = _block_lanczos(c, dtrsm, X.astype(np.float64), _PHASE2_MAXIT, converged)
    return s1 + 1.0 / mu if ok else None


def _phase1(H: np.ndarray, scale: float, start: np.ndarray):
    """Float32 shift-and-invert Lanczos on ``scale * H``: (s0, d_lo, d_hi, top Ritz vectors) or None."""
    n = H.shape[0]
    for rel in _PHASE1_SHIFTS:
        s0 = -rel
        a = np.empty((n, n), dtype=np.float32, order="F")
        np.multiply(H.T, scale, out=a, casting="same_kind")
        a[_diag_index(n)] -= np.float32(s0)
        c, info = spotrf(a, lower=1, clean=0, overwrite_a=1)
        del a
        if info == 0:
            break
    else:
        return None

    def bracketed(mu, res, theta):
        return res <= _PHASE1_REL * mu

    mu, res, X, _ = _block_lanczos(c, strsm, start.astype(np.float32), _PHASE1_MAXIT, bracketed)
    if not mu > 0.0:
        return None
    return s0, 1.0 / (mu + res), 1.0 / mu, X


def _block_lanczos(c, trsm, X0, maxit, stop):
    """Block Lanczos with full reorthogonalisation on ``T = (L L^T)^{-1}``, ``L = tril(c)``.

    Returns the largest Ritz value ``mu``, its residual norm ``res`` (``||T y - mu y||`` by the
    block Lanczos relation ``T V_m = V_m T_m + Q_{m+1} B E_m^T``), the top-``b`` Ritz vectors,
    and whether ``stop(mu, res, theta)`` (``theta``: the top-``b`` Ritz values, ascending) was met
    within ``maxit`` steps.
    """
    n, b = X0.shape
    maxit = min(maxit, n // b - 1)  # the Krylov basis must fit in R^n
    V = np.empty((n, b * (maxit + 1)), dtype=X0.dtype, order="F")
    V[:, :b] = np.linalg.qr(X0)[0]
    T = np.zeros((b * (maxit + 1), b * (maxit + 1)))
    ok, mu, res, m, Y = False, 0.0, math.inf, b, np.zeros((b, b))
    for j in range(maxit):
        m = (j + 1) * b
        W = trsm(1.0, c, V[:, m - b : m], lower=1)  # L Y = V_j
        W = trsm(1.0, c, W, lower=1, trans_a=1, overwrite_b=1)  # L^T W = Y
        Vm = V[:, :m]
        C = Vm.T @ W  # classical Gram-Schmidt, twice ("twice is enough")
        W -= Vm @ C
        C2 = Vm.T @ W
        W -= Vm @ C2
        C += C2
        T[:m, m - b : m] = C
        T[m - b : m, :m] = C.T
        Q, B = _orthonormalise(W, Vm)
        V[:, m : m + b] = Q
        T[m : m + b, m - b : m] = B
        T[m - b : m, m : m + b] = B.T
        theta, Y = eigh(T[:m, :m], subset_by_index=[m - b, m - 1])
        mu = float(theta[-1])
        res = float(np.linalg.norm(B @ Y[m - b :, -1]))
        if stop(mu, res, theta):
            ok = True
            break
    return mu, res, V[:, :m] @ Y.astype(V.dtype), ok


def _orthonormalise(W: np.ndarray, V: np.ndarray):
    """``W = Q B`` with orthonormal ``Q`` (orthogonal to ``V`` too) and square ``B`` (float64).

    Cholesky QR twice (Fukaya et al. 2014): BLAS-3 and far cheaper than Householder QR for a
    tall block.  When ``W`` is too ill-conditioned for it (or rank-deficient: an invariant
    subspace was found) Householder QR takes over, and its arbitrary extra columns are
    re-orthogonalised against ``V``.
    """
    potrf, trsm = (dpotrf, dtrsm) if W.dtype == np.float64 else (spotrf, strsm)
    Q, B = W, np.eye(W.shape[1])
    for _ in range(2):
        R, info = potrf(Q.T @ Q, lower=0, clean=1)
        if info != 0:
            break
        Q = trsm(1.0, R, Q, side=1, lower=0)  # Q R^{-1}
        B = R.astype(np.float64) @ B
    else:
        err = np.abs(Q.T @ Q - np.eye(Q.shape[1])).max()
        if err <= 1e3 * np.finfo(W.dtype).eps:
            return Q, B
    Q, B = np.linalg.qr(W)
    Q -= V @ (V.T @ Q)
    Q, B2 = np.linalg.qr(Q)
    return Q, (B2 @ B).astype(np.float64)
