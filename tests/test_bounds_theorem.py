"""Tests of the :class:`bounds.Theorem` API: evaluation, substitution, hypotheses, solving."""

from __future__ import annotations

import math

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import bounds
from bounds import symbols as S
from bounds.theorem import MissingValueError, Theorem
from .conftest import RTOL_CLOSED_FORM

DZPS = dict(n=10, lambda_0=0.5, delta=0.1)  # n^6/(lambda_0^4 delta^3) = 1.6e10


@pytest.fixture
def thm41():
    return bounds.get("du2019.thm4_1")


# -- construction -----------------------------------------------------------------------------
def test_floats_are_refused_in_expressions():
    with pytest.raises(ValueError, match=r"floating-point numbers .*sp.Rational"):
        Theorem("t", "c", "PAPER", "high", expressions={"rate": 1 - 0.5 * S.eta})
    with pytest.raises(TypeError, match="floats are not allowed"):
        Theorem("t", "c", "PAPER", "high", expressions={"rate": 0.5})


def test_provenance_and_confidence_are_validated():
    with pytest.raises(ValueError, match=r"`provenance` must be one of"):
        Theorem("t", "c", "paper", "high", expressions={"w": S.n})
    with pytest.raises(ValueError, match=r"`confidence` must be one of"):
        Theorem("t", "c", "PAPER", "low", expressions={"w": S.n})


def test_symbols_with_clashing_assumptions_are_refused():
    other_n = sp.Symbol("n")  # no assumptions: a different symbol named "n"
    with pytest.raises(ValueError, match="two different symbols are named 'n'"):
        Theorem("t", "c", "PAPER", "high", expressions={"a": S.n, "b": other_n})


def test_symbols_are_collected_and_sorted(thm41):
    assert thm41.symbol_names == ("c_eta", "c_radius", "c_width", "delta", "eta", "k",
                                  "lambda_0", "m", "n", "r0")
    assert all(s is S.SYMBOLS[s.name] for s in thm41.symbols)


def test_expressions_are_read_only(thm41):
    with pytest.raises(TypeError):
        thm41.expressions["width"] = S.n


# -- evaluate ---------------------------------------------------------------------------------
def test_evaluate_uses_constant_defaults_and_overrides(thm41):
    assert thm41.evaluate("width", **DZPS) == pytest.approx(1.6e10, rel=1e-15)
    assert thm41.evaluate("width", c_width=3, **DZPS) == pytest.approx(4.8e10, rel=1e-15)
    assert thm41["width"] is thm41.expr("width")


def test_evaluate_lists_missing_names(thm41):
    with pytest.raises(MissingValueError, match=r"missing value\(s\) for \['delta', 'lambda_0'\]"):
        thm41.evaluate("width", n=10)
    # also a KeyError and a ValueError, as documented
    with pytest.raises(KeyError):
        thm41.evaluate("width", n=10)
    with pytest.raises(ValueError):
        thm41.evaluate("width", n=10)


def test_evaluate_rejects_unknown_names_and_keys(thm41):
    with pytest.raises(KeyError, match=r"unknown symbol\(s\) \['lam0'\]; known: \["):
        thm41.evaluate("width", lam0=0.5, n=10, delta=0.1)
    with pytest.raises(KeyError, match=r"no expression 'widht'; available: \['width'"):
        thm41.evaluate("widht", **DZPS)


def test_evaluate_checks_assumptions(thm41):
    with pytest.raises(ValueError, match=r"`lambda_0` is declared positive, got lambda_0=-1/2"):
        thm41.evaluate("width", n=10, lambda_0=-0.5, delta=0.1)
    with pytest.raises(ValueError, match=r"`n` is declared an integer, got n=21/2"):
        thm41.evaluate("width", n=10.5, lambda_0=0.5, delta=0.1)
    with pytest.raises(TypeError, match="got the bool"):
        thm41.evaluate("width", n=True, lambda_0=0.5, delta=0.1)


# -- subs / derived theorems -----------------------------------------------------------------
def test_subs_rejects_unknown_names(thm41):
    with pytest.raises(KeyError, match=r"du2019.thm4_1: unknown symbol\(s\) \['xi'\]; "
                                       r"known: \['c_eta', 'c_radius'"):
        thm41.subs("x", xi=1)


def test_subs_derives_a_theorem_and_drops_true_hypotheses(thm41):
    cor = thm41.subs("du2019.delta_tenth", delta=sp.Rational(1, 10))
    assert sp.simplify(cor["width"] - 1000 * S.c_width * S.n**6 / S.lambda_0**4) == 0
    assert all(S.delta not in h.free_symbols for h in cor.hypotheses)
    assert len(cor.hypotheses) == len(thm41.hypotheses) - 1  # delta < 1 became True
    assert "specialised with delta=1/10" in cor.citation
    assert cor.claims == ()


def test_subs_accepts_formula_strings(thm41):
    cor = thm41.subs("t", m="n**8")
    assert sp.simplify(cor["radius_movement"] - 4 * S.r0 / (S.n**sp.Rational(7, 2) * S.lambda_0)) == 0


def test_subs_that_violates_a_hypothesis_raises(thm41):
    with pytest.raises(bounds.HypothesisViolation, match=r"violates the hypothesis delta < 1"):
        thm41.subs("bad", delta=2)


def test_with_constants_changes_defaults_only(thm41):
    t2 = thm41.with_constants(c_width=2)
    assert t2.evaluate("width", **DZPS) == 2 * thm41.evaluate("width", **DZPS)
    assert t2["width"] == thm41["width"]
    with pytest.raises(KeyError, match=r"unknown constant\(s\) \['c_foo'\]"):
        thm41.with_constants(c_foo=2)


# -- hypotheses ------------------------------------------------------------------------------
def test_check_hypotheses_verdicts(thm41):
    good = thm41.check_hypotheses(m=2 * 10**10, eta=0.001, **DZPS)
    assert good.all_satisfied and good.ok
    bad = thm41.check_hypotheses(m=10**6, eta=0.01, **DZPS)
    assert [c.status for c in bad.checks] == ["violated", "violated", "satisfied"]
    assert bad.checks[0].lhs == 1e6 and bad.checks[0].rhs == pytest.approx(1.6e10)
    partial = thm41.check_hypotheses(m=10**6)
    assert [c.status for c in partial.checks] == ["undecided"] * 3
    assert partial.ok and not partial.all_satisfied  # undecided never counts as violated


def test_assert_hypotheses_raises_naming_the_hypothesis(thm41):
    with pytest.raises(bounds.HypothesisViolation, match=r"m >= c_width\*n\*\*6"):
        thm41.assert_hypotheses(m=10**6, **DZPS)
    assert isinstance(bounds.HypothesisViolation("x"), ValueError)
    thm41.assert_hypotheses(m=10**11, **DZPS)  # no violation: returns the report


def test_shortfall_reports_required_over_actual(thm41):
    assert thm41.shortfall("width", "m", m=10**6, **DZPS) == pytest.approx(1.6e4)
    assert thm41.shortfall("width", "m", m=3.2e10, **DZPS) == pytest.approx(0.5)
    assert thm41.shortfall("step_size", "eta", eta=0.01, n=10, lambda_0=0.5) == pytest.approx(2)
    with pytest.raises(ValueError, match="`n` is not a side"):
        thm41.shortfall("width", "n", m=10, lambda_0=0.5, delta=0.1, n=3)


# -- solve_for -------------------------------------------------------------------------------
def test_solve_for_smallest_width_and_largest_step(thm41):
    bm = thm41.solve_for("width", "m", **DZPS)
    assert (bm.variable, bm.relation, bm.integer) == ("m", ">=", 16_000_000_000)
    assert float(bm) == pytest.approx(1.6e10, rel=1e-15)
    be = thm41.solve_for("step_size", "eta", n=10, lambda_0=0.5)
    assert (be.relation, be.value, be.integer) == ("<=", 0.005, None)


def test_solve_for_other_variables(thm41):
    # m >= n^6/(lambda_0^4 delta^3): n <= (m lambda_0^4 delta^3)^(1/6)
    bn = thm41.solve_for("width", "n", m=10**12, lambda_0=0.5, delta=0.1)
    expected = (1e12 * 0.5**4 * 0.1**3) ** (1 / 6)
    assert bn.relation == "<=" and bn.value == pytest.approx(expected, rel=1e-12)
    assert bn.integer == math.floor(expected)
    # eta <= lambda_0/n^2 read as a requirement on lambda_0: lambda_0 >= eta n^2
    bl = thm41.solve_for("step_size", "lambda_0", eta=0.001, n=10)
    assert bl.relation == ">=" and bl.value == pytest.approx(0.1)


def test_solve_for_log_requirement():
    lemma = bounds.get("du2019.lemma3_1")
    bn = lemma.solve_for("width", "n", m=10**6, lambda_0=0.5, delta=0.1)
    n_star = bn.value
    # the boundary satisfies n^2 log(n/delta)/lambda_0^2 = m
    assert n_star**2 * math.log(n_star / 0.1) / 0.25 == pytest.approx(1e6, rel=1e-9)
    assert bn.relation == "<=" and bn.integer == 182


def test_solve_for_errors(thm41):
    with pytest.raises(ValueError, match="`m` is the unknown"):
        thm41.solve_for("width", "m", m=3, **DZPS)
    with pytest.raises(ValueError, match="`eta` does not occur"):
        thm41.solve_for("width", "eta", **DZPS)
    with pytest.raises(MissingValueError, match=r"missing value\(s\) for \['delta'\]"):
        thm41.solve_for("width", "m", n=10, lambda_0=0.5)
    with pytest.raises(KeyError, match="no hypothesis has 'rate' as a side"):
        thm41.solve_for("rate", "eta", lambda_0=0.5)


# -- lambdify / latex ---------------------------------------------------------------------
def _sample_values(thm, draw_float):
    values = {}
    for sym in thm.symbols:
        if sym in thm.constants:
            continue
        if sym.is_integer:
            values[sym.name] = int(1 + 9 * draw_float())
        else:
            values[sym.name] = 0.05 + 0.9 * draw_float()  # inside (0, 1): xi, delta valid
    return values


@pytest.mark.parametrize("name", bounds.names())
@given(seed=st.integers(0, 2**32 - 1))
def test_lambdify_matches_evalf(name, seed):
    import random

    rng = random.Random(seed)
    thm = bounds.get(name)
    values = _sample_values(thm, rng.random)
    for key in thm.keys():
        fn, arg_names = thm.lambdify(key)
        assert list(arg_names) == sorted(arg_names)
        got = fn(*[values[a] for a in arg_names])
        assert got == pytest.approx(thm.evaluate(key, **values), rel=RTOL_CLOSED_FORM, abs=1e-300)


def test_lambdify_can_keep_constants_as_arguments(thm41):
    fn, args = thm41.lambdify("width", constants="args")
    assert args == ("c_width", "delta", "lambda_0", "n")
    assert fn(2, 0.1, 0.5, 10) == pytest.approx(3.2e10)


def test_latex_snapshots():
    thm = bounds.get("du2019.thm4_1")
    assert thm.latex("width") == r"\frac{c_{width} n^{6}}{\delta^{3} \lambda_{0}^{4}}"
    assert thm.latex("radius_movement") == r"\frac{4 \sqrt{n} \|y - u(0)\|}{\lambda_{0} \sqrt{m}}"
    assert thm.latex("hypotheses") == (
        r"m \geq \frac{c_{width} n^{6}}{\delta^{3} \lambda_{0}^{4}},\quad "
        r"\eta \leq \frac{c_{\eta} \lambda_{0}}{n^{2}},\quad \delta < 1")
    assert bounds.get("song_yang2019.thm").latex("width") == (
        r"\frac{c_{width} n^{4} \log{\left(\frac{n}{\delta} \right)}^{3}}{\lambda_{0}^{4}}")
    assert bounds.get("arora2019.thm5_1").latex("generalization") == (
        r"\frac{\sqrt{2} \sqrt{y^{\top} (H^{\infty})^{-1} y}}{\sqrt{n}}")
    assert bounds.get("deng2022.shifted_ntk").latex("lambda_min") == (
        r"\frac{\delta_{\mathrm{sep}} e^{- \frac{b^{2}}{2}}}{100 n^{2}}")


@pytest.mark.parametrize("name", bounds.names())
def test_latex_of_every_expression_is_balanced(name):
    thm = bounds.get(name)
    for key in thm.keys() + ("hypotheses",):
        text = thm.latex(key)
        depth = 0
        for ch in text:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, (key, text)
        assert depth == 0 and text.count(r"\left") == text.count(r"\right"), (key, text)


def test_solve_for_falls_back_to_a_numeric_root():
    # sympy.solve cannot invert n^4 log^3(n/delta); the log-grid bisection must
    sy = bounds.get("song_yang2019.thm")
    bn = sy.solve_for("width", "n", m=10**12, lambda_0=0.5, delta=0.1)
    n_star = bn.value
    assert n_star**4 * math.log(n_star / 0.1) ** 3 / 0.0625 == pytest.approx(1e12, rel=1e-9)
    assert bn.relation == "<=" and bn.integer == math.floor(n_star)
