"""Tests of ntkcheck.deep: exact NTKs of deep fully-connected ReLU networks (docs/theory.md §10)."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntkcheck._stats import z_test
from ntkcheck.deep import (
    DeepNetwork,
    deep_forward,
    init_deep_network,
    ntk_deep_finite,
    ntk_deep_infinite,
)
from ntkcheck.network import init_network, network_output
from ntkcheck.ntk import ntk_finite, ntk_infinite, ntk_output_finite, ntk_output_infinite

from . import reference_deep as reference
from .conftest import ATOL_EXACT, MC_SIGMAS, RTOL_EXACT

#: Gram-matrix formula against the explicit Jacobian (different summation orders, float64).
RTOL_JACOBIAN = 1e-10
#: Same computation, different blocking of the BLAS sums (chunking, per-layer sums, subsets).
RTOL_BLOCKING = 1e-13
#: The stable-angle recursion against 60-digit arithmetic (nearly parallel inputs).
RTOL_STABLE = 1e-13
#: Diagonal against the closed-form diagonal recursion: equal up to a few ulps of the row norms.
RTOL_DIAG = 1e-15
#: PSD check: smallest eigenvalue >= -PSD_REL * largest.
PSD_REL = 1e-12
#: ‖Θ̂ − Θ‖_F / ‖Θ‖_F <= WIDTH_C / √width, averaged over seeds (measured: about 2.2–3.6 / √width).
WIDTH_C = 8.0


def _net_args(net):
    return list(net.weights), list(net.biases), net.sigma_w, net.sigma_b


def _data(seed, n, d, scale=1.5):
    return scale * np.random.default_rng(seed).standard_normal((n, d))


def _closed_form_diagonal(X, depth, sigma_w, sigma_b):
    """Σ^(1)_ii = σ_w²|x_i|²/d + σ_b², Σ^(h+1)_ii = σ_w² Σ^(h)_ii/2 + σ_b², Θ^(h+1)_ii = Σ^(h+1)_ii + σ_w² Θ^(h)_ii/2."""
    s = sigma_w**2 * np.einsum("ij,ij->i", X, X) / X.shape[1] + sigma_b**2
    t = s.copy()
    for _ in range(depth):
        s = sigma_w**2 * s / 2 + sigma_b**2
        t = s + sigma_w**2 * t / 2
    return t


def _assert_sym_psd(H):
    npt.assert_array_equal(H, H.T)
    ev = np.linalg.eigvalsh(H)
    assert ev[0] >= -PSD_REL * max(ev[-1], 0.0), (ev[0], ev[-1])


# ------------------------------------------------------------------- network and forward pass


def test_init_shapes_and_attributes():
    net = init_deep_network(4, [6, 5, 3], sigma_w=1.3, sigma_b=0.2, rng=11)
    assert [W.shape for W in net.weights] == [(6, 4), (5, 6), (3, 5), (1, 3)]
    assert [b.shape for b in net.biases] == [(6,), (5,), (3,), (1,)]
    assert (net.d, net.widths, net.depth, net.sigma_w, net.sigma_b, net.seed) == (4, (6, 5, 3), 3, 1.3, 0.2, 11)
    assert net.n_params == sum(W.size + b.size for W, b in zip(net.weights, net.biases))
    assert all(W.dtype == np.float64 and not W.flags.writeable for W in net.weights + net.biases)
    assert net.weights[1] is net.weights[1]  # indexes like a list
    assert "widths=(6, 5, 3)" in repr(net)


def test_rng_reproducible_and_recorded():
    a = init_deep_network(3, [4, 5], sigma_b=0.5, rng=3)
    b = init_deep_network(3, [4, 5], sigma_b=0.5, rng=np.random.default_rng(3))
    c = init_deep_network(3, [4, 5], sigma_b=0.5, rng=4)
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        npt.assert_array_equal(x, y)
    assert not np.array_equal(a.weights[0], c.weights[0])
    # a fresh Generator is recorded by its entropy, which replays the network
    g = init_deep_network(3, [4, 5], rng=np.random.default_rng())
    replay = init_deep_network(3, [4, 5], rng=np.random.SeedSequence(g.seed["entropy"]))
    for x, y in zip(g.weights, replay.weights):
        npt.assert_array_equal(x, y)
    # the biases are drawn even at sigma_b = 0, from streams of their own
    z = init_deep_network(3, [4, 5], sigma_b=0.0, rng=3)
    for x, y in zip(a.weights + a.biases, z.weights + z.biases):
        npt.assert_array_equal(x, y)
    # layer h depends only on (rng, h, d_{h-1}, d_h): a layer on top leaves those below unchanged
    deeper = init_deep_network(3, [4, 5, 7], rng=3)
    npt.assert_array_equal(deeper.weights[0], a.weights[0])
    npt.assert_array_equal(deeper.weights[1], a.weights[1])


def test_forward_matches_reference_and_cache():
    X = _data(0, 5, 3)
    net = init_deep_network(3, [6, 4], sigma_w=1.4, sigma_b=0.3, rng=0)
    f, cache = deep_forward(X, net, return_cache=True)
    npt.assert_allclose(f, reference.output(X, *_net_args(net)), rtol=RTOL_EXACT, atol=ATOL_EXACT)
    npt.assert_array_equal(deep_forward(X, net), f)
    assert [g.shape for g in cache.preactivations] == [(5, 6), (5, 4), (5, 1)]
    assert [x.shape for x in cache.activations] == [(5, 3), (5, 6), (5, 4)]
    npt.assert_array_equal(cache.preactivations[-1][:, 0], f)
    npt.assert_array_equal(cache.activations[1], np.maximum(cache.preactivations[0], 0.0))


# ------------------------------------------------------------------ finite width vs the Jacobian


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("sigma_b", [0.0, 0.5])
def test_finite_matches_explicit_jacobian(depth, sigma_b):
    X = _data(depth, 5, 3, scale=2.0)  # non-unit rows
    net = init_deep_network(3, [7, 6, 8, 5][:depth], sigma_w=1.3, sigma_b=sigma_b, rng=depth)
    ref, ref_terms = reference.ntk_finite(X, *_net_args(net), per_layer=True)
    assert np.abs(ref).max() > 0.1  # the network is not dead
    theta, terms = ntk_deep_finite(X, net, per_layer=True)
    atol = RTOL_JACOBIAN * np.abs(ref).max()
    npt.assert_allclose(theta, ref, rtol=RTOL_JACOBIAN, atol=atol)
    assert len(terms) == depth + 1
    for t, r in zip(terms, ref_terms):
        npt.assert_allclose(t, r, rtol=RTOL_JACOBIAN, atol=atol)
    npt.assert_array_equal(ntk_deep_finite(X, net), theta)  # per_layer does not change Θ̂
    _assert_sym_psd(theta)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), d=st.integers(1, 4),
       widths=st.lists(st.integers(1, 6), min_size=1, max_size=3), sigma_b=st.sampled_from([0.0, 0.7]))
def test_finite_matches_jacobian_property(seed, n, d, widths, sigma_b):
    """Any shapes, including width 1, n = 1 and dead networks."""
    X = _data(seed, n, d)
    net = init_deep_network(d, widths, sigma_w=0.9, sigma_b=sigma_b, rng=seed)
    ref = reference.ntk_finite(X, *_net_args(net))
    npt.assert_allclose(ntk_deep_finite(X, net, chunk=2), ref, rtol=RTOL_JACOBIAN,
                        atol=RTOL_JACOBIAN * max(1.0, np.abs(ref).max()))


@pytest.mark.parametrize("depth", [1, 3])
def test_chunking_and_per_layer_sum(depth):
    X = _data(5, 9, 4)
    net = init_deep_network(4, [40] * depth, sigma_w=1.1, sigma_b=0.2, rng=5)
    theta, terms = ntk_deep_finite(X, net, per_layer=True)
    scale = np.abs(theta).max()
    for chunk in (1, 7, 40, 10**6):
        npt.assert_allclose(ntk_deep_finite(X, net, chunk=chunk), theta, rtol=0, atol=RTOL_BLOCKING * scale)
    npt.assert_allclose(np.sum(terms, axis=0), theta, rtol=0, atol=RTOL_BLOCKING * scale)
    for t in terms:
        npt.assert_array_equal(t, t.T)


def test_streamed_layer_memory():
    """L = 1: the hidden layer is streamed, extra memory O(n² + n·chunk + width), not O(n·width)."""
    n, width, chunk = 40, 100000, 500
    X = _data(15, n, 3)
    net = init_deep_network(3, [width], sigma_b=0.3, rng=15)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    ntk_deep_finite(X, net, chunk=chunk)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    # two blocks of activations and of deltas, a few n×n, the scaled output weights (width,)
    assert peak <= 8 * (8 * n * n + 5 * n * chunk + 2 * width), peak
    assert peak < 8 * n * width / 10  # the held layer alone would be 8·n·width = 32 MB


def test_zero_rows():
    """σ_b = 0: a zero input has a zero row of Θ̂ and of Θ; σ_b > 0: an ordinary point."""
    X = _data(6, 5, 3)
    X[2] = 0.0
    net = init_deep_network(3, [8, 7], rng=6)
    theta = ntk_deep_finite(X, net)
    npt.assert_array_equal(theta[2], 0.0)
    inf, inf_terms = ntk_deep_infinite(X, 2, per_layer=True)
    npt.assert_array_equal(inf[2], 0.0)
    npt.assert_array_equal(inf[:, 2], 0.0)
    assert all(not t[2].any() for t in inf_terms)
    keep = [0, 1, 3, 4]
    rest = ntk_deep_infinite(X[keep], 2)
    npt.assert_allclose(inf[np.ix_(keep, keep)], rest, rtol=RTOL_BLOCKING, atol=0)
    npt.assert_allclose(ntk_deep_infinite(X, 2), inf, rtol=0, atol=0)
    biased = init_deep_network(3, [8, 7], sigma_b=0.5, rng=6)
    ref = reference.ntk_finite(X, *_net_args(biased))
    npt.assert_allclose(ntk_deep_finite(X, biased), ref, rtol=RTOL_JACOBIAN, atol=RTOL_JACOBIAN)
    assert ntk_deep_infinite(X, 2, sigma_b=0.5)[2, 2] > 0.0
    npt.assert_array_equal(ntk_deep_infinite(np.zeros((2, 3)), 2), 0.0)


# ------------------------------------------------------- [EXACT] L = 1 against the two-layer kernels


@pytest.mark.parametrize("sigma_w", [1.0, 1.5])
def test_two_layer_identity_finite(sigma_w):
    """L = 1, σ_b = 0, W^(1) = W (rows w_r, κ = 1), W^(2) = aᵀ (signs):

    f = σ_w²/√d · f_2layer,  term_1 = σ_w⁴/d · H(W) (ntk_finite),  term_2 = σ_w⁴/d · ntk_output_finite(X, W),
    since g^(1) = σ_w <w_r, x>/√d, δ^(1)_r = σ_w a_r 1{<w_r,x> >= 0}/√m and ReLU is positively homogeneous.
    """
    d, m = 4, 50
    X = _data(7, 6, d)
    two = init_network(d, m, rng=7)
    deep = DeepNetwork(weights=(two.W, two.a[None, :]), biases=(np.zeros(m), np.zeros(1)), sigma_w=sigma_w)
    npt.assert_allclose(deep_forward(X, deep), sigma_w**2 / math.sqrt(d) * network_output(X, two.W, two.a),
                        rtol=RTOL_EXACT, atol=ATOL_EXACT)
    _, (t1, t2) = ntk_deep_finite(X, deep, per_layer=True)
    npt.assert_allclose(t1, sigma_w**4 / d * ntk_finite(X, two.W), rtol=RTOL_EXACT, atol=ATOL_EXACT)
    npt.assert_allclose(t2, sigma_w**4 / d * ntk_output_finite(X, two.W), rtol=RTOL_EXACT, atol=ATOL_EXACT)


def test_two_layer_identity_gaussian_output_weights():
    """With Gaussian output weights a_r = W^(2)_r, term_1 weighs neuron r by a_r²: a real-valued mask."""
    d, m = 3, 40
    X = _data(8, 5, d)
    net = init_deep_network(d, [m], rng=8)
    a2 = net.weights[1][0] ** 2
    _, (t1, t2) = ntk_deep_finite(X, net, per_layer=True)
    npt.assert_allclose(t1, a2.max() / d * ntk_finite(X, net.weights[0], mask=a2 / a2.max()),
                        rtol=RTOL_EXACT, atol=ATOL_EXACT)
    npt.assert_allclose(t2, ntk_output_finite(X, net.weights[0]) / d, rtol=RTOL_EXACT, atol=ATOL_EXACT)


@pytest.mark.parametrize("sigma_w", [1.0, 1.5])
def test_two_layer_identity_infinite(sigma_w):
    """At infinite width, L = 1, σ_b = 0: term_1 = σ_w⁴ H∞/d, term_2 = σ_w⁴ (output kernel limit)/d (§10)."""
    X = _data(9, 7, 5)
    X[3] = X[1] * 0.5  # a parallel pair: angle 0 off the diagonal
    _, (t1, t2) = ntk_deep_infinite(X, 1, sigma_w=sigma_w, per_layer=True)
    d = X.shape[1]
    npt.assert_allclose(t1, sigma_w**4 / d * ntk_infinite(X), rtol=RTOL_BLOCKING, atol=0)
    npt.assert_allclose(t2, sigma_w**4 / d * ntk_output_infinite(X), rtol=RTOL_BLOCKING, atol=0)


# ------------------------------------------------------------------------------ infinite width


@pytest.mark.parametrize("depth", [1, 2, 4])
@pytest.mark.parametrize("sigma_b", [0.0, 0.6])
def test_infinite_matches_reference_and_diagonal(depth, sigma_b):
    X = _data(10 + depth, 8, 3)
    theta, terms = ntk_deep_infinite(X, depth, sigma_w=1.2, sigma_b=sigma_b, per_layer=True)
    ref, ref_terms = reference.ntk_infinite(X, depth, 1.2, sigma_b, per_layer=True)
    npt.assert_allclose(theta, ref, rtol=RTOL_EXACT, atol=ATOL_EXACT)
    for t, r in zip(terms, ref_terms):
        npt.assert_allclose(t, r, rtol=RTOL_EXACT, atol=ATOL_EXACT)
    npt.assert_allclose(np.sum(terms, axis=0), theta, rtol=RTOL_BLOCKING, atol=0)
    npt.assert_allclose(np.diag(theta), _closed_form_diagonal(X, depth, 1.2, sigma_b), rtol=RTOL_DIAG, atol=0)
    npt.assert_array_equal(ntk_deep_infinite(X, depth, sigma_w=1.2, sigma_b=sigma_b), theta)
    _assert_sym_psd(theta)


@pytest.mark.parametrize("sigma_b", [0.0, 0.3])
@pytest.mark.parametrize("eps", [1e-5, 1e-9])
def test_infinite_stable_for_nearly_parallel_inputs(eps, sigma_b):
    """60-digit ground truth: arccos of a rounded cosine errs by ~1e-10 here, the recursion must not."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal(4)
    x /= np.linalg.norm(x)
    v = rng.standard_normal(4)
    v -= v.dot(x) * x
    v /= np.linalg.norm(v)
    X = np.array([x, math.cos(eps) * x + math.sin(eps) * v, -x + eps * v, 1.7 * (x + 0.3 * eps * v), 2.0 * x])
    theta = ntk_deep_infinite(X, 3, sigma_w=1.2, sigma_b=sigma_b)
    exact = reference.ntk_infinite_mp(X, 3, 1.2, sigma_b)
    npt.assert_allclose(theta, exact, rtol=RTOL_STABLE, atol=RTOL_STABLE * np.abs(exact).max())


@pytest.mark.parametrize("sigma_b", [0.0, 0.4])
def test_infinite_recursion_monte_carlo(sigma_b):
    """Each step of the recursion is an expectation over (u, v) ~ N(0, S^(h)) (z-test, MC_SIGMAS).

    Σ^(h+1) = E[σ_w² σ(u)σ(v) + σ_b²], Θ^(h+1) = Σ^(h+1) + σ_w² E[σ'(u)σ'(v)] Θ^(h); all pairs at
    once by sampling u ~ N(0, Σ^(h)) in R^n.  Σ^(h) (h >= 2) is the last per-layer term at depth h−1.
    """
    rng = np.random.default_rng(13)
    X = _data(13, 6, 3) * np.array([[1.0], [0.3], [2.0], [1.0], [0.7], [1.2]])
    sw, depth, N = 1.2, 3, 20000
    sigma = sw**2 * X @ X.T / X.shape[1] + sigma_b**2
    theta = sigma.copy()
    for h in range(1, depth + 1):
        u = rng.multivariate_normal(np.zeros(len(X)), sigma, size=N, method="eigh")
        r, s = np.maximum(u, 0.0), (u >= 0.0).astype(float)
        sig_samples = sw**2 * r[:, :, None] * r[:, None, :] + sigma_b**2
        tht_samples = sig_samples + sw**2 * s[:, :, None] * s[:, None, :] * theta
        theta, terms = ntk_deep_infinite(X, h, sigma_w=sw, sigma_b=sigma_b, per_layer=True)
        sigma = terms[-1]
        res = z_test(np.stack([sig_samples, tht_samples], axis=1), np.stack([sigma, theta]))
        assert res.ok, f"layer {h}: max z = {res.max_z:.2f} > {MC_SIGMAS}"


@pytest.mark.parametrize(("depth", "sigma_b", "width"), [(2, 0.0, 4096), (3, 0.5, 2048)])
def test_finite_converges_to_infinite(depth, sigma_b, width):
    """Θ̂ → Θ^(L+1): relative Frobenius error <= WIDTH_C/√width, averaged over 3 seeds (n = 8)."""
    X = _data(14, 8, 5)
    inf = ntk_deep_infinite(X, depth, sigma_w=1.1, sigma_b=sigma_b)
    errs = []
    for seed in range(3):
        net = init_deep_network(5, [width] * depth, sigma_w=1.1, sigma_b=sigma_b, rng=seed)
        fin = ntk_deep_finite(X, net)
        _assert_sym_psd(fin)
        errs.append(np.linalg.norm(fin - inf) / np.linalg.norm(inf))
    assert np.mean(errs) <= WIDTH_C / math.sqrt(width), errs


# ------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    (dict(d=0), ValueError, r"`d` must be >= 1"),
    (dict(widths=[]), ValueError, r"`widths` must hold at least one"),
    (dict(widths=[3, 0]), ValueError, r"`widths\[1\]` must be >= 1, got widths\[1\]=0"),
    (dict(widths=5), TypeError, r"`widths` must be a sequence .* use widths=\[5\]"),
    (dict(widths=[2.5]), TypeError, r"`widths\[0\]` must be an integer"),
    (dict(sigma_w=0.0), ValueError, r"`sigma_w` must be > 0.0, got sigma_w=0.0"),
    (dict(sigma_b=-0.1), ValueError, r"`sigma_b` must be >= 0.0"),
    (dict(sigma_w=float("nan")), ValueError, r"`sigma_w` must be finite"),
    (dict(rng="seed"), TypeError, r"`rng` must be"),
])
def test_init_rejects_bad_arguments(kwargs, exc, match):
    args = dict(d=3, widths=[4]) | kwargs
    with pytest.raises(exc, match=match):
        init_deep_network(args.pop("d"), args.pop("widths"), **args)


def test_kernels_reject_bad_arguments():
    net = init_deep_network(3, [4], rng=0)
    X = _data(0, 4, 3)
    with pytest.raises(ValueError, match=r"`X` must be 2-D"):
        ntk_deep_finite(X[0], net)
    with pytest.raises(ValueError, match=r"`X` must have net.d=3 columns .* got shape \(4, 2\)"):
        ntk_deep_finite(X[:, :2], net)
    bad = X.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"`X` must be finite .* X\[1, 2\]=nan"):
        deep_forward(bad, net)
    with pytest.raises(TypeError, match=r"`X` must be a real numeric array"):
        ntk_deep_infinite(X.astype(complex), 2)
    with pytest.raises(TypeError, match=r"`net` must be a DeepNetwork"):
        ntk_deep_finite(X, init_network(3, 4, rng=0))
    with pytest.raises(ValueError, match=r"`chunk` must be >= 1, got chunk=0"):
        ntk_deep_finite(X, net, chunk=0)
    with pytest.raises(TypeError, match=r"`per_layer` must be True or False"):
        ntk_deep_finite(X, net, per_layer="yes")
    with pytest.raises(TypeError, match=r"`return_cache` must be True or False"):
        deep_forward(X, net, return_cache=1)
    with pytest.raises(ValueError, match=r"`depth` must be >= 1, got depth=0"):
        ntk_deep_infinite(X, 0)
    with pytest.raises(TypeError, match=r"`depth` must be an integer"):
        ntk_deep_infinite(X, 2.0)
    with pytest.raises(ValueError, match=r"`sigma_w` must be > 0.0"):
        ntk_deep_infinite(X, 2, sigma_w=-1.0)
    with pytest.raises(ValueError, match=r"`sigma_b` must be >= 0.0, got sigma_b=-0.5"):
        ntk_deep_infinite(X, 2, sigma_b=-0.5)


def test_network_rejects_inconsistent_layers():
    W1, W2 = np.ones((4, 3)), np.ones((1, 4))
    with pytest.raises(ValueError, match=r"`weights\[1\]` must have shape \(1, 4\), got shape \(1, 5\)"):
        DeepNetwork(weights=(W1, np.ones((1, 5))), biases=(np.zeros(4), np.zeros(1)))
    with pytest.raises(ValueError, match=r"`weights\[1\]` must have shape \(1, 4\)"):
        DeepNetwork(weights=(W1, np.ones((2, 4))), biases=(np.zeros(4), np.zeros(1)))
    with pytest.raises(ValueError, match=r"`biases\[0\]` must have shape \(4\)"):
        DeepNetwork(weights=(W1, W2), biases=(np.zeros(3), np.zeros(1)))
    with pytest.raises(ValueError, match=r"`biases` must hold one vector per layer"):
        DeepNetwork(weights=(W1, W2), biases=(np.zeros(4),))
    with pytest.raises(ValueError, match=r"`weights` must hold L\+1 >= 2"):
        DeepNetwork(weights=(W2,), biases=(np.zeros(1),))
    with pytest.raises(TypeError, match=r"`weights` must be a list or tuple"):
        DeepNetwork(weights=W1, biases=(np.zeros(4),))
    with pytest.raises(ValueError, match=r"`sigma_w` must be > 0.0"):
        DeepNetwork(weights=(W1, W2), biases=(np.zeros(4), np.zeros(1)), sigma_w=0.0)
    W1w = np.ones((4, 3))
    net = DeepNetwork(weights=[W1w, W2], biases=[np.zeros(4), np.zeros(1)])
    assert W1w.flags.writeable and not net.weights[0].flags.writeable  # the caller's array is untouched
