"""``ntkcheck reproduce jacot2018`` (the deep NTK regime) and ``ntkcheck check --depth``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ntkcheck import init_deep_network, ntk_deep_finite, ntk_deep_infinite
from ntkcheck.cli import main
from ntkcheck.commands.check import deep_spectrum
from ntkcheck.jacot2018 import RULES, canonical_deep_params, fit_slope, reproduce_jacot2018, run_deep
from ntkcheck.store import Store
from ntkcheck.unit import load_data

DATA = "sphere:n=10,d=5,seed=0"
TINY = dict(n=10, d=5, depths=(1, 2), widths=(32, 128, 512), seeds=3, steps=5)


def test_run_deep_measures_the_definitions():
    ds = load_data(DATA).dataset
    out = run_deep({"data": DATA, "depth": 2, "width": 64, "steps": 0}, 7)
    theta = ntk_deep_infinite(ds.X, 2)
    net = init_deep_network(ds.d, [64, 64], rng=np.random.SeedSequence(7))
    dev = np.abs(np.linalg.eigvalsh(ntk_deep_finite(ds.X, net) - theta)).max() / np.linalg.eigvalsh(theta)[-1]
    assert out["concentration"] == pytest.approx(dev, rel=1e-10)
    assert out["drift"] == 0.0 and out["status"] == "completed"
    trained = run_deep({"data": DATA, "depth": 2, "width": 64, "steps": 20}, 7)
    assert trained["drift"] > 0 and trained["loss_ratio"] < 1
    assert trained["concentration"] == out["concentration"]  # same seed, same initial network


@pytest.mark.parametrize("params,match", [({"depth": 0, "width": 8}, "depth"), ({"depth": 1, "width": 0}, "width"),
                                          ({"depth": 1, "width": 8, "eta": -1.0}, "eta"),
                                          ({"depth": 1, "width": 8, "colour": 1}, "colour")])
def test_deep_parameters_are_checked(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        canonical_deep_params({"data": DATA, **params})


def test_fit_slope_recovers_a_known_slope():
    w = np.array([64, 256, 1024, 4096])
    V = 3.0 * w[:, None] ** -0.5 * np.array([[0.9, 1.0, 1.1]])
    fit = fit_slope(w, V, n_boot=200)
    assert fit["slope"] == pytest.approx(-0.5, abs=1e-12)
    assert fit["ci"][0] == pytest.approx(-0.5, abs=1e-9) and fit["ci"][1] == pytest.approx(-0.5, abs=1e-9)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("jacot")
    return out, reproduce_jacot2018(out, sizes=TINY, quick=True, progress=False, workers=0, data=DATA)


def test_summary_and_verdicts_follow_the_rules(tiny):
    out, summary = tiny
    assert summary["status"] == "completed" and [c["id"] for c in summary["claims"]] == ["concentration", "drift"]
    z = np.load(out / "data" / "jacot2018.npz")
    for c in summary["claims"]:
        assert c["rule"] == RULES[c["id"]]
        ok = True
        for L in TINY["depths"]:
            V = z[f"{c['id']}_depth{L}"]
            assert V.shape == (len(TINY["widths"]), TINY["seeds"])
            slope = np.polyfit(np.log(TINY["widths"]), np.log(V.mean(axis=1)), 1)[0]
            assert c["statistics"][f"slope_depth{L}"] == pytest.approx(slope)
            ok = ok and (abs(slope + 0.5) <= 0.15 if c["id"] == "concentration" else slope <= -0.4)
        assert (c["verdict"] == "holds") == ok
        for f in c["figures"]:
            assert (out / f).is_file()
    assert "slope by depth" in (out / "summary.md").read_text()
    assert json.loads((out / "summary.json").read_text())["claims"] == summary["claims"]


def test_resume_runs_nothing_new(tiny, tmp_path):
    out, summary = tiny
    again = reproduce_jacot2018(out, sizes=TINY, quick=True, progress=False, workers=0, data=DATA, resume=True)
    assert again["runs_executed"] == 0 and again["claims"] == summary["claims"]
    assert len(Store(out / "store").scan().records) == summary["runs"]


def test_deep_spectrum_matches_the_kernels():
    X = load_data(DATA).dataset.X
    rows = deep_spectrum(X, 3, sigma_w=1.3, sigma_b=0.2)
    for r in rows:
        ev = np.linalg.eigvalsh(ntk_deep_infinite(X, r["depth"], sigma_w=1.3, sigma_b=0.2))
        assert r["lambda_0"] == pytest.approx(ev[0], rel=1e-9) and r["lambda_max"] == pytest.approx(ev[-1], rel=1e-9)


def test_cli_check_depth(tmp_path, capsys):
    code = main(["check", DATA, "--depth", "2", "--json", str(tmp_path / "c.json")])
    assert code in (0, 1)
    data = json.loads((tmp_path / "c.json").read_text())
    assert [r["depth"] for r in data["deep"]] == [1, 2]
    assert "deep NTK" in capsys.readouterr().out
    assert main(["check", DATA, "--depth", "0"]) == 2
    assert main(["check", DATA, "--depth", "2", "--sigma-w", "-1"]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.slow
def test_cli_reproduce_jacot2018_quick(tmp_path, capsys):
    assert main(["reproduce", "jacot2018", "--quick", "--out", str(tmp_path / "j"), "--quiet"]) == 0
    assert "(drift)" in capsys.readouterr().out
