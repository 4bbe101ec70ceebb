"""The DHSWZ22 shifted-ReLU theorems (``deng2022.*``, docs/theory.md §9) beside a dataset.

A companion of :mod:`ntkcheck.verify` (the layer that joins :mod:`bounds` to measurements), used
by ``ntkcheck check --shift`` / ``--alpha``: :func:`shift_report` gathers the shifted quantities
of the data (λ0 of the shifted kernel, the firing fraction ``Φ(−b/κ)``, the separation δ_sep),
:func:`compare_measured` puts each bound beside its measured counterpart (the ``lambda_min``
bound against λ0, the exact expected firing count ``m Φ(−b/κ)`` against ``firing``), and
:func:`require_theorems` refuses plain-ReLU theorems for a shifted network.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import bounds

from ._json import jsonable
from .ntk import firing_fraction_infinite

__all__ = ["SHIFTED_THEOREMS", "MEASURED_BOUNDS", "ShiftReport", "shift_report", "shift_from_alpha",
           "alpha_from_shift", "require_theorems", "compare_measured"]


#: Theorems about the shifted ReLU ``max(z − b, 0)`` (DHSWZ22); a theorem that uses the symbol
#: ``b`` counts as one too.  All others are stated for the plain ReLU (b = 0).
SHIFTED_THEOREMS = ("deng2022.firing", "deng2022.lambda_min", "deng2022.gauss_newton",
                    "deng2022.cost", "deng2022.shifted_ntk")
#: (theorem, expression) -> (measured quantity of :class:`ShiftReport`, relation): the bound
#: holds when ``measured >= bound`` (a lower bound) or ``measured <= bound`` (an upper bound).
MEASURED_BOUNDS = {
    ("deng2022.lambda_min", "lambda_min"): ("lambda_0", ">="),
    ("deng2022.firing", "firing"): ("expected_firing", "<="),
}


@dataclass(frozen=True)
class ShiftReport:
    """The shifted-ReLU quantities of a dataset (:func:`shift_report`, docs/theory.md §9).

    Attributes
    ----------
    shift : float
        Threshold b of ``max(z − b, 0)``.
    kappa : float
        Initialisation scale, ``w_r(0) ~ N(0, κ² I)``.
    effective_shift : float
        ``b/κ``: the kernel at initialisation is ``ntk_infinite(X, shift=b/κ)``
        (``1{<κz, x> ≥ b} = 1{<z, x> ≥ b/κ}``).
    alpha : float or None
        Sparsity exponent of ``b = κ √(2α log m)``: given (``--alpha``) or solved from b and m.
    alpha_source : {"given", "derived", None}
    m : int or None
        Hidden width.
    delta_sep : float
        ``min_{i≠j} min(‖u_i − u_j‖, ‖u_i + u_j‖)`` over the unit directions (0: a parallel pair).
    firing_fraction, firing_fraction_min : float
        Largest and smallest expected fraction of neurons firing on a point,
        ``Φ(−b/(κ‖x_i‖))`` (equal, ``Φ(−b/κ)``, for unit rows).
    shift_factor : float
        ``exp(−b²/(2κ²))``, the factor of the ``deng2022.lambda_min`` bound.
    expected_firing : float or None
        ``m · firing_fraction``: expected fired neurons on the point that fires most (needs m).
    lambda_0 : float
        ``λ_min`` of the shifted kernel.
    """

    shift: float
    kappa: float
    effective_shift: float
    alpha: float | None
    alpha_source: str | None
    m: int | None
    delta_sep: float
    firing_fraction: float
    firing_fraction_min: float
    shift_factor: float
    expected_firing: float | None
    lambda_0: float

    def to_dict(self) -> dict:
        """JSON-serialisable dict."""
        return jsonable(asdict(self))


def shift_from_alpha(alpha: float, *, kappa: float, m: int) -> float:
    """``b = κ √(2α log m)``, the threshold that makes ``E|S_i| ≤ m^{1−α}`` (the ``threshold``
    of ``deng2022.firing``).

    Examples
    --------
    >>> round(shift_from_alpha(0.5, kappa=1.0, m=1000), 6)  # sqrt(log 1000)
    2.628261
    """
    return bounds.get("deng2022.firing").evaluate("threshold", alpha=float(alpha),
                                                   kappa=float(kappa), m=int(m))


def alpha_from_shift(shift: float, *, kappa: float, m: int) -> float | None:
    """The α with ``shift_from_alpha(α) = shift``: ``b²/(2κ² log m)``; None when b = 0 or m = 1.

    Examples
    --------
    >>> alpha_from_shift(shift_from_alpha(0.25, kappa=0.5, m=400), kappa=0.5, m=400)  # doctest: +ELLIPSIS
    0.25...
    """
    if not shift > 0 or int(m) < 2:
        return None
    return float(shift) ** 2 / (2.0 * float(kappa) ** 2 * math.log(int(m)))


def require_theorems(names, *, shift: float) -> tuple[str, ...]:
    """Look up theorem `names` and check that they apply to a network with ReLU shift `shift`.

    Raises
    ------
    KeyError
        An unknown name (the message suggests close matches).
    ValueError
        ``shift != 0`` and a theorem is stated for the plain ReLU (not in
        :data:`SHIFTED_THEOREMS` and without the symbol ``b``).
    """
    names = tuple(names)
    for name in names:
        thm = bounds.get(name)
        if shift != 0 and name not in SHIFTED_THEOREMS and "b" not in thm.symbol_names:
            raise ValueError(
                f"theorem {name!r} is stated for the plain ReLU (shift b = 0), not for the shifted "
                f"network of b = {shift:g}; use the deng2022.* theorems with a shift "
                f"(`ntkcheck bounds list`) or drop --shift/--alpha to check {name!r}.")
    return names


def shift_report(X, *, shift: float, kappa: float, delta_sep: float, lambda_0: float,
                 m: int | None = None, alpha: float | None = None) -> ShiftReport:
    """The shifted-ReLU quantities of data `X` beside which ``deng2022.*`` are evaluated.

    Parameters
    ----------
    X : array_like of shape (n, d)
    shift : float
        b ≥ 0.
    kappa : float
        κ > 0.
    delta_sep : float
        Separation of the data (:attr:`ntkcheck.AssumptionReport.min_separation`).
    lambda_0 : float
        λ_min of ``ntk_infinite(X, shift=shift/kappa)``
        (:func:`ntkcheck.check_assumptions` with that shift).
    m : int, optional
        Width, for the expected firing count and a derived α.
    alpha : float, optional
        The α that set b (``--alpha``); otherwise derived from b and m when both allow.

    Returns
    -------
    ShiftReport
    """
    b_eff = float(shift) / float(kappa)
    frac = firing_fraction_infinite(X, shift=b_eff)
    source = "given" if alpha is not None else None
    if alpha is None and m is not None:
        alpha = alpha_from_shift(shift, kappa=kappa, m=m)
        source = None if alpha is None else "derived"
    factor = bounds.get("deng2022.lambda_min").evaluate("shift_factor", b=float(shift),
                                                         kappa=float(kappa))
    hi = float(frac.max())
    return ShiftReport(shift=float(shift), kappa=float(kappa), effective_shift=b_eff,
                       alpha=alpha, alpha_source=source, m=m, delta_sep=float(delta_sep),
                       firing_fraction=hi, firing_fraction_min=float(frac.min()),
                       shift_factor=factor, expected_firing=None if m is None else m * hi,
                       lambda_0=float(lambda_0))


def compare_measured(check: dict, measured: dict) -> list[dict]:
    """Each bound of a theorem check that has a measured counterpart (:data:`MEASURED_BOUNDS`).

    Parameters
    ----------
    check : dict
        ``TheoremCheck.to_dict()``.
    measured : dict
        ``ShiftReport.to_dict()`` (or any dict with the measured quantities).

    Returns
    -------
    list of dict
        ``key``, ``bound`` (the theorem's value), ``quantity`` (the measured name), ``measured``,
        ``relation`` (``">="``: measured ≥ bound), ``ratio`` (measured / bound: how conservative a
        lower bound is, how tight an upper bound is) and ``holds`` (None when a value is missing).
    """
    rows = []
    for (name, key), (quantity, relation) in MEASURED_BOUNDS.items():
        if name != check["name"]:
            continue
        bound, value = check["values"].get(key), measured.get(quantity)
        holds = ratio = None
        if bound is not None and value is not None:
            holds = bool(value >= bound) if relation == ">=" else bool(value <= bound)
            ratio = value / bound if bound > 0 else None
        rows.append(dict(key=key, bound=bound, quantity=quantity, measured=value,
                         relation=relation, ratio=ratio, holds=holds))
    return rows
