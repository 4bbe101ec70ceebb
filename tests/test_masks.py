"""Tests of ntkcheck.masks: Bernoulli and categorical masks (docs/theory.md §2), stream discipline."""

from __future__ import annotations

import numpy as np
import pytest
from .conftest import MC_SIGMAS

from ntkcheck import sample_masks
from ntkcheck.masks import SCHEMES, _resolve_scheme, theta


def test_bernoulli_shape_dtype_and_rate():
    m, p, xi = 5000, 3, 0.3
    M = sample_masks(m, p, kind="bernoulli", xi=xi, rng=0)
    assert M.shape == (p, m) and M.dtype == bool
    se = np.sqrt(xi * (1 - xi) / M.size)
    assert abs(M.mean() - xi) <= MC_SIGMAS * se
    # θ = P(neuron in at least one subnetwork) = 1 − (1 − ξ)^p
    th = theta("bernoulli", xi, p)
    assert th == pytest.approx(1 - 0.7**3)
    assert abs(M.any(axis=0).mean() - th) <= MC_SIGMAS * np.sqrt(th * (1 - th) / m)


def test_bernoulli_entries_independent_across_subnetworks():
    # P(m^1_r = m^2_r = 1) = ξ² for independent draws
    m, xi = 20000, 0.5
    M = sample_masks(m, 2, kind="bernoulli", xi=xi, rng=1)
    both = (M[0] & M[1]).mean()
    assert abs(both - xi**2) <= MC_SIGMAS * np.sqrt(xi**2 * (1 - xi**2) / m)


def test_categorical_partitions_uniformly():
    m, p = 6000, 4
    M = sample_masks(m, p, kind="categorical", rng=2)
    assert M.shape == (p, m)
    assert np.all(M.sum(axis=0) == 1)
    sizes = M.sum(axis=1)
    se = np.sqrt(m * (1 / p) * (1 - 1 / p))
    assert np.all(np.abs(sizes - m / p) <= MC_SIGMAS * se)
    assert theta("categorical", 1 / p, p) == 1.0


def test_xi_one_gives_all_ones():
    assert sample_masks(10, 3, kind="bernoulli", xi=1.0, rng=0).all()


def test_steps_use_one_spawned_stream_per_step():
    all_steps = sample_masks(50, 2, kind="bernoulli", xi=0.5, steps=4, rng=5)
    assert all_steps.shape == (4, 2, 50)
    # step 0 of a run is what a single draw from the same seed gives
    np.testing.assert_array_equal(all_steps[0], sample_masks(50, 2, kind="bernoulli", xi=0.5, rng=5))
    # the first k steps do not depend on how many steps are drawn
    np.testing.assert_array_equal(all_steps[:2], sample_masks(50, 2, kind="bernoulli", xi=0.5, steps=2, rng=5))
    assert not np.array_equal(all_steps[0], all_steps[1])
    assert sample_masks(50, 2, kind="categorical", steps=0, rng=1).shape == (0, 2, 50)


def test_same_seed_same_masks_and_generator_accepted():
    a = sample_masks(30, 3, kind="categorical", steps=3, rng=np.random.default_rng(9))
    b = sample_masks(30, 3, kind="categorical", steps=3, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(m=0, p=1, xi=0.5), ValueError, r"`m` must be >= 1, got m=0"),
        (dict(m=5, p=0, xi=0.5), ValueError, r"`p` must be >= 1, got p=0"),
        (dict(m=5, p=1, kind="gaussian", xi=0.5), ValueError, r"`kind` must be one of \['bernoulli', 'categorical'\]"),
        (dict(m=5, p=1), ValueError, r"`xi` is required for kind='bernoulli'"),
        (dict(m=5, p=1, xi=0.0), ValueError, r"`xi` must be in \(0.0, 1.0\], got xi=0.0"),
        (dict(m=5, p=1, xi=1.5), ValueError, r"`xi` must be in \(0.0, 1.0\], got xi=1.5"),
        (dict(m=5, p=2, kind="categorical", xi=0.3), ValueError, r"fixes `xi` = 1/p = 0.5 \(p=2\), got xi=0.3"),
        (dict(m=5, p=2, xi=0.5, steps=-1), ValueError, r"`steps` must be >= 0, got steps=-1"),
    ],
)
def test_bad_input(kwargs, exc, match):
    m, p = kwargs.pop("m"), kwargs.pop("p")
    with pytest.raises(exc, match=match):
        sample_masks(m, p, **kwargs)


def test_scheme_table_resolution():
    assert _resolve_scheme("gd", 1, None, 3) == ("bernoulli", 1.0)
    assert _resolve_scheme("dropout", 1, 0.8, 1) == ("bernoulli", 0.8)
    assert _resolve_scheme("ist-bernoulli", 4, None, 2) == ("bernoulli", 0.25)
    assert _resolve_scheme("ist-categorical", 4, 0.25, 2) == ("categorical", 0.25)
    assert _resolve_scheme("categorical", 3, None, 1) == ("categorical", 1 / 3)
    assert _resolve_scheme("bernoulli", 3, None, 1) == ("bernoulli", 1.0)
    assert set(SCHEMES) == {"gd", "dropout", "multi-sample-dropout", "ist-bernoulli", "ist-categorical",
                            "bernoulli", "categorical"}


def test_theta_is_one_function_pinned_to_the_bounds_expression():
    """θ = 1 − (1 − ξ)^p has one implementation (masks.theta), equal to bounds' exact expression."""
    import bounds

    thm = bounds.get("exact.lk22_identities")
    for xi in (0.1, 0.25, 0.5, 0.9, 1.0):
        for p in (1, 2, 3, 8):
            assert theta("bernoulli", xi, p) == pytest.approx(thm.evaluate("theta", xi=xi, p=p), rel=1e-14)
    assert theta("categorical", 0.25, 4) == 1.0  # a partition: every neuron is in one subnetwork


def test_one_theta_formula_in_the_package():
    """No other module types the θ formula: it is masks.theta (and bounds' symbolic THETA)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "ntkcheck"
    pattern = re.compile(r"1(\.0)?\s*-\s*\(1(\.0)?\s*-\s*xi\)\s*\*\*\s*p")
    hits = [str(f.relative_to(root)) for f in root.rglob("*.py")
            if any(pattern.search(line) and not line.lstrip().startswith(("#", '"', "`", "θ"))
                   for line in f.read_text().splitlines())]
    assert hits == ["masks.py"], hits
