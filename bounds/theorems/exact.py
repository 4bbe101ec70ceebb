"""Exact identities of LK22's Algorithm 1 (docs/theory.md §5) — [EXACT], no hidden constants.

For fixed weights W_k, over the randomness of the masks (Bernoulli keep probability ξ,
p subnetworks; categorical masks have ξ = 1/p), with S = Σ_r ‖σ(X w_{k,r})‖²:

* θ = 1 − (1 − ξ)^p, the probability that a neuron is active in at least one subnetwork;
* E f_m(W, x) = ξ f(W, x) and E H(W, m) = ξ H(W)  (``mean_scale`` = ξ);
* sampling loss increase (Bernoulli): E‖y − u_m‖² − ‖y − u_k‖² = ξ(1 − ξ)/m · S;
* aggregated first-step gradient: E g_r = (θ/√m) Σ_i (u_k^{(i)} − y_i) a_r x_i 1_{ir}
  + θ(1 − ξ)/m · Σ_i σ(<w_r, x_i>) x_i; ``gradient_scale`` = θ and ``bias_coefficient`` =
  θ(1 − ξ)/m;
* categorical sampling variance: E (1/p) Σ_l ‖u_{m^l} − u_k‖² = (p − 1)/p² · S/m.
"""

from __future__ import annotations


from .. import _claims
from .._reports import Claim
from ..symbols import S, m, p, xi
from ..theorem import Theorem

__all__ = ["THETA", "LK22_IDENTITIES"]

#: θ = 1 − (1 − ξ)^p.
THETA = 1 - (1 - xi)**p
LOSS_INCREASE = xi * (1 - xi) / m * S
BIAS_COEFFICIENT = THETA * (1 - xi) / m
CATEGORICAL_VARIANCE = (p - 1) / p**2 * S / m

_CLAIMS = (
    Claim("theta = xi for a single subnetwork (p = 1)",
          lambda P: _claims.equal(THETA.subs(p, 1), xi)),
    Claim("theta = 1 at xi = 1", lambda P: _claims.equal(THETA.subs(xi, 1), 1)),
    Claim("theta does not decrease with p", lambda P: _claims.nondecreasing(THETA, p)),
    Claim("theta does not decrease with xi", lambda P: _claims.nondecreasing(THETA, xi)),
    Claim("the gradient bias and the sampling loss increase vanish at xi = 1",
          lambda P: _claims.all_of(_claims.is_zero(BIAS_COEFFICIENT.subs(xi, 1)),
                                   _claims.is_zero(LOSS_INCREASE.subs(xi, 1)))),
    Claim("the categorical variance vanishes at p = 1",
          lambda P: _claims.is_zero(CATEGORICAL_VARIANCE.subs(p, 1))),
)

LK22_IDENTITIES = Theorem(
    name="exact.lk22_identities",
    citation="Liao & Kyrillidis (TMLR 2022, arXiv 2112.02668), Algorithm 1; identities derived "
             "exactly from the definitions (docs/theory.md §5)",
    provenance="EXACT", confidence="high",
    hypotheses=(xi <= 1,),
    expressions={
        "theta": THETA,
        "mean_scale": xi,
        "loss_increase": LOSS_INCREASE,
        "gradient_scale": THETA,
        "bias_coefficient": BIAS_COEFFICIENT,
        "categorical_variance": CATEGORICAL_VARIANCE,
    },
    claims=_CLAIMS,
    notes="S = Σ_r ‖σ(X w_r)‖²; categorical masks: set xi = 1/p where θ or ξ appear.",
)
