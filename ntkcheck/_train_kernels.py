"""Numba kernels of :mod:`ntkcheck.train` (LK22 Algorithm 1); nothing public.

The training loop works *neuron-major* on chunks of the active neurons of one subnetwork:
the wrapper computes the pre-activations ``Z = W_c X^T`` (shape (c, n)) and the gradient
product ``G = D X`` (shape (c, d)) with BLAS, and these kernels do the elementwise parts in
one pass each, while the chunk is still in cache:

- :func:`_forward_kernel`: (shifted) ReLU, the activation pattern ``1{<w_r, x_i> >= b}`` and the
  per-chunk partial output sums ``Σ_r a_r σ_b(z_ri)`` (and a second, coefficient-weighted sum).
- :func:`_backward_kernel`: ``D_ri = a_r (u_i − y_i) 1{<w_r, x_i> >= 0}``, so that
  ``∂L_m/∂w_r = (1/√m) (D X)_r`` for the neurons of the subnetwork (docs/theory.md §3).

Rules (style guide §3): C-contiguous float64/uint8 arrays and scalars in, no validation, no
randomness, nothing raised, outputs preallocated by the caller; options from ``NJIT_OPTS``
(``nogil=True``, so a thread pool runs kernels of different chunks concurrently).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import NJIT_OPTS


@njit(**NJIT_OPTS)
def _forward_kernel(Z, a, coef, use_coef, u, u_coef, act, shift):  # pragma: no cover - jitted
    """(Shifted) ReLU pass over pre-activations of one chunk of neurons.

    Parameters
    ----------
    Z : ndarray of shape (c, n)
        Pre-activations ``z_ri = <w_r, x_i>``.
    a : ndarray of shape (c,)
        Output signs ``a_r`` of the chunk's neurons.
    coef : ndarray of shape (c,)
        Per-neuron weights of the second sum (read only when ``use_coef``).
    use_coef : bool
        Whether to fill ``u_coef``.
    u : ndarray of shape (n,)
        Output, overwritten: ``u_i = Σ_r a_r σ_b(z_ri)``, ``σ_b(z) = max(z − b, 0)``.
    u_coef : ndarray of shape (n,)
        Output, overwritten when ``use_coef``: ``Σ_r coef_r a_r σ_b(z_ri)``.
    act : ndarray of shape (c, n), uint8
        Output: ``act_ri = 1{z_ri >= b}`` (note ``>=``, docs/theory.md §3, §9).
    shift : float
        ``b`` (0 for the ReLU; ``z − 0.0`` is exact, so results are bit-identical to no shift).
    """
    c, n = Z.shape
    for i in range(n):
        u[i] = 0.0
    if use_coef:
        for i in range(n):
            u_coef[i] = 0.0
    for r in range(c):
        ar = a[r]
        cr = coef[r] * ar if use_coef else 0.0
        for i in range(n):
            z = Z[r, i] - shift
            pos = z >= 0.0
            s = z if pos else 0.0
            act[r, i] = 1 if pos else 0
            u[i] += ar * s
        if use_coef and cr != 0.0:
            for i in range(n):
                z = Z[r, i] - shift
                if z >= 0.0:
                    u_coef[i] += cr * z


@njit(**NJIT_OPTS)
def _backward_kernel(act, a, res, D):  # pragma: no cover - jitted
    """``D_ri = a_r res_i act_ri`` for one chunk (the gradient is ``(1/√m) D X``).

    Parameters
    ----------
    act : ndarray of shape (c, n), uint8
        Activation pattern of the chunk at the current local weights.
    a : ndarray of shape (c,)
        Output signs.
    res : ndarray of shape (n,)
        Residual ``u_m(W) − y`` of the subnetwork.
    D : ndarray of shape (c, n)
        Output, overwritten.
    """
    c, n = act.shape
    for r in range(c):
        ar = a[r]
        for i in range(n):
            D[r, i] = ar * res[i] if act[r, i] else 0.0


@njit(**NJIT_OPTS)
def _max_row_dist_kernel(Wc, W, gidx):  # pragma: no cover - jitted
    """``max_j ‖Wc_j − W_{gidx_j}‖``; ``inf`` if any entry of ``Wc`` is not finite.

    Parameters
    ----------
    Wc : ndarray of shape (c, d)
        Local weights of a chunk.
    W : ndarray of shape (m, d)
        Weights at the start of the global step.
    gidx : ndarray of shape (c,), int64
        Global neuron index of each row of ``Wc``.
    """
    c, d = Wc.shape
    best = 0.0
    for j in range(c):
        g = gidx[j]
        s = 0.0
        for q in range(d):
            v = Wc[j, q]
            if not np.isfinite(v):
                return np.inf
            e = v - W[g, q]
            s += e * e
        if s > best:
            best = s
    return np.sqrt(best)


@njit(**NJIT_OPTS)
def _pattern_diff_kernel(act, A0T, gidx, sel, diff):  # pragma: no cover - jitted
    """Count, per selected neuron, the inputs whose activation differs from initialisation.

    Parameters
    ----------
    act : ndarray of shape (c, n), uint8
        Current activation pattern of the chunk.
    A0T : ndarray of shape (m, n), uint8
        Activation pattern at initialisation, neuron-major.
    gidx : ndarray of shape (c,), int64
        Global neuron index of each row of ``act``.
    sel : ndarray of shape (c,)
        Nonzero for the rows to count.
    diff : ndarray of shape (m,), int64
        Output: ``diff[gidx_j] = Σ_i 1{act_ji != A0T[gidx_j, i]}`` for selected rows.
    """
    c, n = act.shape
    for j in range(c):
        if sel[j] != 0.0:
            g = gidx[j]
            cnt = 0
            for i in range(n):
                cnt += act[j, i] != A0T[g, i]
            diff[g] = cnt


@njit(**NJIT_OPTS)
def _row_dist_kernel(Wr, W0, gidx, out):  # pragma: no cover - jitted
    """``out_j = ‖Wr_j − W0_{gidx_j}‖`` (movement of the updated neurons from initialisation).

    Parameters
    ----------
    Wr : ndarray of shape (u, d)
        New weights of the updated neurons.
    W0 : ndarray of shape (m, d)
        Initial weights.
    gidx : ndarray of shape (u,), int64
        Global index of each row of ``Wr``.
    out : ndarray of shape (u,)
        Output.
    """
    u, d = Wr.shape
    for j in range(u):
        g = gidx[j]
        s = 0.0
        for q in range(d):
            e = Wr[j, q] - W0[g, q]
            s += e * e
        out[j] = np.sqrt(s)
