"""Liao & Kyrillidis (TMLR 2022, arXiv 2112.02668), "LK22" — [STRUCT] *templates*.

LK22's exact exponents and constants are not in the project's sources (docs/theory.md §6): only
the structure of each statement and its qualitative claims are known.  Every expression below
is therefore a **parametrised template**, not the paper's formula.  Unknown constants are the
positive symbols ``c_*`` (default 1) and unknown exponents of the width requirement are the
positive symbols ``e_*`` with these documented placeholder defaults, chosen to echo the
baselines, *not* taken from LK22:

=========== ======= ==============================================
parameter   default echoes
=========== ======= ==============================================
e_n         4       n⁴ of SY19
e_lambda    4       λ0⁻⁴ of DZPS19 / SY19 / ADHLW19
e_delta     3       δ⁻³ of DZPS19
e_kappa     2       κ⁻² of ADHLW19
e_K         2       (growth with K; no baseline)
e_theta     2       (shrinks with θ; no baseline)
=========== ======= ==============================================

Templates (θ = 1 − (1 − ξ)^p, docs/theory.md §2; all hypotheses include ξ ≤ 1, δ < 1):

* Thm 2 (masked NTK): m ≥ c_width n² log(nK/δ)/(ξ λ0)² — DZPS19 Lemma 3.1 with the
  ξ-scaled kernel and a union bound over K mask draws; within radius c_radius κ δ λ0/n²
  every masked NTK has λ_min ≥ ξλ0/2, w.p. ≥ 1 − δ.
* Hypothesis 1: local loss contracts by 1 − c_rate ξ η λ0/2 per local step; local movement
  c_move √n ‖y − u‖/(√m λ0) (r0 stands for ‖y − u‖ at the start of the local phase).
* Thm 3 (Bernoulli masks): m ≥ c_width n^e_n K^e_K / (λ0^e_lambda δ^e_delta κ^e_kappa
  θ^e_theta), η ≤ c_eta λ0/(n² τ), E‖y − u_k‖² ≤ rate^k ‖y − u_0‖² + B with
  rate = 1 − c_rate θ τ η λ0 / 2 and B = B_bias + B_var + B_local,
  B_bias = c_bias (1 − ξ) n / m (∝ 1/m; from the O(1/m) gradient bias θ(1−ξ)/m ≤ (1−ξ)/m),
  B_var = c_var ξ(1 − ξ) n κ² / p (the sampling increase ξ(1−ξ)S/m with S ≈ m n κ²,
  averaged over p subnetworks), B_local = c_local (1 − ξ)(τ − 1) η n.
* Thm 4 (categorical masks, ξ = 1/p): m ≥ c_width n^e_n K^e_K p^e_theta / (λ0^e_lambda
  δ^e_delta κ^e_kappa), γ = 1 − c_rate τ η λ0/(2p), error c_err (p − 1) n κ² λ_max/(p λ0).
* Cor. 1 (dropout) = Thm 3 with p = τ = 1; Cor. 2 (multi-sample dropout) = Thm 3 with τ = 1;
  Cor. 3 (IST, Bernoulli masks) = Thm 3 with ξ = 1/p — derived by substitution.

Each qualitative claim of docs/theory.md §6 is a :class:`bounds.Claim` proved by SymPy for the
defaults (``thm.check_claims()``), and re-checkable for other parameter values
(``thm.check_claims(e_theta=...)``).
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from .. import _claims
from .._reports import Claim
from ..symbols import (K, c_bias, c_err, c_eta, c_local, c_move, c_radius, c_rate, c_var,
                       c_width, delta, e_delta, e_K, e_kappa, e_lambda, e_n, e_theta, eta, k,
                       kappa, lambda_0, lambda_max, m, n, p, r0, tau, xi)
from ..theorem import Theorem
from . import du2019, song_yang2019
from .exact import THETA

__all__ = ["THM2", "HYP1", "THM3", "THM4", "COR1", "COR2", "COR3", "DEFAULTS"]

_PAPER = "Liao & Kyrillidis (TMLR 2022, arXiv 2112.02668)"
_TEMPLATE = "[STRUCT] parametrised template, NOT the paper's exact expression"
_one = sp.Integer(1)

#: Placeholder defaults of the template parameters (see the module docstring).
DEFAULTS = {e_n: sp.Integer(4), e_lambda: sp.Integer(4), e_delta: sp.Integer(3),
            e_kappa: sp.Integer(2), e_K: sp.Integer(2), e_theta: sp.Integer(2),
            c_width: _one, c_eta: _one, c_rate: _one, c_radius: _one, c_move: _one,
            c_bias: _one, c_var: _one, c_local: _one, c_err: _one}


def _defaults(*syms):
    return {s: DEFAULTS[s] for s in syms}


def _fixed(expr, params):
    return expr.xreplace(params)


# --- Thm 2 and Hypothesis 1 ------------------------------------------------------------
WIDTH2 = c_width * n**2 * sp.log(n * K / delta) / (xi * lambda_0)**2
RADIUS2 = c_radius * kappa * delta * lambda_0 / n**2
_P2 = _defaults(c_width, c_radius)

THM2 = Theorem(
    name="liao2022.thm2",
    citation=f"{_PAPER}, Theorem 2 (masked-NTK eigenvalue) — {_TEMPLATE}",
    provenance="STRUCT", confidence="medium",
    hypotheses=(m >= WIDTH2, xi <= 1, delta < 1),
    expressions={"width": WIDTH2, "radius": RADIUS2, "lambda_min": xi * lambda_0 / 2,
                 "probability": 1 - delta},
    constants=_P2,
    claims=(
        Claim("at xi = K = 1 the width template is DZPS19 Lemma 3.1's requirement",
              lambda P: _claims.equal(_fixed(WIDTH2, P).subs({xi: 1, K: 1}),
                                      du2019.LEMMA3_1["width"].xreplace(P)), _P2),
        Claim("at xi = 1 the eigenvalue bound is DZPS19 Lemma 3.2's lambda_0/2, and at "
              "kappa = 1 the radius is Lemma 3.2's R",
              lambda P: _claims.all_of(
                  _claims.equal((xi * lambda_0 / 2).subs(xi, 1),
                                du2019.LEMMA3_2["lambda_min"]),
                  _claims.equal(_fixed(RADIUS2, P).subs(kappa, 1),
                                du2019.LEMMA3_2["radius"].xreplace(P))), _P2),
        Claim("the width requirement grows as xi decreases",
              lambda P: _claims.nonincreasing(_fixed(WIDTH2, P), xi), _P2),
    ),
    notes="lambda_min is the lower bound on λ_min of every masked NTK seen in training "
          "(ξ-convention: the ξ-scaled H∞); radius is the allowed movement from W(0).",
)

MOVEMENT1 = c_move * sp.sqrt(n) * r0 / (sp.sqrt(m) * lambda_0)
LOCAL_RATE1 = 1 - c_rate * xi * eta * lambda_0 / 2
_P1 = _defaults(c_move, c_rate, c_radius)

HYP1 = Theorem(
    name="liao2022.hyp1",
    citation=f"{_PAPER}, Hypothesis 1 (local linear convergence) — {_TEMPLATE}",
    provenance="STRUCT", confidence="medium",
    hypotheses=(MOVEMENT1 <= RADIUS2, xi <= 1),
    expressions={"rate": LOCAL_RATE1, "radius_movement": MOVEMENT1, "radius": RADIUS2},
    constants=_P1,
    claims=(
        Claim("local movement is O(sqrt(n) ||y - u|| / (sqrt(m) lambda_0)): a constant "
              "multiple of DZPS19's R'",
              lambda P: _claims.is_zero(sp.diff(sp.simplify(
                  _fixed(MOVEMENT1, P) / du2019.RADIUS_MOVEMENT), n, m, lambda_0, r0)), _P1),
        Claim("at xi = 1 the local rate is DZPS19 Thm 4.1's rate",
              lambda P: _claims.equal(_fixed(LOCAL_RATE1, P).subs(xi, 1), du2019.RATE), _P1),
    ),
    notes="r0 stands for ‖y − u‖ at the start of the local phase; the hypothesis "
          "radius_movement <= radius is 'weights stay within R'.",
)

# --- Thm 3 (Bernoulli masks) -----------------------------------------------------------
WIDTH3 = c_width * n**e_n * K**e_K / (lambda_0**e_lambda * delta**e_delta * kappa**e_kappa
                                      * THETA**e_theta)
STEP3 = c_eta * lambda_0 / (n**2 * tau)
RATE3 = 1 - c_rate * THETA * tau * eta * lambda_0 / 2
B_BIAS = c_bias * (1 - xi) * n / m
B_VAR = c_var * xi * (1 - xi) * n * kappa**2 / p
B_LOCAL = c_local * (1 - xi) * (tau - 1) * eta * n
ERROR3 = B_BIAS + B_VAR + B_LOCAL
_P3 = _defaults(c_width, c_eta, c_rate, c_bias, c_var, c_local,
                e_n, e_K, e_lambda, e_delta, e_kappa, e_theta)
_SY = {xi: 1, p: 1, tau: 1}


def _dec(expr, var, P):
    return _claims.nonincreasing(_fixed(expr, P), var)


THM3_CLAIMS = (
    Claim("LK22 Thm 3: all three terms of B vanish at xi = 1",
          lambda P: _claims.all_of(*(_claims.is_zero(_fixed(t, P).subs(xi, 1))
                                     for t in (B_BIAS, B_VAR, B_LOCAL))), _P3),
    Claim("the error term B does not increase with p", lambda P: _dec(ERROR3, p, P), _P3),
    Claim("the rate tends to 1 as xi -> 0",
          lambda P: _claims.limit_equals(_fixed(RATE3, P), xi, 0, 1), _P3),
    Claim("the width requirement grows as xi decreases", lambda P: _dec(WIDTH3, xi, P), _P3),
    Claim("the width requirement grows with K and shrinks with theta (via p) and kappa",
          lambda P: _claims.all_of(_claims.nondecreasing(_fixed(WIDTH3, P), K),
                                   _dec(WIDTH3, p, P), _dec(WIDTH3, kappa, P)), _P3),
    Claim("the rate improves (decreases) with tau and with p (through theta)",
          lambda P: _claims.all_of(_claims.decreasing(_fixed(RATE3, P), tau),
                                   _dec(RATE3, p, P)), _P3),
    Claim("at xi = p = tau = 1 the rate is SY19's rate and B = 0",
          lambda P: _claims.all_of(
              _claims.equal(_fixed(RATE3, P).subs(_SY), song_yang2019.RATE),
              _claims.is_zero(_fixed(ERROR3, P).subs(_SY))), _P3),
    Claim("B_bias is proportional to 1/m",
          lambda P: _claims.all_of(_claims.is_zero(sp.diff(m * _fixed(B_BIAS, P), m)),
                                   not _claims.is_zero(_fixed(B_BIAS, P))), _P3),
    Claim("B_var stays bounded as kappa -> 0 and shrinks with p",
          lambda P: _claims.all_of(_claims.bounded_limit(_fixed(B_VAR, P), kappa, 0),
                                   _claims.decreasing(_fixed(B_VAR, P), p)), _P3),
    Claim("B_local vanishes at tau = 1",
          lambda P: _claims.is_zero(_fixed(B_LOCAL, P).subs(tau, 1)), _P3),
)

THM3 = Theorem(
    name="liao2022.thm3",
    citation=f"{_PAPER}, Theorem 3 (Bernoulli masks) — {_TEMPLATE}",
    provenance="STRUCT", confidence="medium",
    hypotheses=(m >= WIDTH3, eta <= STEP3, xi <= 1, delta < 1, k <= K),
    expressions={"width": WIDTH3, "step_size": STEP3, "rate": RATE3, "error": ERROR3,
                 "error_bias": B_BIAS, "error_variance": B_VAR, "error_local": B_LOCAL,
                 "theta": THETA, "loss_bound": RATE3**k * r0**2 + ERROR3,
                 "probability": 1 - delta},
    constants=_P3, claims=THM3_CLAIMS,
    notes="Template: theta = 1 - (1 - xi)^p; loss_bound bounds E‖y − u_k‖² with "
          "r0 = ‖y − u_0‖; exponents e_* and constants c_* are placeholders (module docstring).",
)

# --- Thm 4 (categorical masks) ---------------------------------------------------------
WIDTH4 = c_width * n**e_n * K**e_K * p**e_theta / (lambda_0**e_lambda * delta**e_delta
                                                   * kappa**e_kappa)
RATE4 = 1 - c_rate * tau * eta * lambda_0 / (2 * p)
ERROR4 = c_err * (p - 1) * n * kappa**2 * lambda_max / (p * lambda_0)
_P4 = _defaults(c_width, c_eta, c_rate, c_err, e_n, e_K, e_lambda, e_delta, e_kappa, e_theta)

THM4 = Theorem(
    name="liao2022.thm4",
    citation=f"{_PAPER}, Theorem 4 (categorical masks / IST) — {_TEMPLATE}",
    provenance="STRUCT", confidence="medium",
    hypotheses=(m >= WIDTH4, eta <= STEP3, delta < 1, lambda_0 <= lambda_max, k <= K),
    expressions={"width": WIDTH4, "step_size": STEP3, "rate": RATE4, "error": ERROR4,
                 "loss_bound": RATE4**k * r0**2 + ERROR4, "probability": 1 - delta},
    constants=_P4,
    claims=(
        Claim("the convergence factor gamma grows with p",
              lambda P: _claims.increasing(_fixed(RATE4, P), p), _P4),
        Claim("the error term vanishes at p = 1",
              lambda P: _claims.is_zero(_fixed(ERROR4, P).subs(p, 1)), _P4),
        Claim("lambda_max(H_inf) enters the error term",
              lambda P: lambda_max in _fixed(ERROR4, P).free_symbols, _P4),
        Claim("at p = tau = 1 the factor gamma is SY19's rate",
              lambda P: _claims.equal(_fixed(RATE4, P).subs({p: 1, tau: 1}),
                                      song_yang2019.RATE), _P4),
    ),
    notes="Template: rate is the factor gamma; the error term is motivated by the exact "
          "categorical variance (p - 1)/p^2 S/m (docs/theory.md §5.6).",
)

# --- Corollaries: derived from Thm 3 by substitution, never retyped ---------------------
_COR1 = THM3.subs("liao2022.cor1", p=1, tau=1)
COR1 = replace(
    _COR1,
    citation=f"{_PAPER}, Corollary 1 (dropout) = Thm 3 template with p = tau = 1 — {_TEMPLATE}",
    claims=(
        Claim("the rate tends to 1 as xi -> 0",
              lambda P: _claims.limit_equals(_fixed(_COR1["rate"], P), xi, 0, 1), _P3),
        Claim("at xi = 1 the rate is the DZPS19 / SY19 rate",
              lambda P: _claims.all_of(
                  _claims.equal(_fixed(_COR1["rate"], P).subs(xi, 1), du2019.RATE),
                  _claims.equal(_fixed(_COR1["rate"], P).subs(xi, 1), song_yang2019.RATE)),
              _P3),
        Claim("the error term B tends to 0 as xi -> 1",
              lambda P: _claims.limit_equals(_fixed(_COR1["error"], P), xi, 1, 0, "-"), _P3),
        Claim("the width requirement grows as xi decreases",
              lambda P: _dec(_COR1["width"], xi, P), _P3),
    ),
)

_COR2 = THM3.subs("liao2022.cor2", tau=1)
COR2 = replace(
    _COR2,
    citation=f"{_PAPER}, Corollary 2 (multi-sample dropout) = Thm 3 template with tau = 1 — "
             f"{_TEMPLATE}",
    claims=(
        Claim("larger p improves the rate and the width requirement (through theta)",
              lambda P: _claims.all_of(_dec(_COR2["rate"], p, P), _dec(_COR2["width"], p, P)),
              _P3),
        Claim("larger p does not increase the error term",
              lambda P: _dec(_COR2["error"], p, P), _P3),
        Claim("as p -> oo the error term tends to the p-independent term B_bias",
              lambda P: _claims.all_of(
                  _claims.limit_equals(_fixed(_COR2["error"], P), p, sp.oo,
                                       _fixed(_COR2["error_bias"], P), "-"),
                  p not in _COR2["error_bias"].free_symbols), _P3),
    ),
)

_COR3 = THM3.subs("liao2022.cor3", xi=1 / p)
COR3 = replace(
    _COR3,
    citation=f"{_PAPER}, Corollary 3 (IST with Bernoulli masks) = Thm 3 template with "
             f"xi = 1/p — {_TEMPLATE}",
    claims=(
        Claim("with p = 1 (full network) the error term vanishes",
              lambda P: _claims.is_zero(_fixed(_COR3["error"], P).subs(p, 1)), _P3),
        Claim("consequence of the template (not an LK22 statement): theta = 1 - (1 - 1/p)^p "
              "tends to 1 - 1/e as p -> oo",
              lambda P: _claims.limit_equals(_COR3["theta"], p, sp.oo, 1 - sp.exp(-1), "-"),
              _P3),
    ),
)
