"""Property testing as a feature: hypothesis strategies, assertion helpers, shipped properties.

Use these to property-test your own NTK code against ntkcheck::

    from hypothesis import given
    from ntkcheck.testing import datasets, weights, assert_close_matrices
    import ntkcheck

    @given(datasets(), weights())
    def test_my_ntk(data, W):
        X, y = data
        assert_close_matrices(my_ntk(X, W[:, :X.shape[1]]), ntkcheck.ntk_finite(X, W[:, :X.shape[1]]))

Strategies draw shapes and a seed and build the arrays from ``numpy.random.default_rng(seed)``
(style.md §7: this shrinks well and stays fast).  :func:`datasets` satisfies Assumption 1 of
LK22 / DZPS19 (docs/theory.md §1): unit rows, ``|y_i| ≤ 1``, no two points parallel.  :func:`masks`
draws masks of each kind of docs/theory.md §2 (Bernoulli, categorical, all ones, real-valued).

:data:`PROPERTIES` are the package's own invariants (docs/theory.md §4–§5); :func:`run_selftest`
(``ntkcheck selftest``) runs them against the installed package.  The strategies and the
self-test need ``hypothesis`` (``pip install ntkcheck[test]``); the assertion helpers do not.
"""

from __future__ import annotations

import traceback

import numpy as np

from ._stats import z_test
from .masks import sample_masks
from .network import init_network
from .ntk import ntk_finite, ntk_infinite
from .train import train

__all__ = ["datasets", "masks", "weights", "assert_close_matrices", "assert_symmetric_psd",
           "assert_mc_mean", "assert_ntk_equivalent", "PROPERTIES", "run_selftest",
           "require_hypothesis"]

INSTALL_HINT = "pip install ntkcheck[test]"


def require_hypothesis():
    """Import and return ``hypothesis``; raise an ImportError saying how to install it."""
    try:
        import hypothesis
    except ImportError as exc:
        raise ImportError("ntkcheck.testing strategies and `ntkcheck selftest` need the "
                          f"`hypothesis` package, which is not installed: run `{INSTALL_HINT}` "
                          "(or `pip install hypothesis`).") from exc
    return hypothesis


# ----------------------------------------------------------------------------- strategies


def datasets(*, min_n: int = 2, max_n: int = 12, min_d: int = 2, max_d: int = 6,
             min_separation: float = 1e-3, labels: str = "random"):
    """Strategy for ``(X, y)`` satisfying Assumption 1 (docs/theory.md §1).

    Parameters
    ----------
    min_n, max_n, min_d, max_d : int
        Ranges of n (points) and d (dimension, ``min_d >= 2``).
    min_separation : float, default 1e-3
        Every pair has ``min(‖x_i − x_j‖, ‖x_i + x_j‖) ≥ min_separation`` (far from parallel).
    labels : {"random", "sign"}
        Labels uniform in [−1, 1], or ±1.

    Returns
    -------
    hypothesis strategy of (ndarray (n, d), ndarray (n,))
    """
    st = require_hypothesis().strategies
    if min_d < 2:
        raise ValueError(f"`min_d` must be >= 2 (in d = 1 all points are parallel), got {min_d}.")

    def build(args):
        n, d, seed = args
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        y = rng.uniform(-1, 1, n) if labels == "random" else np.where(rng.random(n) < 0.5, -1.0, 1.0)
        return X, y

    def separated(data):
        X = data[0]
        G = np.abs(X @ X.T)
        np.fill_diagonal(G, 0.0)
        # min(|u - v|, |u + v|)^2 = 2 - 2|cos|
        return bool(np.sqrt(max(0.0, 2.0 - 2.0 * G.max())) >= min_separation)

    shapes = st.tuples(st.integers(min_n, max_n), st.integers(min_d, max_d),
                       st.integers(0, 2**32 - 1))
    return shapes.map(build).filter(separated)


def weights(*, min_m: int = 1, max_m: int = 64, d: int = 6, kappa: float = 1.0):
    """Strategy for first-layer weights ``W`` of shape (m, d), rows ``~ N(0, κ² I)``.

    Slice columns (``W[:, :X.shape[1]]``) to match a dataset of smaller d.
    """
    st = require_hypothesis().strategies
    return st.tuples(st.integers(min_m, max_m), st.integers(0, 2**32 - 1)).map(
        lambda a: kappa * np.random.default_rng(a[1]).standard_normal((a[0], d)))


def masks(m: int, *, kind: str | None = None, p: int | None = None):
    """Strategy for neuron masks of length ``m`` (docs/theory.md §2).

    Parameters
    ----------
    m : int
        Width.
    kind : {"bernoulli", "categorical", "ones", "real"}, optional
        Mask kind; default: any of them.  ``"bernoulli"``: i.i.d. Bern(ξ), ξ drawn from
        (0, 1]; ``"categorical"``: one row of a uniform partition into p subnetworks;
        ``"ones"``: all ones; ``"real"``: entries uniform in [0, 1] (LK22 Def. 1).
    p : int, optional
        For ``"categorical"`` with ``p`` given, the strategy yields the whole partition, an
        array of shape (p, m) whose columns sum to 1.

    Returns
    -------
    hypothesis strategy of ndarray (m,) (or (p, m)) of float64
    """
    st = require_hypothesis().strategies

    kinds = ("bernoulli", "categorical", "ones", "real") if kind is None else (kind,)

    def build(args):
        k, seed, xi, q = args
        rng = np.random.default_rng(seed)
        if k == "bernoulli":
            return sample_masks(m, 1, kind="bernoulli", xi=xi, rng=rng)[0].astype(float)
        if k == "categorical":
            M = sample_masks(m, q, kind="categorical", rng=rng).astype(float)
            return M if p is not None else M[0]
        if k == "ones":
            return np.ones(m)
        return rng.uniform(0.0, 1.0, m)

    q = st.just(p) if p is not None else st.integers(1, 4)
    return st.tuples(st.sampled_from(kinds), st.integers(0, 2**32 - 1),
                     st.floats(0.05, 1.0), q).map(build)


# ----------------------------------------------------------------------------- assertions


def assert_close_matrices(actual, desired, rtol: float = 1e-10, *, what: str = "matrix") -> None:
    """Assert ``‖actual − desired‖_F ≤ rtol ‖desired‖_F`` (neural-tangents' criterion).

    Also requires equal shapes and finite entries.  An all-zero ``desired`` needs an all-zero
    ``actual`` up to ``rtol`` in absolute terms.

    Raises
    ------
    AssertionError
        With the relative Frobenius error, the largest entrywise error and where it is.
    """
    a, b = np.asarray(actual, dtype=float), np.asarray(desired, dtype=float)
    if a.shape != b.shape:
        raise AssertionError(f"{what}: shapes differ: actual {a.shape} vs desired {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise AssertionError(f"{what}: non-finite entries")
    diff = np.linalg.norm(a - b)
    scale = np.linalg.norm(b)
    rel = diff / scale if scale > 0 else diff
    if not rel <= rtol:
        idx = np.unravel_index(int(np.argmax(np.abs(a - b))), a.shape) if a.size else ()
        raise AssertionError(f"{what}: relative Frobenius error {rel:.3g} > rtol={rtol:g}; largest "
                             f"entry error {float(np.abs(a - b)[idx]):.3g} at {tuple(map(int, idx))} "
                             f"(actual {float(a[idx]):.6g}, desired {float(b[idx]):.6g})")


def assert_symmetric_psd(H, *, rtol: float = 1e-10, what: str = "H") -> None:
    """Assert ``H`` is square, symmetric and PSD up to ``rtol · max|H|``."""
    H = np.asarray(H, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise AssertionError(f"{what}: must be square, got shape {H.shape}")
    tol = rtol * max(float(np.abs(H).max()), 1e-300)
    asym = float(np.abs(H - H.T).max())
    if asym > tol:
        raise AssertionError(f"{what}: not symmetric: max |H - H^T| = {asym:.3g} > {tol:.3g}")
    lam = float(np.linalg.eigvalsh((H + H.T) / 2)[0])
    if lam < -tol * H.shape[0]:
        raise AssertionError(f"{what}: not PSD: lambda_min = {lam:.3g}")


def assert_mc_mean(samples, expected, *, sigmas: float = 5.0, what: str = "mean") -> None:
    """Assert a Monte-Carlo mean matches its exact expectation within ``sigmas`` standard errors.

    ``samples`` has shape (S, ...) (S ≥ 2 draws along axis 0); ``expected`` broadcasts to
    ``samples.shape[1:]``.  The SE is estimated from the samples.
    """
    zt = z_test(samples, expected, sigmas=sigmas)
    if not zt.ok:
        j = zt.argmax
        exp = np.broadcast_to(np.asarray(expected, dtype=float), np.shape(zt.mean))
        raise AssertionError(f"{what}: |mean - expected| = {np.ravel(zt.z)[j]:.2f} standard errors > {sigmas} "
                             f"(mean {np.ravel(zt.mean)[j]:.6g}, expected {np.ravel(exp)[j]:.6g}, "
                             f"SE {np.ravel(zt.se)[j]:.3g})")


def assert_ntk_equivalent(ntk_fn, X, W, *, mask=None, rtol: float = 1e-10) -> None:
    """Assert a user's finite-width NTK ``ntk_fn(X, W[, mask])`` equals :func:`ntkcheck.ntk_finite`.

    ``ntk_fn`` is called as ``ntk_fn(X, W)`` or, with a mask, ``ntk_fn(X, W, mask)``; it must
    follow the normalisation of docs/theory.md §4, ``H_ij = (1/m) <x_i,x_j> Σ_r m_r 1_ir 1_jr``.
    """

    got = ntk_fn(X, W) if mask is None else ntk_fn(X, W, mask)
    assert_close_matrices(got, ntk_finite(X, W, mask=mask), rtol, what="NTK")


# ----------------------------------------------------------------------------- shipped properties


def _prop_symmetric_psd(data, W, mask):
    X = data[0]
    W = W[:, : X.shape[1]]
    assert_symmetric_psd(_ntk(X, W, mask[: W.shape[0]] if mask.size >= W.shape[0] else None))


def _prop_ones_and_zeros(data, W):

    X = data[0]
    W = W[:, : X.shape[1]]
    m = W.shape[0]
    assert_close_matrices(ntk_finite(X, W, mask=np.ones(m)), ntk_finite(X, W), 1e-12, what="all-ones mask")
    if np.any(ntk_finite(X, W, mask=np.zeros(m)) != 0):
        raise AssertionError("all-zeros mask: the masked NTK must be exactly 0")


def _prop_permutation(data, W, seed):

    X = data[0]
    W = W[:, : X.shape[1]]
    perm = np.random.default_rng(seed).permutation(X.shape[0])
    H = ntk_finite(X, W)
    assert_close_matrices(ntk_finite(X[perm], W), H[perm][:, perm], 1e-12, what="permuted NTK")


def _prop_naive_reference(data, W, mask):
    X = data[0]
    W = W[:, : X.shape[1]]
    mk = mask[: W.shape[0]] if mask.size >= W.shape[0] else np.ones(W.shape[0])
    n, m = X.shape[0], W.shape[0]
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            c = sum(mk[r] * (W[r] @ X[i] >= 0) * (W[r] @ X[j] >= 0) for r in range(m))
            H[i, j] = (X[i] @ X[j]) * c / m
    assert_close_matrices(_ntk(X, W, mk), H, 1e-12, what="NTK vs loop reference")


def _prop_partition_sums(data, W, seed, p):

    X = data[0]
    W = W[:, : X.shape[1]]
    M = sample_masks(W.shape[0], p, kind="categorical", rng=seed)
    if not np.all(M.sum(axis=0) == 1):
        raise AssertionError("categorical masks must partition the neurons")
    total = sum(ntk_finite(X, W, mask=M[l].astype(float)) for l in range(p))
    assert_close_matrices(total, ntk_finite(X, W), 1e-12, what="sum of partition NTKs")


def _prop_infinite(data):

    X = data[0]
    H = ntk_infinite(X)
    if not np.allclose(np.diag(H), 0.5, rtol=0, atol=1e-15):
        raise AssertionError("H_inf must be exactly 1/2 on the diagonal for unit rows")
    assert_symmetric_psd(H, what="H_inf")


def _prop_identical_subnetworks(data, seed):

    X, y = data
    net = init_network(X.shape[1], 16, rng=seed)
    one = train(X, y, net, scheme="gd", eta=0.3, global_steps=3, local_steps=2)
    many = train(X, y, net, scheme="bernoulli", xi=1.0, p=3, eta=0.3, global_steps=3, local_steps=2, rng=seed)
    assert_close_matrices(many.W, one.W, 1e-12, what="p identical subnetworks vs one")


def _ntk(X, W, mask):

    return ntk_finite(X, W, mask=mask)


def _given_table():
    st = require_hypothesis().strategies
    d = datasets(max_n=8, max_d=5)
    w = weights(max_m=24, d=5)
    mk = masks(24)
    seed = st.integers(0, 2**32 - 1)
    return {
        "ntk_symmetric_psd": (_prop_symmetric_psd, (d, w, mk)),
        "ntk_all_ones_and_zero_masks": (_prop_ones_and_zeros, (d, w)),
        "ntk_permutation_equivariant": (_prop_permutation, (d, w, seed)),
        "ntk_matches_loop_reference": (_prop_naive_reference, (d, w, mk)),
        "ntk_categorical_partition_sums_to_full": (_prop_partition_sums, (d, w, seed, st.integers(1, 4))),
        "ntk_infinite_diagonal_and_psd": (_prop_infinite, (d,)),
        "train_identical_subnetworks_equal_gd": (_prop_identical_subnetworks, (d, seed)),
    }


#: Names of the shipped property tests (docs/theory.md §4–§5 invariants).
PROPERTIES = ("ntk_symmetric_psd", "ntk_all_ones_and_zero_masks", "ntk_permutation_equivariant",
              "ntk_matches_loop_reference", "ntk_categorical_partition_sums_to_full",
              "ntk_infinite_diagonal_and_psd", "train_identical_subnetworks_equal_gd")


def run_selftest(*, max_examples: int = 25, select=None, stream=None) -> dict:
    """Run the shipped property tests against the installed package.

    Parameters
    ----------
    max_examples : int, default 25
        hypothesis examples per property (derandomized: the run is reproducible).
    select : str, optional
        Run only properties whose name contains this substring.
    stream : file-like, optional
        Where to print one line per property (default: nothing).

    Returns
    -------
    dict
        Property name -> None (passed) or the failure text.
    """
    hyp = require_hypothesis()
    settings = hyp.settings(max_examples=max_examples, derandomize=True, database=None,
                            deadline=None, suppress_health_check=list(hyp.HealthCheck))
    results = {}
    for name, (fn, strategies) in _given_table().items():
        if select and select not in name:
            continue
        test = settings(hyp.given(*strategies)(fn))
        try:
            test()
            results[name] = None
        except Exception:  # noqa: BLE001 - report every failure, keep going
            results[name] = traceback.format_exc(limit=3)
        if stream is not None:
            print(f"  [{'ok' if results[name] is None else 'FAIL'}] {name}", file=stream)
    return results
