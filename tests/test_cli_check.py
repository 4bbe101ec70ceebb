"""`ntkcheck check` end to end through ntkcheck.cli.main: exit codes, table, JSON schema."""

from __future__ import annotations

import json

import numpy as np

from ntkcheck.cli import main
from ntkcheck.data import sphere


def test_check_builtin_data_passes(capsys):
    assert main(["check", "sphere:n=30,d=5,seed=0"]) == 0
    out = capsys.readouterr().out
    assert "[ok] unit rows" in out and "du2019.thm4_1" in out and "verdict: PASS" in out
    assert "lambda_0 =" in out


def test_check_width_shortfall_fails_with_factor(tmp_path, capsys):
    path = tmp_path / "r.json"
    code = main(["check", "sphere:n=30,d=5,seed=0", "--width", "1000", "--eta", "0.5",
                 "--theorem", "du2019.thm4_1", "--theorem", "liao2022.thm3", "--xi", "0.5", "--p", "2",
                 "--json", str(path)])
    assert code == 1
    assert "fails by a factor" in capsys.readouterr().out
    res = json.loads(path.read_text())
    assert set(res) == {"data", "assumptions", "kernel", "given", "theorems", "passed"}
    assert res["passed"] is False and [t["name"] for t in res["theorems"]] == ["du2019.thm4_1", "liao2022.thm3"]
    width = next(r for r in res["theorems"][0]["requirements"] if r["variable"] == "m")
    assert width["status"] == "violated"
    assert width["factor"] == width["rhs"] / 1000
    assert abs(res["theorems"][0]["values"]["step_size"] / (res["kernel"]["lambda_0"] / 30**2) - 1) < 1e-12
    assert set(res["assumptions"]) >= {"nearest_pairs", "duplicates", "lam0_hat", "min_separation", "passed"}


def test_check_flags_duplicated_point_in_csv(tmp_path, capsys):
    ds = sphere(12, 3, rng=1)
    X = np.array(ds.X)
    X[9] = X[2]
    rows = ["x0,x1,x2,target"] + [",".join(repr(float(v)) for v in [*x, t]) for x, t in zip(X, ds.y)]
    (tmp_path / "dup.csv").write_text("\n".join(rows) + "\n")
    code = main(["check", str(tmp_path / "dup.csv"), "--target", "target", "--json", "-"])
    assert code == 1
    res = json.loads(capsys.readouterr().out)
    assert res["assumptions"]["duplicates"] == [[2, 9]]
    assert any(m.startswith("[FAIL] duplicated points") for m in res["assumptions"]["messages"])


def test_check_normalize_is_reported(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=3 * rng.standard_normal((10, 4)), y=rng.uniform(-1, 1, 10))
    assert main(["check", str(tmp_path / "d.npz")]) == 1  # rows are not unit
    assert main(["check", str(tmp_path / "d.npz"), "--normalize"]) == 0
    assert "note: rows projected onto the unit sphere" in capsys.readouterr().out


def test_check_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["check", "sphere:n=10,d=3", "--theorem", "du2019.thm9"]) == 2
    assert "unknown theorem" in capsys.readouterr().err
    assert main(["check", "sphere:n=10,d=3", "--eta", "-1"]) == 2
    assert "`--eta` must be > 0.0" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    np.savez(tmp_path / "noy.npz", X=np.eye(3))
    assert main(["check", str(tmp_path / "noy.npz")]) == 2
    assert "missing array(s) ['y']" in capsys.readouterr().err
