"""Roots of one-variable requirements for :meth:`bounds.Theorem.solve_for`.

A requirement ``lhs REL rhs`` with every other symbol substituted is solved for its boundary
``f(x) = lhs − rhs = 0``: first symbolically with :func:`sympy.solve` over a positive (or real)
dummy — the variable's own ``integer`` assumption would discard non-integer boundaries — and,
if SymPy finds nothing, numerically by scanning a log grid of (1e-30, 1e30) for sign changes
and bisecting.  The boundary must be unique.
"""

from __future__ import annotations

import math

import sympy as sp

__all__ = ["unique_root", "numeric_roots"]


def real_value(expr):
    """``expr`` as a float if it evaluates to a real number (30 digits), else None."""
    try:
        value = complex(sp.N(expr, 30))
    except (TypeError, ValueError):
        return None
    if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
        return None
    return value.real


def _real(expr, where: str) -> float:
    value = real_value(expr)
    if value is None or math.isnan(value):
        raise ValueError(f"{where}: {expr} is not a real number")
    return value


def unique_root(fx: sp.Expr, x: sp.Symbol, where: str) -> sp.Expr:
    """The unique admissible real root of `fx` in `x` (symbolic first, then numeric)."""
    roots = []
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
