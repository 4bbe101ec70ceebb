"""Gradient descent and masked-subnetwork training (LK22 Algorithm 1) of deep ReLU networks.

Model (docs/theory.md §10; Jacot et al. 2018), NTK parametrisation, L hidden layers::

    g^(h) = (σ_w/√d_{h−1}) W^(h) x^(h−1) + σ_b β^(h),   x^(h) = σ(g^(h)),   h = 1..L+1,   f = g^(L+1)

**Gradients** of the objective ``½ ‖f(X) − y‖²`` by backpropagation (the δ recursion of §10,
batched over the n inputs): with ``Δ_h`` the n×d_h matrix of ``∂(½‖f − y‖²)/∂g^(h)``::

    Δ_{L+1} = f(X) − y,   Δ_h = (σ_w/√d_h) (Δ_{h+1} W^(h+1)) ∘ σ'(G_h) ∘ M_h,
    ∇_{W^(h)} = (σ_w/√d_{h−1}) Δ_hᵀ X_{h−1},   ∇_{β^(h)} = σ_b Δ_hᵀ 1,

``σ'(z) = 1{z ≥ 0}`` (docs/theory.md §4), ``X_h`` the n×d_h activations (``X_0 = X``) and ``M_h``
the 0/1 unit mask of layer h (all ones without masks).

**Masked training** (docs/theory.md §10, last paragraph: LK22's future work; LK22 §3, Algorithm 1,
eq. 9, generalised to L layers).  Global step k draws p masks over the hidden units of every layer
(Bernoulli(ξ) i.i.d., or a categorical partition of each layer's units into p subnetworks, ξ = 1/p);
input units and the output unit are always active.  The surrogate network of subnetwork l zeroes
its masked units' activations, ``x^(h) = M^l_h ∘ σ(g^(h))`` with no ``1/ξ`` rescaling (LK22 §3's
``f_m``).  A weight ``W^(h)_{jk}`` is active in subnetwork l when unit j of layer h and unit k of
layer h−1 both are (a bias ``β^(h)_j`` when unit j is); exactly these parameters have a non-zero
surrogate gradient.  Every subnetwork starts from the current parameters and takes τ gradient steps
on its surrogate loss ``½ ‖f_l(X) − y‖²``; then each parameter becomes the mean of its trained
copies over the subnetworks in which it is active, and stays unchanged if it is active in none
(LK22 eq. 9).  The tracked network, whose loss is recorded, multiplies every hidden layer's
activations ``x^(h)`` (h = 1..L) by ξ; for L = 1 it is ``ξ f`` (LK22 Thm 3/4, docs/theory.md §3).
Full-batch gradient descent is the scheme ``"gd"`` (p = 1, ξ = 1, no masks).

**Kernel records.**  At the requested global steps t the finite-width NTK of the *trained*
parameters at the current (unmasked, unscaled) network, the §10 sum restricted to the trained
layers (:func:`ntkcheck.ntk_deep_finite`; all of Θ̂ when every layer is trained)::

    Θ̂_t(x, x') = Σ_{h trained} <δ^(h)(x), δ^(h)(x')> (σ_w² <x^(h−1)(x), x^(h−1)(x')>/d_{h−1} + σ_b²),

with ``δ^(h) = ∂f/∂g^(h)``, gives the drift ``‖Θ̂_t − Θ̂_0‖/‖Θ̂_0‖`` (Frobenius and spectral) and
``λ_min(Θ̂_t)``.  Under gradient descent the drift is O(width^{-1/2}) (Jacot et al. 2018, docs/theory.md §10).

Everything BLAS-shaped is a NumPy matmul; masks are applied by multiplying activations.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._config import NumericalWarning
from ._params import check_param, check_step_size
from ._progress import DeferSigint, Progress
from ._rng import as_generator, seed_record
from ._validation import check_array, check_int, check_scalar, check_y
from .deep import DeepNetwork, _check_data, _check_flag, _check_widths, ntk_deep_finite
from .eigen import eigenvalue_extremes, min_eigenvalue
from .masks import _draw_step, _resolve_scheme, check_kind_xi, theta as _theta
from .network import Network
from .train import DIVERGENCE_FACTOR

__all__ = ["DeepTrajectory", "DeepTrainResult", "train_deep", "sample_deep_masks", "deep_from_two_layer"]


@dataclass(frozen=True, eq=False)
class DeepTrajectory:
    """What :func:`train_deep` records along a run; K = global steps recorded, L = depth.

    Attributes
    ----------
    loss : ndarray of shape (K+1,)
        ``L_k = ‖y − u_k‖²`` of the tracked network (no ½, the loss of LK22 Thm 3/4 and of
        :func:`ntkcheck.train`); ``u_k = f(X)`` for ``"gd"``, else every hidden layer's activations
        are multiplied by ξ (``u_k = ξ f(X)`` for L = 1).
    kernel_steps : ndarray of int, shape (r,)
        Global steps at which the kernel was recorded (increasing).
    kernel_drift : ndarray of shape (r,)
        ``‖Θ̂_t − Θ̂_0‖_F / ‖Θ̂_0‖_F`` (Θ̂ the NTK of the trained parameters; see the module notes).
    kernel_drift_spectral : ndarray of shape (r,)
        ``‖Θ̂_t − Θ̂_0‖_2 / ‖Θ̂_0‖_2``.
    lam_min : ndarray of shape (r,)
        ``λ_min(Θ̂_t)`` (rounding-level negative values recorded as 0).
    movement : ndarray of shape (K+1, L+1)
        ``‖W^(h)_k − W^(h)_0‖_F / ‖W^(h)_0‖_F`` at every global step k, column h−1 for layer h
        (0 for frozen layers).
    xi : float
        ξ of the tracked network (1 for ``"gd"``, 1/p for categorical masks).
    """

    loss: np.ndarray
    kernel_steps: np.ndarray
    kernel_drift: np.ndarray
    kernel_drift_spectral: np.ndarray
    lam_min: np.ndarray
    movement: np.ndarray
    xi: float

    @property
    def steps(self) -> int:
        """Number K of global steps recorded."""
        return int(self.loss.shape[0] - 1)


@dataclass(frozen=True, eq=False)
class DeepTrainResult:
    """Result of :func:`train_deep`.

    Attributes
    ----------
    network : DeepNetwork
        The trained network after global step ``network_step`` (its ``seed`` is the initial
        network's).  This is the last step, except after a divergence to non-finite parameters,
        where it is the step before (a DeepNetwork holds finite arrays only).
    network_step : int
        The global step whose parameters ``network`` holds.
    initial : DeepNetwork
        The network training started from.
    seed : int, dict or None
        Record of the ``rng`` the masks were drawn from (None for ``"gd"`` or replayed masks).
    config : dict
        JSON-serialisable configuration (scheme, η, τ, p, ξ, θ, layers, seeds, shapes, data hash...).
    trajectory : DeepTrajectory
    status : {"completed", "diverged", "interrupted"}
    message : str
    """

    network: DeepNetwork
    network_step: int
    initial: DeepNetwork
    seed: Any
    config: dict
    trajectory: DeepTrajectory
    status: str
    message: str

    @property
    def steps(self) -> int:
        """Number K of global steps recorded."""
        return self.trajectory.steps


def deep_from_two_layer(net: Network, *, sigma_w: float = 1.0) -> DeepNetwork:
    """The one-hidden-layer :class:`DeepNetwork` computing the same function as a two-layer ``Network``.

    The two-layer model (docs/theory.md §1) is ``f(x) = m^{-1/2} Σ_r a_r σ(<w_r, x>)``; the deep one
    with L = 1, σ_b = 0 is ``f(x) = (σ_w/√m) W2 σ((σ_w/√d) W1 x)`` (§10).  The mapping is::

        W1 = (√d/σ_w) W,   W2 = a/σ_w (shape (1, m)),   β = 0,   σ_b = 0,

    so that ``(σ_w/√d) W1 = W`` and ``(σ_w/√m) W2 = a/√m``: both networks, and all their masked
    surrogates ``f_m``, agree at every x.  Training only layer 1 (``layers=[1]``, since the two-layer
    model trains W with a fixed) with step size ``η_deep = η d/σ_w²`` reproduces the two-layer run
    with step size η: ``∇_{W1} = (σ_w/√d) ∇_W``, so a W1-step ``−η_deep ∇_{W1}`` moves
    ``W = (σ_w/√d) W1`` by ``−η_deep (σ_w²/d) ∇_W = −η ∇_W``.  Read the trained weights back as
    ``W = (σ_w/√d) W1``.  With this, :func:`train_deep` equals LK22 Algorithm 1
    (:func:`ntkcheck.train`) on the same masks, up to rounding.

    Parameters
    ----------
    net : Network
        Two-layer network from :func:`ntkcheck.init_network` (``W`` of shape (m, d), signs ``a``).
    sigma_w : float, default 1.0
        Weight scale σ_w > 0 of the deep network (any value gives the same function).

    Returns
    -------
    DeepNetwork
        Depth 1, width m, σ_b = 0, zero biases, ``seed = net.seed``.

    Raises
    ------
    TypeError, ValueError
        ``net`` not a Network, or ``sigma_w <= 0``.

    Examples
    --------
    >>> from ntkcheck import init_network, network_output, deep_forward
    >>> two = init_network(3, 16, rng=0)
    >>> X = np.eye(3)
    >>> bool(np.allclose(deep_forward(X, deep_from_two_layer(two, sigma_w=2.0)), network_output(X, two.W, two.a)))
    True
    """
    if not isinstance(net, Network):
        raise TypeError(f"`net` must be a Network (from ntkcheck.init_network), got {type(net).__name__}.")
    sigma_w = check_scalar(sigma_w, "sigma_w", min_val=0.0, closed="neither")
    m, d = net.W.shape
    W1 = np.asarray(net.W, dtype=np.float64) * (math.sqrt(d) / sigma_w)
    W2 = np.asarray(net.a, dtype=np.float64)[None, :] / sigma_w
    return DeepNetwork(weights=(W1, W2), biases=(np.zeros(m), np.zeros(1)), sigma_w=sigma_w, sigma_b=0.0,
                       seed=net.seed)


def sample_deep_masks(widths, p: int, *, kind: str = "bernoulli", xi: float | None = None,
                      steps: int | None = None, rng=None) -> list:
    """Sample the unit masks of every hidden layer for one global step, or for ``steps`` of them.

    Parameters
    ----------
    widths : sequence of int
        Hidden widths ``(d_1, ..., d_L)`` (``net.widths``).
    p : int
        Subnetworks per global step, p >= 1.
    kind : {"bernoulli", "categorical"}
        Bernoulli(ξ) units i.i.d. (LK22 Assumption 2), or each unit of each layer in one of the p
        subnetworks uniformly (LK22 Assumption 4; ξ = 1/p).
    xi : float, optional
        Keep probability ξ ∈ (0, 1]; required for ``"bernoulli"``, 1/p (may be omitted) for
        ``"categorical"``.
    steps : int, optional
        Number of global steps K >= 0.
    rng : None, int, SeedSequence or Generator
        Randomness.  Global step k draws from the k-th stream of ``rng.spawn``, and within it the
        layers 1, 2, ..., L in turn, each as :func:`ntkcheck.sample_masks` draws one step.  So these
        are the masks :func:`train_deep` draws from the same ``rng``, and for L = 1 they are those
        of :func:`ntkcheck.sample_masks` and :func:`ntkcheck.train`.

    Returns
    -------
    list
        Without ``steps``: a list of L bool arrays, entry h−1 of shape (p, d_h), ``[h-1][l, j]``
        True when unit j of layer h is in subnetwork l.  With ``steps``: a list of K such lists
        (the layout of :func:`train_deep`'s ``masks``).

    Raises
    ------
    TypeError, ValueError
        Bad ``widths``, ``p``, ``kind``, ``xi`` or ``steps``.

    Examples
    --------
    >>> M = sample_deep_masks([4, 3], 2, kind="categorical", steps=5, rng=0)
    >>> len(M), [a.shape for a in M[0]], M[0][1].sum(axis=0).tolist()
    (5, [(2, 4), (2, 3)], [1, 1, 1])
    """
    widths = _check_widths(widths)
    p = check_int(p, "p", min_val=1)
    kind, xi = check_kind_xi(kind, xi, p)
    gen = as_generator(rng)
    if steps is None:
        return _draw_deep_step(gen.spawn(1)[0], widths, p, kind, xi)
    steps = check_int(steps, "steps", min_val=0)
    return [_draw_deep_step(child, widths, p, kind, xi) for child in gen.spawn(steps)]


def train_deep(
    X,
    y,
    net: DeepNetwork,
    *,
    eta: float,
    steps: int,
    layers=None,
    scheme: str = "gd",
    p: int = 1,
    xi: float | None = None,
    local_steps: int = 1,
    masks=None,
    record_kernel_at=None,
    rng=None,
    progress: bool = False,
) -> DeepTrainResult:
    """Train a deep ReLU network by full-batch gradient descent or through masked subnetworks.

    Objective ``½ ‖f(X) − y‖²`` (the surrogate's, for a subnetwork); gradients by backpropagation,
    masked training and aggregation as in the module notes (docs/theory.md §10; LK22 Algorithm 1
    and eq. 9 for L hidden layers).

    Parameters
    ----------
    X : array_like of shape (n, d)
        Inputs, finite (any norms).
    y : array_like of shape (n,)
        Labels.
    net : DeepNetwork
        Initial network (:func:`ntkcheck.init_deep_network`, or :func:`deep_from_two_layer`).
    eta : float
        Step size η > 0 of every (local) gradient step.
    steps : int
        Number K >= 0 of global steps (for ``"gd"`` with ``local_steps=1``: gradient steps).
    layers : int or sequence of int, optional
        Layers to train, 1-based ``h ∈ 1..L+1`` (L+1 is the output layer); their weights and
        biases are trained, the others stay exactly fixed.  Default: all layers.  (Biases move only
        when σ_b > 0: their gradient is ``σ_b Δ_hᵀ1``.)
    scheme : str, default "gd"
        ``"gd"`` (full network, p = 1, ξ = 1), ``"bernoulli"`` (Bernoulli(ξ) unit masks),
        ``"categorical"`` (each layer's units partitioned into p subnetworks, ξ = 1/p), or any
        other scheme of :data:`ntkcheck.masks.SCHEMES` (``"dropout"``, ``"ist-categorical"``...),
        whose fixed parameters must agree with ``p``, ``xi`` and ``local_steps``.
    p : int, default 1
        Subnetworks per global step.
    xi : float, optional
        Keep probability ξ ∈ (0, 1] (default: 1 for the Bernoulli schemes, 1/p for the
        categorical ones, which allow no other value).
    local_steps : int, default 1
        Local gradient steps τ >= 1 of each subnetwork per global step.
    masks : sequence, optional
        Replay masks instead of drawing them: ``masks[k][h-1]`` (k = 0..K−1, h = 1..L) is a 0/1
        array of shape (p, d_h), ``masks[k][h-1][l, j] = 1`` when unit j of hidden layer h is in
        subnetwork l at global step k (a list of K lists of L arrays, as
        :func:`sample_deep_masks` returns; an array of shape (K, L, p, width) also fits when all
        widths are equal).  Categorical schemes need a partition of each layer's units, ``"gd"``
        all ones.
    record_kernel_at : sequence of int, optional
        Global steps in 0..K at which to record the kernel drift and ``λ_min``.  Default: the
        five steps ``⌊jK/4⌋``, j = 0..4 (0, K/4, K/2, 3K/4, K; duplicates removed); ``[]`` records
        none.  Each record costs one :func:`ntkcheck.ntk_deep_finite` and two n×n eigenproblems.
    rng : None, int, SeedSequence or Generator
        Randomness of the masks: global step k draws from the k-th stream of ``rng.spawn``
        (:func:`sample_deep_masks` with ``steps=K`` returns the same masks).  Unused for ``"gd"``
        and replayed masks.
    progress : bool, default False
        Report progress on stderr.

    Returns
    -------
    DeepTrainResult
        ``status`` is ``"completed"``, ``"diverged"`` (non-finite loss or parameters, or a loss
        above :data:`ntkcheck.train.DIVERGENCE_FACTOR` times ``max(L_0, ‖y‖²)``: the run stops
        after recording that global step and a :class:`~ntkcheck.NumericalWarning` is issued) or
        ``"interrupted"`` (KeyboardInterrupt; the global steps completed so far), as
        :func:`ntkcheck.train`.

    Raises
    ------
    TypeError, ValueError
        Bad input, detected before any work (the message names the parameter).

    Notes
    -----
    Cost per global step: ``p τ`` forward and backward passes, ``O(p τ n P)`` for P parameters,
    plus one forward pass of the tracked network (shared with the next step's first gradient under
    ``"gd"``).  Memory: the activations of one pass plus about ``4P`` floats of parameters (initial,
    current, new, and a buffer for the movement), ``6P`` with masks (a subnetwork's copy and the
    aggregation sums).

    Examples
    --------
    >>> from ntkcheck import init_deep_network
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((6, 3)); X /= np.linalg.norm(X, axis=1, keepdims=True)
    >>> net = init_deep_network(3, [32, 32], rng=1)
    >>> res = train_deep(X, X[:, 0], net, eta=0.5, steps=20)
    >>> res.status, res.trajectory.loss.shape, res.trajectory.kernel_steps.tolist()
    ('completed', (21,), [0, 5, 10, 15, 20])
    >>> bool(res.trajectory.loss[-1] < res.trajectory.loss[0]), float(res.trajectory.kernel_drift[0])
    (True, 0.0)
    """
    cfg = _train_deep_iv(X, y, net, eta, steps, layers, scheme, p, xi, local_steps, masks,
                         record_kernel_at, rng, progress)
    X, y, K, L = cfg.X, cfg.y, cfg.K, net.depth
    gen = as_generator(rng) if (cfg.masks is None and cfg.scheme != "gd") else None
    seed = seed_record(rng) if gen is not None else None
    config = dict(
        scheme=cfg.scheme, kind=cfg.kind, eta=cfg.eta, steps=K, local_steps=cfg.tau, p=cfg.p, xi=cfg.xi,
        theta=_theta(cfg.kind, cfg.xi, cfg.p), layers=[h + 1 for h in cfg.trained],
        record_kernel_at=list(cfg.kernel_at), n=X.shape[0], d=net.d, widths=list(net.widths),
        sigma_w=net.sigma_w, sigma_b=net.sigma_b, init_seed=net.seed, mask_seed=seed,
        masks=None if cfg.masks is None else "given, sha256=" + _masks_digest(cfg.masks),
        data_sha256=hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest(),
    )
    Ws, bs = list(net.weights), list(net.biases)
    W0_norm = np.array([np.linalg.norm(W) for W in Ws])
    scratch = {h: np.empty_like(Ws[h]) for h in cfg.trained}  # for ‖W^(h)_k − W^(h)_0‖_F
    rec = _Recorder(K, L)
    kernel_at = set(cfg.kernel_at)
    status, message = "completed", f"completed {K} global steps"
    net_step = 0
    final = net
    bar = Progress(K, "train_deep", enabled=cfg.progress)
    try:
        with np.errstate(all="ignore"):
            fwd = _forward(X, Ws, bs, net.sigma_w, net.sigma_b, cfg.track_scale)
            rec.loss[0] = _sq(y - fwd[0])
            rec.movement[0] = 0.0
            rec.K = 0
            theta0 = _trained_kernel(X, net, cfg.trained) if kernel_at else None
            if 0 in kernel_at:
                rec.add_kernel(0, theta0, theta0)
            loss_scale = max(float(rec.loss[0]), float(y @ y), np.finfo(float).tiny)
            for k in range(K):
                Mk = None
                if cfg.masks is not None:
                    Mk = cfg.masks[k]
                elif gen is not None:
                    Mk = [M.astype(np.float64) for M in _draw_deep_step(gen.spawn(1)[0], net.widths, cfg.p,
                                                                         cfg.kind, cfg.xi)]
                if cfg.scheme == "gd":
                    Mk = None  # all-ones masks: plain gradient descent on the full network
                cache = fwd if (Mk is None and cfg.track_scale is None) else None
                newW, newb = _global_step(X, y, Ws, bs, net.sigma_w, net.sigma_b, cfg, Mk, cache)
                fwd_new = _forward(X, newW, newb, net.sigma_w, net.sigma_b, cfg.track_scale)
                loss = _sq(y - fwd_new[0])
                dist = np.zeros(L + 1)  # frozen layers are the very same arrays: distance 0
                for h, buf in scratch.items():
                    np.subtract(newW[h], net.weights[h], out=buf)
                    dist[h] = math.sqrt(float(buf.ravel() @ buf.ravel()))
                # ‖W − W0‖_F is finite exactly when every entry is (short of overflow, itself divergence)
                finite = bool(np.isfinite(dist).all() and all(np.isfinite(b).all() for b in newb))
                move = dist / W0_norm
                with DeferSigint():
                    if finite:
                        Ws, bs, fwd, net_step = newW, newb, fwd_new, k + 1
                    rec.loss[k + 1] = loss
                    rec.movement[k + 1] = move
                    rec.K = k + 1
                if not finite or not np.isfinite(loss) or loss > DIVERGENCE_FACTOR * loss_scale:
                    status = "diverged"
                    why = ("became non-finite" if not finite or not np.isfinite(loss) else
                           f"exceeded {DIVERGENCE_FACTOR:g} x max(L_0, ||y||^2) = {DIVERGENCE_FACTOR * loss_scale:.3g}")
                    message = (
                        f"training diverged at global step {k + 1}: the loss or the parameters {why} "
                        f"(L={loss!r}); eta={cfg.eta!r} is probably too large. "
                        f"The trajectory up to and including that step is returned."
                    )
                    warnings.warn(message, NumericalWarning, stacklevel=2)
                    break
                if k + 1 in kernel_at:
                    cur = _network(net, Ws, bs)
                    rec.add_kernel(k + 1, _trained_kernel(X, cur, cfg.trained), theta0)
                bar.update(k + 1, loss=float(loss))
    except KeyboardInterrupt:
        status = "interrupted"
        message = f"interrupted by the user after {rec.K} of {K} global steps; the partial run is returned."
    finally:
        bar.close(message if status != "completed" else None)
    if net_step > 0:
        final = _network(net, Ws, bs)
    config["steps_completed"] = rec.K
    return DeepTrainResult(network=final, network_step=net_step, initial=net, seed=seed, config=config,
                           trajectory=rec.trajectory(cfg.xi), status=status, message=message)


# ----------------------------------------------------------------------------- one global step


def _global_step(X, y, Ws, bs, sw, sb, cfg, Mk, cache):
    """One global step from ``(Ws, bs)`` (not modified); returns the new parameter lists.

    ``Mk``: None (full network) or L float arrays (p, d_h) of unit masks.  Aggregation, LK22 eq. 9:
    each trained parameter is the mean of its copies over the subnetworks where it is active,
    unchanged where active in none.
    """
    if Mk is None:
        return _local_train(X, y, Ws, bs, sw, sb, cfg, None, cache)
    L = len(Ws) - 1
    p = Mk[0].shape[0]
    d = X.shape[1]
    rows = [Mk[h] if h < L else np.ones((p, 1)) for h in range(L + 1)]  # units of layer h+1 (0-based W index)
    cols = [Mk[h - 1] if h > 0 else np.ones((p, d)) for h in range(L + 1)]  # units of layer h
    sumW = {h: np.zeros_like(Ws[h]) for h in cfg.trained}
    sumb = {h: np.zeros_like(bs[h]) for h in cfg.trained}
    for l in range(p):
        Wl, bl = _local_train(X, y, Ws, bs, sw, sb, cfg, [M[l] for M in Mk], None)
        for h in cfg.trained:  # Wl[h] is this subnetwork's own array: zero its inactive entries in place
            Wl[h] *= rows[h][l][:, None]
            Wl[h] *= cols[h][l]
            sumW[h] += Wl[h]
            sumb[h] += rows[h][l] * bl[h]
    newW, newb = list(Ws), list(bs)
    for h in cfg.trained:
        N = rows[h].T @ cols[h]  # N_jk = number of subnetworks in which W^(h)_jk is active (exact)
        newW[h] = _mean_or_keep(sumW[h], N, Ws[h])
        newb[h] = _mean_or_keep(sumb[h], rows[h].sum(axis=0), bs[h])
    return newW, newb


def _mean_or_keep(total, count, old):
    """``total / count`` where ``count > 0``, ``old`` where it is 0 (LK22 eq. 9), in place in ``total``."""
    zero = count == 0.0
    total /= np.maximum(count, 1.0)
    np.copyto(total, old, where=zero)
    return total


def _local_train(X, y, Ws, bs, sw, sb, cfg, unit_masks, cache):
    """τ gradient steps on the surrogate loss of ``unit_masks`` from ``(Ws, bs)``; returns new lists.

    Trained layers get fresh arrays; frozen ones are shared with the input lists.  ``cache`` is the
    forward pass at ``(Ws, bs)`` when it is already known (plain GD).
    """
    W, b = list(Ws), list(bs)
    for t in range(cfg.tau):
        fwd = cache if (t == 0 and cache is not None) else _forward(X, W, b, sw, sb, unit_masks)
        step_W, step_b = _gradients(fwd, y, W, sw, sb, unit_masks, cfg.trained, scale=-cfg.eta)
        for h in cfg.trained:  # step_W[h] = −η ∇ is a fresh array: it becomes the new W^(h)
            step_W[h] += W[h]
            W[h] = step_W[h]
            if step_b[h] is not None:
                b[h] = b[h] + step_b[h]
    return W, b


def _forward(X, Ws, bs, sw, sb, scales):
    """Forward pass; ``scales[h-1]`` (array (d_h,), scalar or None) multiplies ``x^(h)``.

    Returns ``(f, xs, patterns)``: f of shape (n,), ``xs[h] = x^(h)`` (h = 0..L, scaled),
    ``patterns[h-1] = 1{g^(h) >= 0}`` (h = 1..L, bool).
    """
    L = len(Ws) - 1
    x = X
    xs, pats = [X], []
    for h in range(L + 1):
        W = Ws[h]
        g = x @ W.T
        g *= sw / math.sqrt(W.shape[1])
        if sb != 0.0:
            g += sb * bs[h]
        if h < L:
            pats.append(g >= 0.0)
            x = np.maximum(g, 0.0, out=g)
            if scales is not None:
                x *= scales[h]
            xs.append(x)
    return g[:, 0], xs, pats


def _gradients(fwd, y, Ws, sw, sb, unit_masks, trained, scale=1.0):
    """Backpropagation (module notes): ``scale`` × the gradients of ``½‖f − y‖²`` for ``trained`` layers.

    ``scale = −η`` gives the gradient step itself, the scalar folded into the small n×d_h factor
    (no extra pass over a weight matrix).

    Returns two lists of length L+1 (0-based layer index) holding ``scale ∇_{W^(h)}`` (fresh arrays)
    and ``scale ∇_{β^(h)}`` for trained layers (the bias gradient is None when σ_b = 0: it
    vanishes) and None elsewhere.
    """
    f, xs, pats = fwd
    L = len(Ws) - 1
    lowest = min(trained)
    gW, gb = [None] * (L + 1), [None] * (L + 1)
    D = (f - y)[:, None]  # Δ_{L+1}, shape (n, 1)
    for h in range(L, lowest - 1, -1):
        c = sw / math.sqrt(Ws[h].shape[1])
        if h in trained:
            gW[h] = (D * (scale * c)).T @ xs[h]
            if sb != 0.0:
                gb[h] = (scale * sb) * D.sum(axis=0)
        if h > lowest:
            D = D @ Ws[h]
            D *= c
            D *= pats[h - 1]
            if unit_masks is not None:
                D *= unit_masks[h - 1]
    return gW, gb


# ----------------------------------------------------------------------------- records


class _Recorder:
    """Preallocated trajectory arrays; ``K`` counts the committed global steps."""

    def __init__(self, K, L):
        self.K = 0
        self.loss = np.full(K + 1, np.nan)
        self.movement = np.full((K + 1, L + 1), np.nan)
        self.kernel = []  # (step, drift_F, drift_2, lam_min)

    def add_kernel(self, step, theta, theta0):
        diff = theta - theta0
        lo, hi = eigenvalue_extremes(diff, check=False)
        norm2 = max(abs(lo), abs(hi))
        top = eigenvalue_extremes(theta0, check=False)[1]
        with warnings.catch_warnings():
            # a singular kernel's rounding-level negative λ_min is recorded as 0, without a warning
            warnings.simplefilter("ignore", NumericalWarning)
            lam = min_eigenvalue(theta)
        self.kernel.append((step, np.linalg.norm(diff) / np.linalg.norm(theta0), norm2 / top, lam))

    def trajectory(self, xi) -> DeepTrajectory:
        K = self.K

        def frozen(a, dtype=np.float64):
            a = np.array(a, dtype=dtype)
            a.setflags(write=False)
            return a

        cols = list(zip(*self.kernel)) if self.kernel else [(), (), (), ()]
        return DeepTrajectory(
            loss=frozen(self.loss[: K + 1]), kernel_steps=frozen(cols[0], np.int64),
            kernel_drift=frozen(cols[1]), kernel_drift_spectral=frozen(cols[2]), lam_min=frozen(cols[3]),
            movement=frozen(self.movement[: K + 1]), xi=float(xi),
        )


def _trained_kernel(X, net, trained):
    """Finite-width NTK of the trained layers' parameters (all of Θ̂ when every layer is trained)."""
    if len(trained) == net.depth + 1:
        return ntk_deep_finite(X, net)
    _, terms = ntk_deep_finite(X, net, per_layer=True)
    return sum(terms[h] for h in trained)


def _network(net, Ws, bs):
    return DeepNetwork(weights=tuple(Ws), biases=tuple(bs), sigma_w=net.sigma_w, sigma_b=net.sigma_b, seed=net.seed)


def _sq(r):
    return float(r @ r)


# ----------------------------------------------------------------------------- masks and validation


def _draw_deep_step(gen, widths, p, kind, xi):
    """The L bool mask arrays (p, d_h) of one global step, layers 1..L drawn in turn from ``gen``."""
    return [_draw_step(gen, w, p, kind, xi) for w in widths]


def _masks_digest(masks) -> str:
    h = hashlib.sha256()
    for step in masks:
        for M in step:
            h.update(np.packbits(M.astype(bool)).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class _Config:
    X: np.ndarray
    y: np.ndarray
    eta: float
    K: int
    tau: int
    p: int
    scheme: str
    kind: str
    xi: float
    trained: tuple  # 0-based layer indices, increasing
    masks: Any  # None or list of K lists of L float arrays (p, d_h)
    kernel_at: tuple
    track_scale: Any  # None (ξ = 1) or list of L scalars ξ
    progress: bool


def _train_deep_iv(X, y, net, eta, steps, layers, scheme, p, xi, local_steps, masks, record_kernel_at,
                   rng, progress):
    """Validate every argument of :func:`train_deep` before any work; return a :class:`_Config`."""
    X = _check_data(X, net)
    y = check_y(y, X.shape[0])
    eta = check_step_size(eta)
    K = check_param("steps", steps)
    tau = check_param("local_steps", local_steps)
    p = check_param("p", p)
    if not isinstance(scheme, str):
        raise TypeError(f"`scheme` must be a string, got {type(scheme).__name__} {scheme!r}.")
    kind, xi = _resolve_scheme(scheme, p, xi, tau)
    L = net.depth
    trained = _check_layers_arg(layers, L)
    kernel_at = _check_kernel_steps(record_kernel_at, K)
    if masks is not None:
        masks = _check_deep_masks(masks, K, p, net.widths, kind, scheme)
    elif scheme != "gd":
        as_generator(rng)  # a bad rng fails here, before any work
    progress = _check_flag(progress, "progress")
    track = None if xi == 1.0 else [xi] * L
    return _Config(X=X, y=y, eta=eta, K=K, tau=tau, p=p, scheme=scheme, kind=kind, xi=float(xi), trained=trained,
                   masks=masks, kernel_at=kernel_at, track_scale=track, progress=progress)


def _check_layers_arg(layers, L):
    """1-based layer indices h ∈ 1..L+1 (int or sequence) -> sorted unique 0-based tuple."""
    if layers is None:
        return tuple(range(L + 1))
    seq = [layers] if isinstance(layers, numbers.Integral) and not isinstance(layers, bool) else layers
    if isinstance(seq, (str, bytes)) or not hasattr(seq, "__iter__"):
        raise TypeError(f"`layers` must be a layer index or a sequence of them (1..L+1 = 1..{L + 1}), got "
                        f"{type(layers).__name__} {layers!r}.")
    out = sorted({check_int(h, "layers", min_val=1, max_val=L + 1) for h in seq})
    if not out:
        raise ValueError(f"`layers` must name at least one layer in 1..L+1 = 1..{L + 1}, got an empty sequence.")
    return tuple(h - 1 for h in out)


def _check_kernel_steps(record_kernel_at, K):
    if record_kernel_at is None:
        return tuple(sorted({(j * K) // 4 for j in range(5)}))
    if isinstance(record_kernel_at, (str, bytes)) or not hasattr(record_kernel_at, "__iter__"):
        raise TypeError(f"`record_kernel_at` must be a sequence of global steps in 0..K={K}, got "
                        f"{type(record_kernel_at).__name__} {record_kernel_at!r}.")
    return tuple(sorted({check_int(t, "record_kernel_at", min_val=0, max_val=K) for t in record_kernel_at}))


def _check_deep_masks(masks, K, p, widths, kind, scheme):
    """Replay masks ``masks[k][h-1]`` of shape (p, d_h), 0/1, fitting the scheme -> float arrays."""
    L = len(widths)
    if isinstance(masks, (str, bytes)) or not hasattr(masks, "__len__"):
        raise TypeError(f"`masks` must be a sequence over global steps of sequences over layers of (p, d_h) "
                        f"arrays, got {type(masks).__name__}.")
    if len(masks) != K:
        raise ValueError(f"`masks` must hold one entry per global step (steps={K}), got {len(masks)}.")
    out = []
    for k, step in enumerate(masks):
        if isinstance(step, (str, bytes)) or not hasattr(step, "__len__") or len(step) != L:
            got = len(step) if hasattr(step, "__len__") else type(step).__name__
            raise ValueError(f"`masks[{k}]` must hold one (p, d_h) array per hidden layer (L={L}), got {got}.")
        row = []
        for h, (M, w) in enumerate(zip(step, widths), start=1):
            name = f"masks[{k}][{h - 1}]"
            arr = np.asarray(M)
            if arr.shape != (p, w):
                raise ValueError(f"`{name}` (global step {k}, layer h={h}) must have shape (p, d_{h}) = {(p, w)}, "
                                 f"got shape {arr.shape}.")
            if arr.dtype.kind != "b":
                arr = check_array(arr, name, dtype=None)
                bad = (arr != 0) & (arr != 1)
                if bad.any():
                    l, j = (int(i) for i in np.argwhere(bad)[0])
                    raise ValueError(f"entries of `{name}` must be 0 or 1, got {name}[{l}, {j}]={arr[l, j].item()!r}.")
            arr = arr.astype(np.float64)
            if kind == "categorical":
                count = arr.sum(axis=0)
                if (count != 1).any():
                    j = int(np.flatnonzero(count != 1)[0])
                    raise ValueError(f"scheme={scheme!r} needs categorical `masks` that partition each layer's units "
                                     f"(each unit in exactly one of the p={p} subnetworks), got unit {j} of layer "
                                     f"h={h} in {int(count[j])} subnetworks at global step {k}.")
            elif scheme == "gd" and not (arr == 1.0).all():
                raise ValueError(f"scheme='gd' needs all-ones `masks`, got a 0 in `{name}`.")
            row.append(arr)
        out.append(row)
    return out
