"""What LK22 Algorithm 1 optimises and where it plateaus: the model of docs/theory.md §8 [DERIVED].

Notation (docs/theory.md §1, §4, §8): ``σ_r = σ(X w_r) ∈ R^n``, ``P(W) = (1/m) Σ_r ‖σ_r‖²``,
``Q(W) = (1/m) Σ_r σ_r σ_rᵀ``, ``θ = 1 − (1 − ξ)^p`` (:func:`ntkcheck.masks.theta`), tracked output
``u = ξ f(W, X)`` and finite-width NTK ``H(W) = Σ_i h_i v_i v_iᵀ``.

1. **Implicit objective** (§8.1). ``G(W) = ‖y − ξ f(W, X)‖² + ξ(1 − ξ) P(W)``; by identity 3 of
   §5 it is exactly ``E_m ‖y − u_m(W)‖²``, the expected loss of one sampled subnetwork (the
   dropout objective), and the tracked loss is ``L = G − ξ(1 − ξ) P``.
2. **Expected step** (§8.2). ``E[W_{k+1} − W_k] = −(η τ θ / (2ξ)) ∇G(W_k) + O(η²)`` (exact at
   τ = 1, identity 4 of §5): the expected dynamics is gradient descent on G, not on L.
3. **Plateau = bias + noise** (§8.3). Bias: the tracked loss after the same number of steps of
   gradient descent on G with step ``ητθ/(2ξ)``. Noise: the stationary variance of the
   linearised residual recursion driven by the masks' sampling covariance ``ξ(1 − ξ) Q``,

       noise = Σ_i θ A_i ξ(1 − ξ) q_i / (p (2 − θ A_i)),
       A_i = 1 − (1 − η ξ h_i)^τ,  q_i = v_iᵀ Q v_i.

Categorical masks (LK22 Assumption 4; ξ = 1/p, θ = 1): every mask is marginally Bernoulli(1/p),
so items 1 and 2 hold unchanged with ξ = 1/p, θ = 1 (identity 6 of §5 is the sampling term of
G). The tracked output is the average of the subnetworks' outputs (identity 5), whose sampling
deviations sum to zero exactly, so at the order of item 3 the noise is 0; what remains is
O(1/m) (fluctuations of the masked NTK), not modelled. Derivation: docs/plateau.md.

Status: [DERIVED] for this project, not a theorem of LK22; an approximation of stated order
(first order in η, lazy regime / linear response), checked by Monte Carlo (docs/theory.md §8).

References
----------
F. Liao, A. Kyrillidis, "On the Convergence of Shallow Neural Network Training with Randomly
Masked Neurons", TMLR 2022 (arXiv 2112.02668), Algorithm 1, eq. (9), Assumptions 2 and 4.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from ._config import NumericalWarning
from ._json import jsonable
from ._params import check_param, check_schedule
from .masks import theta as _theta
from .network import Network, check_training_inputs
from .ntk import ntk_finite

__all__ = ["PlateauPrediction", "implicit_objective", "predict_plateau"]

_STATUS = (
    "[DERIVED] docs/theory.md §8: a model derived for this project, not a theorem of LK22; "
    "checked by Monte Carlo (expected step to 0.4-0.7 %, the MC error, at eta = 1e-3, n = 30, "
    "m = 200; 17 % off at eta = 0.2, tau = 3 where second order matters); bias + noise matched "
    "measured plateaus within about 10 % where the bias had converged (n = 100, d = 10, m = 1000, "
    "p = 2, tau = 2, eta = 1/lambda_max(H_inf), 600 global steps); the slow tests of this module "
    "measure predicted/measured 1.06 and 0.88 at xi = 0.5 and 0.75 there (kappa = 1), and "
    "0.96-0.99 for categorical masks at tau = 1, eta = 0.5/lambda_max (docs/plateau.md §5)"
)


@dataclass(frozen=True, eq=False)
class PlateauPrediction:
    """Result of :func:`predict_plateau`: the §8 plateau model, bias + noise [DERIVED].

    Attributes
    ----------
    bias : float
        Tracked loss ``‖y − ξ f(W_K, X)‖²`` after ``global_steps`` steps of gradient descent on
        G with step ``ητθ/(2ξ)`` from the initial network (docs/theory.md §8.3).
    noise : float
        Linear-response sampling noise of §8.3 at ``W_K`` (0 for categorical masks and at ξ = 1;
        inf when the linearised recursion is unstable, ``η ξ λ_max(H(W_K)) ≥ 2``).
    total : float
        ``bias + noise``, the predicted plateau of the tracked loss.
    objective : float
        ``G(W_K)``.
    bias_trajectory : ndarray of shape (global_steps + 1,)
        Tracked loss along the gradient descent on G (check that it has flattened).
    W : ndarray of shape (m, d)
        ``W_K``, the final weights of that gradient descent (read-only).
    lam_max : float
        ``λ_max(H(W_K))``; first order in η needs ``η ξ λ_max τ`` well below 1.
    scheme, kind : str
        Training scheme and mask kind (``"bernoulli"`` or ``"categorical"``).
    p, local_steps, global_steps : int
        p, τ, K.
    xi, theta, eta, step : float
        ξ, θ (:func:`ntkcheck.masks.theta`), η and the step ``ητθ/(2ξ)`` on G.
    assumptions : tuple of str
        What the prediction rests on, and its [DERIVED] status and measured accuracy.
    """

    bias: float
    noise: float
    total: float
    objective: float
    bias_trajectory: np.ndarray
    W: np.ndarray
    lam_max: float
    scheme: str
    kind: str
    p: int
    local_steps: int
    global_steps: int
    xi: float
    theta: float
    eta: float
    step: float
    assumptions: tuple

    def to_dict(self) -> dict:
        """JSON-serialisable dict of the scalars, the trajectory and the assumptions (no ``W``)."""
        d = asdict(self)
        d.pop("W")
        return jsonable(d)


def implicit_objective(X, y, net: Network, *, xi: float) -> tuple[float, np.ndarray]:
    """Implicit objective ``G(W) = ‖y − ξ f(W, X)‖² + ξ(1 − ξ) P(W)`` and its gradient [DERIVED].

    The expected loss of one sampled subnetwork, ``G = E_m ‖y − u_m(W)‖²`` (identity 3 of
    docs/theory.md §5), which Algorithm 1 descends in expectation (§8.1-8.2).

    Parameters
    ----------
    X : array_like of shape (n, d)
        Inputs (nonzero rows; LK22 Assumption 1 asks for unit rows).
    y : array_like of shape (n,)
        Labels.
    net : Network
        Network whose weights ``net.W`` (m, d) and signs ``net.a`` (m,) are used.
    xi : float
        Keep probability ξ ∈ (0, 1] (ξ = 1/p for categorical masks).

    Returns
    -------
    G : float
        ``‖y − ξ f(W, X)‖² + ξ(1 − ξ) (1/m) Σ_r ‖σ(X w_r)‖²``.
    grad : ndarray of shape (m, d)
        ``∂G/∂w_r = (2ξ/√m) Σ_i (ξ f(W, x_i) − y_i) a_r 1{<w_r, x_i> ≥ 0} x_i
        + (2ξ(1 − ξ)/m) Σ_i σ(<w_r, x_i>) x_i`` (ReLU derivative 1{z ≥ 0}, as in training).

    Raises
    ------
    TypeError, ValueError
        Bad input (the message names the parameter), before any work.

    Notes
    -----
    docs/theory.md §8 is a [DERIVED] model: G itself is exact (an expectation over masks), but
    that Algorithm 1 performs gradient descent on G holds only to first order in η (§8.2).

    Examples
    --------
    >>> from ntkcheck import init_network
    >>> X = np.eye(2); y = np.array([1.0, -1.0]); net = init_network(2, 4, rng=0)
    >>> G, grad = implicit_objective(X, y, net, xi=1.0)
    >>> bool(np.isclose(G, np.sum((y - net.output(X)) ** 2))), grad.shape
    (True, (4, 2))
    """
    X, y, W, a = check_training_inputs(X, y, net)
    xi = check_param("xi", xi)
    if xi is None:
        raise TypeError("`xi` must be a keep probability in (0, 1], got None.")
    G, grad, _ = _objective(X, y, W, a, xi)
    return G, grad


def predict_plateau(
    X,
    y,
    net: Network,
    *,
    scheme: str,
    eta: float,
    global_steps: int,
    local_steps: int = 1,
    p: int = 1,
    xi: float | None = 1.0,
) -> PlateauPrediction:
    """Predicted plateau of the tracked loss of Algorithm 1: bias + noise (§8.3) [DERIVED].

    Parameters
    ----------
    X : array_like of shape (n, d)
        Inputs.
    y : array_like of shape (n,)
        Labels.
    net : Network
        Initial network (the one :func:`ntkcheck.train` would start from).
    scheme : {"gd", "dropout", "multi-sample-dropout", "ist-bernoulli", "ist-categorical", \
"bernoulli", "categorical"}
        Training scheme; its fixed parameters must agree with ``p``, ``xi``, ``local_steps``
        (the same rules as :func:`ntkcheck.train`).
    eta : float
        Local step size η > 0.
    global_steps : int
        Number K >= 0 of global steps.
    local_steps : int, default 1
        Local steps τ >= 1.
    p : int, default 1
        Subnetworks per global step.
    xi : float, default 1.0
        Keep probability ξ ∈ (0, 1]; the IST schemes fix ξ = 1/p.

    Returns
    -------
    PlateauPrediction
        ``bias`` (tracked loss after K steps of gradient descent on G with step ``ητθ/(2ξ)``),
        ``noise`` (§8.3 at the final weights of that descent), ``total``, and the assumptions.

    Raises
    ------
    TypeError, ValueError
        Bad input (the message names the parameter), before any work.

    Warns
    -----
    NumericalWarning
        The gradient descent on G diverged (bias and noise are inf), or the linearised
        recursion is unstable (``η ξ λ_max(H) ≥ 2``; noise is inf).

    Notes
    -----
    docs/theory.md §8 is [DERIVED]: a model of stated order, not a theorem. It is first order in
    η (the expected step, §8.2) and assumes the lazy regime (linear response: activation
    patterns fixed within a global step, masked NTK replaced by its mean ξH). Measured accuracy
    in §8.3: within about 10 % of measured plateaus once the bias has converged; compare the
    mean of the tracked loss over the last steps, and check ``bias_trajectory`` has flattened.
    Categorical masks: θ = 1 and the noise is 0 at this order (docs/plateau.md).

    Examples
    --------
    >>> from ntkcheck import init_network
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((8, 3)); X /= np.linalg.norm(X, axis=1, keepdims=True)
    >>> net = init_network(3, 64, rng=1)
    >>> pred = predict_plateau(X, np.sign(X[:, 0]), net, scheme="bernoulli", eta=0.5,
    ...                        global_steps=50, local_steps=2, p=2, xi=0.5)
    >>> bool(pred.noise > 0), bool(np.isclose(pred.total, pred.bias + pred.noise))
    (True, True)
    """
    X, y, W0, a = check_training_inputs(X, y, net)  # the checks train makes, in one place
    eta, K, tau, p, kind, xi = check_schedule(scheme=scheme, eta=eta, global_steps=global_steps,
                                              local_steps=local_steps, p=p, xi=xi)
    th = _theta(kind, xi, p)
    step = eta * tau * th / (2.0 * xi)

    W, traj = _descend(X, y, W0, a, xi, step, K)
    bias = float(traj[-1])
    if not (np.isfinite(bias) and np.all(np.isfinite(W))):
        warnings.warn(
            f"gradient descent on G diverged (step eta*tau*theta/(2*xi) = {step!r}); bias and noise "
            "are reported as inf. Use a smaller `eta`.",
            NumericalWarning,
            stacklevel=2,
        )
        G = bias = noise = lam_max = math.inf
    else:
        G = _objective(X, y, W, a, xi)[0]
        noise, lam_max = _noise(X, W, kind, eta, tau, p, xi, th)
        if not np.isfinite(noise):
            warnings.warn(
                f"the linearised residual recursion is unstable: eta*xi*lambda_max(H) = "
                f"{eta * xi * lam_max:.3g} >= 2, so no plateau is predicted (noise = inf, "
                "docs/theory.md §8.3). Use a smaller `eta`.",
                NumericalWarning,
                stacklevel=2,
            )
    W.setflags(write=False)
    traj.setflags(write=False)
    return PlateauPrediction(
        bias=bias,
        noise=float(noise),
        total=float(bias + noise),
        objective=float(G),
        bias_trajectory=traj,
        W=W,
        lam_max=float(lam_max),
        scheme=scheme,
        kind=kind,
        p=p,
        local_steps=tau,
        global_steps=K,
        xi=float(xi),
        theta=float(th),
        eta=eta,
        step=float(step),
        assumptions=_assumptions(kind),
    )


# ----------------------------------------------------------------------------- private helpers


def _objective(X, y, W, a, xi):
    """(G, ∇G, tracked loss L) at W; two BLAS products."""
    m = W.shape[0]
    Z = X @ W.T  # (n, m) pre-activations
    R = np.maximum(Z, 0.0)  # σ(<w_r, x_i>)
    f = R @ a / math.sqrt(m)
    res = xi * f - y
    L = float(res @ res)
    P = float(np.einsum("ij,ij->", R, R)) / m
    # ∂G/∂w_r = Σ_i D_ir x_i: the fit term on the active pairs plus the ridge term σ_ir
    D = (Z >= 0.0) * ((2.0 * xi / math.sqrt(m)) * np.outer(res, a)) + (2.0 * xi * (1.0 - xi) / m) * R
    return L + xi * (1.0 - xi) * P, D.T @ X, L


def _descend(X, y, W0, a, xi, step, K):
    """K steps of gradient descent on G; returns (W_K, tracked losses (K+1,)); stops if non-finite."""
    W = W0.copy()
    traj = np.full(K + 1, np.inf)
    with np.errstate(all="ignore"):  # divergence is detected and reported by the caller
        for k in range(K + 1):
            _, grad, traj[k] = _objective(X, y, W, a, xi)
            if not np.isfinite(traj[k]):
                break
            if k < K:
                W -= step * grad
    return W, traj


def _noise(X, W, kind, eta, tau, p, xi, th):
    """Noise of docs/theory.md §8.3 at W, and λ_max(H(W)); 0 for categorical masks."""
    H = ntk_finite(X, W)
    h, V = np.linalg.eigh(H)
    h = np.maximum(h, 0.0)  # H is PSD: negative eigenvalues are rounding
    lam_max = float(h[-1])
    if eta * xi * lam_max >= 2.0:  # |1 − η ξ h| >= 1: the linearised local steps diverge
        return math.inf, lam_max
    if kind == "categorical" or xi == 1.0:
        return 0.0, lam_max  # categorical: the p sampling deviations sum to 0 (docs/plateau.md)
    m = W.shape[0]
    R = np.maximum(X @ W.T, 0.0)  # (n, m): columns σ_r
    VR = V.T @ R
    q = np.einsum("ij,ij->i", VR, VR) / m  # q_i = v_iᵀ Q v_i
    A = 1.0 - (1.0 - eta * xi * h) ** tau
    return float(np.sum(th * A * xi * (1.0 - xi) * q / (p * (2.0 - th * A)))), lam_max


def _assumptions(kind: str) -> tuple:
    common = (
        "first order in eta: E[W_{k+1} - W_k] = -(eta tau theta/(2 xi)) grad G(W_k) + O(eta^2) "
        "(exact at tau = 1); needs eta xi lambda_max(H) tau well below 1",
        "lazy regime / linear response: activation patterns fixed within a global step, masked "
        "NTK H(W, m) replaced by its mean xi H(W); noise = stationary variance of the linearised "
        "residual recursion, evaluated at the final weights of the gradient descent on G",
        "bias = tracked loss after the same number of steps of gradient descent on G: compare "
        "with a measured plateau only once bias_trajectory has flattened",
    )
    if kind == "categorical":
        masks = (
            "categorical masks (LK22 Assumption 4): each mask is marginally Bernoulli(1/p), so G "
            "and the expected step hold with xi = 1/p, theta = 1 (identity 6); the p sampling "
            "deviations sum to 0 (identity 5), so the noise is 0 at this order; the neglected "
            "noise is O(1/m) (fluctuations of the masked NTK), docs/plateau.md",
        )
    else:
        masks = (
            "Bernoulli masks (LK22 Assumption 2): i.i.d. Bern(xi) over neurons and subnetworks, "
            "sampling covariance Cov(u_m) = xi(1 - xi) Q(W) per subnetwork, independent across "
            "the p subnetworks; the eq. (9) weight 1/N_r replaced by its mean theta/(p xi) given membership",
        )
    return masks + common + (_STATUS,)
