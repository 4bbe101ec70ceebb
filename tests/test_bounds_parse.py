"""Safe formula parser and TOML loader: round trips, refusals, error messages naming fields."""

from __future__ import annotations

import builtins
from importlib import resources

import pytest
import sympy as sp

import bounds
from bounds import ParseError, parse_expression
from bounds import symbols as S
from bounds.parse import parse_hypothesis

NAMES = {"n": S.n, "m": S.m, "lambda_0": S.lambda_0, "delta": S.delta, "xi": S.xi}

MINIMAL = """
name = "user.thm"
citation = "Someone (2024), Thm 1"
provenance = "PAPER"
confidence = "high"
hypotheses = ["m >= width"]

[symbols]
n = { positive = true, integer = true }
m = { positive = true, integer = true }
lambda_0 = { positive = true }

[constants]
c_width = 2

[expressions]
width = "c_width * n**2 / lambda_0**2"
"""


def example_path():
    return resources.files("bounds") / "examples" / "du2019_thm41.toml"


# -- the parser --------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("n**2 / 2", S.n**2 / 2),
    ("-n + 3*m", -S.n + 3 * S.m),
    ("0.1 * n", sp.Rational(1, 10) * S.n),            # decimals are exact
    ("log(n / delta)", sp.log(S.n / S.delta)),
    ("log(n, 2)", sp.log(S.n, 2)),
    ("ln(n)", sp.log(S.n)),
    ("sqrt(n) * exp(-xi**2 / 2)", sp.sqrt(S.n) * sp.exp(-S.xi**2 / 2)),
    ("min(n, m) + max(n, m, 3)", sp.Min(S.n, S.m) + sp.Max(S.n, S.m, 3)),
    ("abs(n - m) + floor(xi) + ceiling(xi)", sp.Abs(S.n - S.m) + sp.floor(S.xi)
     + sp.ceiling(S.xi)),
    ("pi * n", sp.pi * S.n),
    ("+n", S.n),
])
def test_parse_allowed(text, expected):
    assert parse_expression(text, NAMES) == expected


def test_parse_hypothesis_chains_and_drops_implied_links():
    assert parse_hypothesis("m >= n**2", NAMES) == (S.m >= S.n**2,)
    # 0 < xi holds by the assumption positive=True and is dropped
    assert parse_hypothesis("0 < xi <= 1", NAMES) == (S.xi <= 1,)
    assert parse_hypothesis("n != m", NAMES) == (sp.Ne(S.n, S.m),)


@pytest.mark.parametrize("name", sorted(bounds.names()))
def test_every_builtin_expression_round_trips(name):
    """str() of each built-in expression parses back to the same expression."""
    thm = bounds.get(name)
    names = {s.name: s for s in thm.symbols}
    for key in thm.keys():
        assert parse_expression(str(thm[key]), names) == thm[key], key
    for hyp in thm.hypotheses:
        assert parse_hypothesis(str(hyp), names) == (hyp,)


@pytest.mark.parametrize("text,message", [
    ("__import__('os').system('echo pwned')", "only direct calls of whitelisted functions"),
    ("__import__('os')", r"the function `__import__` is not allowed"),
    ("eval('1')", r"the function `eval` is not allowed"),
    ("n.__class__", "attribute access not allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "only direct calls"),
    ("n[0]", "subscripts not allowed"),
    ("(lambda: 1)()", "only direct calls"),
    ("lambda x: x", "lambdas not allowed"),
    ("[n for n in (1, 2)]", "comprehensions not allowed"),
    ("n if m else 1", "conditional expressions not allowed"),
    ("n and m", r"boolean operators \(and/or\) not allowed"),
    ("'abc'", "the literal 'abc' is not allowed"),
    ("True", "the literal True is not allowed"),
    ("1j", "the literal 1j is not allowed"),
    ("n // 2", "the operator `FloorDiv` is not allowed"),
    ("n % 2", "the operator `Mod` is not allowed"),
    ("n ^ 2", "the operator `BitXor` is not allowed"),
    ("~n", "the unary operator `Invert` is not allowed"),
    ("not n", "the unary operator `Not` is not allowed"),
    ("log(n, base=2)", "keyword arguments are not allowed"),
    ("sqrt(n, m)", r"`sqrt` takes 1 argument\(s\), got 2"),
    ("max(n)", r"`max` takes 2 or more argument\(s\), got 1"),
    ("foo * n", "unknown name `foo`"),
    ("log", "the function `log` must be called"),
    ("n(2)", "the function `n` is not allowed"),
    ("m >= n", "comparisons are only allowed in hypotheses"),
    ("n +", "syntax error"),
    ("", "empty formula"),
    ("1 / 0", "division by zero"),
    ("0**-1", "division by zero"),
    ("10**10**10", "number too large"),
    ("(2**15000) * (2**15000)", "number too large"),
    ("1e999", "non-finite number"),
    ("f'{n}'", "f-strings not allowed"),
    ("(x := 3)", "assignment expressions not allowed"),
    ("-" * 100 + "n", "nesting deeper than"),
    ("n + " * 600 + "n", "formula longer than"),
])
def test_parse_refuses(text, message):
    with pytest.raises(ParseError, match=r"^expressions\.width: " + message):
        parse_expression(text, NAMES, field="expressions.width")


def test_parser_never_evaluates(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec/sympify called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(sp, "sympify", forbidden)
    assert parse_expression("sqrt(n) * log(n / delta) / lambda_0**2", NAMES) == (
        sp.sqrt(S.n) * sp.log(S.n / S.delta) / S.lambda_0**2)
    with pytest.raises(ParseError):
        parse_expression("__import__('os').system('echo pwned')", NAMES)


def test_hypothesis_refusals():
    with pytest.raises(ParseError, match=r"^hypotheses\[0\]: a hypothesis must be a comparison"):
        parse_hypothesis("m - n", NAMES, field="hypotheses[0]")
    with pytest.raises(ParseError, match="contradicts the declared assumptions"):
        parse_hypothesis("n < 0", NAMES)
    with pytest.raises(ParseError, match="must involve declared symbols"):
        parse_hypothesis("1 < 2", NAMES)
    with pytest.raises(ParseError, match="always holds"):
        parse_hypothesis("0 < n", NAMES)
    with pytest.raises(ParseError, match="the comparison `Is` is not allowed"):
        parse_hypothesis("n is m", NAMES)


# -- TOML files ---------------------------------------------------------------------------
def test_example_file_matches_the_builtin():
    user = bounds.load(example_path())
    builtin = bounds.get("du2019.thm4_1")
    assert user.name == "example.du2019_thm41" and user.provenance == "PAPER"
    for key in user.keys():
        assert sp.simplify(user[key] - builtin[key]) == 0, key
    assert user.hypotheses == builtin.hypotheses
    assert user.evaluate("width", n=10, lambda_0=0.5, delta=0.1) == pytest.approx(1.6e10)
    assert user.solve_for("width", "m", n=10, lambda_0=0.5, delta=0.1).integer == 16 * 10**9
    # built-in names resolve to the built-in symbols (same assumptions)
    assert all(s is S.SYMBOLS[s.name] for s in user.symbols)


def test_loads_minimal_and_new_symbols():
    t = bounds.loads(MINIMAL)
    assert t.evaluate("width", n=10, lambda_0=0.5) == pytest.approx(800.0)
    assert t.check_hypotheses(m=100, n=10, lambda_0=0.5).violated
    custom = bounds.loads(MINIMAL.replace("lambda_0 = { positive = true }",
                                          "lambda_0 = { positive = true }\nrho = {}")
                          .replace('width = "', 'other = "rho**2"\nwidth = "'))
    rho = custom.symbol("rho")
    assert rho.is_real and rho not in S.SYMBOLS.values()


def test_expressions_may_use_earlier_expressions():
    t = bounds.loads(MINIMAL + 'twice = "2 * width"\n')
    assert sp.simplify(t["twice"] - 2 * t["width"]) == 0


def _broken(old, new):
    assert old in MINIMAL
    return MINIMAL.replace(old, new)


BROKEN_FILES = [
    ("name = [", "invalid TOML"),
    (_broken('name = "user.thm"\n', ""), r"name: missing required field"),
    (_broken('provenance = "PAPER"', 'provenance = "paper"'), r"provenance: must be one of"),
    (_broken('confidence = "high"', 'confidence = "low"'), r"confidence: must be one of"),
    (_broken('citation = "Someone (2024), Thm 1"', 'citation = 3'),
     r"citation: must be a non-empty string"),
    (MINIMAL + "\n[extra]\nx = 1\n", r"\(top level\): unknown field\(s\) \['extra'\]"),
    (_broken('"c_width * n**2 / lambda_0**2"', '"__import__(\'os\').system(\'ls\')"'),
     r"expressions\.width: only direct calls"),
    (_broken('"c_width * n**2 / lambda_0**2"', '"c_width * d"'),
     r"expressions\.width: unknown name `d`"),
    (_broken('"c_width * n**2 / lambda_0**2"', '"n.real"'),
     r"expressions\.width: attribute access not allowed"),
    (_broken('"c_width * n**2 / lambda_0**2"', 'true'),
     r"expressions\.width: expected a formula string, got bool True"),
    (_broken('["m >= width"]', '["m >= widht"]'), r"hypotheses\[0\]: unknown name `widht`"),
    (_broken('["m >= width"]', '"m >= width"'), r"hypotheses: must be a list of strings"),
    (_broken('["m >= width"]', '["m - width"]'), r"hypotheses\[0\]: a hypothesis must be"),
    (_broken("n = { positive = true, integer = true }", "n = { postive = true }"),
     r"symbols\.n: unknown assumption\(s\) \['postive'\]"),
    (_broken("n = { positive = true, integer = true }", 'n = "positive"'),
     r"symbols\.n: must be a table of assumptions"),
    (_broken("n = { positive = true, integer = true }", "n = { positive = 1 }"),
     r"symbols\.n: assumption values must be true or false"),
    (_broken("n = { positive = true, integer = true }", "n = { positive = true }"),
     r"symbols\.n: `n` is a built-in symbol declared with"),
    (_broken("lambda_0 = { positive = true }", "lambda_0 = { positive = true }\n"
                                               "__class__ = { positive = true }"),
     r"symbols\.__class__: '__class__' is not an allowed name"),
    (_broken("lambda_0 = { positive = true }", "lambda_0 = { positive = true }\n"
                                               "log = { positive = true }"),
     r"symbols\.log: 'log' is not an allowed name"),
    (_broken("c_width = 2", "c_width = -2"), r"constants\.c_width: a constant must be a positive"),
    (_broken("c_width = 2", 'c_width = "n"'), r"constants\.c_width: unknown name `n`"),
    (_broken("c_width = 2", "c_width = 2\nd = 3"), r"constants\.d: 'd' is a built-in variable"),
    (_broken("c_width = 2", "c_width = 2\nn = 3"), r"constants\.n: the name 'n' is declared twice"),
    (_broken("[expressions]", "[expressions]\nn = \"2\""),
     r"expressions\.n: the name 'n' is declared twice"),
    (_broken('width = "c_width * n**2 / lambda_0**2"', ""),
     r"expressions: at least one expression is required"),
]


@pytest.mark.parametrize("text,message", BROKEN_FILES, ids=[m for _, m in BROKEN_FILES])
def test_malformed_files_name_the_field(text, message):
    with pytest.raises(ParseError, match=r"^<string>: " + message):
        bounds.loads(text)


def test_load_reports_the_path(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL.replace('"c_width * n**2 / lambda_0**2"', '"exec(1)"'))
    with pytest.raises(ParseError, match=r"bad\.toml: expressions\.width: the function `exec`"):
        bounds.load(bad)
    with pytest.raises(FileNotFoundError):
        bounds.load(tmp_path / "missing.toml")


def test_register_a_loaded_theorem():
    t = bounds.loads(MINIMAL.replace("user.thm", "user.thm_registered"))
    try:
        bounds.register(t)
        assert bounds.get("user.thm_registered") is t
        with pytest.raises(ValueError, match="already registered"):
            bounds.register(t)
    finally:
        from bounds import registry

        registry._REGISTRY.pop("user.thm_registered", None)


def test_get_unknown_name_suggests():
    with pytest.raises(KeyError, match=r"unknown theorem 'du2019.thm41'. Did you mean "
                                       r"\['du2019.thm4_1'"):
        bounds.get("du2019.thm41")
