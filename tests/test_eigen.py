"""Tests of ntkcheck.eigen: extreme eigenvalues of symmetric PSD matrices."""

from __future__ import annotations

import warnings

import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntkcheck import NumericalWarning, eigenvalue_extremes, max_eigenvalue, min_eigenvalue, ntk_infinite

from .conftest import unit_rows


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), rank=st.integers(1, 40))
def test_extremes_match_full_eigvalsh(seed, n, rank):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, max(rank, n)))  # full rank: the extremes are well separated from 0
    H = A @ A.T
    lam = np.linalg.eigvalsh(H)
    lo, hi = eigenvalue_extremes(H)
    npt.assert_allclose([lo, hi], [lam[0], lam[-1]], rtol=1e-9, atol=1e-12 * lam[-1])
    assert min_eigenvalue(H) == pytest.approx(lam[0], rel=1e-9, abs=1e-12 * lam[-1])
    assert max_eigenvalue(H) == pytest.approx(lam[-1], rel=1e-12)


def test_known_spectrum():
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((6, 6)))
    lam = np.array([1e-6, 0.5, 1.0, 2.0, 3.0, 10.0])
    H = (Q * lam) @ Q.T
    H = (H + H.T) / 2
    lo, hi = eigenvalue_extremes(H)
    assert lo == pytest.approx(1e-6, rel=1e-7)
    assert hi == pytest.approx(10.0, rel=1e-13)
    assert eigenvalue_extremes([[2.0, 1.0], [1.0, 2.0]]) == pytest.approx((1.0, 3.0), rel=1e-15)
    assert eigenvalue_extremes([[4.0]]) == (4.0, 4.0)


def test_lambda0_of_ntk_infinite_against_eigvalsh():
    X = unit_rows(np.random.default_rng(1).standard_normal((200, 10)))
    H = ntk_infinite(X)
    lam = np.linalg.eigvalsh(H)
    npt.assert_allclose(eigenvalue_extremes(H), [lam[0], lam[-1]], rtol=1e-10)


def test_rounding_negative_is_clipped_with_warning():
    H = np.array([[1.0, 1.0], [1.0, 1.0]])  # singular: lambda_min is 0 up to rounding
    H[1, 1] -= 1e-14
    with pytest.warns(NumericalWarning, match=r"clipped to 0"):
        assert min_eigenvalue(H) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert min_eigenvalue(H, check=False) < 0.0


def test_asymmetric_and_indefinite_and_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"`H` must be symmetric .* got max\|H - H.T\| = 0.1"):
        min_eigenvalue([[1.0, 0.1], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"`H` must be positive semi-definite, got lambda_min=-1"):
        eigenvalue_extremes([[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"`H` must be square, got shape \(2, 3\)"):
        min_eigenvalue(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"`H` must be finite"):
        min_eigenvalue([[1.0, np.nan], [np.nan, 1.0]])
    with pytest.raises(ValueError, match=r"`H` must be 2-D"):
        min_eigenvalue(np.ones(3))
    # check=False skips the checks (for users who know their matrix)
    assert eigenvalue_extremes([[0.0, 1.0], [1.0, 0.0]], check=False) == pytest.approx((-1.0, 1.0))
