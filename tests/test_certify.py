"""Tests of ntkcheck.certify: Cholesky certificates, inertia counts and the fast lambda_min."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntkcheck import NumericalWarning, ntk_infinite
from ntkcheck import certify as certify_module
from ntkcheck.certify import Certificate, certify_min_eigenvalue, count_eigenvalues_below, min_eigenvalue_fast

#: The fast lambda_min's accuracy target (relative to lambda_min) and the reference's own noise:
#: numpy.linalg.eigvalsh is backward stable, so its lambda_min is only good to ~u ||H||_2.
RTOL_FAST = 1e-10
ATOL_EIGVALSH = 1e-13


def spd_with_spectrum(lam, rng):
    """``Q diag(lam) Q^T`` with a random orthogonal ``Q``, exactly symmetric."""
    n = len(lam)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = (Q * np.asarray(lam, dtype=float)) @ Q.T
    return (H + H.T) / 2


def exact_spectrum_matrix(blocks, rng):
    """Permuted block diagonal of ``[[a, b], [b, a]]`` blocks: eigenvalues ``a -+ b`` exactly.

    ``a`` and ``b`` are small dyadic numbers, so ``a - b`` and ``a + b`` are exact floats, and a
    symmetric permutation ``P H P^T`` only moves entries: the spectrum is known to the last bit.
    """
    n = 2 * len(blocks)
    H = np.zeros((n, n))
    for k, (a, b) in enumerate(blocks):
        H[2 * k : 2 * k + 2, 2 * k : 2 * k + 2] = [[a, b], [b, a]]
    p = rng.permutation(n)
    lam = sorted([a - b for a, b in blocks] + [a + b for a, b in blocks])
    return H[np.ix_(p, p)], lam


# ----------------------------------------------------------------------------------------------
# certify_min_eigenvalue


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30),
       kind=st.sampled_from(["spread", "repeated", "near_singular", "singular", "indefinite", "clustered"]),
       offset=st.sampled_from([-10.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0]), ulps=st.integers(-3, 3))
def test_certified_never_true_when_lambda_min_at_or_below_t(seed, n, kind, offset, ulps):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-3, 3)
    lam = np.sort(rng.uniform(0.1, 1.0, n)) * scale
    if kind == "repeated":
        lam[: max(1, n // 3)] = lam[0]
    elif kind == "near_singular":
        lam[0] = 1e-12 * scale
    elif kind == "singular":
        lam[: max(1, n // 2)] = 0.0
    elif kind == "indefinite":
        lam[0] = -0.3 * scale
    elif kind == "clustered":
        lam[: max(1, n // 2)] = lam[0] * (1 + 1e-12 * np.arange(max(1, n // 2)))
    H = spd_with_spectrum(lam, rng)
    lam_ref = np.linalg.eigvalsh(H)[0]
    margin = certify_min_eigenvalue(H, lam_ref).margin
    t = lam_ref + offset * margin
    for _ in range(abs(ulps)):
        t = math.nextafter(t, math.copysign(math.inf, ulps))
    cert = certify_min_eigenvalue(H, t)
    if lam_ref <= t:
        assert not cert.certified, (lam_ref, t, cert)
    if lam_ref - t >= 10 * cert.margin + 1e-12 * np.abs(lam).max():  # liveness, well clear of the margin
        assert cert.certified, (lam_ref, t, cert)


@given(seed=st.integers(0, 2**32 - 1), nblocks=st.integers(1, 15),
       ulps=st.integers(-2, 4), rel=st.sampled_from([0.0, 1e-15, 1e-12, 1e-9, -1e-9, -1e-6]))
def test_certificate_sound_against_exactly_known_spectrum(seed, nblocks, ulps, rel):
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**20, nblocks) * 2.0**-10
    b = rng.integers(-(2**19), 2**19, nblocks) * 2.0**-10  # definite or not, as |b| < a or not
    H, lam = exact_spectrum_matrix(list(zip(a, b)), rng)
    t = lam[0] * (1.0 + rel)
    for _ in range(abs(ulps)):
        t = math.nextafter(t, math.copysign(math.inf, ulps))
    cert = certify_min_eigenvalue(H, t)
    assert not cert.certified or lam[0] > t  # never a false proof
    if lam[0] - t > 10 * cert.margin:
        assert cert.certified


def test_dense_matrix_with_exact_spectrum():
    n, alpha, beta = 200, 0.75, 2.0**-6
    H = alpha * np.eye(n) + beta * np.ones((n, n))  # eigenvalues alpha (n - 1 times) and alpha + n beta
    cert = certify_min_eigenvalue(H, alpha)
    assert not cert.certified and "broke down" in cert.reason
    assert not certify_min_eigenvalue(H, math.nextafter(alpha, 0.0)).certified  # inside the margin
    assert 0.0 < cert.margin < 1e-10
    assert certify_min_eigenvalue(H, alpha - 10 * cert.margin).certified


def test_random_spd_and_ntk_against_eigvalsh(sphere_data):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((80, 120))
    for H in (A @ A.T, ntk_infinite(sphere_data(300, 10, seed=4))):
        lam0 = np.linalg.eigvalsh(H)[0]
        cert = certify_min_eigenvalue(H, lam0 / 2)  # the training-loop call (DZPS19 Thm 3.1)
        assert cert.certified and cert.t == lam0 / 2 and cert.n == H.shape[0]
        assert 0.0 < cert.margin < 1e-9 * np.trace(H)
        assert certify_min_eigenvalue(H, lam0 * (1 - 1e-6)).certified
        assert not certify_min_eigenvalue(H, lam0 * (1 + 1e-6)).certified
        assert not certify_min_eigenvalue(H, lam0).certified


def test_singular_gram_matrix_is_never_certified_at_zero():
    X = np.random.default_rng(5).standard_normal((60, 7))
    H = X @ X.T  # rank 7 < 60: lambda_min = 0
    assert not certify_min_eigenvalue(H, 0.0).certified
    assert not certify_min_eigenvalue(H, 1e-300).certified
    assert certify_min_eigenvalue(H, -1e-6 * np.trace(H)).certified


def test_diagonal_at_or_below_t_is_refuted():
    cert = certify_min_eigenvalue([[1.0, 0.0], [0.0, 5.0]], 1.0)
    assert not cert.certified and "refuted" in cert.reason


def test_nearly_symmetric_matrix_is_certified_for_its_symmetric_part():
    rng = np.random.default_rng(6)
    S = spd_with_spectrum(np.linspace(1.0, 2.0, 40), rng)
    E = rng.uniform(-1, 1, S.shape) * 5e-11  # within the 1e-10 * max|H| symmetry tolerance
    H = S + E
    lam_sym = np.linalg.eigvalsh((H + H.T) / 2)[0]
    asym = np.abs(H - H.T).max()
    cert = certify_min_eigenvalue(H, lam_sym - 1e-6)
    assert cert.certified
    assert cert.margin >= (H.shape[0] - 1) * asym / 2  # the asymmetry allowance is in the margin
    assert not certify_min_eigenvalue(H, lam_sym).certified


def test_certificate_is_a_frozen_dataclass():
    cert = certify_min_eigenvalue(np.eye(3), 0.5)
    assert isinstance(cert, Certificate) and cert.certified
    assert cert.to_dict() == {"certified": True, "t": 0.5, "margin": cert.margin, "n": 3,
                              "method": cert.method, "reason": cert.reason}
    with pytest.raises(dataclasses.FrozenInstanceError):
        cert.certified = False


def test_extreme_thresholds():
    H = np.array([[2.0, 1.0], [1.0, 2.0]])
    assert not certify_min_eigenvalue(H, 1e308).certified
    assert not certify_min_eigenvalue(H, -1.7e308).certified  # the margin overflows: no proof, no crash
    assert certify_min_eigenvalue(H, -1e300).certified


# ----------------------------------------------------------------------------------------------
# count_eigenvalues_below


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 50), definite=st.booleans())
def test_count_matches_eigvalsh_away_from_eigenvalues(seed, n, definite):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    H = A @ A.T if definite else (A + A.T) / 2  # indefinite matrices exercise 2x2 pivots
    lam = np.linalg.eigvalsh(H)
    band = 1e-8 * max(1.0, np.abs(lam).max())  # stay out of the rounding band around each eigenvalue
    cuts = [lam[0] - 1.0, lam[-1] + 1.0] + [(lo + hi) / 2 for lo, hi in zip(lam[:-1], lam[1:]) if hi - lo > 2 * band]
    for t in cuts:
        assert count_eigenvalues_below(H, t) == int(np.sum(lam < t))


def test_count_special_cases(sphere_data):
    assert count_eigenvalues_below([[0.0, 1.0], [1.0, 0.0]], 0.0) == 1  # a 2x2 Bunch-Kaufman pivot
    assert count_eigenvalues_below(np.diag([1.0, 2.0, 3.0]), 2.0) == 1  # exact zero pivot: not below
    assert count_eigenvalues_below([[4.0]], 5.0) == 1 and count_eigenvalues_below([[4.0]], 3.0) == 0
    H = ntk_infinite(sphere_data(300, 10, seed=7))
    lam = np.linalg.eigvalsh(H)
    for q in (0.0, 0.1, 0.5, 0.9):
        i = int(q * (len(lam) - 1))
        t = (lam[i] + lam[i + 1]) / 2
        assert count_eigenvalues_below(H, t) == i + 1
    assert count_eigenvalues_below(H, lam[0] / 2) == 0


# ----------------------------------------------------------------------------------------------
# min_eigenvalue_fast


@pytest.fixture
def fast_path(monkeypatch):
    """Run the shift-and-invert path at every size and record any fallback to LAPACK."""
    monkeypatch.setattr(certify_module, "_FAST_MIN_N", 0)
    calls = []
    original = certify_module.min_eigenvalue

    def recording(H, *, check=True):
        calls.append(H.shape)
        return original(H, check=check)

    monkeypatch.setattr(certify_module, "min_eigenvalue", recording)
    return calls


def assert_close_to_eigvalsh(lam, H):
    ref = np.linalg.eigvalsh(H)
    assert abs(lam - ref[0]) <= RTOL_FAST * abs(ref[0]) + ATOL_EIGVALSH * np.abs(ref).max(), (lam, ref[0])


@pytest.mark.parametrize("case", ["spread", "close_pair", "repeated", "near_singular", "cluster_edge"])
def test_fast_matches_eigvalsh(case, fast_path):
    rng = np.random.default_rng(11)
    n = 400
    lam = np.sort(rng.uniform(1.0, 50.0, n))
    if case == "close_pair":
        lam[1] = lam[0] * (1 + 1e-9)  # lambda_1 ~ lambda_2
    elif case == "repeated":
        lam[:3] = lam[0]  # exactly repeated lambda_min
    elif case == "near_singular":
        lam[0] = 1e-9
    elif case == "cluster_edge":  # an NTK-like bulk: lambda_min at the edge of many close eigenvalues
        lam[:300] = 1.0 + np.sort(rng.uniform(0.0, 0.3, 300)) ** 2
    H = spd_with_spectrum(lam, rng)
    assert_close_to_eigvalsh(min_eigenvalue_fast(H, rng=0), H)
    assert fast_path == []  # the shift-and-invert path answered, no fallback


def test_fast_on_ntk_of_sphere_data(sphere_data, fast_path):
    H = ntk_infinite(sphere_data(500, 32, seed=12))
    lam = min_eigenvalue_fast(H, rng=1)
    assert_close_to_eigvalsh(lam, H)
    assert fast_path == []
    assert min_eigenvalue_fast(H, rng=1) == lam  # a seed makes it bit-reproducible


def test_fast_at_its_default_threshold(sphere_data):
    n = certify_module._FAST_MIN_N  # the smallest size that takes the fast path by default
    H = ntk_infinite(sphere_data(n, 32, seed=13))
    assert_close_to_eigvalsh(min_eigenvalue_fast(H, rng=2), H)


def test_fast_singular_gram_matrix(fast_path):
    X = np.random.default_rng(14).standard_normal((300, 20))
    H = X @ X.T  # rank 20: lambda_min = 0 up to rounding
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalWarning)  # a negative-noise estimate is clipped
        lam = min_eigenvalue_fast(H, rng=3)
    assert 0.0 <= lam <= 1e-13 * np.linalg.eigvalsh(H)[-1]


def test_fast_indefinite_and_fallbacks(fast_path):
    rng = np.random.default_rng(15)
    H = spd_with_spectrum(np.linspace(-1.0, 10.0, 200), rng)
    with pytest.raises(ValueError, match=r"`H` must be positive semi-definite"):
        min_eigenvalue_fast(H)
    assert min_eigenvalue_fast(H, check=False) == pytest.approx(-1.0, abs=1e-12)
    assert len(fast_path) == 2  # both answered by the LAPACK route
    assert min_eigenvalue_fast(np.zeros((50, 50))) == 0.0
    assert min_eigenvalue_fast(np.eye(64) * 3.0) == pytest.approx(3.0, rel=1e-14)


def test_fast_small_matrices_use_lapack():
    assert min_eigenvalue_fast([[2.0, 1.0], [1.0, 2.0]]) == pytest.approx(1.0, rel=1e-14)
    assert min_eigenvalue_fast([[7.0]]) == 7.0


# ----------------------------------------------------------------------------------------------
# bad inputs


@pytest.mark.parametrize("fn", [lambda H: certify_min_eigenvalue(H, 0.0), lambda H: count_eigenvalues_below(H, 0.0),
                                lambda H: min_eigenvalue_fast(H)])
def test_bad_matrices_raise_naming_H(fn):
    with pytest.raises(ValueError, match=r"`H` must be square, got shape \(2, 3\)"):
        fn(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"`H` must be symmetric .* got max\|H - H.T\| = 0.1"):
        fn([[1.0, 0.1], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"`H` must be finite .* got H\[0, 1\]=nan"):
        fn([[1.0, np.nan], [np.nan, 1.0]])
    with pytest.raises(ValueError, match=r"`H` must be 2-D"):
        fn(np.ones(3))
    with pytest.raises(TypeError, match=r"`H` must be a real numeric array"):
        fn(np.array([["a", "b"], ["c", "d"]]))


@pytest.mark.parametrize("fn", [certify_min_eigenvalue, count_eigenvalues_below])
def test_bad_thresholds_raise_naming_t(fn):
    H = np.eye(2)
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match=r"`t` must be finite, got t="):
            fn(H, bad)
    with pytest.raises(TypeError, match=r"`t` must be a real number, got str"):
        fn(H, "0.5")
    with pytest.raises(TypeError, match=r"`t` must be a real number, got bool"):
        fn(H, True)


def test_bad_rtol_and_rng_raise():
    for bad in (0.0, 1.0, -1e-3, np.nan):
        with pytest.raises(ValueError, match=r"`rtol` must be"):
            min_eigenvalue_fast(np.eye(2), rtol=bad)
    with pytest.raises(TypeError, match=r"`rng` must be"):
        min_eigenvalue_fast(np.eye(2), rng="seed")


# ----------------------------------------------------------------------------- use in training


def _train_problem(seed=0, n=12, d=4, m=40):
    from ntkcheck import init_network

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, rng.standard_normal(n), init_network(d, m, rng=seed)


@pytest.mark.parametrize("shift", [0.0, 0.4])
def test_training_certificates_agree_with_the_recorded_eigenvalues(shift):
    from ntkcheck import ntk_infinite, train

    X, y, net = _train_problem(m=40)
    kw = dict(scheme="bernoulli", p=3, xi=0.6, local_steps=2, eta=0.8, global_steps=8, rng=4, shift=shift)
    lam = train(X, y, net, record="full", **kw).trajectory
    cert = train(X, y, net, record="certified", **kw)
    tr = cert.trajectory
    t = 0.5 * np.linalg.eigvalsh(ntk_infinite(X, shift=shift))[0]
    assert tr.lam_threshold == pytest.approx(t, rel=1e-10) and cert.config["lam_threshold"] == tr.lam_threshold
    assert tr.lam_min_full is None and tr.lam_certified_full.dtype == bool
    assert tr.lam_certified_full.shape == lam.lam_min_full.shape
    assert tr.lam_certified_masked.shape == lam.lam_min_masked.shape
    # certified exactly where λ_min clears the threshold by more than the rounding margin
    for c, v, thr in ((tr.lam_certified_full, lam.lam_min_full, t),
                      (tr.lam_certified_masked, lam.lam_min_masked, 0.6 * t)):
        clear = np.abs(v - thr) > 1e-9
        npt.assert_array_equal(c[clear], (v > thr)[clear])
    # both answers occur in this run, so the comparison is not vacuous
    assert tr.lam_certified_masked.any() and not tr.lam_certified_masked.all()
    # the same weights: recording does not change training
    npt.assert_array_equal(cert.W, train(X, y, net, record="loss", **kw).W)


def test_training_certificates_with_an_explicit_threshold_and_gauss_newton():
    from ntkcheck import train

    X, y, net = _train_problem(m=300)
    lam = train(X, y, net, scheme="gauss-newton", eta=1.0, global_steps=3, shift=0.3, record="standard")
    v = lam.trajectory.lam_min_full
    for t in (0.5 * v.min(), 2.0 * v.max()):
        tr = train(X, y, net, scheme="gauss-newton", eta=1.0, global_steps=3, shift=0.3,
                   record=("lam_certified_full",), lam_threshold=t).trajectory
        npt.assert_array_equal(tr.lam_certified_full, v > t)
    with pytest.raises(ValueError, match="lam_threshold"):
        train(X, y, net, scheme="gd", eta=1.0, global_steps=1, record="certified", lam_threshold=float("nan"))


def test_default_certificate_threshold_uses_the_limit_of_the_shifted_kernel_at_init():
    # w ~ N(0, κ² I): 1{<w, x> >= b} = 1{<z, x> >= b/κ}, so H_b(W_0) -> ntk_infinite(X, shift=b/κ)
    from ntkcheck import init_network, ntk_at_init, ntk_infinite, train

    X, y, _ = _train_problem(n=10)
    net = init_network(X.shape[1], 50, kappa=0.5, rng=3)
    tr = train(X, y, net, scheme="gd", eta=0.1, global_steps=1, shift=0.4, record="certified").trajectory
    limit = ntk_infinite(X, shift=0.4 / 0.5)
    assert tr.lam_threshold == pytest.approx(0.5 * np.linalg.eigvalsh(limit)[0], rel=1e-10)
    wide = ntk_at_init(X, 200_000, kappa=0.5, shift=0.4, rng=1)  # the finite kernel it is the limit of
    assert np.abs(wide - limit).max() < 0.01
