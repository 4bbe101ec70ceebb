"""`ntkcheck run` end to end: flags and TOML config, files written, exit codes."""

from __future__ import annotations

import json

from ntkcheck.cli import main

FLAGS = ["sphere:n=12,d=4,seed=0", "--scheme", "ist-categorical", "--p", "2", "--tau", "2",
         "--width", "64", "--steps", "10", "--seeds", "2", "--identity-samples", "200", "--quiet"]


def test_run_with_flags(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", *FLAGS, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "liao2022.thm4" in text and "exact identities" in text and "[FAIL]" not in text
    rep = json.loads((out / "report.json").read_text())
    assert rep["config"]["scheme"] == "ist-categorical" and rep["config"]["seeds"] == [0, 1]
    assert {i["identity"] for i in rep["identities"]} >= {"1", "2", "3", "4", "5a", "5b", "5c", "6", "engine"}
    for f in ("config.toml", "report.html", "report.md", "seeds/seed_1/trajectory.csv", "figures/loss.pdf"):
        assert (out / f).exists(), f


def test_run_from_config_with_override(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('data = "sphere:n=10,d=3,seed=1"\nscheme = "dropout"\nxi = 0.5\nm = 48\n'
                   'steps = 6\nseeds = [3]\nidentity_samples = 0\n')
    out = tmp_path / "r"
    assert main(["run", "--config", str(cfg), "--steps", "4", "--out", str(out), "--quiet", "--no-plots"]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["config"]["steps"] == 4 and rep["config"]["seeds"] == [3] and rep["config"]["xi"] == 0.5
    assert not (out / "figures").exists()


def test_run_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["run", "sphere:n=10,d=3", "--scheme", "sgd", "--out", str(tmp_path / "x")]) == 2
    assert "`scheme` must be one of" in capsys.readouterr().err
    assert main(["run", "--seeds", "a,b", "--out", str(tmp_path / "x")]) == 2
    assert "`seeds` must be a count N or a comma-separated list of integers, got 'a,b'" in capsys.readouterr().err
    (tmp_path / "bad.toml").write_text("nope = 1\n")
    assert main(["run", "--config", str(tmp_path / "bad.toml")]) == 2
    assert "unknown key(s) ['nope']" in capsys.readouterr().err


def test_run_that_diverges_exits_1_and_says_so(tmp_path, capsys):
    out = tmp_path / "r"
    code = main(["run", "sphere:n=10,d=3,seed=0", "--scheme", "gd", "--eta", "20", "--steps", "200", "--width", "20",
                 "--seeds", "1", "--identity-samples", "0", "--no-plots", "--quiet", "--out", str(out)])
    assert code == 1
    rep = json.loads((out / "report.json").read_text())
    assert rep["seeds"][0]["status"] == "diverged" and rep["seeds"][0]["steps"] < 200
    assert "diverged" in rep["seeds"][0]["message"]
