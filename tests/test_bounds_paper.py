"""[PAPER] and [EXACT] theorems: hand-computed values, provenance, and srepr regression pins."""

from __future__ import annotations

import math

import pytest
import sympy as sp

import bounds
from bounds import symbols as S

from .conftest import RTOL_EXACT

LN100 = math.log(100.0)


def approx(x):
    return pytest.approx(x, rel=RTOL_EXACT)


# -- hand-computed values --------------------------------------------------------------------
def test_du2019_lemma3_1_values():
    t = bounds.get("du2019.lemma3_1")
    # n^2 log(n/delta)/lambda_0^2 = 100 * log(100) / 0.25
    assert t.evaluate("width", n=10, lambda_0=0.5, delta=0.1) == approx(400 * LN100)
    assert t.evaluate("probability", delta=0.1) == approx(0.9)
    assert t.evaluate("lambda_min", lambda_0=0.4) == approx(0.3)
    assert t.evaluate("kernel_deviation", lambda_0=0.4) == approx(0.1)


def test_du2019_lemma3_2_values():
    t = bounds.get("du2019.lemma3_2")
    assert t.evaluate("radius", n=10, lambda_0=0.5, delta=0.1) == approx(0.05 / 100)
    assert t.evaluate("radius", n=10, lambda_0=0.5, delta=0.1, c_radius=3) == approx(0.0015)
    assert t.evaluate("lambda_min", lambda_0=0.4) == approx(0.2)


def test_du2019_thm4_1_values():
    t = bounds.get("du2019.thm4_1")
    assert t.evaluate("width", n=10, lambda_0=0.5, delta=0.1) == approx(1e6 / (0.0625 * 1e-3))
    assert t.evaluate("step_size", n=10, lambda_0=0.5) == approx(0.005)
    assert t.evaluate("rate", eta=0.005, lambda_0=0.5) == approx(0.99875)
    assert t.evaluate("loss_bound", eta=0.005, lambda_0=0.5, k=2, r0=3) == approx(0.99875**2 * 9)
    assert t.evaluate("radius", n=10, lambda_0=0.5, delta=0.1) == approx(5e-4)
    # R' = 4 sqrt(16) * 3 / (sqrt(10000) * 0.5) = 48 / 50
    assert t.evaluate("radius_movement", n=16, r0=3, m=10_000, lambda_0=0.5) == approx(0.96)
    assert t.evaluate("error") == 0.0


def test_arora2019_values():
    t = bounds.get("arora2019.thm4_1")
    assert t.evaluate("kappa_max", epsilon=0.1, delta=0.2, n=4) == approx(0.01)
    # n^7/(lambda_0^4 kappa^2 delta^4 eps^2) = 128 / (0.0625 * 0.01 * 0.0625 * 0.01)
    width = t.evaluate("width", n=2, lambda_0=0.5, kappa=0.1, delta=0.5, epsilon=0.1)
    assert width == approx(128 / 3.90625e-7)
    assert t.evaluate("rate", eta=0.1, lambda_0=0.5) == approx(0.9025)
    assert t.evaluate("error", epsilon=0.25) == approx(0.25)
    g = bounds.get("arora2019.thm5_1")
    assert g.evaluate("generalization", y_Hinv_y=8, n=4) == approx(2.0)


def test_song_yang2019_values():
    t = bounds.get("song_yang2019.thm")
    assert t.evaluate("width", n=10, lambda_0=0.5, delta=0.1) == approx(1e4 * LN100**3 / 0.0625)
    assert t.evaluate("rate", eta=0.01, lambda_0=0.5) == approx(0.9975)
    assert t.confidence == "medium" and "medium confidence" in t.citation
    assert "log" in t.citation


def test_deng2022_values():
    t = bounds.get("deng2022.shifted_ntk")
    assert t.evaluate("lambda_min", b=2, delta_sep=0.5, n=10) == approx(math.exp(-2) * 0.5 / 1e4)
    assert t.evaluate("lambda_min", b=0, delta_sep=0.5, n=10) == approx(0.5 / 1e4)
    assert t.evaluate("firing", m=1000, b=2) == approx(1000 * math.exp(-2))
    assert t.evaluate("threshold", alpha=0.5, m=1000) == approx(math.sqrt(math.log(1000)))
    assert t.evaluate("cost_per_iteration", m=100, alpha=0.5, n=10, d=3) == approx(1300)
    assert t.provenance == "PAPER" and t.confidence == "medium"
    assert t.check_claims() == {t.claims[0].description: True}


def test_exact_identities_values():
    t = bounds.get("exact.lk22_identities")
    assert t.provenance == "EXACT"
    assert t.evaluate("theta", xi=0.5, p=2) == approx(0.75)
    assert t.evaluate("loss_increase", xi=0.25, m=10, S=8) == approx(0.25 * 0.75 / 10 * 8)
    assert t.evaluate("categorical_variance", p=4, S=8, m=2) == approx(3 / 16 * 8 / 2)
    assert t.evaluate("bias_coefficient", xi=0.5, p=2, m=4) == approx(0.75 * 0.5 / 4)
    assert t.evaluate("mean_scale", xi=0.3) == approx(0.3)


def test_exact_claims_hold_and_can_fail():
    from bounds import _claims
    from bounds.theorems.exact import THETA

    assert all(v is True for v in bounds.get("exact.lk22_identities").check_claims().values())
    # the monotonicity checker is not vacuous: 1 - theta decreases in p and xi
    assert _claims.nondecreasing(1 - THETA, S.p) is False
    assert _claims.nondecreasing(1 - THETA, S.xi) is False


def test_du2019_movement_claim():
    (verdict,) = bounds.get("du2019.thm4_1").check_claims().values()
    assert verdict is True


@pytest.mark.parametrize("name", [n for n in bounds.names() if not n.startswith("liao2022")])
def test_paper_and_exact_provenance(name):
    t = bounds.get(name)
    assert t.provenance in ("PAPER", "EXACT")
    assert "template" not in t.citation.lower()


# -- monotonicity from assumptions (style.md §8) --------------------------------------------
def test_signs_from_assumptions():
    t = bounds.get("du2019.thm4_1")
    assert sp.diff(t["width"], S.lambda_0).is_negative is True
    assert sp.diff(t["width"], S.n).is_positive is True
    assert sp.diff(t["radius_movement"], S.m).is_nonpositive is True
    assert sp.diff(bounds.get("song_yang2019.thm")["rate"], S.eta).is_negative is True


# -- srepr regression pins --------------------------------------------------------------------
_N = "Symbol('n', positive=True, integer=True)"
_L = "Symbol('lambda_0', positive=True)"
_D = "Symbol('delta', positive=True)"
_E = "Symbol('eta', positive=True)"

SREPR = {
    ("du2019.thm4_1", "width"):
        f"Mul(Symbol('c_width', positive=True), Pow({_D}, Integer(-3)), Pow({_L}, Integer(-4)), "
        f"Pow({_N}, Integer(6)))",
    ("du2019.thm4_1", "step_size"):
        f"Mul(Symbol('c_eta', positive=True), {_L}, Pow({_N}, Integer(-2)))",
    ("du2019.thm4_1", "rate"): f"Add(Mul(Integer(-1), Rational(1, 2), {_E}, {_L}), Integer(1))",
    ("du2019.thm4_1", "radius"):
        f"Mul(Symbol('c_radius', positive=True), {_D}, {_L}, Pow({_N}, Integer(-2)))",
    ("du2019.thm4_1", "radius_movement"):
        f"Mul(Integer(4), Pow({_L}, Integer(-1)), Pow(Symbol('m', positive=True, integer=True), "
        f"Rational(-1, 2)), Pow({_N}, Rational(1, 2)), Symbol('r0', nonnegative=True))",
    ("du2019.thm4_1", "probability"): f"Add(Integer(1), Mul(Integer(-1), {_D}))",
    ("du2019.lemma3_1", "width"):
        f"Mul(Symbol('c_width', positive=True), Pow({_L}, Integer(-2)), Pow({_N}, Integer(2)), "
        f"log(Mul(Pow({_D}, Integer(-1)), {_N})))",
    ("du2019.lemma3_2", "radius"):
        f"Mul(Symbol('c_radius', positive=True), {_D}, {_L}, Pow({_N}, Integer(-2)))",
    ("song_yang2019.thm", "width"):
        f"Mul(Symbol('c_width', positive=True), Pow({_L}, Integer(-4)), Pow({_N}, Integer(4)), "
        f"Pow(log(Mul(Pow({_D}, Integer(-1)), {_N})), Integer(3)))",
    ("arora2019.thm5_1", "generalization"):
        f"Mul(Pow(Integer(2), Rational(1, 2)), Pow({_N}, Rational(-1, 2)), "
        f"Pow(Symbol('y_Hinv_y', nonnegative=True), Rational(1, 2)))",
}


@pytest.mark.parametrize("name,key", sorted(SREPR))
def test_srepr_regression(name, key):
    assert sp.srepr(bounds.get(name)[key]) == SREPR[(name, key)]


def test_builtin_expressions_are_exact():
    for name in bounds.names():
        t = bounds.get(name)
        for key in t.keys():
            assert not t[key].atoms(sp.Float), (name, key)
