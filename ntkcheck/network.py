"""The two-layer ReLU network of LK22 / DZPS19 (docs/theory.md §1).

    f(W, x) = (1/√m) Σ_r a_r σ(<w_r, x>),   σ(z) = max(z, 0),
    w_r(0) ~ N(0, κ² I_d),   a_r ~ Unif{−1, +1}  (fixed, never trained).

The surrogate of a mask ``m ∈ {0,1}^m`` (LK22 §3, docs/theory.md §3) is
``f_m(W, x) = (1/√m) Σ_r m_r a_r σ(<w_r, x>)`` -- note: *no* ``1/ξ`` rescaling, and the
normalisation stays ``1/√m`` with the full width ``m``.

References
----------
F. Liao, A. Kyrillidis, "On the Convergence of Shallow Neural Network Training with Randomly
Masked Neurons", TMLR 2022 (arXiv 2112.02668), eq. (1).
S. S. Du, X. Zhai, B. Póczos, A. Singh, "Gradient Descent Provably Optimizes
Over-parameterized Neural Networks", ICLR 2019 (arXiv 1810.02054), eq. (1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._rng import as_generator, seed_record
from ._validation import check_array, check_int, check_mask, check_scalar, check_W, check_X, check_y

__all__ = ["Network", "init_network", "network_output", "check_training_inputs"]


@dataclass(frozen=True, eq=False)
class Network:
    """A two-layer ReLU network ``f(W, x) = m^{-1/2} Σ_r a_r σ(<w_r, x>)`` at initialisation.

    Attributes
    ----------
    W : ndarray of shape (m, d), float64, read-only
        First-layer weights; row ``r`` is ``w_r(0) ~ N(0, κ² I_d)``.
    a : ndarray of shape (m,), float64, read-only
        Fixed output signs ``a_r ∈ {−1, +1}``.
    kappa : float
        Initialisation scale κ.
    seed : int, dict or None
        Record of the ``rng`` the weights were drawn from (:func:`ntkcheck._rng.seed_record`).
    """

    W: np.ndarray
    a: np.ndarray
    kappa: float
    seed: Any = None

    @property
    def m(self) -> int:
        """Width ``m`` (number of hidden neurons)."""
        return int(self.W.shape[0])

    @property
    def d(self) -> int:
        """Input dimension ``d``."""
        return int(self.W.shape[1])

    def output(self, X, *, W=None, mask=None) -> np.ndarray:
        """``f_m(W, X)``; see :func:`network_output` (``W`` defaults to the initial weights)."""
        return network_output(X, self.W if W is None else W, self.a, mask=mask)


def init_network(d: int, m: int, *, kappa: float = 1.0, rng=None) -> Network:
    """Draw a network at initialisation (LK22 §2, DZPS19 eq. 1).

    Parameters
    ----------
    d : int
        Input dimension, ``d >= 1``.
    m : int
        Width (number of hidden neurons), ``m >= 1``.
    kappa : float, default 1.0
        Scale κ > 0 of the first layer: ``w_r(0) ~ N(0, κ² I_d)`` (ADHLW19, LK22 use κ ≤ 1).
    rng : None, int, SeedSequence or Generator
        Randomness. Weights and signs come from two streams spawned from it
        (``rng.spawn(2)``), so the result does not depend on call order.

    Returns
    -------
    Network
        Frozen; ``W`` of shape (m, d), ``a`` of shape (m,), both read-only.

    Raises
    ------
    TypeError, ValueError
        ``d`` or ``m`` not a positive integer, ``kappa`` not a positive finite number.

    Examples
    --------
    >>> net = init_network(3, 8, kappa=0.5, rng=0)
    >>> net.W.shape, net.a.shape, sorted(set(net.a.tolist()))
    ((8, 3), (8,), [-1.0, 1.0])
    """
    d = check_int(d, "d", min_val=1)
    m = check_int(m, "m", min_val=1)
    kappa = check_scalar(kappa, "kappa", min_val=0.0, closed="neither")
    seed = seed_record(rng)
    gen = as_generator(rng)
    w_gen, a_gen = gen.spawn(2)
    W = kappa * w_gen.standard_normal((m, d))
    a = np.where(a_gen.integers(0, 2, size=m) == 1, 1.0, -1.0)
    W.setflags(write=False)
    a.setflags(write=False)
    return Network(W=W, a=a, kappa=float(kappa), seed=seed)


def network_output(X, W, a, *, mask=None) -> np.ndarray:
    """Network output ``f(W, X)``, or the surrogate ``f_m(W, X)`` when a mask is given.

    Parameters
    ----------
    X : array_like of shape (n, d)
        Inputs (rows ``x_i``).
    W : array_like of shape (m, d)
        First-layer weights.
    a : array_like of shape (m,)
        Output weights (signs).
    mask : array_like of shape (m,), optional
        Neuron mask ``m ∈ [0, 1]^m`` (LK22 §3); the sum keeps the ``1/√m`` normalisation of
        the full network and has no ``1/ξ`` rescaling.

    Returns
    -------
    ndarray of shape (n,)
        ``[(1/√m) Σ_r m_r a_r σ(<w_r, x_i>)]_i``.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> W = np.array([[1.0, 1.0], [-1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    >>> network_output(X, W, np.array([1.0, -1.0, 1.0, -1.0]))
    array([ 1.75, -0.75])
    """
    X = check_X(X)
    W = check_array(check_W(W, X.shape[1]), "W")
    m = W.shape[0]
    a = check_array(a, "a", shape=(m,))
    mask, _ = check_mask(mask, m)
    coef = a if mask is None else a * mask
    return np.maximum(X @ W.T, 0.0) @ coef / np.sqrt(m)


def check_training_inputs(X, y, net):
    """Validate data and a network for training or for the plateau model; return (X, y, W, a).

    The one check shared by :func:`ntkcheck.train` and :func:`ntkcheck.predict_plateau`: ``X``
    finite of shape (n, d), ``y`` of shape (n,), ``net`` a :class:`Network` whose ``W`` has d
    columns and whose ``a`` has one sign per neuron (float64 arrays are returned).
    """
    X = check_X(X)
    y = check_y(y, X.shape[0])
    if not isinstance(net, Network):
        raise TypeError(f"`net` must be a Network (from ntkcheck.init_network), got {type(net).__name__}.")
    W = check_array(check_W(net.W, X.shape[1], "net.W"), "net.W")
    a = check_array(net.a, "net.a", shape=(W.shape[0],))
    return X, y, W, a
