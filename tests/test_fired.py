"""Tests of :mod:`ntkcheck.fired`: the dense and sparse fired-pair engines (docs/theory.md §9, DHSWZ22).

Both engines are checked against the naive loops of ``tests/reference_fired.py`` (outputs, ``J Jᵀ``,
one step, fired sets), against :func:`ntkcheck.ntk_finite`, and against each other over many steps
in which pairs change status.
"""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntkcheck import ntk_finite
from ntkcheck.fired import ENGINES, DenseFiredEngine, SparseFiredEngine

from . import reference_fired as ref
from .conftest import ATOL_EXACT, RTOL_EXACT

NAMES = sorted(ENGINES)


def problem(n, d, m, *, seed=0, unit=True, kappa=1.0):
    """Inputs (unit rows, or norms in [0.5, 2]), signs and initial weights from one seed."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    if not unit:
        X *= rng.uniform(0.5, 2.0, size=(n, 1))
    a = rng.choice([-1.0, 1.0], size=m)
    W0 = kappa * rng.standard_normal((m, d))
    return X, a, W0, rng


def assert_same_state(sp, de):
    """Sparse and dense engines agree: fired sets exactly, W / outputs / gram to rounding."""
    npt.assert_array_equal(sp.fired_pattern(), de.fired_pattern())
    npt.assert_array_equal(sp.fired_counts(), de.fired_counts())
    assert sp.union_size() == de.union_size()
    assert sp.fired_pair_count() == de.fired_pair_count() == int(de.fired_counts().sum())
    npt.assert_allclose(sp.W, de.W, rtol=RTOL_EXACT, atol=ATOL_EXACT * max(1.0, np.abs(de.W).max()))
    npt.assert_allclose(sp.outputs(), de.outputs(), rtol=RTOL_EXACT, atol=ATOL_EXACT)
    npt.assert_allclose(sp.gram(), de.gram(), rtol=RTOL_EXACT, atol=ATOL_EXACT)
    npt.assert_allclose(sp.max_movement(), de.max_movement(), rtol=1e-10, atol=ATOL_EXACT)


# ----------------------------------------------------------------------------- naive reference


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shift,unit", [(0.7, True), (1.2, False), (0.0, True), (-0.4, False)])
def test_engine_matches_naive_reference(name, shift, unit):
    X, a, W0, rng = problem(7, 4, 60, seed=1, unit=unit)
    eng = ENGINES[name](X, a, W0, shift)
    P = ref.fired_pattern(X, W0, shift)
    npt.assert_array_equal(eng.fired_pattern(), P)
    npt.assert_array_equal(eng.fired_counts(), P.sum(axis=1))
    assert eng.union_size() == int(P.any(axis=0).sum())
    npt.assert_allclose(eng.outputs(), ref.outputs(X, a, W0, shift), rtol=RTOL_EXACT, atol=ATOL_EXACT)
    J = ref.jacobian(X, a, W0, shift)
    H = eng.gram()
    npt.assert_allclose(H, J @ J.T, rtol=RTOL_EXACT, atol=ATOL_EXACT)  # §9 [EXACT]: J Jᵀ = H_b(W)
    assert np.array_equal(H, H.T) and H.dtype == np.float64
    c = rng.standard_normal(7)
    W1 = ref.step(X, a, W0, shift, c)
    info = eng.step(c)
    npt.assert_allclose(eng.W, W1, rtol=RTOL_EXACT, atol=ATOL_EXACT)
    P1 = ref.fired_pattern(X, W1, shift)
    npt.assert_array_equal(eng.fired_pattern(), P1)
    assert info["changes"] == int((P1 != P).sum())
    assert info["moved"] == int(np.any(W1 != W0, axis=1).sum())
    npt.assert_allclose(eng.outputs(), ref.outputs(X, a, W1, shift), rtol=RTOL_EXACT, atol=ATOL_EXACT)
    npt.assert_allclose(eng.max_movement(), np.linalg.norm(W1 - W0, axis=1).max(), rtol=1e-10)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shift", [0.0, 0.5, 1.5])
def test_gram_equals_ntk_finite(name, shift):
    X, a, W0, rng = problem(12, 5, 500, seed=2, unit=False)
    eng = ENGINES[name](X, a, W0, shift)
    for _ in range(3):
        npt.assert_allclose(eng.gram(), ntk_finite(X, eng.W, shift=shift), rtol=RTOL_EXACT, atol=ATOL_EXACT)
        eng.step(rng.standard_normal(12))


# ----------------------------------------------------------------------------- sparse == dense


@pytest.mark.parametrize("unit", [True, False])
def test_sparse_equals_dense_over_steps_with_flips(unit):
    n, d, m, shift = 30, 6, 3000, 1.8
    X, a, W0, rng = problem(n, d, m, seed=3, unit=unit)
    W0_copy = W0.copy()
    sp, de = SparseFiredEngine(X, a, W0, shift), DenseFiredEngine(X, a, W0, shift)
    assert_same_state(sp, de)
    total_changes = 0
    for t in range(24):
        scale = [0.02, 0.5, 5.0][t % 3]  # small steps exercise the band, large ones the flips
        c = scale * rng.standard_normal(n)
        i_sp, i_de = sp.step(c), de.step(c)
        assert i_sp["changes"] == i_de["changes"] and i_sp["moved"] == i_de["moved"]
        assert i_de["rechecked"] == n * m
        total_changes += i_sp["changes"]
        assert_same_state(sp, de)
    assert total_changes > 0 and sp.full_rechecks > 0
    npt.assert_array_equal(W0, W0_copy)  # the caller's W0 is never modified
    outside = ~de.fired_pattern().any(axis=0) & ~ref.fired_pattern(X, W0, shift).any(axis=0)
    npt.assert_array_equal(sp.W[outside], W0[outside])  # silent neurons never move


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), d=st.integers(1, 5), m=st.integers(1, 200),
       shift=st.sampled_from([-0.5, 0.0, 0.6, 1.5, 2.5]), steps=st.integers(1, 6),
       scale=st.sampled_from([0.01, 0.3, 3.0]), unit=st.booleans())
def test_property_union_shrinks_and_fired_sets_agree(seed, n, d, m, shift, steps, scale, unit):
    X, a, W0, rng = problem(n, d, m, seed=seed, unit=unit)
    sp, de = SparseFiredEngine(X, a, W0, shift), DenseFiredEngine(X, a, W0, shift)
    U = sp.fired_pattern().any(axis=0)
    for _ in range(steps):
        c = scale * rng.standard_normal(n)
        assert sp.step(c)["changes"] == de.step(c)["changes"]
        P = sp.fired_pattern()
        npt.assert_array_equal(P, de.fired_pattern())
        U_next = P.any(axis=0)
        assert not np.any(U_next & ~U)  # U_{t+1} ⊆ U_t (§9 [EXACT])
        assert sp.union_size() == int(U_next.sum())
        U = U_next
    npt.assert_allclose(sp.W, de.W, rtol=RTOL_EXACT, atol=ATOL_EXACT * max(1.0, np.abs(de.W).max()))


def test_sparse_rechecks_few_pairs_on_small_steps():
    """Structural check (no timing): with b = 2.5 only the fired pairs and a thin band are recomputed."""
    n, d, m, shift = 50, 16, 4096, 2.5
    X, a, W0, rng = problem(n, d, m, seed=4)
    sp = SparseFiredEngine(X, a, W0, shift)
    pairs = int(sp.fired_counts().sum())
    assert 0 < pairs < n * m / 50
    for _ in range(10):
        info = sp.step(0.05 * rng.standard_normal(n))
        assert info["moved"] > 0
        assert pairs <= info["rechecked"] < n * m / 10
        pairs = int(sp.fired_counts().sum())


def test_margin_rule_paths():
    """One neuron, b = 1: no band, a band without a flip, a band with a flip, fired pairs that flip."""
    X = np.array([[1.0, 0.0], [0.6, 0.8]] + [[-1.0, 0.0]] * 8)  # margins at w = (1.2, 0): 0.28 and 2.2
    a = np.array([1.0])
    W0 = np.array([[1.2, 0.0]])  # z = (1.2, 0.72, -1.2, ...): fires on x_0 only
    sp, de = SparseFiredEngine(X, a, W0, 1.0), DenseFiredEngine(X, a, W0, 1.0)
    e0 = np.eye(10)[0]
    # (c_0, expected changes, expected rechecked): the step is w += -c_0 x_0 over the fired pairs
    plan = [(-0.05, 0, 1),  # δ = 0.05 < 0.28: only the fired pair is recomputed
            (-0.30, 0, 2),  # δ = 0.35: x_1 in the band, z_1 = 0.93 < 1
            (-0.20, 1, 1 + 1 + 10),  # δ = 0.55: z_1 = 1.05 >= 1 found in the band -> full recheck
            (1.00, 2, 2 + 10)]  # w = (0.75, 0): both fired pairs stop firing -> full recheck
    for c0, changes, rechecked in plan:
        i_sp, i_de = sp.step(c0 * e0), de.step(c0 * e0)
        assert (i_sp["changes"], i_sp["rechecked"], i_sp["moved"]) == (changes, rechecked, 1)
        assert i_de["changes"] == changes
        assert_same_state(sp, de)
    assert sp.union_size() == 0
    assert sp.step(np.ones(10)) == dict(changes=0, rechecked=0, moved=0)


# ----------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("name", NAMES)
def test_no_neuron_fires(name):
    X, a, W0, rng = problem(5, 3, 40, seed=5)
    eng = ENGINES[name](X, a, W0, 100.0)
    assert eng.union_size() == 0
    npt.assert_array_equal(eng.outputs(), np.zeros(5))
    npt.assert_array_equal(eng.gram(), np.zeros((5, 5)))
    npt.assert_array_equal(eng.fired_counts(), np.zeros(5, dtype=np.int64))
    info = eng.step(rng.standard_normal(5))
    assert info["changes"] == 0 and info["moved"] == 0
    npt.assert_array_equal(eng.W, W0)
    assert eng.max_movement() == 0.0
    assert eng.init_seconds >= 0.0


@pytest.mark.parametrize("n,d,shift", [(1, 4, 0.5), (6, 1, 0.3), (1, 1, 0.0), (9, 3, -0.8), (9, 3, 0.0)])
def test_small_shapes_and_nonpositive_shift(n, d, shift):
    X, a, W0, rng = problem(n, d, 120, seed=6, unit=False)
    sp, de = SparseFiredEngine(X, a, W0, shift), DenseFiredEngine(X, a, W0, shift)
    npt.assert_array_equal(sp.fired_pattern(), ref.fired_pattern(X, W0, shift))
    for t in range(8):
        c = [0.05, 2.0][t % 2] * rng.standard_normal(n)
        assert sp.step(c)["changes"] == de.step(c)["changes"]
        assert_same_state(sp, de)
    npt.assert_array_equal(sp.fired_pattern(), ref.fired_pattern(X, np.asarray(de.W), shift))


@pytest.mark.parametrize("name", NAMES)
def test_weights_view_is_read_only_and_close(name):
    X, a, W0, _ = problem(4, 3, 30, seed=7)
    eng = ENGINES[name](X, a, W0, 0.2)
    with pytest.raises(ValueError):
        eng.W[0, 0] = 1.0
    assert eng.W.shape == W0.shape
    eng.close()


def test_engines_registry():
    assert ENGINES == {"dense": DenseFiredEngine, "sparse": SparseFiredEngine}
