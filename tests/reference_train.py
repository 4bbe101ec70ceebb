"""Naive reference implementation of LK22 Algorithm 1, written straight from the pseudocode.

Plain Python loops over neurons and inputs (docs/theory.md §3); no vectorisation, no shortcuts, no
incremental bookkeeping.  Used only by the tests, on small problems, to check the fast
:func:`ntkcheck.train` on replayed masks.
"""

from __future__ import annotations

import math

import numpy as np


def relu(z: float, shift: float = 0.0) -> float:
    """``σ_b(z) = max(z − b, 0)`` (b = 0: the ReLU)."""
    return z - shift if z - shift > 0.0 else 0.0


def f_masked(W, a, mask, x, shift=0.0) -> float:
    """``f_m(W, x) = (1/√m) Σ_r m_r a_r σ_b(<w_r, x>)`` (no 1/ξ rescaling)."""
    m = len(a)
    s = 0.0
    for r in range(m):
        if mask[r]:
            s += a[r] * relu(float(np.dot(W[r], x)), shift)
    return s / math.sqrt(m)


def outputs(W, a, mask, X, shift=0.0) -> np.ndarray:
    return np.array([f_masked(W, a, mask, X[i], shift) for i in range(len(X))])


def grad_masked(W, a, mask, X, y, shift=0.0) -> np.ndarray:
    """``∂L_m/∂w_r = (1/√m) Σ_i (f_m(W, x_i) − y_i) m_r a_r x_i 1{<w_r, x_i> ≥ b}``."""
    m, d = W.shape
    n = len(X)
    u = outputs(W, a, mask, X, shift)
    G = np.zeros((m, d))
    for r in range(m):
        if not mask[r]:
            continue
        for i in range(n):
            if np.dot(W[r], X[i]) >= shift:
                G[r] += (u[i] - y[i]) * a[r] * X[i]
        G[r] /= math.sqrt(m)
    return G


def jacobian(W, a, X, shift=0.0) -> np.ndarray:
    """``J ∈ R^{n × md}``: row i, block r is ``m^{-1/2} a_r 1{<w_r, x_i> ≥ b} x_i`` (docs/theory.md §9)."""
    m, d = W.shape
    n = len(X)
    J = np.zeros((n, m * d))
    for i in range(n):
        for r in range(m):
            if np.dot(W[r], X[i]) >= shift:
                for q in range(d):
                    J[i, r * d + q] = a[r] * X[i, q] / math.sqrt(m)
    return J


def gauss_newton(X, y, W0, a, eta, steps, shift=0.0, damping=0.0):
    """``W ← W − η Jᵀ (J Jᵀ + μI)^{-1} (f − y)`` with J formed explicitly; returns (W, losses)."""
    W = np.array(W0, dtype=float)
    m, d = W.shape
    ones = np.ones(m, dtype=bool)
    losses = [float(np.sum((y - outputs(W, a, ones, X, shift)) ** 2))]
    for _ in range(steps):
        J = jacobian(W, a, X, shift)
        r = outputs(W, a, ones, X, shift) - y
        c = np.linalg.solve(J @ J.T + damping * np.eye(len(X)), r)
        W = W - eta * (J.T @ c).reshape(m, d)
        losses.append(float(np.sum((y - outputs(W, a, ones, X, shift)) ** 2)))
    return W, np.array(losses)


def algorithm1(X, y, W0, a, masks, eta, tau, xi, shift=0.0):
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
    loss = [float(np.sum((y - xi * outputs(W, a, ones, X, shift)) ** 2))]
    sampled, local, local_W = [], [], []
    for k in range(K):
        Wl = []
        samp = []
        loc = np.zeros((tau, p))
        for l in range(p):
            mask = masks[k, l]
            samp.append(float(np.sum((y - outputs(W, a, mask, X, shift)) ** 2)))
            V = W.copy()  # W_{k,0}^l = W_k
            path = [V]
            for t in range(tau):
                V = V - eta * grad_masked(V, a, mask, X, y, shift)
                loc[t, l] = float(np.sum((y - outputs(V, a, mask, X, shift)) ** 2))
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
        loss.append(float(np.sum((y - xi * outputs(W, a, ones, X, shift)) ** 2)))
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
