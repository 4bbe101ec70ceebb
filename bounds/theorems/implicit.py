"""What Algorithm 1 optimises and what sets its plateau (docs/theory.md §8) — [DERIVED].

Not a theorem of LK22: a model derived for this project, first order in the step η and in the
lazy (linear-response) regime, checked by Monte Carlo (docs/theory.md §8; ``ntkcheck.plateau``
evaluates it on data).  With θ = 1 − (1 − ξ)^p (:data:`bounds.theorems.exact.THETA`):

* the expected global step is gradient descent on the implicit objective
  G = ‖y − ξf‖² + ξ(1 − ξ)P with step ``implicit_step`` = ητθ/(2ξ) (§8.2);
* G is the tracked loss plus ``loss_gap`` = ξ(1 − ξ)P, a ridge of weight ``ridge_weight`` =
  (1 − ξ)/ξ on the per-neuron contributions (§8.1);
* the mask noise of the plateau is Σ_i ``noise_mode`` over the eigenpairs (h_i, v_i) of H(W),
  with ``mode_gain`` A_i = 1 − (1 − ηξh_i)^τ and q_i = v_iᵀ Q v_i (§8.3).
"""

from __future__ import annotations

from .. import _claims
from .._reports import Claim
from ..symbols import P_W, eta, h, p, q, tau, xi
from ..theorem import Theorem
from .exact import THETA

__all__ = ["IMPLICIT_STEP", "RIDGE_WEIGHT", "LOSS_GAP", "MODE_GAIN", "NOISE_MODE", "IMPLICIT"]

IMPLICIT_STEP = eta * tau * THETA / (2 * xi)
RIDGE_WEIGHT = (1 - xi) / xi
LOSS_GAP = xi * (1 - xi) * P_W
MODE_GAIN = 1 - (1 - eta * xi * h) ** tau
# the denominator p (2 − θ A), written so that it prints and parses back to the same tree
NOISE_MODE = THETA * MODE_GAIN * xi * (1 - xi) * q / (p * (2 + ((1 - xi) ** p - 1) * MODE_GAIN))

_CLAIMS = (
    Claim("at xi = 1, p = 1 the implicit step is eta tau / 2 (gradient descent on ||y - f||^2)",
          lambda P: _claims.equal(IMPLICIT_STEP.subs({xi: 1, p: 1}), eta * tau / 2)),
    Claim("the mask noise of every mode vanishes at xi = 1", lambda P: _claims.is_zero(NOISE_MODE.subs(xi, 1))),
    Claim("G equals the tracked loss at xi = 1 (no ridge)",
          lambda P: _claims.all_of(_claims.is_zero(LOSS_GAP.subs(xi, 1)), _claims.is_zero(RIDGE_WEIGHT.subs(xi, 1)))),
    Claim("the ridge weight (1 - xi)/xi decreases as xi grows", lambda P: _claims.decreasing(RIDGE_WEIGHT, xi)),
    Claim("the noise of a mode is proportional to q (so to kappa^2 in the lazy regime)",
          lambda P: _claims.equal(NOISE_MODE.subs(q, 2 * q), 2 * NOISE_MODE)),
)

IMPLICIT = Theorem(
    name="liao2022.implicit",
    citation="Derived for ntkcheck from Liao & Kyrillidis (TMLR 2022, arXiv 2112.02668), Algorithm 1 "
             "and identities 3-4 (docs/theory.md §8): first order in eta, lazy regime; not a theorem "
             "of the paper",
    provenance="DERIVED", confidence="medium",
    hypotheses=(xi <= 1,),
    expressions={
        "theta": THETA,
        "implicit_step": IMPLICIT_STEP,
        "ridge_weight": RIDGE_WEIGHT,
        "loss_gap": LOSS_GAP,
        "mode_gain": MODE_GAIN,
        "noise_mode": NOISE_MODE,
    },
    claims=_CLAIMS,
    notes="[DERIVED] model, checked by Monte Carlo to about 10 % where the bias has converged "
          "(docs/theory.md §8.3); ntkcheck.predict_plateau evaluates it on data. Categorical masks: "
          "xi = 1/p, theta = 1, noise 0 at this order (docs/plateau.md).",
)
