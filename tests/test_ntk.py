"""Tests of ntkcheck.ntk: kernels against naive loops, exact identities and limits (docs/theory.md §4-5)."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

import ntkcheck
from ntkcheck import (
    angles,
    firing_fraction,
    firing_fraction_infinite,
    ntk_at_init,
    ntk_finite,
    ntk_infinite,
    ntk_output_finite,
    ntk_output_infinite,
)

from . import reference
from .conftest import ATOL_EXACT, MC_SIGMAS, RTOL_CLOSED_FORM, RTOL_EXACT, unit_rows


def _data(seed, n, d, m, unit=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if unit:
        X = unit_rows(X)
    W = rng.standard_normal((m, d))
    return rng, X, W


# ----------------------------------------------------------------- finite width vs naive loops


@pytest.fixture(params=["float32-gemm", "float64-gemm"])
def gemm_path(request):
    """Run a test through both pre-activation paths of ntk_finite (float32 + fix-up, float64)."""
    import ntkcheck.ntk as ntk_module

    old = ntk_module._F32_MIN_ROWS
    ntk_module._F32_MIN_ROWS = 0 if request.param == "float32-gemm" else 10**9
    yield request.param
    ntk_module._F32_MIN_ROWS = old


@pytest.mark.parametrize("f32_min_rows", [0, 10**9])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 9),
    d=st.integers(1, 6),
    m=st.integers(1, 150),
    mask_kind=st.sampled_from(["none", "binary", "real"]),
    shift=st.sampled_from([0.0, 0.4, -0.3]),
    chunk=st.sampled_from([None, 64]),
)
def test_ntk_finite_matches_naive_loops(f32_min_rows, seed, n, d, m, mask_kind, shift, chunk):
    import ntkcheck.ntk as ntk_module

    rng, X, W = _data(seed, n, d, m)
    mask = {"none": None, "binary": (rng.random(m) < 0.5).astype(float), "real": rng.random(m)}[mask_kind]
    old, ntk_module._F32_MIN_ROWS = ntk_module._F32_MIN_ROWS, f32_min_rows
    try:
        H = ntk_finite(X, W, mask=mask, shift=shift, chunk=chunk)
    finally:
        ntk_module._F32_MIN_ROWS = old
    npt.assert_allclose(H, reference.ntk_finite(X, W, mask, shift), rtol=RTOL_EXACT, atol=ATOL_EXACT)


def test_ntk_finite_many_chunks_and_partial_words(gemm_path):
    # m not a multiple of 64 nor of the chunk; several chunks and sub-chunks; n not a multiple of 4
    _, X, W = _data(1, 13, 5, 1500)
    mask = (np.arange(1500) % 3 != 0).astype(float)
    ref = reference.ntk_finite(X, W, mask)
    for chunk in (64, 128, 640, 1500, 4096):
        npt.assert_allclose(ntk_finite(X, W, mask=mask, chunk=chunk), ref, rtol=RTOL_EXACT, atol=ATOL_EXACT)


def test_ntk_finite_float32_inputs_and_noncontiguous_W(gemm_path):
    _, X, W = _data(2, 8, 4, 300)
    X32, W32 = X.astype(np.float32), W.astype(np.float32)
    ref = reference.ntk_finite(X32.astype(float), W32.astype(float))
    H = ntk_finite(X32, W32)
    assert H.dtype == np.float64
    npt.assert_allclose(H, ref, rtol=RTOL_EXACT, atol=ATOL_EXACT)
    WF = np.asfortranarray(W)
    npt.assert_allclose(ntk_finite(X, WF[::2]), reference.ntk_finite(X, W[::2]), rtol=RTOL_EXACT, atol=ATOL_EXACT)


def test_ntk_finite_exact_ties_count_as_active(gemm_path):
    # <w_r, x_i> = 0 exactly: the indicator uses >=, so the neuron counts.
    X = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    W = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, -1.0, 0.0], [0.0, 0.0, 1.0]] * 50)
    npt.assert_allclose(ntk_finite(X, W), reference.ntk_finite(X, W), rtol=RTOL_EXACT, atol=ATOL_EXACT)
    assert ntk_finite(X, [[0.0, 0.0, 1.0]])[0, 0] == 1.0


def test_ntk_finite_near_threshold_entries_are_resolved_in_float64(gemm_path):
    # Pre-activations within float32 rounding of the threshold must follow float64 arithmetic.
    rng = np.random.default_rng(3)
    X = unit_rows(rng.standard_normal((6, 16)))
    W = rng.standard_normal((400, 16))
    # make every w_r nearly orthogonal to x_0: <w_r, x_0> = +-1e-9
    W -= np.outer(W @ X[0], X[0])
    W += np.outer(rng.choice([-1e-9, 1e-9], size=400), X[0])
    P = X @ W.T
    assert np.all(np.abs(P[0]) < 1e-8)
    npt.assert_allclose(ntk_finite(X, W), reference.ntk_finite(X, W), rtol=RTOL_EXACT, atol=ATOL_EXACT)


def test_ntk_finite_extreme_scales_fall_back_to_float64(gemm_path):
    _, X, W = _data(4, 7, 3, 200)
    for sx, sw in [(1e-20, 1.0), (1.0, 1e20), (1e-160, 1e150)]:
        npt.assert_allclose(ntk_finite(X * sx, W * sw), reference.ntk_finite(X * sx, W * sw),
                            rtol=RTOL_EXACT, atol=0)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), d=st.integers(1, 5), m=st.integers(1, 100),
       shift=st.sampled_from([0.0, 0.5]), real_mask=st.booleans())
def test_ntk_output_finite_matches_naive_loops(seed, n, d, m, shift, real_mask):
    rng, X, W = _data(seed, n, d, m)
    mask = rng.random(m) if real_mask else None
    npt.assert_allclose(ntk_output_finite(X, W, mask=mask, shift=shift, chunk=64),
                        reference.ntk_output_finite(X, W, mask, shift), rtol=1e-11, atol=ATOL_EXACT)


@given(seed=st.integers(0, 2**32 - 1), shift=st.sampled_from([0.0, 0.7, -0.2]))
def test_firing_fraction_matches_naive_loops(seed, shift):
    _, X, W = _data(seed, 6, 3, 130)
    npt.assert_allclose(firing_fraction(X, W, shift=shift, chunk=64), reference.firing_fraction(X, W, shift),
                        rtol=RTOL_EXACT)


# ----------------------------------------------------------------- structural properties


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 12), m=st.integers(1, 300),
       shift=st.sampled_from([0.0, 0.3]))
def test_ntk_finite_symmetric_psd_and_permutation_equivariant(seed, n, m, shift):
    rng, X, W = _data(seed, n, 4, m)
    mask = rng.random(m)
    H = ntk_finite(X, W, mask=mask, shift=shift)
    npt.assert_array_equal(H, H.T)
    lam = np.linalg.eigvalsh(H)
    assert lam[0] >= -1e-12 * max(1.0, lam[-1])
    perm = rng.permutation(n)
    npt.assert_allclose(ntk_finite(X[perm], W, mask=mask, shift=shift), H[np.ix_(perm, perm)],
                        rtol=RTOL_EXACT, atol=ATOL_EXACT)
    # permuting the neurons (with their mask entries) changes nothing
    q = rng.permutation(m)
    npt.assert_allclose(ntk_finite(X, W[q], mask=mask[q], shift=shift), H, rtol=RTOL_EXACT, atol=ATOL_EXACT)


def test_all_ones_mask_is_unmasked_and_zero_mask_is_zero():
    _, X, W = _data(5, 10, 4, 700)
    H = ntk_finite(X, W)
    npt.assert_array_equal(ntk_finite(X, W, mask=np.ones(700)), H)
    npt.assert_array_equal(ntk_finite(X, W, mask=np.ones(700, dtype=bool)), H)
    npt.assert_array_equal(ntk_finite(X, W, mask=np.zeros(700)), np.zeros((10, 10)))


def test_masked_ntk_is_linear_in_the_mask():
    rng, X, W = _data(6, 7, 3, 200)
    m1, m2 = (rng.random(200) < 0.5).astype(float), (rng.random(200) < 0.3).astype(float)
    a, b = 0.25, 0.5
    npt.assert_allclose(ntk_finite(X, W, mask=a * m1 + b * m2),
                        a * ntk_finite(X, W, mask=m1) + b * ntk_finite(X, W, mask=m2), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("xi", [0.2, 0.5, 0.9])
def test_mask_expectation_is_xi_times_H_by_exact_averaging(xi):
    """docs/theory.md §5 identity 2, E[H(W, m)] = xi H(W), averaging over all 2^m Bernoulli masks."""
    _, X, W = _data(7, 5, 3, 10)
    H = ntk_finite(X, W)
    expected = np.zeros_like(H)
    for bits in itertools.product([0.0, 1.0], repeat=10):
        mask = np.array(bits)
        k = int(mask.sum())
        expected += xi**k * (1 - xi) ** (10 - k) * ntk_finite(X, W, mask=mask)
    npt.assert_allclose(expected, xi * H, rtol=1e-12, atol=1e-14)


def test_H_does_not_depend_on_weight_scale_or_kappa():
    _, X, W = _data(8, 6, 3, 500)
    npt.assert_array_equal(ntk_finite(X, 7.5 * W), ntk_finite(X, W))
    npt.assert_allclose(ntk_at_init(X, 1000, kappa=0.01, shift=0.002, rng=3),
                        ntk_at_init(X, 1000, kappa=1.0, shift=0.2, rng=3), rtol=RTOL_EXACT)


def test_ntk_at_init_equals_ntk_finite_on_the_same_draw():
    X = _data(9, 6, 4, 1)[1]
    m, chunk = 1000, 256
    H = ntk_at_init(X, m, kappa=2.0, rng=11, chunk=chunk)
    streams = np.random.default_rng(11).spawn(-(-m // chunk))
    W = np.vstack([2.0 * g.standard_normal((min(chunk, m - k * chunk), 4)) for k, g in enumerate(streams)])
    npt.assert_allclose(H, reference.ntk_finite(X, W), rtol=RTOL_EXACT, atol=ATOL_EXACT)
    npt.assert_array_equal(H, ntk_at_init(X, m, kappa=2.0, rng=11, chunk=chunk))


# ----------------------------------------------------------------- infinite width


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 10), d=st.integers(2, 6))
def test_ntk_infinite_matches_naive_formula(seed, n, d):
    X = np.random.default_rng(seed).standard_normal((n, d)) * 3
    ref = reference.ntk_infinite(X)
    # the reference's arccos loses relative accuracy on nearly (anti)parallel pairs: compare
    # entries relative to the matrix scale there
    npt.assert_allclose(ntk_infinite(X), ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def test_ntk_infinite_diagonal_is_exactly_half_squared_norm():
    X = np.random.default_rng(10).standard_normal((50, 7)) * np.arange(1, 51)[:, None]
    H = ntk_infinite(X)
    npt.assert_array_equal(np.diag(H), 0.5 * np.einsum("ij,ij->i", X, X))
    Xu = unit_rows(X)  # norms are 1 up to a few ulp after normalisation
    npt.assert_allclose(np.diag(ntk_infinite(Xu)), 0.5, rtol=1e-15)
    npt.assert_array_equal(np.diag(ntk_output_infinite(Xu)), 0.5 * np.einsum("ij,ij->i", Xu, Xu))


def test_angles_are_accurate_for_nearly_parallel_and_antiparallel_pairs():
    eps = 1e-9
    X = np.array([[1.0, 0.0], [math.cos(eps), math.sin(eps)], [-1.0, 1e-10], [3.0, 0.0]])
    phi = angles(X)
    assert phi[0, 0] == 0.0 and phi[0, 3] == 0.0
    npt.assert_allclose(phi[0, 1], eps, rtol=1e-7)  # arccos of the rounded cosine gives ~2e-8 or 0
    npt.assert_allclose(math.pi - phi[0, 2], 1e-10, rtol=1e-6)
    # H_inf at the antiparallel pair uses pi - phi, accurate even though it is tiny
    H = ntk_infinite(X)
    npt.assert_allclose(H[0, 2], -1.0 * (1e-10) / (2 * math.pi), rtol=1e-5)


def test_finite_width_converges_to_infinite_width_like_m_to_the_minus_half():
    """docs/theory.md §4: H(0) -> H_inf; the spectral error should scale like m^{-1/2}."""
    X = unit_rows(np.random.default_rng(12).standard_normal((16, 5)))
    H_inf = ntk_infinite(X)
    widths = 2 ** np.arange(8, 16)
    errs = []
    for m in widths:
        e = [np.linalg.norm(ntk_at_init(X, int(m), rng=[100, s]) - H_inf, 2) for s in range(6)]
        errs.append(np.mean(e))
    slope = np.polyfit(np.log(widths), np.log(errs), 1)[0]
    assert abs(slope + 0.5) < 0.1, slope
    assert errs[-1] < 0.05 * np.linalg.norm(H_inf, 2)


def test_output_layer_kernel_limit_by_monte_carlo():
    X = np.random.default_rng(13).standard_normal((5, 3))
    K = ntk_output_infinite(X)
    npt.assert_allclose(K, reference.ntk_output_infinite(X), rtol=1e-12, atol=1e-14)
    rng = np.random.default_rng(14)
    W = rng.standard_normal((400_000, 3))
    S = np.maximum(X @ W.T, 0.0)
    mean = S @ S.T / W.shape[0]
    se = np.sqrt(np.var(S[:, None, :] * S[None, :, :], axis=2) / W.shape[0])
    assert np.all(np.abs(mean - K) <= MC_SIGMAS * se + 1e-12)
    npt.assert_allclose(ntk_output_finite(X, W), mean, rtol=1e-10)


# ----------------------------------------------------------------- shifted ReLU (DHSWZ22)


@pytest.mark.parametrize("shift", [0.5, -0.8, 1.7])
def test_shifted_limit_matches_scipy_bivariate_normal(shift):
    X = np.random.default_rng(15).standard_normal((7, 4)) * np.linspace(0.5, 2.0, 7)[:, None]
    npt.assert_allclose(ntk_infinite(X, shift=shift), reference.ntk_infinite_shifted(X, shift),
                        rtol=1e-7, atol=1e-10)  # scipy's bivariate CDF is accurate to ~1e-8


@pytest.mark.parametrize("shift", [0.5, -1.1])
def test_shifted_limit_unit_rows_matches_scipy_bivariate_normal(shift):
    # unit rows take the one-Owen's-T route; check it against the independent reference
    X = unit_rows(np.random.default_rng(24).standard_normal((7, 4)))
    npt.assert_allclose(ntk_infinite(X, shift=shift), reference.ntk_infinite_shifted(X, shift),
                        rtol=1e-7, atol=1e-10)


def test_shifted_limit_unit_rows_owen_formula():
    """Unit rows: P = Phi(-b) - 2 T(b, tan(phi/2)) (docs/theory.md §4)."""
    from scipy.special import owens_t

    X = unit_rows(np.random.default_rng(16).standard_normal((6, 3)))
    b = 0.9
    phi = angles(X)
    expected = (X @ X.T) * (norm.cdf(-b) - 2 * owens_t(b, np.tan(phi / 2)))
    npt.assert_allclose(ntk_infinite(X, shift=b), expected, rtol=RTOL_CLOSED_FORM, atol=1e-15)


def test_shifted_limit_exact_at_correlations_plus_minus_one():
    x = np.array([0.6, 0.8])
    X = np.vstack([x, 2 * x, -x, -0.5 * x])
    b = 0.7
    H = ntk_infinite(X, shift=b)
    assert np.all(np.isfinite(H))
    # rho = +1: Phi(-max(h, k)); rho = -1: max(0, Phi(-h) - Phi(k))
    assert H[0, 1] == pytest.approx(2.0 * norm.cdf(-max(b / 1, b / 2)), rel=1e-15)
    assert H[0, 2] == pytest.approx(-1.0 * max(0.0, norm.cdf(-b) - norm.cdf(b)), abs=0)
    bneg = -0.7  # a negative shift makes the antiparallel orthant non-empty
    Hn = ntk_infinite(X, shift=bneg)
    assert Hn[0, 2] == pytest.approx(-1.0 * (norm.cdf(-bneg) - norm.cdf(bneg)), rel=1e-14)
    assert Hn[1, 3] == pytest.approx(-1.0 * max(0.0, norm.cdf(-bneg / 2) - norm.cdf(bneg / 0.5)), abs=1e-15)
    npt.assert_allclose(np.diag(H), np.einsum("ij,ij->i", X, X) * norm.cdf(-b / np.linalg.norm(X, axis=1)),
                        rtol=1e-15)


def test_shift_zero_limit_is_H_inf():
    X = np.random.default_rng(17).standard_normal((8, 5))
    # the Owen's T route, evaluated at a vanishing shift, meets the closed form at shift 0
    npt.assert_allclose(ntk_infinite(X, shift=1e-12), ntk_infinite(X), rtol=1e-9, atol=1e-12)
    npt.assert_allclose(ntk_infinite(X, shift=0.0), reference.ntk_infinite(X), rtol=1e-12, atol=1e-14)


def test_shifted_finite_width_converges_to_its_limit_by_monte_carlo():
    X = unit_rows(np.random.default_rng(18).standard_normal((6, 4)))
    b, m = 0.8, 200_000
    rng = np.random.default_rng(19)
    W = rng.standard_normal((m, 4))
    A = (X @ W.T >= b).astype(float)
    Hm = ntk_finite(X, W, shift=b)
    npt.assert_allclose(Hm, (X @ X.T) * (A @ A.T) / m, rtol=1e-12)
    # per-pair standard error of the mean of Bernoulli co-activations
    p = (A @ A.T) / m
    se = np.abs(X @ X.T) * np.sqrt(p * (1 - p) / m)
    assert np.all(np.abs(Hm - ntk_infinite(X, shift=b)) <= MC_SIGMAS * se + 1e-12)


def test_firing_fraction_limit_is_Phi_minus_shift():
    X = unit_rows(np.random.default_rng(20).standard_normal((5, 3)))
    b, m = 1.2, 300_000
    W = np.random.default_rng(21).standard_normal((m, 3))
    f = firing_fraction(X, W, shift=b)
    p = norm.cdf(-b)
    npt.assert_allclose(firing_fraction_infinite(X, shift=b), p, rtol=1e-15)
    assert np.all(np.abs(f - p) <= MC_SIGMAS * np.sqrt(p * (1 - p) / m))
    assert p <= math.exp(-b * b / 2)
    npt.assert_allclose(firing_fraction_infinite(2 * X, shift=b), norm.cdf(-b / 2), rtol=1e-15)


# ----------------------------------------------------------------- lambda_0 (DZPS19 Thm 3.1)


def test_lambda0_positive_for_nonparallel_data_and_zero_for_parallel():
    X = unit_rows(np.random.default_rng(22).standard_normal((30, 5)))
    assert ntkcheck.min_eigenvalue(ntk_infinite(X)) > 1e-3
    for dup in (X[3], 2.5 * X[3]):  # a duplicated point and a positively parallel one
        Xd = np.vstack([X, dup])
        with warnings.catch_warnings():  # rounding may leave -1e-17, clipped to 0 with a warning
            warnings.simplefilter("ignore", ntkcheck.NumericalWarning)
            lam = ntkcheck.min_eigenvalue(ntk_infinite(Xd))
        assert abs(lam) < 1e-12


def test_dtype_option_and_progress_report(capsys):
    _, X, W = _data(23, 6, 3, 2000)
    H = ntk_finite(X, W)
    H32 = ntk_finite(X, W, dtype=np.float32, chunk=512, progress=True)
    assert H32.dtype == np.float32
    npt.assert_allclose(H32, H, rtol=1e-6)
    assert "[ntk n=6 m=2000] 4/4" in capsys.readouterr().err
    assert ntk_infinite(X, dtype="float32").dtype == np.float32
    assert ntk_at_init(X, 100, rng=0, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match=r"`dtype` must be numpy.float64 or numpy.float32, got int64"):
        ntk_infinite(X, dtype=np.int64)


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "X, exc, match",
    [
        (np.ones(5), ValueError, r"`X` must be 2-D, got 1-D array of shape \(5,\)"),
        (np.array([[1.0, np.nan]]), ValueError, r"`X` must be finite \(no NaN or inf\), got X\[0, 1\]=nan"),
        (np.array([[1.0, 0.0], [np.inf, 1.0]]), ValueError, r"got X\[1, 0\]=inf"),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), ValueError, r"rows of `X` must be nonzero.*row 1 is all zeros"),
        (np.array([[1 + 1j, 0]]), TypeError, r"`X` must be a real numeric array.*complex128"),
        (np.array([["a", "b"]]), TypeError, r"`X` must be a real numeric array"),
        (np.array([[True, False]]), TypeError, r"`X` must be a real numeric array.*bool"),
        (np.zeros((0, 3)), ValueError, r"`X` must not be empty"),
    ],
)
def test_bad_X_is_refused_with_a_named_message(X, exc, match):
    for call in (lambda: ntk_finite(X, np.ones((3, np.shape(X)[-1] if np.ndim(X) == 2 else 1))),
                 lambda: ntk_infinite(X)):
        with pytest.raises(exc, match=match):
            call()


def test_bad_W_mask_shift_are_refused_with_named_messages():
    X = np.eye(3)
    with pytest.raises(ValueError, match=r"`W` must have shape \(m, d\) with d=3 columns to match X, got shape \(4, 2\)"):
        ntk_finite(X, np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"Did you pass W.T\? It has shape \(5, 3\)"):
        ntk_finite(X, np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"`W` must be finite.*W\[2, 1\]=nan"):
        W = np.ones((4, 3))
        W[2, 1] = np.nan
        ntk_finite(X, W)
    with pytest.raises(ValueError, match=r"`W` must be 2-D with shape \(m, d\)"):
        ntk_finite(X, np.ones(3))
    with pytest.raises(ValueError, match=r"`mask` must have length m=4"):
        ntk_finite(X, np.ones((4, 3)), mask=np.ones(3))
    with pytest.raises(ValueError, match=r"entries of `mask` must be in \[0, 1\], got mask\[1\]=1.5"):
        ntk_finite(X, np.ones((4, 3)), mask=[0, 1.5, 1, 1])
    with pytest.raises(ValueError, match=r"`mask` must be finite"):
        ntk_finite(X, np.ones((4, 3)), mask=[0, np.nan, 1, 1])
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match=r"`shift` must be finite"):
            ntk_infinite(X, shift=bad)
    with pytest.raises(TypeError, match=r"`shift` must be a real number, got bool True"):
        ntk_finite(X, np.ones((4, 3)), shift=True)
    with pytest.raises(ValueError, match=r"`chunk` must be >= 64, got chunk=10"):
        ntk_finite(X, np.ones((4, 3)), chunk=10)
    with pytest.raises(ValueError, match=r"`m` must be >= 1, got m=0"):
        ntk_at_init(X, 0)
    with pytest.raises(TypeError, match=r"`rng` must be None, an int"):
        ntk_at_init(X, 10, rng="seed")
