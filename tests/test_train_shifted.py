"""Tests of shifted-ReLU training (DHSWZ22, docs/theory.md §9): ``train(..., shift=b)`` for every
scheme, ``scheme="gauss-newton"`` on both fired-pair engines, their diagnostics, and bad input."""

from __future__ import annotations

import importlib

import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntkcheck import NumericalWarning, init_network, ntk_finite, sample_masks, train

from .conftest import unit_rows
from .reference_train import algorithm1, gauss_newton, jacobian, plain_gd

fired_train = importlib.import_module("ntkcheck.fired_train")

ENGINES = ("sparse", "dense")


def _problem(n=10, d=4, m=60, seed=0, kappa=1.0):
    rng = np.random.default_rng(seed)
    X = unit_rows(rng.standard_normal((n, d)))
    y = rng.standard_normal(n)
    return X, y, init_network(d, m, kappa=kappa, rng=seed + 100)


def _pattern(X, W, b):
    return X @ W.T >= b


# ----------------------------------------------------------------------------- Algorithm 1 with a shift


@pytest.mark.parametrize("shift", [-0.4, 0.3, 0.9])
@pytest.mark.parametrize("scheme, p, xi, tau", [("gd", 1, 1.0, 2), ("bernoulli", 3, 0.5, 2),
                                                ("categorical", 2, 0.5, 2)])
def test_shifted_algorithm1_matches_naive_reference(scheme, p, xi, tau, shift):
    X, y, net = _problem(m=30)
    K = 4
    kind = "categorical" if scheme == "categorical" else "bernoulli"
    M = (np.ones((K, 1, net.m), bool) if scheme == "gd" else
         sample_masks(net.m, p, kind=kind, xi=None if kind == "categorical" else xi, steps=K, rng=3))
    res = train(X, y, net, scheme=scheme, eta=0.5, global_steps=K, local_steps=tau, p=p,
                xi=None if kind == "categorical" else xi, masks=M, chunk_size=7, n_threads=2, shift=shift,
                record="standard")
    W_ref, h = algorithm1(X, y, net.W, net.a, M, 0.5, tau, xi, shift=shift)
    npt.assert_allclose(res.W, W_ref, rtol=0, atol=1e-10)
    assert np.abs(res.W - net.W).max() > 1e-3
    npt.assert_allclose(res.trajectory.loss, h["loss"], rtol=1e-10)
    npt.assert_allclose(res.trajectory.local_loss, h["local_loss"], rtol=1e-10)
    # λ_min of the *shifted* NTK at the final weights
    npt.assert_allclose(res.trajectory.lam_min_full[-1],
                        max(np.linalg.eigvalsh(ntk_finite(X, W_ref, shift=shift))[0], 0.0), atol=1e-12)
    assert res.config["shift"] == shift


def test_shift_zero_is_the_default_bit_for_bit():
    X, y, net = _problem(m=50)
    a = train(X, y, net, scheme="bernoulli", p=2, xi=0.5, local_steps=2, eta=0.6, global_steps=15, rng=1)
    b = train(X, y, net, scheme="bernoulli", p=2, xi=0.5, local_steps=2, eta=0.6, global_steps=15, rng=1,
              shift=0.0)
    assert np.array_equal(a.W, b.W) and np.array_equal(a.trajectory.loss, b.trajectory.loss)


def test_a_positive_shift_changes_the_run():
    X, y, net = _problem(m=50)
    a = train(X, y, net, scheme="gd", eta=0.6, global_steps=5)
    b = train(X, y, net, scheme="gd", eta=0.6, global_steps=5, shift=0.2)
    assert not np.allclose(a.W, b.W)


# ----------------------------------------------------------------------------- Gauss-Newton


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("shift, eta, damping", [(0.0, 1.0, 0.0), (0.5, 1.0, 0.0), (1.0, 0.7, 1e-3),
                                                 (-0.5, 0.5, 0.1)])
def test_gauss_newton_matches_naive_loop_with_explicit_jacobian(engine, shift, eta, damping):
    X, y, net = _problem(n=8, d=3, m=80, seed=2)
    K = 5
    res = train(X, y, net, scheme="gauss-newton", eta=eta, global_steps=K, shift=shift, damping=damping,
                engine=engine, record="standard")
    W_ref, loss_ref = gauss_newton(X, y, net.W, net.a, eta, K, shift=shift, damping=damping)
    assert res.status == "completed", res.message
    npt.assert_allclose(res.W, W_ref, rtol=0, atol=1e-10)
    npt.assert_allclose(res.trajectory.loss, loss_ref, rtol=1e-10, atol=1e-20)
    assert res.config["engine"] == engine and res.config["damping"] == damping


def test_gauss_newton_matrix_is_the_shifted_ntk_along_training():
    # [EXACT] J Jᵀ = H_b(W) (docs/theory.md §9): the recorded λ_min(H_b(W_t)) is that of J Jᵀ with J
    # formed by loops, at every iterate of the naive run
    X, y, net = _problem(n=8, d=3, m=80, seed=5)
    b, K = 0.4, 4
    res = train(X, y, net, scheme="gauss-newton", eta=0.8, global_steps=K, shift=b, record="standard")
    W = np.array(net.W)
    for k in range(K + 1):
        J = jacobian(W, net.a, X, b)
        npt.assert_allclose(J @ J.T, ntk_finite(X, W, shift=b), rtol=0, atol=1e-15)
        npt.assert_allclose(res.trajectory.lam_min_full[k], max(np.linalg.eigvalsh(J @ J.T)[0], 0.0), atol=1e-12)
        W, _ = gauss_newton(X, y, W, net.a, 0.8, 1, shift=b)


@pytest.mark.parametrize("engine", ENGINES)
def test_fired_engine_gd_is_gradient_descent_on_the_shifted_network(engine):
    X, y, net = _problem(n=9, d=3, m=70, seed=7)
    b, K, eta = 0.3, 6, 0.9
    res = train(X, y, net, scheme="gd", eta=eta, global_steps=K, shift=b, engine=engine)
    ref = train(X, y, net, scheme="gd", eta=eta, global_steps=K, shift=b)  # Algorithm 1's engine
    npt.assert_allclose(res.W, ref.W, rtol=0, atol=1e-12)
    npt.assert_allclose(res.trajectory.loss, ref.trajectory.loss, rtol=1e-11)
    M = np.ones((K, 1, net.m), bool)
    W_ref, _ = algorithm1(X, y, net.W, net.a, M, eta, 1, 1.0, shift=b)
    npt.assert_allclose(res.W, W_ref, rtol=0, atol=1e-10)
    if b == 0.0:  # pragma: no cover - kept for a zero shift
        npt.assert_allclose(res.W, plain_gd(X, y, net.W, net.a, eta, K), atol=1e-10)


@pytest.mark.parametrize("engine", ENGINES)
def test_diagnostics_match_patterns_recomputed_from_the_naive_iterates(engine):
    X, y, net = _problem(n=12, d=3, m=200, seed=11)
    b, K, eta = 0.6, 6, 1.0
    res = train(X, y, net, scheme="gauss-newton", eta=eta, global_steps=K, shift=b, engine=engine)
    tr = res.trajectory
    W = np.array(net.W)
    pats = []
    for k in range(K + 1):
        P = _pattern(X, W, b)
        pats.append(P)
        cnt = P.sum(axis=1)
        assert (tr.fired_min[k], tr.fired_max[k]) == (cnt.min(), cnt.max())
        npt.assert_allclose(tr.fired_mean[k], cnt.mean(), rtol=1e-15)
        assert tr.union_size[k] == P.any(axis=0).sum()
        npt.assert_allclose(tr.max_movement[k], np.linalg.norm(W - net.W, axis=1).max(), rtol=1e-9, atol=1e-14)
        npt.assert_allclose(tr.frobenius_movement[k], np.linalg.norm(W - net.W), rtol=1e-9, atol=1e-14)
        W, _ = gauss_newton(X, y, W, net.a, eta, 1, shift=b)
    flips = [int((pats[k + 1] != pats[k]).sum()) for k in range(K)]
    npt.assert_array_equal(tr.status_changes, flips)
    assert sum(flips) > 0  # the test exercises steps where pairs flip
    assert np.all(np.diff(tr.union_size) <= 0)  # U_{t+1} ⊆ U_t
    assert tr.step_seconds.shape == (K,) and np.all(tr.step_seconds >= 0)
    assert tr.pairs_rechecked.shape == (K,)
    if engine == "dense":
        assert np.all(tr.pairs_rechecked == X.shape[0] * net.m)
    rr = tr.residual_ratio
    npt.assert_allclose(rr, np.sqrt(tr.loss[1:] / tr.loss[:-1]))
    assert res.config["init_seconds"] >= 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), b=st.floats(-0.5, 2.0), eta=st.floats(0.2, 1.5), m=st.integers(1, 120))
def test_property_sparse_and_dense_engines_agree_and_union_shrinks(seed, b, eta, m):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(1, 9)), int(rng.integers(1, 5))
    X = unit_rows(rng.standard_normal((n, d)) + 1e-3)
    y = rng.standard_normal(n)
    net = init_network(d, m, rng=seed)
    kw = dict(scheme="gd", eta=eta, global_steps=4, shift=b)
    try:
        s = train(X, y, net, engine="sparse", **kw)
    except ValueError as e:  # every neuron silent: refused before training, by both engines
        assert "U is empty" in str(e)
        with pytest.raises(ValueError, match="U is empty"):
            train(X, y, net, engine="dense", **kw)
        return
    dn = train(X, y, net, engine="dense", **kw)
    assert s.status == dn.status
    npt.assert_allclose(s.W, dn.W, rtol=1e-12, atol=1e-12)
    for f in ("fired_min", "fired_max", "union_size", "status_changes"):
        npt.assert_array_equal(getattr(s.trajectory, f), getattr(dn.trajectory, f))
    assert np.all(np.diff(s.trajectory.union_size) <= 0)


def test_gauss_newton_with_unit_step_contracts_the_residual():
    # linearised, GN maps e to (1 − η) e; in the wide regime one step leaves a small residual
    X, y, net = _problem(n=10, d=6, m=4000, seed=3)
    res = train(X, y, net, scheme="gauss-newton", eta=1.0, global_steps=4, shift=0.5)
    assert res.status == "completed"
    tr = res.trajectory
    live = tr.residual[:-1] > 1e-10 * tr.residual[0]  # above rounding level
    assert live.sum() >= 2 and np.all(tr.residual_ratio[live] < 0.5)
    assert tr.residual[-1] < 1e-12 * tr.residual[0]  # quadratic convergence to rounding level


# ----------------------------------------------------------------------------- statuses and bad input


def test_singular_system_without_damping_is_a_clear_error_and_damping_fixes_it():
    X, y, net = _problem(n=6, d=3, m=20, seed=1)
    b = 1.8  # at m = 20 some point has no fired neuron: a zero row of H_b
    with pytest.raises(ValueError, match=r"singular.*no neuron fires on point"):
        train(X, y, net, scheme="gauss-newton", eta=1.0, global_steps=3, shift=b)
    res = train(X, y, net, scheme="gauss-newton", eta=1.0, global_steps=3, shift=b, damping=1e-2)
    assert res.status == "completed"


def test_singular_later_in_the_run_stops_with_a_status(monkeypatch):
    X, y, net = _problem(n=6, d=3, m=200, seed=1)
    real, calls = fired_train._factor, []

    def factor(H, mu):
        calls.append(1)
        return real(H, mu) if len(calls) < 3 else None

    monkeypatch.setattr(fired_train, "_factor", factor)
    with pytest.warns(NumericalWarning, match="singular"):
        res = train(X, y, net, scheme="gauss-newton", eta=0.5, global_steps=5, shift=0.2)
    assert res.status == "singular" and res.steps == 2 and res.trajectory.loss.shape == (3,)


def test_empty_union_is_refused_before_training():
    X, y, net = _problem(n=5, d=3, m=10)
    for engine in ENGINES:
        with pytest.raises(ValueError, match="U is empty"):
            train(X, y, net, scheme="gauss-newton", eta=1.0, global_steps=2, shift=50.0, engine=engine)


def test_interrupt_returns_the_completed_iterations(monkeypatch):
    X, y, net = _problem(n=6, d=3, m=100)
    fired = importlib.import_module("ntkcheck.fired")
    real, calls = fired.SparseFiredEngine.step, []

    def step(self, c):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, c)

    monkeypatch.setattr(fired.SparseFiredEngine, "step", step)
    res = train(X, y, net, scheme="gauss-newton", eta=0.5, global_steps=6, shift=0.1)
    assert res.status == "interrupted" and res.steps == 2


def test_divergence_is_reported():
    X, y, net = _problem(n=6, d=3, m=100)
    with pytest.warns(NumericalWarning, match="diverged"):
        res = train(X, y, net, scheme="gd", eta=1e9, global_steps=10, shift=0.1, engine="dense")
    assert res.status == "diverged"


@pytest.mark.parametrize("kw, match", [
    (dict(scheme="gauss-newton", damping=-1.0), "damping"),
    (dict(scheme="gauss-newton", damping=float("nan")), "damping"),
    (dict(scheme="gd", damping=0.1), "damping"),
    (dict(scheme="bernoulli", p=2, xi=0.5, damping=0.1), "damping"),
    (dict(scheme="gauss-newton", engine="gpu"), "engine"),
    (dict(scheme="bernoulli", p=2, xi=0.5, engine="sparse"), "engine"),
    (dict(scheme="gauss-newton", p=2), "p=2"),
    (dict(scheme="gauss-newton", local_steps=3), "local_steps"),
    (dict(scheme="gauss-newton", xi=0.5), "xi"),
    (dict(scheme="gauss-newton", masks=np.ones((2, 1, 10), bool)), "masks"),
    (dict(scheme="gauss-newton", record=("patterns",)), "patterns"),
    (dict(scheme="gauss-newton", eta=0.0), "eta"),
    (dict(scheme="gauss-newton", shift=float("inf")), "shift"),
    (dict(scheme="gauss-newton", shift="1"), "shift"),
    (dict(scheme="gd", shift=float("nan")), "shift"),
])
def test_bad_parameters_name_the_parameter(kw, match):
    X, y, net = _problem(n=5, d=3, m=10)
    args = dict(eta=1.0, global_steps=2)
    args.update(kw)
    with pytest.raises((ValueError, TypeError), match=match):
        train(X, y, net, **args)


def test_negative_width_is_refused():
    with pytest.raises(ValueError, match="`m`"):
        init_network(3, -4)
