"""What a training run returns and records: :class:`Trajectory`, :class:`TrainResult`, the record items.

Shared by LK22 Algorithm 1 (:mod:`ntkcheck.train`) and the fired-pair engines of the shifted
network (:mod:`ntkcheck.fired_train`, DHSWZ22): one trajectory type, one rule for ``record``,
and one place computing the kernel statistics recorded along training (``λ_min`` of the
(masked, shifted) NTK, or its certificate ``λ_min > t``; docs/theory.md §4, §5.2).
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._config import NumericalWarning
from ._params import RECORD_PRESETS
from ._validation import check_scalar
from .certify import certify_min_eigenvalue
from .eigen import min_eigenvalue
from .network import Network
from .ntk import ntk_finite, ntk_infinite

__all__ = ["Trajectory", "TrainResult", "RECORD_ITEMS", "DIVERGENCE_FACTOR", "FULL_ITEMS", "MASKED_ITEMS",
           "check_record", "KernelStats", "bools"]

#: Optional (costly) trajectory items; the cheap ones are always recorded.
RECORD_ITEMS = ("patterns", "lam_min_full", "lam_min_masked", "lam_certified_full", "lam_certified_masked")
#: Items about the full kernel ``H(W_k)`` and about the masked kernels ``H(W^l_{k,t}, m^l)``.
FULL_ITEMS = ("lam_min_full", "lam_certified_full")
MASKED_ITEMS = ("lam_min_masked", "lam_certified_masked")

#: Training has diverged once the tracked loss exceeds this multiple of ``max(L_0, ‖y‖²)`` (a
#: loss that has grown a million-fold is not converging; stopping early keeps it finite).
DIVERGENCE_FACTOR = 1e6


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Everything recorded along a run of Algorithm 1; K = global steps completed.

    Attributes
    ----------
    loss : ndarray of shape (K+1,)
        ``L_k = ‖y − ξ f(W_k, X)‖²`` (no ½; the loss of LK22 Thm 3/4).
    sampled_loss : ndarray of shape (K,)
        Mean over l of ``‖y − u_{m_k^l}(W_k)‖²`` right after sampling (first movement).
    local_loss : ndarray of shape (K, τ, p)
        ``‖y − u^l_{k,t}‖²`` after local step t = 1..τ of subnetwork l (second movement);
        ``loss[k+1]`` is the third (aggregation).
    max_movement : ndarray of shape (K+1,)
        ``max_r ‖w_r(k) − w_r(0)‖`` (compare with R, R' of DZPS19, docs/theory.md §6).
    frobenius_movement : ndarray of shape (K+1,)
        ``‖W_k − W_0‖_F``.
    local_movement : ndarray of shape (K,)
        ``max_{l,t,r} ‖w^l_{k,t,r} − w_{k,r}‖`` (LK22 Hypothesis 1).
    neurons_uncovered, neurons_shared : ndarray of shape (K,)
        Fraction of neurons with ``N_{k,r} = 0`` (kept unchanged) and with ``N_{k,r} ≥ 2``.
    neurons_mean_count, neurons_max_count : ndarray of shape (K,)
        Mean and maximum of ``N_{k,r}`` over r (E N = pξ).
    subnet_size : ndarray of shape (K, p)
        Number of neurons in each subnetwork.
    theta : float
        ``θ = 1 − (1 − ξ)^p`` (Bernoulli) or 1 (categorical).
    xi : float
        ξ.
    pattern_change : ndarray of shape (K+1,) or None
        Fraction of pairs (i, r) with ``1{<w_r(k), x_i> ≥ 0} ≠ 1{<w_r(0), x_i> ≥ 0}``
        (record item ``"patterns"``).
    lam_min_full : ndarray of shape (K+1,) or None
        ``λ_min(H(W_k))`` of the full NTK (item ``"lam_min_full"``; O(n² m) per step).
    lam_min_masked : ndarray of shape (K, τ, p) or None
        ``λ_min(H(W^l_{k,t}, m^l_k))`` of the masked NTK (LK22 Def. 1) at which local step
        t+1 takes its gradient, t = 0..τ−1 (item ``"lam_min_masked"``).
        Rounding-level negative eigenvalues of singular kernels are recorded as 0.
        With ``shift = b`` these are the shifted kernels ``H_b`` (docs/theory.md §9).
    fired_min, fired_mean, fired_max : ndarray of shape (K+1,) or None
        Minimum, mean and maximum over the points of ``|S_i(W_k)|``, the neurons firing on
        ``x_i`` (fired-pair engines: ``scheme="gauss-newton"`` or an explicit ``engine``).
    union_size : ndarray of shape (K+1,) or None
        ``|U_k| = |∪_i S_i(W_k)|`` (non-increasing, docs/theory.md §9 [EXACT]).
    status_changes : ndarray of shape (K,) or None
        Number of pairs ``(i, r)`` whose firing status changed in step k (cumulate with ``cumsum``).
    pairs_rechecked : ndarray of shape (K,) or None
        Inner products ``<w_r, x_i>`` the engine recomputed in step k to keep every ``S_i``
        exact (``n m`` for the dense engine; see :mod:`ntkcheck.fired`).
    step_seconds : ndarray of shape (K,) or None
        Wall time of step k (forward pass, Gauss-Newton matrix and solve, update and fired-set
        maintenance; recording ``λ_min`` is not included).
    lam_certified_full : ndarray of bool, shape (K+1,), or None
        Whether ``λ_min(H(W_k)) > t`` is *proved* by one Cholesky factorisation with a rigorous
        rounding margin (:func:`ntkcheck.certify_min_eigenvalue`), ``t = lam_threshold`` (item
        ``"lam_certified_full"``, preset ``"certified"``: the threshold question of DZPS19 Thm 3.1
        at a fraction of the cost of ``λ_min``).  False means "not proved": ``λ_min <= t`` or within
        the margin (about ``(n+1) 2^-53 tr H``) above it.
    lam_certified_masked : ndarray of bool, shape (K, τ, p), or None
        The same for the masked NTKs of ``lam_min_masked``, against ``ξ t`` (``E H(W, m) = ξ H(W)``,
        docs/theory.md §5.2; item ``"lam_certified_masked"``).
    lam_threshold : float or None
        ``t`` of the certificates (default ``λ0/2``, ``λ0 = λ_min(H∞)`` of the data; with a shift b
        the limit of ``H_b(W_0)``, ``ntk_infinite(X, shift=b/κ)``).
    """

    loss: np.ndarray
    sampled_loss: np.ndarray
    local_loss: np.ndarray
    max_movement: np.ndarray
    frobenius_movement: np.ndarray
    local_movement: np.ndarray
    neurons_uncovered: np.ndarray
    neurons_shared: np.ndarray
    neurons_mean_count: np.ndarray
    neurons_max_count: np.ndarray
    subnet_size: np.ndarray
    theta: float
    xi: float
    pattern_change: np.ndarray | None = None
    lam_min_full: np.ndarray | None = None
    lam_min_masked: np.ndarray | None = None
    fired_min: np.ndarray | None = None
    fired_mean: np.ndarray | None = None
    fired_max: np.ndarray | None = None
    union_size: np.ndarray | None = None
    status_changes: np.ndarray | None = None
    pairs_rechecked: np.ndarray | None = None
    step_seconds: np.ndarray | None = None
    lam_certified_full: np.ndarray | None = None
    lam_certified_masked: np.ndarray | None = None
    lam_threshold: float | None = None

    @property
    def steps(self) -> int:
        """Number K of global steps completed."""
        return int(self.sampled_loss.shape[0])

    @property
    def residual(self) -> np.ndarray:
        """``‖y − u_k‖ = √L_k``, shape (K+1,)."""
        return np.sqrt(self.loss)

    @property
    def residual_ratio(self) -> np.ndarray:
        """Per-step ratio ``‖y − u_{k+1}‖ / ‖y − u_k‖``, shape (K,) (DHSWZ22 claim: ≤ 1/2 for
        Gauss-Newton; NaN where the residual was already 0)."""
        r = self.residual
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(r[:-1] > 0, r[1:] / np.where(r[:-1] > 0, r[:-1], 1.0), np.nan)


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Result of :func:`train`.

    Attributes
    ----------
    W : ndarray of shape (m, d)
        Weights ``W_K`` after the last completed global step (non-finite if it diverged).
    network : Network
        The initial network (``W_0 = network.W``, signs ``network.a``).
    seed : int, dict or None
        Record of the ``rng`` the masks were drawn from (None when ``masks`` was given).
    config : dict
        JSON-serialisable configuration (scheme, η, τ, p, ξ, θ, seeds, shapes, data hash...).
    trajectory : Trajectory
    status : {"completed", "diverged", "interrupted"}
    message : str
    """

    W: np.ndarray
    network: Network
    seed: Any
    config: dict
    trajectory: Trajectory
    status: str
    message: str

    @property
    def W0(self) -> np.ndarray:
        """Initial weights ``W_0``."""
        return self.network.W

    @property
    def steps(self) -> int:
        """Number K of global steps completed."""
        return self.trajectory.steps


def check_record(record) -> tuple[str, ...]:
    if isinstance(record, str):
        if record in RECORD_PRESETS:
            return RECORD_PRESETS[record]
        raise ValueError(
            f"`record` must be one of {list(RECORD_PRESETS)} or an iterable of items from "
            f"{list(RECORD_ITEMS)}, got record={record!r}."
        )
    items = tuple(record)
    bad = [i for i in items if i not in RECORD_ITEMS]
    if bad:
        raise ValueError(f"`record` items must be from {list(RECORD_ITEMS)}, got unknown item(s) {bad}.")
    return tuple(i for i in RECORD_ITEMS if i in items)


def bools(a):
    """A read-only boolean copy of a recorded 0/1 float array (None stays None)."""
    if a is None:
        return None
    b = a == 1.0
    b.setflags(write=False)
    return b


class KernelStats:
    """The recorded kernel statistics of training: ``λ_min`` and/or its certificate ``λ_min > t`` of
    the (masked, shifted) NTK of a set of neuron rows, normalised by the full width m (LK22 Def. 1)."""

    def __init__(self, X, shift, items, threshold, xi, kappa=1.0):
        self.X, self.shift, self.xi = X, shift, float(xi)
        self.full_items = [i for i in FULL_ITEMS if i in items]
        self.masked_items = [i for i in MASKED_ITEMS if i in items]
        certify = any(i.startswith("lam_certified") for i in items)
        if threshold is not None:
            threshold = float(check_scalar(threshold, "lam_threshold", numbers.Real))
        elif certify:
            # H_b(W_0) with w ~ N(0, κ² I) tends to the κ = 1 kernel at shift b/κ (1{<κz, x> >= b})
            threshold = 0.5 * min_eigenvalue(ntk_infinite(X, shift=shift / kappa))
        self.t = threshold

    def kernel(self, Wr, m):
        if Wr.shape[0] == 0:
            return np.zeros((self.X.shape[0],) * 2)
        return ntk_finite(self.X, Wr, shift=self.shift) * (Wr.shape[0] / m)  # (1/m) Σ_{r active}

    def values(self, H, items, t):
        out = []
        for item in items:
            if item.startswith("lam_min"):
                with warnings.catch_warnings():
                    # a small subnetwork's kernel can be singular: its rounding-level negative
                    # λ_min is recorded as 0 without a warning per local step
                    warnings.simplefilter("ignore", NumericalWarning)
                    out.append(min_eigenvalue(H))
            else:
                out.append(1.0 if certify_min_eigenvalue(H, t, check=False).certified else 0.0)
        return out

    def full(self, W, m):
        return self.values(self.kernel(W, m), self.full_items, self.t) if self.full_items else []

    def masked(self, Wr, m):
        return self.values(self.kernel(Wr, m), self.masked_items, None if self.t is None else self.xi * self.t)
