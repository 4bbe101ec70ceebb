"""Fitting a theorem's free exponents and constants to sweep measurements (ntkcheck.exponents)."""

from __future__ import annotations

import itertools
import json
import math
from importlib import resources

import numpy as np
import pytest
import sympy as sp

import bounds
from ntkcheck.cli import main
from ntkcheck.exponents import ExponentFit, default_measured, fit_theorem, report_stem
from ntkcheck.verify import fit_theorem as verify_fit_theorem

BVAR = str(resources.files("bounds") / "examples" / "liao2022_thm3_bvar.toml")
#: Noise-free synthetic data: the linear least-squares fit is exact up to rounding.
RTOL_FIT = 1e-9
#: Linear and non-linear solvers reach the same optimum within this relative tolerance.
RTOL_SOLVERS = 1e-6
#: Multiplicative noise (sd of log y) of the noisy synthetic measurements.
NOISE_SD = 0.05

TRUTH = dict(c_var=0.3, e_kappa_var=1.5, e_xi_var=0.7, e_p_var=1.3)


def _grid_rows(*, kappas=(0.5, 1.0, 2.0, 4.0), xis=(0.2, 0.4, 0.6, 0.9), ps=(1, 2, 4)):
    return [dict(status="ok", kappa=k, xi=x, p=p, n=60, scheme="bernoulli", local_steps=1)
            for k, x, p in itertools.product(kappas, xis, ps)]


def _bvar_rows(truth=TRUTH, *, noise=0.0, seed=0, **grid):
    thm = bounds.load(BVAR)
    rng = np.random.default_rng(seed)
    rows = _grid_rows(**grid)
    for r in rows:
        clean = thm.evaluate("error_variance", kappa=r["kappa"], xi=r["xi"], p=r["p"], n=r["n"],
                             **truth)
        r["plateau"] = clean * math.exp(noise * rng.standard_normal())
    return rows


# ----------------------------------------------------------------------------- recovery


def test_recovers_exponents_and_constant_exactly_without_noise():
    fit = fit_theorem(BVAR, "error_variance", _bvar_rows(), measured="plateau", n_boot=50, rng=0)
    assert isinstance(fit, ExponentFit) and fit.method == "linear"
    assert set(fit.free) == set(TRUTH)  # default: every e_* and c_* of the expression
    for name, value in TRUTH.items():
        assert fit.estimates[name] == pytest.approx(value, rel=RTOL_FIT)
        lo, hi = fit.ci[name]
        assert lo == pytest.approx(value, rel=RTOL_FIT) and hi == pytest.approx(value, rel=RTOL_FIT)
    assert fit.residual_sd < 1e-10 and fit.n_rows == 48 and fit.dropped == 0
    assert fit.defaults == dict(c_var=1.0, e_kappa_var=2.0, e_xi_var=1.0, e_p_var=1.0)
    assert fit.consistent == {name: False for name in TRUTH}  # truth differs from every default


def test_noisy_measurements_ci_covers_truth_and_defaults_are_judged():
    """Coverage of the 95% pairs-bootstrap interval over 30 noisy data sets (each CI can miss)."""
    hits = {name: 0 for name in TRUTH}
    sds = []
    for seed in range(30):
        fit = fit_theorem(BVAR, "error_variance", _bvar_rows(noise=NOISE_SD, seed=seed),
                          measured="plateau", n_boot=200, rng=seed)
        for name, value in TRUTH.items():
            lo, hi = fit.ci[name]
            assert lo < fit.estimates[name] < hi
            hits[name] += lo <= value <= hi
        sds.append(fit.residual_sd)
    assert all(h >= 24 for h in hits.values()), hits   # >= 80% for a nominal 95%
    assert np.mean(sds) == pytest.approx(NOISE_SD, rel=0.1)
    assert fit.r_squared > 0.99
    # the true kappa exponent is the default here: the verdict is "consistent"
    truth = dict(TRUTH, e_kappa_var=2.0)
    fit2 = fit_theorem(BVAR, "error_variance", _bvar_rows(truth, noise=NOISE_SD, seed=4),
                       measured="plateau", free=["e_kappa_var", "c_var"], n_boot=400, rng=2,
                       values=dict(e_xi_var=0.7, e_p_var=1.3))
    assert fit2.free == ("e_kappa_var", "c_var") and fit2.consistent["e_kappa_var"] is True
    assert fit2.fixed == dict(e_p_var=1.3, e_xi_var=0.7)


def test_linear_and_nonlinear_paths_agree():
    rows = _bvar_rows(noise=NOISE_SD, seed=5)
    kw = dict(measured="plateau", n_boot=30, rng=7)
    lin = fit_theorem(BVAR, "error_variance", rows, method="linear", **kw)
    non = fit_theorem(BVAR, "error_variance", rows, method="nonlinear", **kw)
    assert (lin.method, non.method) == ("linear", "nonlinear")
    for name in TRUTH:
        assert non.estimates[name] == pytest.approx(lin.estimates[name], rel=RTOL_SOLVERS)
        assert non.ci[name] == pytest.approx(lin.ci[name], rel=RTOL_SOLVERS)
    assert non.residual_sd == pytest.approx(lin.residual_sd, rel=RTOL_SOLVERS)


def test_nonlinear_sum_of_terms_recovers_constants():
    """LK22 Thm 3's error B_bias + B_var (tau = 1: B_local = 0) is not a product of powers."""
    thm = bounds.get("liao2022.thm3")
    rows = []
    for m, kappa, xi, p in itertools.product((100, 1000), (0.5, 2.0), (0.3, 0.7), (1, 4)):
        r = dict(status="ok", m=m, kappa=kappa, xi=xi, p=p, n=50, local_steps=1, eta_resolved=0.1,
                 scheme="bernoulli")
        r["plateau"] = thm.evaluate("error", m=m, kappa=kappa, xi=xi, p=p, n=50, tau=1, eta=0.1,
                                    c_bias=0.5, c_var=2.0)
        rows.append(r)
    fit = fit_theorem(thm, "error", rows, measured="plateau", free="c_bias,c_var", n_boot=20, rng=0)
    assert fit.method == "nonlinear"
    assert fit.estimates["c_bias"] == pytest.approx(0.5, rel=RTOL_SOLVERS)
    assert fit.estimates["c_var"] == pytest.approx(2.0, rel=RTOL_SOLVERS)
    assert fit.fixed == dict(c_local=1.0)
    with pytest.raises(ValueError, match=r"\['c_local'\].*tau = 1 in every row.*local_steps"):
        fit_theorem(thm, "error", rows, measured="plateau", n_boot=0)


def test_symbols_come_from_the_run_parameters_like_run_values():
    """n from the data spec, xi resolved by the scheme (gd -> 1), eta = eta_resolved."""
    thm = bounds.get("liao2022.thm3")
    rows = []
    for kappa, p in itertools.product((0.5, 1.0, 2.0), (1, 2, 4)):
        rows.append(dict(status="ok", kappa=kappa, p=p, xi=0.5, scheme="bernoulli", local_steps=1,
                         data="sphere:n=12,d=3,seed=0", eta="auto", eta_resolved=0.2,
                         plateau=0.7 * 0.25 * 12 * kappa**2 / p))
    rows.append(dict(status="ok", kappa=1.0, p=1, xi=None, scheme="gd", local_steps=1,
                     data="sphere:n=12,d=3,seed=0", plateau=0.1))   # xi = 1: B_var = 0
    fit = fit_theorem(thm, "error_variance", rows, measured="plateau", n_boot=10, rng=0)
    assert fit.free == ("c_var",) and fit.estimates["c_var"] == pytest.approx(0.7, rel=RTOL_FIT)
    assert fit.drop_reasons == {"where the expression is not finite and positive": 1}


# ----------------------------------------------------------------------------- claims


def test_claims_are_rechecked_at_the_fitted_values():
    thm = bounds.get("liao2022.thm3")
    rows = []
    fn, names = thm.lambdify("width", constants="args")
    for kappa, K in itertools.product((0.5, 1.0, 2.0, 4.0), (10, 100)):
        vals = dict(thm.constants.items())
        vals = {s.name: float(v) for s, v in vals.items()}
        vals.update(n=20, K=K, lambda_0=0.1, delta=0.1, kappa=kappa, xi=0.5, p=2,
                    e_kappa=-1.0, c_width=3.0)   # a width that GROWS with kappa
        width = fn(*(vals[a] for a in names))
        rows.append(dict(status="ok", kappa=kappa, steps=K, lam0=0.1, delta=0.1, xi=0.5, p=2,
                         n=20, local_steps=1, scheme="bernoulli", required_width=width))
    fit = fit_theorem(thm, "width", rows, measured="required_width", free=["e_kappa", "c_width"],
                      n_boot=20, rng=0)
    assert fit.estimates["e_kappa"] == pytest.approx(-1.0, abs=1e-9)
    claim = "the width requirement grows with K and shrinks with theta (via p) and kappa"
    assert fit.claims_at_defaults[claim] is True and fit.claims[claim] is False
    expected = thm.check_claims(e_kappa=sp.Rational(format(fit.estimates["e_kappa"], ".6g")),
                                c_width=sp.Rational(format(fit.estimates["c_width"], ".6g")))
    assert fit.claims == expected
    assert claim in fit.summary() and "False (True)" in fit.summary()


def test_claims_with_other_parameters_are_checked_per_claim():
    """Claims of liao2022.thm2 know only c_width / c_radius: overrides go to the claims that have them."""
    thm = bounds.get("liao2022.thm2")
    rows = [dict(status="ok", kappa=k, n=10, lam0=0.2, delta=0.1, radius=2 * k * 0.1 * 0.2 / 100)
            for k in (0.5, 1.0, 2.0)]
    fit = fit_theorem(thm, "radius", rows, measured="radius", n_boot=5, rng=0)
    assert fit.estimates["c_radius"] == pytest.approx(2.0, rel=RTOL_FIT)
    assert set(fit.claims) == set(thm.check_claims()) and all(fit.claims.values())


# ----------------------------------------------------------------------------- errors


def test_non_identifiable_symbol_names_it_and_the_column_to_vary():
    rows = _bvar_rows(kappas=(1.0,))
    with pytest.raises(ValueError, match=r"e_kappa_var.*kappa = 1 in every row.*\['kappa'\] must vary"):
        fit_theorem(BVAR, "error_variance", rows, measured="plateau", n_boot=0)
    # xi(1 - xi) takes one value although xi varies (0.2 and 0.8): collinear with the constant
    rows = _bvar_rows(xis=(0.2, 0.8))
    with pytest.raises(ValueError, match=r"e_xi_var.*cannot be identified"):
        fit_theorem(BVAR, "error_variance", rows, measured="plateau", n_boot=0)
    fit = fit_theorem(BVAR, "error_variance", rows, measured="plateau", n_boot=0,
                      free=["c_var", "e_kappa_var", "e_p_var"], values=dict(e_xi_var=0.7))
    assert fit.estimates["e_p_var"] == pytest.approx(1.3, rel=RTOL_FIT)
    assert math.isnan(fit.ci["c_var"][0]) and fit.consistent["c_var"] is None


@pytest.mark.parametrize("kwargs, match", [
    (dict(theorem="nosuch.thm"), r"`theorem`: unknown theorem 'nosuch.thm'"),
    (dict(key="nokey"), r"`key` must be an expression of example.liao2022_thm3_bvar.*got key='nokey'"),
    (dict(theorem="du2019.thm4_1", key="rate"), r"`free`: .* has no e_\* or c_\* symbol"),
    (dict(measured="nosuch"), r"`measured` must be a column of the rows, got measured='nosuch'"),
    (dict(free=["e_kappa"]), r"`free` must name symbols of .*\['e_kappa'\] do not occur"),
    (dict(free=["c_var"], values=dict(c_var=2.0)), r"`values` fixes 'c_var', which is also in `free`"),
    (dict(values=dict(zeta=1.0)), r"`values` names 'zeta', not a symbol"),
    (dict(rows="ROWS3"), r"`rows` must hold at least 5 runs to fit 4 free symbol\(s\), got 3"),
    (dict(rows=[]), r"`rows` holds no \(successful\) runs"),
    (dict(level=1.0), r"level"),
    (dict(n_boot=-1), r"n_boot"),
    (dict(method="fast"), r"`method` must be one of"),
])
def test_bad_inputs_raise_before_any_work(kwargs, match):
    call = dict(theorem=BVAR, key="error_variance", rows=_bvar_rows(), measured="plateau", n_boot=0)
    call.update(kwargs)
    if call["rows"] == "ROWS3":
        call["rows"] = _bvar_rows()[:3]
    theorem, key, rows = call.pop("theorem"), call.pop("key"), call.pop("rows")
    with pytest.raises(ValueError, match=match):
        fit_theorem(theorem, key, rows, **call)


def test_linear_method_on_a_sum_is_refused():
    rows = [dict(status="ok", m=m, xi=0.5, p=1, n=10, local_steps=1, kappa=1.0, plateau=1.0 / m)
            for m in (10, 100, 1000)]
    with pytest.raises(ValueError, match=r"`method`='linear' needs log of the expression"):
        fit_theorem("liao2022.thm3", "error", rows, measured="plateau", free="c_bias",
                    method="linear", n_boot=0)


def test_unusable_rows_are_dropped_and_counted():
    rows = _bvar_rows()
    rows[0]["plateau"] = 0.0
    rows[1]["plateau"] = float("nan")
    rows[2]["plateau"] = None
    del rows[3]["kappa"]
    rows[4]["status"] = "failed"
    fit = fit_theorem(BVAR, "error_variance", rows, measured="plateau", n_boot=0)
    assert fit.n_rows == 43 and fit.dropped == 5
    assert fit.drop_reasons == {"with `plateau` not finite and positive": 3,
                                "without a value for `kappa` (kappa)": 1,
                                "runs not ok (failed)": 1}
    with pytest.raises(ValueError, match=r"`rows`: 3 usable row\(s\) for 4 free.*dropped: 45 with"):
        rows = _bvar_rows()
        for r in rows[3:]:
            r["plateau"] = -1.0
        fit_theorem(BVAR, "error_variance", rows, measured="plateau", n_boot=0)


# ----------------------------------------------------------------------------- results


def test_result_is_json_able_reproducible_and_printable():
    rows = _bvar_rows(noise=NOISE_SD, seed=8)
    fit = fit_theorem(BVAR, "error_variance", rows, measured="plateau", n_boot=50, rng=11)
    assert fit.seed == 11
    again = fit_theorem(BVAR, "error_variance", rows, measured="plateau", n_boot=50, rng=11)
    assert again.ci == fit.ci
    fresh = fit_theorem(BVAR, "error_variance", rows, measured="plateau", n_boot=50)
    assert isinstance(fresh.seed, int)
    replay = fit_theorem(BVAR, "error_variance", rows, measured="plateau", n_boot=50, rng=fresh.seed)
    assert replay.ci == fresh.ci
    d = json.loads(json.dumps(fit.to_dict(), allow_nan=False))
    assert d["estimates"].keys() == set(TRUTH) and d["ci"]["c_var"][0] < d["ci"]["c_var"][1]
    text, md = fit.summary(), fit.to_markdown()
    for name in TRUTH:
        assert name in text and f"| {name} |" in md
    assert "symbol  " in text and "| symbol | fitted | 95% CI | default | consistent |" in md
    assert verify_fit_theorem is fit_theorem


def test_default_measured_and_report_stem():
    assert default_measured("error") == default_measured("error_bias") == "plateau"
    assert default_measured("rate") == "contraction" and default_measured("width") is None
    assert report_stem("liao2022.thm3", "error_variance") == "fit_liao2022.thm3_error_variance"
    assert report_stem("a/b c", "k") == "fit_a_b_c_k"


# ----------------------------------------------------------------------------- CLI

TINY_SWEEP = """
[sweep]
seed = 5
seeds = 1
[fixed]
data = "sphere:n=12,d=4,seed=0"
m = 32
scheme = "bernoulli"
eta = 0.3
steps = 25
xi = 0.5
record = "loss"
identity_samples = 0
predict = false
[grid]
kappa = [0.5, 1.0, 2.0]
p = [1, 2]
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("fitsweep")
    spec = root / "spec.toml"
    spec.write_text(TINY_SWEEP)
    out = root / "store"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    return out


def test_cli_fit_writes_table_json_and_markdown(store, tmp_path, capsys):
    rep = tmp_path / "rep"
    code = main(["sweep-report", str(store), "--out", str(rep), "--formats", "png",
                 "--fit", "liao2022.thm3:error_variance", "--boot", "50", "--seed", "3"])
    assert code == 0
    out = capsys.readouterr().out
    assert "fit of liao2022.thm3['error_variance']" in out and "c_var" in out
    data = json.loads((rep / "fit_liao2022.thm3_error_variance.json").read_text())
    assert data["measured"] == "plateau" and data["seed"] == 3 and data["n_rows"] == 6
    assert data["estimates"]["c_var"] > 0 and data["claims"]
    assert "| c_var |" in (rep / "fit_liao2022.thm3_error_variance.md").read_text()
    assert (rep / "summary.csv").exists()  # the existing report is still written


def test_cli_fit_accepts_a_toml_theorem(store, tmp_path, capsys):
    rep = tmp_path / "rep"
    code = main(["sweep-report", str(store), "--out", str(rep), "--formats", "png", "--fit",
                 f"{BVAR}:error_variance", "--free", "c_var,e_kappa_var,e_p_var", "--boot", "20"])
    assert code == 0
    data = json.loads((rep / "fit_example.liao2022_thm3_bvar_error_variance.json").read_text())
    assert data["free"] == ["c_var", "e_kappa_var", "e_p_var"] and isinstance(data["seed"], int)
    # xi is fixed in this sweep: its exponent cannot be fitted, and the message says so
    code = main(["sweep-report", str(store), "--out", str(rep), "--formats", "png", "--fit",
                 f"{BVAR}:error_variance"])
    err = capsys.readouterr().err
    assert code == 2 and "e_xi_var" in err and "['xi'] must vary" in err


@pytest.mark.parametrize("argv, message", [
    (["--fit", "liao2022.thm3"], "--fit must be THEOREM:KEY"),
    (["--fit", "nosuch.thm:error"], "unknown theorem 'nosuch.thm'"),
    (["--fit", "liao2022.thm3:nokey"], "liao2022.thm3 has no expression 'nokey'"),
    (["--fit", "liao2022.thm3:width"], "--measured COLUMN is required"),
    (["--fit", "liao2022.thm3:error_variance", "--measured", "nosuch"], "`measured` must be a column"),
    (["--measured", "plateau"], "--measured only apply with --fit"),
])
def test_cli_bad_fit_is_one_line_exit_2(store, tmp_path, capsys, argv, message):
    rep = tmp_path / "rep"
    code = main(["sweep-report", str(store), "--out", str(rep), "--formats", "png", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("ntkcheck sweep-report: error: ") and message in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert not rep.exists()  # a bad --fit stops the command before anything is written
