"""Naive references for the deep fully-connected ReLU network, straight from docs/theory.md §10.

Deliberately slow and independent of :mod:`ntkcheck.deep`:

* :func:`forward` evaluates the network one input and one unit at a time;
* :func:`jacobian` forms the full Jacobian ``J`` (n x P) by *forward-mode* differentiation, one
  parameter at a time: the tangent of ``g^(h)`` with respect to a weight or bias of layer h is
  pushed up through the layers with the chain rule.  The §10 backward recursion for ``δ^(h)`` is
  not used, so the comparison with the Gram-matrix formula checks that formula, not a copy of it;
* :func:`ntk_finite` is then ``J J^T`` summed entry by entry; ``per_layer`` splits the sum by
  the layer a parameter belongs to;
* :func:`ntk_infinite` runs the §10 recursion pair by pair with the textbook ``arccos`` angle;
* :func:`ntk_infinite_mp` runs the same recursion in 60-digit arithmetic (mpmath), the ground
  truth for nearly parallel inputs.

Parameters are ordered layer by layer, ``W^(h)`` row-major then ``β^(h)``.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np


def _relu(z):
    return z if z > 0.0 else 0.0


def _relu_prime(z):
    # σ'(0) = 1, the convention 1{z >= 0} of docs/theory.md §4
    return 1.0 if z >= 0.0 else 0.0


def forward(x, weights, biases, sigma_w, sigma_b):
    """Pre-activations ``g^(1..L+1)`` and activations ``x^(0..L)`` of one input, unit by unit."""
    acts = [np.asarray(x, dtype=float)]
    pres = []
    for h, (W, b) in enumerate(zip(weights, biases)):
        prev = acts[-1]
        d_prev = prev.shape[0]
        g = np.empty(W.shape[0])
        for a in range(W.shape[0]):
            s = 0.0
            for k in range(d_prev):
                s += W[a, k] * prev[k]
            g[a] = sigma_w / math.sqrt(d_prev) * s + sigma_b * b[a]
        pres.append(g)
        if h < len(weights) - 1:
            acts.append(np.array([_relu(v) for v in g]))
    return pres, acts


def output(X, weights, biases, sigma_w, sigma_b):
    """``f(x_i)`` for every row of ``X``."""
    return np.array([forward(x, weights, biases, sigma_w, sigma_b)[0][-1][0] for x in X])


def _push_tangent(h, dg, pres, weights, sigma_w):
    """Push the tangent ``dg`` of ``g^(h)`` (0-based layer ``h``) up to the output ``f``."""
    for k in range(h + 1, len(weights)):
        dx = np.array([_relu_prime(z) * t for z, t in zip(pres[k - 1], dg)])
        W = weights[k]
        dg = np.array([sigma_w / math.sqrt(W.shape[1]) * sum(W[a, b] * dx[b] for b in range(W.shape[1]))
                       for a in range(W.shape[0])])
    return dg[0]


def jacobian(X, weights, biases, sigma_w, sigma_b):
    """Full Jacobian ``J`` of shape (n, P) and the layer index (0-based) of every column."""
    rows, layer_of = [], None
    for x in X:
        pres, acts = forward(x, weights, biases, sigma_w, sigma_b)
        row, layers = [], []
        for h, W in enumerate(weights):
            d_out, d_in = W.shape
            for a in range(d_out):  # ∂g^(h)_a / ∂W^(h)_{ab} = (σ_w/√d_{h-1}) x^(h-1)_b, other units 0
                for b in range(d_in):
                    dg = np.zeros(d_out)
                    dg[a] = sigma_w / math.sqrt(d_in) * acts[h][b]
                    row.append(_push_tangent(h, dg, pres, weights, sigma_w))
                    layers.append(h)
            for a in range(d_out):  # ∂g^(h)_a / ∂β^(h)_a = σ_b
                dg = np.zeros(d_out)
                dg[a] = sigma_b
                row.append(_push_tangent(h, dg, pres, weights, sigma_w))
                layers.append(h)
        rows.append(row)
        layer_of = np.array(layers)
    return np.array(rows), layer_of


def ntk_finite(X, weights, biases, sigma_w, sigma_b, per_layer=False):
    """``Θ̂_ij = Σ_p J_ip J_jp`` from the explicit Jacobian; optionally split by layer."""
    J, layer_of = jacobian(X, weights, biases, sigma_w, sigma_b)
    n = J.shape[0]
    terms = np.zeros((len(weights), n, n))
    for i in range(n):
        for j in range(n):
            for p in range(J.shape[1]):
                terms[layer_of[p], i, j] += J[i, p] * J[j, p]
    total = terms.sum(axis=0)
    return (total, tuple(terms)) if per_layer else total


def _pair_recursion(sxx, syy, sxy, tht, depth, sigma_w, sigma_b, acos, sqrt, sin, cos, pi, same=False):
    """Run the §10 recursion for one pair; return Θ^(L+1)(x, y) and the per-layer contributions.

    ``same`` marks a point paired with itself: its angle is 0 by definition.
    """
    terms = [sxy]  # Θ^(1) = Σ^(1); contribution of layer 1 so far
    for _ in range(depth):
        if same:
            phi = 0 * pi
        elif sxx == 0 or syy == 0:
            phi = pi / 2  # zero input (σ_b = 0): K = 0 and Θ = 0, any angle gives the same result
        else:
            c = sxy / sqrt(sxx * syy)
            phi = acos(min(1, max(-1, c)))
        K = sqrt(sxx * syy) * (sin(phi) + (pi - phi) * cos(phi)) / (2 * pi)
        Kdot = (pi - phi) / (2 * pi)
        new_xy = sigma_w**2 * K + sigma_b**2
        sxx = sigma_w**2 * sxx / 2 + sigma_b**2
        syy = sigma_w**2 * syy / 2 + sigma_b**2
        tht = new_xy + sigma_w**2 * Kdot * tht
        terms = [t * sigma_w**2 * Kdot for t in terms] + [new_xy]
        sxy = new_xy
    return tht, terms


def ntk_infinite(X, depth, sigma_w=1.0, sigma_b=0.0, per_layer=False):
    """Θ^(L+1) pair by pair with ``arccos`` of the rounded cosine (diagonal: angle 0 by definition)."""
    X = np.asarray(X, dtype=float)
    n, d = X.shape
    total = np.zeros((n, n))
    terms = np.zeros((depth + 1, n, n))
    for i in range(n):
        for j in range(n):
            sxx = sigma_w**2 * np.dot(X[i], X[i]) / d + sigma_b**2
            syy = sigma_w**2 * np.dot(X[j], X[j]) / d + sigma_b**2
            sxy = sxx if i == j else sigma_w**2 * np.dot(X[i], X[j]) / d + sigma_b**2
            t, ts = _pair_recursion(sxx, syy, sxy, sxy, depth, sigma_w, sigma_b,
                                    math.acos, math.sqrt, math.sin, math.cos, math.pi, same=i == j)
            total[i, j] = t
            terms[:, i, j] = ts
    return (total, tuple(terms)) if per_layer else total


def ntk_infinite_mp(X, depth, sigma_w=1.0, sigma_b=0.0, dps=60):
    """Θ^(L+1) in ``dps``-digit arithmetic (inputs taken as exact binary numbers)."""
    X = np.asarray(X, dtype=float)
    n, d = X.shape
    out = np.zeros((n, n))
    with mpmath.workdps(dps):
        Xm = [[mpmath.mpf(float(v)) for v in row] for row in X]
        sw, sb = mpmath.mpf(sigma_w), mpmath.mpf(sigma_b)

        def dot(a, b):
            return mpmath.fsum(p * q for p, q in zip(a, b))

        for i in range(n):
            for j in range(n):
                sxx = sw**2 * dot(Xm[i], Xm[i]) / d + sb**2
                syy = sw**2 * dot(Xm[j], Xm[j]) / d + sb**2
                sxy = sw**2 * dot(Xm[i], Xm[j]) / d + sb**2
                t, _ = _pair_recursion(sxx, syy, sxy, sxy, depth, sw, sb,
                                       mpmath.acos, mpmath.sqrt, mpmath.sin, mpmath.cos, mpmath.pi,
                                       same=i == j)
                out[i, j] = float(t)
    return out
