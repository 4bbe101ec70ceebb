"""liao2022.implicit: the [DERIVED] plateau model of docs/theory.md §8 as a bounds object,
evaluable like the others, clearly apart from PAPER/STRUCT, and equal to ntkcheck.predict_plateau."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import bounds
from ntkcheck import init_network, ntk_finite, predict_plateau
from ntkcheck.data import load_dataset


def test_registered_as_derived_with_claims_that_hold():
    thm = bounds.get("liao2022.implicit")
    assert thm.provenance == "DERIVED" and "not a theorem" in thm.citation
    assert "liao2022.implicit" in bounds.names()
    verdicts = thm.check_claims()
    assert len(verdicts) == 5 and all(v is True for v in verdicts.values()), verdicts
    # the claims can fail: a wrong model (noise not vanishing at xi = 1) is caught
    from bounds.symbols import xi

    assert sp.simplify(thm.expressions["noise_mode"].subs(xi, 1)) == 0
    assert sp.simplify((thm.expressions["noise_mode"] + xi - 1).subs(xi, sp.Rational(1, 2))) != 0


def test_the_numeric_model_is_the_symbolic_one():
    """predict_plateau's step and noise are liao2022.implicit's implicit_step and sum of noise_mode."""
    thm = bounds.get("liao2022.implicit")
    ds = load_dataset("sphere:n=15,d=4,seed=2")
    net = init_network(4, 80, kappa=0.7, rng=3)
    eta, tau, p, xi = 0.05, 3, 2, 0.6
    pred = predict_plateau(ds.X, ds.y, net, scheme="bernoulli", eta=eta, global_steps=5, local_steps=tau, p=p, xi=xi)
    assert pred.step == pytest.approx(thm.evaluate("implicit_step", eta=eta, tau=tau, p=p, xi=xi), rel=1e-13)
    W = np.asarray(pred.W)
    H = ntk_finite(ds.X, W)
    hs, V = np.linalg.eigh(H)
    Sg = np.maximum(ds.X @ W.T, 0.0)
    Q = Sg @ Sg.T / W.shape[0]
    qs = np.einsum("ij,ik,kj->j", V, Q, V)
    noise = sum(thm.evaluate("noise_mode", eta=eta, tau=tau, p=p, xi=xi, h=max(hi, 0.0), q=max(qi, 0.0))
                for hi, qi in zip(hs, qs))
    assert pred.noise == pytest.approx(noise, rel=1e-8)


def test_derived_is_listed_apart_from_paper_and_struct(capsys):
    from ntkcheck.cli import main

    assert main(["bounds", "list", "--provenance", "DERIVED"]) == 0
    out = capsys.readouterr().out
    assert "liao2022.implicit" in out and "du2019.thm4_1" not in out
