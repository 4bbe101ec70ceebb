"""Arora, Du, Hu, Li, Wang (ICML 2019, arXiv 1901.08584), "ADHLW19" — [PAPER].

* Thm 4.1: κ = O(εδ/√n), m = Ω(n⁷ / (λ0⁴ κ² δ⁴ ε²)), η = O(λ0/n²) ⇒ w.p. ≥ 1 − δ, for all k,
  ‖y − u(k)‖ = √(Σ_i (1 − ηλ_i)^{2k} (v_i·y)²) ± ε, with H∞ = Σ_i λ_i v_i v_iᵀ.
  The slowest eigen-direction (λ_i = λ0) contracts ‖y − u(k)‖² by (1 − ηλ0)² per step; that
  factor is the ``rate`` key (the full per-direction formula needs the eigenvectors of H∞,
  which are data, not symbols).
* Thm 5.1: the generalisation bound is governed by the data-dependent complexity
  √(2 yᵀ(H∞)⁻¹y / n); ``y_Hinv_y`` stands for yᵀ(H∞)⁻¹y.  Only this quantity is encoded
  (the bound's remaining lower-order term is not in the project's sources).
"""

from __future__ import annotations

import sympy as sp

from ..symbols import (c_eta, c_kappa, c_width, delta, epsilon, eta, k, kappa, lambda_0, m, n,
                       y_Hinv_y)
from ..theorem import Theorem

__all__ = ["THM4_1", "THM5_1"]

_PAPER = "Arora, Du, Hu, Li, Wang (ICML 2019, arXiv 1901.08584)"

#: Largest initialisation scale, κ = O(εδ/√n).
KAPPA_MAX = c_kappa * epsilon * delta / sp.sqrt(n)
#: Width requirement, m = Ω(n⁷ / (λ0⁴ κ² δ⁴ ε²)).
WIDTH = c_width * n**7 / (lambda_0**4 * kappa**2 * delta**4 * epsilon**2)
#: Largest step size, η = O(λ0 / n²).
STEP_SIZE = c_eta * lambda_0 / n**2
#: Slowest-direction contraction of ‖y − u(k)‖² per step.
RATE = (1 - eta * lambda_0)**2

THM4_1 = Theorem(
    name="arora2019.thm4_1",
    citation=f"{_PAPER}, Theorem 4.1",
    provenance="PAPER", confidence="high",
    hypotheses=(kappa <= KAPPA_MAX, m >= WIDTH, eta <= STEP_SIZE, delta < 1),
    expressions={
        "kappa_max": KAPPA_MAX,
        "width": WIDTH,
        "step_size": STEP_SIZE,
        "rate": RATE,
        "rate_k": RATE**k,
        "error": epsilon,
        "probability": 1 - delta,
    },
    constants={c_kappa: 1, c_width: 1, c_eta: 1},
    notes="error = ε is the ± tolerance on ‖y − u(k)‖ around the linear (kernel) dynamics; "
          "rate = (1 − ηλ0)² is the slowest eigen-direction's factor of ‖y − u(k)‖².",
)

THM5_1 = Theorem(
    name="arora2019.thm5_1",
    citation=f"{_PAPER}, Theorem 5.1 (the data-dependent complexity term only)",
    provenance="PAPER", confidence="high",
    hypotheses=(),
    expressions={"generalization": sp.sqrt(2 * y_Hinv_y / n)},
    notes="generalization = √(2 yᵀ(H∞)⁻¹y / n), y_Hinv_y = yᵀ(H∞)⁻¹y; the lower-order term "
          "of the full bound is not encoded.",
)
