"""`ntkcheck check` end to end through ntkcheck.cli.main: exit codes, table, JSON schema."""

from __future__ import annotations

import json

import numpy as np
import pytest

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


# -- --shift / --alpha: the shifted ReLU of DHSWZ22 (docs/theory.md §9) ---------------------------
def _separation(X):
    """min_{i != j} min(||x_i - x_j||, ||x_i + x_j||), by brute force."""
    n = X.shape[0]
    return min(min(np.linalg.norm(X[i] - X[j]), np.linalg.norm(X[i] + X[j]))
               for i in range(n) for j in range(i + 1, n))


def test_check_shift_lambda_min_against_independent_computation(capsys):
    import math

    from ntkcheck import ntk_infinite
    from ntkcheck.data import load_dataset

    code = main(["check", "sphere:n=30,d=5,seed=0", "--shift", "1.0", "--theorem", "deng2022.lambda_min",
                 "--json", "-"])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    X = load_dataset("sphere:n=30,d=5,seed=0").X
    lam0 = np.linalg.eigvalsh(ntk_infinite(X, shift=1.0))[0]
    assert res["kernel"]["lambda_0"] == pytest.approx(lam0, rel=1e-10)
    sh = res["shift"]
    assert sh["shift"] == 1.0 and sh["effective_shift"] == 1.0 and sh["lambda_0"] == res["kernel"]["lambda_0"]
    delta_sep = _separation(X)
    assert sh["delta_sep"] == pytest.approx(delta_sep, rel=1e-12)
    assert sh["firing_fraction"] == pytest.approx(0.5 * math.erfc(1.0 / math.sqrt(2.0)), rel=1e-12)
    assert sh["shift_factor"] == pytest.approx(math.exp(-0.5), rel=1e-12)
    assert sh["expected_firing"] is None  # no --width
    bound = math.exp(-1.0 / 2) * delta_sep / (100 * 30**2)
    (t,) = res["theorems"]
    assert t["values"]["lambda_min"] == pytest.approx(bound, rel=1e-12)
    (row,) = t["measured"]
    assert row["key"] == "lambda_min" and row["quantity"] == "lambda_0" and row["relation"] == ">="
    assert row["measured"] == res["kernel"]["lambda_0"] and row["bound"] == t["values"]["lambda_min"]
    assert row["measured"] >= row["bound"] and row["holds"] is True
    assert row["ratio"] == pytest.approx(lam0 / bound, rel=1e-10)
    assert res["passed"] is True


def test_check_shift_table_reports_ratio(capsys):
    assert main(["check", "sphere:n=30,d=5,seed=0", "--shift", "1.5", "--width", "500"]) == 0
    out = capsys.readouterr().out
    # with b != 0 the default theorems are the deng2022.* ones
    for name in ("deng2022.lambda_min", "deng2022.firing", "deng2022.gauss_newton", "deng2022.cost"):
        assert name in out
    assert "du2019.thm4_1" not in out
    assert "kernel (shifted, b/kappa = 1.5)" in out and "firing fraction Phi(-b/kappa)" in out
    assert "measured / bound" in out and "[holds]" in out and "verdict: PASS" in out


def test_check_shift_zero_output_unchanged(capsys):
    assert main(["check", "sphere:n=30,d=5,seed=0", "--json", "-"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "shift" not in plain and all("measured" not in t for t in plain["theorems"])
    assert main(["check", "sphere:n=30,d=5,seed=0", "--shift", "0", "--json", "-"]) == 0
    zero = json.loads(capsys.readouterr().out)
    assert zero["shift"]["shift"] == 0.0 and zero["shift"]["firing_fraction"] == 0.5
    assert zero["kernel"] == plain["kernel"] and zero["assumptions"] == plain["assumptions"]
    assert zero["given"] == plain["given"]
    for t in plain["theorems"]:
        t["measured"] = []
    assert zero["theorems"] == plain["theorems"]


def test_check_width_firing_count_and_alpha(capsys):
    import math

    assert main(["check", "sphere:n=20,d=4,seed=1", "--alpha", "0.5", "--width", "400",
                 "--theorem", "deng2022.firing", "--theorem", "deng2022.cost", "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    b = math.sqrt(2 * 0.5 * math.log(400))
    sh = res["shift"]
    assert sh["shift"] == pytest.approx(b, rel=1e-12) and sh["alpha"] == 0.5 and sh["alpha_source"] == "given"
    expected = 400 * 0.5 * math.erfc(b / math.sqrt(2.0))
    assert sh["expected_firing"] == pytest.approx(expected, rel=1e-10)
    firing, cost = res["theorems"]
    assert firing["values"]["firing"] == pytest.approx(20.0, rel=1e-10)  # 400^(1 - 1/2)
    (row,) = firing["measured"]
    assert row["relation"] == "<=" and row["holds"] is True
    assert row["ratio"] == pytest.approx(expected / 20.0, rel=1e-10)
    assert cost["values"]["cost_per_iteration"] == pytest.approx(20.0 * 20 * 4 + 20**3, rel=1e-10)
    assert cost["measured"] == []


def test_check_shift_rescales_with_kappa(capsys):
    from ntkcheck import ntk_infinite
    from ntkcheck.data import load_dataset

    assert main(["check", "sphere:n=15,d=4,seed=2", "--shift", "1.0", "--kappa", "0.5",
                 "--theorem", "deng2022.lambda_min", "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    X = load_dataset("sphere:n=15,d=4,seed=2").X
    # w ~ N(0, kappa^2 I): 1{<w, x> >= b} = 1{<z, x> >= b/kappa}
    assert res["shift"]["effective_shift"] == 2.0
    assert res["kernel"]["lambda_0"] == pytest.approx(np.linalg.eigvalsh(ntk_infinite(X, shift=2.0))[0], rel=1e-10)


def test_check_shift_refuses_plain_relu_theorem(tmp_path, capsys):
    missing = str(tmp_path / "missing.npz")  # refused before the data are read
    assert main(["check", missing, "--shift", "1.0", "--theorem", "du2019.thm4_1"]) == 2
    err = capsys.readouterr().err
    assert "'du2019.thm4_1' is stated for the plain ReLU" in err and "does not exist" not in err
    assert len(err.strip().splitlines()) == 1
    # at b = 0 the plain-ReLU theorems and deng2022.* go together
    assert main(["check", "sphere:n=10,d=3", "--shift", "0", "--theorem", "du2019.thm4_1",
                 "--theorem", "deng2022.lambda_min"]) == 0


@pytest.mark.parametrize("argv,message", [
    (["--shift", "nan"], "`--shift` must be finite, got --shift=nan."),
    (["--shift", "inf"], "`--shift` must be finite, got --shift=inf."),
    (["--shift=-1"], "`--shift` must be >= 0.0, got --shift=-1.0."),
    (["--alpha=-0.5", "--width", "100"], "`--alpha` must be > 0.0, got --alpha=-0.5."),
    (["--alpha", "0.5"], "`--alpha` sets the shift b = kappa sqrt(2 alpha log m) and needs the width"),
    (["--shift", "1", "--alpha", "0.5", "--width", "100"], "give either --shift"),
])
def test_check_shift_bad_input_exit_2_before_work(tmp_path, capsys, argv, message):
    missing = str(tmp_path / "missing.npz")
    assert main(["check", missing, *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "does not exist" not in err
    assert len(err.strip().splitlines()) == 1


def test_check_shift_with_antiparallel_pair_does_not_evaluate_delta_sep(tmp_path, capsys):
    ds = sphere(12, 3, rng=1)
    X = np.array(ds.X)
    X[9] = -X[2]  # delta_sep = 0; the shifted kernel stays positive definite
    rows = ["x0,x1,x2,target"] + [",".join(repr(float(v)) for v in [*x, t]) for x, t in zip(X, ds.y)]
    (tmp_path / "anti.csv").write_text("\n".join(rows) + "\n")
    code = main(["check", str(tmp_path / "anti.csv"), "--target", "target", "--shift", "1",
                 "--theorem", "deng2022.lambda_min", "--json", "-"])
    assert code == 1  # Assumption 1 (no parallel pairs) fails
    res = json.loads(capsys.readouterr().out)
    assert res["shift"]["delta_sep"] == 0.0 and res["kernel"]["lambda_0"] > 0
    (t,) = res["theorems"]
    assert "lambda_min" not in t["values"] and "delta_sep" in t["unavailable"]["lambda_min"]
    assert t["measured"][0]["holds"] is None
    assert any("delta_sep = 0" in note for note in res["kernel"]["notes"])
