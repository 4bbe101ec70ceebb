"""Tests of the shared validation helpers and of package-wide discipline (flags, randomness)."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

from ntkcheck._rng import as_generator, seed_record
from ntkcheck._validation import check_choice, check_int, check_scalar, check_X, check_y

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_check_scalar_messages():
    with pytest.raises(ValueError, match=r"^`p_keep` must be in \(0, 1\], got p_keep=0.0.$"):
        check_scalar(0.0, "p_keep", min_val=0, max_val=1, closed="right")
    with pytest.raises(ValueError, match=r"^`eta` must be > 0, got eta=-1.$"):
        check_scalar(-1, "eta", min_val=0, closed="neither")
    with pytest.raises(TypeError, match=r"`eta` must be a real number, got str '1'"):
        check_scalar("1", "eta")
    with pytest.raises(TypeError, match=r"`p` must be an integer, got float 2.0"):
        check_int(2.0, "p")
    with pytest.raises(ValueError, match=r"`eta` must be finite"):
        check_scalar(float("nan"), "eta")
    assert check_scalar(np.float32(0.5), "xi", min_val=0, max_val=1) == 0.5
    assert check_int(np.int64(3), "p", min_val=1) == 3
    with pytest.raises(ValueError, match=r"`scheme` must be one of \['a', 'b'\], got scheme='c'"):
        check_choice("c", "scheme", ["a", "b"])


def test_check_X_unit_norm_and_y():
    with pytest.raises(ValueError, match=r"rows of `X` must have unit l2 norm \(atol=1e-08\); row 1 has norm 2"):
        check_X([[1.0, 0.0], [0.0, 2.0]], unit_norm=True)
    X = check_X(np.eye(2, dtype=np.float32))
    assert X.dtype == np.float64 and X.flags.c_contiguous
    with pytest.raises(ValueError, match=r"`y` must have length n=3 \(one label per row of X\), got length 2"):
        check_y([1.0, 2.0], 3)


def test_rng_accepts_spec7_inputs_and_records_seeds():
    g = np.random.default_rng(5)
    for r in (None, 3, np.random.SeedSequence(4), np.random.PCG64(2), g):
        assert isinstance(as_generator(r), np.random.Generator)
    assert as_generator(g) is g
    assert seed_record(7) == 7
    assert seed_record(np.random.default_rng(9))["entropy"] == 9
    with pytest.raises(TypeError, match=r"`rng` must be None, an int"):
        as_generator(1.5)


def _sources():
    for pkg in ("ntkcheck", "bounds", "tests", "benchmarks"):
        yield from (ROOT / pkg).rglob("*.py")


def test_no_hard_coded_fastmath_outside_config():
    pattern = re.compile(r"fastmath\s*=")
    offenders = [str(p) for p in _sources() if p.name != "_config.py" and p != pathlib.Path(__file__)
                 and pattern.search(p.read_text())]
    assert offenders == []


def test_no_global_numpy_random_state():
    # np.random.seed / np.random.<distribution>(...) use hidden global state (style.md §5)
    # any call np.random.<name>(...) other than constructing an explicit generator
    pattern = re.compile(r"np\.random\.(?!default_rng\b|Generator\b|SeedSequence\b|BitGenerator\b|PCG64\b"
                         r"|PCG64DXSM\b|Philox\b|SFC64\b|MT19937\b|RandomState\b)\w+\s*\(")
    offenders = [str(p) for p in _sources() if p != pathlib.Path(__file__) and pattern.search(p.read_text())]
    assert offenders == []


def test_legacy_randomstate_only_where_a_test_checks_it_is_refused():
    # an explicit RandomState is local, not global, state; the package never builds one, and the one
    # test that does checks that `rng=RandomState(...)` gets a clear error
    users = sorted(p.name for p in _sources() if p != pathlib.Path(__file__) and "RandomState(" in p.read_text())
    assert users == ["test_inputs_hardening.py"]


def test_parameter_rules_keep_the_error_type():
    """A value of the wrong type for every form of a rule is a TypeError, a wrong value a ValueError."""
    from ntkcheck._params import check_param

    with pytest.raises(TypeError, match="`xi` must be a real number, got bool True"):
        check_param("xi", True)
    with pytest.raises(ValueError, match=r"`xi` must be in \(0.0, 1.0\]"):
        check_param("xi", 0.0)
    with pytest.raises(ValueError, match="fits none of its forms"):
        check_param("eta", "fast")  # a string, but not 'auto': a wrong value
