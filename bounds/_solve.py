"""Roots of one-variable requirements for :meth:`bounds.Theorem.solve_for`.

A requirement ``lhs REL rhs`` with every other symbol substituted is solved for its boundary
``f(x) = lhs − rhs = 0``: first symbolically with :func:`sympy.solve` over a positive (or real)
dummy — the variable's own ``integer`` assumption would discard non-integer boundaries — and,
if SymPy finds nothing, numerically by scanning a log grid of (1e-30, 1e30) for sign changes
and bisecting.  The boundary must be unique.

:func:`sympy.solve` can run for minutes on a quartic with large coefficients or a polynomial
of degree 6 in ``sqrt(x)``, so it is tried only where it is quick: ``f`` is small
(:data:`MAX_SYMBOLIC_NODES` nodes, numbers of at most :data:`MAX_SYMBOLIC_BITS` bits) and is
either a polynomial of degree at most 2 in ``x`` or a binomial ``a + b x**e`` (every
``m >= C n**6 / lambda_0**4``-type requirement).  Everything else goes to the numeric scan,
whose cost does not depend on the formula's degree.
"""

from __future__ import annotations

import math

import sympy as sp

__all__ = ["unique_root", "numeric_roots", "real_value", "symbolic_ok"]

#: Largest tree (nodes) handed to sympy.solve.
MAX_SYMBOLIC_NODES = 400
#: Largest numerator / denominator (bits) of a number handed to sympy.solve.
MAX_SYMBOLIC_BITS = 512
#: Largest polynomial degree handed to sympy.solve (beyond: binomials only).
MAX_SYMBOLIC_DEGREE = 2


def real_value(expr):
    """``expr`` as a float if it evaluates to a real number (30 digits), else None.

    A real number beyond the float range gives ``±inf`` (SymPy's floats have unbounded
    exponents; the conversion to a Python float overflows).
    """
    try:
        number = sp.N(expr, 30)
    except (TypeError, ValueError, OverflowError):
        return None
    try:
        value = complex(number)
    except OverflowError:
        if number.is_real is not True:
            return None
        return -math.inf if number.is_negative else math.inf
    except (TypeError, ValueError):
        return None
    if math.isnan(value.imag) or abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
        return None
    return value.real


def _real(expr, where: str) -> float:
    value = real_value(expr)
    if value is None or not math.isfinite(value):
        raise ValueError(f"{where}: the boundary is not a finite real number")
    return value


def unique_root(fx: sp.Expr, x: sp.Symbol, where: str) -> sp.Expr:
    """The unique admissible real root of `fx` in `x` (symbolic when quick, else numeric)."""
    roots = []
    if symbolic_ok(fx, x):
        try:
            for root in sp.solve(fx, x):
                value = real_value(root)
                if value is not None and (not x.is_positive or value > 0):
                    roots.append(root)
        except (NotImplementedError, TypeError, ValueError):  # SymPy gives up (or trips)
            roots = []
    if not roots:
        roots = numeric_roots(fx, x)
    distinct = sorted({round(_real(r, where), 12): r for r in roots}.items())
    if not distinct:
        raise ValueError(f"{where}: no admissible solution")
    if len(distinct) > 1:
        raise ValueError(f"{where}: several boundaries {[v for v, _ in distinct]}")
    return distinct[0][1]


def numeric_roots(fx: sp.Expr, x: sp.Symbol) -> list:
    """Sign changes of `fx` on a log grid of (1e-30, 1e30), refined by bisection."""
    fn = sp.lambdify([x], fx, modules="mpmath")
    grid = [10.0 ** (e / 10) for e in range(-300, 301)]

    def sign(t):
        try:
            v = complex(fn(t))
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        return None if abs(v.imag) > 0 or math.isnan(v.real) else (v.real > 0) - (v.real < 0)

    roots, prev = [], (grid[0], sign(grid[0]))
    for t in grid[1:]:
        s = sign(t)
        if s is not None and prev[1] is not None and s * prev[1] < 0:
            lo, hi, s_lo = prev[0], t, prev[1]
            for _ in range(200):
                mid = math.sqrt(lo * hi)
                s_mid = sign(mid)
                if s_mid == 0:
                    lo = hi = mid
                    break
                lo, hi = (mid, hi) if s_mid == s_lo else (lo, mid)
            roots.append(sp.Float(math.sqrt(lo * hi), 17))
        elif s == 0:
            roots.append(sp.Float(t, 17))
        prev = (t, s)
    return roots


def symbolic_ok(fx: sp.Expr, x: sp.Symbol) -> bool:
    """True if :func:`sympy.solve` finds the roots of `fx` in `x` quickly (module docstring).

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> symbolic_ok(10**12 - 625 * x**6, x), symbolic_ok(4 - (x + 4)**6, x)
    (True, False)
    """
    nodes = 0
    for node in sp.preorder_traversal(fx):
        nodes += 1
        if nodes > MAX_SYMBOLIC_NODES:
            return False
        if node.is_Rational and max(int(node.p).bit_length(),
                                    int(node.q).bit_length()) > MAX_SYMBOLIC_BITS:
            return False
    if _is_binomial(fx, x):
        return True
    degree = _degree_bound(fx, x)
    return degree is not None and degree <= MAX_SYMBOLIC_DEGREE


def _is_binomial(fx: sp.Expr, x: sp.Symbol) -> bool:
    """``fx = a + b * x**e`` with a, b free of x and e a rational number."""
    _, rest = fx.as_independent(x, as_Add=True)
    _, power = rest.as_independent(x, as_Add=False)
    if power == x:
        return True
    return bool(power.is_Pow and power.base == x and power.exp.is_Rational)


def _degree_bound(expr: sp.Expr, x: sp.Symbol):
    """Upper bound of the degree of the numerator of `expr` as a rational function of x.

    None if `expr` is not a rational function of x with bounded numerator and denominator
    degrees (see :func:`_degrees`).
    """
    degrees = _degrees(expr, x)
    if degrees is None or degrees[1] > MAX_SYMBOLIC_DEGREE:
        return None
    return degrees[0]


def _degrees(expr: sp.Expr, x: sp.Symbol):
    """(numerator, denominator) degree bounds of `expr` in x, or None if x is inside a function
    or a non-integer power.  ``a/b + c/d = (a d + c b) / (b d)`` bounds sums.
    """
    if x not in expr.free_symbols:
        return 0, 0
    if expr == x:
        return 1, 0
    if expr.is_Mul or expr.is_Add:
        parts = [_degrees(arg, x) for arg in expr.args]
        if any(p is None for p in parts):
            return None
        den = sum(p[1] for p in parts)
        if expr.is_Mul:
            return sum(p[0] for p in parts), den
        return max(p[0] + den - p[1] for p in parts), den
    if expr.is_Pow and expr.exp.is_Integer:
        inner = _degrees(expr.base, x)
        if inner is None:
            return None
        k = int(expr.exp)
        return (k * inner[0], k * inner[1]) if k >= 0 else (-k * inner[1], -k * inner[0])
    return None
