"""reproduce_liao2022 at a tiny size: files, and verdicts that follow the stated rules from the data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from ntkcheck.reproduce import RULES, SIZES, reproduce_liao2022
from ntkcheck.store import Store
from ntkcheck.unit import RunSummary, run_seed

ROOT = Path(__file__).resolve().parents[1]

TINY = dict(n=16, d=6, m=64, seeds=2, a_local_iterations=24, b_steps=30, xis=(0.25, 0.5, 1.0), ps=(1, 2),
            kappas=(1.0, 0.1, 0.01), k_xis=(0.25, 0.75), cd_steps=10, widths=(32, 64, 128), cat_ps=(1, 2, 4),
            ntk_widths=(64, 256, 1024), ntk_seeds=2, width_ns=(8, 16), width_seeds=3, width_m_start=8)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("lk22")
    return out, reproduce_liao2022(out, quick=True, progress=False, sizes=TINY, workers=0)


def test_files_and_summary_schema(tiny):
    out, summary = tiny
    assert summary["status"] == "completed"
    assert json.loads((out / "summary.json").read_text())["claims"] == summary["claims"]
    ids = [c["id"] for c in summary["claims"]]
    assert ids == ["a", "b_xi", "kappa", "c", "d", "ntk", "width"]
    assert [c["id"] for c in summary["claims"][0]["extra_checks"]] == ["lambda_min", "movement"]
    assert [c["id"] for c in summary["claims"][1]["extra_checks"]] == ["b_p"]
    claims = summary["claims"] + [e for c in summary["claims"] for e in c.get("extra_checks", [])]
    for c in claims:
        assert c["rule"] == RULES[c["id"]]
        assert c["verdict"] in ("reproduced", "not reproduced", "holds", "does not hold", "conservative", "not shown")
        for f in c["figures"]:
            assert (out / f).exists() and (out / f.replace(".png", ".pdf")).exists()
    md = (out / "summary.md").read_text()
    html = (out / "summary.html").read_text()
    for c in summary["claims"]:
        assert c["verdict"] in md and c["claim"] in html
    assert "<img src=\"figures/fig2b_heatmap_xi_p.png\"" in html
    assert len(summary["regimes"]) == 5 and "kappa*" in summary["regimes"][1] and summary["regimes"][1] in md
    assert summary["regimes"][3].startswith("width (lambda_min)") and summary["regimes"][4].startswith("width (rate)")


def test_panels_run_in_the_papers_regime(tiny):
    """(a) at eta = 0.1/lambda_max, kappa = 0.1, tau = 4 over 160/tau... global steps; (b) at kappa = 0.1."""
    out, summary = tiny
    lam_max = summary["lambda_max"]
    recs = list(Store(out / "store").scan().records.values())
    a = [r["params"] for r in recs if r["params"]["record"] == "standard"]
    assert a and all(p["kappa"] == 0.1 and p["local_steps"] == 4 and p["steps"] == 24 // 4 for p in a)
    assert all(p["eta"] == pytest.approx(0.1 / lam_max, rel=1e-15) for p in a)
    b = [r for r in recs if r["params"]["predict"] and r["params"]["kappa"] == 0.1]
    assert {(r["params"]["xi"], r["params"]["p"]) for r in b} >= {(xi, p) for xi in TINY["xis"] for p in TINY["ps"]}
    assert all(r["result"]["predicted_plateau"] is not None for r in b)


def test_verdicts_follow_the_rules_from_the_raw_data(tiny):
    out, summary = tiny
    claims = {c["id"]: c for c in summary["claims"]}
    claims.update({e["id"]: e for c in summary["claims"] for e in c.get("extra_checks", [])})
    z = np.load(out / "data" / "fig2b.npz")  # error (p, xi, seed)
    E = z["error"]
    x_xi = np.broadcast_to(z["xis"][None, :, None], E.shape).ravel()
    x_p = np.broadcast_to(z["ps"][:, None, None], E.shape).ravel()
    rho, pv = spearmanr(x_xi, E.ravel())
    assert claims["b_xi"]["statistics"]["spearman_xi"] == pytest.approx(rho)
    assert (claims["b_xi"]["verdict"] == "reproduced") == (rho < 0 and pv < 0.05)
    keep = x_xi < 1
    rho_p, pv_p = spearmanr(x_p[keep], E.ravel()[keep])
    assert claims["b_p"]["statistics"]["spearman_p"] == pytest.approx(rho_p)
    assert (claims["b_p"]["verdict"] == "reproduced") == (rho_p < 0 and pv_p < 0.05)
    z = np.load(out / "data" / "kappa_panel.npz")
    for key, field in (("error", "slope"), ("predicted", "predicted_slope")):
        slopes = [np.polyfit(z["xis"], np.log(z[key][i].mean(axis=1)), 1)[0] for i in range(len(z["kappas"]))]
        np.testing.assert_allclose(z[field], slopes, rtol=1e-10)
    assert (claims["kappa"]["verdict"] == "holds") == bool(np.all(np.sign(z["slope"]) == np.sign(z["predicted_slope"])))
    z = np.load(out / "data" / "fig2d.npz")
    rho, pv = spearmanr(np.repeat(z["ps"], z["contraction"].shape[1]), 1 - z["contraction"].ravel())
    assert claims["d"]["statistics"]["spearman_p"] == pytest.approx(rho)
    assert (claims["d"]["verdict"] == "reproduced") == (rho < 0 and pv < 0.05)
    z = np.load(out / "data" / "ntk_concentration.npz")
    slope = np.polyfit(np.log(z["widths"]), np.log(z["error"].mean(axis=1)), 1)[0]
    assert claims["ntk"]["statistics"]["slope"] == pytest.approx(slope)
    # width panel: m*(n) is the search's answer in each size's store, and the verdict follows the rule
    st = claims["width"]["statistics"]
    z = np.load(out / "data" / "width.npz")
    ok = True
    for name in ("lambda_min", "rate"):
        c = st["conclusions"][name]
        assert list(z[f"{name}_ns"]) == list(TINY["width_ns"]) == c["ns"]
        for n, m_star in zip(c["ns"], c["m_star"]):
            recs = Store(out / "width" / name / f"n={n}").scan().records.values()
            by = {}
            for r in recs:
                by.setdefault(r["params"]["m"], []).append(r["result"]["holds"])
            holding = [m for m, v in by.items() if sum(v) >= 0.9 * len(v) - 1e-9]
            failing = [m for m, v in by.items() if m not in holding]
            assert m_star == min(holding) and all(m < m_star for m in failing)
        slope = np.polyfit(np.log(c["ns"]), np.log(c["m_star"]), 1)[0]
        assert st[f"b_{name}"] == pytest.approx(slope)
        ok = ok and st[f"b_{name}_ci_upper"] < st[f"smallest_paper_exponent_{name}"]
    assert (claims["width"]["verdict"] == "conservative") == ok
    assert (claims["ntk"]["verdict"] == "holds") == (abs(slope + 0.5) <= 0.1)
    z = np.load(out / "data" / "fig2a.npz")
    # (a) from the raw records of the store: the panel's runs are those recording lambda_min
    recs = [r for r in Store(out / "store").scan().records.values() if r["params"]["record"] == "standard"]
    assert len(recs) == TINY["seeds"]
    up = np.mean([r["result"]["frac_up_at_sampling"] for r in recs])
    agg = np.mean([r["result"]["frac_down_at_aggregation"] for r in recs])
    L = np.array([r["result"]["loss"] for r in recs])
    assert np.array_equal(np.sort(L, axis=0), np.sort(z["loss"], axis=0))
    cv = np.median(L.std(axis=0, ddof=1) / L.mean(axis=0))
    st = claims["a"]["statistics"]
    assert st["up_at_sampling"] == pytest.approx(up) and st["down_at_aggregation"] == pytest.approx(agg)
    assert st["median_cv_across_seeds"] == pytest.approx(cv)
    ok = min(st["up_at_sampling"], st["down_during_local_steps"], st["down_at_aggregation"]) >= 0.9 and cv <= 0.1
    assert (claims["a"]["verdict"] == "reproduced") == ok
    extra = {c["id"]: c for c in claims["a"]["extra_checks"]}
    assert extra["lambda_min"]["statistics"]["min_lambda_min"] == pytest.approx(z["lam_min"].min())
    assert extra["movement"]["statistics"]["max_movement"] == pytest.approx(z["movement"].max())


def test_a_panel_run_is_the_unit_of_work_and_replays(tiny):
    """Every number of a panel is a sweep record's, which run_seed (= `ntkcheck run`) reproduces."""
    out, summary = tiny
    recs = Store(out / "store").scan().records.values()
    assert len(recs) == summary["runs"] and summary["runs_executed"] == summary["runs"]
    b = [r for r in recs if r["params"]["scheme"] == "bernoulli" and r["params"]["p"] == 2
         and r["params"]["xi"] == 0.5 and r["params"]["predict"] and r["params"]["kappa"] == 0.1]
    z = np.load(out / "data" / "fig2b.npz")
    i, j = list(z["ps"]).index(2), list(z["xis"]).index(0.5)
    assert sorted(z["error"][i, j]) == sorted(r["result"]["plateau"] for r in b)
    rec = b[0]
    assert run_seed(rec["params"], rec["seed"]).summary == RunSummary.from_dict(rec["result"])


def test_resume_after_sigkill_redoes_no_finished_run(tmp_path):
    out = tmp_path / "lk22"
    code = ("import sys; from ntkcheck.reproduce import reproduce_liao2022; "
            f"reproduce_liao2022(sys.argv[1], quick=True, progress=False, workers=0, sizes={TINY!r})")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], env=env)
    runs = out / "store" / "runs"
    deadline = time.time() + 120
    while time.time() < deadline and (not runs.is_dir() or len(list(runs.glob("*.json"))) < 5):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    assert 5 <= len(before)
    summary = reproduce_liao2022(out, quick=True, progress=False, sizes=TINY, workers=0, resume=True)
    assert summary["status"] == "completed"
    after = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    assert all(after[k] == v for k, v in before.items())  # finished runs were not redone
    assert summary["runs_executed"] == summary["runs"] - len(before)
    with pytest.raises(ValueError, match="pass --force to replace it or --resume to continue it"):
        reproduce_liao2022(out, quick=True, progress=False, sizes=TINY, workers=0)
    # --force replaces the earlier reproduction: every run is executed again, nothing stale stays
    (out / "figures" / "stale.png").write_bytes(b"old")
    again = reproduce_liao2022(out, quick=True, progress=False, sizes=TINY, workers=0, force=True)
    assert again["runs_executed"] == again["runs"] and not (out / "figures" / "stale.png").exists()


def test_sizes_are_declared():
    assert set(SIZES) == {"quick", "default"}
    assert set(SIZES["quick"]) == set(SIZES["default"])


@pytest.mark.slow
def test_quick_reproduction_at_its_real_size(tmp_path):
    """The README's first command at its real size (timings are measured by benchmarks/, not here)."""
    summary = reproduce_liao2022(tmp_path, quick=True, progress=False)
    assert summary["status"] == "completed" and [c["id"] for c in summary["claims"]] == [
        "a", "b_xi", "kappa", "c", "d", "ntk", "width"]
    assert summary["runs_executed"] == summary["runs"] and len(summary["regimes"]) == 5
