"""Naive loop references of the shifted-ReLU fired-pair quantities (docs/theory.md §9, DHSWZ22).

Written straight from the definitions, independent of :mod:`ntkcheck.fired`: ``1_{ir} = 1{<w_r, x_i> >= b}``,
``f_b(W, x_i) = m^{-1/2} Σ_r a_r max(<w_r, x_i> − b, 0)``, ``J[i, (r, q)] = m^{-1/2} a_r 1_{ir} x_iq`` and
the step ``w_r <- w_r − m^{-1/2} a_r Σ_i c_i 1_{ir} x_i``.
"""

from __future__ import annotations

import math

import numpy as np


def fired_pattern(X, W, shift):
    """``P[i, r] = 1{<w_r, x_i> >= b}``, shape (n, m), bool."""
    n, m = X.shape[0], W.shape[0]
    P = np.zeros((n, m), dtype=bool)
    for i in range(n):
        for r in range(m):
            P[i, r] = float(np.dot(W[r], X[i])) >= shift
    return P


def outputs(X, a, W, shift):
    """``f_b(W, x_i)`` for every point."""
    n, m = X.shape[0], W.shape[0]
    u = np.zeros(n)
    for i in range(n):
        s = 0.0
        for r in range(m):
            s += a[r] * max(float(np.dot(W[r], X[i])) - shift, 0.0)
        u[i] = s / math.sqrt(m)
    return u


def jacobian(X, a, W, shift):
    """``J``, shape (n, m d): row i, block r is ``m^{-1/2} a_r 1_{ir} x_i``."""
    n, d = X.shape
    m = W.shape[0]
    J = np.zeros((n, m * d))
    for i in range(n):
        for r in range(m):
            if float(np.dot(W[r], X[i])) >= shift:
                for q in range(d):
                    J[i, r * d + q] = a[r] * X[i, q] / math.sqrt(m)
    return J


def step(X, a, W, shift, c):
    """``W − Jᵀ c`` with J at W, neuron by neuron."""
    n, d = X.shape
    m = W.shape[0]
    W_new = np.array(W, dtype=float, copy=True)
    for r in range(m):
        g = np.zeros(d)
        for i in range(n):
            if float(np.dot(W[r], X[i])) >= shift:
                g += c[i] * X[i]
        W_new[r] -= a[r] * g / math.sqrt(m)
    return W_new
