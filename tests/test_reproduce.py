"""reproduce_liao2022 at a tiny size: files, and verdicts that follow the stated rules from the data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from ntkcheck.reproduce import RULES, SIZES, reproduce_liao2022

TINY = dict(n=16, d=6, m=64, steps=10, tau=2, seeds=2, xis=(0.25, 0.5, 1.0), ps=(1, 2, 4),
            widths=(32, 64, 128), cat_ps=(1, 2, 4), ntk_widths=(64, 256, 1024), ntk_seeds=2)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("lk22")
    return out, reproduce_liao2022(out, quick=True, progress=False, sizes=TINY)


def test_files_and_summary_schema(tiny):
    out, summary = tiny
    assert summary["status"] == "completed"
    assert json.loads((out / "summary.json").read_text())["claims"] == summary["claims"]
    ids = [c["id"] for c in summary["claims"]]
    assert ids == ["a", "b", "c", "d", "ntk"]
    assert [c["id"] for c in summary["claims"][0]["extra_checks"]] == ["lambda_min", "movement"]
    for c in summary["claims"] + summary["claims"][0]["extra_checks"]:
        assert c["rule"] == RULES[c["id"]]
        assert c["verdict"] in ("reproduced", "not reproduced", "holds", "does not hold")
        for f in c["figures"]:
            assert (out / f).exists() and (out / f.replace(".png", ".pdf")).exists()
    md = (out / "summary.md").read_text()
    html = (out / "summary.html").read_text()
    for c in summary["claims"]:
        assert c["verdict"] in md and c["claim"] in html
    assert "<img src=\"figures/fig2b_final_error_xi_p.png\"" in html


def test_verdicts_follow_the_rules_from_the_raw_data(tiny):
    out, summary = tiny
    claims = {c["id"]: c for c in summary["claims"]}
    z = np.load(out / "data" / "fig2b.npz")
    x = np.repeat(z["xis"], z["error_xi"].shape[1])
    rho, pv = spearmanr(x, z["error_xi"].ravel())
    assert claims["b"]["statistics"]["spearman_xi"] == pytest.approx(rho)
    rho_p, pv_p = spearmanr(np.repeat(z["ps"], z["error_p"].shape[1]), z["error_p"].ravel())
    assert (claims["b"]["verdict"] == "reproduced") == (rho < 0 and pv < 0.05 and rho_p < 0 and pv_p < 0.05)
    z = np.load(out / "data" / "fig2d.npz")
    rho, pv = spearmanr(np.repeat(z["ps"], z["contraction"].shape[1]), 1 - z["contraction"].ravel())
    assert claims["d"]["statistics"]["spearman_p"] == pytest.approx(rho)
    assert (claims["d"]["verdict"] == "reproduced") == (rho < 0 and pv < 0.05)
    z = np.load(out / "data" / "ntk_concentration.npz")
    slope = np.polyfit(np.log(z["widths"]), np.log(z["error"].mean(axis=1)), 1)[0]
    assert claims["ntk"]["statistics"]["slope"] == pytest.approx(slope)
    assert (claims["ntk"]["verdict"] == "holds") == (abs(slope + 0.5) <= 0.1)
    z = np.load(out / "data" / "fig2a.npz")
    up = np.mean(z["sampled"] > z["loss"][:, :-1])
    assert claims["a"]["statistics"]["up_at_sampling"] == pytest.approx(up)
    extra = {c["id"]: c for c in claims["a"]["extra_checks"]}
    assert extra["lambda_min"]["statistics"]["min_lambda_min"] == pytest.approx(z["lam_min"].min())
    assert extra["movement"]["statistics"]["max_movement"] == pytest.approx(z["movement"].max())


def test_sizes_are_declared():
    assert set(SIZES) == {"quick", "default"}
    assert set(SIZES["quick"]) == set(SIZES["default"])


@pytest.mark.slow
def test_quick_reproduction_under_a_minute(tmp_path):
    import time

    t0 = time.perf_counter()
    summary = reproduce_liao2022(tmp_path, quick=True, progress=False)
    assert time.perf_counter() - t0 < 60
    assert summary["status"] == "completed" and len(summary["claims"]) == 5
