"""``ntkcheck reproduce deng2022``: shifted-ReLU sparsity and Gauss-Newton training (DHSWZ22).

The reproduction runs once per module at a tiny size; every verdict is recomputed here from the
saved arrays (``data/deng2022.npz``) and the rules of :data:`ntkcheck.deng2022.RULES`.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.special import ndtr, ndtri
from scipy.stats import multivariate_normal

import ntkcheck.deng2022 as deng
from ntkcheck import init_network, ntk_infinite
from ntkcheck.assumptions import min_separation
from ntkcheck.cli import main
from ntkcheck.unit import load_data

from .conftest import RTOL_CLOSED_FORM, RTOL_EXACT

DATA = "sphere:n=20,d=8,seed=0"
TINY = dict(n=20, d=8, firing_widths=(256, 1024), shifts=(0.5, 1.5), firing_seeds=4, lam_ns=(10, 20),
            lam_shifts=(0.0, 1.0), gn_shift=1.0, gn_widths=(512, 2048), gn_seeds=3, gn_steps=5, eps=1e-8,
            cost_widths=(1024, 4096), alphas=(0.3,), cost_steps=4, cost_repeats=1, cost_damping=1e-6)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("deng")
    summary = deng.reproduce_deng2022(out, quick=True, sizes=TINY, progress=False)
    return out, summary, np.load(out / "data" / "deng2022.npz")


def _claim(summary, cid):
    return next(c for c in summary["claims"] if c["id"] == cid)


def test_summary_files_and_rules(tiny):
    out, summary, _ = tiny
    assert summary["status"] == "completed"
    assert [c["id"] for c in summary["claims"]] == ["firing", "stability", "lambda_min", "convergence", "cost"]
    for c in summary["claims"]:
        assert c["rule"] == deng.RULES[c["id"]] and c["verdict"] in ("holds", "does not hold")
        for f in c["figures"]:
            assert (out / f).is_file() and (out / f).with_suffix(".pdf").is_file()
    assert json.loads((out / "summary.json").read_text())["claims"] == summary["claims"]
    md = (out / "summary.md").read_text()
    assert "## Rules" in md and (out / "summary.html").is_file()
    for c in summary["claims"]:
        assert f"({c['id']})" in md


def test_firing_verdict_recomputed(tiny):
    _, summary, z = tiny
    c = _claim(summary, "firing")
    X = load_data(DATA).dataset.X
    C = z["firing_mean"]
    widths, shifts = list(z["firing_widths"]), list(z["firing_shifts"])
    assert C.shape == (len(widths), len(shifts), TINY["firing_seeds"])
    # one network recomputed from its seed: the stored mean is mean_i |S_i| of that network
    W = init_network(X.shape[1], widths[1], rng=np.random.SeedSequence(deng.SEED, spawn_key=(1, widths[1], 2))).W
    assert C[1, 0, 2] == pytest.approx(float(np.mean(np.sum(X @ W.T >= shifts[0], axis=1))), rel=RTOL_EXACT)
    zcrit = -ndtri(deng.FIRING_LEVEL / (2 * len(widths) * len(shifts)))
    ok, zmax = True, 0.0
    var = [_naive_variance(X, b) for b in shifts]
    for k, m in enumerate(widths):
        for j, b in enumerate(shifts):
            sd = math.sqrt(m * var[j])
            zz = (C[k, j].mean() - m * ndtr(-b)) / (sd / math.sqrt(C.shape[2]))
            zmax = max(zmax, abs(zz))
            ok = ok and abs(zz) <= zcrit and C[k, j].max() <= m * math.exp(-b * b / 2)
    assert c["statistics"]["max_abs_z"] == pytest.approx(zmax, rel=1e-6)
    assert c["statistics"]["z_threshold"] == pytest.approx(zcrit)
    assert (c["verdict"] == "holds") == ok


def _naive_variance(X, b):
    """Var(c_r) from the definition, P_ij by scipy's bivariate normal CDF (upper orthant = CDF at (-b, -b))."""
    n = X.shape[0]
    G = np.clip(X @ X.T, -1, 1)
    total = 0.0
    for i in range(n):
        for j in range(n):
            if i == j:
                total += ndtr(-b)
            else:
                total += multivariate_normal(mean=[0, 0], cov=[[1, G[i, j]], [G[i, j], 1]]).cdf([-b, -b])
    return total / n ** 2 - ndtr(-b) ** 2


def test_firing_variance_matches_the_definition():
    X = load_data("sphere:n=6,d=3,seed=1").dataset.X
    for b in (0.0, 0.7, 2.0):
        assert deng.firing_variance(X, b) == pytest.approx(_naive_variance(X, b), rel=1e-5, abs=1e-9)


def test_lambda_min_verdict_recomputed(tiny):
    _, summary, z = tiny
    c = _claim(summary, "lambda_min")
    ok, ratios = True, []
    for k, n in enumerate(z["lam_ns"]):
        X = load_data(f"sphere:n={n},d={TINY['d']},seed=0").dataset.X
        sep = min(min(np.linalg.norm(X[i] - X[j]), np.linalg.norm(X[i] + X[j]))
                  for i in range(n) for j in range(n) if i != j)
        assert z["lam_delta_sep"][k] == pytest.approx(sep, rel=RTOL_EXACT)
        for j, b in enumerate(z["lam_shifts"]):
            lam = np.linalg.eigvalsh(ntk_infinite(X, shift=b))[0]
            bound = math.exp(-b * b / 2) * sep / (100 * n * n)
            assert z["lam_min"][k, j] == pytest.approx(lam, rel=RTOL_CLOSED_FORM)
            ok = ok and lam >= bound
            ratios.append(lam / bound)
    assert c["statistics"]["min_ratio"] == pytest.approx(min(ratios), rel=RTOL_CLOSED_FORM)
    assert (c["verdict"] == "holds") == ok


def test_gauss_newton_verdicts_recomputed(tiny):
    _, summary, z = tiny
    R, F = z["gn_residual"], z["gn_change_fraction"]
    assert R.shape == (len(TINY["gn_widths"]), TINY["gn_seeds"], TINY["gn_steps"] + 1)
    ok = bool((z["gn_status"] == "completed").all())
    max_ratio = 0.0
    for r in R.reshape(-1, R.shape[2]):
        hit = np.flatnonzero(r <= TINY["eps"])
        ok = ok and hit.size > 0
        T = hit[0] if hit.size else r.size - 1
        ratios = r[1:T + 1] / r[:T]
        max_ratio = max(max_ratio, ratios.max())
        ok = ok and bool(np.all(ratios <= 0.5))
    conv = _claim(summary, "convergence")
    assert conv["statistics"]["max_ratio"] == pytest.approx(max_ratio, rel=RTOL_EXACT)
    assert (conv["verdict"] == "holds") == ok
    stab = _claim(summary, "stability")
    cumulative = F.sum(axis=2)
    slope = np.polyfit(np.log(TINY["gn_widths"]), np.log(cumulative.mean(axis=1)), 1)[0]
    assert stab["statistics"]["slope"] == pytest.approx(slope, rel=1e-9)
    later_ok = bool(np.all(F[:, :, 1:] < 0.01))
    assert (stab["verdict"] == "holds") == (later_ok and stab["statistics"]["slope_ci"][1] < 0)


def test_cost_verdict_recomputed(tiny):
    _, summary, z = tiny
    c = _claim(summary, "cost")
    widths = np.log(z["cost_widths"])
    ok = True
    for alpha in TINY["alphas"]:
        tag = f"alpha{alpha:g}"
        best = np.nanmin(z[f"cost_seconds_{tag}"], axis=2)  # (widths, engines, K)
        exps = [np.polyfit(widths, np.log(np.median(best[:, e], axis=1)), 1)[0] for e in range(2)]
        counts = np.polyfit(widths, np.log(z[f"cost_fired_pairs_{tag}"]), 1)[0]
        assert c["statistics"][f"sparse_exponent_{tag}"] == pytest.approx(exps[0], rel=1e-9)
        assert c["statistics"][f"dense_exponent_{tag}"] == pytest.approx(exps[1], rel=1e-9)
        assert c["statistics"][f"count_exponent_{tag}"] == pytest.approx(counts, rel=1e-9)
        ok = ok and exps[0] < exps[1] and exps[0] <= 1 - alpha + 0.25 and abs(counts - (1 - alpha)) <= 0.1
    assert (c["verdict"] == "holds") == ok


def test_separation_and_exponent_helpers():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-0.6, -0.8]])
    assert min_separation(X) == pytest.approx(min(math.sqrt(2), math.hypot(1.6, 0.8), math.hypot(0.6, 1.8),
                                                   math.hypot(0.4, 0.8), math.hypot(0.6, 0.2)))
    w = np.array([1024, 4096, 16384])
    fit = deng.loglog_exponent(w, [2e-6 * m ** 0.7 * np.array([1.0, 1.1, 0.9]) for m in w], n_boot=100)
    assert fit["exponent"] == pytest.approx(0.7, abs=1e-12)
    assert fit["ci"][0] <= 0.7 + 1e-9 and fit["ci"][1] >= 0.7 - 1e-9


def test_interrupt_keeps_what_was_measured(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(deng, "train", interrupted)
    summary = deng.reproduce_deng2022(tmp_path / "o", sizes=TINY, quick=True, progress=False)
    assert summary["status"] == "interrupted"
    assert [c["id"] for c in summary["claims"]] == ["firing", "lambda_min"]
    saved = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert saved["status"] == "interrupted" and "Interrupted" in (tmp_path / "o" / "summary.md").read_text()
    assert "firing_mean" in np.load(tmp_path / "o" / "data" / "deng2022.npz")


def test_folder_with_user_files_is_refused(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="did not write"):
        deng.reproduce_deng2022(out, sizes=TINY, quick=True, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert main(["reproduce", "deng2022", "--quick", "--quiet", "--out", str(out)]) == 2


def test_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(deng.SIZES, "quick", dict(deng.SIZES["quick"], **TINY))
    out = tmp_path / "d"
    assert main(["reproduce", "deng2022", "--quick", "--quiet", "--out", str(out)]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and "(cost)" in cap.out and "summary:" in cap.out
    summary = json.loads((out / "summary.json").read_text())
    for c in summary["claims"]:
        assert c["verdict"].upper() in cap.out
    # a second run into the same folder needs --force; the sweep flags do not apply here
    assert main(["reproduce", "deng2022", "--quick", "--quiet", "--out", str(out)]) == 2
    assert main(["reproduce", "deng2022", "--quick", "--quiet", "--workers", "2", "--out", str(tmp_path / "e")]) == 2
    assert "--workers" in capsys.readouterr().err
