"""Monte-Carlo samples for the exact identities of LK22 Algorithm 1 (docs/theory.md §5).

For fixed weights ``W_k`` the masks are resampled ``samples`` times and the quantities whose
expectations docs/theory.md §5 states exactly are recorded; :func:`ntkcheck.verify.measure_identities`
puts them beside the expectations from ``bounds`` (``exact.lk22_identities``).  Vector
identities are reduced to scalars by fixed linear functionals, which keeps their expectations
exact: ``yᵀ H(W, m) y`` for identity 2 and ``<g, V>`` for identity 4 with the fixed direction
``V = G_1 + (1 − ξ)/m · G_2`` built from the two terms of the stated expectation.

Deterministic identities (5: categorical aggregation; 7: p = ξ = 1 is gradient descent) and a
cross-check of :func:`ntkcheck.train` against a plain NumPy global step (Algorithm 1, eq. 9)
are returned with their absolute error.
"""

from __future__ import annotations

import math

import numpy as np

from .masks import sample_masks, theta
from .network import Network
from .ntk import ntk_finite
from .plateau import implicit_objective
from .train import train

_BATCH = 256  # mask samples per vectorised batch


def identity_samples(X, y, W, a, *, kind, xi, p, tau, eta, samples=2000, rng=None) -> dict:
    """Samples and reference values of the identities applicable to ``kind`` (see module doc).

    Returns
    -------
    dict
        ``S`` (``Σ_r ‖σ(X w_r)‖²``) and ``items``: a list of dicts with ``key`` (the
        ``exact.lk22_identities`` expression it uses, or ``"exact"``), ``identity``,
        ``statement`` and the samples or values.
    """
    X, y, W, a = (np.asarray(v, dtype=np.float64) for v in (X, y, W, a))
    m = W.shape[0]
    sm = math.sqrt(m)
    P = X @ W.T
    A = (P >= 0).astype(np.float64)  # (n, m) activation pattern 1_{ir}
    R = np.maximum(P, 0.0)  # σ(<w_r, x_i>)
    contrib = R * a / sm  # (n, m): f_m(W, x_i) = contrib_i · m
    f = contrib.sum(axis=1)
    S = float(np.sum(R * R))
    u = xi * f
    M = sample_masks(m, p, kind=kind, xi=xi if kind == "bernoulli" else None, steps=samples, rng=rng)
    Mf = M.astype(np.float64)  # (samples, p, m)

    # identity 2 statistic: yᵀ H(W, m) y = Σ_r m_r c_r with c_r = ‖Xᵀ(y ∘ A_r)‖² / m
    B = X.T @ (A * y[:, None])  # (d, m)
    c = np.sum(B * B, axis=0) / m
    # identity 4 direction: V = G1 + (1 − ξ)/m G2 (rows v_r)
    G1 = (a / sm)[:, None] * ((A * (u - y)[:, None]).T @ X)
    G2 = R.T @ X
    V = G1 + (1.0 - xi) / m * G2
    Z = A * (X @ V.T)  # (n, m): 1_{ir} <x_i, v_r>

    f_s, H_s, L_s, g_s, cv_s = [], [], [], [], []
    for s0 in range(0, samples, _BATCH):
        Mb = Mf[s0 : s0 + _BATCH]  # (b, p, m)
        U = Mb @ contrib.T  # (b, p, n): u_{m^l}(W)
        f_s.append(U[:, 0])
        H_s.append(Mb[:, 0] @ c)
        L_s.append(np.sum((y - U[:, 0]) ** 2, axis=1))
        E = U - y  # residuals e^l
        T = E @ Z  # (b, p, m): Σ_i e^l_i Z_ir
        N = Mb.sum(axis=1)  # (b, m)
        coef = np.where(N > 0, 1.0 / np.maximum(N, 1.0), 0.0)
        g_s.append(np.sum(coef * np.sum(Mb * T, axis=1) * (a / sm), axis=1))
        if kind == "categorical":
            cv_s.append(np.mean(np.sum((U - u) ** 2, axis=2), axis=1))

    items = [
        dict(key="mean_scale", identity="1", statement="E[f_m(W, x_i)] = xi f(W, x_i)",
             samples=np.concatenate(f_s), base=f),
        dict(key="mean_scale", identity="2", statement="E[H(W, m)] = xi H(W) (tested as y^T H y)",
             samples=np.concatenate(H_s), base=float(c.sum())),
        dict(key="loss_increase", identity="3",
             statement="E||y - u_m||^2 = ||y - u_k||^2 + xi(1-xi)/m sum_r ||relu(X w_r)||^2",
             samples=np.concatenate(L_s), base=float(np.sum((y - u) ** 2))),
        dict(key="gradient", identity="4",
             statement="E[g_r] = theta/sqrt(m) sum_i (u_k - y)_i a_r x_i 1_ir + "
                       "theta(1-xi)/m sum_i relu(<w_r,x_i>) x_i (tested as <g, V>)",
             samples=np.concatenate(g_s), base=float(np.sum(G1 * V)), base_bias=float(np.sum(G2 * V))),
    ]
    # engine cross-check of identity 2's statistic through ntk_finite

    H0 = ntk_finite(X, W, mask=Mf[0, 0])
    items.append(_exact("2 (kernel)", "y^T ntk_finite(X, W, mask) y = sum_r mask_r c_r",
                        float(y @ H0 @ y), float(Mf[0, 0] @ c)))
    if kind == "categorical":
        items.append(dict(key="categorical_variance", identity="6",
                          statement="E (1/p) sum_l ||u_{m^l} - u_k||^2 = (p-1)/p^2 (1/m) sum_r ||relu(X w_r)||^2",
                          samples=np.concatenate(cv_s)))
        M0 = Mf[0]
        U0 = M0 @ contrib.T  # (p, n)
        items.append(_exact("5a", "u_k = (1/p) sum_l u_{m^l}(W_k)", float(np.linalg.norm(U0.mean(axis=0))),
                            float(np.linalg.norm(u)), err=float(np.max(np.abs(U0.mean(axis=0) - u)))))
        W1, Ul = _reference_step(X, y, W, a, M[0], eta, tau)
        u1 = xi * (np.maximum(X @ W1.T, 0.0) @ a) / sm
        items.append(_exact("5b", "u_{k+1} = (1/p) sum_l u^l_{k,tau}",
                            float(np.linalg.norm(Ul.mean(axis=0))), float(np.linalg.norm(u1)),
                            err=float(np.max(np.abs(Ul.mean(axis=0) - u1)))))
        lhs = float(np.sum((y - u1) ** 2))
        rhs = float(np.mean(np.sum((y - Ul) ** 2, axis=1)) - np.mean(np.sum((Ul - u1) ** 2, axis=1)))
        items.append(_exact("5c", "||y - u_{k+1}||^2 = (1/p) sum_l ||y - u^l||^2 - (1/p) sum_l ||u^l - u_{k+1}||^2",
                            lhs, rhs))
    items.append(_implicit_step(X, y, W, a, M, kind, xi, p, tau, eta, V))
    # engine: ntkcheck.train's first global step against a NumPy step with the same masks
    items.append(_train_check(X, y, W, a, M[0], kind, xi, p, tau, eta))
    if p == 1 and xi == 1.0:
        W1, _ = _reference_step(X, y, W, a, M[0], eta, tau)
        Wg = W.copy()
        for _ in range(tau):  # plain GD on ½‖y − f(W, X)‖²
            Pg = X @ Wg.T
            e = np.maximum(Pg, 0.0) @ a / sm - y
            Wg = Wg - eta * (a / sm)[:, None] * (((Pg >= 0) * e[:, None]).T @ X)
        items.append(_exact("7", "p = 1, xi = 1: Algorithm 1 is gradient descent",
                            float(np.linalg.norm(W1)), float(np.linalg.norm(Wg)),
                            err=float(np.max(np.abs(W1 - Wg)))))
    return dict(S=S, items=items)


#: §8.2 is first order in η: measured only when (τ − 1)·η·ξ·λ_max(H(W)) is at most this.
IMPLICIT_STEP_MAX_ORDER = 0.01
#: Mask draws (global steps from the same W) for the §8.2 Monte-Carlo check.
IMPLICIT_STEP_SAMPLES = 400


def _implicit_step(X, y, W, a, M, kind, xi, p, tau, eta, V):
    """docs/theory.md §8.2: E[W_{k+1} − W_k] = −(ητθ/(2ξ)) ∇G(W_k) + O(η²), projected on ∇G and V.

    Exact at τ = 1 (it is identity 4 times η); for τ > 1 measured only when the second-order
    terms are negligible, ``(τ − 1)·η·ξ·λ_max(H(W)) <= IMPLICIT_STEP_MAX_ORDER``.
    """
    statement = "E[W_{k+1} - W_k] = -(eta tau theta/(2 xi)) grad G(W_k) + O(eta^2) (§8.2, tested as <dW, D>)"
    if tau == 1:
        return dict(key="skipped", identity="8.2", statement=statement,
                    note="exact at tau = 1, where it is identity 4 times eta")
    H = ntk_finite(X, W)
    order = (tau - 1) * eta * xi * float(np.linalg.eigvalsh(H)[-1])
    if order > IMPLICIT_STEP_MAX_ORDER:
        return dict(key="skipped", identity="8.2", statement=statement,
                    note=f"not measured: (tau - 1) eta xi lambda_max(H) = {order:.3g} > {IMPLICIT_STEP_MAX_ORDER}, "
                         "so the O(eta^2) terms of this first-order statement are not negligible")
    net = Network(W=W, a=a, kappa=1.0)
    _, grad = implicit_objective(X, y, net, xi=xi)
    D = np.stack([grad, V])  # directions: the expected step itself, and identity 4's direction
    S = min(IMPLICIT_STEP_SAMPLES, M.shape[0])
    proj = np.empty((S, 2))
    for s_ in range(S):
        W1, _ = _reference_step(X, y, W, a, M[s_], eta, tau)
        proj[s_] = np.tensordot(D, W1 - W, axes=([1, 2], [0, 1]))
    step = eta * tau * theta(kind, xi, p) / (2.0 * xi)
    expected = -step * np.tensordot(D, grad, axes=([1, 2], [0, 1]))
    return dict(key="implicit_step", identity="8.2", statement=statement, samples=proj, expected=expected)


def _exact(identity, statement, measured, expected, *, err=None):
    return dict(key="exact", identity=identity, statement=statement, measured=measured,
                expected=expected, abs_error=abs(measured - expected) if err is None else err)


def _reference_step(X, y, W, a, M, eta, tau):
    """One global step of Algorithm 1 in plain NumPy: τ local GD steps per mask, eq. (9)."""
    m = W.shape[0]
    sm = math.sqrt(m)
    Ws, Us = [], []
    for mask in np.asarray(M, dtype=np.float64):
        Wl = W.copy()
        coef = mask * a / sm
        for _ in range(tau):
            Pl = X @ Wl.T
            e = np.maximum(Pl, 0.0) @ coef - y
            Wl = Wl - eta * coef[:, None] * (((Pl >= 0) * e[:, None]).T @ X)
        Ws.append(Wl)
        Us.append(np.maximum(X @ Wl.T, 0.0) @ coef)
    Mf = np.asarray(M, dtype=np.float64)
    N = Mf.sum(axis=0)
    agg = np.einsum("lr,lrd->rd", Mf, np.stack(Ws))
    W1 = np.where((N > 0)[:, None], agg / np.maximum(N, 1.0)[:, None], W)
    return W1, np.stack(Us)


def _train_check(X, y, W, a, M, kind, xi, p, tau, eta):

    W1, _ = _reference_step(X, y, W, a, M, eta, tau)
    net = Network(W=W, a=a, kappa=1.0)
    scheme = "categorical" if kind == "categorical" else "bernoulli"
    kw = {} if kind == "categorical" else {"xi": xi}
    res = train(X, y, net, scheme=scheme, eta=eta, global_steps=1, local_steps=tau, p=p,
                masks=np.asarray(M, dtype=bool)[None], record="loss", **kw)
    return _exact("engine", "ntkcheck.train global step = NumPy Algorithm 1 step (eq. 9)",
                  float(np.linalg.norm(res.W)), float(np.linalg.norm(W1)),
                  err=float(np.max(np.abs(np.asarray(res.W) - W1))))
