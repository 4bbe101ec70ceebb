"""docs/theory.md §5: the exact identities of masked training, checked on :func:`ntkcheck.train`.

Monte-Carlo checks compare a sample mean with its exact expectation within ``MC_SIGMAS``
standard errors (the SE estimated from the same samples).  Identities 5 and the categorical
aggregation inequality are exact and are checked deterministically; identity 7 (GD) is in
``test_train.py``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.testing as npt
import pytest

from ntkcheck import init_network, network_output, sample_masks, train
from ntkcheck.network import Network

from ntkcheck._stats import z_test

from .conftest import ATOL_EXACT, MC_SIGMAS, RTOL_EXACT, unit_rows

def _state(n=8, d=3, m=40, seed=0, pretrain=3):
    """Unit data, labels and a network at a generic W_k (a few GD steps from initialisation)."""
    rng = np.random.default_rng(seed)
    X = unit_rows(rng.standard_normal((n, d)))
    y = rng.standard_normal(n)
    net = init_network(d, m, rng=seed + 1)
    if pretrain:
        Wk = train(X, y, net, scheme="gd", eta=0.5, global_steps=pretrain, record="loss").W
        net = Network(W=np.array(Wk), a=net.a, kappa=net.kappa)
    return X, y, net


def _relu_sq_sum(X, net):
    """(1/m) Σ_r ‖σ(X w_r)‖²."""
    return float(np.sum(np.maximum(X @ net.W.T, 0.0) ** 2)) / net.m


def _assert_mc(samples, expected, what):
    # the package's one z-test (its SE floor covers entries whose samples are constant, e.g. a
    # neuron inactive on every input has g_r = 0 in every sample)
    zt = z_test(samples, expected, sigmas=MC_SIGMAS)
    assert zt.ok, f"{what}: max |mean − expected|/SE = {zt.max_z:.2f} > {MC_SIGMAS}"


@pytest.mark.parametrize("xi", [0.3, 0.75])
def test_identity1_subnetwork_output_is_unbiased(xi):
    # E[f_m(W, x)] = ξ f(W, x) for Bernoulli(ξ) masks.
    X, y, net = _state()
    S = 4000
    M = sample_masks(net.m, 1, kind="bernoulli", xi=xi, steps=S, rng=1)[:, 0]
    contrib = np.maximum(X @ net.W.T, 0.0) * net.a / math.sqrt(net.m)  # (n, m)
    samples = M.astype(float) @ contrib.T  # (S, n): f_{m_s}(W, x_i)
    npt.assert_allclose(samples[0], network_output(X, net.W, net.a, mask=M[0]), rtol=RTOL_EXACT, atol=ATOL_EXACT)
    _assert_mc(samples, xi * network_output(X, net.W, net.a), "identity 1")


@pytest.mark.parametrize("xi, p", [(0.3, 4), (0.6, 2)])
def test_identity3_loss_jumps_up_at_sampling(xi, p):
    # E‖y − u_m(W_k)‖² = ‖y − u_k‖² + ξ(1−ξ)/m Σ_r ‖σ(X w_{k,r})‖², via train's sampled_loss.
    X, y, net = _state(seed=1)
    S = 600
    runs = [train(X, y, net, scheme="bernoulli", xi=xi, p=p, eta=1.0, global_steps=1, rng=s, record="loss",
                  n_threads=1) for s in range(S)]
    L0 = runs[0].trajectory.loss[0]
    assert L0 == pytest.approx(np.sum((y - xi * network_output(X, net.W, net.a)) ** 2), rel=RTOL_EXACT)
    jump = xi * (1 - xi) * _relu_sq_sum(X, net)
    assert jump > 0.05 * L0  # the effect is not negligible, so the check can fail
    _assert_mc([r.trajectory.sampled_loss[0] for r in runs], L0 + jump, "identity 3")


def test_identity3_no_jump_at_xi_one():
    X, y, net = _state(seed=1)
    tr = train(X, y, net, scheme="multi-sample-dropout", xi=1.0, p=3, eta=0.5, global_steps=3, rng=0).trajectory
    npt.assert_allclose(tr.sampled_loss, tr.loss[:-1], rtol=RTOL_EXACT)


@pytest.mark.parametrize("xi, p", [(0.4, 3), (0.25, 1)])
def test_identity4_first_step_aggregated_gradient(xi, p):
    # τ = 1: W_{k+1} = W_k − η g with g_r = (1{N_r>0}/max(N_r,1)) Σ_l ∂L_{m^l}(W_k)/∂w_r, and
    # E[g_r] = (θ/√m) Σ_i (u_k^i − y_i) a_r x_i 1_ir + (θ(1−ξ)/m) Σ_i σ(<w_r, x_i>) x_i.
    X, y, net = _state(seed=2, m=30)
    m, eta, S = net.m, 1.0, 2000
    th = 1 - (1 - xi) ** p
    g = np.array([(net.W - train(X, y, net, scheme="bernoulli", xi=xi, p=p, eta=eta, global_steps=1, rng=s,
                                 record="loss", n_threads=1).W) / eta for s in range(S)])
    Z = X @ net.W.T  # (n, m)
    act = (Z >= 0).astype(float)
    u = xi * network_output(X, net.W, net.a)
    expected = (th / math.sqrt(m)) * ((act * (u - y)[:, None]) * net.a).T @ X \
        + (th * (1 - xi) / m) * np.maximum(Z, 0.0).T @ X
    bias = (th * (1 - xi) / m) * np.abs(np.maximum(Z, 0.0).T @ X).max()
    assert bias > 5 * (g.std(axis=0).max() / math.sqrt(S))  # the O(1/m) bias term is resolved
    _assert_mc(g.reshape(S, -1), expected.ravel(), "identity 4")


@pytest.mark.parametrize("p, tau", [(2, 1), (3, 3), (5, 2)])
def test_identity5_categorical_aggregation_is_exact(p, tau):
    # Σ_l f_{m^l} = f, u_k = (1/p) Σ_l u_{m^l}(W_k); after local training u_{k+1} = (1/p) Σ_l u^l_{k,τ}
    # and ‖y − u_{k+1}‖² = (1/p) Σ_l ‖y − u^l_{k,τ}‖² − (1/p) Σ_l ‖u^l_{k,τ} − u_{k+1}‖².
    X, y, net = _state(seed=3, m=36)
    M = sample_masks(net.m, p, kind="categorical", steps=1, rng=4)
    res = train(X, y, net, scheme="categorical", p=p, eta=0.6, local_steps=tau, global_steps=1, masks=M)
    u_k = network_output(X, net.W, net.a) / p
    u_sub0 = [network_output(X, net.W, net.a, mask=M[0, l]) for l in range(p)]
    npt.assert_allclose(np.mean(u_sub0, axis=0), u_k, rtol=RTOL_EXACT, atol=ATOL_EXACT)
    # each subnetwork trained alone (same mask, same W_k) gives W^l_{k,τ} on its neurons
    u_loc = []
    for l in range(p):
        alone = train(X, y, net, scheme="bernoulli", p=1, eta=0.6, local_steps=tau, global_steps=1, masks=M[:, l:l + 1])
        u_loc.append(network_output(X, alone.W, net.a, mask=M[0, l]))
    u_loc = np.array(u_loc)
    u_next = network_output(X, res.W, net.a) / p
    npt.assert_allclose(u_loc.mean(axis=0), u_next, rtol=1e-12, atol=ATOL_EXACT)
    tr = res.trajectory
    npt.assert_allclose(tr.local_loss[0, -1], ((y - u_loc) ** 2).sum(axis=1), rtol=1e-12)
    rhs = ((y - u_loc) ** 2).sum(axis=1).mean() - ((u_loc - u_next) ** 2).sum(axis=1).mean()
    assert tr.loss[1] == pytest.approx(rhs, rel=1e-11)


def test_categorical_aggregation_never_raises_loss_above_mean_local_loss():
    X, y, net = _state(seed=4, pretrain=0, m=60)
    for p, tau in [(2, 1), (4, 3)]:
        tr = train(X, y, net, scheme="ist-categorical", p=p, eta=0.5, local_steps=tau, global_steps=40, rng=p).trajectory
        mean_local = tr.local_loss[:, -1, :].mean(axis=1)
        assert np.all(tr.loss[1:] <= mean_local * (1 + 1e-12))
        assert np.any(tr.loss[1:] < mean_local * (1 - 1e-6))  # a strict drop somewhere


@pytest.mark.parametrize("p", [2, 4])
def test_identity6_categorical_sampling_variance(p):
    # E (1/p) Σ_l ‖u_{m^l}(W_k) − u_k‖² = (p−1)/p² (1/m) Σ_r ‖σ(X w_{k,r})‖²; with categorical
    # masks (1/p) Σ_l u_{m^l} = u_k exactly, so that quantity is sampled_loss − L_k.
    X, y, net = _state(seed=5)
    S = 800
    runs = [train(X, y, net, scheme="ist-categorical", p=p, eta=1.0, global_steps=1, rng=s, record="loss",
                  n_threads=1) for s in range(S)]
    r0 = runs[0]
    M0 = sample_masks(net.m, p, kind="categorical", steps=1, rng=0)[0]
    u_k = network_output(X, net.W, net.a) / p
    direct = np.mean([np.sum((network_output(X, net.W, net.a, mask=M0[l]) - u_k) ** 2) for l in range(p)])
    assert r0.trajectory.sampled_loss[0] - r0.trajectory.loss[0] == pytest.approx(direct, rel=1e-10)
    expected = (p - 1) / p**2 * _relu_sq_sum(X, net)
    _assert_mc([r.trajectory.sampled_loss[0] - r.trajectory.loss[0] for r in runs], expected, "identity 6")


def test_three_movements_have_the_right_signs_in_expectation():
    # LK22 Fig. 2(a): up at sampling (ξ < 1), down during local steps, down at aggregation.
    X, y, net = _state(seed=6, pretrain=0, m=80)
    tr = train(X, y, net, scheme="bernoulli", p=3, xi=0.5, eta=0.2, local_steps=2, global_steps=120,
               rng=7).trajectory
    up = tr.sampled_loss - tr.loss[:-1]
    local_first = tr.local_loss[:, 0, :].mean(axis=1) - tr.sampled_loss
    local_second = tr.local_loss[:, 1, :].mean(axis=1) - tr.local_loss[:, 0, :].mean(axis=1)
    agg = tr.loss[1:] - tr.local_loss[:, -1, :].mean(axis=1)
    for name, v, sign in [("sampling", up, 1), ("local step 1", local_first, -1), ("local step 2", local_second, -1),
                          ("aggregation", agg, -1)]:
        se = v.std(ddof=1) / math.sqrt(v.size)
        assert sign * v.mean() > MC_SIGMAS * se, f"{name}: mean {v.mean():.3g}, SE {se:.3g}"


@pytest.mark.slow
@pytest.mark.parametrize("xi, p", [(0.1, 8), (0.5, 5), (0.9, 2)])
def test_identity4_wide_network_slow(xi, p):
    X, y, net = _state(n=20, d=5, m=400, seed=8)
    m, S = net.m, 3000
    th = 1 - (1 - xi) ** p
    g = np.array([(net.W - train(X, y, net, scheme="bernoulli", xi=xi, p=p, eta=1.0, global_steps=1, rng=s,
                                 record="loss", n_threads=1).W) for s in range(S)])
    Z = X @ net.W.T
    u = xi * network_output(X, net.W, net.a)
    expected = (th / math.sqrt(m)) * (((Z >= 0) * (u - y)[:, None]) * net.a).T @ X \
        + (th * (1 - xi) / m) * np.maximum(Z, 0.0).T @ X
    _assert_mc(g.reshape(S, -1), expected.ravel(), "identity 4 (wide)")


@pytest.mark.slow
@pytest.mark.parametrize("xi, p", [(0.1, 10), (0.5, 3)])
def test_identity3_wide_network_slow(xi, p):
    X, y, net = _state(n=30, d=6, m=500, seed=9)
    runs = [train(X, y, net, scheme="bernoulli", xi=xi, p=p, eta=1.0, global_steps=1, rng=s, record="loss",
                  n_threads=1) for s in range(2000)]
    L0 = runs[0].trajectory.loss[0]
    _assert_mc([r.trajectory.sampled_loss[0] for r in runs], L0 + xi * (1 - xi) * _relu_sq_sum(X, net), "identity 3")
