"""Neuron masks of LK22 Algorithm 1 and the training schemes built on them (docs/theory.md §2).

At global step k, p masks ``m_k^l ∈ {0,1}^m`` (l = 1..p) select the neurons of p subnetworks.

- **Bernoulli** (LK22 Assumption 2): ``m_{k,r}^l ~ Bern(ξ)`` i.i.d. over (l, r).
  ``θ = 1 − (1 − ξ)^p`` is the probability that a neuron is in at least one subnetwork.
- **Categorical** (LK22 Assumption 4, Independent Subnet Training): each neuron r draws
  ``l_{k,r} ~ Unif{1..p}`` and ``m_{k,r}^l = 1{l = l_{k,r}}``; the masks partition the
  neurons, ``ξ = 1/p`` and ``θ = 1``.

Named schemes (LK22 §1, §4.1, docs/theory.md §2):

==========================  ============  ========  ===========  ========
scheme                      masks         p         ξ            τ
==========================  ============  ========  ===========  ========
``"gd"``                    all ones      1         1            any
``"dropout"``               Bernoulli     1         any          1
``"multi-sample-dropout"``  Bernoulli     any       any          1
``"ist-bernoulli"``         Bernoulli     any       1/p          any
``"ist-categorical"``       categorical   any       1/p          any
``"bernoulli"``             Bernoulli     any       any          any
``"categorical"``           categorical   any       1/p          any
==========================  ============  ========  ===========  ========

Reproducibility: the masks of global step k are drawn from the k-th child of
``rng.spawn`` (one fresh stream per step), so :func:`sample_masks` with ``steps=K`` returns
exactly the masks that :func:`ntkcheck.train` samples from the same ``rng``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._rng import as_generator
from ._validation import check_array, check_choice, check_int, check_scalar

__all__ = ["sample_masks", "theta", "Scheme", "SCHEMES", "KINDS"]

#: Mask distributions.
KINDS = ("bernoulli", "categorical")


class Scheme(NamedTuple):
    """A named training scheme: its mask kind, the parameters it fixes, and its theorem."""

    kind: str  #: mask distribution, one of :data:`KINDS`
    p: int | None  #: fixed number of subnetworks (None: free)
    xi: float | str | None  #: fixed keep probability ("1/p" for IST; None: free)
    tau: int | None  #: fixed local steps (None: free)
    theorem: str  #: the theorem of :mod:`bounds` that describes it (LK22 §4, DZPS19)


#: The one table of training schemes (LK22 §1, §4.1; docs/theory.md §2).
SCHEMES = {
    "gd": Scheme("bernoulli", 1, 1.0, None, "du2019.thm4_1"),
    "dropout": Scheme("bernoulli", 1, None, 1, "liao2022.cor1"),
    "multi-sample-dropout": Scheme("bernoulli", None, None, 1, "liao2022.cor2"),
    "ist-bernoulli": Scheme("bernoulli", None, "1/p", None, "liao2022.cor3"),
    "ist-categorical": Scheme("categorical", None, "1/p", None, "liao2022.thm4"),
    "bernoulli": Scheme("bernoulli", None, None, None, "liao2022.thm3"),
    "categorical": Scheme("categorical", None, "1/p", None, "liao2022.thm4"),
}


def sample_masks(
    m: int,
    p: int,
    *,
    kind: str = "bernoulli",
    xi: float | None = None,
    steps: int | None = None,
    rng=None,
) -> np.ndarray:
    """Sample the p subnetwork masks of one global step, or of ``steps`` global steps.

    Parameters
    ----------
    m : int
        Width (number of neurons), ``m >= 1``.
    p : int
        Number of subnetworks per global step, ``p >= 1``.
    kind : {"bernoulli", "categorical"}
        Bernoulli(ξ) masks (LK22 Assumption 2) or a uniform categorical partition of the
        neurons into p subnetworks (LK22 Assumption 4).
    xi : float, optional
        Keep probability ξ ∈ (0, 1]. Required for ``"bernoulli"``; for ``"categorical"`` it is
        ``1/p`` and may be omitted (another value is an error).
    steps : int, optional
        Number of global steps K >= 0. When given, the result has shape (K, p, m) and step
        k is drawn from the k-th stream of ``rng.spawn`` -- the masks
        :func:`ntkcheck.train` draws from the same ``rng``.
    rng : None, int, SeedSequence or Generator
        Randomness.

    Returns
    -------
    ndarray of bool, shape (p, m) or (steps, p, m)
        ``masks[..., l, r]`` is True when neuron r is in subnetwork l.

    Raises
    ------
    TypeError, ValueError
        Bad ``m``, ``p``, ``kind``, ``xi`` or ``steps``.

    Examples
    --------
    >>> M = sample_masks(6, 3, kind="categorical", rng=0)
    >>> M.shape, M.sum(axis=0).tolist()
    ((3, 6), [1, 1, 1, 1, 1, 1])
    """
    m = check_int(m, "m", min_val=1)
    p = check_int(p, "p", min_val=1)
    kind, xi = check_kind_xi(kind, xi, p)
    gen = as_generator(rng)
    if steps is None:
        return _draw_step(gen.spawn(1)[0], m, p, kind, xi)
    steps = check_int(steps, "steps", min_val=0)
    out = np.empty((steps, p, m), dtype=bool)
    for k, child in enumerate(gen.spawn(steps)):
        out[k] = _draw_step(child, m, p, kind, xi)
    return out


def check_kind_xi(kind, xi, p: int) -> tuple[str, float]:
    """The mask kind and its ξ, checked (categorical: ξ = 1/p; Bernoulli: ξ in (0, 1] is required)."""
    kind = check_choice(kind, "kind", KINDS)
    if kind == "categorical":
        return kind, _categorical_xi(xi, p, "kind='categorical'")
    if xi is None:
        raise ValueError("`xi` is required for kind='bernoulli': pass the keep probability xi in (0, 1].")
    return kind, check_scalar(xi, "xi", min_val=0.0, max_val=1.0, closed="right")


def theta(kind: str, xi: float, p: int) -> float:
    """θ = 1 − (1 − ξ)^p (Bernoulli, LK22 Thm 3) or 1 (categorical, masks partition)."""
    return 1.0 if kind == "categorical" else 1.0 - (1.0 - xi) ** p


# ----------------------------------------------------------------------------- private helpers


def _draw_step(gen: np.random.Generator, m: int, p: int, kind: str, xi: float) -> np.ndarray:
    """The (p, m) bool masks of one global step, from a stream used for nothing else."""
    if kind == "categorical":
        owner = gen.integers(0, p, size=m)
        return owner[None, :] == np.arange(p)[:, None]
    if xi == 1.0:
        return np.ones((p, m), dtype=bool)
    return gen.random((p, m)) < xi


def _categorical_xi(xi, p: int, what: str) -> float:
    # IST fixes xi = 1/p: None and train's default 1.0 both mean "not given".
    if xi is None or (isinstance(xi, (int, float)) and not isinstance(xi, bool) and xi == 1.0):
        return 1.0 / p
    xi = check_scalar(xi, "xi", min_val=0.0, max_val=1.0, closed="right")
    if not math.isclose(xi, 1.0 / p, rel_tol=1e-12):
        raise ValueError(f"{what} fixes `xi` = 1/p = {1.0 / p!r} (p={p}), got xi={xi!r}.")
    return 1.0 / p


def _resolve_scheme(scheme: str, p: int, xi, local_steps: int) -> tuple[str, float]:
    """Check a scheme's fixed parameters against the given ones; return (kind, ξ).

    ``xi=None`` means the scheme's default: 1 for the Bernoulli schemes, 1/p for IST.  Under the
    IST schemes ``xi=1.0`` (the default of :func:`ntkcheck.train`) also means 1/p.
    """
    scheme = check_choice(scheme, "scheme", SCHEMES)
    kind, p_fix, xi_fix, tau_fix, _ = SCHEMES[scheme]
    if p_fix is not None and p != p_fix:
        alt = " Use scheme='multi-sample-dropout' for p > 1." if scheme == "dropout" else ""
        raise ValueError(f"scheme={scheme!r} fixes `p` = {p_fix}, got p={p}.{alt}")
    if tau_fix is not None and local_steps != tau_fix:
        raise ValueError(
            f"scheme={scheme!r} fixes `local_steps` (τ) = {tau_fix}, got local_steps={local_steps}. "
            "Use scheme='bernoulli' for τ > 1."
        )
    if xi_fix == "1/p":
        return kind, _categorical_xi(xi, p, f"scheme={scheme!r}")
    if xi is None:
        return kind, 1.0
    xi = check_scalar(xi, "xi", min_val=0.0, max_val=1.0, closed="right")
    if xi_fix is not None and xi != xi_fix:
        raise ValueError(f"scheme={scheme!r} fixes `xi` = {xi_fix}, got xi={xi!r}.")
    return kind, xi


def _check_run_masks(masks, steps: int, p: int, m: int, kind: str, scheme: str) -> np.ndarray:
    """Validate replay masks of shape (steps, p, m): 0/1 entries matching the scheme; return bool."""
    arr = np.asarray(masks)
    want = (steps, p, m)
    if arr.ndim != 3 or arr.shape != want:
        raise ValueError(
            f"`masks` must have shape (global_steps, p, m) = {want}, got shape {arr.shape}."
        )
    if arr.size and arr.dtype.kind != "b":
        arr = check_array(arr, "masks", ndim=3, dtype=None)
        bad = (arr != 0) & (arr != 1)
        if bad.any():
            k, l, r = (int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"entries of `masks` must be 0 or 1, got masks[{k}, {l}, {r}]={arr[k, l, r].item()!r}."
            )
    arr = arr.astype(bool, copy=False)
    if kind == "categorical":
        count = arr.sum(axis=1)
        bad = np.argwhere(count != 1)
        if bad.size:
            k, r = (int(i) for i in bad[0])
            raise ValueError(
                f"scheme={scheme!r} needs categorical `masks` that partition the neurons (each neuron "
                f"in exactly one of the p={p} subnetworks), got neuron {r} in {int(count[k, r])} "
                f"subnetworks at global step {k}."
            )
    elif scheme == "gd" and not arr.all():
        k, l, r = (int(i) for i in np.argwhere(~arr)[0])
        raise ValueError(f"scheme='gd' needs all-ones `masks`, got masks[{k}, {l}, {r}]=0.")
    return np.ascontiguousarray(arr)
