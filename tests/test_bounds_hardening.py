"""Issue 11 findings in `bounds`: one-way imports, expansion and overflow refused structurally,
theorem files bounded (special files, size, encoding, TOML depth).

No test measures time: the parser refuses `(n + m)**(10**6)` before SymPy could expand it,
solve_for hands sympy.solve only shapes it solves at once, and a huge symbolic exponent is
evaluated in floating point; the tests check those decisions.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
import sympy as sp

import bounds
from bounds import ParseError, parse_expression
from bounds import symbols as S
from bounds._solve import symbolic_ok
from bounds.loader import MAX_FILE_BYTES
from bounds.parse import MAX_EXPONENT, MAX_NODES

ROOT = Path(bounds.__file__).parent
NAMES = {"n": S.n, "m": S.m, "k": S.k, "lambda_0": S.lambda_0, "delta": S.delta}

HEAD = """
name = "adversary.thm"
citation = "nobody"
provenance = "PAPER"
confidence = "high"
hypotheses = ["m >= width"]

[symbols]
n = { positive = true, integer = true }
m = { positive = true, integer = true }

[expressions]
"""




def _imports(module: str) -> set:
    tree = ast.parse((ROOT / f"{module}.py").read_text())
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}


# -- import structure -------------------------------------------------------------------
def test_parser_and_theorem_import_one_way():
    """theorem -> parse, loader -> (parse, theorem); parse imports neither (no cycle)."""
    assert "parse" in _imports("theorem")
    assert not {"theorem", "loader", "registry"} & _imports("parse")
    assert {"parse", "theorem"} <= _imports("loader")
    assert "loader" not in _imports("theorem")


def test_no_eval_in_the_loader_either():
    text = (ROOT / "loader.py").read_text() + (ROOT / "_toml.py").read_text()
    for banned in ("eval(", "exec(", "sympify(", "parse_expr("):
        assert banned not in text, banned


# -- expansion ----------------------------------------------------------------------------
@pytest.mark.parametrize("text,message", [
    ("(n + m)**(10**6)", rf"the power \(m \+ n\)\*\*\(1000000\) has an exponent above {MAX_EXPONENT}"),
    ("(n + m)**65", rf"the power .* has an exponent above {MAX_EXPONENT}"),
    ("n**(-65)", rf"the power \(n\)\*\*\(-65\) has an exponent above {MAX_EXPONENT}"),
    ("((n + m)**40)**2", r"the power \(m \+ n\)\*\*\(80\) has an exponent above"),  # combined
    ("(n + m)**40 * (n + m)**40", r"the power \(m \+ n\)\*\*\(80\)"),
    ("exp(exp(n))", "exponential towers"),
    ("2**(2**n)", "exponential towers"),
    ("n**(m**k)", "exponential towers"),
    ("exp(n**m)", "exponential towers"),
])
def test_expansion_is_refused_before_sympy_expands(text, message):
    with pytest.raises(ParseError, match=r"^file\.toml: expressions\.width: " + message):
        parse_expression(text, NAMES, field="file.toml: expressions.width")


@pytest.mark.parametrize("text", ["(n + m)**64", "n**(1/1000)", "(1 - 1/n)**k", "n**m",
                                  "exp(-n * m)", "sqrt(n)**63", "exp(n) * 2**m"])
def test_large_but_bounded_forms_are_allowed(text):
    assert parse_expression(text, NAMES).free_symbols


def test_file_with_the_reported_formula_names_file_and_field(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text(HEAD + 'width = "(n+m)**(10**6)"\n')
    with pytest.raises(ParseError, match=r"big\.toml: expressions\.width: the power "
                                         r"\(m \+ n\)\*\*\(1000000\) has an exponent above 64"):
        bounds.load(path)


def test_names_cannot_double_the_size_at_every_step():
    body = 'a0 = "n + m"\n' + "".join(f'a{i} = "a{i - 1} * n + a{i - 1} * m"\n' for i in range(1, 30))
    with pytest.raises(ParseError, match=rf"expressions\.a\d+: the expression is too large "
                                         rf"\(more than {MAX_NODES} nodes"):
        bounds.loads(HEAD + body + 'width = "a29"\n')
    body = 'a0 = "n + m"\n' + "".join(f'a{i} = "a{i - 1}**2"\n' for i in range(1, 30))
    with pytest.raises(ParseError, match=r"expressions\.a7: the power \(m \+ n\)\*\*\(128\)"):
        bounds.loads(HEAD + body + 'width = "a29"\n')


def test_hypothesis_sides_are_measured_too():
    with pytest.raises(ParseError, match="hypotheses\\[0\\]: the power"):
        bounds.loads(HEAD.replace('"m >= width"', '"m >= n**100"') + 'width = "n"\n')


# -- solve: sympy.solve only where it is quick --------------------------------------------
def test_symbolic_solve_only_for_quick_shapes():
    x = sp.Symbol("x", positive=True)
    assert symbolic_ok(10**12 - 625 * x**6, x)                 # binomial: m >= C n^6 ...
    assert symbolic_ok(sp.Rational(1, 1000) - x / 100, x)      # linear
    assert symbolic_ok(3 - x**2 - x, x)                        # quadratic
    assert symbolic_ok(4 - 2 / sp.sqrt(x), x)                  # binomial with a rational power
    assert not symbolic_ok(4 - (x + 4)**6, x)                  # sympy.solve: minutes
    assert not symbolic_ok(4 - (x + 4)**4 - 3 * x**sp.Rational(3, 2), x)
    assert not symbolic_ok(sp.Integer(3)**200 - (x + sp.Integer(2)**300)**4, x)  # huge coefficients
    assert not symbolic_ok(1000 - x**2 * sp.log(x), x)         # transcendental: numeric scan


def test_solve_on_a_degree_60_requirement_uses_the_numeric_scan():
    thm = bounds.loads(HEAD + 'width = "(n + 1)**60"\n')
    bound = thm.solve_for("width", "n", m=10**30)
    assert bound.relation == "<=" and bound.value == pytest.approx(10**0.5 - 1, rel=1e-9)
    with pytest.raises(ValueError, match="no admissible solution"):
        bounds.loads(HEAD + 'width = "(n + m)**60 + n**59 * m"\n').solve_for("width", "n", m=4)


# -- evaluation: no huge exact numbers, no overflow ---------------------------------------
def test_huge_symbolic_exponent_is_evaluated_in_floating_point():
    thm = bounds.get("du2019.thm4_1")
    # (1 - eta lambda_0 / 2)**k with k = 10**9: exactly, 10**10 bits; in floats, 0.0
    value = thm.evaluate("loss_bound", k=10**9, eta=sp.Rational(1, 1000), lambda_0=sp.Rational(1, 3),
                         r0=1)
    assert value == 0.0
    assert thm.evaluate("loss_bound", k=10, eta=0.5, lambda_0=1, r0=1) == pytest.approx(0.75**10)
    report = bounds.get("liao2022.cor1").check_hypotheses(e_K=10**6, K=10**6, n=10, m=10**6,
                                                          lambda_0=0.5, delta=0.1, kappa=1, xi=0.5)
    assert report.violated
    with pytest.raises(ValueError, match="makes an exponent larger than 1000"):
        thm.subs("cor", k=10**9)


def test_overflow_is_an_error_naming_theorem_and_key():
    thm = bounds.get("du2019.thm4_1")
    with pytest.raises(ValueError, match=r"^du2019\.thm4_1\['width'\]: the value is beyond the "
                                         r"float range"):
        thm.evaluate("width", n=10**300, lambda_0=1, delta=0.1)
    user = bounds.loads(HEAD + 'width = "exp(n)"\n')
    with pytest.raises(ValueError, match=r"adversary\.thm\['width'\]: the value is beyond the float"):
        user.evaluate("width", n=10**6)
    with pytest.raises(ValueError, match=r"`n` must have at most 20000 bits"):
        thm.evaluate("width", n=2**30000, lambda_0=1, delta=0.1)


def test_cli_evaluate_and_solve_refuse_in_one_line(tmp_path, capsys, monkeypatch):
    from ntkcheck import cli

    monkeypatch.setattr(cli, "COMMAND_MODULES", ("bounds",))
    (tmp_path / "big.toml").write_text(HEAD + 'width = "(n+m)**(10**6)"\n')
    for argv in (["bounds", "solve", str(tmp_path / "big.toml"), "width", "n", "m=4"],
                 ["bounds", "evaluate", str(tmp_path / "big.toml"), "width", "n=3", "m=4"],
                 ["bounds", "show", "--file", str(tmp_path / "big.toml")]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("ntkcheck bounds: error: ") and "has an exponent above 64" in err
    assert cli.main(["bounds", "evaluate", "du2019.thm4_1", "width", "n=10**300", "lambda_0=1",
                     "delta=0.1"]) == 2
    assert "beyond the float range" in capsys.readouterr().err


# -- theorem files ------------------------------------------------------------------------
def test_theorem_file_must_be_a_small_regular_utf8_file(tmp_path, no_hang):
    os.mkfifo(tmp_path / "fifo.toml")
    with pytest.raises(ParseError, match=r"fifo\.toml: the theorem file is not a regular file"):
        bounds.load(tmp_path / "fifo.toml")
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(ParseError, match=r"dir\.toml: the theorem file is a directory"):
        bounds.load(tmp_path / "dir.toml")
    with open(tmp_path / "big.toml", "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ParseError, match=rf"big\.toml: the theorem file has {MAX_FILE_BYTES + 1} "
                                         rf"bytes, more than the {MAX_FILE_BYTES} allowed"):
        bounds.load(tmp_path / "big.toml")
    (tmp_path / "latin1.toml").write_bytes(HEAD.encode() + b'width = "n" # \xe9\n')
    with pytest.raises(ParseError, match=r"latin1\.toml: not UTF-8 text"):
        bounds.load(tmp_path / "latin1.toml")


@pytest.mark.parametrize("extra,found", [
    ("deep = " + "[" * 3000 + "]" * 3000 + "\n", "3000 levels of brackets"),
    ("notes = " + "{a = " * 20 + "1" + "}" * 20 + "\n", "20 levels of brackets"),
])
def test_deep_toml_in_a_theorem_file(extra, found):
    with pytest.raises(ParseError, match=rf"^<string>: the TOML document is nested too deeply "
                                         rf"\({found}; at most 8"):
        bounds.loads(extra + HEAD + 'width = "n"\n')


def test_comparison_with_a_non_real_number_is_a_parse_error():
    """Found by the fuzz suite: SymPy raised TypeError for `m >= sqrt(log(1/2))`."""
    with pytest.raises(ParseError, match=r"hypotheses\[0\]: cannot compare `m` with "
                                         r"`I\*sqrt\(log\(2\)\)`"):
        bounds.loads(HEAD.replace('"m >= width"', '"m >= (log(0.5))**0.5"') + 'width = "n"\n')


@pytest.mark.parametrize("text", ["floor(exp(1e308))", "floor(exp(999999999999999999999999999999))",
                                  "floor(n + exp(10**30))", "ceiling(exp(exp(10)))",
                                  "max(exp(10**30), n)"])
def test_huge_numbers_inside_formulas_are_refused(text):
    """SymPy takes exact integer parts of numbers in floor(); exp(10**30) there never ends."""
    with pytest.raises(ParseError, match=r"^expressions\.width: (number too large|cannot build)"):
        parse_expression(text, NAMES, field="expressions.width")


def test_exact_integer_parts_at_huge_values_are_errors():
    thm = bounds.loads(HEAD + 'width = "floor(n * exp(m))"\n')
    assert thm.evaluate("width", n=3, m=10) == 66079.0
    with pytest.raises(ValueError, match=r"adversary\.thm\['width'\]: (a value is too large|the "
                                         r"value is beyond the float range)"):
        thm.evaluate("width", n=3, m=10**30)
    with pytest.raises(ValueError, match=r"adversary\.thm: m >= floor\(n\*exp\(m\)\): a value is "
                                         r"too large to compute"):
        thm.check_hypotheses(n=3, m=10**30)
