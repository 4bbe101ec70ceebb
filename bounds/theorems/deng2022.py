"""Deng, Hu, Song, Weinstein, Zhuo (2022, arXiv 2208.04508), "DHSWZ22" — [PAPER], medium.

Shifted ReLU σ_b(z) = max(z − b, 0) (docs/theory.md §4, §6):

* for δ_sep-separated unit-norm data, the shifted NTK has λ_min ≥ exp(−b²/2) δ_sep / (100 n²);
* O(m exp(−b²/2)) neurons fire per input; with b = √(2α log m) that is O(m^{1−α});
* per-iteration cost Õ(m^{1−α} n d + n³) (logarithmic factors dropped), m = poly(n).
"""

from __future__ import annotations

import sympy as sp

from .. import _claims
from .._reports import Claim
from ..symbols import alpha, b, c_cost, c_fire, d, delta_sep, m, n
from ..theorem import Theorem

__all__ = ["SHIFTED_NTK"]

#: λ_min lower bound of the shifted NTK.
LAMBDA_MIN = sp.exp(-b**2 / 2) * delta_sep / (100 * n**2)
#: Expected number of neurons firing on one input, O(m exp(−b²/2)).
FIRING = c_fire * m * sp.exp(-b**2 / 2)
#: Threshold that makes the firing count O(m^{1−α}).
THRESHOLD = sp.sqrt(2 * alpha * sp.log(m))


def _sparse_firing(params):
    fired = FIRING.xreplace(params).subs(b, THRESHOLD)
    return _claims.equal(sp.powsimp(sp.simplify(fired), force=True),
                         (c_fire * m**(1 - alpha)).xreplace(params))


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
          "cost_per_iteration hides logarithmic factors (Õ).",
)
