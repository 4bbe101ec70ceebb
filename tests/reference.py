"""Naive reference implementations, written straight from the definitions with plain loops.

Everything here is deliberately slow and independent of the package's kernels (stumpy's
``tests/naive.py``).  Definitions: ``../shared/theory.md`` §4.
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
