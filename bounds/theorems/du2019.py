"""Du, Zhai, Póczos, Singh (ICLR 2019, arXiv 1810.02054), "DZPS19" — [PAPER].

Two-layer ReLU network f(W, x) = m^{-1/2} Σ_r a_r σ(<w_r, x>), κ = 1, ‖x_i‖ = 1, |y_i| ≤ C,
loss ½ Σ_i (f(x_i) − y_i)² (docs/theory.md §1, §6):

* Lemma 3.1: m = Ω(n² log(n/δ) / λ0²) ⇒ w.p. ≥ 1 − δ, ‖H(0) − H∞‖₂ ≤ λ0/4 and
  λ_min(H(0)) ≥ 3λ0/4.
* Lemma 3.2: if every ‖w_r − w_r(0)‖ ≤ R := c δ λ0 / n², then w.p. ≥ 1 − δ,
  ‖H(W) − H(0)‖₂ < λ0/4 and λ_min(H(W)) > λ0/2.
* Thm 4.1: m = Ω(n⁶ / (λ0⁴ δ³)), η = O(λ0 / n²) ⇒ w.p. ≥ 1 − δ,
  ‖u(k) − y‖² ≤ (1 − ηλ0/2)^k ‖u(0) − y‖².  Its proof keeps the weights within
  R' = 4√n ‖y − u(0)‖ / (√m λ0) and needs R' < R.

The constants hidden by Ω/O are the positive symbols ``c_width``, ``c_eta``, ``c_radius``
(default 1).  ``r0`` stands for ‖y − u(0)‖.
"""

from __future__ import annotations

import sympy as sp

from .. import _claims
from .._reports import Claim
from ..symbols import (c_eta, c_radius, c_width, delta, eta, k, lambda_0, m, n, r0)
from ..theorem import Theorem

__all__ = ["LEMMA3_1", "LEMMA3_2", "THM4_1"]

_PAPER = "Du, Zhai, Poczos, Singh (ICLR 2019, arXiv 1810.02054)"
_half, _quarter = sp.Rational(1, 2), sp.Rational(1, 4)

#: Lemma 3.2 radius R = c δ λ0 / n².
RADIUS = c_radius * delta * lambda_0 / n**2
#: Largest step size of Thm 4.1, η = O(λ0 / n²).
STEP_SIZE = c_eta * lambda_0 / n**2
#: Per-iteration contraction factor of ‖u(k) − y‖² in Thm 4.1.
RATE = 1 - eta * lambda_0 / 2
#: Proof of Thm 4.1: weights stay within R' = 4 √n ‖y − u(0)‖ / (√m λ0).
RADIUS_MOVEMENT = 4 * sp.sqrt(n) * r0 / (sp.sqrt(m) * lambda_0)

LEMMA3_1 = Theorem(
    name="du2019.lemma3_1",
    citation=f"{_PAPER}, Lemma 3.1",
    provenance="PAPER", confidence="high",
    hypotheses=(m >= c_width * n**2 * sp.log(n / delta) / lambda_0**2, delta < 1),
    expressions={
        "width": c_width * n**2 * sp.log(n / delta) / lambda_0**2,
        "probability": 1 - delta,
        "kernel_deviation": lambda_0 / 4,        # ‖H(0) − H∞‖₂ ≤ λ0/4
        "lambda_min": 3 * lambda_0 / 4,          # λ_min(H(0)) ≥ 3λ0/4
    },
    constants={c_width: 1},
    notes="kernel_deviation bounds ‖H(0) − H∞‖₂; lambda_min lower-bounds λ_min(H(0)).",
)

LEMMA3_2 = Theorem(
    name="du2019.lemma3_2",
    citation=f"{_PAPER}, Lemma 3.2",
    provenance="PAPER", confidence="high",
    hypotheses=(delta < 1,),
    expressions={
        "radius": RADIUS,
        "probability": 1 - delta,
        "kernel_deviation": _quarter * lambda_0,  # ‖H(W) − H(0)‖₂ < λ0/4
        "lambda_min": _half * lambda_0,           # λ_min(H(W)) > λ0/2
    },
    constants={c_radius: 1},
    notes="Holds for every W with ‖w_r − w_r(0)‖ ≤ radius for all r (the radius is the "
          "hypothesis on W, not a symbol here).",
)


def _movement_within_radius(params):
    """With ‖y − u(0)‖² = n/δ (Markov on E‖y − u(0)‖² = O(n)), R' = R exactly at
    m = 16 n⁶ / (c_radius² λ0⁴ δ³): the width requirement of Thm 4.1."""
    boundary = sp.solve(sp.Eq(RADIUS_MOVEMENT.subs(r0, sp.sqrt(n / delta)), RADIUS), m)
    target = 16 * n**6 / (c_radius**2 * lambda_0**4 * delta**3)
    return len(boundary) == 1 and _claims.equal(boundary[0], target.xreplace(params))


THM4_1 = Theorem(
    name="du2019.thm4_1",
    citation=f"{_PAPER}, Theorem 4.1 (movement radius R' from its proof, Lemma 3.2 R)",
    provenance="PAPER", confidence="high",
    hypotheses=(m >= c_width * n**6 / (lambda_0**4 * delta**3), eta <= STEP_SIZE, delta < 1),
    expressions={
        "width": c_width * n**6 / (lambda_0**4 * delta**3),
        "step_size": STEP_SIZE,
        "rate": RATE,
        "error": sp.Integer(0),
        "loss_bound": RATE**k * r0**2,
        "radius": RADIUS,
        "radius_movement": RADIUS_MOVEMENT,
        "probability": 1 - delta,
    },
    constants={c_width: 1, c_eta: 1, c_radius: 1},
    claims=(Claim("proof of Thm 4.1: with ‖y − u(0)‖² = n/δ, R' ≤ R iff "
                  "m ≥ 16 n⁶/(c_radius² λ0⁴ δ³), the Ω(n⁶/(λ0⁴δ³)) width requirement",
                  _movement_within_radius, {}),),
    notes="rate is the factor of ‖u(k) − y‖² per step; loss_bound = rate^k r0² with "
          "r0 = ‖y − u(0)‖; error = 0 (no neighbourhood).",
)
