"""Name -> :class:`~bounds.Theorem` registry of the built-in theorems (and user additions).

Built-in names (part of the public interface):
``du2019.lemma3_1``, ``du2019.lemma3_2``, ``du2019.thm4_1``, ``arora2019.thm4_1``,
``arora2019.thm5_1``, ``song_yang2019.thm``, ``liao2022.thm2``, ``liao2022.hyp1``,
``liao2022.thm3``, ``liao2022.thm4``, ``liao2022.cor1``, ``liao2022.cor2``, ``liao2022.cor3``,
``deng2022.shifted_ntk``, ``deng2022.firing``, ``deng2022.lambda_min``,
``deng2022.gauss_newton``, ``deng2022.cost``, ``exact.lk22_identities``, ``liao2022.implicit`` ([DERIVED], docs/theory.md §8).
"""

from __future__ import annotations

import difflib

from .theorem import Theorem

__all__ = ["get", "names", "register"]

_REGISTRY: dict[str, Theorem] = {}


def _builtins() -> dict[str, Theorem]:
    if not _REGISTRY:
        # lazy: building every built-in theorem with SymPy costs start-up time, paid on first use
        from .theorems import arora2019, deng2022, du2019, exact, implicit, liao2022, song_yang2019

        for thm in (du2019.LEMMA3_1, du2019.LEMMA3_2, du2019.THM4_1, arora2019.THM4_1,
                    arora2019.THM5_1, song_yang2019.THM, liao2022.THM2, liao2022.HYP1,
                    liao2022.THM3, liao2022.THM4, liao2022.COR1, liao2022.COR2, liao2022.COR3,
                    deng2022.SHIFTED_NTK, deng2022.FIRING_THM, deng2022.LAMBDA_MIN_THM,
                    deng2022.GAUSS_NEWTON, deng2022.COST_THM, exact.LK22_IDENTITIES,
                    implicit.IMPLICIT):
            _REGISTRY[thm.name] = thm
    return _REGISTRY


def names() -> tuple[str, ...]:
    """Registered theorem names, sorted."""
    return tuple(sorted(_builtins()))


def get(name: str) -> Theorem:
    """The registered theorem called `name`.

    Raises
    ------
    KeyError
        If `name` is not registered; the message suggests close matches and lists all names.
    """
    registry = _builtins()
    try:
        return registry[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(registry), n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise KeyError(f"unknown theorem {name!r}.{hint} Known: {sorted(registry)}") from None


def register(theorem: Theorem, *, overwrite: bool = False) -> Theorem:
    """Add `theorem` (e.g. one read by :func:`bounds.load`) to the registry; return it.

    Raises
    ------
    ValueError
        If the name is taken and `overwrite` is False.
    """
    if not isinstance(theorem, Theorem):
        raise TypeError(f"`theorem` must be a bounds.Theorem, got {type(theorem).__name__}")
    registry = _builtins()
    if theorem.name in registry and not overwrite:
        raise ValueError(f"a theorem named {theorem.name!r} is already registered; pass "
                         f"overwrite=True to replace it")
    registry[theorem.name] = theorem
    return theorem
