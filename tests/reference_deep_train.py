"""Naive references for :mod:`ntkcheck.deep_train`, straight from docs/theory.md §10 and LK22 eq. 9.

Deliberately slow and independent of the package:

* :func:`forward` evaluates the (masked, or ξ-scaled) network one input and one unit at a time;
* :func:`surrogate_gradient` is the gradient of ``½ Σ_i (f_m(x_i) − y_i)²`` by *forward-mode*
  differentiation, one parameter at a time (the tangent of ``g^(h)`` pushed up through the masked
  layers with the chain rule), so the backward δ recursion of the package is not reused;
* :func:`masked_global_step` runs one global step of the L-layer Algorithm 1: p subnetworks, τ
  local steps each, then the aggregation rule entry by entry (mean over the subnetworks in which
  the entry is active, unchanged if in none);
* :func:`tracked_loss` is ``‖y − u‖²`` of the network whose hidden activations are scaled by ξ.

``unit_masks`` is a list of L 0/1 vectors (one per hidden layer) or None; ``trained`` a set of
0-based layer indices.
"""

from __future__ import annotations

import math

import numpy as np


def _relu(z):
    return z if z > 0.0 else 0.0


def _relu_prime(z):
    return 1.0 if z >= 0.0 else 0.0  # σ'(0) = 1, docs/theory.md §4


def forward(x, weights, biases, sw, sb, unit_scale=None):
    """Pre-activations ``g^(1..L+1)`` and activations ``x^(0..L)`` of one input (``x^(h)`` scaled)."""
    L = len(weights) - 1
    acts, pres = [np.asarray(x, dtype=float)], []
    for h in range(L + 1):
        W, b, prev = weights[h], biases[h], acts[-1]
        g = np.empty(W.shape[0])
        for a in range(W.shape[0]):
            s = 0.0
            for k in range(prev.shape[0]):
                s += W[a, k] * prev[k]
            g[a] = sw / math.sqrt(prev.shape[0]) * s + sb * b[a]
        pres.append(g)
        if h < L:
            scale = unit_scale[h] if unit_scale is not None else np.ones(W.shape[0])
            acts.append(np.array([_relu(g[a]) * scale[a] for a in range(W.shape[0])]))
    return pres, acts


def _push(h, dg, pres, weights, sw, unit_scale):
    """Tangent ``dg`` of ``g^(h)`` (0-based h) pushed up to the output ``f``."""
    for k in range(h + 1, len(weights)):
        scale = unit_scale[k - 1] if unit_scale is not None else np.ones(len(dg))
        dx = np.array([_relu_prime(z) * scale[j] * t for j, (z, t) in enumerate(zip(pres[k - 1], dg))])
        W = weights[k]
        dg = np.array([sw / math.sqrt(W.shape[1]) * sum(W[a, b] * dx[b] for b in range(W.shape[1]))
                       for a in range(W.shape[0])])
    return dg[0]


def surrogate_gradient(X, y, weights, biases, sw, sb, unit_masks=None):
    """Gradients of ``½ Σ_i (f_m(x_i) − y_i)²`` w.r.t. every ``W^(h)`` and ``β^(h)`` (forward mode)."""
    gW = [np.zeros_like(np.asarray(W, dtype=float)) for W in weights]
    gb = [np.zeros_like(np.asarray(b, dtype=float)) for b in biases]
    for x, target in zip(X, y):
        pres, acts = forward(x, weights, biases, sw, sb, unit_masks)
        r = pres[-1][0] - target
        for h, W in enumerate(weights):
            d_out, d_in = W.shape
            for a in range(d_out):
                for b in range(d_in):
                    dg = np.zeros(d_out)
                    dg[a] = sw / math.sqrt(d_in) * acts[h][b]
                    gW[h][a, b] += r * _push(h, dg, pres, weights, sw, unit_masks)
                dg = np.zeros(d_out)
                dg[a] = sb
                gb[h][a] += r * _push(h, dg, pres, weights, sw, unit_masks)
    return gW, gb


def tracked_loss(X, y, weights, biases, sw, sb, xi):
    """``‖y − u‖²`` with every hidden activation multiplied by ξ."""
    L = len(weights) - 1
    scale = [np.full(weights[h].shape[0], xi) for h in range(L)]
    return float(sum((forward(x, weights, biases, sw, sb, scale)[0][-1][0] - t) ** 2 for x, t in zip(X, y)))


def masked_global_step(X, y, weights, biases, sw, sb, masks_k, eta, tau, trained):
    """One global step; ``masks_k[h-1][l, j]`` = unit j of hidden layer h in subnetwork l.

    Returns the aggregated (weights, biases) as new lists.
    """
    L = len(weights) - 1
    p = masks_k[0].shape[0]
    copies = []
    for l in range(p):
        um = [masks_k[h][l] for h in range(L)]
        Wl = [np.array(W, dtype=float) for W in weights]
        bl = [np.array(b, dtype=float) for b in biases]
        for _ in range(tau):
            gW, gb = surrogate_gradient(X, y, Wl, bl, sw, sb, um)
            for h in trained:
                Wl[h] = Wl[h] - eta * gW[h]
                bl[h] = bl[h] - eta * gb[h]
        copies.append((Wl, bl))

    def unit_on(layer, l, j):  # layer 0 = input, L+1 = output: always active
        if layer == 0 or layer == L + 1:
            return True
        return bool(masks_k[layer - 1][l, j])

    new_W = [np.array(W, dtype=float) for W in weights]
    new_b = [np.array(b, dtype=float) for b in biases]
    for h in trained:  # weight index h connects units of layer h (columns) to layer h+1 (rows)
        d_out, d_in = weights[h].shape
        for j in range(d_out):
            for k in range(d_in):
                vals = [copies[l][0][h][j, k] for l in range(p) if unit_on(h + 1, l, j) and unit_on(h, l, k)]
                if vals:
                    new_W[h][j, k] = sum(vals) / len(vals)
            vals = [copies[l][1][h][j] for l in range(p) if unit_on(h + 1, l, j)]
            if vals:
                new_b[h][j] = sum(vals) / len(vals)
    return new_W, new_b
