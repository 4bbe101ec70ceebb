"""Numba kernels of :class:`ntkcheck.fired.SparseFiredEngine` (DHSWZ22); nothing public.

The engine keeps, for every neuron of the initial union ``U_0 = ∪_i S_i`` (compact index ``j``,
global index ``gidx[j]``), one row of a padded neuron-major store (docs/theory.md §9):

- ``order[j, :nf[j]]``: the points ``i`` with ``<w_r, x_i> >= b`` (the fired pairs of neuron r,
  ascending ``i``), and ``val[j, :nf[j]]`` their cached inner products ``z_ir = <w_r, x_i>`` at
  the current weights;
- ``order[j, nf[j]:]``: the other points, sorted by ascending normalised margin, and
  ``val[j, nf[j]:]`` those margins ``(b − <w_r^check, x_i>) / ‖x_i‖ > 0`` at the neuron's last
  full check, whose weights are ``Wc[j]``.

Margin rule (docs/theory.md §9 [EXACT]): by Cauchy-Schwarz a non-fired pair can fire only if
``(b − <w_r^check, x_i>) / ‖x_i‖ <= ‖w_r − w_r^check‖``, so after a step only the leading entries of
the sorted tail (a binary search) need a new inner product.  A small rounding slack (see
:func:`_step_kernel`) keeps the rule valid for the *computed* inner products too.

Rules (style guide §3): C-contiguous float64/int32/int64/int8 arrays and scalars in, no validation,
no randomness, nothing raised, only caller-preallocated outputs and scratch buffers are written;
options from ``NJIT_OPTS``; single-threaded and deterministic.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import NJIT_OPTS


@njit(**NJIT_OPTS)
def _row_dot(W, r, X, i):  # pragma: no cover - jitted
    """``<W[r], X[i]>`` in a fixed summation order."""
    s = 0.0
    for q in range(X.shape[1]):
        s += W[r, q] * X[i, q]
    return s


@njit(**NJIT_OPTS)
def _sift_down(keys, idx, lo, start, end):  # pragma: no cover - jitted
    """Max-heap sift of ``keys[lo + start]`` within ``keys[lo : lo + end]`` (``idx`` follows)."""
    root = start
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and keys[lo + child + 1] > keys[lo + child]:
            child += 1
        if keys[lo + child] > keys[lo + root]:
            kr = keys[lo + root]
            keys[lo + root] = keys[lo + child]
            keys[lo + child] = kr
            ir = idx[lo + root]
            idx[lo + root] = idx[lo + child]
            idx[lo + child] = ir
            root = child
        else:
            return


@njit(**NJIT_OPTS)
def _heapsort_pairs(keys, idx, lo, hi):  # pragma: no cover - jitted
    """Sort ``keys[lo:hi]`` ascending in place, permuting ``idx[lo:hi]`` alike (no allocation).

    Parameters
    ----------
    keys : ndarray of shape (n,), float64
        Sort keys (one row of ``val``).
    idx : ndarray of shape (n,), int32
        Companion indices (one row of ``order``).
    lo, hi : int
        Half-open range to sort.
    """
    size = hi - lo
    for start in range(size // 2 - 1, -1, -1):
        _sift_down(keys, idx, lo, start, size)
    for end in range(size - 1, 0, -1):
        kr = keys[lo]
        keys[lo] = keys[lo + end]
        keys[lo + end] = kr
        ir = idx[lo]
        idx[lo] = idx[lo + end]
        idx[lo + end] = ir
        _sift_down(keys, idx, lo, 0, end)


@njit(**NJIT_OPTS)
def _fill_row(z, xnorm, shift, order_row, val_row):  # pragma: no cover - jitted
    """Rebuild one neuron's row of the store from all its inner products; returns ``|S_r|``.

    Parameters
    ----------
    z : ndarray of shape (n,)
        ``<w_r, x_i>`` for every point.
    xnorm : ndarray of shape (n,)
        ``‖x_i‖``.
    shift : float
        The threshold ``b``.
    order_row : ndarray of shape (n,), int32
        Output: fired points (ascending), then the others by ascending margin.
    val_row : ndarray of shape (n,)
        Output: ``z`` of the fired points, then the normalised margins ``(b − z) / ‖x_i‖``.
    """
    n = z.shape[0]
    nf = 0
    for i in range(n):
        if z[i] >= shift:
            order_row[nf] = i
            val_row[nf] = z[i]
            nf += 1
    t = nf
    for i in range(n):
        if not (z[i] >= shift):
            order_row[t] = i
            val_row[t] = (shift - z[i]) / xnorm[i]
            t += 1
    _heapsort_pairs(val_row, order_row, nf, n)
    return nf


@njit(**NJIT_OPTS)
def _init_rows_kernel(Z, xnorm, shift, order, val, nf):  # pragma: no cover - jitted
    """Fill the store rows of a block of neurons from their inner products.

    Parameters
    ----------
    Z : ndarray of shape (k, n)
        ``<w_r, x_i>`` of the block's neurons (BLAS product of the wrapper).
    xnorm : ndarray of shape (n,)
        ``‖x_i‖``.
    shift : float
        The threshold ``b``.
    order : ndarray of shape (k, n), int32
        Output rows of the store (see the module docstring).
    val : ndarray of shape (k, n)
        Output rows of the store.
    nf : ndarray of shape (k,), int64
        Output: ``|S_r|`` per neuron.
    """
    for j in range(Z.shape[0]):
        nf[j] = _fill_row(Z[j], xnorm, shift, order[j], val[j])


@njit(**NJIT_OPTS)
def _full_recheck(j, r, W, X, xnorm, shift, order, val, nf, Wc, wcnorm, zbuf, mark):  # pragma: no cover
    """Recompute all ``n`` inner products of neuron ``r`` (compact ``j``); returns the status changes."""
    n, d = X.shape
    for p in range(nf[j]):
        mark[order[j, p]] = 1
    for i in range(n):
        zbuf[i] = _row_dot(W, r, X, i)
    changes = 0
    for i in range(n):
        now = 1 if zbuf[i] >= shift else 0
        if now != mark[i]:
            changes += 1
        mark[i] = 0
    nf[j] = _fill_row(zbuf, xnorm, shift, order[j], val[j])
    s = 0.0
    for q in range(d):
        Wc[j, q] = W[r, q]
        s += W[r, q] * W[r, q]
    wcnorm[j] = np.sqrt(s)
    return changes


@njit(**NJIT_OPTS)
def _step_kernel(X, xnorm, a, c, W, gidx, order, val, nf, Wc, wcnorm, W0u, dist, shift, inv_sqrt_m,
                 frac, tol_rel, tol_abs, dw, zbuf, mark, stats):  # pragma: no cover - jitted
    """One step ``W <- W − Jᵀ c`` on the fired pairs, then bring every ``S_i`` up to date.

    For each neuron of the store with ``|S_r| > 0``: ``w_r −= m^{-1/2} a_r Σ_{i ∈ S_r} c_i x_i``
    (fired pairs at the weights *before* the step).  If the row changed, the inner products of
    its fired pairs are recomputed (fired -> not fired is detected exactly), then the margin band
    ``{non-fired i : margin_i <= thr}`` with ``thr = δ (1 + 1e-12) + tol_rel (‖w_r^check‖ + δ) +
    tol_abs``, ``δ = ‖w_r − w_r^check‖``, is found by binary search and recomputed.  The slack
    bounds the rounding of the stored and the new inner products (``≈ d ε ‖w‖ ‖x‖``), so the
    rule holds for computed values.  Any status change, or a band of more than ``frac`` of the
    non-fired points, triggers a full recheck of the neuron (:func:`_full_recheck`).

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Inputs.
    xnorm : ndarray of shape (n,)
        ``‖x_i‖``.
    a : ndarray of shape (m,)
        Output signs.
    c : ndarray of shape (n,)
        Step coefficients (``W <- W − Jᵀ c``).
    W : ndarray of shape (m, d)
        Weights, updated in place (only rows ``gidx``).
    gidx : ndarray of shape (k,), int64
        Global index of each store row.
    order, val : ndarray of shape (k, n), int32 / float64
        The store (module docstring), updated in place.
    nf : ndarray of shape (k,), int64
        ``|S_r|`` per store row, updated in place.
    Wc : ndarray of shape (k, d)
        Weights at each neuron's last full check, updated in place.
    wcnorm : ndarray of shape (k,)
        ``‖Wc[j]‖``, updated in place.
    W0u : ndarray of shape (k, d)
        Initial weights of the store's neurons.
    dist : ndarray of shape (k,)
        ``‖w_r − w_r(0)‖``, updated in place for the moved neurons.
    shift : float
        The threshold ``b``.
    inv_sqrt_m : float
        ``m^{-1/2}``.
    frac : float
        Band fraction above which a neuron is fully rechecked.
    tol_rel, tol_abs : float
        Rounding slack of the margin rule (see above).
    dw, zbuf : ndarray of shape (d,) / (n,)
        Scratch.
    mark : ndarray of shape (n,), int8
        Scratch, all zero on entry and on exit.
    stats : ndarray of shape (4,), int64
        Output: status changes, inner products recomputed, neurons moved, full rechecks.
    """
    n, d = X.shape
    changes = 0
    rechecked = 0
    moved = 0
    full = 0
    for j in range(gidx.shape[0]):
        cf = nf[j]
        if cf == 0:  # silent: zero gradient, never changes again (U_{t+1} ⊆ U_t)
            continue
        r = gidx[j]
        for q in range(d):
            dw[q] = 0.0
        for p in range(cf):
            i = order[j, p]
            ci = c[i]
            if ci != 0.0:
                for q in range(d):
                    dw[q] += ci * X[i, q]
        coef = a[r] * inv_sqrt_m
        changed = False
        for q in range(d):
            new = W[r, q] - coef * dw[q]
            if new != W[r, q]:
                changed = True
            W[r, q] = new
        if not changed:
            continue
        moved += 1
        s0 = 0.0
        sc = 0.0
        for q in range(d):
            e0 = W[r, q] - W0u[j, q]
            s0 += e0 * e0
            ec = W[r, q] - Wc[j, q]
            sc += ec * ec
        dist[j] = np.sqrt(s0)
        delta = np.sqrt(sc)
        flip = False
        for p in range(cf):
            z = _row_dot(W, r, X, order[j, p])
            val[j, p] = z
            if not (z >= shift):
                flip = True
        rechecked += cf
        thr = delta * (1.0 + 1e-12) + tol_rel * (wcnorm[j] + delta) + tol_abs
        # binary search: band = count of tail entries with margin <= thr
        lo = cf
        hi = n
        while lo < hi:
            mid = (lo + hi) // 2
            if val[j, mid] <= thr:
                lo = mid + 1
            else:
                hi = mid
        band = lo - cf
        if not flip and band > 0 and band <= frac * (n - cf):
            for p in range(cf, cf + band):
                z = _row_dot(W, r, X, order[j, p])
                if z >= shift:
                    flip = True
                    rechecked += p - cf + 1
                    break
            if not flip:
                rechecked += band
        if flip or band > frac * (n - cf):
            changes += _full_recheck(j, r, W, X, xnorm, shift, order, val, nf, Wc, wcnorm, zbuf, mark)
            rechecked += n
            full += 1
    stats[0] = changes
    stats[1] = rechecked
    stats[2] = moved
    stats[3] = full


@njit(**NJIT_OPTS)
def _outputs_kernel(a, gidx, order, val, nf, shift, inv_sqrt_m, u):  # pragma: no cover - jitted
    """``u_i = m^{-1/2} Σ_{r ∈ S_i} a_r (z_ir − b)`` over the fired pairs.

    Parameters
    ----------
    a : ndarray of shape (m,)
        Output signs.
    gidx : ndarray of shape (k,), int64
        Global index of each store row.
    order, val : ndarray of shape (k, n)
        The store.
    nf : ndarray of shape (k,), int64
        ``|S_r|``.
    shift : float
        The threshold ``b``.
    inv_sqrt_m : float
        ``m^{-1/2}``.
    u : ndarray of shape (n,)
        Output, overwritten.
    """
    for i in range(u.shape[0]):
        u[i] = 0.0
    for j in range(gidx.shape[0]):
        ar = a[gidx[j]]
        for p in range(nf[j]):
            u[order[j, p]] += ar * (val[j, p] - shift)
    for i in range(u.shape[0]):
        u[i] *= inv_sqrt_m


@njit(**NJIT_OPTS)
def _cofire_kernel(order, nf, C):  # pragma: no cover - jitted
    """Co-firing counts ``C_ij = |S_i ∩ S_j| = Σ_r 1_{ir} 1_{jr}`` in O(Σ_r |S_r|²).

    Parameters
    ----------
    order : ndarray of shape (k, n), int32
        The store (fired points first).
    nf : ndarray of shape (k,), int64
        ``|S_r|``.
    C : ndarray of shape (n, n)
        Output, overwritten (exact integers in float64, symmetric).
    """
    n = C.shape[0]
    for i in range(n):
        for j in range(n):
            C[i, j] = 0.0
    for j in range(order.shape[0]):
        cf = nf[j]
        for p in range(cf):
            ip = order[j, p]
            C[ip, ip] += 1.0
            for q in range(p + 1, cf):
                iq = order[j, q]
                C[ip, iq] += 1.0
                C[iq, ip] += 1.0


@njit(**NJIT_OPTS)
def _fired_counts_kernel(order, nf, counts):  # pragma: no cover - jitted
    """``counts_i = |S_i|`` from the fired pairs.

    Parameters
    ----------
    order : ndarray of shape (k, n), int32
        The store.
    nf : ndarray of shape (k,), int64
        ``|S_r|``.
    counts : ndarray of shape (n,), int64
        Output, overwritten.
    """
    for i in range(counts.shape[0]):
        counts[i] = 0
    for j in range(order.shape[0]):
        for p in range(nf[j]):
            counts[order[j, p]] += 1
