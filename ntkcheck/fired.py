"""Fired-pair engines of the shifted-ReLU two-layer network (DHSWZ22; docs/theory.md §9).

Model: ``f_b(W, x) = m^{-1/2} Σ_r a_r max(<w_r, x> − b, 0)`` with fixed signs ``a_r ∈ {±1}`` and
trained first layer ``W`` (m × d).  With ``1_{ir} = 1{<w_r, x_i> >= b}`` (note ``>=``), the fired
set of point i is ``S_i = {r : 1_{ir} = 1}`` and ``U = ∪_i S_i``.  The Jacobian ``J ∈ R^{n × md}``
has row i, block r equal to ``m^{-1/2} a_r 1_{ir} x_i``, so that (§9 [EXACT])

    J Jᵀ = H_b(W),   H_b(W)_ij = (1/m) <x_i, x_j> |S_i ∩ S_j|,

the shifted first-layer NTK of §4 (:func:`ntkcheck.ntk_finite` with ``shift=b``).  Gradient descent
and Gauss-Newton both take steps ``W <- W − Jᵀ c`` (``c = η (f − y)``, resp.
``c = η (H_b + μ I)^{-1} (f − y)``), i.e. ``w_r −= m^{-1/2} a_r Σ_{i ∈ S_r} c_i x_i``.

Two engines with one interface (:data:`ENGINES`) hold W and the fired sets:

* :class:`DenseFiredEngine`, the reference: all ``m`` neurons, ``O(m n d)`` per step with BLAS.
* :class:`SparseFiredEngine`: only the fired pairs ``(i, r ∈ S_i)`` and the pairs that the margin
  rule (§9 [EXACT]) cannot rule out; ``O(Σ_i |S_i| d + (rechecked) d + |U| d)`` per step after an
  ``O(m n d)`` initialisation.  A neuron outside U has zero gradient and never changes, so
  ``U_{t+1} ⊆ U_t`` and neurons outside ``U_0`` are never touched after the initialisation.

Both give the same fired sets, and W, outputs and ``H_b`` to rounding (summation orders differ).

References
----------
Deng, Hu, Song, Weinstein, Zhuo (2022), "Training overparametrized neural networks in sublinear
time", arXiv 2208.04508 ("DHSWZ22").
"""

from __future__ import annotations

import math
import time

import numpy as np

from ._fired_kernels import (
    _cofire_kernel,
    _fired_counts_kernel,
    _init_rows_kernel,
    _outputs_kernel,
    _step_kernel,
)

__all__ = ["DenseFiredEngine", "SparseFiredEngine", "ENGINES"]

#: Bytes of one block of float64 inner products (neurons × n) in the blocked O(m n d) passes.
_BLOCK_BYTES = 1 << 26
#: A neuron whose margin band holds more than this fraction of its non-fired points is fully rechecked.
_BAND_FRACTION = 0.25


def _block_rows(n: int) -> int:
    """Neurons per block so that a (block, n) float64 array stays near :data:`_BLOCK_BYTES`."""
    return max(1, _BLOCK_BYTES // (8 * max(n, 1)))


def _symmetric_gram(X: np.ndarray) -> np.ndarray:
    """``X Xᵀ`` made exactly symmetric (upper triangle mirrored)."""
    G = X @ X.T
    iu = np.triu_indices(G.shape[0], 1)
    G.T[iu] = G[iu]
    return G


class _FiredEngine:
    """What both engines share: the weights ``_W`` (m, d), exposed read-only."""

    _W: np.ndarray

    @property
    def W(self) -> np.ndarray:
        """ndarray of shape (m, d): current weights (read-only view)."""
        v = self._W.view()
        v.flags.writeable = False
        return v


class DenseFiredEngine(_FiredEngine):
    """Reference fired-pair engine: every step works on all ``m`` neurons (``O(m n d)``, BLAS).

    Holds ``Z = W Xᵀ`` (shape (m, n)) and the pattern ``Z >= b``; every pass over the neurons is
    blocked (about 64 MB of temporaries), so memory is ``≈ 9 m n`` bytes for ``Z`` and the pattern.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Inputs, float64, C-contiguous, finite, nonzero rows (validated by the caller).
    a : ndarray of shape (m,)
        Output signs ``a_r ∈ {±1}``.
    W0 : ndarray of shape (m, d)
        Initial weights (copied; never modified).
    shift : float
        Threshold ``b`` of ``σ_b(z) = max(z − b, 0)``; any sign.

    Attributes
    ----------
    init_seconds : float
        Wall time of the constructor.

    Notes
    -----
    ``step`` reports ``rechecked = n m`` (all inner products are recomputed) and ``moved`` = the
    number of rows of W that changed.  docs/theory.md §9; DHSWZ22.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> eng = DenseFiredEngine(X, np.array([1.0, -1.0]), np.array([[2.0, 0.0], [1.0, 1.0]]), 0.5)
    >>> eng.outputs()
    array([ 0.70710678, -0.35355339])
    >>> eng.fired_counts()
    array([2, 1])
    """

    def __init__(self, X, a, W0, shift):
        t0 = time.perf_counter()
        self._X = np.ascontiguousarray(X, dtype=np.float64)
        self._a = np.ascontiguousarray(a, dtype=np.float64)
        self._W0 = np.array(W0, dtype=np.float64, order="C", copy=True)
        assert self._X.ndim == 2 and self._W0.shape[1] == self._X.shape[1] and self._a.shape == (self._W0.shape[0],)
        self._b = float(shift)
        self._W = self._W0.copy()
        m, n = self._W.shape[0], self._X.shape[0]
        self._inv_sqrt_m = 1.0 / math.sqrt(m)
        self._blk = _block_rows(n)
        self._Z = np.empty((m, n))
        for s in range(0, m, self._blk):
            np.matmul(self._W[s : s + self._blk], self._X.T, out=self._Z[s : s + self._blk])
        self._act = self._Z >= self._b
        self._G = _symmetric_gram(self._X)
        self.init_seconds = time.perf_counter() - t0

    def outputs(self) -> np.ndarray:
        """``f_b(W, x_i)`` for every point, shape (n,)."""
        u = np.zeros(self._X.shape[0])
        for s in range(0, self._W.shape[0], self._blk):
            u += self._a[s : s + self._blk] @ np.maximum(self._Z[s : s + self._blk] - self._b, 0.0)
        return u * self._inv_sqrt_m

    def gram(self) -> np.ndarray:
        """``H_b(W) = J Jᵀ``, shape (n, n), exactly symmetric (co-firing counts are exact integers)."""
        n = self._X.shape[0]
        C = np.zeros((n, n))
        for s in range(0, self._W.shape[0], self._blk):
            A = self._act[s : s + self._blk].astype(np.float64)
            C += A.T @ A
        C = np.triu(C) + np.triu(C, 1).T  # exact integers: only guards against a non-symmetric GEMM
        return self._G * C / self._W.shape[0]

    def step(self, c) -> dict:
        """``W <- W − Jᵀ c`` with J at the current W; then recompute all of ``Z`` and the pattern.

        Parameters
        ----------
        c : ndarray of shape (n,)
            Step coefficients.

        Returns
        -------
        dict
            ``changes`` (pairs whose status changed), ``rechecked`` (``n m``), ``moved`` (rows of W
            that changed).
        """
        c = np.ascontiguousarray(c, dtype=np.float64)
        assert c.shape == (self._X.shape[0],)
        cX = c[:, None] * self._X
        changes = moved = 0
        for s in range(0, self._W.shape[0], self._blk):
            e = s + self._blk
            A = self._act[s:e]
            delta = ((A * self._a[s:e, None]) @ cX) * self._inv_sqrt_m
            new = self._W[s:e] - delta
            moved += int(np.any(new != self._W[s:e], axis=1).sum())
            self._W[s:e] = new
            np.matmul(self._W[s:e], self._X.T, out=self._Z[s:e])
            new_act = self._Z[s:e] >= self._b
            changes += int(np.count_nonzero(new_act != A))
            self._act[s:e] = new_act
        return dict(changes=changes, rechecked=self._W.shape[0] * self._X.shape[0], moved=moved)

    def fired_counts(self) -> np.ndarray:
        """``|S_i|`` per point, shape (n,), int64."""
        return np.count_nonzero(self._act, axis=0).astype(np.int64)

    def union_size(self) -> int:
        """``|U| = |∪_i S_i|``."""
        return int(np.count_nonzero(self._act.any(axis=1)))

    def fired_pair_count(self) -> int:
        """``Σ_i |S_i|`` (number of fired pairs)."""
        return int(np.count_nonzero(self._act))

    def fired_pattern(self) -> np.ndarray:
        """``1_{ir}``, shape (n, m), bool."""
        return self._act.T.copy()

    def max_movement(self) -> float:
        """``max_r ‖w_r − w_r(0)‖``."""
        if self._W.shape[0] == 0:
            return 0.0
        return float(np.sqrt(np.max(np.sum((self._W - self._W0) ** 2, axis=1))))

    def frobenius_movement(self) -> float:
        """``‖W − W(0)‖_F``."""
        return float(np.linalg.norm(self._W - self._W0))

    def close(self) -> None:
        """Free ``Z`` and the pattern (the engine is unusable afterwards)."""
        self._Z = self._act = None


class SparseFiredEngine(_FiredEngine):
    """Sublinear fired-pair engine: per step, only the fired pairs and the margin band.

    Same interface and results as :class:`DenseFiredEngine` (same fired sets; W, outputs and
    ``H_b`` to rounding), at ``O(Σ_i |S_i| d + (rechecked) d + |U| d)`` per step.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Inputs, float64, C-contiguous, finite, nonzero rows (validated by the caller).
    a : ndarray of shape (m,)
        Output signs ``a_r ∈ {±1}``.
    W0 : ndarray of shape (m, d)
        Initial weights (copied; never modified).
    shift : float
        Threshold ``b``; any sign (``b <= 0`` is correct but not sparse: ``U`` is about all neurons).

    Attributes
    ----------
    init_seconds : float
        Wall time of the constructor (the one-time ``O(m n d)`` pass).

    Notes
    -----
    *Initialisation* (``O(m n d)``, blocks of about 64 MB): ``Z = W_0 Xᵀ`` block by block keeps the
    neurons of ``U_0`` (those firing on some point).  For each, a row of a padded neuron-major
    store (:mod:`ntkcheck._fired_kernels`) holds its fired points with the cached ``z_ir`` and its
    other points sorted by normalised margin ``(b − z_ir)/‖x_i‖`` at its last full check
    ``w_r^check``.  Memory ``12 |U_0| n`` bytes plus ``W`` (m × d) and ``3 |U_0| d`` floats.

    *Step* (docs/theory.md §9): ``Δw_r`` over the fired pairs of the current W; for each neuron
    whose row changed, the fired pairs' inner products are recomputed (detects fired -> not fired
    exactly), and the non-fired pairs inside the margin band ``margin <= ‖w_r − w_r^check‖`` (plus
    a rounding slack ``~ d ε``) are recomputed (margin rule: no other pair can start firing).  Any
    status change, or a band with more than 1/4 of the neuron's non-fired points, triggers a
    *full recheck*: all ``n`` inner products, a rebuilt row and ``w_r^check = w_r``.

    ``step`` returns ``rechecked`` = the number of inner products ``<w_r, x_i>`` recomputed in the
    step: the fired pairs of the moved neurons, the band pairs examined (up to the first flip),
    and ``n`` per full recheck.  ``changes`` counts the pairs whose status differs from before the
    step (found by the full rechecks), ``moved`` the neurons whose row of W changed.

    Silent neurons of ``U_0`` (no fired pair left) stay in the store at ``O(1)`` per step; they
    never move again, and their movement still counts in :meth:`max_movement`.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> eng = SparseFiredEngine(X, np.array([1.0, -1.0]), np.array([[2.0, 0.0], [1.0, 1.0]]), 0.5)
    >>> eng.outputs()
    array([ 0.70710678, -0.35355339])
    >>> eng.union_size()
    2
    """

    def __init__(self, X, a, W0, shift):
        t0 = time.perf_counter()
        X = np.ascontiguousarray(X, dtype=np.float64)
        self._X = X
        self._a = np.ascontiguousarray(a, dtype=np.float64)
        self._W = np.array(W0, dtype=np.float64, order="C", copy=True)
        assert X.ndim == 2 and self._W.shape[1] == X.shape[1] and self._a.shape == (self._W.shape[0],)
        m, (n, d) = self._W.shape[0], X.shape
        self._b = float(shift)
        self._inv_sqrt_m = 1.0 / math.sqrt(m) if m else 0.0
        self._xnorm = np.sqrt(np.einsum("ij,ij->i", X, X))
        eps = np.finfo(np.float64).eps
        self._tol_rel = 4.0 * (d + 4) * eps
        self._tol_abs = self._tol_rel * abs(self._b) / float(self._xnorm.min()) if n else 0.0
        blk = _block_rows(n)
        keep, rows = [], []
        for s in range(0, m, blk):
            Zb = self._W[s : s + blk] @ X.T
            sel = np.flatnonzero((Zb >= self._b).any(axis=1))
            if sel.size:
                keep.append(sel + s)
                rows.append(Zb[sel])
        k = int(sum(len(g) for g in keep))
        self._gidx = np.concatenate(keep).astype(np.int64) if k else np.zeros(0, np.int64)
        Zu = np.concatenate(rows) if k else np.zeros((0, n))
        rows = None
        self._order = np.empty((k, n), dtype=np.int32)
        self._val = np.empty((k, n))
        self._nf = np.zeros(k, dtype=np.int64)
        _init_rows_kernel(Zu, self._xnorm, self._b, self._order, self._val, self._nf)
        del Zu
        self._W0u = self._W[self._gidx].copy()
        self._Wc = self._W0u.copy()
        self._wcnorm = np.sqrt(np.einsum("ij,ij->i", self._Wc, self._Wc))
        self._dist = np.zeros(k)
        self._G = _symmetric_gram(X)
        self._dw = np.empty(d)
        self._zbuf = np.empty(n)
        self._mark = np.zeros(n, dtype=np.int8)
        self._stats = np.zeros(4, dtype=np.int64)
        self._C = np.empty((n, n))
        self.full_rechecks = 0  #: total full rechecks so far (diagnostic)
        self.init_seconds = time.perf_counter() - t0

    def outputs(self) -> np.ndarray:
        """``f_b(W, x_i)`` from the cached fired-pair inner products (O(pairs)), shape (n,)."""
        u = np.empty(self._X.shape[0])
        _outputs_kernel(self._a, self._gidx, self._order, self._val, self._nf, self._b, self._inv_sqrt_m, u)
        return u

    def gram(self) -> np.ndarray:
        """``H_b(W) = (X Xᵀ) ∘ C / m`` with ``C_ij = |S_i ∩ S_j|`` (O(Σ_r |S_r|² + n²)), shape (n, n)."""
        _cofire_kernel(self._order, self._nf, self._C)
        return self._G * self._C / self._W.shape[0]

    def step(self, c) -> dict:
        """``W <- W − Jᵀ c`` with J at the current W; then bring the fired sets up to date.

        Parameters
        ----------
        c : ndarray of shape (n,)
            Step coefficients.

        Returns
        -------
        dict
            ``changes``, ``rechecked``, ``moved`` (defined in the class Notes).
        """
        c = np.ascontiguousarray(c, dtype=np.float64)
        assert c.shape == (self._X.shape[0],)
        _step_kernel(self._X, self._xnorm, self._a, c, self._W, self._gidx, self._order, self._val, self._nf,
                     self._Wc, self._wcnorm, self._W0u, self._dist, self._b, self._inv_sqrt_m, _BAND_FRACTION,
                     self._tol_rel, self._tol_abs, self._dw, self._zbuf, self._mark, self._stats)
        st = self._stats
        self.full_rechecks += int(st[3])
        return dict(changes=int(st[0]), rechecked=int(st[1]), moved=int(st[2]))

    def fired_counts(self) -> np.ndarray:
        """``|S_i|`` per point (O(pairs)), shape (n,), int64."""
        counts = np.empty(self._X.shape[0], dtype=np.int64)
        _fired_counts_kernel(self._order, self._nf, counts)
        return counts

    def union_size(self) -> int:
        """``|U|``: neurons of the store with at least one fired pair."""
        return int(np.count_nonzero(self._nf))

    def fired_pair_count(self) -> int:
        """``Σ_i |S_i|`` (number of fired pairs)."""
        return int(self._nf.sum())

    def fired_pattern(self) -> np.ndarray:
        """``1_{ir}``, shape (n, m), bool (allocates n × m: for tests at small sizes)."""
        n = self._X.shape[0]
        P = np.zeros((n, self._W.shape[0]), dtype=bool)
        fired = np.arange(n)[None, :] < self._nf[:, None]
        P[self._order[fired], np.repeat(self._gidx, self._nf)] = True
        return P

    def max_movement(self) -> float:
        """``max_r ‖w_r − w_r(0)‖`` (only neurons of ``U_0`` ever move)."""
        return float(self._dist.max()) if self._dist.size else 0.0

    def frobenius_movement(self) -> float:
        """``‖W − W(0)‖_F`` (only neurons of ``U_0`` ever move)."""
        return float(np.sqrt(self._dist @ self._dist))

    def close(self) -> None:
        """Free the store (the engine is unusable afterwards)."""
        self._order = self._val = self._C = None


#: Engine classes by name (the ``engine`` argument of the training driver).
ENGINES = {"dense": DenseFiredEngine, "sparse": SparseFiredEngine}
