"""Song & Yang (2019, arXiv 1906.03593), "SY19" — [PAPER], medium confidence on the log power.

m = Ω(λ0⁻⁴ n⁴ log³(n/δ)), η = O(λ0/n²) ⇒ w.p. ≥ 1 − δ,
‖u(k) − y‖² ≤ (1 − ηλ0/2)^k ‖u(0) − y‖²  (docs/theory.md §6).

The power 3 of the logarithm is recorded with medium confidence in the project's sources;
treat the width's log factor accordingly.  This rate is the one LK22 Thm 3 reduces to at
ξ = p = τ = 1 (checked as a claim of ``liao2022.thm3``).
"""

from __future__ import annotations

import sympy as sp

from ..symbols import c_eta, c_width, delta, eta, k, lambda_0, m, n, r0
from ..theorem import Theorem

__all__ = ["THM"]

WIDTH = c_width * n**4 * sp.log(n / delta)**3 / lambda_0**4
STEP_SIZE = c_eta * lambda_0 / n**2
RATE = 1 - eta * lambda_0 / 2

THM = Theorem(
    name="song_yang2019.thm",
    citation="Song & Yang (2019, arXiv 1906.03593), main theorem for the two-layer ReLU net "
             "(medium confidence on the power 3 of log(n/delta))",
    provenance="PAPER", confidence="medium",
    hypotheses=(m >= WIDTH, eta <= STEP_SIZE, delta < 1),
    expressions={
        "width": WIDTH,
        "step_size": STEP_SIZE,
        "rate": RATE,
        "error": sp.Integer(0),
        "loss_bound": RATE**k * r0**2,
        "probability": 1 - delta,
    },
    constants={c_width: 1, c_eta: 1},
    notes="Medium confidence on the log power (log^3) of the width; rate is the factor of "
          "‖u(k) − y‖² per step; r0 = ‖y − u(0)‖.",
)
