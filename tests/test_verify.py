"""ntkcheck.verify: theorem predictions at numbers, contraction fits, exact identities."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ntkcheck import init_network, train
from ntkcheck._identities import identity_samples
from ntkcheck.data import sphere
from ntkcheck.verify import check_theorem, compare_run, fit_contraction, measure_identities, plateau

from .conftest import MC_SIGMAS, RTOL_EXACT


def test_check_theorem_values_and_shortfall_by_hand():
    n, lam0, delta, m, eta = 10, 0.5, 0.1, 1000, 0.01
    chk = check_theorem("du2019.thm4_1", n=n, lambda_0=lam0, delta=delta, m=m, eta=eta, r0=3.0,
                        unrelated=5.0)
    width = n**6 / (lam0**4 * delta**3)
    assert chk.values["width"] == pytest.approx(width, rel=RTOL_EXACT)
    assert chk.values["step_size"] == pytest.approx(lam0 / n**2, rel=RTOL_EXACT)
    assert chk.values["rate"] == pytest.approx(1 - eta * lam0 / 2, rel=RTOL_EXACT)
    assert chk.values["radius_movement"] == pytest.approx(4 * math.sqrt(n) * 3.0 / (math.sqrt(m) * lam0))
    req = {r.variable: r for r in chk.requirements}
    assert req["m"].status == "violated" and req["m"].factor == pytest.approx(width / m, rel=RTOL_EXACT)
    assert req["eta"].status == "violated" and req["eta"].factor == pytest.approx(eta / (lam0 / n**2))
    assert not chk.passed and "unrelated" not in chk.inputs
    ok = check_theorem("du2019.thm4_1", n=n, lambda_0=lam0, delta=delta, m=int(width) + 1, eta=1e-4)
    assert ok.passed and all(r.status == "satisfied" for r in ok.requirements)


def test_check_theorem_missing_values_are_reported_not_raised():
    chk = check_theorem("du2019.thm4_1", n=10, lambda_0=0.5)
    assert "width" in chk.unavailable and "delta" in chk.unavailable["width"]
    assert chk.passed  # undecided hypotheses do not fail
    with pytest.raises(KeyError, match="unknown theorem"):
        check_theorem("no.such_theorem")


def test_fit_contraction_recovers_a_geometric_rate():
    k = np.arange(50)
    assert fit_contraction(3.0 * 0.9**k)["factor"] == pytest.approx(0.9, rel=1e-12)
    L = 3.0 * 0.8**k + 1e-3  # reaches a plateau: only the initial phase is fitted
    fit = fit_contraction(L)
    assert fit["k_end"] < 40 and fit["factor"] == pytest.approx(0.8, rel=0.05)
    assert plateau(np.r_[np.ones(9) * 5, 2.0]) == 2.0


@pytest.mark.parametrize("kind, xi, p", [("bernoulli", 0.4, 3), ("categorical", 1 / 3, 3), ("bernoulli", 1.0, 1)])
def test_identities_are_consistent(kind, xi, p):
    ds = sphere(12, 4, rng=0)
    net = init_network(4, 60, rng=1)
    W = train(ds.X, ds.y, net, scheme="gd", eta=0.5, global_steps=2).W  # a generic W_k
    res = measure_identities(ds.X, ds.y, np.asarray(W), net.a, kind=kind, xi=xi, p=p, tau=2, eta=0.3,
                             samples=1500, rng=2)
    names = {r["identity"] for r in res}
    assert {"1", "2", "3", "4", "engine"} <= names
    if kind == "categorical":
        assert {"5a", "5b", "5c", "6"} <= names
    if p == 1 and xi == 1.0:
        assert "7" in names
    bad = [r for r in res if r["ok"] is False]  # None: skipped with its reason (e.g. §8.2)
    assert not bad, bad


def test_identity_test_has_power():
    # Dropping the xi(1-xi)/m S term of identity 3 must be detected by many standard errors.
    ds = sphere(12, 4, rng=0)
    net = init_network(4, 60, rng=1)
    raw = identity_samples(ds.X, ds.y, net.W, net.a, kind="bernoulli", xi=0.5, p=1, tau=1, eta=0.1,
                           samples=1500, rng=3)
    item = next(i for i in raw["items"] if i["identity"] == "3")
    s = item["samples"]
    z = abs(s.mean() - item["base"]) / (s.std(ddof=1) / math.sqrt(s.size))
    assert z > 3 * MC_SIGMAS


def test_compare_run_fields():
    from ntkcheck.unit import run_seed

    run = run_seed(dict(data="sphere:n=16,d=4,seed=0", m=200, scheme="gd", eta=0.5, steps=30,
                        record="standard", identity_samples=0), seed=1)
    tr = run.result.trajectory
    out = compare_run([run.summary], theorem="du2019.thm4_1",
                      values=dict(n=16, lambda_0=0.05, delta=0.1, m=200, eta=0.5))
    assert set(out) >= {"theorem", "contraction", "envelope", "plateau", "movement", "lambda_min"}
    assert out["contraction"]["predicted_rate"] == pytest.approx(1 - 0.5 * 0.05 / 2)
    assert 0 < out["contraction"]["measured_mean"] < 1
    # measured quantities are the summary's, which are defined from the full trajectory
    assert out["movement"]["max"] == float(tr.max_movement.max())
    assert out["lambda_min"]["min_full"] == float(tr.lam_min_full.min())
    assert out["contraction"]["measured_per_seed"] == [fit_contraction(tr.loss)["factor"]]
    assert out["plateau"]["measured_per_seed"] == [plateau(tr.loss)]


def test_dzps19_rate_comes_from_bounds():
    import bounds
    from ntkcheck.verify import dzps19_rate

    thm = bounds.get("du2019.thm4_1")
    for eta, lam0 in ((0.5, 0.2), (1e-3, 3.0), (2.0, 0.01)):
        assert dzps19_rate(eta, lam0) == pytest.approx(thm.evaluate("rate", eta=eta, lambda_0=lam0), rel=1e-15)


def test_identity_8_2_is_measured_at_small_eta_and_skipped_with_its_reason_otherwise():
    from ntkcheck.plateau import implicit_objective

    ds = sphere(20, 4, rng=0)
    net = init_network(4, 120, rng=1)
    W = np.asarray(train(ds.X, ds.y, net, scheme="gd", eta=0.5, global_steps=2).W)
    kw = dict(kind="bernoulli", xi=0.5, p=2, tau=3, samples=400, rng=3)
    small = {i["identity"]: i for i in measure_identities(ds.X, ds.y, W, net.a, eta=1e-4, **kw)}
    it = small["8.2"]
    assert it["ok"] is True and it["samples"] == 400 and it["components"] == 2
    # the expected projections: -(eta tau theta/(2 xi)) <grad G, D> with D = (grad G, identity 4's V)
    from ntkcheck import Network
    from ntkcheck._identities import _implicit_step
    from ntkcheck.masks import sample_masks

    _, grad = implicit_objective(ds.X, ds.y, Network(W=W, a=net.a, kappa=1.0), xi=0.5)
    M = sample_masks(120, 2, xi=0.5, steps=4, rng=0)
    raw = _implicit_step(ds.X, ds.y, W, net.a, M, "bernoulli", 0.5, 2, 3, 1e-4, np.ones_like(W))
    step = 1e-4 * 3 * (1 - 0.5**2) / (2 * 0.5)
    np.testing.assert_allclose(raw["expected"], [-step * np.sum(grad * grad), -step * np.sum(grad)], rtol=1e-12)
    assert raw["samples"].shape == (4, 2)
    large = {i["identity"]: i for i in measure_identities(ds.X, ds.y, W, net.a, eta=0.5, **kw)}
    assert large["8.2"]["ok"] is None and "not measured" in large["8.2"]["note"]
    tau1 = {i["identity"]: i for i in measure_identities(ds.X, ds.y, W, net.a, eta=1e-4, **dict(kw, tau=1))}
    assert tau1["8.2"]["ok"] is None and "identity 4" in tau1["8.2"]["note"]
