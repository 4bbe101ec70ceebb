"""DHSWZ22 (deng2022.*): registration, SymPy claims, hand-computed values, the rescaling in κ,
and the exact expected firing count against ntkcheck's numeric one (docs/theory.md §9)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import bounds
from bounds import _claims
from bounds import symbols as S
from bounds.theorems import deng2022 as D
from ntkcheck import firing_fraction_infinite
from ntkcheck.cli import main
from ntkcheck.verify_shift import alpha_from_shift, require_theorems, shift_from_alpha

from .conftest import RTOL_CLOSED_FORM, RTOL_EXACT

NEW = ("deng2022.firing", "deng2022.lambda_min", "deng2022.gauss_newton", "deng2022.cost")


def approx(x):
    return pytest.approx(x, rel=RTOL_EXACT)


# -- registration -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", NEW)
def test_registered_with_provenance_and_citation(name):
    t = bounds.get(name)
    assert name in bounds.names()
    assert t.provenance == "PAPER" and t.confidence == "medium"
    assert "Deng, Hu, Song, Weinstein, Zhuo" in t.citation and "2208.04508" in t.citation
    assert t.notes and t.claims


@pytest.mark.parametrize("name", NEW + ("deng2022.shifted_ntk",))
def test_every_claim_is_proved(name):
    verdicts = bounds.get(name).check_claims()
    assert verdicts and all(v is True for v in verdicts.values()), verdicts


def test_listed_and_shown_by_the_cli(capsys):
    assert main(["bounds", "list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert set(NEW) <= set(listed) and "deng2022.shifted_ntk" in listed
    assert main(["bounds", "show", "deng2022.gauss_newton"]) == 0
    out = capsys.readouterr().out
    assert "residual_ratio = 1/2" in out and "iterations = log(r0/epsilon)/log(2)" in out


# -- symbolic identities ------------------------------------------------------------------------
def test_kappa_one_is_the_paper_and_the_legacy_object():
    legacy = bounds.get("deng2022.shifted_ntk")
    at_one = {S.kappa: 1}
    assert bounds.get("deng2022.lambda_min")["lambda_min"].xreplace(at_one) == legacy["lambda_min"]
    assert bounds.get("deng2022.firing")["firing"].xreplace(at_one) == legacy["firing"]
    assert bounds.get("deng2022.firing")["threshold"].xreplace(at_one) == legacy["threshold"]
    assert _claims.equal(bounds.get("deng2022.cost")["cost_per_iteration"],
                         legacy["cost_per_iteration"]) is True


def test_everything_depends_on_b_over_kappa_only():
    t = sp.Symbol("t", positive=True)
    for name, key in (("deng2022.lambda_min", "lambda_min"), ("deng2022.firing", "firing"),
                      ("deng2022.lambda_min", "shift_factor")):
        e = bounds.get(name)[key]
        assert sp.simplify(e.xreplace({S.b: t * S.b, S.kappa: t * S.kappa}) - e) == 0
    assert sp.simplify(D.EXPECTED_FIRING.xreplace({S.b: t * S.b, S.kappa: t * S.kappa})
                       - D.EXPECTED_FIRING) == 0


def test_threshold_claim_is_not_vacuous():
    # the threshold without kappa does not give m^(1 - alpha) when kappa != 1
    wrong = D.FIRING_K.xreplace({S.b: D.THRESHOLD, S.c_fire: 1})
    assert _claims.equal(sp.powsimp(sp.simplify(wrong), force=True), S.m**(1 - S.alpha)) is not True
    assert bounds.get("deng2022.firing")["firing_at_threshold"] == S.c_fire * S.m**(1 - S.alpha)


def test_signs_from_assumptions():
    lam = bounds.get("deng2022.lambda_min")["lambda_min"]
    assert sp.diff(lam, S.b).is_nonpositive is True
    assert sp.diff(lam, S.delta_sep).is_positive is True
    assert sp.diff(lam, S.n).is_negative is True
    assert sp.diff(bounds.get("deng2022.gauss_newton")["iterations"], S.epsilon).is_negative is True


def test_srepr_pin_lambda_min():
    assert sp.srepr(bounds.get("deng2022.lambda_min")["lambda_min"]) == (
        "Mul(Rational(1, 100), Symbol('delta_sep', positive=True), Pow(Symbol('n', positive=True, "
        "integer=True), Integer(-2)), exp(Mul(Integer(-1), Rational(1, 2), Pow(Symbol('b', "
        "nonnegative=True), Integer(2)), Pow(Symbol('kappa', positive=True), Integer(-2)))))")


# -- hand-computed values -------------------------------------------------------------------
def test_lambda_min_values():
    t = bounds.get("deng2022.lambda_min")
    # exp(-b^2/2) delta_sep / (100 n^2) at b = 2, delta_sep = 0.5, n = 10
    assert t.evaluate("lambda_min", b=2, kappa=1, delta_sep=0.5, n=10) == approx(math.exp(-2) * 0.5 / 1e4)
    assert t.evaluate("lambda_min", b=0, kappa=1, delta_sep=0.5, n=10) == approx(0.5 / 1e4)
    # kappa = 2: the kappa = 1 bound at b/kappa = 1
    assert t.evaluate("lambda_min", b=2, kappa=2, delta_sep=0.5, n=10) == approx(math.exp(-0.5) * 0.5 / 1e4)
    assert t.evaluate("shift_factor", b=1.5, kappa=1) == approx(math.exp(-1.125))
    with pytest.raises(ValueError, match="`b` is declared nonnegative"):
        t.evaluate("lambda_min", b=-1, kappa=1, delta_sep=0.5, n=10)


def test_firing_values():
    t = bounds.get("deng2022.firing")
    assert t.evaluate("firing", m=1000, b=2, kappa=1) == approx(1000 * math.exp(-2))
    assert t.evaluate("firing", m=1000, b=2, kappa=2, c_fire=3) == approx(3000 * math.exp(-0.5))
    assert t.evaluate("threshold", alpha=0.5, m=1000, kappa=2) == approx(2 * math.sqrt(math.log(1000)))
    assert t.evaluate("firing_at_threshold", m=10_000, alpha=0.25) == approx(1000.0)
    b = t.evaluate("threshold", alpha=0.3, m=500, kappa=0.7)
    assert t.evaluate("firing", m=500, b=b, kappa=0.7) == pytest.approx(500**0.7, rel=RTOL_CLOSED_FORM)


def test_gauss_newton_values():
    t = bounds.get("deng2022.gauss_newton")
    assert t.evaluate("residual_ratio") == 0.5 and t.evaluate("rate") == 0.25
    assert t.evaluate("error") == 0.0
    assert t.evaluate("iterations", r0=8, epsilon=0.5) == approx(4.0)
    assert t.evaluate("residual_bound", r0=8, k=4) == approx(0.5)
    assert t.evaluate("iterations_order", n=16, epsilon=1) == approx(4.0)


def test_cost_values():
    t = bounds.get("deng2022.cost")
    # m^(1 - alpha) n d + n^3 = 10 * 10 * 3 + 1000
    assert t.evaluate("cost_per_iteration", m=100, alpha=0.5, n=10, d=3) == approx(1300.0)
    assert t.evaluate("cost_per_iteration", m=100, alpha=0.5, n=10, d=3, c_cost=2) == approx(2600.0)


# -- the exact expectation against ntkcheck ----------------------------------------------------
@pytest.mark.parametrize("b,kappa,m", [(0.0, 1.0, 100), (1.5, 1.0, 1000), (1.0, 0.5, 64), (3.0, 2.0, 7)])
def test_expected_firing_is_ntkcheck_firing_fraction(b, kappa, m):
    X = np.eye(3)  # unit rows
    numeric = m * firing_fraction_infinite(X, shift=b / kappa)
    exact = float(D.EXPECTED_FIRING.xreplace({S.b: sp.Rational(repr(b)), S.kappa: sp.Rational(repr(kappa)),
                                              S.m: m}).evalf(30))
    np.testing.assert_allclose(numeric, exact, rtol=RTOL_CLOSED_FORM)
    # within the O(.) bound with c_fire = 1 (Chernoff: Phi(-x) <= exp(-x^2/2)/2)
    assert exact <= bounds.get("deng2022.firing").evaluate("firing", m=m, b=b, kappa=kappa) / 2


# -- the verify helpers around the theorems ------------------------------------------------------
def test_alpha_and_shift_are_inverse():
    b = shift_from_alpha(0.4, kappa=0.8, m=300)
    assert b == pytest.approx(0.8 * math.sqrt(2 * 0.4 * math.log(300)), rel=RTOL_EXACT)
    assert alpha_from_shift(b, kappa=0.8, m=300) == pytest.approx(0.4, rel=RTOL_EXACT)
    assert alpha_from_shift(0.0, kappa=1.0, m=300) is None
    assert alpha_from_shift(1.0, kappa=1.0, m=1) is None


def test_require_theorems():
    assert require_theorems(("du2019.thm4_1",), shift=0.0) == ("du2019.thm4_1",)
    assert require_theorems(NEW, shift=1.5) == NEW
    with pytest.raises(ValueError, match=r"'du2019.thm4_1' is stated for the plain ReLU"):
        require_theorems(("deng2022.firing", "du2019.thm4_1"), shift=1.5)
    with pytest.raises(KeyError, match="unknown theorem"):
        require_theorems(("deng2022.firng",), shift=0.0)
