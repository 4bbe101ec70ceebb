"""Tests of ntkcheck.deep_train: GD and masked (LK22 Algorithm 1) training of deep ReLU networks."""

from __future__ import annotations

import dataclasses
import importlib
import json
import math

import numpy as np
import numpy.testing as npt
import pytest

from ntkcheck import NumericalWarning, deep_forward, init_deep_network, init_network, network_output, sample_masks
from ntkcheck import min_eigenvalue, ntk_deep_finite, train
from ntkcheck.deep import DeepNetwork
from ntkcheck.deep_train import deep_from_two_layer, sample_deep_masks, train_deep

from . import reference_deep_train as reference
from .conftest import ATOL_EXACT, RTOL_EXACT, unit_rows

deep_train = importlib.import_module("ntkcheck.deep_train")

#: Central differences with step FD_STEP: truncation O(h²) plus rounding O(ε/h) relative error.
FD_STEP = 1e-6
RTOL_FD = 1e-6
#: Backward recursion against forward-mode loops: same quantity, different summation orders.
RTOL_REFERENCE = 1e-10
#: Deep (W1 = √d W / σ_w) against two-layer Algorithm 1 over 10-15 global steps: rounding only.
RTOL_TWO_LAYER = 1e-12

WIDTHS = {1: [5], 2: [4, 3], 3: [3, 4, 3]}


def _problem(n=6, d=3, widths=(8, 8), sigma_b=0.0, seed=0):
    rng = np.random.default_rng(seed)
    X = unit_rows(rng.standard_normal((n, d)))
    y = np.sign(X[:, 0]) + 0.1 * rng.standard_normal(n)
    net = init_deep_network(d, list(widths), sigma_w=1.3, sigma_b=sigma_b, rng=seed + 1)
    return X, y, net


def _grads(X, y, net, unit_masks=None):
    fwd = deep_train._forward(X, list(net.weights), list(net.biases), net.sigma_w, net.sigma_b, unit_masks)
    trained = tuple(range(net.depth + 1))
    gW, gb = deep_train._gradients(fwd, y, list(net.weights), net.sigma_w, net.sigma_b, unit_masks, trained)
    gb = [np.zeros_like(b) if g is None else g for g, b in zip(gb, net.biases)]
    return gW, gb


def _half_loss(X, y, weights, biases, net):
    r = deep_forward(X, DeepNetwork(weights=tuple(weights), biases=tuple(biases), sigma_w=net.sigma_w,
                                    sigma_b=net.sigma_b)) - y
    return 0.5 * float(r @ r)


# ----------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("L", [1, 2, 3])
@pytest.mark.parametrize("sigma_b", [0.0, 0.5])
def test_backprop_matches_central_differences(L, sigma_b):
    X, y, net = _problem(n=4, d=3, widths=WIDTHS[L], sigma_b=sigma_b, seed=L)
    gW, gb = _grads(X, y, net)
    for kind, params, grads in (("W", net.weights, gW), ("b", net.biases, gb)):
        for h, (P, G) in enumerate(zip(params, grads)):
            fd = np.zeros_like(P)
            for idx in np.ndindex(P.shape):
                vals = []
                for s in (1.0, -1.0):
                    Ws, bs = [W.copy() for W in net.weights], [b.copy() for b in net.biases]
                    (Ws if kind == "W" else bs)[h][idx] += s * FD_STEP
                    vals.append(_half_loss(X, y, Ws, bs, net))
                fd[idx] = (vals[0] - vals[1]) / (2 * FD_STEP)
            scale = max(np.abs(fd).max(), 1e-3)
            npt.assert_allclose(G, fd, rtol=0, atol=RTOL_FD * scale, err_msg=f"{kind}^({h + 1})")
    if sigma_b == 0.0:
        assert all(not g.any() for g in gb)


@pytest.mark.parametrize("L", [1, 2, 3])
def test_masked_backprop_matches_forward_mode_reference(L):
    X, y, net = _problem(n=3, d=3, widths=WIDTHS[L], sigma_b=0.4, seed=10 + L)
    rng = np.random.default_rng(L)
    masks = [(rng.random(w) < 0.6).astype(float) for w in net.widths]
    gW, gb = _grads(X, y, net, masks)
    rW, rb = reference.surrogate_gradient(X, y, net.weights, net.biases, net.sigma_w, net.sigma_b, masks)
    for G, R in zip(gW + gb, rW + rb):
        npt.assert_allclose(G, R, rtol=RTOL_REFERENCE, atol=ATOL_EXACT)


# ----------------------------------------------------------------------------- gradient descent


@pytest.mark.parametrize("L", [1, 2, 3])
def test_gd_with_small_eta_decreases_the_loss(L):
    X, y, net = _problem(n=8, d=4, widths=[16] * L, sigma_b=0.2, seed=3)
    res = train_deep(X, y, net, eta=0.02, steps=20, record_kernel_at=[])
    loss = res.trajectory.loss
    assert res.status == "completed" and loss.shape == (21,)
    assert np.all(np.diff(loss) < 0)
    npt.assert_allclose(loss[0], np.sum((y - deep_forward(X, net)) ** 2), rtol=RTOL_EXACT)
    npt.assert_allclose(loss[-1], np.sum((y - deep_forward(X, res.network)) ** 2), rtol=RTOL_EXACT)


def test_gd_local_steps_are_plain_gradient_steps():
    X, y, net = _problem(sigma_b=0.3)
    a = train_deep(X, y, net, eta=0.1, steps=3, local_steps=2, record_kernel_at=[])
    b = train_deep(X, y, net, eta=0.1, steps=6, record_kernel_at=[])
    for Wa, Wb in zip(a.network.weights + a.network.biases, b.network.weights + b.network.biases):
        npt.assert_allclose(Wa, Wb, rtol=RTOL_EXACT, atol=ATOL_EXACT)
    npt.assert_allclose(a.trajectory.loss, b.trajectory.loss[::2], rtol=RTOL_EXACT)


def test_layers_freeze_the_other_layers_exactly():
    X, y, net = _problem(widths=(6, 5), sigma_b=0.5)
    res = train_deep(X, y, net, eta=0.2, steps=5, layers=[2], record_kernel_at=[])
    for h in (0, 2):
        assert np.array_equal(res.network.weights[h], net.weights[h])
        assert np.array_equal(res.network.biases[h], net.biases[h])
    assert not np.array_equal(res.network.weights[1], net.weights[1])
    assert not np.array_equal(res.network.biases[1], net.biases[1])
    mv = res.trajectory.movement
    assert mv.shape == (6, 3) and np.all(mv[:, [0, 2]] == 0) and np.all(mv[1:, 1] > 0)
    final = np.linalg.norm(res.network.weights[1] - net.weights[1]) / np.linalg.norm(net.weights[1])
    npt.assert_allclose(mv[-1, 1], final, rtol=RTOL_EXACT)
    # a single int is accepted too
    one = train_deep(X, y, net, eta=0.2, steps=5, layers=2, record_kernel_at=[])
    npt.assert_array_equal(one.trajectory.loss, res.trajectory.loss)


# ----------------------------------------------------------------------------- L = 1 equals Algorithm 1

# scheme, p, xi, tau
TWO_LAYER_CASES = [("gd", 1, None, 1), ("bernoulli", 2, 0.5, 3), ("categorical", 3, None, 2)]


@pytest.mark.parametrize("sigma_w", [1.0, 1.7])
@pytest.mark.parametrize("scheme, p, xi, tau", TWO_LAYER_CASES)
def test_one_hidden_layer_equals_two_layer_algorithm1(scheme, p, xi, tau, sigma_w):
    n, d, m, K, eta = 10, 5, 40, 12, 0.3
    rng = np.random.default_rng(0)
    X = unit_rows(rng.standard_normal((n, d)))
    y = np.sign(X[:, 0])
    two = init_network(d, m, rng=1)
    M = None if scheme == "gd" else sample_masks(m, p, kind=scheme, xi=xi, steps=K, rng=5)
    ref = train(X, y, two, scheme=scheme, eta=eta, global_steps=K, local_steps=tau, p=p, xi=xi, masks=M,
                record="loss")
    deep = deep_from_two_layer(two, sigma_w=sigma_w)
    res = train_deep(X, y, deep, eta=eta * d / sigma_w**2, steps=K, layers=[1], scheme=scheme, p=p, xi=xi,
                     local_steps=tau, masks=None if M is None else [[Mk] for Mk in M])
    npt.assert_allclose(res.trajectory.loss, ref.trajectory.loss, rtol=RTOL_TWO_LAYER)
    npt.assert_allclose(res.network.weights[0] * (sigma_w / math.sqrt(d)), ref.W, rtol=RTOL_TWO_LAYER,
                        atol=RTOL_TWO_LAYER)
    assert np.array_equal(res.network.weights[1], deep.weights[1])  # the output layer a is fixed
    assert res.trajectory.xi == ref.trajectory.xi
    if M is not None:  # drawn from the same rng, the masks are train's: same run without replay
        drawn = train_deep(X, y, deep, eta=eta * d / sigma_w**2, steps=K, layers=[1], scheme=scheme, p=p, xi=xi,
                           local_steps=tau, rng=5, record_kernel_at=[])
        npt.assert_array_equal(drawn.trajectory.loss, res.trajectory.loss)


def test_deep_from_two_layer_computes_the_same_function_and_surrogates():
    two = init_network(4, 12, kappa=0.7, rng=3)
    X = unit_rows(np.random.default_rng(4).standard_normal((7, 4)))
    mask = (np.arange(12) % 3 != 0).astype(float)
    for sw in (1.0, 0.4):
        deep = deep_from_two_layer(two, sigma_w=sw)
        assert deep.depth == 1 and deep.widths == (12,) and deep.sigma_b == 0.0 and deep.seed == two.seed
        npt.assert_allclose(deep_forward(X, deep), network_output(X, two.W, two.a), rtol=RTOL_EXACT)
        f_m = deep_train._forward(X, list(deep.weights), list(deep.biases), sw, 0.0, [mask])[0]
        npt.assert_allclose(f_m, network_output(X, two.W, two.a, mask=mask), rtol=RTOL_EXACT, atol=ATOL_EXACT)
    with pytest.raises(TypeError, match="`net` must be a Network"):
        deep_from_two_layer(deep)
    with pytest.raises(ValueError, match="`sigma_w` must be > 0"):
        deep_from_two_layer(two, sigma_w=0.0)


# ----------------------------------------------------------------------------- masked aggregation


def _hand_masks():
    # layer 1 (width 4): unit 0 in both subnetworks, 1 only in l=0, 2 only in l=1, 3 in neither;
    # layer 2 (width 3): unit 0 in both, 1 in neither, 2 only in l=1.
    return [np.array([[1, 1, 0, 0], [1, 0, 1, 0]], dtype=float), np.array([[1, 0, 0], [1, 0, 1]], dtype=float)]


@pytest.mark.parametrize("layers", [None, [1, 3]])
def test_masked_global_step_matches_loop_reference(layers):
    X, y, net = _problem(n=4, d=3, widths=(4, 3), sigma_b=0.3, seed=21)
    Mk = _hand_masks()
    eta, tau, xi = 0.4, 2, 0.5
    res = train_deep(X, y, net, eta=eta, steps=1, scheme="bernoulli", p=2, xi=xi, local_steps=tau, masks=[Mk],
                     layers=layers, record_kernel_at=[])
    trained = {0, 1, 2} if layers is None else {0, 2}
    rW, rb = reference.masked_global_step(X, y, net.weights, net.biases, net.sigma_w, net.sigma_b, Mk, eta, tau,
                                          trained)
    for got, want in zip(res.network.weights + res.network.biases, rW + rb):
        npt.assert_allclose(got, want, rtol=RTOL_REFERENCE, atol=ATOL_EXACT)
    for t, (Ws, bs) in enumerate([(net.weights, net.biases), (rW, rb)]):
        npt.assert_allclose(res.trajectory.loss[t], reference.tracked_loss(X, y, Ws, bs, net.sigma_w, net.sigma_b, xi),
                            rtol=RTOL_REFERENCE)


@pytest.mark.parametrize("L", [1, 3])
def test_random_masked_global_step_matches_loop_reference(L):
    X, y, net = _problem(n=4, d=3, widths=WIDTHS[L], sigma_b=0.3, seed=30 + L)
    Mk = [M.astype(float) for M in sample_deep_masks(net.widths, 2, xi=0.6, rng=L)]
    res = train_deep(X, y, net, eta=0.3, steps=1, scheme="bernoulli", p=2, xi=0.6, local_steps=2, masks=[Mk],
                     record_kernel_at=[])
    rW, rb = reference.masked_global_step(X, y, net.weights, net.biases, net.sigma_w, net.sigma_b, Mk, 0.3, 2,
                                          set(range(L + 1)))
    for got, want in zip(res.network.weights + res.network.biases, rW + rb):
        npt.assert_allclose(got, want, rtol=RTOL_REFERENCE, atol=ATOL_EXACT)


def test_categorical_global_step_matches_loop_reference():
    X, y, net = _problem(n=4, d=3, widths=(4, 3), sigma_b=0.3, seed=22)
    Mk = [M.astype(float) for M in sample_deep_masks(net.widths, 2, kind="categorical", rng=7)]
    res = train_deep(X, y, net, eta=0.4, steps=1, scheme="categorical", p=2, local_steps=2, masks=[Mk],
                     record_kernel_at=[])
    rW, rb = reference.masked_global_step(X, y, net.weights, net.biases, net.sigma_w, net.sigma_b, Mk, 0.4, 2,
                                          {0, 1, 2})
    for got, want in zip(res.network.weights + res.network.biases, rW + rb):
        npt.assert_allclose(got, want, rtol=RTOL_REFERENCE, atol=ATOL_EXACT)
    assert res.trajectory.xi == 0.5


def test_parameters_active_in_no_subnetwork_are_unchanged():
    X, y, net = _problem(n=4, d=3, widths=(4, 3), sigma_b=0.3, seed=23)
    res = train_deep(X, y, net, eta=0.4, steps=1, scheme="bernoulli", p=2, xi=0.5, local_steps=2,
                     masks=[_hand_masks()], record_kernel_at=[])
    W1, W2, W3 = res.network.weights
    b1, b2, _ = res.network.biases
    # unit 3 of layer 1 and unit 1 of layer 2 are in no subnetwork: every weight touching them
    assert np.array_equal(W1[3], net.weights[0][3]) and b1[3] == net.biases[0][3]
    assert np.array_equal(W2[:, 3], net.weights[1][:, 3]) and np.array_equal(W2[1], net.weights[1][1])
    assert b2[1] == net.biases[1][1] and W3[0, 1] == net.weights[2][0, 1]
    # W2[2, 1]: unit 2 of layer 2 (l=1 only) and unit 1 of layer 1 (l=0 only) never share a subnetwork
    assert W2[2, 1] == net.weights[1][2, 1]
    # everything active somewhere moved
    assert W2[0, 0] != net.weights[1][0, 0] and W2[2, 2] != net.weights[1][2, 2] and W1[0, 0] != net.weights[0][0, 0]


# ----------------------------------------------------------------------------- kernel records


def test_kernel_drift_recorded_at_requested_steps():
    X, y, net = _problem(n=6, widths=(32, 32), sigma_b=0.2)
    res = train_deep(X, y, net, eta=0.5, steps=7, record_kernel_at=[7, 0, 3, 3])
    tr = res.trajectory
    assert tr.kernel_steps.tolist() == [0, 3, 7] and tr.kernel_drift.shape == (3,)
    assert tr.kernel_drift[0] == 0.0 and tr.kernel_drift_spectral[0] == 0.0
    th0, th = ntk_deep_finite(X, net), ntk_deep_finite(X, res.network)
    npt.assert_allclose(tr.lam_min[0], min_eigenvalue(th0), rtol=RTOL_EXACT)
    npt.assert_allclose(tr.lam_min[-1], min_eigenvalue(th), rtol=RTOL_EXACT)
    npt.assert_allclose(tr.kernel_drift[-1], np.linalg.norm(th - th0) / np.linalg.norm(th0), rtol=RTOL_REFERENCE)
    npt.assert_allclose(tr.kernel_drift_spectral[-1], np.linalg.norm(th - th0, 2) / np.linalg.norm(th0, 2),
                        rtol=RTOL_REFERENCE)
    assert np.all(tr.kernel_drift[1:] > 0)


def test_default_and_empty_kernel_steps():
    X, y, net = _problem()
    assert train_deep(X, y, net, eta=0.1, steps=8).trajectory.kernel_steps.tolist() == [0, 2, 4, 6, 8]
    assert train_deep(X, y, net, eta=0.1, steps=0).trajectory.kernel_steps.tolist() == [0]
    empty = train_deep(X, y, net, eta=0.1, steps=3, record_kernel_at=[]).trajectory
    assert empty.kernel_steps.shape == (0,) and empty.kernel_drift.shape == (0,) and empty.lam_min.shape == (0,)


def test_kernel_of_the_trained_layers_only():
    X, y, net = _problem(widths=(16, 16))
    res = train_deep(X, y, net, eta=0.3, steps=4, layers=[2], record_kernel_at=[0, 4])
    _, terms0 = ntk_deep_finite(X, net, per_layer=True)
    _, terms = ntk_deep_finite(X, res.network, per_layer=True)
    npt.assert_allclose(res.trajectory.lam_min, [min_eigenvalue(terms0[1]), min_eigenvalue(terms[1])],
                        rtol=RTOL_EXACT)
    npt.assert_allclose(res.trajectory.kernel_drift[1], np.linalg.norm(terms[1] - terms0[1])
                        / np.linalg.norm(terms0[1]), rtol=RTOL_REFERENCE)


# ----------------------------------------------------------------------------- masks, rng, results


def test_sample_deep_masks_layout_and_one_layer_equals_sample_masks():
    M = sample_deep_masks([5, 3], 2, xi=0.5, steps=4, rng=9)
    assert len(M) == 4 and [a.shape for a in M[0]] == [(2, 5), (2, 3)] and M[0][0].dtype == bool
    one = sample_deep_masks([7], 3, kind="categorical", steps=4, rng=2)
    npt.assert_array_equal(np.array([s[0] for s in one]), sample_masks(7, 3, kind="categorical", steps=4, rng=2))
    single = sample_deep_masks([5, 3], 2, xi=0.5, rng=9)
    assert [a.shape for a in single] == [(2, 5), (2, 3)]
    with pytest.raises(ValueError, match="`xi` is required"):
        sample_deep_masks([5], 2)


def test_rng_reproducibility_and_replay():
    X, y, net = _problem(widths=(6, 5), sigma_b=0.2)
    kw = dict(eta=0.2, steps=5, scheme="bernoulli", p=2, xi=0.6, local_steps=2, record_kernel_at=[])
    a = train_deep(X, y, net, rng=11, **kw)
    b = train_deep(X, y, net, rng=np.random.default_rng(11), **kw)
    replay = train_deep(X, y, net, masks=sample_deep_masks(net.widths, 2, xi=0.6, steps=5, rng=11), **kw)
    other = train_deep(X, y, net, rng=12, **kw)
    for r in (b, replay):
        npt.assert_array_equal(r.trajectory.loss, a.trajectory.loss)
        for u, v in zip(r.network.weights + r.network.biases, a.network.weights + a.network.biases):
            npt.assert_array_equal(u, v)
    assert not np.array_equal(other.trajectory.loss, a.trajectory.loss)
    assert a.seed == 11 and replay.seed is None and a.config["mask_seed"] == 11
    assert replay.config["masks"].startswith("given, sha256=")


def test_result_metadata_is_frozen_and_serialisable():
    X, y, net = _problem()
    res = train_deep(X, y, net, eta=0.1, steps=3, scheme="categorical", p=2, rng=0)
    json.dumps(res.config)
    assert res.config["layers"] == [1, 2, 3] and res.config["xi"] == 0.5 and res.config["steps_completed"] == 3
    assert res.initial is net and res.network_step == 3 and res.steps == 3
    with pytest.raises(ValueError):
        res.trajectory.loss[0] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.status = "x"


def test_divergence_returns_partial_result():
    X, y, net = _problem()
    with pytest.warns(NumericalWarning, match=r"training diverged at global step \d+"):
        res = train_deep(X, y, net, eta=1e6, steps=50)
    tr = res.trajectory
    assert res.status == "diverged" and 1 <= tr.steps < 50 and tr.loss.shape == (tr.steps + 1,)
    assert np.isfinite(tr.loss[0]) and res.config["steps_completed"] == tr.steps
    assert res.network_step in (tr.steps - 1, tr.steps)
    assert all(np.isfinite(W).all() for W in res.network.weights)


def test_keyboard_interrupt_returns_completed_steps(monkeypatch):
    X, y, net = _problem()
    kw = dict(eta=0.1, scheme="bernoulli", p=2, xi=0.5, rng=3, record_kernel_at=[])
    original = deep_train._global_step
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(deep_train, "_global_step", interrupted)
    res = train_deep(X, y, net, steps=6, **kw)
    monkeypatch.undo()
    ref = train_deep(X, y, net, steps=3, **kw)
    assert res.status == "interrupted" and res.steps == 3 and "3 of 6" in res.message
    npt.assert_array_equal(res.trajectory.loss, ref.trajectory.loss)
    for u, v in zip(res.network.weights, ref.network.weights):
        npt.assert_array_equal(u, v)


@pytest.mark.parametrize(
    "change, exc, match",
    [
        (dict(layers=[0]), ValueError, "`layers` must be in"),
        (dict(layers=[4]), ValueError, "`layers` must be in"),
        (dict(layers=[]), ValueError, "`layers` must name at least one layer"),
        (dict(layers="1"), TypeError, "`layers` must be a layer index"),
        (dict(eta=0.0), ValueError, "`eta` must be > 0"),
        (dict(eta=-1.0), ValueError, "`eta` must be > 0"),
        (dict(steps=-1), ValueError, "`steps` must be >= 0"),
        (dict(local_steps=0), ValueError, "`local_steps` must be >= 1"),
        (dict(scheme="bernoulli", p=2, xi=0.0), ValueError, "`xi` must be in"),
        (dict(scheme="bernoulli", p=2, xi=1.5), ValueError, "`xi` must be in"),
        (dict(scheme="categorical", p=2, xi=0.3), ValueError, "fixes `xi`"),
        (dict(scheme="gd", p=2), ValueError, "fixes `p`"),
        (dict(scheme="nope"), ValueError, "`scheme` must be one of"),
        (dict(record_kernel_at=[5]), ValueError, "`record_kernel_at` must be in"),
        (dict(record_kernel_at=3), TypeError, "`record_kernel_at` must be a sequence"),
        (dict(progress=1), TypeError, "`progress` must be True or False"),
        (dict(scheme="bernoulli", p=2, xi=0.5, rng="seed"), TypeError, "`rng` must be"),
    ],
)
def test_bad_parameters(change, exc, match):
    X, y, net = _problem(widths=(4, 3))
    kw = dict(eta=0.1, steps=4)
    kw.update(change)
    with pytest.raises(exc, match=match):
        train_deep(X, y, net, **kw)


def test_bad_masks():
    X, y, net = _problem(widths=(4, 3))
    good = sample_deep_masks(net.widths, 2, xi=0.5, steps=2, rng=0)
    kw = dict(eta=0.1, steps=2, scheme="bernoulli", p=2, xi=0.5)
    bad_shape = [good[0], [good[1][0], good[1][1][:, :2]]]
    cases = [
        (good[:1], r"`masks` must hold one entry per global step \(steps=2\), got 1"),
        ([good[0], good[1][:1]], r"`masks\[1\]` must hold one \(p, d_h\) array per hidden layer \(L=2\)"),
        (bad_shape, r"`masks\[1\]\[1\]` \(global step 1, layer h=2\) must have shape \(p, d_2\) = \(2, 3\)"),
        ([[2 * good[0][0].astype(int), good[0][1]], good[1]], r"entries of `masks\[0\]\[0\]` must be 0 or 1"),
    ]
    for masks, match in cases:
        with pytest.raises(ValueError, match=match):
            train_deep(X, y, net, masks=masks, **kw)
    with pytest.raises(ValueError, match="partition each layer's units"):
        train_deep(X, y, net, masks=good, **dict(kw, scheme="categorical", xi=None))
    with pytest.raises(ValueError, match="scheme='gd' needs all-ones `masks`"):
        train_deep(X, y, net, masks=[[M[:1] for M in s] for s in good], eta=0.1, steps=2)


def test_bad_data():
    X, y, net = _problem(widths=(4, 3))
    with pytest.raises(ValueError, match="`y` must have length n=6"):
        train_deep(X, y[:-1], net, eta=0.1, steps=1)
    with pytest.raises(ValueError, match="`X` must have net.d=3 columns"):
        train_deep(X[:, :2], y, net, eta=0.1, steps=1)
    with pytest.raises(TypeError, match="`net` must be a DeepNetwork"):
        train_deep(X, y, init_network(3, 4, rng=0), eta=0.1, steps=1)


def test_progress_goes_to_stderr(capsys):
    X, y, net = _problem()
    train_deep(X, y, net, eta=0.1, steps=3, record_kernel_at=[], progress=True)
    out = capsys.readouterr()
    assert "[train_deep] 3/3" in out.err and out.out == ""
