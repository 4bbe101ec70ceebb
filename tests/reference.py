"""Naive reference implementations, written straight from the definitions with plain loops.

Everything here is deliberately slow and independent of the package's kernels (stumpy's
``tests/naive.py``).  Definitions: ``docs/theory.md`` §4.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import multivariate_normal, norm


def ntk_finite(X, W, mask=None, shift=0.0):
    """H_ij = (1/m) <x_i, x_j> sum_r mask_r 1{<w_r,x_i> >= b} 1{<w_r,x_j> >= b}."""
    X = np.asarray(X, dtype=float)
    W = np.asarray(W, dtype=float)
    n, m = X.shape[0], W.shape[0]
    mask = np.ones(m) if mask is None else np.asarray(mask, dtype=float)
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            s = 0.0
            for r in range(m):
                if np.dot(W[r], X[i]) >= shift and np.dot(W[r], X[j]) >= shift:
                    s += mask[r]
            H[i, j] = np.dot(X[i], X[j]) * s / m
    return H


def ntk_output_finite(X, W, mask=None, shift=0.0):
    """K_ij = (1/m) sum_r mask_r max(<w_r,x_i> - b, 0) max(<w_r,x_j> - b, 0)."""
    X = np.asarray(X, dtype=float)
    W = np.asarray(W, dtype=float)
    n, m = X.shape[0], W.shape[0]
    mask = np.ones(m) if mask is None else np.asarray(mask, dtype=float)
    K = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            s = 0.0
            for r in range(m):
                s += mask[r] * max(np.dot(W[r], X[i]) - shift, 0.0) * max(np.dot(W[r], X[j]) - shift, 0.0)
            K[i, j] = s / m
    return K


def angle(x, y, same=False):
    """Textbook angle arccos(<x,y>/(|x||y|)), clipped (inaccurate for nearly parallel pairs).

    The angle of a vector with itself is 0 by definition (arccos of the rounded cosine is not).
    """
    if same:
        return 0.0
    c = np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y))
    return math.acos(min(1.0, max(-1.0, c)))


def ntk_infinite(X):
    """H_inf_ij = <x_i,x_j> (pi - phi_ij) / (2 pi)."""
    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            H[i, j] = np.dot(X[i], X[j]) * (math.pi - angle(X[i], X[j], i == j)) / (2 * math.pi)
    return H


def ntk_infinite_shifted(X, shift):
    """<x_i,x_j> P(<w,x_i> >= b, <w,x_j> >= b), the orthant probability from scipy's bivariate CDF."""
    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ni, nj = np.linalg.norm(X[i]), np.linalg.norm(X[j])
            h, k = shift / ni, shift / nj
            rho = np.dot(X[i], X[j]) / (ni * nj)
            if abs(rho) > 1 - 1e-12:  # degenerate: Z2 = +-Z1
                p = norm.sf(max(h, k)) if rho > 0 else max(0.0, norm.sf(h) - norm.cdf(-k))
            else:
                # P(Z1 >= h, Z2 >= k) = P(-Z1 <= -h, -Z2 <= -k), (-Z1, -Z2) has the same law.
                p = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([-h, -k])
            H[i, j] = np.dot(X[i], X[j]) * p
    return H


def ntk_output_infinite(X):
    """|x_i||x_j| (sin phi + (pi - phi) cos phi) / (2 pi)."""
    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    K = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            phi = angle(X[i], X[j], i == j)
            K[i, j] = (np.linalg.norm(X[i]) * np.linalg.norm(X[j])
                       * (math.sin(phi) + (math.pi - phi) * math.cos(phi)) / (2 * math.pi))
    return K


def firing_fraction(X, W, shift=0.0):
    """(1/m) sum_r 1{<w_r, x_i> >= b}."""
    X = np.asarray(X, dtype=float)
    W = np.asarray(W, dtype=float)
    out = np.zeros(X.shape[0])
    for i in range(X.shape[0]):
        out[i] = sum(1.0 for r in range(W.shape[0]) if np.dot(W[r], X[i]) >= shift) / W.shape[0]
    return out


# ----------------------------------------------------------------------------- docs/theory.md §8


def relu_energy(X, W):
    """P(W) = (1/m) sum_r sum_i max(<w_r, x_i>, 0)^2."""
    X = np.asarray(X, dtype=float)
    W = np.asarray(W, dtype=float)
    s = 0.0
    for r in range(W.shape[0]):
        for i in range(X.shape[0]):
            s += max(np.dot(W[r], X[i]), 0.0) ** 2
    return s / W.shape[0]


def implicit_objective(X, y, W, a, xi):
    """G(W) = ||y - xi f(W, X)||^2 + xi (1 - xi) P(W) and its gradient, term by term.

    dG/dw_r = sum_i [2 xi (xi f_i - y_i) a_r / sqrt(m) + 2 xi (1 - xi) relu(<w_r, x_i>) / m]
              * 1{<w_r, x_i> >= 0} x_i
    """
    X = np.asarray(X, dtype=float)
    W = np.asarray(W, dtype=float)
    n, m = X.shape[0], W.shape[0]
    f = np.zeros(n)
    for i in range(n):
        for r in range(m):
            f[i] += a[r] * max(np.dot(W[r], X[i]), 0.0)
        f[i] /= math.sqrt(m)
    G = 0.0
    for i in range(n):
        G += (y[i] - xi * f[i]) ** 2
    G += xi * (1.0 - xi) * relu_energy(X, W)
    grad = np.zeros_like(W)
    for r in range(m):
        for i in range(n):
            z = np.dot(W[r], X[i])
            if z >= 0.0:
                grad[r] += 2.0 * xi * (xi * f[i] - y[i]) * a[r] / math.sqrt(m) * X[i]
                grad[r] += 2.0 * xi * (1.0 - xi) * z / m * X[i]
    return G, grad


def plateau_prediction(X, y, W0, a, *, eta, tau, p, xi, K, categorical=False):
    """(bias, noise) of docs/theory.md §8.3 with loops: K steps of GD on G, then the noise sum.

    theta = 1 - (1 - xi)^p (Bernoulli) or 1 (categorical); step eta tau theta / (2 xi);
    noise = sum_i theta A_i xi (1 - xi) q_i / (p (2 - theta A_i)), A_i = 1 - (1 - eta xi h_i)^tau,
    q_i = v_i^T Q v_i, Q = (1/m) sum_r relu(X w_r) relu(X w_r)^T, (h_i, v_i) eigenpairs of H(W_K);
    categorical masks: noise 0 (docs/plateau.md).
    """
    X = np.asarray(X, dtype=float)
    W = np.array(W0, dtype=float)
    n, m = X.shape[0], W.shape[0]
    theta = 1.0 if categorical else 1.0 - (1.0 - xi) ** p
    step = eta * tau * theta / (2.0 * xi)
    for _ in range(K):
        W = W - step * implicit_objective(X, y, W, a, xi)[1]
    f = np.array([sum(a[r] * max(np.dot(W[r], X[i]), 0.0) for r in range(m)) / math.sqrt(m) for i in range(n)])
    bias = float(np.sum((y - xi * f) ** 2))
    if categorical:
        return bias, 0.0
    h, V = np.linalg.eigh(ntk_finite(X, W))
    Q = np.zeros((n, n))
    for r in range(m):
        s = np.array([max(np.dot(W[r], X[i]), 0.0) for i in range(n)])
        Q += np.outer(s, s) / m
    noise = 0.0
    for i in range(n):
        A = 1.0 - (1.0 - eta * xi * max(h[i], 0.0)) ** tau
        q = V[:, i] @ Q @ V[:, i]
        noise += theta * A * xi * (1.0 - xi) * q / (p * (2.0 - theta * A))
    return bias, noise
