"""``ntkcheck bounds`` through ``ntkcheck.cli.main``: exit codes and output."""

from __future__ import annotations

from importlib import resources

import pytest

import bounds
from ntkcheck import cli


@pytest.fixture
def main(monkeypatch):
    # Register only this command so the test does not depend on the other sub-commands.
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("bounds",))
    return cli.main


EXAMPLE = str(resources.files("bounds") / "examples" / "du2019_thm41.toml")
DZPS = ["n=10", "lambda_0=1/2", "delta=0.1"]


def test_list(main, capsys):
    assert main(["bounds", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == list(bounds.names())
    assert main(["bounds", "list", "--provenance", "STRUCT"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names and all(n.startswith("liao2022.") for n in names)


def test_show_plain_and_latex(main, capsys):
    assert main(["bounds", "show", "du2019.thm4_1"]) == 0
    out = capsys.readouterr().out
    assert "du2019.thm4_1  [PAPER, confidence high]" in out
    assert "width = c_width*n**6/(delta**3*lambda_0**4)" in out
    assert main(["bounds", "show", "du2019.thm4_1", "--latex"]) == 0
    out = capsys.readouterr().out
    assert r"width = \frac{c_{width} n^{6}}{\delta^{3} \lambda_{0}^{4}}" in out
    assert r"m \geq \frac{c_{width} n^{6}}{\delta^{3} \lambda_{0}^{4}}" in out


def test_show_claims(main, capsys):
    assert main(["bounds", "show", "liao2022.cor2", "--claims"]) == 0
    out = capsys.readouterr().out
    assert "template" in out and out.count("[holds]") == 3 and "FAILS" not in out


def test_show_file(main, capsys):
    assert main(["bounds", "show", "--file", EXAMPLE]) == 0
    assert "example.du2019_thm41" in capsys.readouterr().out


def test_evaluate(main, capsys):
    assert main(["bounds", "evaluate", "du2019.thm4_1", "width", *DZPS]) == 0
    assert float(capsys.readouterr().out) == pytest.approx(1.6e10)
    assert main(["bounds", "evaluate", EXAMPLE, "step_size", "n=10", "lambda_0=0.5"]) == 0
    assert float(capsys.readouterr().out) == pytest.approx(0.005)


def test_check_exit_code_reflects_violation(main, capsys):
    assert main(["bounds", "check", "du2019.thm4_1", "m=1000", *DZPS]) == 1
    out = capsys.readouterr().out
    assert "1 violated" in out and "[violated] m >= " in out
    assert main(["bounds", "check", "du2019.thm4_1", "m=20000000000", "eta=0.001", *DZPS]) == 0
    assert "3 satisfied, 0 violated" in capsys.readouterr().out


def test_solve(main, capsys):
    assert main(["bounds", "solve", "du2019.thm4_1", "width", "m", *DZPS]) == 0
    assert capsys.readouterr().out.strip() == "m >= 1.6e+10 (integer: 16000000000)"


@pytest.mark.parametrize("argv,message", [
    (["bounds", "show", "nope"], "unknown theorem 'nope'"),
    (["bounds", "show"], "give either a theorem NAME or --file PATH"),
    (["bounds", "evaluate", "du2019.thm4_1", "width", "n=10"], r"missing value\(s\)"),
    (["bounds", "evaluate", "du2019.thm4_1", "width", "n10"], "values must look like name=value"),
    (["bounds", "evaluate", "du2019.thm4_1", "width", "n=__import__('os')"],
     "the function `__import__` is not allowed"),
    (["bounds", "evaluate", "du2019.thm4_1", "widht", *DZPS], "no expression 'widht'"),
    (["bounds", "evaluate", "du2019.thm4_1", "width", "lam=1", *DZPS], r"unknown symbol\(s\)"),
    (["bounds", "show", "--file", "/nonexistent/x.toml"], "No such file"),
    (["bounds", "show", "du2019.thm4_1", "--file", EXAMPLE], "not both"),
    (["bounds", "check", "/nonexistent/x.toml", "n=1"], "No such file"),
])
def test_bad_arguments_exit_2(main, capsys, argv, message):
    import re

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("ntkcheck bounds: error: ") and re.search(message, err), err


def test_bare_bounds_prints_usage(main, capsys):
    assert main(["bounds"]) == 2
    assert "list" in capsys.readouterr().err
