"""ntkcheck.testing: strategies satisfy their contracts, assertion helpers catch errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings

import ntkcheck
from ntkcheck.assumptions import check_assumptions
from ntkcheck.testing import (PROPERTIES, assert_close_matrices, assert_mc_mean, assert_ntk_equivalent,
                              assert_symmetric_psd, datasets, masks, run_selftest, weights)


@settings(max_examples=15)
@given(datasets(max_n=10))
def test_datasets_satisfy_assumption_1(data):
    X, y = data
    assert check_assumptions(X, y).passed


@settings(max_examples=15)
@given(masks(20))
def test_masks_are_in_unit_interval(mask):
    assert mask.shape == (20,) and np.all((mask >= 0) & (mask <= 1))


@settings(max_examples=10)
@given(masks(12, kind="categorical", p=3))
def test_categorical_masks_partition(M):
    assert M.shape == (3, 12) and np.all(M.sum(axis=0) == 1)


@settings(max_examples=10)
@given(datasets(max_n=6, max_d=4), weights(max_m=16, d=4))
def test_user_ntk_against_ntkcheck(data, W):
    X = data[0]
    W = W[:, : X.shape[1]]
    A = (X @ W.T >= 0).astype(float)
    assert_ntk_equivalent(lambda X, W: (X @ X.T) * (A @ A.T) / W.shape[0], X, W)


def test_assertion_helpers_raise():
    H = np.array([[2.0, 1.0], [1.0, 2.0]])
    assert_close_matrices(H, H)
    with pytest.raises(AssertionError, match="relative Frobenius error"):
        assert_close_matrices(H * (1 + 1e-6), H, 1e-9)
    with pytest.raises(AssertionError, match="shapes differ"):
        assert_close_matrices(H, np.eye(3))
    assert_symmetric_psd(H)
    with pytest.raises(AssertionError, match="not PSD"):
        assert_symmetric_psd(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(AssertionError, match="not symmetric"):
        assert_symmetric_psd(np.array([[1.0, 0.5], [0.0, 1.0]]))
    rng = np.random.default_rng(0)
    assert_mc_mean(rng.normal(1.0, 1.0, 4000), 1.0)
    with pytest.raises(AssertionError, match="standard errors"):
        assert_mc_mean(rng.normal(1.0, 1.0, 4000), 1.2)


def test_wrong_user_ntk_is_caught():
    X = np.eye(3) + 0.1
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    W = np.random.default_rng(1).standard_normal((20, 3))
    with pytest.raises(AssertionError):  # forgot the 1/m normalisation
        assert_ntk_equivalent(lambda X, W: ntkcheck.ntk_finite(X, W) * W.shape[0], X, W)


def test_selftest_properties_pass():
    res = run_selftest(max_examples=3)
    assert list(res) == list(PROPERTIES) and all(v is None for v in res.values())


def test_strategies_need_hypothesis(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    with pytest.raises(ImportError, match=r"pip install ntkcheck\[test\]"):
        datasets()
