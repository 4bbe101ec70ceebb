"""LK22 [STRUCT] templates: claims, corollaries by substitution, reduction to SY19."""

from __future__ import annotations

import pytest
import sympy as sp

import bounds
from bounds import symbols as S
from bounds.theorems import liao2022 as L

LK22 = ("liao2022.thm2", "liao2022.hyp1", "liao2022.thm3", "liao2022.thm4", "liao2022.cor1",
        "liao2022.cor2", "liao2022.cor3")


@pytest.mark.parametrize("name", LK22)
def test_templates_say_so(name):
    t = bounds.get(name)
    assert t.provenance == "STRUCT" and t.confidence == "medium"
    assert "template" in t.citation and "NOT the paper's exact expression" in t.citation


@pytest.mark.parametrize("name", LK22)
def test_every_claim_holds_for_the_defaults(name):
    t = bounds.get(name)
    assert t.claims, f"{name} states no qualitative claim"
    verdicts = t.check_claims()
    assert all(v is True for v in verdicts.values()), verdicts


def test_thm3_claims_cover_theory_md():
    descriptions = " | ".join(bounds.get("liao2022.thm3").check_claims())
    for phrase in ("vanish at xi = 1", "does not increase with p", "tends to 1 as xi -> 0",
                   "grows as xi decreases", "improves", "SY19", "proportional to 1/m",
                   "bounded as kappa -> 0", "vanishes at tau = 1"):
        assert phrase in descriptions


def test_claims_fail_for_parameters_that_break_them():
    thm3 = bounds.get("liao2022.thm3")
    # width growing with theta (e_theta < 0) breaks "width grows as xi decreases"
    broken = thm3.check_claims(e_theta=-1)
    assert broken["the width requirement grows as xi decreases"] is False
    assert broken["the error term B does not increase with p"] is True  # unaffected
    # shrinking with K breaks the K-monotonicity claim
    assert thm3.check_claims(e_K=-1)[
        "the width requirement grows with K and shrinks with theta (via p) and kappa"] is False
    with pytest.raises(KeyError, match=r"unknown parameter\(s\) \['e_foo'\]"):
        thm3.claims[0].check(e_foo=1)


def test_thm3_rate_equals_sy19_at_full_network():
    thm3, sy = bounds.get("liao2022.thm3"), bounds.get("song_yang2019.thm")
    rate = thm3["rate"].subs({S.xi: 1, S.p: 1, S.tau: 1}).xreplace(dict(thm3.constants))
    assert sp.simplify(rate - sy["rate"]) == 0
    assert sp.simplify(thm3["error"].subs({S.xi: 1, S.p: 1, S.tau: 1})) == 0
    # and numerically, through the public API
    values = dict(eta=0.01, lambda_0=0.3)
    assert thm3.evaluate("rate", xi=1, p=1, tau=1, **values) == sy.evaluate("rate", **values)


def test_thm3_uses_theta():
    thm3 = bounds.get("liao2022.thm3")
    theta = bounds.get("exact.lk22_identities")["theta"]
    assert sp.simplify(thm3["theta"] - theta) == 0
    assert thm3["rate"].has(theta)
    # rate at xi = 1/2, p = 2 (theta = 3/4), tau = 2, eta = 0.1, lambda_0 = 0.4:
    # 1 - 3/4 * 2 * 0.1 * 0.4 / 2 = 0.97
    assert thm3.evaluate("rate", xi=0.5, p=2, tau=2, eta=0.1, lambda_0=0.4) == pytest.approx(0.97)


def test_error_terms_add_up():
    thm3 = bounds.get("liao2022.thm3")
    total = thm3["error_bias"] + thm3["error_variance"] + thm3["error_local"]
    assert sp.simplify(thm3["error"] - total) == 0


@pytest.mark.parametrize("cor,values", [
    ("liao2022.cor1", {S.p: 1, S.tau: 1}),
    ("liao2022.cor2", {S.tau: 1}),
    ("liao2022.cor3", {S.xi: 1 / S.p}),
])
def test_corollaries_are_thm3_with_the_substitution(cor, values):
    thm3, c = bounds.get("liao2022.thm3"), bounds.get(cor)
    assert set(c.keys()) == set(thm3.keys())
    for key in thm3.keys():
        assert sp.simplify(c[key] - thm3[key].subs(values)) == 0, key
    assert dict(c.constants) == {k: v for k, v in thm3.constants.items()}


def test_corollaries_are_derived_not_retyped():
    # a change to the Thm 3 template propagates: the corollary equals subs of the template
    assert L.COR1["rate"] == L.THM3["rate"].xreplace({S.p: 1, S.tau: 1})
    assert sp.simplify(L.COR1["theta"] - S.xi) == 0   # theta = xi for dropout


def test_cor1_values():
    c = bounds.get("liao2022.cor1")
    # dropout: theta = xi, rate = 1 - xi eta lambda_0 / 2
    assert c.evaluate("rate", xi=0.5, eta=0.1, lambda_0=0.4) == pytest.approx(0.99)
    assert c.evaluate("error_local", xi=0.5) == 0.0


def test_thm4_categorical():
    t = bounds.get("liao2022.thm4")
    assert S.lambda_max in t["error"].free_symbols
    assert t.evaluate("error", p=1, n=10, kappa=0.5, lambda_max=2, lambda_0=0.1) == 0.0
    # (p-1)/p * n kappa^2 lambda_max / lambda_0 = 1/2 * 10 * 0.25 * 2 / 0.1
    assert t.evaluate("error", p=2, n=10, kappa=0.5, lambda_max=2, lambda_0=0.1) == (
        pytest.approx(25.0))
    report = t.check_hypotheses(lambda_0=2, lambda_max=1)
    assert [c.status for c in report.violated] == ["violated"]


def test_thm2_and_hyp1_reduce_to_dzps19():
    thm2, du = bounds.get("liao2022.thm2"), bounds.get("du2019.lemma3_1")
    vals = dict(n=10, lambda_0=0.5, delta=0.1)
    assert thm2.evaluate("width", xi=1, K=1, **vals) == pytest.approx(du.evaluate("width", **vals))
    hyp1 = bounds.get("liao2022.hyp1")
    # movement <= radius, solved for the smallest width
    bound = hyp1.solve_for("radius_movement", "m", n=4, r0=1, lambda_0=0.5, kappa=1, delta=0.5)
    # sqrt(4)/(sqrt(m) 0.5) <= 0.5*0.5/16  =>  m >= (4 * 16 / 0.25)^2
    assert bound.relation == ">=" and bound.value == pytest.approx((4 * 16 / 0.25) ** 2)


def test_template_defaults_are_documented():
    doc = L.__doc__
    for sym, value in L.DEFAULTS.items():
        if sym.name.startswith("e_"):
            assert f"{sym.name:<11} {value}" in doc, sym
