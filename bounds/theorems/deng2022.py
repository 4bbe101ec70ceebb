"""Deng, Hu, Song, Weinstein, Zhuo (2022, arXiv 2208.04508), "DHSWZ22" — [PAPER], medium.

Shifted ReLU σ_b(z) = max(z − b, 0), w_r(0) ~ N(0, κ² I), unit-norm data, m = poly(n)
(docs/theory.md §4, §6, §9).  One theorem per measurable claim of docs/theory.md §9:

* ``deng2022.firing`` — (i) ``|S_i| = O(m exp(−b²/(2κ²)))`` neurons fire on an input; with
  ``b = κ √(2α log m)`` that is ``O(m^{1−α})``.  The exact expectation
  ``E|S_i| = m Φ(−b/κ)`` is :data:`EXPECTED_FIRING` (used by the claims; see its comment).
* ``deng2022.lambda_min`` — (iii) ``λ_min(H_b∞) ≥ exp(−b²/(2κ²)) δ_sep / (100 n²)`` for
  δ_sep-separated unit data, δ_sep = min_{i≠j} min(‖x_i − x_j‖, ‖x_i + x_j‖).
* ``deng2022.gauss_newton`` — (iv) ``‖f_{t+1} − y‖ ≤ ½ ‖f_t − y‖``, so
  ``log2(‖f_0 − y‖/ε) = O(log(n/ε))`` iterations reach ε.
* ``deng2022.cost`` — (v) amortised per-iteration cost ``Õ(m^{1−α} n d + n³)``.

The paper takes κ = 1.  A general κ is the exact rescaling ``w = κ z``:
``1{<w, x> ≥ b} = 1{<z, x> ≥ b/κ}``, so every quantity depends on b and κ only through b/κ and
the κ = 1 statement at shift b/κ is the statement at (b, κ) (derived here by substituting
``b -> b/κ``, never retyped; a claim of each theorem checks the κ = 1 form).

``deng2022.shifted_ntk`` is the original single-object encoding (κ = 1 only), kept unchanged
for backwards compatibility; the four theorems above supersede it.
"""

from __future__ import annotations

import sympy as sp

from .. import _claims
from .._reports import Claim, truth
from ..symbols import (alpha, b, c_cost, c_fire, d, delta_sep, epsilon, k, kappa, m, n, r0)
from ..theorem import Theorem

__all__ = ["SHIFTED_NTK", "FIRING_THM", "LAMBDA_MIN_THM", "GAUSS_NEWTON", "COST_THM",
           "EXPECTED_FIRING"]

_PAPER = "Deng, Hu, Song, Weinstein, Zhuo (2022, arXiv 2208.04508)"
_KAPPA_NOTE = ("The paper takes kappa = 1; general kappa by the exact rescaling w = kappa z "
               "(everything depends on b/kappa only).")

# -- the paper's statements at kappa = 1 (also the expressions of deng2022.shifted_ntk) ------
#: λ_min lower bound of the shifted NTK, κ = 1.
LAMBDA_MIN = sp.exp(-b**2 / 2) * delta_sep / (100 * n**2)
#: Number of neurons firing on one input, O(m exp(−b²/2)), κ = 1.
FIRING = c_fire * m * sp.exp(-b**2 / 2)
#: Threshold that makes the firing count O(m^{1−α}), κ = 1.
THRESHOLD = sp.sqrt(2 * alpha * sp.log(m))

# -- general kappa: substitute b -> b/kappa (the rescaling w = kappa z) ----------------------
_RESCALE = {b: b / kappa}
#: exp(−b²/(2κ²)): the factor by which the shift lowers the eigenvalue bound and the firing count.
SHIFT_FACTOR = sp.exp(-b**2 / 2).xreplace(_RESCALE)
#: λ_min(H_b∞) ≥ exp(−b²/(2κ²)) δ_sep / (100 n²).
LAMBDA_MIN_K = LAMBDA_MIN.xreplace(_RESCALE)
#: |S_i| = O(m exp(−b²/(2κ²))).
FIRING_K = FIRING.xreplace(_RESCALE)
#: b = κ √(2α log m) (the κ = 1 threshold at shift b/κ, solved for b).
THRESHOLD_K = kappa * THRESHOLD
#: The firing count at that threshold, c_fire m^{1−α}.
FIRING_AT_THRESHOLD = sp.powsimp(sp.simplify(FIRING_K.xreplace({b: THRESHOLD_K})), force=True)
#: Exact expectation E|S_i| = m Φ(−b/κ) for a unit row, Φ(x) = erfc(−x/√2)/2 (docs/theory.md §9).
#: Not a theorem expression: the formula parser of user theorems (bounds.parse) has no `erfc`,
#: and every built-in expression must round-trip through it.  ntkcheck measures it as
#: ``m * ntkcheck.firing_fraction_infinite(X, shift=b/kappa)``.
EXPECTED_FIRING = m * sp.erfc(b / (kappa * sp.sqrt(2))) / 2

# -- Gauss-Newton (iv) ---------------------------------------------------------------------
#: ‖f_{t+1} − y‖ ≤ ½ ‖f_t − y‖.
RESIDUAL_RATIO = sp.Rational(1, 2)
#: ‖f_k − y‖ ≤ 2^{−k} ‖f_0 − y‖ (r0 = ‖f_0 − y‖).
RESIDUAL_BOUND = RESIDUAL_RATIO**k * r0
#: Iterations until the bound reaches ε: log2(‖f_0 − y‖/ε) (RESIDUAL_BOUND solved for k).
ITERATIONS = sp.log(r0 / epsilon) / sp.log(1 / RESIDUAL_RATIO)
#: O(log(n/ε)): log2(n/ε), an upper bound on ITERATIONS whenever ‖f_0 − y‖ ≤ n.
ITERATIONS_ORDER = sp.log(n / epsilon) / sp.log(1 / RESIDUAL_RATIO)

# -- cost (v) --------------------------------------------------------------------------------
#: Õ(m^{1−α} n d + n³): n d per fired neuron of every point at the threshold, plus the n × n solve.
COST_PER_ITERATION = c_cost * (n * d * FIRING_AT_THRESHOLD.xreplace({c_fire: 1}) + n**3)


# -- claims ------------------------------------------------------------------------------------
def _sparse_firing(params):
    fired = FIRING.xreplace(params).subs(b, THRESHOLD)
    return _claims.equal(sp.powsimp(sp.simplify(fired), force=True),
                         (c_fire * m**(1 - alpha)).xreplace(params))


def _sparse_firing_k(params):
    return _claims.equal(FIRING_AT_THRESHOLD.xreplace(params),
                         (c_fire * m**(1 - alpha)).xreplace(params))


def _firing_kappa_one(params):
    return _claims.all_of(_claims.equal(FIRING_K.xreplace({kappa: 1}), FIRING),
                          _claims.equal(THRESHOLD_K.xreplace({kappa: 1}), THRESHOLD))


def _expected_at_zero(params):
    return _claims.equal(EXPECTED_FIRING.xreplace({b: 0}), m / 2)


def _expected_within_order(params):
    return _claims.limit_equals(EXPECTED_FIRING / FIRING_K.xreplace(params), b, sp.oo, 0, "-")


def _lambda_kappa_one(params):
    return _claims.equal(LAMBDA_MIN_K.xreplace({kappa: 1}), LAMBDA_MIN)


def _lambda_nonincreasing(params):
    return truth(sp.diff(LAMBDA_MIN_K, b).is_nonpositive)


def _iterations_reach_eps(params):
    return _claims.equal(sp.powsimp(sp.expand_log(RESIDUAL_BOUND.xreplace({k: ITERATIONS}),
                                                  force=True), force=True), epsilon)


def _iterations_order(params):
    gap = ITERATIONS_ORDER - ITERATIONS.xreplace({r0: sp.sqrt(n)})
    return truth(sp.simplify(sp.expand_log(gap, force=True)).is_nonnegative)


def _cost_sublinear(params):
    return _claims.limit_equals(COST_PER_ITERATION.xreplace(params) / m, m, sp.oo, 0)


SHIFTED_NTK = Theorem(
    name="deng2022.shifted_ntk",
    citation="Deng, Hu, Song, Weinstein, Zhuo (2022, arXiv 2208.04508), shifted-ReLU NTK "
             "eigenvalue lower bound and sparsity (medium confidence)",
    provenance="PAPER", confidence="medium",
    hypotheses=(),
    expressions={
        "lambda_min": LAMBDA_MIN,
        "firing": FIRING,
        "threshold": THRESHOLD,
        "cost_per_iteration": c_cost * (m**(1 - alpha) * n * d + n**3),
    },
    constants={c_fire: 1, c_cost: 1},
    claims=(Claim("DHSWZ22: with b = sqrt(2 alpha log m) the firing count is c_fire m^(1-alpha)",
                  _sparse_firing, {c_fire: sp.Integer(1)}),),
    notes="lambda_min bounds λ_min of the shifted NTK for δ_sep-separated unit data; "
          "cost_per_iteration hides logarithmic factors (Õ). kappa = 1; superseded by "
          "deng2022.firing, deng2022.lambda_min, deng2022.gauss_newton, deng2022.cost.",
)

FIRING_THM = Theorem(
    name="deng2022.firing",
    citation=f"{_PAPER}, sparsity of the shifted ReLU: O(m exp(-b^2/2)) neurons fire per input, "
             f"O(m^(1-alpha)) at b = sqrt(2 alpha log m) (docs/theory.md §9 (i); medium confidence)",
    provenance="PAPER", confidence="medium",
    hypotheses=(),
    expressions={
        "firing": FIRING_K,
        "threshold": THRESHOLD_K,
        "firing_at_threshold": FIRING_AT_THRESHOLD,
    },
    constants={c_fire: 1},
    claims=(
        Claim("DHSWZ22: with b = kappa sqrt(2 alpha log m) the firing count is c_fire m^(1-alpha)",
              _sparse_firing_k, {c_fire: sp.Integer(1)}),
        Claim("at kappa = 1, firing and threshold are DHSWZ22's c_fire m exp(-b^2/2) and "
              "sqrt(2 alpha log m)", _firing_kappa_one, {}),
        Claim("exact expectation E|S_i| = m Phi(-b/kappa) is m/2 at b = 0", _expected_at_zero, {}),
        Claim("E|S_i| = m Phi(-b/kappa) is o(m exp(-b^2/(2 kappa^2))) as b -> oo, so the O(.) "
              "order holds for large shifts", _expected_within_order, {c_fire: sp.Integer(1)}),
    ),
    notes="firing counts the neurons with <w_r, x_i> >= b for one unit-norm input (an O(.) "
          "order, constant c_fire); its exact expectation is m Phi(-b/kappa) "
          "(bounds.theorems.deng2022.EXPECTED_FIRING; <= firing/2 at c_fire = 1). "
          "firing_at_threshold is firing at b = threshold. " + _KAPPA_NOTE,
)

LAMBDA_MIN_THM = Theorem(
    name="deng2022.lambda_min",
    citation=f"{_PAPER}, lower bound on the smallest eigenvalue of the shifted NTK H_b^inf for "
             f"delta_sep-separated unit data (docs/theory.md §9 (iii); medium confidence)",
    provenance="PAPER", confidence="medium",
    hypotheses=(),
    expressions={
        "lambda_min": LAMBDA_MIN_K,
        "shift_factor": SHIFT_FACTOR,
    },
    claims=(
        Claim("at kappa = 1 it is DHSWZ22's exp(-b^2/2) delta_sep / (100 n^2)",
              _lambda_kappa_one, {}),
        Claim("the bound does not increase with the shift b", _lambda_nonincreasing, {}),
    ),
    notes="lambda_min lower-bounds lambda_min(H_b^inf), H_b^inf the infinite-width shifted NTK "
          "at initialisation (w ~ N(0, kappa^2 I)); delta_sep = min_{i != j} "
          "min(||x_i - x_j||, ||x_i + x_j||) over unit rows; shift_factor = "
          "exp(-b^2/(2 kappa^2)). No absolute constant is hidden (the 1/100 is the paper's). "
          + _KAPPA_NOTE,
)

GAUSS_NEWTON = Theorem(
    name="deng2022.gauss_newton",
    citation=f"{_PAPER}, convergence of the (sketched) Gauss-Newton iteration: "
             f"||f_(t+1) - y|| <= ||f_t - y|| / 2 (docs/theory.md §9 (iv); medium confidence)",
    provenance="PAPER", confidence="medium",
    hypotheses=(),
    expressions={
        "residual_ratio": RESIDUAL_RATIO,
        "rate": RESIDUAL_RATIO**2,
        "error": sp.Integer(0),
        "residual_bound": RESIDUAL_BOUND,
        "iterations": ITERATIONS,
        "iterations_order": ITERATIONS_ORDER,
    },
    claims=(
        Claim("the residual bound 2^-k ||f_0 - y|| equals epsilon after log2(||f_0 - y||/epsilon) "
              "iterations", _iterations_reach_eps, {}),
        Claim("with ||f_0 - y|| = sqrt(n) (E||f_0 - y||^2 = O(n)) the iteration count is at most "
              "log2(n/epsilon) = O(log(n/epsilon))", _iterations_order, {}),
    ),
    notes="residual_ratio is the factor of ||f_t - y|| per iteration, rate = residual_ratio^2 "
          "that of ||f_t - y||^2; residual_bound = residual_ratio^k r0 with r0 = ||f_0 - y||; "
          "iterations = log2(r0/epsilon) (round up for a count); iterations_order = "
          "log2(n/epsilon) is the O(log(n/epsilon)) form, valid for r0 <= n. The width and "
          "sketching conditions (m = poly(n)) are not encoded.",
)

COST_THM = Theorem(
    name="deng2022.cost",
    citation=f"{_PAPER}, amortised cost per training iteration O~(m^(1-alpha) n d + n^3) "
             f"(docs/theory.md §9 (v); medium confidence)",
    provenance="PAPER", confidence="medium",
    hypotheses=(),
    expressions={"cost_per_iteration": COST_PER_ITERATION},
    constants={c_cost: 1},
    claims=(Claim("for alpha > 0 the cost per iteration is sublinear in the width: "
                  "cost / m -> 0 as m -> oo", _cost_sublinear, {c_cost: sp.Integer(1)}),),
    notes="Logarithmic factors of O~ are dropped (constant c_cost); the m-dependent term is "
          "n d times the firing count c_fire m^(1-alpha) of deng2022.firing at b = kappa "
          "sqrt(2 alpha log m) (c_fire = 1); n^3 is the n x n solve of the Gauss-Newton step. "
          "The paper takes 0 < alpha < 1 and m = poly(n).",
)
