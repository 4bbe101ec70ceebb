"""The :class:`Theorem` object: one published (or exact, or template) statement as SymPy.

A theorem bundles, for one statement of one paper (style.md §8):

* its provenance (docs/theory.md tags ``PAPER`` / ``STRUCT`` / ``EXACT``) and confidence;
* hypotheses, a tuple of SymPy relationals such as ``m >= width`` or ``eta <= step_size``;
* named expressions under fixed keys where they apply — ``width`` (required hidden width m),
  ``step_size`` (largest η), ``rate`` (per-iteration contraction factor of ‖y − u(k)‖²),
  ``error`` (neighbourhood the loss converges to), ``radius`` (allowed weight movement),
  ``probability`` (success probability) — plus theorem-specific extra keys;
* the absolute constants hidden by O(·)/Ω(·), as positive symbols with default values;
* qualitative claims (:class:`bounds.Claim`) that SymPy checks.

Corollaries are *derived* with :meth:`Theorem.subs`, never retyped.  Numbers enter only
through keyword arguments with plain symbol names (``evaluate("width", n=100, lambda_0=0.1,
delta=0.05)``); a Python float is read as the exact decimal it prints as (``0.1`` -> 1/10).

Numbers are substituted exactly, except where that would build a huge exact number: when a
symbolic exponent (``rate**k``) gets a value above :data:`MAX_EXACT_EXPONENT`, the values are
substituted as 30-digit floats instead (``(199/200)**(10**9)`` has 7.6e9 bits exactly).  A
value beyond the float range is an error naming the theorem and the key, not ``inf``.
"""

from __future__ import annotations

import math
import numbers
import types
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Optional

import sympy as sp
from sympy.core.relational import Relational

from . import symbols as _symbols
from .parse import MAX_BITS, parse_expression
from ._solve import real_value as _maybe_float
from ._solve import unique_root as _unique_root
from ._reports import (SATISFIED, UNDECIDED, VIOLATED, Bound, Claim, HypothesisCheck,
                       HypothesisReport, HypothesisViolation, truth)

__all__ = ["Theorem", "MissingValueError", "PROVENANCES", "CONFIDENCES", "STANDARD_KEYS"]

#: Provenance tags of docs/theory.md.
PROVENANCES = ("PAPER", "STRUCT", "EXACT", "DERIVED")
#: Confidence levels.
CONFIDENCES = ("high", "medium")
#: Expression keys with a fixed meaning (extra keys are allowed).
STANDARD_KEYS = ("width", "step_size", "rate", "error", "radius", "probability")
#: A symbolic exponent given a value above this is evaluated in floating point, not exactly.
MAX_EXACT_EXPONENT = 1000


class MissingValueError(KeyError, ValueError):
    """A number needed to evaluate an expression was not given."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True, eq=False)
class Theorem:
    """One theorem as SymPy objects (see the module docstring for the fields' meaning).

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"du2019.thm4_1"``.
    citation : str
        Paper, theorem and equation number.  [STRUCT] templates say "template" here.
    provenance : {"PAPER", "STRUCT", "EXACT"}
    confidence : {"high", "medium"}
    hypotheses : tuple of sympy Relational
    expressions : mapping of str to sympy Expr
    constants : mapping of Symbol to number
        Default values of the absolute constants / template parameters.
    claims : tuple of Claim
    notes : str

    Attributes
    ----------
    symbols : tuple of Symbol
        Every symbol used (hypotheses, expressions, constants), sorted by name.

    Examples
    --------
    >>> import bounds
    >>> thm = bounds.get("du2019.thm4_1")
    >>> thm.evaluate("step_size", n=10, lambda_0=0.5)
    0.005
    """

    name: str
    citation: str
    provenance: str
    confidence: str
    hypotheses: tuple = ()
    expressions: Mapping[str, sp.Expr] = field(default_factory=dict)
    constants: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)
    claims: tuple = ()
    notes: str = ""
    symbols: tuple = field(init=False, repr=False)

    # -- construction -----------------------------------------------------------------
    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"`name` must be a non-empty string, got {self.name!r}")
        if self.provenance not in PROVENANCES:
            raise ValueError(f"{self.name}: `provenance` must be one of {PROVENANCES}, "
                             f"got {self.provenance!r}")
        if self.confidence not in CONFIDENCES:
            raise ValueError(f"{self.name}: `confidence` must be one of {CONFIDENCES}, "
                             f"got {self.confidence!r}")
        exprs = {}
        for key, value in dict(self.expressions).items():
            if not (isinstance(key, str) and key.isidentifier()):
                raise ValueError(f"{self.name}: expression key {key!r} must be an identifier")
            exprs[key] = _exact(value, f"{self.name}: expressions.{key}")
        hyps = tuple(self.hypotheses)
        for i, hyp in enumerate(hyps):
            if not isinstance(hyp, Relational):
                raise TypeError(f"{self.name}: hypotheses[{i}] must be a SymPy relational "
                                f"(e.g. m >= width), got {hyp!r}")
            _no_floats(hyp, f"{self.name}: hypotheses[{i}]")
        consts = {}
        for sym, value in dict(self.constants).items():
            if not (isinstance(sym, sp.Symbol) and sym.is_positive):
                raise ValueError(f"{self.name}: constant {sym!r} must be a positive Symbol")
            value = _exact(value, f"{self.name}: constants.{sym}")
            if value.is_positive is not True:
                raise ValueError(f"{self.name}: constants.{sym} must be a positive number, "
                                 f"got {value}")
            consts[sym] = value
        for claim in self.claims:
            if not isinstance(claim, Claim):
                raise TypeError(f"{self.name}: claims must be bounds.Claim, got {claim!r}")
        used = set(consts)
        for obj in list(exprs.values()) + list(hyps):
            used |= obj.free_symbols
        by_name: dict[str, sp.Symbol] = {}
        for sym in used:
            if sym.name in by_name and by_name[sym.name] != sym:
                raise ValueError(f"{self.name}: two different symbols are named "
                                 f"{sym.name!r} (different assumptions); declare symbols "
                                 f"once, in bounds.symbols")
            by_name[sym.name] = sym
        object.__setattr__(self, "expressions", types.MappingProxyType(exprs))
        object.__setattr__(self, "hypotheses", hyps)
        object.__setattr__(self, "constants", types.MappingProxyType(consts))
        object.__setattr__(self, "claims", tuple(self.claims))
        object.__setattr__(self, "symbols", tuple(by_name[k] for k in sorted(by_name)))

    # -- access -----------------------------------------------------------------------
    def __getitem__(self, key: str) -> sp.Expr:
        return self.expr(key)

    def expr(self, key: str) -> sp.Expr:
        """The expression stored under `key` (``KeyError`` lists the available keys)."""
        try:
            return self.expressions[key]
        except KeyError:
            raise KeyError(f"{self.name}: no expression {key!r}; "
                           f"available: {list(self.expressions)}") from None

    def keys(self) -> tuple[str, ...]:
        """The expression keys, in definition order."""
        return tuple(self.expressions)

    @property
    def symbol_names(self) -> tuple[str, ...]:
        """Names of :attr:`symbols`, sorted."""
        return tuple(s.name for s in self.symbols)

    def symbol(self, name: str) -> sp.Symbol:
        """The symbol of this theorem called `name`."""
        for sym in self.symbols:
            if sym.name == name:
                return sym
        raise KeyError(f"{self.name}: unknown symbol(s) [{name!r}]; "
                       f"known: {list(self.symbol_names)}")

    # -- numbers ----------------------------------------------------------------------
    def evaluate(self, key: str, /, **values) -> float:
        """Evaluate expression `key` at `values` (constants default to their defaults).

        Parameters
        ----------
        key : str
            Expression key, e.g. ``"width"``.
        **values : number
            Plain symbol names -> numbers, e.g. ``lambda_0=0.1``.

        Returns
        -------
        float

        Raises
        ------
        KeyError
            Unknown key or symbol name.
        MissingValueError
            (a KeyError and ValueError) if a symbol of the expression has no value; the
            message lists the missing names.
        ValueError
            If a value contradicts a symbol's assumptions, or the result is not a real number
            or is beyond the float range (about 1.8e308).
        """
        where = f"{self.name}[{key!r}]"
        expr = _substitute(self.expr(key), self._substitutions(values), where)
        self._require_numeric(expr, where)
        return _to_float(expr, where)

    def latex(self, key: str) -> str:
        """LaTeX of expression `key` (or of all hypotheses for ``key="hypotheses"``)."""
        names = _symbols.LATEX_NAMES
        if key == "hypotheses":
            return r",\quad ".join(sp.latex(h, symbol_names=names) for h in self.hypotheses)
        return sp.latex(self.expr(key), symbol_names=names)

    def lambdify(self, key: str, *, constants: str = "default",
                 modules="math") -> tuple[Callable, tuple[str, ...]]:
        """Compile expression `key` to a numeric function.

        Parameters
        ----------
        key : str
        constants : {"default", "args"}
            ``"default"`` substitutes the constants' default values; ``"args"`` keeps them
            as arguments.
        modules : str or list
            Passed to :func:`sympy.lambdify`.

        Returns
        -------
        fn : callable
            ``fn(*args)`` with positional arguments in the order of `arg_names`.
        arg_names : tuple of str
            Symbol names, sorted.
        """
        if constants not in ("default", "args"):
            raise ValueError(f"`constants` must be 'default' or 'args', got {constants!r}")
        expr = self.expr(key)
        if constants == "default":
            expr = expr.xreplace(dict(self.constants))
        args = sorted(expr.free_symbols, key=lambda s: s.name)
        return sp.lambdify(args, expr, modules=modules), tuple(s.name for s in args)

    # -- derived theorems ------------------------------------------------------------
    def subs(self, new_name: str, /, **values) -> "Theorem":
        """A derived theorem with symbols replaced (numbers, SymPy expressions or formulas).

        Hypotheses that become True are dropped; one that becomes False raises
        :class:`HypothesisViolation`.  Claims are not inherited (a derived theorem states its
        own).  A string value is parsed with the safe parser of :mod:`bounds.parse`, so
        ``thm.subs("cor", xi="1/p")`` works.

        Raises
        ------
        KeyError
            For names that are not symbols of this theorem, listing the known ones.
        """
        subs = self._convert(values, symbolic=True)
        if _huge_exact_power(list(self.expressions.values()) + list(self.hypotheses), subs):
            raise ValueError(f"{self.name}: substituting {_fmt(subs)} makes an exponent larger "
                             f"than {MAX_EXACT_EXPONENT}, too large to keep exact; pass these "
                             f"numbers to evaluate() or check_hypotheses() instead")
        hyps = []
        for hyp in self.hypotheses:
            new = hyp.xreplace(subs)
            verdict = truth(new)
            if verdict is False:
                raise HypothesisViolation(f"{self.name}: substituting {_fmt(subs)} violates "
                                          f"the hypothesis {hyp}")
            if verdict is None:
                hyps.append(new)
        exprs = {key: e.xreplace(subs) for key, e in self.expressions.items()}
        consts = {c: v for c, v in self.constants.items() if c not in subs}
        return Theorem(name=new_name,
                       citation=f"{self.citation}; specialised with {_fmt(subs)}",
                       provenance=self.provenance, confidence=self.confidence,
                       hypotheses=tuple(hyps), expressions=exprs, constants=consts,
                       notes=self.notes)

    def with_constants(self, **values) -> "Theorem":
        """The same theorem with new default values of its constants (not substituted)."""
        by_name = {c.name: c for c in self.constants}
        unknown = sorted(set(values) - set(by_name))
        if unknown:
            raise KeyError(f"{self.name}: unknown constant(s) {unknown}; "
                           f"known: {sorted(by_name)}")
        consts = dict(self.constants)
        consts.update({by_name[k]: _exact(v, f"{self.name}: constants.{k}")
                       for k, v in values.items()})
        return replace(self, constants=consts)

    # -- hypotheses and requirements --------------------------------------------------
    def check_hypotheses(self, **values) -> HypothesisReport:
        """Which hypotheses the numbers satisfy, violate, or leave undecided.

        A hypothesis is violated only when it is definitely False for the numbers given
        (SymPy ``_value_check`` semantics); missing numbers leave it undecided.  Use
        :meth:`assert_hypotheses` (or ``report.raise_if_violated()``) to raise.
        """
        subs = self._substitutions(values)
        checks = []
        for hyp in self.hypotheses:
            new = _substitute(hyp, subs, f"{self.name}: {hyp}")
            verdict = truth(new)
            lhs = rhs = None
            if not (new.free_symbols if isinstance(new, sp.Basic) else ()):
                lhs_v = _substitute(hyp.lhs, subs, f"{self.name}: {hyp}")
                rhs_v = _substitute(hyp.rhs, subs, f"{self.name}: {hyp}")
                if not lhs_v.free_symbols and not rhs_v.free_symbols:
                    lhs, rhs = _maybe_float(lhs_v), _maybe_float(rhs_v)
            status = {True: SATISFIED, False: VIOLATED, None: UNDECIDED}[verdict]
            checks.append(HypothesisCheck(hyp, status, new, lhs, rhs))
        return HypothesisReport(self.name, tuple(checks))

    def assert_hypotheses(self, **values) -> HypothesisReport:
        """Like :meth:`check_hypotheses` but raise :class:`HypothesisViolation` on a violation."""
        return self.check_hypotheses(**values).raise_if_violated()

    def requirement(self, key: str) -> Relational:
        """The hypothesis that has expression `key` as one side (e.g. ``m >= width``)."""
        expr = self.expr(key)
        for hyp in self.hypotheses:
            if hyp.rel_op in (">=", ">", "<=", "<") and expr in (hyp.lhs, hyp.rhs):
                return hyp
        raise KeyError(f"{self.name}: no hypothesis has {key!r} as a side (expected one "
                       f"like `m >= {key}`); hypotheses: {[str(h) for h in self.hypotheses]}")

    def solve_for(self, key: str, var: str, /, **values) -> Bound:
        """Solve the requirement on expression `key` for variable `var`.

        ``solve_for("width", "m", n=..., lambda_0=..., delta=...)`` gives the smallest
        width; ``solve_for("step_size", "eta", ...)`` the largest step size;
        ``solve_for("width", "n", m=..., ...)`` the largest n a given width supports.

        Returns
        -------
        Bound
            ``variable relation value`` describes exactly where the requirement holds.

        Raises
        ------
        ValueError
            If `var` is also given a value, does not occur in the requirement, or the
            boundary is not unique.
        """
        hyp = self.requirement(key)
        sym = self.symbol(var)
        if var in values:
            raise ValueError(f"{self.name}: `{var}` is the unknown; do not also pass {var}=...")
        subs = self._substitutions(values)
        f = _substitute(hyp.lhs - hyp.rhs, subs, f"{self.name}: {hyp}")
        if sym not in f.free_symbols:
            raise ValueError(f"{self.name}: `{var}` does not occur in the requirement {hyp}")
        others = sorted(s.name for s in f.free_symbols - {sym})
        if others:
            raise MissingValueError(f"{self.name}: requirement {hyp}: missing value(s) for "
                                    f"{others}")
        x = sp.Dummy(var, positive=True) if sym.is_positive else sp.Dummy(var, real=True)
        fx = f.xreplace({sym: x})
        root = _unique_root(fx, x, f"{self.name}: {hyp} solved for {var}")
        slope = _maybe_float(_substitute(sp.diff(fx, x), {x: root}, f"{self.name}: {hyp}"))
        if not slope:
            raise ValueError(f"{self.name}: {hyp} is flat in `{var}` at its boundary")
        want_nonneg = hyp.rel_op in (">=", ">")
        lower = (slope > 0) == want_nonneg
        strict = hyp.rel_op in (">", "<")
        relation = (">" if lower else "<") + ("" if strict else "=")
        integer = None
        if sym.is_integer:
            edge = sp.ceiling(root) if lower else sp.floor(root)
            if strict and edge == root:
                edge += 1 if lower else -1
            integer = int(edge)
        return Bound(var, relation, _to_float(root, f"{self.name}: {var}"), integer)

    def shortfall(self, key: str, var: str, /, **values) -> float:
        """Factor by which ``var`` misses the requirement on `key` (> 1: violated).

        For a lower bound (``m >= width``) this is ``width / m``; for an upper bound
        (``eta <= step_size``) it is ``eta / step_size``.  `var` must be the bare side.
        """
        hyp = self.requirement(key)
        sym = self.symbol(var)
        if hyp.lhs == sym:
            bound, rel = hyp.rhs, hyp.rel_op
        elif hyp.rhs == sym:
            bound, rel = hyp.lhs, hyp.reversed.rel_op
        else:
            raise ValueError(f"{self.name}: `{var}` is not a side of the requirement {hyp}")
        if var not in values:
            raise MissingValueError(f"{self.name}: shortfall needs the actual value {var}=...")
        subs = self._substitutions(values)
        required = _substitute(bound, subs, f"{self.name}: {hyp}")
        self._require_numeric(required, f"{self.name}: {hyp}")
        req, actual = _to_float(required, key), _to_float(subs[sym], var)
        return req / actual if rel in (">=", ">") else actual / req

    # -- claims -----------------------------------------------------------------------
    def check_claims(self, **overrides) -> dict[str, Optional[bool]]:
        """Description -> verdict (True / False / None) of every claim."""
        return {c.description: c.check(**overrides) for c in self.claims}

    # -- display ----------------------------------------------------------------------
    def describe(self, *, latex: bool = False) -> str:
        """A multi-line human-readable summary (used by ``ntkcheck bounds show``)."""
        show = (lambda key, e: self.latex(key)) if latex else (lambda key, e: str(e))
        lines = [f"{self.name}  [{self.provenance}, confidence {self.confidence}]",
                 f"  citation: {self.citation}"]
        if self.notes:
            lines.append(f"  notes: {self.notes}")
        lines.append(f"  symbols: {', '.join(self.symbol_names)}")
        if self.constants:
            lines.append("  constants (defaults): " + ", ".join(
                f"{c}={v}" for c, v in sorted(self.constants.items(), key=lambda t: t[0].name)))
        lines.append("  hypotheses:")
        for hyp in self.hypotheses:
            text = sp.latex(hyp, symbol_names=_symbols.LATEX_NAMES) if latex else str(hyp)
            lines.append(f"    {text}")
        lines.append("  expressions:")
        for key, e in self.expressions.items():
            lines.append(f"    {key} = {show(key, e)}")
        if self.claims:
            lines.append("  claims:")
            lines += [f"    - {c.description}" for c in self.claims]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Theorem(name={self.name!r}, provenance={self.provenance!r}, "
                f"keys={list(self.expressions)})")

    # -- private ----------------------------------------------------------------------
    def _convert(self, values: Mapping, *, symbolic: bool = False) -> dict:
        known = {s.name: s for s in self.symbols}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise KeyError(f"{self.name}: unknown symbol(s) {unknown}; known: {sorted(known)}")
        out = {}
        for name, value in values.items():
            sym = known[name]
            out[sym] = _value(name, value, sym, known if symbolic else None)
        return out

    def _substitutions(self, values: Mapping) -> dict:
        subs = dict(self.constants)
        subs.update(self._convert(values))
        return subs

    def _require_numeric(self, expr: sp.Basic, where: str) -> None:
        missing = sorted(s.name for s in expr.free_symbols)
        if missing:
            example = ", ".join(f"{m}=..." for m in missing)
            raise MissingValueError(f"{where}: missing value(s) for {missing}; pass them as "
                                    f"keyword arguments ({example})")


# -- helpers ------------------------------------------------------------------------------
def _value(name: str, value, sym: sp.Symbol, namespace: Optional[dict]) -> sp.Expr:
    """Convert a user value for symbol `sym` to an exact SymPy value and check assumptions."""
    if isinstance(value, bool):
        raise TypeError(f"`{name}` must be a number, got the bool {value!r}")
    if isinstance(value, str):
        if namespace is None:
            raise TypeError(f"`{name}` must be a number, got the string {value!r}")
        names = dict(_symbols.SYMBOLS)
        names.update(namespace)
        value = parse_expression(value, names, field=name)
    elif isinstance(value, numbers.Integral):
        if int(value).bit_length() > MAX_BITS:
            raise ValueError(f"`{name}` must have at most {MAX_BITS} bits, got a number with "
                             f"{int(value).bit_length()} bits")
        value = sp.Integer(int(value))
    elif isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise ValueError(f"`{name}` must be finite, got {name}={value!r}")
        value = sp.Rational(repr(float(value)))
    elif isinstance(value, sp.Float):
        value = sp.Rational(str(value))
    elif isinstance(value, sp.Basic):
        if not isinstance(value, sp.Expr):
            raise TypeError(f"`{name}` must be a SymPy expression, got {value!r}")
        if value.free_symbols and namespace is None:
            raise TypeError(f"`{name}` must be a number, got the expression {value}")
        value = _exact(value, f"`{name}`")
    else:
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__} {value!r}")
    if value.is_number:
        for flag, word in (("positive", "positive"), ("nonnegative", "nonnegative"),
                           ("integer", "an integer")):
            if getattr(sym, f"is_{flag}") and getattr(value, f"is_{flag}") is False:
                raise ValueError(f"`{name}` is declared {word}, got {name}={value}")
    return value


def _exact(value, where: str) -> sp.Expr:
    if isinstance(value, bool):
        raise TypeError(f"{where}: expected a SymPy expression or number, got {value!r}")
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    if isinstance(value, float):
        raise TypeError(f"{where}: floats are not allowed in theorem expressions, got "
                        f"{value!r}; use sp.Rational")
    if not isinstance(value, sp.Expr):
        raise TypeError(f"{where}: expected a SymPy expression, got {type(value).__name__}")
    _no_floats(value, where)
    return value


def _no_floats(obj: sp.Basic, where: str) -> None:
    if obj.atoms(sp.Float):
        raise ValueError(f"{where}: contains floating-point numbers {sorted(obj.atoms(sp.Float))}"
                         f"; use exact numbers (sp.Rational)")


def _to_float(expr: sp.Basic, where: str) -> float:
    try:
        value = _maybe_float(expr)
    except OverflowError:
        value = math.inf
    if value is None or math.isnan(value):
        raise ValueError(f"{where}: the value is not a real number at these values "
                         f"({_short(expr)})")
    if math.isinf(value):
        raise ValueError(f"{where}: the value is beyond the float range (about 1.8e308) at "
                         f"these values; check the numbers given (e.g. a tiny lambda_0 or a "
                         f"huge n)")
    return value


def _substitute(obj: sp.Basic, subs: Mapping, where: str) -> sp.Basic:
    """``obj.xreplace(subs)``; numbers as 30-digit floats when an exact power would be huge.

    Raises ValueError (naming `where`) when SymPy overflows all the same (the exact integer
    part of ``floor(exp(10**30))`` has too many digits).
    """
    try:
        if _huge_exact_power([obj], subs):
            subs = {s: (sp.N(v, 30) if getattr(v, "is_number", False) else v)
                    for s, v in subs.items()}
        return obj.xreplace(subs)
    except (OverflowError, RecursionError) as exc:
        raise ValueError(f"{where}: a value is too large to compute at these values "
                         f"({type(exc).__name__}: {exc}); check the numbers given") from None


def _huge_exact_power(objs, subs: Mapping) -> bool:
    """True if substituting `subs` gives a power or exp() with an exponent above the cap."""
    for obj in objs:
        for node in sp.preorder_traversal(obj):
            if isinstance(node, sp.Pow) and node.exp.free_symbols:
                exponent = node.exp
            elif isinstance(node, sp.exp) and node.args[0].free_symbols:
                exponent = node.args[0]  # floor(exp(k)) would take an exact integer part
            else:
                continue
            exponent = exponent.xreplace(subs)
            if exponent.is_Rational and abs(exponent) > MAX_EXACT_EXPONENT:
                return True
    return False


def _short(expr, limit: int = 80) -> str:
    """``str(expr)`` cut to `limit` characters; numbers with huge exponents are not printed."""
    if isinstance(expr, sp.Basic) and expr.atoms(sp.Float):
        return "a floating-point value"
    text = str(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fmt(subs: Mapping) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(subs.items(), key=lambda t: str(t[0])))
