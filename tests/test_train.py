"""Tests of ntkcheck.train (LK22 Algorithm 1): naive reference, GD, records, reproducibility, errors."""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import signal
import threading

import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntkcheck import NumericalWarning, init_network, network_output, sample_masks, train
from ntkcheck._progress import DeferSigint
from ntkcheck.network import Network

from .conftest import ATOL_EXACT, RTOL_EXACT, unit_rows
from .reference_train import algorithm1, plain_gd

train_module = importlib.import_module("ntkcheck.train")

#: Fast and naive implementations sum in different orders; over several global steps the
#: weights agree to this absolute tolerance (the issue's 1e-10).
ATOL_REPLAY = 1e-10

# scheme, p, xi given to train, xi used by the reference, tau
SCHEME_CASES = [
    ("gd", 1, None, 1.0, 3),
    ("dropout", 1, 0.5, 0.5, 1),
    ("multi-sample-dropout", 3, 0.4, 0.4, 1),
    ("ist-bernoulli", 3, None, 1 / 3, 2),
    ("ist-categorical", 3, None, 1 / 3, 3),
    ("bernoulli", 4, 0.6, 0.6, 2),
    ("categorical", 2, 0.5, 0.5, 2),
]


def _problem(n=10, d=4, m=24, seed=0, kappa=1.0):
    rng = np.random.default_rng(seed)
    X = unit_rows(rng.standard_normal((n, d)))
    y = rng.standard_normal(n)
    return X, y, init_network(d, m, kappa=kappa, rng=seed + 100)


def _masks_for(scheme, p, xi, K, m, seed):
    if scheme == "gd":
        return np.ones((K, 1, m), dtype=bool)
    kind = "categorical" if "categorical" in scheme else "bernoulli"
    return sample_masks(m, p, kind=kind, xi=None if kind == "categorical" else xi, steps=K, rng=seed)


@pytest.mark.parametrize("scheme, p, xi, xi_ref, tau", SCHEME_CASES)
def test_replayed_masks_match_naive_algorithm1(scheme, p, xi, xi_ref, tau):
    X, y, net = _problem()
    K, eta = 5, 0.4
    M = _masks_for(scheme, p, xi_ref, K, net.m, seed=3)
    res = train(X, y, net, scheme=scheme, eta=eta, global_steps=K, local_steps=tau, p=p, xi=xi, masks=M,
                chunk_size=5, n_threads=2, record="full")
    W_ref, h = algorithm1(X, y, net.W, net.a, M, eta, tau, xi_ref)
    tr = res.trajectory
    assert res.status == "completed" and tr.steps == K
    npt.assert_allclose(res.W, W_ref, rtol=0, atol=ATOL_REPLAY)
    assert np.abs(res.W - net.W).max() > 1e-3  # the run actually moved
    npt.assert_allclose(tr.loss, h["loss"], rtol=1e-10)
    npt.assert_allclose(tr.sampled_loss, h["sampled_loss"], rtol=1e-10)
    npt.assert_allclose(tr.local_loss, h["local_loss"], rtol=1e-10)
    # local movement: max over l, t = 1..τ, r of ‖w^l_{k,t,r} − w_{k,r}‖
    local_mv = [max(np.linalg.norm(path[t] - path[0], axis=1).max() for path in h["local_W"][k]
                    for t in range(1, tau + 1)) for k in range(K)]
    npt.assert_allclose(tr.local_movement, local_mv, rtol=1e-9)
    # masked-NTK λ_min at W^l_{k,t}, t = 0..τ−1, normalised by the full width m (LK22 Def. 1)
    lam = np.array([[[_naive_lam_min(X, h["local_W"][k][l][t], M[k, l]) for l in range(p)]
                     for t in range(tau)] for k in range(K)])
    npt.assert_allclose(tr.lam_min_masked, lam, rtol=1e-8, atol=1e-12)


@given(n=st.integers(1, 7), d=st.integers(1, 4), m=st.integers(1, 13), p=st.integers(1, 4),
       tau=st.integers(1, 3), categorical=st.booleans(), xi=st.floats(0.05, 1.0), chunk=st.integers(1, 6),
       seed=st.integers(0, 2**31))
def test_property_replay_matches_naive_algorithm1(n, d, m, p, tau, categorical, xi, chunk, seed):
    # arbitrary small shapes (incl. empty subnetworks, d = 1, one input), chunkings and masks
    rng = np.random.default_rng(seed)
    X = unit_rows(rng.standard_normal((n, d)) + 1e-3)
    y = rng.standard_normal(n)
    net = init_network(d, m, kappa=float(rng.uniform(0.1, 2.0)), rng=seed)
    kind = "categorical" if categorical else "bernoulli"
    xi = 1.0 / p if categorical else xi
    M = sample_masks(m, p, kind=kind, xi=xi, steps=3, rng=seed + 1)
    res = train(X, y, net, scheme=kind, eta=0.3, global_steps=3, local_steps=tau, p=p, xi=xi, masks=M,
                chunk_size=chunk, n_threads=2)
    W_ref, h = algorithm1(X, y, net.W, net.a, M, 0.3, tau, xi)
    npt.assert_allclose(res.W, W_ref, rtol=0, atol=ATOL_REPLAY)
    npt.assert_allclose(res.trajectory.loss, h["loss"], rtol=1e-10, atol=ATOL_EXACT)
    npt.assert_allclose(res.trajectory.local_loss, h["local_loss"], rtol=1e-10, atol=ATOL_EXACT)


def _naive_lam_min(X, W, mask):
    A = (X @ W.T >= 0.0).astype(float)
    H = (X @ X.T) * ((A * mask) @ A.T) / W.shape[0]
    return np.linalg.eigvalsh(H)[0]


def test_records_match_direct_computation():
    X, y, net = _problem(n=12, m=30, seed=4)
    K, p, xi, tau = 6, 3, 0.5, 2
    M = sample_masks(net.m, p, kind="bernoulli", xi=xi, steps=K, rng=8)
    res = train(X, y, net, scheme="bernoulli", eta=0.5, global_steps=K, local_steps=tau, p=p, xi=xi, masks=M,
                record="full", chunk_size=7)
    tr = res.trajectory
    W_hist = [net.W] + [algorithm1(X, y, net.W, net.a, M[:k], 0.5, tau, xi)[0] for k in range(1, K + 1)]
    A0 = X @ net.W.T >= 0
    for k, Wk in enumerate(W_hist):
        dW = Wk - net.W
        assert tr.max_movement[k] == pytest.approx(np.linalg.norm(dW, axis=1).max(), rel=1e-9, abs=1e-14)
        assert tr.frobenius_movement[k] == pytest.approx(np.linalg.norm(dW), rel=1e-9, abs=1e-14)
        assert tr.pattern_change[k] == np.mean((X @ Wk.T >= 0) != A0)
        assert tr.lam_min_full[k] == pytest.approx(_naive_lam_min(X, Wk, np.ones(net.m)), rel=1e-8, abs=1e-12)
        assert tr.loss[k] == pytest.approx(np.sum((y - xi * network_output(X, Wk, net.a)) ** 2), rel=1e-12)
    N = M.sum(axis=1)
    npt.assert_array_equal(tr.neurons_uncovered, (N == 0).mean(axis=1))
    npt.assert_array_equal(tr.neurons_shared, (N >= 2).mean(axis=1))
    npt.assert_array_equal(tr.neurons_mean_count, N.mean(axis=1))
    npt.assert_array_equal(tr.neurons_max_count, N.max(axis=1))
    npt.assert_array_equal(tr.subnet_size, M.sum(axis=2))
    assert tr.theta == pytest.approx(1 - 0.5**3) and tr.xi == xi
    assert tr.pattern_change[-1] > 0  # something flipped, so the check above is not vacuous


def test_record_levels():
    X, y, net = _problem()
    kw = dict(scheme="bernoulli", eta=0.1, global_steps=2, p=2, xi=0.5, rng=0)
    loss_only = train(X, y, net, record="loss", **kw).trajectory
    assert loss_only.pattern_change is None and loss_only.lam_min_full is None and loss_only.lam_min_masked is None
    basic = train(X, y, net, **kw).trajectory
    assert basic.pattern_change.shape == (3,) and basic.lam_min_full is None
    some = train(X, y, net, record=["lam_min_full"], **kw).trajectory
    assert some.lam_min_full.shape == (3,) and some.pattern_change is None
    npt.assert_array_equal(loss_only.loss, basic.loss)
    with pytest.raises(ValueError, match=r"`record` items must be from .*unknown item\(s\) \['eigs'\]"):
        train(X, y, net, record=["eigs"], **kw)
    with pytest.raises(ValueError, match=r"`record` must be one of \['loss', 'basic', 'standard', 'full', 'certified'\]"):
        train(X, y, net, record="everything", **kw)


@pytest.mark.parametrize("tau", [1, 3])
def test_gd_is_plain_gradient_descent(tau):
    # docs/theory.md §5.7: p = 1, ξ = 1, any τ: K global steps are K·τ steps of GD on ½‖y − f(W, X)‖².
    X, y, net = _problem(n=15, m=40, seed=2)
    K, eta = 4, 0.7
    res = train(X, y, net, scheme="gd", eta=eta, global_steps=K, local_steps=tau)
    npt.assert_allclose(res.W, plain_gd(X, y, net.W, net.a, eta, K * tau), rtol=0, atol=ATOL_REPLAY)
    # the ξ = 1 sampled loss is the tracked loss: sampling moves nothing
    npt.assert_allclose(res.trajectory.sampled_loss, res.trajectory.loss[:-1], rtol=RTOL_EXACT)
    npt.assert_allclose(res.trajectory.local_loss[:, -1, 0], res.trajectory.loss[1:], rtol=1e-12)


def test_sampled_run_equals_replay_of_sample_masks():
    X, y, net = _problem()
    kw = dict(scheme="ist-categorical", eta=0.3, global_steps=4, local_steps=2, p=3)
    a = train(X, y, net, rng=11, **kw)
    b = train(X, y, net, masks=sample_masks(net.m, 3, kind="categorical", steps=4, rng=11), **kw)
    npt.assert_array_equal(a.W, b.W)
    npt.assert_array_equal(a.trajectory.loss, b.trajectory.loss)
    assert a.seed == 11 and b.seed is None


def _assert_identical(r1, r2):
    npt.assert_array_equal(r1.W, r2.W)
    for f in dataclasses.fields(r1.trajectory):
        v1, v2 = getattr(r1.trajectory, f.name), getattr(r2.trajectory, f.name)
        if isinstance(v1, np.ndarray):
            assert v1.tobytes() == v2.tobytes(), f.name
        else:
            assert v1 == v2, f.name


def test_same_seed_bit_identical_any_thread_count():
    X, y, net = _problem(n=40, m=300, seed=5)
    kw = dict(scheme="bernoulli", eta=0.5, global_steps=5, local_steps=2, p=3, xi=0.4, rng=21,
              chunk_size=16, record="full")
    one = train(X, y, net, n_threads=1, **kw)
    two = train(X, y, net, n_threads=2, **kw)
    four = train(X, y, net, n_threads=4, **kw)
    again = train(X, y, net, n_threads=2, **kw)
    for other in (two, four, again):
        _assert_identical(one, other)
    other_seed = train(X, y, net, n_threads=2, **{**kw, "rng": 22})
    assert not np.array_equal(one.W, other_seed.W)


def test_incremental_output_stays_exact_over_many_steps():
    # f(W_k, X) is updated incrementally and refreshed every 100 steps; check L_k against a
    # direct evaluation after 150 steps (and the naive reference at every step).
    X, y, net = _problem(n=6, d=3, m=12, seed=6)
    K, p, xi = 150, 2, 0.5
    M = sample_masks(net.m, p, kind="bernoulli", xi=xi, steps=K, rng=1)
    res = train(X, y, net, scheme="bernoulli", eta=0.2, global_steps=K, p=p, xi=xi, masks=M, chunk_size=5)
    W_ref, h = algorithm1(X, y, net.W, net.a, M, 0.2, 1, xi)
    npt.assert_allclose(res.trajectory.loss, h["loss"], rtol=1e-10, atol=ATOL_EXACT)
    assert res.trajectory.loss[-1] == pytest.approx(np.sum((y - xi * network_output(X, res.W, net.a)) ** 2),
                                                    rel=1e-12)


def test_zero_global_steps():
    X, y, net = _problem()
    res = train(X, y, net, scheme="dropout", eta=1.0, global_steps=0, xi=0.5, rng=0)
    assert res.status == "completed" and res.steps == 0
    assert res.trajectory.loss.shape == (1,) and res.trajectory.local_loss.shape == (0, 1, 1)
    npt.assert_array_equal(res.W, net.W)


def test_result_metadata_config_and_immutability():
    X, y, net = _problem()
    res = train(X, y, net, scheme="ist-bernoulli", eta=0.1, global_steps=2, p=4, local_steps=2, rng=3)
    cfg = json.loads(json.dumps(res.config))
    assert cfg["scheme"] == "ist-bernoulli" and cfg["xi"] == 0.25 and cfg["p"] == 4 and cfg["local_steps"] == 2
    assert cfg["mask_seed"] == 3 and cfg["init_seed"] == 100 and cfg["steps_completed"] == 2
    assert res.W0 is net.W and res.network is net and res.seed == 3
    assert res.trajectory.theta == pytest.approx(1 - 0.75**4)
    with pytest.raises(ValueError):
        res.W[0, 0] = 0.0
    with pytest.raises(ValueError):
        res.trajectory.loss[0] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.status = "x"


def test_divergence_returns_partial_result():
    X, y, net = _problem(n=10, m=20, seed=7)
    with pytest.warns(NumericalWarning, match=r"training diverged at global step \d+.*eta=1e\+150"):
        res = train(X, y, net, scheme="gd", eta=1e150, global_steps=50)
    tr = res.trajectory
    assert res.status == "diverged" and ("non-finite" in res.message or "exceeded" in res.message)
    assert 1 <= tr.steps < 50 and tr.loss.shape == (tr.steps + 1,)
    assert np.isfinite(tr.loss[0]) and res.config["steps_completed"] == tr.steps


def test_a_loss_that_explodes_while_finite_is_divergence_not_completion():
    """A loss going from ~2 to 1e7+ (finite) stops the run as diverged at the first step above
    DIVERGENCE_FACTOR x max(L_0, ||y||^2), not after K steps with status completed."""
    from ntkcheck.train import DIVERGENCE_FACTOR

    X, y, net = _problem(n=10, m=20, seed=7)
    with pytest.warns(NumericalWarning, match="exceeded 1e\\+06 x max"):
        res = train(X, y, net, scheme="gd", eta=5.0, global_steps=200)
    L = res.trajectory.loss
    scale = max(L[0], float(np.asarray(y) @ np.asarray(y)))
    assert res.status == "diverged" and np.all(np.isfinite(L)) and res.trajectory.steps < 200
    assert L[-1] > DIVERGENCE_FACTOR * scale and np.all(L[:-1] <= DIVERGENCE_FACTOR * scale)


def test_keyboard_interrupt_returns_completed_steps(monkeypatch):
    X, y, net = _problem()
    M = sample_masks(net.m, 2, kind="bernoulli", xi=0.5, steps=6, rng=4)
    kw = dict(scheme="bernoulli", eta=0.3, p=2, xi=0.5)
    original = train_module._Engine.global_step
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(train_module._Engine, "global_step", interrupted)
    res = train(X, y, net, global_steps=6, masks=M, **kw)
    monkeypatch.undo()
    ref = train(X, y, net, global_steps=3, masks=M[:3], **kw)
    assert res.status == "interrupted" and res.steps == 3 and "3 of 6" in res.message
    _assert_identical(res, ref)


def test_real_sigint_mid_run_returns_consistent_partial_result():
    # a real Ctrl-C from another thread, with the thread pool busy: the steps completed are kept
    # and the returned weights are exactly those of a run of that many steps.
    X, y, net = _problem(n=30, m=200, seed=9)
    K = 200000
    kw = dict(scheme="bernoulli", eta=0.05, p=3, xi=0.5, chunk_size=16, n_threads=2, record="loss")
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        res = train(X, y, net, global_steps=K, rng=5, **kw)
    finally:
        timer.cancel()
    assert res.status == "interrupted" and 0 < res.steps < K
    ref = train(X, y, net, global_steps=res.steps, rng=5, **kw)
    _assert_identical(res, ref)


def test_defer_sigint_delays_the_interrupt():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with DeferSigint():
            os.kill(os.getpid(), signal.SIGINT)
            done.append(1)  # still runs: the interrupt waits for the end of the block
    assert done == [1]


def test_progress_goes_to_stderr(capsys):
    X, y, net = _problem()
    train(X, y, net, scheme="gd", eta=0.1, global_steps=3, progress=True)
    err = capsys.readouterr().err
    assert "[train] 3/3" in err and "loss=" in err
    train(X, y, net, scheme="gd", eta=0.1, global_steps=3)
    assert capsys.readouterr().err == ""


GOOD = dict(scheme="bernoulli", eta=0.1, global_steps=2, local_steps=1, p=2, xi=0.5)


@pytest.mark.parametrize(
    "change, exc, match",
    [
        (dict(eta=0.0), ValueError, r"`eta` must be > 0.0, got eta=0.0"),
        (dict(eta=-1), ValueError, r"`eta` must be > 0.0, got eta=-1"),
        (dict(eta=np.nan), ValueError, r"`eta` must be finite"),
        (dict(xi=0.0), ValueError, r"`xi` must be in \(0.0, 1.0\], got xi=0.0"),
        (dict(xi=1.2), ValueError, r"`xi` must be in \(0.0, 1.0\], got xi=1.2"),
        (dict(p=0), ValueError, r"`p` must be >= 1, got p=0"),
        (dict(local_steps=0), ValueError, r"`local_steps` must be >= 1, got local_steps=0"),
        (dict(global_steps=-3), ValueError, r"`global_steps` must be >= 0, got global_steps=-3"),
        (dict(global_steps=2.0), TypeError, r"`global_steps` must be an integer"),
        (dict(scheme="sgd"), ValueError, r"`scheme` must be one of \['gd', 'dropout'"),
        (dict(scheme="dropout", p=4), ValueError, r"scheme='dropout' fixes `p` = 1, got p=4"),
        (dict(scheme="dropout", p=1, local_steps=2), ValueError, r"fixes `local_steps` \(τ\) = 1, got local_steps=2"),
        (dict(scheme="multi-sample-dropout", local_steps=3), ValueError, r"fixes `local_steps` \(τ\) = 1"),
        (dict(scheme="gd", p=1, xi=0.5), ValueError, r"scheme='gd' fixes `xi` = 1.0, got xi=0.5"),
        (dict(scheme="ist-bernoulli", p=4, xi=0.5), ValueError, r"fixes `xi` = 1/p = 0.25 \(p=4\), got xi=0.5"),
        (dict(scheme="ist-categorical", p=2, xi=0.3), ValueError, r"fixes `xi` = 1/p = 0.5"),
        (dict(n_threads=0), ValueError, r"`n_threads` must be >= 1"),
        (dict(chunk_size=0), ValueError, r"`chunk_size` must be >= 1"),
    ],
)
def test_bad_parameters(change, exc, match):
    X, y, net = _problem()
    with pytest.raises(exc, match=match):
        train(X, y, net, **{**GOOD, **change})


def test_bad_data():
    X, y, net = _problem(n=10, d=4, m=24)
    with pytest.raises(ValueError, match=r"`y` must have length n=10 .*got length 9"):
        train(X, y[:9], net, **GOOD)
    with pytest.raises(ValueError, match=r"`net.W` must have shape \(m, d\) with d=3 columns"):
        train(X[:, :3], y, net, **GOOD)
    Xn = X.copy()
    Xn[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"`X` must be finite \(no NaN or inf\), got X\[2, 1\]=nan"):
        train(Xn, y, net, **GOOD)
    yn = y.copy()
    yn[3] = np.inf
    with pytest.raises(ValueError, match=r"`y` must be finite .*got y\[3\]=inf"):
        train(X, yn, net, **GOOD)
    with pytest.raises(ValueError, match=r"`X` must be 2-D"):
        train(X[0], y, net, **GOOD)
    with pytest.raises(TypeError, match=r"`net` must be a Network"):
        train(X, y, net.W, **GOOD)
    bad_net = Network(W=np.full((24, 4), np.inf), a=net.a, kappa=1.0)
    with pytest.raises(ValueError, match=r"`net.W` must be finite"):
        train(X, y, bad_net, **GOOD)


def test_bad_masks():
    X, y, net = _problem(m=24)
    M = sample_masks(24, 2, kind="bernoulli", xi=0.5, steps=2, rng=0)
    with pytest.raises(ValueError, match=r"`masks` must have shape \(global_steps, p, m\) = \(2, 2, 24\), got shape \(2, 24\)"):
        train(X, y, net, masks=M[0], **GOOD)
    with pytest.raises(ValueError, match=r"`masks` must have shape .* = \(3, 2, 24\)"):
        train(X, y, net, masks=M, **{**GOOD, "global_steps": 3})
    M2 = M.astype(float)
    M2[1, 0, 5] = 2.0
    with pytest.raises(ValueError, match=r"entries of `masks` must be 0 or 1, got masks\[1, 0, 5\]=2.0"):
        train(X, y, net, masks=M2, **GOOD)
    with pytest.raises(ValueError, match=r"scheme='categorical' needs categorical `masks` that partition"):
        train(X, y, net, masks=M, **{**GOOD, "scheme": "categorical", "xi": None})
    with pytest.raises(ValueError, match=r"scheme='gd' needs all-ones `masks`"):
        train(X, y, net, masks=M[:, :1], **{**GOOD, "scheme": "gd", "p": 1, "xi": None})
    # integer 0/1 masks are accepted and equal to bool masks
    a = train(X, y, net, masks=M.astype(np.int8), **GOOD)
    b = train(X, y, net, masks=M, **GOOD)
    npt.assert_array_equal(a.W, b.W)


def test_default_xi_is_one_and_ist_schemes_fix_xi_to_one_over_p():
    """The issue's signature has ``xi=1.0``; under IST that default stands for xi = 1/p."""
    import inspect

    assert inspect.signature(train).parameters["xi"].default == 1.0
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = rng.standard_normal(6)
    net = init_network(3, 16, rng=1)
    for scheme in ("ist-categorical", "ist-bernoulli"):
        res = train(X, y, net, scheme=scheme, eta=0.1, global_steps=1, p=4, rng=2)
        assert res.config["xi"] == 0.25
        with pytest.raises(ValueError, match=r"fixes `xi` = 1/p = 0.25 \(p=4\), got xi=0.5"):
            train(X, y, net, scheme=scheme, eta=0.1, global_steps=1, p=4, xi=0.5)
    assert train(X, y, net, scheme="bernoulli", eta=0.1, global_steps=1, p=4, rng=2).config["xi"] == 1.0


# ----------------------------------------------------------------------------- float32


@pytest.mark.parametrize("scheme, p, xi, tau", [("gd", 1, None, 1), ("bernoulli", 4, 0.25, 5), ("categorical", 4, None, 5)])
def test_float32_follows_the_float64_run_within_its_documented_accuracy(scheme, p, xi, tau):
    X, y, net = _problem(n=60, d=8, m=512, seed=9)
    kw = dict(scheme=scheme, p=p, xi=xi, local_steps=tau, eta=0.3, global_steps=50, rng=2, chunk_size=100,
              record="standard")
    a = train(X, y, net, **kw)
    b = train(X, y, net, dtype=np.float32, **kw)
    assert b.W.dtype == np.float32 and b.config["dtype"] == "float32" and a.config["dtype"] == "float64"
    assert b.trajectory.loss.dtype == np.float64
    assert a.trajectory.loss[-1] < 0.5 * a.trajectory.loss[0]  # a run that trains
    npt.assert_allclose(b.trajectory.loss, a.trajectory.loss, rtol=5e-4)
    # λ_min(H(W_k)) moves by O(1/m) per flipped activation: equal up to a few flips
    npt.assert_allclose(b.trajectory.lam_min_full, a.trajectory.lam_min_full, atol=10 / net.m)
    assert np.linalg.norm(b.W - a.W) <= 1e-2 * np.linalg.norm(a.W - net.W)
    assert not np.array_equal(b.W.astype(np.float64), a.W)  # really computed in float32


def test_float32_is_bit_identical_across_thread_counts():
    X, y, net = _problem(n=30, d=5, m=300, seed=3)
    kw = dict(scheme="bernoulli", p=3, xi=0.5, local_steps=2, eta=0.4, global_steps=10, rng=5, chunk_size=40,
              dtype=np.float32)
    r1 = train(X, y, net, n_threads=1, **kw)
    r2 = train(X, y, net, n_threads=2, **kw)
    assert np.array_equal(r1.W, r2.W) and np.array_equal(r1.trajectory.loss, r2.trajectory.loss)


@pytest.mark.parametrize("kw, match", [(dict(dtype=np.int64), "dtype"), (dict(dtype="float16"), "dtype"),
                                       (dict(dtype="nonsense"), "dtype"),
                                       (dict(dtype=np.float32, scheme="gauss-newton"), "dtype")])
def test_bad_dtype(kw, match):
    X, y, net = _problem()
    args = dict(scheme="gd", eta=0.5, global_steps=2)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        train(X, y, net, **args)
