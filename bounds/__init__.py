"""bounds: NTK convergence theorems encoded as SymPy objects (pure mathematics, no ntkcheck import).

Each published statement is one :class:`Theorem` with a provenance tag (docs/theory.md):
[PAPER] for a published theorem with its orders of growth (absolute constants are explicit
positive symbols ``c_*``, default 1), [STRUCT] for a parametrised template of a statement
whose exact exponents are unknown (LK22), [EXACT] for identities that follow from the
definitions.  Built-in theorems are looked up by name::

    >>> import bounds
    >>> thm = bounds.get("du2019.thm4_1")
    >>> thm.evaluate("width", n=10, lambda_0=0.5, delta=0.1)
    16000000000.0
    >>> str(thm.solve_for("step_size", "eta", n=10, lambda_0=0.5))
    'eta <= 0.005'

User theorems come from TOML files through :func:`load` (a safe formula parser, never
``eval``).  Symbols are declared once in :mod:`bounds.symbols`.
"""

from . import symbols
from ._reports import Bound, Claim, HypothesisCheck, HypothesisReport, HypothesisViolation
from .loader import load, loads
from .parse import ParseError, parse_expression
from .registry import get, names, register
from .theorem import CONFIDENCES, PROVENANCES, STANDARD_KEYS, MissingValueError, Theorem

__all__ = [
    "Bound", "CONFIDENCES", "Claim", "HypothesisCheck", "HypothesisReport",
    "HypothesisViolation", "MissingValueError", "PROVENANCES", "ParseError", "STANDARD_KEYS",
    "Theorem", "get", "load", "loads", "names", "parse_expression", "register", "symbols",
]
