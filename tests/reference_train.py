"""Naive reference implementation of LK22 Algorithm 1, written straight from the pseudocode.

Plain Python loops over neurons and inputs (docs/theory.md §3); no vectorisation, no shortcuts, no
incremental bookkeeping.  Used only by the tests, on small problems, to check the fast
:func:`ntkcheck.train` on replayed masks.
"""

from __future__ import annotations

import math

import numpy as np


def relu(z: float) -> float:
    return z if z > 0.0 else 0.0


def f_masked(W, a, mask, x) -> float:
    """``f_m(W, x) = (1/√m) Σ_r m_r a_r σ(<w_r, x>)`` (no 1/ξ rescaling)."""
    m = len(a)
    s = 0.0
    for r in range(m):
        if mask[r]:
            s += a[r] * relu(float(np.dot(W[r], x)))
    return s / math.sqrt(m)


def outputs(W, a, mask, X) -> np.ndarray:
    return np.array([f_masked(W, a, mask, X[i]) for i in range(len(X))])


def grad_masked(W, a, mask, X, y) -> np.ndarray:
    """``∂L_m/∂w_r = (1/√m) Σ_i (f_m(W, x_i) − y_i) m_r a_r x_i 1{<w_r, x_i> ≥ 0}``."""
    m, d = W.shape
    n = len(X)
    u = outputs(W, a, mask, X)
    G = np.zeros((m, d))
    for r in range(m):
        if not mask[r]:
            continue
        for i in range(n):
            if np.dot(W[r], X[i]) >= 0.0:
                G[r] += (u[i] - y[i]) * a[r] * X[i]
        G[r] /= math.sqrt(m)
    return G


def algorithm1(X, y, W0, a, masks, eta, tau, xi):
    """Run Algorithm 1 on given masks of shape (K, p, m).

    Returns
    -------
    W : ndarray (m, d)
        Final weights.
    history : dict
        ``loss`` (K+1,) = ‖y − ξ f(W_k, X)‖², ``sampled_loss`` (K,), ``local_loss`` (K, τ, p),
        ``local_W``: ``local_W[k][l][t]`` = ``W^l_{k,t}``, t = 0..τ.
    """
    K, p, m = masks.shape
    ones = np.ones(m, dtype=bool)
    W = np.array(W0, dtype=float)
    loss = [float(np.sum((y - xi * outputs(W, a, ones, X)) ** 2))]
    sampled, local, local_W = [], [], []
    for k in range(K):
        Wl = []
        samp = []
        loc = np.zeros((tau, p))
        for l in range(p):
            mask = masks[k, l]
            samp.append(float(np.sum((y - outputs(W, a, mask, X)) ** 2)))
            V = W.copy()  # W_{k,0}^l = W_k
            path = [V]
            for t in range(tau):
                V = V - eta * grad_masked(V, a, mask, X, y)
                loc[t, l] = float(np.sum((y - outputs(V, a, mask, X)) ** 2))
                path.append(V)
            Wl.append(path)
        W_new = W.copy()
        for r in range(m):
            N = sum(int(masks[k, l, r]) for l in range(p))
            if N > 0:  # LK22 eq. (9); N = 0 keeps w_{k,r}
                acc = np.zeros(W.shape[1])
                for l in range(p):
                    if masks[k, l, r]:
                        acc += Wl[l][tau][r]
                W_new[r] = acc / N
        W = W_new
        sampled.append(float(np.mean(samp)))
        local.append(loc)
        local_W.append(Wl)
        loss.append(float(np.sum((y - xi * outputs(W, a, ones, X)) ** 2)))
    return W, dict(loss=np.array(loss), sampled_loss=np.array(sampled),
                   local_loss=np.array(local).reshape(K, tau, p), local_W=local_W)


def plain_gd(X, y, W0, a, eta, steps):
    """Gradient descent on ½‖y − f(W, X)‖² with an independently written gradient."""
    W = np.array(W0, dtype=float)
    n, d = X.shape
    m = len(a)
    for _ in range(steps):
        Z = X @ W.T
        u = np.maximum(Z, 0.0) @ a / math.sqrt(m)
        G = np.zeros_like(W)
        for i in range(n):
            G += np.outer((u[i] - y[i]) * a * (Z[i] >= 0.0), X[i]) / math.sqrt(m)
        W = W - eta * G
    return W
