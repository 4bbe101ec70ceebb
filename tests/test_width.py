"""The width search (ntkcheck.width), the scaling fit (ntkcheck.scaling) and ``ntkcheck width``.

The search is checked on planted thresholds (exactly found), the decision rule and the
Clopper–Pearson intervals against the beta-quantile formula, each conclusion's predicate against
a naive recomputation from the definitions (tests/reference*.py), and the bootstrap interval of
the scaling exponent by its coverage on synthetic m*(n) data with a known exponent.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta

from ntkcheck import init_network
from ntkcheck.cli import main
from ntkcheck.data import load_dataset, subset_rows
from ntkcheck.scaling import bootstrap_mstar, fit_scaling, parse_scale
from ntkcheck.unit import seed_streams
from ntkcheck.verify import predicted_widths
from ntkcheck.width import (CONCLUSIONS, WidthSearch, canonical_width_params, clopper_pearson, find_width,
                            rate_horizon, run_conclusion, search_width)
from tests import reference as ref
from tests.reference_train import plain_gd

TINY = "sphere:n=12,d=5,seed=0"


# ----------------------------------------------------------------------------- the search


@settings(max_examples=60, deadline=None)
@given(threshold=st.integers(1, 5000), m_start=st.integers(1, 300))
def test_the_search_finds_a_planted_threshold_exactly(threshold, m_start):
    calls = []

    def evaluate(m):
        calls.append(m)
        return [m >= threshold] * 3

    s = search_width(evaluate, delta=0.1, m_start=m_start, tolerance=0)
    assert s.m_star == threshold
    assert s.bracket == (threshold - 1, threshold)
    assert s.status == "found"
    assert len(calls) == len(set(calls))  # no width is evaluated twice
    assert len(calls) <= 2 * math.log2(max(threshold, m_start) + 1) + 4


def test_tolerance_stops_the_bisection_at_the_relative_resolution():
    s = search_width(lambda m: [m >= 1000], m_start=16, tolerance=0.1)
    lo, hi = s.bracket
    assert lo < 1000 <= hi and hi / lo <= 1.1 and s.m_star == hi


def test_not_found_up_to_m_max():
    s = search_width(lambda m: [False], m_start=16, m_max=100)
    assert s.m_star is None and s.status == "not_found" and s.bracket == (100, None)
    assert [v.m for v in s.levels] == [16, 32, 64, 100]


def test_the_decision_is_the_empirical_probability_against_one_minus_delta():
    outcomes = {8: [True] * 8 + [False] * 2, 16: [True] * 9 + [False], 4: [False] * 10}
    s = search_width(lambda m: outcomes.get(m, [True] * 10), delta=0.1, m_start=8, tolerance=1.0)
    by = {v.m: v for v in s.levels}
    assert not by[8].holds and by[16].holds  # 8/10 < 0.9 <= 9/10
    assert s.m_star == 16 and by[16].successes == 9 and by[16].trials == 10
    # delta = 0.2 accepts 8 of 10 (and 0.8 is not rounded away: 0.8*10 = 8.000000000000002)
    s2 = search_width(lambda m: outcomes.get(m, [True] * 10), delta=0.2, m_start=8, tolerance=1.0)
    assert {v.m: v.holds for v in s2.levels}[8]


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (7, 20), (1, 1)])
def test_clopper_pearson_matches_the_beta_quantiles(k, n):
    lo, hi = clopper_pearson(k, n, 0.95)
    lo_ref = 0.0 if k == 0 else beta.ppf(0.025, k, n - k + 1)
    hi_ref = 1.0 if k == n else beta.ppf(0.975, k + 1, n - k)
    assert lo == pytest.approx(lo_ref, abs=1e-10) and hi == pytest.approx(hi_ref, abs=1e-10)


@pytest.mark.parametrize("kwargs,match", [
    (dict(delta=1.5), "delta"), (dict(m_start=0), "m_start"), (dict(tolerance=-1.0), "tolerance"),
    (dict(m_start=64, m_max=8), "m_max")])
def test_search_settings_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        search_width(lambda m: [True], **kwargs)


# ----------------------------------------------------------------------------- the scaling fit


def test_the_bootstrap_interval_covers_a_known_exponent_on_replicate_data():
    gen = np.random.default_rng(1)
    ns = np.array([50, 100, 200, 400])
    covered = 0
    for _ in range(100):
        reps = [3.0 * n**1.7 * np.exp(0.3 * gen.standard_normal(6)) for n in ns]
        fit = fit_scaling(ns, reps, n_boot=400, rng=gen)
        covered += fit.b_ci[0] <= 1.7 <= fit.b_ci[1]
    assert covered >= 85  # nominal 95 %; the percentile bootstrap on 6 replicates is a little narrow


def test_the_bootstrap_interval_covers_a_known_exponent_through_the_search():
    """Each seed has its own threshold c n^b e^{σz}; the search runs on them and the fit's interval
    covers b (seed noise redrawn at every width, threshold placed inside its bracket)."""
    gen = np.random.default_rng(2)
    ns = [40, 80, 160, 320]
    covered, trials = 0, 30
    for _ in range(trials):
        searches = []
        for n in ns:
            thresholds = 2.0 * n**1.3 * np.exp(0.25 * gen.standard_normal(10))
            searches.append(search_width(lambda m, t=thresholds: list(m >= t), delta=0.1, m_start=8,
                                         tolerance=0.1))
        fit = fit_scaling(ns, searches, n_boot=300, rng=gen)
        covered += fit.b_ci[0] <= 1.3 <= fit.b_ci[1]
    assert covered >= 0.8 * trials


def test_bootstrap_draws_stay_inside_the_evaluated_widths():
    s = search_width(lambda m: [m >= 100] * 9 + [m >= 150], m_start=16, tolerance=0.05)
    draws = bootstrap_mstar(s, 500, 0)
    assert np.all(draws[np.isfinite(draws)] > min(v.m for v in s.levels) - 1e-9)
    assert np.all(draws[np.isfinite(draws)] <= max(v.m for v in s.levels) + 1e-9)


def test_fit_with_lambda_term_recovers_both_exponents():
    ns = np.array([25, 50, 100, 200, 400])
    lam = 0.5 * ns**-0.4 * np.array([1.0, 1.1, 0.9, 1.05, 0.97])  # varies, not exactly collinear with n
    m = 7.0 * ns**1.2 * lam**-2.0
    fit = fit_scaling(ns, [[v] * 3 for v in m], lam0s=lam, rng=0, n_boot=50)
    assert fit.b_with_lambda == pytest.approx(1.2, abs=1e-8) and fit.c == pytest.approx(-2.0, abs=1e-8)


@pytest.mark.parametrize("text,match", [("n=50", "two distinct"), ("n=50,50", "two distinct"), ("m=5,6", "n=50"),
                                        ("n=a,b", "integers"), ("n=1,5", "at least 2"), ("", "n=50")])
def test_parse_scale_refuses_bad_lists(text, match):
    with pytest.raises(ValueError, match=match):
        parse_scale(text)


def test_fit_scaling_refuses_one_size_and_bad_measurements():
    with pytest.raises(ValueError, match="two distinct"):
        fit_scaling([50, 50], [[1.0], [2.0]])
    with pytest.raises(ValueError, match="positive"):
        fit_scaling([50, 100], [[1.0], [-2.0]])


# ----------------------------------------------------------------------------- the conclusions on one run


def _lam0(X):
    return float(np.linalg.eigvalsh(ref.ntk_infinite(X))[0])


def test_concentration_predicate_matches_the_definition():
    ds = load_dataset(TINY)
    for m, seed in ((64, 3), (4096, 5)):
        out = run_conclusion({"data": TINY, "conclusion": "concentration", "m": m}, seed)
        net = init_network(ds.d, m, rng=seed_streams(seed)[0])
        dev = np.abs(np.linalg.eigvalsh(ref.ntk_finite(ds.X, net.W) - ref.ntk_infinite(ds.X))).max()
        lam0 = _lam0(ds.X)
        assert out["value"] == pytest.approx(dev, rel=1e-9)
        assert out["threshold"] == pytest.approx(lam0 / 4, rel=1e-9)
        assert out["holds"] == (dev <= lam0 / 4)
        assert (out["margin"] >= 1) == out["holds"]


def test_rate_predicate_matches_naive_gradient_descent():
    ds = load_dataset(TINY)
    m, seed, eta, K = 20, 11, 0.3, 15
    out = run_conclusion({"data": TINY, "conclusion": "rate", "m": m, "eta": eta, "steps": K}, seed)
    net = init_network(ds.d, m, rng=seed_streams(seed)[0])
    W = np.array(net.W)
    lam0 = _lam0(ds.X)
    losses = []
    for _ in range(K + 1):
        u = np.maximum(ds.X @ W.T, 0) @ net.a / math.sqrt(m)
        losses.append(float(np.sum((ds.y - u) ** 2)))
        W = plain_gd(ds.X, ds.y, W, net.a, eta, 1)
    losses = np.array(losses)
    bound = losses[0] * (1 - eta * lam0 / 2) ** np.arange(K + 1)
    assert out["holds"] == bool(np.all(losses <= bound * (1 + 1e-9)))
    k = int(np.argmin(bound / losses))
    assert out["worst_step"] == k and out["margin"] == pytest.approx(bound[k] / losses[k], rel=1e-8)


@pytest.mark.parametrize("m", [4, 30, 400])
def test_lambda_min_predicate_matches_the_kernel_along_training(m):
    ds = load_dataset(TINY)
    seed, eta, K = 4, 0.2, 6
    out = run_conclusion({"data": TINY, "conclusion": "lambda_min", "m": m, "eta": eta, "steps": K}, seed)
    net = init_network(ds.d, m, rng=seed_streams(seed)[0])
    W = np.array(net.W)
    lams = []
    for _ in range(K + 1):
        lams.append(np.linalg.eigvalsh(ref.ntk_finite(ds.X, W))[0])
        W = plain_gd(ds.X, ds.y, W, net.a, eta, 1)
    lam0 = _lam0(ds.X)
    assert out["threshold"] == pytest.approx(lam0 / 2, rel=1e-10)
    assert abs(min(lams) - lam0 / 2) > 1e-9  # clear of the certificate's rounding margin
    assert out["holds"] == (min(lams) > lam0 / 2) and out["decided_by"] == "certificate"
    below = [k for k, v in enumerate(lams) if v <= lam0 / 2]
    assert out["worst_step"] == (below[0] if below else None)


def test_lambda_min_with_masks_uses_xi_lambda0_over_two():
    out = run_conclusion({"data": TINY, "conclusion": "lambda_min", "m": 64, "scheme": "dropout", "xi": 0.5,
                          "steps": 3}, 1)
    assert out["threshold"] == pytest.approx(0.5 * out["lam0"] / 2)


@pytest.mark.parametrize("params,match", [
    ({"conclusion": "speed"}, "conclusion"),
    ({"conclusion": "rate", "scheme": "dropout"}, "gd"),
    ({"conclusion": "lambda_min", "record": "loss"}, "record"),
    ({"conclusion": "lambda_min", "eta": "theorem"}, "rate"),
    ({"conclusion": "rate", "rows": 1}, "rows"),
    ({"conclusion": "lambda_min", "scheme": "dropout", "steps": 0}, "steps"),
    ({"conclusion": "rate", "m": 0}, "m")])
def test_width_parameters_are_checked(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        canonical_width_params({"data": TINY, "m": 8, **params})


def test_concentration_runs_ignore_training_parameters():
    a = canonical_width_params({"data": TINY, "m": 8, "conclusion": "concentration", "steps": 5})
    b = canonical_width_params({"data": TINY, "m": 8, "conclusion": "concentration", "eta": 0.1})
    assert a == b


def test_rate_horizon_reaches_the_target_fraction():
    K, note = rate_horizon(0.2, 0.1)
    assert (1 - 0.01) ** K <= 1e-3 < (1 - 0.01) ** (K - 1) and "0.001" in note


def test_subsets_are_nested_and_bounded():
    ds = load_dataset("sphere:n=30,d=4,seed=0")
    a, b = subset_rows(ds, 10), subset_rows(ds, 20)
    assert np.array_equal(a.X, b.X[:10]) and np.array_equal(a.y, b.y[:10])
    with pytest.raises(ValueError, match="rows"):
        subset_rows(ds, 31)


def test_predicted_widths_refuse_a_theorem_without_width():
    with pytest.raises(ValueError, match="width"):
        predicted_widths(["du2019.lemma3_2"], {})
    preds = predicted_widths(CONCLUSIONS["rate"].theorems, {"n": 10, "lambda_0": 0.1, "delta": 0.1})
    by = {p["theorem"]: p for p in preds}
    assert by["du2019.thm4_1"]["width"] == pytest.approx(10**6 / (0.1**3 * 0.1**4))
    assert by["du2019.thm4_1"]["n_exponent"] == 6 and by["song_yang2019.thm"]["n_exponent"] == 4
    assert by["arora2019.thm4_1"]["width"] is None and "epsilon" in by["arora2019.thm4_1"]["missing"]


# ----------------------------------------------------------------------------- on data, through the store


def test_find_width_on_data_and_resume(tmp_path):
    store = tmp_path / "store"
    r = find_width(TINY, "concentration", seeds=4, m_start=64, out=store, workers=0, tolerance=0.5)
    assert r.status == "found" and r.m_star == r.bracket[1]
    by = {v.m: v for v in r.levels}
    assert by[r.m_star].holds and (r.bracket[0] == 0 or not by[r.bracket[0]].holds)
    assert r.runs == 4 * len(r.levels) and r.runs_executed == r.runs
    assert r.theorems[0]["theorem"] == "du2019.lemma3_1" and r.theorems[0]["ratio"] > 0
    # a resumed search replays every decision from the store and runs nothing
    again = find_width(TINY, "concentration", seeds=4, m_start=64, out=store, workers=0, tolerance=0.5, resume=True)
    assert again.runs_executed == 0 and again.m_star == r.m_star and again.levels == r.levels
    # a lost record is the only run redone
    victim = sorted((store / "runs").rglob("*.json"))[0]
    os.remove(victim)
    third = find_width(TINY, "concentration", seeds=4, m_start=64, out=store, workers=0, tolerance=0.5, resume=True)
    assert third.runs_executed == 1 and third.m_star == r.m_star


def test_cli_width_writes_the_json_and_report(tmp_path, capsys):
    out = tmp_path / "w"
    code = main(["width", TINY, "--conclusion", "rate", "--seeds", "3", "--m-start", "4", "--workers", "0",
                 "--out", str(out), "--json", str(tmp_path / "w.json"), "--quiet", "--steps", "30"])
    assert code == 0
    data = json.loads((tmp_path / "w.json").read_text())
    assert data["conclusion"] == "rate" and data["m_star"] == data["bracket"][1]
    assert {t["theorem"] for t in data["theorems"]} >= {"du2019.thm4_1", "song_yang2019.thm"}
    assert all("width" in t for t in data["theorems"])
    for name in ("summary.md", "summary.html", "summary.json", "figures/probability.png"):
        assert (out / name).is_file()
    assert "m* =" in capsys.readouterr().out
    # the store is a sweep store that sweep-status reads
    assert main(["sweep-status", str(out / "store")]) == 0


def test_cli_width_scale_fits_the_exponent(tmp_path, capsys):
    out = tmp_path / "s"
    code = main(["width", "sphere:n=16,d=4,seed=0", "--conclusion", "concentration", "--scale", "n=8,16",
                 "--seeds", "3", "--m-start", "256", "--tolerance", "0.5", "--workers", "0", "--boot", "50",
                 "--out", str(out), "--quiet"])
    assert code == 0
    data = json.loads((out / "summary.json").read_text())
    assert data["kind"] == "scaling" and len(data["results"]) == 2
    assert data["fit"]["ns"] == [8, 16] and data["fit"]["b_ci"][0] <= data["fit"]["b_ci"][1]
    assert (out / "figures" / "scaling.png").is_file()
    assert "scaling: m* ~ n^" in capsys.readouterr().out


@pytest.mark.parametrize("argv,match", [
    (["width", "--conclusion", "rate"], "DATA|data"),
    (["width", TINY, "--conclusion", "speed"], "conclusion"),
    (["width", TINY, "--conclusion", "rate", "--scale", "n=10"], "two distinct"),
    (["width", TINY, "--conclusion", "rate", "--theorem", "du2019.lemma3_2"], "width"),
    (["width", TINY, "--conclusion", "rate", "--theorem", "nope.thm"], "nope"),
    (["width", TINY, "--conclusion", "rate", "--scale", "n=10,100"], "12 points"),
    (["width", TINY, "--conclusion", "rate", "--eta", "fast"], "eta"),
    (["width", TINY, "--conclusion", "rate", "--scheme", "dropout"], "gd"),
    (["width", "no/such/file.npz", "--conclusion", "rate"], "file"),
])
def test_cli_width_bad_input_is_one_line_exit_2(argv, match, tmp_path, capsys):
    with pytest.raises(SystemExit) if "--conclusion" not in argv or "speed" in argv or argv[1] == "--conclusion" \
            else _no_raise():
        code = main(argv + ["--out", str(tmp_path / "o"), "--quiet"])
        assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    import re
    assert re.search(match, err), err
    assert not (tmp_path / "o" / "store").exists()  # refused before any run


def test_cli_width_refuses_a_folder_with_user_files(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    code = main(["width", TINY, "--conclusion", "concentration", "--out", str(tmp_path), "--quiet"])
    assert code == 2 and (tmp_path / "mine.txt").read_text() == "keep me"


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_width_search_json_roundtrip_types():
    s = search_width(lambda m: [m >= 5], m_start=2, tolerance=0)
    assert isinstance(s, WidthSearch)
    json.dumps(s.to_dict())
