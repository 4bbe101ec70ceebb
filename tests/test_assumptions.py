"""Assumption 1 checks (docs/theory.md §1): unit rows, bounded labels, parallel pairs, duplicates."""

from __future__ import annotations

import numpy as np
import pytest

from ntkcheck import eigenvalue_extremes, ntk_infinite
from ntkcheck.assumptions import AssumptionReport, check_assumptions
from ntkcheck.data import sphere

from .conftest import RTOL_EXACT


def test_clean_sphere_data_pass_and_spectrum_matches():
    ds = sphere(40, 6, rng=1)
    rep = check_assumptions(ds.X, ds.y)
    assert isinstance(rep, AssumptionReport) and rep.passed
    assert rep.unit_norm and rep.labels_bounded and rep.no_parallel and not rep.duplicates
    lam0, lam_max = eigenvalue_extremes(ntk_infinite(ds.X))
    assert rep.lam0_hat == pytest.approx(lam0, rel=RTOL_EXACT)
    assert rep.lam_max == pytest.approx(lam_max, rel=RTOL_EXACT)
    H = ntk_infinite(ds.X)
    assert rep.y_Hinv_y == pytest.approx(ds.y @ np.linalg.solve(H, ds.y), rel=1e-8)
    with pytest.raises(Exception):
        rep.passed = False  # frozen


def test_nearest_pairs_are_the_largest_abs_cosines():
    ds = sphere(25, 4, rng=2)
    rep = check_assumptions(ds.X, ds.y, top=4)
    C = np.abs(ds.X @ ds.X.T)
    iu = np.triu_indices(25, 1)
    order = np.argsort(-C[iu])[:4]
    expected = [(int(iu[0][k]), int(iu[1][k])) for k in order]
    assert [(i, j) for i, j, _, _ in rep.nearest_pairs] == expected
    assert rep.max_abs_cos == pytest.approx(C[iu].max(), abs=1e-12)


def test_duplicated_point_is_flagged():
    ds = sphere(20, 5, rng=0)
    X = np.array(ds.X)
    X[13] = X[4]
    rep = check_assumptions(X, ds.y)
    assert not rep.passed
    assert rep.duplicates == ((4, 13),)
    assert (4, 13) in rep.parallel_pairs
    assert rep.nearest_pairs[0][:2] == (4, 13) and rep.nearest_pairs[0][2] == 1.0
    assert rep.lam0_hat < 1e-10 * rep.lam_max and rep.y_Hinv_y == float("inf")
    assert any("duplicated points" in m and m.startswith("[FAIL]") for m in rep.messages)
    with pytest.raises(ValueError, match="Assumption 1 fails"):
        check_assumptions(X, ds.y, strict=True)


def test_antiparallel_norms_and_labels_flagged():
    ds = sphere(10, 3, rng=5)
    X = np.array(ds.X)
    X[7] = -2.5 * X[2]
    rep = check_assumptions(X, 3 * ds.y)
    assert rep.parallel_pairs == ((2, 7),) and not rep.duplicates
    assert not rep.unit_norm and rep.norm_max == pytest.approx(2.5)
    assert not rep.labels_bounded and rep.label_max == pytest.approx(3.0)
    assert check_assumptions(ds.X, 3 * ds.y, label_bound=3.0).labels_bounded
    d = rep.to_dict()
    assert d["passed"] is False and d["parallel_pairs"] == [[2, 7]]


def test_bad_input_messages():
    with pytest.raises(ValueError, match="`y` must have length n=3"):
        check_assumptions(np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match="`label_bound` must be > 0.0"):
        check_assumptions(np.eye(3), np.ones(3), label_bound=0.0)


def test_positive_definiteness_is_decided_by_a_cholesky_certificate():
    from ntkcheck import certify_min_eigenvalue, check_assumptions, ntk_infinite

    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 6))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.clip(rng.standard_normal(40), -1, 1)
    rep = check_assumptions(X, y)
    assert rep.h_inf_certified and rep.passed and "proved by a Cholesky certificate" in rep.messages[-1]
    X2 = np.vstack([X, X[:1]])  # a duplicated point: H_inf is exactly singular
    rep2 = check_assumptions(X2, np.append(y, y[0]))
    assert not rep2.h_inf_certified and not rep2.passed
    assert rep2.h_inf_certified == certify_min_eigenvalue(ntk_infinite(X2), 0.0).certified
    assert "not proved" in [m for m in rep2.messages if "positive definite" in m][0]


def test_min_separation_against_a_double_loop():
    from ntkcheck.assumptions import min_separation

    rng = np.random.default_rng(8)
    X = rng.standard_normal((30, 4)) * rng.uniform(0.5, 2.0, size=(30, 1))
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    naive = min(min(np.linalg.norm(U[i] - U[j]), np.linalg.norm(U[i] + U[j]))
                for i in range(30) for j in range(i + 1, 30))
    assert min_separation(X) == pytest.approx(naive, rel=1e-12)
    assert min_separation(np.vstack([X, -2.0 * X[:1]])) == 0.0  # antiparallel pair (exact scaling)
    assert min_separation(np.vstack([X, -3.0 * X[:1]])) <= 1e-15  # up to the rounding of x/||x||
    assert min_separation(X[:1]) == float("inf")
