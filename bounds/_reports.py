"""Small result objects of :mod:`bounds`: claims, hypothesis reports, solved requirements.

A hypothesis is *satisfied* when SymPy decides it is True for the given numbers, *violated*
only when it is definitely False, and *undecided* otherwise (SymPy ``stats.rv._value_check``
semantics): missing numbers never count as a violation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

import sympy as sp

__all__ = ["HypothesisViolation", "Claim", "HypothesisCheck", "HypothesisReport", "Bound",
           "truth"]

SATISFIED, VIOLATED, UNDECIDED = "satisfied", "violated", "undecided"


class HypothesisViolation(ValueError):
    """Numbers given to a theorem definitely violate one of its hypotheses."""


def truth(value) -> Optional[bool]:
    """Map a SymPy/Python truth value to True, False or None (undecided).

    ``sp.true``/``True`` -> True, ``sp.false``/``False`` -> False; anything else (an
    unevaluated Relational, ``None``) -> None.
    """
    if value is True or value is sp.true:
        return True
    if value is False or value is sp.false:
        return False
    return None


@dataclass(frozen=True)
class Claim:
    """A qualitative claim about a theorem, checkable by SymPy.

    Parameters
    ----------
    description : str
        The claim in words, with its source (e.g. "LK22 Cor. 1: rate -> 1 as xi -> 0").
    predicate : callable
        ``predicate(params) -> bool | sympy Boolean | None`` where ``params`` maps the
        template parameters (constants, exponents) to values.  It returns True when the claim
        is proved, False when disproved and None when SymPy cannot decide.
    parameters : mapping of Symbol to Expr
        Default values of the template parameters (the theorem's documented defaults).
    """

    description: str
    predicate: Callable[[Mapping[sp.Symbol, sp.Expr]], object] = field(repr=False)
    parameters: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict, repr=False)

    def check(self, **overrides) -> Optional[bool]:
        """Decide the claim for the default parameters, or for `overrides` of them.

        Returns
        -------
        bool or None
            True (holds), False (fails) or None (SymPy cannot decide).

        Raises
        ------
        KeyError
            If an override names no parameter of the claim.
        """
        by_name = {s.name: s for s in self.parameters}
        unknown = sorted(set(overrides) - set(by_name))
        if unknown:
            raise KeyError(f"claim {self.description!r}: unknown parameter(s) {unknown}; "
                           f"known: {sorted(by_name)}")
        params = dict(self.parameters)
        params.update({by_name[name]: sp.sympify(val) for name, val in overrides.items()})
        return truth(self.predicate(params))


@dataclass(frozen=True)
class HypothesisCheck:
    """Verdict on one hypothesis for given numbers.

    Attributes
    ----------
    hypothesis : Relational
        The hypothesis as stated.
    status : {"satisfied", "violated", "undecided"}
    substituted : Boolean or Relational
        The hypothesis after substituting the numbers (and constant defaults).
    lhs, rhs : float or None
        Numeric sides when both are fully determined, else None.
    """

    hypothesis: sp.Basic
    status: str
    substituted: sp.Basic
    lhs: Optional[float] = None
    rhs: Optional[float] = None

    def __str__(self) -> str:
        sides = ""
        if self.lhs is not None and self.rhs is not None:
            sides = f"  ({self.lhs:.6g} vs {self.rhs:.6g})"
        return f"[{self.status}] {self.hypothesis}{sides}"


@dataclass(frozen=True)
class HypothesisReport:
    """Per-hypothesis verdicts of :meth:`bounds.Theorem.check_hypotheses`."""

    theorem: str
    checks: tuple[HypothesisCheck, ...]

    @property
    def satisfied(self) -> tuple[HypothesisCheck, ...]:
        """Checks SymPy decided True."""
        return tuple(c for c in self.checks if c.status == SATISFIED)

    @property
    def violated(self) -> tuple[HypothesisCheck, ...]:
        """Checks SymPy decided (definitely) False."""
        return tuple(c for c in self.checks if c.status == VIOLATED)

    @property
    def undecided(self) -> tuple[HypothesisCheck, ...]:
        """Checks SymPy could not decide (usually because numbers are missing)."""
        return tuple(c for c in self.checks if c.status == UNDECIDED)

    @property
    def ok(self) -> bool:
        """True when no hypothesis is violated (undecided ones pass, as in ``_value_check``)."""
        return not self.violated

    @property
    def all_satisfied(self) -> bool:
        """True when every hypothesis is decided True."""
        return all(c.status == SATISFIED for c in self.checks)

    def raise_if_violated(self) -> "HypothesisReport":
        """Raise :class:`HypothesisViolation` naming the violated hypotheses; else return self."""
        if self.violated:
            listed = "; ".join(str(c) for c in self.violated)
            raise HypothesisViolation(f"{self.theorem}: hypothesis violated: {listed}")
        return self

    def __str__(self) -> str:
        lines = [f"{self.theorem}: {len(self.satisfied)} satisfied, {len(self.violated)} "
                 f"violated, {len(self.undecided)} undecided"]
        lines += [f"  {c}" for c in self.checks]
        return "\n".join(lines)


@dataclass(frozen=True)
class Bound:
    """A requirement solved for one variable (:meth:`bounds.Theorem.solve_for`).

    The requirement holds exactly when ``variable relation value``; e.g. ``m >= 3.2e9``
    (smallest width) or ``eta <= 0.01`` (largest step size).

    Attributes
    ----------
    variable : str
    relation : {">=", ">", "<=", "<"}
    value : float
        The boundary value.
    integer : int or None
        For an integer variable, the smallest (``>=``/``>``) or largest (``<=``/``<``)
        admissible integer; None otherwise.
    """

    variable: str
    relation: str
    value: float
    integer: Optional[int] = None

    def __float__(self) -> float:
        return float(self.value)

    def __str__(self) -> str:
        extra = f" (integer: {self.integer})" if self.integer is not None else ""
        return f"{self.variable} {self.relation} {self.value:.6g}{extra}"
