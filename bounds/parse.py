"""Safe formula parser and TOML loader for user theorems (:func:`load`, :func:`loads`).

Formulas are parsed with :func:`ast.parse` and the syntax tree is walked against a whitelist
that builds SymPy objects directly.  Nothing is ever evaluated by Python (no ``eval``,
``sympify`` or ``parse_expr``, all of which call ``eval``).  Allowed:

* numbers: integers, decimals (read as exact rationals: ``0.1`` -> 1/10);
* names declared in the file (symbols, constants, earlier expressions) and ``pi``;
* ``+ - * / **``, unary ``-``/``+``, parentheses;
* the functions ``log(x)``, ``log(x, base)``, ``ln``, ``exp``, ``sqrt``, ``abs``, ``min``,
  ``max``, ``floor``, ``ceiling`` (positional arguments only);
* comparisons ``< <= > >= == !=`` in hypotheses only; a chain ``0 < xi <= 1`` gives one
  hypothesis per link, and links implied by the declared assumptions (``0 < xi`` for a
  positive ``xi``) are dropped.

Everything else — attribute access, subscripts, lambdas, other calls, keyword arguments,
strings, containers, ``//``, ``%``, bit operations, boolean operators — is rejected with a
:class:`ParseError` that names the field (``expressions.width: ...``).  Sizes are bounded
(formula length, nesting depth, bits of exact numbers) so a file cannot exhaust memory.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from pathlib import Path
from typing import Mapping, Union

import sympy as sp
from sympy.core.relational import Relational

from . import symbols as _symbols
from .theorem import CONFIDENCES, PROVENANCES, Theorem

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["ParseError", "parse_expression", "parse_hypothesis", "load", "loads",
           "FUNCTIONS", "TOP_LEVEL_FIELDS"]

MAX_LENGTH = 2000   # characters per formula
MAX_DEPTH = 60      # nesting depth of the syntax tree
MAX_BITS = 20000    # bits of numerator / denominator of any exact number

#: Whitelisted functions: name -> (SymPy function, min args, max args or None).
FUNCTIONS = {
    "log": (sp.log, 1, 2), "ln": (sp.log, 1, 1), "exp": (sp.exp, 1, 1),
    "sqrt": (sp.sqrt, 1, 1), "abs": (sp.Abs, 1, 1), "min": (sp.Min, 2, None),
    "max": (sp.Max, 2, None), "floor": (sp.floor, 1, 1), "ceiling": (sp.ceiling, 1, 1),
}
_NAMED_CONSTANTS = {"pi": sp.pi}
_RESERVED = set(FUNCTIONS) | set(_NAMED_CONSTANTS)
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")

_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b}
_COMPARE = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Eq: sp.Eq,
            ast.NotEq: sp.Ne}
_OP_TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
            ast.NotEq: "!="}
_REFUSED = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambdas",
    ast.BoolOp: "boolean operators (and/or)", ast.IfExp: "conditional expressions",
    ast.NamedExpr: "assignment expressions", ast.Starred: "starred arguments",
    ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions",
    ast.JoinedStr: "f-strings", ast.Await: "await", ast.Yield: "yield",
}

#: Fields of a theorem TOML file.
TOP_LEVEL_FIELDS = ("name", "citation", "provenance", "confidence", "notes", "hypotheses",
                    "symbols", "constants", "expressions")
_REQUIRED = ("name", "citation", "provenance", "confidence", "expressions")


class ParseError(ValueError):
    """A theorem file or formula is malformed or uses something outside the whitelist."""


def parse_expression(text: str, names: Mapping[str, sp.Expr], *,
                     field: str = "expression") -> sp.Expr:
    """Parse the formula `text` into a SymPy expression, allowing only `names`.

    Parameters
    ----------
    text : str
        A formula such as ``"c_width * n**6 / (lambda_0**4 * delta**3)"``.
    names : mapping of str to sympy Expr
        The names the formula may use (symbols, constants, earlier expressions).
    field : str
        Where the formula comes from; it prefixes every error message.

    Raises
    ------
    ParseError
        For syntax errors and anything outside the whitelist (module docstring).

    Examples
    --------
    >>> from bounds.symbols import n
    >>> parse_expression("n**2 / 2", {"n": n})
    n**2/2
    """
    result = _Builder(text, names, field).build(relational=False)
    return result


def parse_hypothesis(text: str, names: Mapping[str, sp.Expr], *,
                     field: str = "hypothesis") -> tuple[Relational, ...]:
    """Parse a comparison (or a chain ``a < b <= c``) into SymPy relationals.

    Raises
    ------
    ParseError
        If `text` is not a comparison, uses anything outside the whitelist, or is
        always true / always false.
    """
    return _Builder(text, names, field).build(relational=True)


class _Builder:
    """Walks a Python syntax tree against the whitelist and builds SymPy objects."""

    def __init__(self, text, names, field):
        self.text, self.names, self.field = text, dict(names), field

    def fail(self, problem: str):
        raise ParseError(f"{self.field}: {problem} in {self.text!r}")

    def build(self, *, relational: bool):
        if not isinstance(self.text, str):
            raise ParseError(f"{self.field}: expected a formula string, got "
                             f"{type(self.text).__name__} {self.text!r}")
        if len(self.text) > MAX_LENGTH:
            raise ParseError(f"{self.field}: formula longer than {MAX_LENGTH} characters")
        if not self.text.strip():
            raise ParseError(f"{self.field}: empty formula")
        try:
            tree = ast.parse(self.text.strip(), mode="eval")
        except SyntaxError as exc:
            self.fail(f"syntax error ({exc.msg})")
        except (ValueError, RecursionError, MemoryError) as exc:
            self.fail(f"cannot parse ({type(exc).__name__})")
        body = tree.body
        if relational:
            if not isinstance(body, ast.Compare):
                self.fail("a hypothesis must be a comparison such as `m >= width`")
            return self.compare(body)
        if isinstance(body, ast.Compare):
            self.fail("comparisons are only allowed in hypotheses")
        return self.expr(body, 0)

    def compare(self, node: ast.Compare) -> tuple:
        sides = [self.expr(node.left, 1)] + [self.expr(c, 1) for c in node.comparators]
        out = []
        for i, op in enumerate(node.ops):
            rel = _COMPARE.get(type(op))
            if rel is None:
                self.fail(f"the comparison `{type(op).__name__}` is not allowed "
                          f"(use < <= > >= == !=)")
            lhs, rhs = sides[i], sides[i + 1]
            if not (lhs.free_symbols or rhs.free_symbols):
                self.fail("a hypothesis must involve declared symbols")
            value = rel(lhs, rhs)
            if value is sp.false:
                self.fail(f"`{lhs} {_OP_TEXT[type(op)]} {rhs}` contradicts the declared "
                          f"assumptions")
            if value is not sp.true:  # links implied by the assumptions are dropped
                out.append(value)
        if not out:
            self.fail("the hypothesis always holds given the declared assumptions")
        return tuple(out)

    def expr(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            self.fail(f"nesting deeper than {MAX_DEPTH}")
        if isinstance(node, ast.Constant):
            return self.constant(node.value)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.BinOp):
            left, right = self.expr(node.left, depth + 1), self.expr(node.right, depth + 1)
            if isinstance(node.op, ast.Pow):
                return self.checked(self.power(left, right))
            op = _BINOPS.get(type(node.op))
            if op is None:
                self.fail(f"the operator `{type(node.op).__name__}` is not allowed "
                          f"(use + - * / **)")
            if isinstance(node.op, ast.Div) and right == 0:
                self.fail("division by zero")
            return self.checked(op(left, right))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.expr(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return self.expr(node.operand, depth + 1)
            self.fail(f"the unary operator `{type(node.op).__name__}` is not allowed")
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Compare):
            self.fail("comparisons are only allowed at the top level of a hypothesis")
        what = _REFUSED.get(type(node), f"`{type(node).__name__}` syntax")
        self.fail(f"{what} not allowed; only numbers, declared symbols, + - * / **, and "
                  f"the functions {sorted(FUNCTIONS)} are")

    def constant(self, value) -> sp.Expr:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"the literal {value!r} is not allowed (numbers only)")
        if isinstance(value, float):
            if not math.isfinite(value):
                self.fail(f"non-finite number {value!r}")
            return self.checked(sp.Rational(repr(value)))
        return self.checked(sp.Integer(value))

    def name(self, ident: str) -> sp.Expr:
        if ident in self.names:
            return self.names[ident]
        if ident in _NAMED_CONSTANTS:
            return _NAMED_CONSTANTS[ident]
        if ident in FUNCTIONS:
            self.fail(f"the function `{ident}` must be called, e.g. {ident}(x)")
        self.fail(f"unknown name `{ident}`; declare it under [symbols] or [constants] "
                  f"(known: {sorted(self.names)})")

    def call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            self.fail("only direct calls of whitelisted functions are allowed; "
                      "attribute access and computed calls are not")
        fname = node.func.id
        if fname not in FUNCTIONS:
            self.fail(f"the function `{fname}` is not allowed; allowed functions: "
                      f"{sorted(FUNCTIONS)}")
        if node.keywords:
            self.fail(f"keyword arguments are not allowed in `{fname}(...)`")
        func, lo, hi = FUNCTIONS[fname]
        if any(isinstance(a, ast.Starred) for a in node.args):
            self.fail("starred arguments not allowed")
        if len(node.args) < lo or (hi is not None and len(node.args) > hi):
            expected = f"{lo}" if lo == hi else f"{lo} or more" if hi is None else f"{lo}-{hi}"
            self.fail(f"`{fname}` takes {expected} argument(s), got {len(node.args)}")
        args = [self.expr(a, depth + 1) for a in node.args]
        return self.checked(func(*args))

    def power(self, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        if base.is_Rational and exponent.is_Rational:
            bits = max(int(base.p).bit_length(), int(base.q).bit_length())
            if abs(exponent) * bits > MAX_BITS:
                self.fail(f"number too large (more than {MAX_BITS} bits)")
            if base == 0 and exponent.is_negative:
                self.fail("division by zero")
        return base**exponent

    def checked(self, value: sp.Expr) -> sp.Expr:
        for number in value.atoms(sp.Rational):
            if max(int(number.p).bit_length(), int(number.q).bit_length()) > MAX_BITS:
                self.fail(f"number too large (more than {MAX_BITS} bits)")
        if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            self.fail("the formula is undefined or infinite")
        return value


# --- TOML files ---------------------------------------------------------------------------
def load(path: Union[str, Path]) -> Theorem:
    """Read a user theorem from the TOML file at `path` (format: see :func:`loads`).

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ParseError
        If the file is not valid TOML or a field is malformed; the message names the field.
    """
    path = Path(path)
    return loads(path.read_text(encoding="utf-8"), source=str(path))


def loads(text: str, *, source: str = "<string>") -> Theorem:
    """Read a user theorem from TOML text.

    Format::

        name = "mypaper.thm1"                  # required
        citation = "Author (2024), Thm 1, eq. (3)"  # required
        provenance = "PAPER"                   # required: PAPER | STRUCT | EXACT
        confidence = "high"                    # required: high | medium
        notes = "..."                          # optional
        hypotheses = ["m >= width", "delta < 1"]   # optional; may use expression names

        [symbols]      # every variable, with SymPy assumptions (bools)
        n = { positive = true, integer = true }

        [constants]    # absolute constants (positive) with their default values
        c_width = 1

        [expressions]  # formulas in strings; may use earlier expressions by name
        width = "c_width * n**6 / (lambda_0**4 * delta**3)"

    Raises
    ------
    ParseError
        Naming the field at fault (``expressions.width: ...``, ``symbols.n: ...``).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParseError(f"{source}: invalid TOML: {exc}") from None
    return _theorem_from_dict(data, source)


def _theorem_from_dict(data: dict, source: str) -> Theorem:
    def fail(field, problem):
        raise ParseError(f"{source}: {field}: {problem}")

    unknown = sorted(set(data) - set(TOP_LEVEL_FIELDS))
    if unknown:
        fail("(top level)", f"unknown field(s) {unknown}; allowed: {list(TOP_LEVEL_FIELDS)}")
    for key in _REQUIRED:
        if key not in data:
            fail(key, "missing required field")
    for key in ("name", "citation", "notes"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            fail(key, f"must be a non-empty string, got {data[key]!r}")
    if data["provenance"] not in PROVENANCES:
        fail("provenance", f"must be one of {list(PROVENANCES)}, got {data['provenance']!r}")
    if data["confidence"] not in CONFIDENCES:
        fail("confidence", f"must be one of {list(CONFIDENCES)}, got {data['confidence']!r}")
    names: dict[str, sp.Expr] = {}

    def check_name(field, name):
        if not _IDENTIFIER.match(name) or keyword.iskeyword(name) or name in _RESERVED:
            fail(field, f"{name!r} is not an allowed name (letters, digits, _; starting with "
                        f"a letter; not a keyword or one of {sorted(_RESERVED)})")
        if name in names:
            fail(field, f"the name {name!r} is declared twice")

    for name, spec in _table(data, "symbols", fail).items():
        field = f"symbols.{name}"
        check_name(field, name)
        if not isinstance(spec, dict):
            fail(field, f"must be a table of assumptions such as {{ positive = true }}, "
                        f"got {spec!r}")
        bad = sorted(set(spec) - set(_symbols.ASSUMPTION_KEYS))
        if bad:
            fail(field, f"unknown assumption(s) {bad}; allowed: {list(_symbols.ASSUMPTION_KEYS)}")
        if not all(isinstance(v, bool) for v in spec.values()):
            fail(field, "assumption values must be true or false")
        try:
            names[name] = _symbols.make_symbol(name, spec)
        except ValueError as exc:
            fail(field, str(exc))

    constants = {}
    for name, value in _table(data, "constants", fail).items():
        field = f"constants.{name}"
        check_name(field, name)
        if name in _symbols.SYMBOLS and _symbols.SYMBOLS[name] not in _symbols.CONSTANTS:
            fail(field, f"{name!r} is a built-in variable, not a constant; rename it")
        number = _number(value, field, fail, source)
        if number.is_positive is not True:
            fail(field, f"a constant must be a positive number, got {number}")
        sym = _symbols.SYMBOLS.get(name) or _symbols.make_symbol(name, {"positive": True})
        names[name] = sym
        constants[sym] = number

    expressions = {}
    exprs_table = _table(data, "expressions", fail)
    if not exprs_table:
        fail("expressions", "at least one expression is required")
    for key, text in exprs_table.items():
        field = f"expressions.{key}"
        check_name(field, key)
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            value = _number(text, field, fail, source)
        else:
            value = parse_expression(text, names, field=f"{source}: {field}")
        expressions[key] = names[key] = value

    hyps = data.get("hypotheses", [])
    if not isinstance(hyps, list):
        fail("hypotheses", f"must be a list of strings, got {hyps!r}")
    hypotheses = []
    for i, text in enumerate(hyps):
        hypotheses += parse_hypothesis(text, names, field=f"{source}: hypotheses[{i}]")
    try:
        return Theorem(name=data["name"], citation=data["citation"],
                       provenance=data["provenance"], confidence=data["confidence"],
                       hypotheses=tuple(hypotheses), expressions=expressions,
                       constants=constants, notes=data.get("notes", ""))
    except (TypeError, ValueError) as exc:
        raise ParseError(f"{source}: {exc}") from None


def _table(data, key, fail) -> dict:
    table = data.get(key, {})
    if not isinstance(table, dict):
        fail(key, f"must be a table ([{key}]), got {table!r}")
    return table


def _number(value, field, fail, source) -> sp.Expr:
    if isinstance(value, str):
        number = parse_expression(value, {}, field=f"{source}: {field}")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(field, f"must be a number or a formula string, got {value!r}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            fail(field, f"must be finite, got {value!r}")
        number = sp.Rational(repr(value))
    else:
        number = sp.Integer(value)
    if not number.is_number:
        fail(field, f"must be a number, got {number}")
    return number
