"""Tests of ntkcheck.network: initialisation (docs/theory.md §1) and the (masked) network output."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.testing as npt
import pytest
from .conftest import ATOL_EXACT, MC_SIGMAS, RTOL_EXACT
from .reference_train import outputs

from ntkcheck import Network, init_network, network_output


def test_init_shapes_types_and_readonly():
    net = init_network(5, 40, kappa=0.3, rng=7)
    assert net.W.shape == (40, 5) and net.W.dtype == np.float64
    assert net.a.shape == (40,) and net.a.dtype == np.float64
    assert set(np.unique(net.a)) == {-1.0, 1.0}
    assert (net.m, net.d, net.kappa, net.seed) == (40, 5, 0.3, 7)
    with pytest.raises(ValueError):
        net.W[0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.kappa = 2.0


def test_init_reproducible_and_seed_dependent():
    a, b, c = init_network(3, 50, rng=1), init_network(3, 50, rng=1), init_network(3, 50, rng=2)
    assert np.array_equal(a.W, b.W) and np.array_equal(a.a, b.a)
    assert not np.array_equal(a.W, c.W)


def test_init_distribution_matches_kappa():
    # w_r ~ N(0, κ² I): the sample variance of m·d entries is within MC error of κ²,
    # and the signs are balanced within MC error.
    kappa, m, d = 0.7, 4000, 5
    net = init_network(d, m, kappa=kappa, rng=3)
    w = net.W.ravel()
    se_var = kappa**2 * np.sqrt(2.0 / w.size)  # SE of the sample variance of a Gaussian
    assert abs(w.var() - kappa**2) <= MC_SIGMAS * se_var
    assert abs(w.mean()) <= MC_SIGMAS * kappa / np.sqrt(w.size)
    assert abs(net.a.mean()) <= MC_SIGMAS / np.sqrt(m)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(d=0, m=3), ValueError, r"`d` must be >= 1, got d=0"),
        (dict(d=2, m=-1), ValueError, r"`m` must be >= 1, got m=-1"),
        (dict(d=2.5, m=3), TypeError, r"`d` must be an integer"),
        (dict(d=2, m=3, kappa=0.0), ValueError, r"`kappa` must be > 0.0, got kappa=0.0"),
        (dict(d=2, m=3, kappa=np.inf), ValueError, r"`kappa` must be finite"),
        (dict(d=2, m=3, rng="seed"), TypeError, r"`rng` must be None, an int"),
    ],
)
def test_init_bad_input(kwargs, exc, match):
    d, m = kwargs.pop("d"), kwargs.pop("m")
    with pytest.raises(exc, match=match):
        init_network(d, m, **kwargs)


def test_network_output_matches_naive_loops(sphere_data):
    X = sphere_data(9, 4, seed=1)
    net = init_network(4, 25, rng=2)
    mask = np.random.default_rng(3).random(25) < 0.5
    npt.assert_allclose(network_output(X, net.W, net.a), outputs(net.W, net.a, np.ones(25, bool), X),
                        rtol=RTOL_EXACT, atol=ATOL_EXACT)
    npt.assert_allclose(net.output(X, mask=mask), outputs(net.W, net.a, mask, X), rtol=RTOL_EXACT, atol=ATOL_EXACT)
    # an all-ones mask is the full network; an all-zeros mask is 0
    npt.assert_array_equal(network_output(X, net.W, net.a, mask=np.ones(25)), network_output(X, net.W, net.a))
    npt.assert_array_equal(network_output(X, net.W, net.a, mask=np.zeros(25)), np.zeros(9))


def test_network_output_relu_at_zero_counts_as_zero():
    # σ(0) = 0 whatever the pattern convention: a neuron orthogonal to x contributes nothing.
    X = np.array([[1.0, 0.0]])
    W = np.array([[0.0, 1.0], [2.0, 0.0]])
    npt.assert_allclose(network_output(X, W, np.array([1.0, 1.0])), [2.0 / np.sqrt(2)], rtol=RTOL_EXACT)


def test_network_output_bad_input(sphere_data):
    X = sphere_data(4, 3)
    net = init_network(3, 6, rng=0)
    with pytest.raises(ValueError, match=r"`W` must have shape \(m, d\) with d=3"):
        network_output(X, net.W[:, :2], net.a)
    with pytest.raises(ValueError, match=r"`a` must have shape \(6\)"):
        network_output(X, net.W, net.a[:5])
    with pytest.raises(ValueError, match=r"`mask` must have length m=6"):
        network_output(X, net.W, net.a, mask=np.ones(5))
    with pytest.raises(ValueError, match=r"entries of `mask` must be in \[0, 1\]"):
        network_output(X, net.W, net.a, mask=np.full(6, 2.0))


def test_network_is_a_frozen_dataclass_with_documented_fields():
    names = [f.name for f in dataclasses.fields(Network)]
    assert names == ["W", "a", "kappa", "seed"]
