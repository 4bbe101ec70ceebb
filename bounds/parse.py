"""Safe formula parser for user theorems and command-line values (:func:`parse_expression`).

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
:class:`ParseError` that names the field (``expressions.width: ...``).

Sizes are bounded so that neither parsing nor later work on the result (``evaluate``,
``solve_for``, printing) can exhaust time or memory.  SymPy never expands a power when it
builds it, but :func:`sympy.solve` and exact evaluation do, so the limits apply to the
expression as built, before anything is expanded:

* :data:`MAX_LENGTH` characters per formula and :data:`MAX_DEPTH` levels of syntax nesting;
* :data:`MAX_BITS` bits in the numerator and denominator of every exact number;
* :data:`MAX_EXPONENT`: a power of a symbolic base with a numeric exponent ``p/q`` has
  ``|p| <= 64``, also after SymPy combines powers (``(n**60)**2`` is ``n**120``), so
  ``(n + m)**(10**6)`` is refused before anything is expanded;
* :data:`MAX_NODES` nodes in the expression tree, counting repeated sub-expressions (names
  of earlier expressions can otherwise double the size at every step), and
  :data:`MAX_TREE_DEPTH` levels;
* no exponential towers: the exponent of ``exp(...)`` or of a power with a symbolic exponent
  may not itself contain such an exponential (``exp(exp(n))``, ``2**(2**n)``), whose values
  outgrow any number format.

The TOML loader of user theorem files is :mod:`bounds.loader`.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from typing import Mapping

import sympy as sp
from sympy.core.relational import Relational

__all__ = ["ParseError", "parse_expression", "parse_hypothesis", "is_allowed_name",
           "FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH", "MAX_BITS", "MAX_EXPONENT", "MAX_NODES",
           "MAX_TREE_DEPTH"]

#: Characters per formula.
MAX_LENGTH = 2000
#: Nesting depth of the syntax tree of one formula.
MAX_DEPTH = 60
#: Bits of the numerator / denominator of any exact number.
MAX_BITS = 20000
#: Largest ``|p|`` of a numeric exponent ``p/q`` on a symbolic base.
MAX_EXPONENT = 64
#: Nodes of an expression tree, repeated sub-expressions counted each time.
MAX_NODES = 20000
#: Depth of an expression tree.
MAX_TREE_DEPTH = 200

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

class ParseError(ValueError):
    """A theorem file or formula is malformed or uses something outside the whitelist."""


def is_allowed_name(name: str) -> bool:
    """True if `name` may be declared in a theorem file (an identifier, not reserved).

    Examples
    --------
    >>> is_allowed_name("c_width"), is_allowed_name("log"), is_allowed_name("__class__")
    (True, False, False)
    """
    return (isinstance(name, str) and bool(_IDENTIFIER.match(name))
            and not keyword.iskeyword(name) and name not in _RESERVED)


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
        if relational and not isinstance(body, ast.Compare):
            self.fail("a hypothesis must be a comparison such as `m >= width`")
        if not relational and isinstance(body, ast.Compare):
            self.fail("comparisons are only allowed in hypotheses")
        try:
            return self.compare(body) if relational else self.measured(self.expr(body, 0))
        except ParseError:
            raise
        except (ArithmeticError, RecursionError, TypeError, ValueError) as exc:
            # SymPy evaluates numbers as it builds; whatever it trips on, the formula is at fault
            self.fail(f"cannot build the formula ({type(exc).__name__}: {_short(str(exc))})")

    def compare(self, node: ast.Compare) -> tuple:
        sides = [self.measured(self.expr(node.left, 1))]
        sides += [self.measured(self.expr(c, 1)) for c in node.comparators]
        out = []
        for i, op in enumerate(node.ops):
            rel = _COMPARE.get(type(op))
            if rel is None:
                self.fail(f"the comparison `{type(op).__name__}` is not allowed "
                          f"(use < <= > >= == !=)")
            lhs, rhs = sides[i], sides[i + 1]
            if not (lhs.free_symbols or rhs.free_symbols):
                self.fail("a hypothesis must involve declared symbols")
            try:
                value = rel(lhs, rhs)
            except TypeError as exc:  # SymPy refuses to order non-real numbers
                self.fail(f"cannot compare `{_short(lhs)}` with `{_short(rhs)}` ({exc})")
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
        elif base.free_symbols and exponent.is_Rational and abs(exponent.p) > MAX_EXPONENT:
            self.fail(_exponent_problem(base, exponent))
        return base**exponent

    def checked(self, value: sp.Expr) -> sp.Expr:
        """Refuse huge or undefined numbers made by the last operation.

        The operands were checked already, so only the top two levels of `value` (where
        SymPy puts new coefficients and combined exponents) are looked at; the whole tree
        is checked once per formula by :meth:`measured`.
        """
        for node in _top_nodes(value):
            if node in _UNDEFINED:
                self.fail("the formula is undefined or infinite")
            if node.is_Rational and _bits(node) > MAX_BITS:
                self.fail(f"number too large (more than {MAX_BITS} bits)")
        if value.is_number and not value.is_Rational and _too_large(value):
            # SymPy takes the exact integer part of numbers inside floor(), ceiling(), and
            # `n + c` with an integer n: exp(10**30) there would never finish
            self.fail(f"number too large ({_short(value)} is not below 2**{MAX_BITS})")
        return value

    def measured(self, value: sp.Expr) -> sp.Expr:
        """Check the size limits of the module docstring on the whole expression `value`."""
        problem = _Measure().problem(value)
        if problem:
            self.fail(problem)
        return value


_UNDEFINED = (sp.zoo, sp.nan, sp.oo, -sp.oo)


def _bits(number: sp.Rational) -> int:
    return max(int(number.p).bit_length(), int(number.q).bit_length())


def _too_large(number: sp.Expr) -> bool:
    """True if the numeric expression `number` is at least 2**MAX_BITS in absolute value."""
    try:
        value = sp.N(number, 15)
        if value.is_real is False:
            value = sp.Abs(value)
        return bool(abs(value) >= _LIMIT) if value.is_comparable else False
    except (ArithmeticError, RecursionError, TypeError, ValueError):
        return True


_LIMIT = sp.Float(2, 30) ** MAX_BITS


def _top_nodes(value: sp.Basic):
    yield value
    for arg in value.args:
        yield arg
        yield from arg.args


def _exponent_problem(base, exponent) -> str:
    return (f"the power ({_short(base)})**({exponent}) has an exponent above {MAX_EXPONENT} in "
            f"absolute value, the limit on a symbolic base (expanded, it would have too many "
            f"terms); use a smaller power")


class _Measure:
    """One memoised pass over an expression DAG: size, depth, exponents, numbers, towers."""

    def __init__(self):
        self.memo: dict = {}

    def problem(self, expr: sp.Basic):
        """A description of the first limit `expr` exceeds, or None."""
        try:
            nodes, depth, height = self.visit(expr)
        except _Exceeded as exc:
            return str(exc)
        if nodes > MAX_NODES:
            return (f"the expression is too large ({nodes} nodes when written out; at most "
                    f"{MAX_NODES}); simplify it or split it into named expressions that do "
                    f"not repeat each other")
        if depth > MAX_TREE_DEPTH:
            return f"the expression is nested too deeply ({depth} levels; at most {MAX_TREE_DEPTH})"
        return None

    def visit(self, node: sp.Basic) -> tuple[int, int, int]:
        """(nodes, depth, exponential height) of `node`; raises _Exceeded on a hard limit."""
        key = node
        if key in self.memo:
            return self.memo[key]
        if node in _UNDEFINED:
            raise _Exceeded("the formula is undefined or infinite")
        if node.is_Rational and _bits(node) > MAX_BITS:
            raise _Exceeded(f"number too large (more than {MAX_BITS} bits)")
        parts = [self.visit(arg) for arg in node.args]
        nodes = 1 + sum(p[0] for p in parts)
        depth = 1 + max((p[1] for p in parts), default=0)
        if depth > MAX_TREE_DEPTH:
            raise _Exceeded(f"the expression is nested too deeply (more than {MAX_TREE_DEPTH} "
                            f"levels)")
        if nodes > MAX_NODES:
            raise _Exceeded(f"the expression is too large (more than {MAX_NODES} nodes when "
                            f"written out); simplify it or split it into named expressions "
                            f"that do not repeat each other")
        height = max((p[2] for p in parts), default=0)
        if node.is_Pow:
            base, exponent = node.args
            if base.free_symbols and exponent.is_Rational and abs(exponent.p) > MAX_EXPONENT:
                raise _Exceeded(_exponent_problem(base, exponent))
            if exponent.free_symbols:
                height = max(parts[0][2], 1 + parts[1][2])
        elif isinstance(node, sp.exp) and node.args[0].free_symbols:
            height = 1 + parts[0][2]
        if height > 1:
            raise _Exceeded(f"exponential towers such as exp(exp(n)) or 2**(2**n) are not "
                            f"allowed (in {_short(node)}); their values outgrow every number "
                            f"format")
        self.memo[key] = (nodes, depth, height)
        return nodes, depth, height


class _Exceeded(Exception):
    pass


def _short(expr, limit: int = 80) -> str:
    text = str(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."
