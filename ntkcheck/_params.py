"""The parameter rules of a training run, declared once (scikit-learn ``_parameter_constraints`` style).

Every entry point that takes run parameters validates them through this table: the
``ntkcheck run`` configuration (:class:`ntkcheck.experiment.RunConfig`), the sweep runner's
parameters (:func:`ntkcheck.sweep.validate_params`), the panels of ``ntkcheck reproduce`` and
:func:`ntkcheck.train` (whose keyword names differ: ``global_steps`` for ``steps``).  A rule
checks the type first, then the range; values are never coerced from strings (``normalize =
"no"`` is an error, not ``True``).

:data:`RUN_PARAMS` maps each name to a :class:`Param` (rule, default, one-line help); the
aliases (:data:`ALIASES`) accept the command-line flag names in configuration files and sweep
specs (``width`` for ``m``, ``tau`` for ``local_steps``, ``global_steps`` for ``steps``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_choice, check_scalar
from .masks import SCHEMES, _resolve_scheme

__all__ = ["Interval", "Options", "Text", "Flag", "Either", "Param", "RUN_PARAMS", "ALIASES",
           "RECORD_PRESETS", "check_param", "check_step_size", "check_schedule", "canonical_params", "parse_seeds"]

#: What a run records along training (the presets of :func:`ntkcheck.train`'s ``record``).
RECORD_PRESETS = {
    "loss": (),
    "basic": ("patterns",),
    "standard": ("patterns", "lam_min_full"),
    "full": ("patterns", "lam_min_full", "lam_min_masked"),
    "certified": ("patterns", "lam_certified_full", "lam_certified_masked"),
}


@dataclass(frozen=True)
class Interval:
    """A real (or integer, ``integer=True``) number in a range; ``closed`` as in ``check_scalar``."""

    lo: float | None = None
    hi: float | None = None
    closed: str = "both"
    integer: bool = False

    def check(self, value, name):
        if self.integer:
            return check_scalar(value, name, numbers.Integral, min_val=self.lo, max_val=self.hi,
                                closed=self.closed)
        # reals are returned as float, so 1 and 1.0 are the same parameter value
        return float(check_scalar(value, name, numbers.Real, min_val=self.lo, max_val=self.hi,
                                  closed=self.closed))


@dataclass(frozen=True)
class Options:
    """One of a fixed set of strings."""

    values: tuple

    def check(self, value, name):
        if not isinstance(value, str):
            raise TypeError(f"`{name}` must be a string, one of {list(self.values)}, got "
                            f"{type(value).__name__} {value!r}.")
        return check_choice(value, name, self.values)


@dataclass(frozen=True)
class Text:
    """A non-empty string."""

    def check(self, value, name):
        if not isinstance(value, str) or not value:
            raise TypeError(f"`{name}` must be a non-empty string, got {type(value).__name__} {value!r}.")
        return value


@dataclass(frozen=True)
class Flag:
    """A boolean: ``true``/``false`` only (no ``"no"``, no 0/1)."""

    def check(self, value, name):
        if not isinstance(value, bool):
            raise TypeError(f"`{name}` must be true or false, got {type(value).__name__} {value!r}.")
        return value


@dataclass(frozen=True)
class Either:
    """The first of several rules that accepts the value; ``None`` allowed when ``optional``."""

    rules: tuple
    optional: bool = False

    def check(self, value, name):
        if value is None and self.optional:
            return None
        errors = []
        for rule in self.rules:
            try:
                return rule.check(value, name)
            except (TypeError, ValueError) as exc:
                errors.append(exc)
        # a wrong type for every form is a TypeError, as everywhere in the package
        kind = TypeError if all(isinstance(e, TypeError) for e in errors) else ValueError
        if len(errors) == 1:
            raise kind(str(errors[0]))
        raise kind(f"`{name}` got {value!r}, which fits none of its forms: " + " / ".join(map(str, errors)))


@dataclass(frozen=True)
class Param:
    """One run parameter: its rule, default and help text."""

    rule: Any
    default: Any
    help: str


_POS = Interval(0.0, None, "neither")
#: Every parameter of one training run (one configuration, one seed).
RUN_PARAMS = {
    "data": Param(Text(), "sphere:n=100,d=10,seed=0",
                  "dataset: sphere:n=..,d=..,seed=.., digits[:n=..], or a file (.npz/.npy/.csv)"),
    "target": Param(Either((Text(), Interval(0, None, integer=True)), optional=True), None,
                    "CSV label column (name or index)"),
    "normalize": Param(Flag(), False, "project the rows onto the unit sphere"),
    "scheme": Param(Options(tuple(SCHEMES)), "bernoulli", "training scheme (ntkcheck.masks.SCHEMES)"),
    "m": Param(Interval(1, None, integer=True), 1000, "hidden width m"),
    "kappa": Param(_POS, 1.0, "initialisation scale kappa: w_r(0) ~ N(0, kappa^2 I)"),
    "eta": Param(Either((Options(("auto",)), _POS)), "auto",
                 "local step size eta, or 'auto' = 1/lambda_max(H_inf) of the data"),
    "steps": Param(Interval(0, None, integer=True), 100, "global steps K"),
    "local_steps": Param(Interval(1, None, integer=True), 1, "local steps tau per global step"),
    "p": Param(Interval(1, None, integer=True), 1, "subnetworks per global step"),
    "xi": Param(Either((Interval(0.0, 1.0, "right"),), optional=True), None,
                "keep probability xi (None: the scheme's default, 1 or 1/p)"),
    "theorem": Param(Either((Text(),), optional=True), None,
                     "theorem to compare with (default: the scheme's, ntkcheck.masks.SCHEMES)"),
    "delta": Param(Interval(0.0, 1.0, "neither"), 0.1, "failure probability delta of the theorems"),
    "record": Param(Options(tuple(RECORD_PRESETS)), "standard",
                    "what to record along training (standard adds lambda_min(H(W_k)); full also "
                    "the masked NTKs', costly; certified proves lambda_min > lambda_0/2 by one Cholesky "
                    "per kernel instead of computing it)"),
    "identity_samples": Param(Interval(0, None, integer=True), 2000,
                              "mask samples per exact identity of docs/theory.md §5 (0: skip)"),
    "predict": Param(Flag(), True, "predict the plateau with the model of docs/theory.md §8 [DERIVED] "
                                   "(bias + noise) beside the measured one"),
}

#: Other accepted spellings (command-line flag names) -> parameter name.
ALIASES = {"width": "m", "tau": "local_steps", "global_steps": "steps"}


def check_param(name: str, value, *, label: str | None = None):
    """Validate ``value`` against the rule of run parameter ``name``; return it canonicalised.

    ``label`` is the name used in the message (e.g. ``global_steps`` for ``steps``).

    Examples
    --------
    >>> check_param("m", 64)
    64
    >>> check_param("eta", "auto")
    'auto'
    """
    label = label or name
    value = RUN_PARAMS[name].rule.check(value, label)
    if name == "identity_samples" and value == 1:
        raise ValueError("`identity_samples` must be 0 (skip) or >= 2 for a standard error, got 1.")
    return value


def check_step_size(eta, name: str = "eta") -> float:
    """A numeric step size η > 0 (the rule of run parameter ``eta`` without its ``"auto"`` form,
    which only a run with data can resolve: ``1/λ_max(H∞)``)."""
    if eta == "auto":
        raise ValueError(f"`{name}` must be a number > 0 here; 'auto' (1/lambda_max(H_inf) of the data) is "
                         "resolved by ntkcheck run / ntkcheck.unit.run_seed: pass that value.")
    return _POS.check(eta, name)


def check_schedule(*, scheme, eta, global_steps, local_steps, p, xi):
    """The training schedule of Algorithm 1, checked by the table's rules (``train`` and the
    plateau model share it): returns ``(eta, K, tau, p, kind, xi)`` with ξ resolved."""
    eta = check_step_size(eta)
    K = check_param("steps", global_steps, label="global_steps")
    tau = check_param("local_steps", local_steps)
    p = check_param("p", p)
    kind, xi = _resolve_scheme(scheme, p, xi, tau)
    return eta, K, tau, p, kind, xi


def canonical_params(params: dict, *, where: str = "") -> dict:
    """All run parameters of ``params`` validated, aliases resolved, defaults filled, keys sorted.

    Raises
    ------
    ValueError, TypeError
        An unknown name (the message lists the known ones), a name given twice (as itself and as
        an alias), or a value its rule refuses.
    """
    out = {}
    prefix = f"{where}: " if where else ""
    for key, value in params.items():
        name = ALIASES.get(key, key)
        if name not in RUN_PARAMS:
            known = sorted(set(RUN_PARAMS) | set(ALIASES))
            raise ValueError(f"{prefix}unknown run parameter `{key}`; known: {known}.")
        if name in out:
            raise ValueError(f"{prefix}`{name}` is given twice (as `{name}` and as its alias).")
        out[name] = check_param(name, value)
    for name, prm in RUN_PARAMS.items():
        out.setdefault(name, prm.default)
    # the scheme's fixed parameters (p, xi, tau) must agree; xi is resolved to its value (1 for
    # the Bernoulli schemes when not given, 1/p for IST), so equal runs have equal parameters
    _, xi = _resolve_scheme(out["scheme"], out["p"], out["xi"], out["local_steps"])
    out["xi"] = float(xi)
    return dict(sorted(out.items()))


#: A seed count above this is almost surely one seed meant literally (write it as a list).
MAX_SEED_COUNT = 100_000


def parse_seeds(seeds) -> tuple:
    """The seeds of a run, from the one rule shared by ``--seeds`` and ``seeds =`` in a config.

    A count N (an int, or a string of digits) means ``0..N-1``; a list of ints, or a string of
    comma-separated ints (``"0,1"``, ``"7,"``), lists the seeds.  Seeds are ints >= 0, distinct.

    Examples
    --------
    >>> parse_seeds(3), parse_seeds("0,5"), parse_seeds([7]), parse_seeds("7,")
    ((0, 1, 2), (0, 5), (7,), (7,))
    """
    if isinstance(seeds, str):
        text = seeds.strip()
        try:
            if "," in text:
                seeds = [int(s) for s in text.split(",") if s.strip()]
            else:
                seeds = int(text)
        except ValueError:
            raise ValueError(f"`seeds` must be a count N or a comma-separated list of integers, got "
                             f"{text!r}.") from None
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        count = int(seeds)
        if not 1 <= count <= MAX_SEED_COUNT:
            raise ValueError(f"`seeds` as a count must be in [1, {MAX_SEED_COUNT}], got {count}; to run one "
                             f"seed s write a list: seeds = [{count}] (or --seeds {count},).")
        return tuple(range(count))
    if not isinstance(seeds, (list, tuple)) or not seeds:
        raise ValueError(f"`seeds` must be a count N or a non-empty list of integers, got {seeds!r}.")
    out = tuple(check_scalar(s, "seeds", numbers.Integral, min_val=0) for s in seeds)
    if len(set(out)) != len(out):
        raise ValueError(f"`seeds` must be distinct, got {list(out)}.")
    return out
