"""docs/theory.md §8 [DERIVED]: the implicit objective G, the expected step and the plateau model.

Deterministic code is compared with the loop references of ``tests/reference.py``; the exact
facts behind §8 (G is the expected subnetwork loss, the tracked loss is G minus the ridge, the
expected first step at τ = 1) are checked by exact enumeration of the masks; the first-order
statements (§8.2 at τ > 1, the sampling noise fed into the residual) are checked by Monte Carlo
on the real :func:`ntkcheck.train`, with tests that the checks reject a wrong constant.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntkcheck import (
    NumericalWarning,
    PlateauPrediction,
    eigenvalue_extremes,
    implicit_objective,
    init_network,
    network_output,
    ntk_finite,
    ntk_infinite,
    predict_plateau,
    train,
)
from ntkcheck._stats import z_test
from ntkcheck.masks import theta
from ntkcheck.network import Network

from . import reference
from .conftest import ATOL_EXACT, MC_SIGMAS, RTOL_EXACT, unit_rows
from .reference_train import algorithm1

#: A wrong constant must be rejected by at least this many standard errors (power of the MC test).
MC_POWER = 10.0
#: Central differences of G (step 1e-6, kinks far away): truncation + rounding ~ 1e-9 relative.
RTOL_FD = 1e-6
#: predict_plateau vs its loop reference: K gradient steps and an eigendecomposition accumulate
#: rounding in a different order than the vectorised code.
RTOL_PLATEAU = 1e-10


def _problem(n=6, d=3, m=16, seed=0, kappa=1.0):
    rng = np.random.default_rng(seed)
    X = unit_rows(rng.standard_normal((n, d)))
    y = rng.standard_normal(n)
    return X, y, init_network(d, m, kappa=kappa, rng=seed + 1)


def _with_W(net, W):
    return Network(W=np.asarray(W, dtype=float), a=net.a, kappa=net.kappa)


# ----------------------------------------------------------------------------- 1. G and its gradient


@given(
    n=st.integers(1, 6),
    d=st.integers(1, 4),
    m=st.integers(1, 10),
    xi=st.floats(0.05, 1.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_objective_matches_loop_reference(n, d, m, xi, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    net = init_network(d, m, kappa=float(rng.uniform(0.1, 2.0)), rng=seed)
    G, grad = implicit_objective(X, y, net, xi=xi)
    G_ref, grad_ref = reference.implicit_objective(X, y, net.W, net.a, xi)
    assert grad.shape == net.W.shape
    npt.assert_allclose(G, G_ref, rtol=RTOL_EXACT, atol=ATOL_EXACT)
    npt.assert_allclose(grad, grad_ref, rtol=RTOL_EXACT, atol=ATOL_EXACT * max(1.0, np.abs(grad_ref).max()))


@pytest.mark.parametrize("xi", [0.3, 0.6, 1.0])
def test_gradient_matches_central_differences(xi):
    X, y, net = _problem(n=5, d=3, m=7, seed=3)
    _, grad = implicit_objective(X, y, net, xi=xi)
    h = 1e-6
    fd = np.zeros_like(grad)
    for r, j in itertools.product(range(net.m), range(net.d)):
        E = np.zeros_like(net.W)
        E[r, j] = h
        fd[r, j] = (
            implicit_objective(X, y, _with_W(net, net.W + E), xi=xi)[0]
            - implicit_objective(X, y, _with_W(net, net.W - E), xi=xi)[0]
        ) / (2 * h)
    npt.assert_allclose(grad, fd, rtol=RTOL_FD, atol=RTOL_FD * np.abs(grad).max())


# ----------------------------------------------------------------------------- 2. exact facts


@pytest.mark.parametrize("xi", [0.25, 0.7])
def test_objective_is_expected_subnetwork_loss_bernoulli(xi):
    """G = E_m ||y − u_m(W)||² over all 2^m Bernoulli(ξ) masks (§8.1), and L = G − ξ(1−ξ)P."""
    X, y, net = _problem(n=5, d=3, m=8, seed=1)
    G = 0.0
    for bits in itertools.product((0, 1), repeat=net.m):
        mask = np.array(bits, dtype=float)
        k = int(mask.sum())
        G += xi**k * (1 - xi) ** (net.m - k) * np.sum((y - network_output(X, net.W, net.a, mask=mask)) ** 2)
    assert implicit_objective(X, y, net, xi=xi)[0] == pytest.approx(G, rel=RTOL_EXACT)
    L = np.sum((y - xi * network_output(X, net.W, net.a)) ** 2)
    npt.assert_allclose(G - xi * (1 - xi) * reference.relu_energy(X, net.W), L, rtol=RTOL_EXACT)


@pytest.mark.parametrize("p", [2, 3])
def test_objective_is_expected_subnetwork_loss_categorical(p):
    """Categorical masks: E over all p^m partitions and the p subnetworks of ||y − u_{m^l}||² is G
    at ξ = 1/p (each mask is marginally Bernoulli(1/p); identity 6 is its sampling term), and the
    subnetworks' sampling deviations sum to zero (identity 5), the reason the noise vanishes."""
    X, y, net = _problem(n=5, d=3, m=6, seed=2)
    xi = 1.0 / p
    u = xi * network_output(X, net.W, net.a)
    G = 0.0
    for owner in itertools.product(range(p), repeat=net.m):
        owner = np.array(owner)
        U = np.array([network_output(X, net.W, net.a, mask=(owner == l).astype(float)) for l in range(p)])
        npt.assert_allclose((U - u).sum(axis=0), 0.0, atol=ATOL_EXACT)
        G += np.mean(np.sum((y - U) ** 2, axis=1)) / p**net.m
    assert implicit_objective(X, y, net, xi=xi)[0] == pytest.approx(G, rel=RTOL_EXACT)


@pytest.mark.parametrize(
    "kind,p,xi,m", [("bernoulli", 2, 0.3, 5), ("bernoulli", 3, 0.6, 3), ("categorical", 3, None, 5)]
)
def test_expected_first_step_is_exact_at_tau_1(kind, p, xi, m):
    """At τ = 1, E[W_1 − W_0] = −(ηθ/(2ξ)) ∇G(W_0) exactly, for any η (identity 4): all mask
    draws enumerated, each global step run by the loop reference of Algorithm 1."""
    X, y, net = _problem(n=4, d=2, m=m, seed=4)
    eta = 0.7
    if kind == "categorical":
        xi = 1.0 / p
        draws = [(np.array(o)[None, :] == np.arange(p)[:, None], p**-m) for o in itertools.product(range(p), repeat=m)]
    else:
        draws = []
        for bits in itertools.product((0, 1), repeat=p * m):
            M = np.array(bits, dtype=bool).reshape(p, m)
            draws.append((M, xi ** M.sum() * (1 - xi) ** (M.size - M.sum())))
    mean = sum(w * (algorithm1(X, y, net.W, net.a, M[None], eta, 1, xi)[0] - net.W) for M, w in draws)
    expected = -eta * theta(kind, xi, p) / (2 * xi) * implicit_objective(X, y, net, xi=xi)[1]
    npt.assert_allclose(mean, expected, rtol=1e-10, atol=1e-13)  # a sum of up to 1024 terms


# ----------------------------------------------------------------------------- 3. §8.2 by Monte Carlo

_MC_CACHE: dict = {}
#: One global step of Algorithm 1 from a fixed W_0, n = 6, d = 3, m = 200, τ = 2, η = 1e-4; the
#: same draws serve the mean (§8.2) and the covariance (§8.3 noise source) tests.
_MC = dict(tau=2, m=200, draws=1500)


def _one_step_samples(kind, p, xi, tau, m, draws):
    """Run ntkcheck.train for ONE global step from a fixed W_0, ``draws`` times (mask seeds 0..);
    return (X, y, net, ΔW / η samples, Δu / η samples) with u = ξ f the tracked output."""
    key = (kind, p, xi, tau, m, draws)
    if key not in _MC_CACHE:
        X, y, net = _problem(n=6, d=3, m=m, seed=5)
        eta = 1e-4
        scheme = "categorical" if kind == "categorical" else "bernoulli"
        u0 = xi * network_output(X, net.W, net.a)
        kw = dict(scheme=scheme, eta=eta, global_steps=1, local_steps=tau, p=p, xi=xi, record="loss", n_threads=1)
        dW, du = [], []
        for s in range(draws):
            res = train(X, y, net, rng=s, **kw)
            dW.append((res.W - net.W) / eta)
            du.append((xi * network_output(X, res.W, net.a) - u0) / eta)
        _MC_CACHE[key] = (X, y, net, np.array(dW), np.array(du))
    return _MC_CACHE[key]


@pytest.mark.parametrize("kind,p,xi", [("bernoulli", 2, 0.3), ("categorical", 3, 1 / 3)])
def test_expected_step_is_gradient_descent_on_G(kind, p, xi):
    """§8.2 at τ = 2, η = 1e-4: E[ΔW] = −(ητθ/(2ξ)) ∇G + O(η²), on fixed projections of ΔW."""
    tau = _MC["tau"]
    X, y, net, dW, _ = _one_step_samples(kind, p, xi, **_MC)
    _, gradG = implicit_objective(X, y, net, xi=xi)
    R = np.maximum(X @ net.W.T, 0.0)
    gradP = 2.0 / net.m * R.T @ X  # ∇P: ∇G − ∇L = ξ(1−ξ)∇P
    gradL = gradG - xi * (1 - xi) * gradP
    # directions: ∇G, the part of ∇P orthogonal to it (separates G from L), three random ones
    e1 = gradG / np.linalg.norm(gradG)
    e2 = gradP - np.vdot(gradP, e1) * e1
    rng = np.random.default_rng(11)
    V = np.array([e1, e2 / np.linalg.norm(e2)] + [rng.standard_normal(net.W.shape) for _ in range(3)])
    proj = np.einsum("sij,kij->sk", dW, V)

    def expected(c, grad):
        return -c * np.einsum("kij,ij->k", V, grad)

    th = theta(kind, xi, p)
    right = z_test(proj, expected(tau * th / (2 * xi), gradG), sigmas=MC_SIGMAS)
    assert right.ok, f"z = {right.z}"
    # power: the same samples reject the constant τθ (no 1/(2ξ)) and descent on the tracked loss L
    assert z_test(proj, expected(tau * th, gradG)).max_z > MC_POWER
    assert z_test(proj, expected(tau * th / (2 * xi), gradL)).max_z > MC_POWER


def test_sampling_noise_of_one_step():
    """The noise source of §8.3: one global step feeds the tracked residual a fluctuation of
    covariance (θ²/p) A ξ(1−ξ)Q A with A ≈ τηξH (Bernoulli), and 0 at that order for categorical
    masks (the subnetworks' deviations cancel; the remainder is O(1/m), here ~3 %)."""
    tau, m = _MC["tau"], _MC["m"]
    ratios = {}
    for kind, p, xi in [("bernoulli", 2, 0.3), ("categorical", 3, 1 / 3)]:
        X, y, net, _, du = _one_step_samples(kind, p, xi, **_MC)
        H = ntk_finite(X, net.W)
        R = np.maximum(X @ net.W.T, 0.0)
        Q = R @ R.T / m
        # the Bernoulli-form prediction; for categorical it is what the noise would be without cancellation
        pred = theta(kind, xi, p) ** 2 / p * (tau * xi) ** 2 * xi * (1 - xi) * np.trace(H @ Q @ H)
        ratios[kind] = np.trace(np.cov(du.T)) / pred
    assert 0.8 < ratios["bernoulli"] < 1.25, ratios
    assert ratios["categorical"] < 0.15, ratios


# ----------------------------------------------------------------------------- 4. predict_plateau


@pytest.mark.parametrize(
    "scheme,p,xi,tau", [("bernoulli", 2, 0.4, 2), ("dropout", 1, 0.7, 1), ("categorical", 2, 1.0, 3)]
)
def test_predict_plateau_matches_loop_reference(scheme, p, xi, tau):
    X, y, net = _problem(n=5, d=3, m=8, seed=6)
    pred = predict_plateau(X, y, net, scheme=scheme, eta=0.3, global_steps=4, local_steps=tau, p=p, xi=xi)
    cat = scheme == "categorical"
    bias, noise = reference.plateau_prediction(
        X, y, net.W, net.a, eta=0.3, tau=tau, p=p, xi=1.0 / p if cat else xi, K=4, categorical=cat
    )
    npt.assert_allclose([pred.bias, pred.noise], [bias, noise], rtol=RTOL_PLATEAU, atol=ATOL_EXACT)
    assert pred.total == pred.bias + pred.noise
    assert pred.theta == theta(pred.kind, pred.xi, p)
    assert pred.step == pytest.approx(0.3 * tau * pred.theta / (2 * pred.xi), rel=RTOL_EXACT)
    assert pred.bias_trajectory.shape == (5,) and pred.bias_trajectory[-1] == pred.bias
    assert pred.objective == pytest.approx(implicit_objective(X, y, _with_W(net, pred.W), xi=pred.xi)[0])
    assert any("[DERIVED]" in s for s in pred.assumptions)
    assert (noise > 0) != cat


@pytest.mark.parametrize("tau", [1, 3])
def test_xi_one_is_gradient_descent(tau):
    """ξ = 1: no noise, and the bias is plain GD. The step ητθ/(2ξ) = ητ/2 on G = ‖y − f‖² is ONE
    GD step of size ητ on ½‖y − f‖² per global step: exactly train("gd", eta=η) when τ = 1, exactly
    train("gd", eta=ητ, local_steps=1) for any τ (τ local steps of η agree only to first order)."""
    X, y, net = _problem(n=6, d=3, m=30, seed=7)
    eta, K = 0.2, 12
    for scheme, kw in [("gd", {}), ("bernoulli", dict(p=3, xi=1.0))]:
        pred = predict_plateau(X, y, net, scheme=scheme, eta=eta, global_steps=K, local_steps=tau, **kw)
        assert pred.noise == 0.0 and pred.theta == 1.0
        ref = train(X, y, net, scheme="gd", eta=eta * tau, global_steps=K, record="loss")
        npt.assert_allclose(pred.bias_trajectory, ref.trajectory.loss, rtol=1e-12)
        npt.assert_allclose(pred.W, ref.W, rtol=1e-12, atol=1e-14)
    if tau > 1:  # the τ-local-step run is a different (second-order) trajectory
        local = train(X, y, net, scheme="gd", eta=eta, global_steps=K, local_steps=tau, record="loss")
        assert not np.allclose(pred.bias_trajectory[1:], local.trajectory.loss[1:], rtol=1e-6)


def test_noise_scales_as_kappa_squared():
    """σ(κ X w) = κ σ(X w) and H is scale-invariant: noise(κ W) = κ² noise(W) exactly at the
    initial weights, and approximately after the descent on G in the lazy regime (large m)."""
    X, y, net = _problem(n=10, d=4, m=4000, seed=8)
    kw = dict(scheme="bernoulli", eta=0.5, local_steps=2, p=2, xi=0.5)
    base = predict_plateau(X, y, net, global_steps=0, **kw).noise
    for k in (0.5, 0.1):
        scaled = predict_plateau(X, y, _with_W(net, k * net.W), global_steps=0, **kw).noise
        assert scaled == pytest.approx(k**2 * base, rel=1e-12)
    after = [predict_plateau(X, y, _with_W(net, k * net.W), global_steps=20, **kw).noise / k**2 for k in (1.0, 0.5)]
    assert after[1] == pytest.approx(after[0], rel=0.1)


def test_result_is_frozen_and_serialisable():
    X, y, net = _problem(seed=9)
    pred = predict_plateau(X, y, net, scheme="multi-sample-dropout", eta=0.5, global_steps=3, p=3, xi=0.5)
    assert isinstance(pred, PlateauPrediction)
    with pytest.raises(AttributeError):
        pred.bias = 0.0
    with pytest.raises(ValueError):
        pred.W[0, 0] = 1.0
    d = json.loads(json.dumps(pred.to_dict()))
    assert d["total"] == pred.total and d["scheme"] == "multi-sample-dropout" and "W" not in d
    assert len(d["bias_trajectory"]) == 4 and d["assumptions"][0].startswith("Bernoulli")


def test_categorical_resolves_xi_and_theta():
    X, y, net = _problem(seed=10)
    pred = predict_plateau(X, y, net, scheme="ist-categorical", eta=0.5, global_steps=3, local_steps=2, p=4)
    assert (pred.kind, pred.xi, pred.theta, pred.noise) == ("categorical", 0.25, 1.0, 0.0)
    assert pred.step == pytest.approx(0.5 * 2 * 1.0 / (2 * 0.25))


_GOOD = dict(scheme="bernoulli", eta=0.1, global_steps=2, local_steps=1, p=2, xi=0.5)


@pytest.mark.parametrize(
    "change,exc,match",
    [
        (dict(eta=0.0), ValueError, "`eta`"),
        (dict(eta="0.1"), TypeError, "`eta`"),
        (dict(global_steps=-1), ValueError, "`global_steps`"),
        (dict(global_steps=2.0), TypeError, "`global_steps`"),
        (dict(local_steps=0), ValueError, "`local_steps`"),
        (dict(p=0), ValueError, "`p`"),
        (dict(xi=0.0), ValueError, "`xi`"),
        (dict(xi=1.5), ValueError, "`xi`"),
        (dict(xi=True), TypeError, "`xi`"),
        (dict(scheme="sgd"), ValueError, "`scheme`"),
        (dict(scheme="dropout", local_steps=2, p=1), ValueError, "`local_steps`"),
        (dict(scheme="categorical", xi=0.3), ValueError, "`xi`"),
        (dict(scheme="gd", p=2), ValueError, "`p`"),
    ],
)
def test_predict_plateau_rejects_bad_parameters(change, exc, match):
    X, y, net = _problem()
    with pytest.raises(exc, match=match):
        predict_plateau(X, y, net, **{**_GOOD, **change})


def test_bad_data_and_network_are_rejected():
    X, y, net = _problem()
    bad_X = X.copy()
    bad_X[1, 0] = np.nan
    for fn, kw in [(predict_plateau, _GOOD), (implicit_objective, dict(xi=0.5))]:
        with pytest.raises(ValueError, match="`X`"):
            fn(bad_X, y, net, **kw)
        with pytest.raises(ValueError, match="`y`"):
            fn(X, y[:-1], net, **kw)
        with pytest.raises(TypeError, match="`net`"):
            fn(X, y, net.W, **kw)
        with pytest.raises(ValueError, match="`net.W`"):
            fn(X[:, :2], y, net, **kw)
    with pytest.raises(ValueError, match="`xi`"):
        implicit_objective(X, y, net, xi=0.0)
    with pytest.raises(TypeError):
        implicit_objective(X, y, net, 0.5)  # xi is keyword-only


def test_unstable_or_divergent_step_warns():
    X, y, net = _problem(m=50)
    with pytest.warns(NumericalWarning, match="unstable"):
        pred = predict_plateau(X, y, net, scheme="bernoulli", eta=1e4, global_steps=0, p=2, xi=0.5)
    assert np.isfinite(pred.bias) and pred.noise == math.inf == pred.total
    with pytest.warns(NumericalWarning, match="diverged"):
        pred = predict_plateau(X, y, net, scheme="bernoulli", eta=1e4, global_steps=50, p=2, xi=0.5)
    assert pred.bias == pred.noise == pred.total == math.inf


# ----------------------------------------------------------------------------- 5. §8.3 in the small


def _plateau_ratio(scheme, xi, p, tau, eta_scale, n=100, d=10, m=1000, K=600, seeds=(0, 1, 2)):
    """Measured plateau (mean tracked loss over the last 10 % of K global steps, averaged over
    seeds) and the predicted total (averaged over seeds); κ = 1, η = eta_scale / λ_max(H∞)."""
    rng = np.random.default_rng(2024)
    X = unit_rows(rng.standard_normal((n, d)))
    y = np.where(rng.standard_normal(n) >= 0, 1.0, -1.0)
    eta = eta_scale / eigenvalue_extremes(ntk_infinite(X))[1]
    measured, predicted = [], []
    for s in seeds:
        net = init_network(d, m, kappa=1.0, rng=100 + s)
        kw = dict(scheme=scheme, eta=eta, global_steps=K, local_steps=tau, p=p, xi=xi)
        res = train(X, y, net, rng=200 + s, record="loss", **kw)
        measured.append(res.trajectory.loss[-(K // 10) :].mean())
        predicted.append(predict_plateau(X, y, net, **kw).total)
    return float(np.mean(predicted) / np.mean(measured))


@pytest.mark.slow
@pytest.mark.parametrize("xi", [0.5, 0.75])
def test_predicted_plateau_bernoulli(xi):
    """§8.3 measurement in the small: n = 100, d = 10, m = 1000, p = 2, τ = 2, η = 1/λ_max(H∞),
    600 global steps, κ = 1, 3 seeds; predicted total within 20 % of the measured plateau."""
    ratio = _plateau_ratio("bernoulli", xi, p=2, tau=2, eta_scale=1.0)
    print(f"bernoulli xi={xi}: predicted / measured = {ratio:.3f}")
    assert abs(ratio - 1.0) < 0.2


@pytest.mark.slow
def test_predicted_plateau_categorical_first_order():
    """Categorical masks (bias only; noise 0 at first order): p = 2, τ = 1, η = 0.5/λ_max(H∞)."""
    ratio = _plateau_ratio("categorical", 1.0, p=2, tau=1, eta_scale=0.5)
    print(f"categorical p=2 tau=1: predicted / measured = {ratio:.3f}")
    assert abs(ratio - 1.0) < 0.2
