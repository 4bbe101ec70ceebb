"""Decision helpers for qualitative claims: zero tests, limits, monotonicity on the domain.

The LK22 templates live on the domain ξ ∈ (0, 1], δ ∈ (0, 1), p, τ, K positive integers, all other
variables positive.  SymPy cannot use ``xi <= 1`` (a hypothesis, not an assumption), so sign
questions are first moved onto variables whose assumptions carry the domain:

* ``(1 − ξ)^p`` (= 1 − θ, θ = 1 − (1 − ξ)^p ∈ (0, 1)) is replaced by ``1 − 1/(1 + v)``;
* the remaining ``ξ`` by ``1/(1 + u)`` and ``δ`` (hypothesis δ < 1) by ``1/(1 + w)``,

with fresh positive ``u, v, w``.  Treating θ as independent of ξ *enlarges* the domain, so a sign
proved afterwards holds on the true domain (the check is sound but may answer None).
Logarithms are then expanded with ``force=True`` (``log(ab) = log a + log b``), which is valid
because every variable is positive on the domain.  Monotonicity in an integer variable
(p, τ, K) is tested by the forward difference ``f(x + 1) − f(x)``, in a real variable by the
derivative.
"""

from __future__ import annotations

from typing import Optional

import sympy as sp

from ._reports import truth
from .symbols import delta, p, xi

_U = sp.Dummy("u", positive=True)
_V = sp.Dummy("v", positive=True)
_W = sp.Dummy("w", positive=True)


def is_zero(expr: sp.Expr) -> Optional[bool]:
    """True if `expr` simplifies to 0, False if provably nonzero, None if undecided."""
    expr = sp.simplify(expr)
    if expr == 0:
        return True
    return truth(expr.equals(0))


def equal(a: sp.Expr, b: sp.Expr) -> Optional[bool]:
    """``is_zero(a - b)``."""
    return is_zero(a - b)


def on_domain(expr: sp.Expr) -> sp.Expr:
    """Rewrite `expr` with ξ ∈ (0,1) and θ ∈ (0,1) carried by positive variables."""
    expr = sp.expand_power_exp(expr)
    expr = expr.subs(sp.Pow(1 - xi, p), 1 - 1 / (1 + _V))
    expr = expr.xreplace({xi: 1 / (1 + _U), delta: 1 / (1 + _W)})
    return sp.factor(sp.simplify(sp.expand_log(expr, force=True)))


def _change(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    if var.is_integer:
        return sp.expand_power_exp(expr.subs(var, var + 1)) - expr
    return sp.diff(expr, var)


def nonincreasing(expr: sp.Expr, var: sp.Symbol) -> Optional[bool]:
    """True if `expr` provably does not increase in `var` on the domain."""
    return truth(on_domain(_change(expr, var)).is_nonpositive)


def nondecreasing(expr: sp.Expr, var: sp.Symbol) -> Optional[bool]:
    """True if `expr` provably does not decrease in `var` on the domain."""
    return truth(on_domain(_change(expr, var)).is_nonnegative)


def decreasing(expr: sp.Expr, var: sp.Symbol) -> Optional[bool]:
    """True if `expr` provably decreases strictly in `var` on the domain."""
    return truth(on_domain(_change(expr, var)).is_negative)


def increasing(expr: sp.Expr, var: sp.Symbol) -> Optional[bool]:
    """True if `expr` provably increases strictly in `var` on the domain."""
    return truth(on_domain(_change(expr, var)).is_positive)


def limit_equals(expr: sp.Expr, var: sp.Symbol, point, target, direction: str = "+"):
    """True if ``lim_{var -> point} expr == target`` (None if SymPy cannot decide)."""
    try:
        value = sp.limit(expr, var, point, direction)
    except (NotImplementedError, ValueError):
        return None
    if isinstance(value, sp.Limit):
        return None
    return is_zero(value - target)


def bounded_limit(expr: sp.Expr, var: sp.Symbol, point, direction: str = "+"):
    """True if ``lim_{var -> point} expr`` exists and is finite."""
    try:
        value = sp.limit(expr, var, point, direction)
    except (NotImplementedError, ValueError):
        return None
    if isinstance(value, sp.Limit) or value.has(sp.AccumBounds):
        return None
    return truth(value.is_finite)


def all_of(*verdicts) -> Optional[bool]:
    """Conjunction with undecided values: False wins, then None, then True."""
    verdicts = [truth(v) for v in verdicts]
    if False in verdicts:
        return False
    if None in verdicts:
        return None
    return True
