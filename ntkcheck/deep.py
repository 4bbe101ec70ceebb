"""Exact finite- and infinite-width NTKs of deep fully-connected ReLU networks.

Model (docs/theory.md §10; Jacot, Gabriel, Hongler 2018; Arora et al. 2019, "On Exact Computation
with an Infinitely Wide Neural Net"), NTK parametrisation with weight and bias scales σ_w, σ_b
(neural-tangents' ``stax.Dense(W_std=σ_w, b_std=σ_b)``), widths ``d_0 = d, d_1 .. d_L``, scalar
output::

    g^(h) = (σ_w/√d_{h−1}) W^(h) x^(h−1) + σ_b β^(h),   x^(h) = σ(g^(h)),   h = 1..L+1,   f = g^(L+1)

with every entry of ``W^(h)``, ``β^(h)`` drawn N(0, 1) and ``σ(z) = max(z, 0)``,
``σ'(z) = 1{z ≥ 0}`` (the convention of docs/theory.md §4).

Finite width (§10), with ``δ^(h) = ∂f/∂g^(h)``: ``δ^(L+1) = 1``,
``δ^(h) = σ'(g^(h)) ∘ (σ_w/√d_h) W^(h+1)ᵀ δ^(h+1)``, and::

    Θ̂(x, x') = Σ_{h=1}^{L+1} <δ^(h)(x), δ^(h)(x')> · (σ_w² <x^(h−1)(x), x^(h−1)(x')>/d_{h−1} + σ_b²)

— per layer the Hadamard product of two n×n Gram matrices; no Jacobian is formed.

Infinite width (§10)::

    Σ^(1) = σ_w² <x, x'>/d + σ_b²,   Θ^(1) = Σ^(1),
    K^(h) = √(S11 S22) (sin φ + (π − φ) cos φ)/(2π),   K̇^(h) = (π − φ)/(2π),   cos φ = S12/√(S11 S22),
    Σ^(h+1) = σ_w² K^(h) + σ_b²,   Θ^(h+1) = Σ^(h+1) + σ_w² K̇^(h) Θ^(h),

and the NTK of the L-hidden-layer network is Θ^(L+1).  Layer h's share of it (the limit of the
h-th finite-width term above) is ``Σ^(h) ∘ Π_{k=h}^{L} σ_w² K̇^(k)``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._rng import as_generator, seed_record
from ._validation import check_array, check_int, check_scalar
from .ntk import angles

__all__ = [
    "DeepNetwork",
    "DeepForwardCache",
    "init_deep_network",
    "deep_forward",
    "ntk_deep_finite",
    "ntk_deep_infinite",
]

#: Default size of one streamed block of the last hidden layer (n × chunk float64 values).
_CHUNK_BYTES = 1 << 25
#: Below this angle ``sin φ − φ cos φ`` is evaluated from its Taylor series (no cancellation).
_SERIES_PHI = 0.1


@dataclass(frozen=True, eq=False, repr=False)
class DeepNetwork:
    """A deep fully-connected ReLU network in the NTK parametrisation (docs/theory.md §10).

    Attributes
    ----------
    weights : tuple of L+1 ndarrays, float64, read-only
        ``weights[h-1]`` is ``W^(h)`` of shape ``(d_h, d_{h−1})``; the last has shape ``(1, d_L)``.
    biases : tuple of L+1 ndarrays, float64, read-only
        ``biases[h-1]`` is ``β^(h)`` of shape ``(d_h,)``; the last has shape ``(1,)``.  They exist
        (and are drawn) even when ``sigma_b = 0``, where they have no effect.
    sigma_w : float
        Weight scale σ_w > 0.
    sigma_b : float
        Bias scale σ_b >= 0.
    seed : int, dict or None
        Record of the ``rng`` the parameters were drawn from (:func:`ntkcheck._rng.seed_record`).

    Notes
    -----
    The arrays are validated (shapes chain from layer to layer, finite) and stored as read-only
    float64 views when the network is built, so a ``DeepNetwork`` is always consistent.  Build one
    by hand (e.g. with trained weights) by passing the arrays; they are not copied when already
    C-contiguous float64.
    """

    weights: tuple
    biases: tuple
    sigma_w: float = 1.0
    sigma_b: float = 0.0
    seed: Any = None

    def __post_init__(self):
        weights, biases = _check_layers(self.weights, self.biases)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "biases", biases)
        object.__setattr__(self, "sigma_w", check_scalar(self.sigma_w, "sigma_w", min_val=0.0, closed="neither"))
        object.__setattr__(self, "sigma_b", check_scalar(self.sigma_b, "sigma_b", min_val=0.0))

    @property
    def d(self) -> int:
        """Input dimension ``d = d_0``."""
        return int(self.weights[0].shape[1])

    @property
    def widths(self) -> tuple:
        """Hidden widths ``(d_1, ..., d_L)``."""
        return tuple(int(W.shape[0]) for W in self.weights[:-1])

    @property
    def depth(self) -> int:
        """Number of hidden layers L."""
        return len(self.weights) - 1

    @property
    def n_params(self) -> int:
        """Number of parameters P (weights and biases, biases counted even when ``sigma_b = 0``)."""
        return int(sum(W.size + b.size for W, b in zip(self.weights, self.biases)))

    def __repr__(self) -> str:
        return (f"DeepNetwork(d={self.d}, widths={self.widths}, sigma_w={self.sigma_w}, "
                f"sigma_b={self.sigma_b}, seed={self.seed!r})")


@dataclass(frozen=True, eq=False)
class DeepForwardCache:
    """Pre- and post-activations of a forward pass (:func:`deep_forward` with ``return_cache=True``).

    Attributes
    ----------
    preactivations : tuple of L+1 ndarrays
        ``preactivations[h-1]`` is ``g^(h)`` of shape ``(n, d_h)``; the last, ``(n, 1)``, is f.
    activations : tuple of L+1 ndarrays
        ``activations[h]`` is ``x^(h)`` of shape ``(n, d_h)``, h = 0..L (``x^(0) = X``).
    """

    preactivations: tuple
    activations: tuple


def init_deep_network(d: int, widths, *, sigma_w: float = 1.0, sigma_b: float = 0.0, rng=None) -> DeepNetwork:
    """Draw a deep ReLU network at initialisation (docs/theory.md §10; Jacot et al. 2018).

    Parameters
    ----------
    d : int
        Input dimension ``d_0 >= 1``.
    widths : sequence of int
        Hidden widths ``(d_1, ..., d_L)``, L >= 1, each >= 1.
    sigma_w : float, default 1.0
        Weight scale σ_w > 0.
    sigma_b : float, default 0.0
        Bias scale σ_b >= 0 (the biases are drawn even when it is 0).
    rng : None, int, SeedSequence or Generator
        Randomness.  Layer h draws from the h-th of ``L + 1`` streams spawned from it, weights and
        biases from two sub-streams of that one, so layer h depends only on ``rng``, h, ``d_{h−1}``
        and ``d_h`` (adding a layer on top leaves the layers below unchanged).

    Returns
    -------
    DeepNetwork
        ``weights[h-1] = W^(h)`` of shape ``(d_h, d_{h−1})`` (last ``(1, d_L)``) and
        ``biases[h-1] = β^(h)`` of shape ``(d_h,)``, all entries N(0, 1), read-only.

    Raises
    ------
    TypeError, ValueError
        ``d`` not a positive integer, ``widths`` not a non-empty sequence of positive integers,
        ``sigma_w <= 0``, ``sigma_b < 0``, or an ``rng`` numpy cannot use.

    Examples
    --------
    >>> net = init_deep_network(3, [5, 4], sigma_b=0.1, rng=0)
    >>> [W.shape for W in net.weights], [b.shape for b in net.biases]
    ([(5, 3), (4, 5), (1, 4)], [(5,), (4,), (1,)])
    >>> net.depth, net.widths, net.seed
    (2, (5, 4), 0)
    """
    d = check_int(d, "d", min_val=1)
    widths = _check_widths(widths)
    sigma_w = check_scalar(sigma_w, "sigma_w", min_val=0.0, closed="neither")
    sigma_b = check_scalar(sigma_b, "sigma_b", min_val=0.0)
    seed = seed_record(rng)
    gen = as_generator(rng)
    dims = (d,) + widths + (1,)
    weights, biases = [], []
    for h, layer_gen in enumerate(gen.spawn(len(dims) - 1), start=1):
        w_gen, b_gen = layer_gen.spawn(2)
        W = w_gen.standard_normal((dims[h], dims[h - 1]))
        b = b_gen.standard_normal(dims[h])
        W.setflags(write=False)
        b.setflags(write=False)
        weights.append(W)
        biases.append(b)
    return DeepNetwork(weights=tuple(weights), biases=tuple(biases), sigma_w=sigma_w, sigma_b=sigma_b, seed=seed)


def deep_forward(X, net: DeepNetwork, *, return_cache: bool = False):
    """Forward pass ``f(X)`` of a deep ReLU network (docs/theory.md §10).

    Parameters
    ----------
    X : array_like of shape (n, d)
        Inputs (rows ``x_i``), finite, any norms (zero rows allowed).
    net : DeepNetwork
        The network; ``net.d`` must equal d.
    return_cache : bool, default False
        Also return every layer's pre- and post-activations (memory ``Σ_h 16 n d_h`` bytes).

    Returns
    -------
    f : ndarray of shape (n,)
        ``g^(L+1)(x_i)``.
    cache : DeepForwardCache
        Only with ``return_cache=True``.

    Raises
    ------
    TypeError, ValueError
        ``X`` not a finite real 2-D array, ``net`` not a DeepNetwork, or ``X.shape[1] != net.d``.

    Examples
    --------
    >>> net = init_deep_network(2, [3], rng=1)
    >>> f, cache = deep_forward(np.eye(2), net, return_cache=True)
    >>> f.shape, [g.shape for g in cache.preactivations], [x.shape for x in cache.activations]
    ((2,), [(2, 3), (2, 1)], [(2, 2), (2, 3)])
    """
    X = _check_data(X, net)
    return_cache = _check_flag(return_cache, "return_cache")
    x = X
    pres, acts = [], [X]
    for h, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        g = x @ W.T
        g *= net.sigma_w / math.sqrt(W.shape[1])
        if net.sigma_b != 0.0:
            g += net.sigma_b * b
        if h <= net.depth:
            x = np.maximum(g, 0.0)
            if return_cache:
                acts.append(x)
        if return_cache:
            pres.append(g)
    f = g[:, 0].copy()
    if return_cache:
        return f, DeepForwardCache(preactivations=tuple(pres), activations=tuple(acts))
    return f


def ntk_deep_finite(X, net: DeepNetwork, *, per_layer: bool = False, chunk: int | None = None):
    """Exact finite-width NTK ``Θ̂`` of a deep ReLU network, without forming a Jacobian.

    ``Θ̂ = Σ_{h=1}^{L+1} (Δ_h Δ_hᵀ) ∘ (σ_w² X_{h−1} X_{h−1}ᵀ / d_{h−1} + σ_b²)`` with ``Δ_h`` the
    n×d_h matrix of ``δ^(h) = ∂f/∂g^(h)`` and ``X_{h−1}`` that of ``x^(h−1)`` (``X_0 = X``)
    (docs/theory.md §10; the sum over h is the sum over the parameters of layer h, weights and
    biases, of ``∂f/∂θ(x) ∂f/∂θ(x')``).

    Parameters
    ----------
    X : array_like of shape (n, d)
        Inputs, finite, any norms (zero rows allowed).
    net : DeepNetwork
        The network (weights at initialisation or any others).
    per_layer : bool, default False
        Also return the L+1 per-layer contributions (which layer's parameters carry the kernel).
    chunk : int, optional
        Units of the last hidden layer processed per block (see Notes).  Default: about 32 MB of
        float64 values per block, ``2^22 / n`` units (all of them when fewer).

    Returns
    -------
    theta : ndarray of shape (n, n)
        Θ̂, exactly symmetric.
    terms : tuple of L+1 ndarrays of shape (n, n)
        Only with ``per_layer=True``: ``terms[h-1]`` is layer h's contribution; they sum to
        ``theta`` up to rounding.

    Raises
    ------
    TypeError, ValueError
        Bad ``X`` (not finite, not 2-D, wrong number of columns), ``net`` not a DeepNetwork,
        ``chunk`` not a positive integer.

    Notes
    -----
    Cost: the forward and backward GEMMs, ``O(n Σ_h d_h d_{h−1})``, plus ``O(n² Σ_h d_h)`` for the
    Gram matrices; all BLAS-shaped work is NumPy's (``A @ A.T`` runs as a BLAS syrk), float64.
    The lower triangle is finally copied from the upper one, so the result is exactly symmetric.

    Memory, beyond ``X`` and the network (8-byte values; n inputs, widths d_h):

    * the last hidden layer L is streamed in blocks of ``chunk`` units: its activations, ``δ^(L)``
      and Grams are accumulated block by block (about ``2·n·chunk`` values at a time), so for
      L = 1 the memory is ``O(n² + n·chunk + d_1)`` whatever the width.  For L >= 2 the sum
      ``W^(L)ᵀ δ^(L)`` (n×d_{L−1}) is accumulated too, plus one buffer of that size when there is
      more than one block;
    * layers 1..L−1 are held: their activations ``x^(h)`` (n×d_h) exist only while the next layer
      is computed (two adjacent layers at a time), their ReLU patterns ``1{g^(h) ≥ 0}`` are kept as
      bool (n·d_h bytes each, 1/8 of the activations), and for the backward pass each layer keeps
      the smaller of ``x^(h−1)`` (n×d_{h−1}) and its Gram (n×n).  The backward pass holds ``δ^(h)``
      and ``δ^(h) W^(h)`` of two adjacent layers;
    * about four n×n matrices (Θ̂ and the Grams of the current layer), plus L+1 with
      ``per_layer=True``.

    At n = 1000, d = 64, three hidden layers of width 4096 the extra peak is about 165 MiB, against
    290 MiB for the same formula with every activation held and 252 GiB for the Jacobian
    (benchmarks/bench_deep.py).

    Examples
    --------
    >>> net = init_deep_network(3, [64, 64], rng=0)
    >>> X = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    >>> theta, terms = ntk_deep_finite(X, net, per_layer=True)
    >>> theta.shape, len(terms), bool(np.allclose(sum(terms), theta))
    ((2, 2), 3, True)
    """
    X = _check_data(X, net)
    per_layer = _check_flag(per_layer, "per_layer")
    n = X.shape[0]
    L = net.depth
    chunk = _chunk_size(chunk, n, net.widths[-1])
    sw, sb = net.sigma_w, net.sigma_b
    # Activations and deltas are sample-major, (n, d_h) C-contiguous: the layout in which NumPy's
    # ``A @ A.T`` runs as a fast BLAS syrk.  All BLAS work goes through NumPy (one BLAS library).
    patterns = []  # 1{g^(h) >= 0}, h = 1..L-1, bool (n, d_h)
    factors = [("x", X)]  # layer h's forward factor: ("x", x^(h-1)) or ("gram", Γ_h), whichever is smaller
    x = X
    for h in range(1, L):
        g = _affine(x, net.weights[h - 1], net.biases[h - 1], sw, sb)
        patterns.append(g >= 0.0)
        np.maximum(g, 0.0, out=g)
        x = g
        factors.append(("x", x) if x.shape[1] < n else ("gram", _forward_gram(x, sw, sb)))

    # last hidden layer, streamed: Γ_{L+1} = Gram of its activations, Δ_L Δ_Lᵀ, and W^(L)ᵀ δ^(L)
    WL, bL = net.weights[L - 1], net.biases[L - 1]
    dL = WL.shape[0]
    w_out = net.weights[L][0] * (sw / math.sqrt(dL))  # δ^(L) = 1{g^(L) >= 0} ∘ w_out
    gram_out = gram_delta = acc = tmp = None
    for s in range(0, dL, chunk):
        e = min(dL, s + chunk)
        g = _affine(x, WL[s:e], bL[s:e], sw, sb)
        delta = (g >= 0.0) * w_out[s:e]
        np.maximum(g, 0.0, out=g)
        gram_out = _accumulate(gram_out, g @ g.T)
        gram_delta = _accumulate(gram_delta, delta @ delta.T)
        if L > 1:  # W^(L)ᵀ δ^(L) as (n, d_{L-1}): Σ over blocks of δ_c W^(L)[c]
            if acc is None:
                acc = delta @ WL[s:e]
            else:
                tmp = np.empty_like(acc) if tmp is None else tmp
                np.matmul(delta, WL[s:e], out=tmp)
                acc += tmp
    del g, delta, x, tmp
    gram_out *= sw * sw / dL
    gram_out += sb * sb
    terms = [None] * (L + 1)
    terms[L] = gram_out  # δ^(L+1) = 1: the output layer's term is its forward Gram
    theta = gram_out.copy() if per_layer else gram_out
    terms[L - 1] = _layer_term(gram_delta, factors.pop(), sw, sb)
    theta += terms[L - 1]
    if not per_layer:
        terms = None

    # backward through the held layers h = L-1 .. 1
    for h in range(L - 1, 0, -1):
        delta = acc
        delta *= sw / math.sqrt(delta.shape[1])
        np.multiply(delta, patterns.pop(), out=delta)
        acc = delta @ net.weights[h - 1] if h > 1 else None
        gram_delta = delta @ delta.T
        del delta
        term = _layer_term(gram_delta, factors.pop(), sw, sb)
        theta += term
        if per_layer:
            terms[h - 1] = term
        del term
    _mirror_upper(theta)
    if per_layer:
        return theta, tuple(_mirror_upper(t) for t in terms)
    return theta


def ntk_deep_infinite(X, depth: int, *, sigma_w: float = 1.0, sigma_b: float = 0.0, per_layer: bool = False):
    """Infinite-width NTK ``Θ^(L+1)`` of a deep ReLU network, by the closed-form recursion.

    docs/theory.md §10 (Jacot et al. 2018; Arora et al. 2019, eqs. for the ReLU NTK).  Every
    entry depends only on the pair of inputs; the angles are computed stably (Notes).

    Parameters
    ----------
    X : array_like of shape (n, d)
        Inputs, finite, any norms (zero rows allowed; see Notes).
    depth : int
        Number of hidden layers L >= 1.
    sigma_w : float, default 1.0
        Weight scale σ_w > 0.
    sigma_b : float, default 0.0
        Bias scale σ_b >= 0.
    per_layer : bool, default False
        Also return the L+1 per-layer contributions ``Σ^(h) ∘ Π_{k=h}^{L} σ_w² K̇^(k)``, the
        infinite-width limits of the terms of :func:`ntk_deep_finite`.

    Returns
    -------
    theta : ndarray of shape (n, n)
        Θ^(L+1), exactly symmetric, PSD.
    terms : tuple of L+1 ndarrays of shape (n, n)
        Only with ``per_layer=True``; they sum to ``theta`` up to rounding.

    Raises
    ------
    TypeError, ValueError
        Bad ``X``, ``depth < 1``, ``sigma_w <= 0`` or ``sigma_b < 0``.

    Notes
    -----
    *Angles.*  Layer 1's angle is that of the augmented inputs ``(σ_w x/√d, σ_b)`` (whose Gram is
    Σ^(1)), computed by :func:`ntkcheck.angles`: the half-angle form ``2 atan2(|u − v|, |u + v|)``
    near ``|cos φ| = 1`` (exactly 0 for identical directions), ``arccos`` elsewhere
    (docs/theory.md §4).  Deeper layers have no explicit vectors, so the recursion carries
    ``c = 1 − cos φ`` itself, through the exact identity (a_i = σ_w² S_ii/2, β = σ_b²)::

        √(S'11 S'22) (1 − cos φ') = β (√a1 − √a2)² / (√(S'11 S'22) + √(a1 a2) + β)
                                     + √(a1 a2) (π c − (sin φ − φ cos φ)) / π

    a sum of non-negative terms (no cancellation; ``sin φ − φ cos φ`` by its Taylor series below
    φ = 0.1), and ``φ' = 2 asin(√(c'/2))``.  So φ is accurate to rounding even for nearly parallel
    inputs, where ``arccos`` of the rounded cosine errs by ~1e-8.  After a ReLU layer every
    correlation is >= 0, so only layer 1 can be nearly anti-parallel.

    *Diagonal.*  Set exactly: ``K̇ = 1/2``, ``K = S_ii/2``, so ``Σ^(h+1)_ii = σ_w² Σ^(h)_ii/2 + σ_b²``
    and ``Θ^(h+1)_ii = Σ^(h+1)_ii + σ_w² Θ^(h)_ii/2``.

    *Zero rows.*  With σ_b = 0 a zero input has ``Σ^(h)(x, ·) = 0`` at every layer and the kernel,
    positively homogeneous of degree 1 in each argument, tends to 0 as x → 0: its row and column
    of Θ (and of every term) are 0, as they are for the finite-width Θ̂ (every ``x^(h)`` vanishes).
    Its angle with other points is undefined; any value gives the same result, since it only
    enters through ``K̇ Θ^(h)`` with ``Θ^(h) = 0``.  With σ_b > 0 a zero input is an ordinary point.

    *Cost.*  O(n² (d + L)) time; about eleven n×n float64 arrays at the peak (n = 2000, L = 3:
    about 1 s and 350 MB; per_layer adds L+1).

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> np.round(ntk_deep_infinite(X, 1), 6)  # Σ^(1) = I/2; φ = π/2: K = 1/(4π), K̇ = 1/4
    array([[0.5     , 0.079577],
           [0.079577, 0.5     ]])
    """
    X = check_array(X, "X", ndim=2)
    depth = check_int(depth, "depth", min_val=1)
    sigma_w = check_scalar(sigma_w, "sigma_w", min_val=0.0, closed="neither")
    sigma_b = check_scalar(sigma_b, "sigma_b", min_val=0.0)
    per_layer = _check_flag(per_layer, "per_layer")
    n = X.shape[0]
    sq = np.einsum("ij,ij->i", X, X)
    live = np.flatnonzero((sq > 0.0) | (sigma_b > 0.0))
    if live.size == n:
        theta, terms = _infinite_recursion(X, sq, depth, sigma_w, sigma_b, per_layer)
    else:  # zero rows with σ_b = 0: zero rows and columns (Notes)
        theta = np.zeros((n, n))
        terms = [np.zeros((n, n)) for _ in range(depth + 1)] if per_layer else []
        if live.size:
            th, ts = _infinite_recursion(X[live], sq[live], depth, sigma_w, sigma_b, per_layer)
            theta[np.ix_(live, live)] = th
            for t, small in zip(terms, ts):
                t[np.ix_(live, live)] = small
    return (theta, tuple(terms)) if per_layer else theta


# --------------------------------------------------------------------------- helpers


def _infinite_recursion(X, sq, depth, sw, sb, per_layer):
    """§10 recursion on rows with ``Σ^(1)_ii > 0``; returns (Θ^(L+1), per-layer terms or [])."""
    n, d = X.shape
    sw2, sb2 = sw * sw, sb * sb
    s_diag = sw2 * sq / d + sb2
    S = _mirror_upper(X @ X.T)
    S *= sw2 / d
    S += sb2
    np.fill_diagonal(S, s_diag)
    Z = X if sb == 0.0 else np.hstack([X * (sw / math.sqrt(d)), np.full((n, 1), sb)])
    phi = angles(Z)
    c = 2.0 * np.sin(0.5 * phi) ** 2  # 1 − cos φ, accurate for small φ
    theta, t_diag = S.copy(), s_diag.copy()
    terms, terms_diag = ([S.copy()], [s_diag.copy()]) if per_layer else ([], [])
    inv2pi = 1.0 / (2.0 * math.pi)
    for h in range(1, depth + 1):
        root = np.sqrt(s_diag)
        K = np.outer(root, root)
        K *= np.sin(phi) + (math.pi - phi) * np.cos(phi)
        K *= inv2pi
        M = (math.pi - phi) * (sw2 * inv2pi)  # σ_w² K̇
        next_diag = sw2 * (0.5 * s_diag) + sb2
        S = K
        S *= sw2
        S += sb2
        np.fill_diagonal(S, next_diag)
        np.fill_diagonal(M, 0.5 * sw2)
        theta *= M
        theta += S
        t_diag = next_diag + (0.5 * sw2) * t_diag
        np.fill_diagonal(theta, t_diag)
        if per_layer:
            for t, td in zip(terms, terms_diag):
                t *= M
                td *= 0.5 * sw2
                np.fill_diagonal(t, td)
            terms.append(S.copy())
            terms_diag.append(next_diag.copy())
        if h < depth:
            c, phi = _next_angle(c, phi, s_diag, sw2, sb2)
        s_diag = next_diag
    return _mirror_upper(theta), [_mirror_upper(t) for t in terms]


def _next_angle(c, phi, s_diag, sw2, sb2):
    """``(1 − cos φ', φ')`` of layer h+1 from layer h's ``c = 1 − cos φ``, φ and diagonal (stable)."""
    a = sw2 * (0.5 * s_diag)  # σ_w² K_ii
    ra = np.sqrt(a)
    rA = np.sqrt(a + sb2)  # √Σ^(h+1)_ii
    RA = np.outer(rA, rA)
    Ra = np.outer(ra, ra)
    num = c * math.pi
    num -= _sin_minus_phi_cos(phi)
    num *= Ra
    num *= 1.0 / math.pi
    if sb2 > 0.0:  # β (√a_i − √a_j)² / (RA + Ra + β), with √a_i − √a_j = (a_i − a_j)/(√a_i + √a_j)
        diff = np.subtract.outer(a, a) / np.add.outer(ra, ra)
        num += sb2 * diff * diff / (RA + Ra + sb2)
    num /= RA
    np.clip(num, 0.0, 1.0, out=num)  # cos φ' >= 0 after a ReLU layer
    np.fill_diagonal(num, 0.0)
    return num, 2.0 * np.arcsin(np.sqrt(0.5 * num))


def _sin_minus_phi_cos(phi):
    """``sin φ − φ cos φ`` elementwise; Taylor series ``Σ_k (−1)^{k+1} 2k φ^{2k+1}/(2k+1)!`` below 0.1."""
    out = np.sin(phi) - phi * np.cos(phi)
    small = phi < _SERIES_PHI
    if small.any():
        p = phi[small]
        p2 = p * p
        out[small] = p * p2 * (1.0 / 3.0 + p2 * (-1.0 / 30.0 + p2 * (1.0 / 840.0 + p2 * (-1.0 / 45360.0
                                                                                          + p2 / 3991680.0))))
    return out


def _affine(x, W, b, sw, sb):
    """``g^(h) = (σ_w/√d_{h−1}) x^(h−1) W^(h)ᵀ + σ_b β^(h)`` for the units (rows) of ``W``: shape (n, units)."""
    g = x @ W.T
    g *= sw / math.sqrt(W.shape[1])
    if sb != 0.0:
        g += sb * b
    return g


def _forward_gram(x, sw, sb):
    """``Γ = σ_w² x xᵀ/d + σ_b²`` for activations ``x`` of shape (n, d) (``x @ x.T`` is a BLAS syrk)."""
    G = x @ x.T
    G *= sw * sw / x.shape[1]
    if sb != 0.0:
        G += sb * sb
    return G


def _accumulate(total, part):
    if total is None:
        return part
    total += part
    return total


def _layer_term(gram_delta, factor, sw, sb):
    """``(Δ_h Δ_hᵀ) ∘ Γ_h`` (in place in ``gram_delta``) from layer h's stored forward factor."""
    kind, arr = factor
    gram_delta *= _forward_gram(arr, sw, sb) if kind == "x" else arr
    return gram_delta


def _mirror_upper(A):
    """Copy the strict upper triangle of the square C-contiguous ``A`` onto the lower one, in place.

    The Grams and their Hadamard products are symmetric already when BLAS syrk computes them;
    this makes exact symmetry a guarantee rather than a property of the BLAS in use.
    """
    n = A.shape[0]
    block = 256
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        A[i1:, i0:i1] = A[i0:i1, i1:].T
        tile = A[i0:i1, i0:i1]
        lower = np.tril_indices(i1 - i0, -1)
        tile[lower] = tile.T[lower]
    return A


def _chunk_size(chunk, n, width):
    if chunk is None:
        return max(1, min(width, _CHUNK_BYTES // (8 * max(n, 1))))
    return min(check_int(chunk, "chunk", min_val=1), width)


def _check_flag(x, name):
    """A bool flag (numpy bools accepted); a private helper, _validation.py has none."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be True or False, got {type(x).__name__} {x!r}.")
    return bool(x)


def _check_widths(widths):
    """Hidden widths: a non-empty sequence of positive integers; returned as a tuple of int."""
    if isinstance(widths, (numbers.Number, str, bytes)) or not hasattr(widths, "__len__"):
        hint = f" For one hidden layer of width {widths} use widths=[{widths}]." if isinstance(
            widths, numbers.Integral) and not isinstance(widths, bool) else ""
        raise TypeError(
            f"`widths` must be a sequence of hidden-layer widths (d_1, ..., d_L), got "
            f"{type(widths).__name__} {widths!r}.{hint}"
        )
    widths = list(widths)
    if not widths:
        raise ValueError("`widths` must hold at least one hidden width (depth L >= 1), got an empty sequence.")
    return tuple(check_int(w, f"widths[{i}]", min_val=1) for i, w in enumerate(widths))


def _check_layers(weights, biases):
    """Validate the layer arrays of a DeepNetwork; return read-only float64 tuples."""
    for name, seq in (("weights", weights), ("biases", biases)):
        if isinstance(seq, np.ndarray) or not isinstance(seq, (list, tuple)):
            raise TypeError(f"`{name}` must be a list or tuple of arrays (one per layer), got {type(seq).__name__}.")
    if len(weights) < 2:
        raise ValueError(f"`weights` must hold L+1 >= 2 matrices (at least one hidden layer), got {len(weights)}.")
    if len(biases) != len(weights):
        raise ValueError(
            f"`biases` must hold one vector per layer, L+1={len(weights)} to match `weights`, got {len(biases)}."
        )
    out_w, out_b = [], []
    fan_in = None
    for h, (W, b) in enumerate(zip(weights, biases)):
        last = h == len(weights) - 1
        W = check_array(W, f"weights[{h}]", ndim=2, shape=((1 if last else None), fan_in))
        b = check_array(b, f"biases[{h}]", shape=(W.shape[0],))
        fan_in = W.shape[0]
        W, b = W.view(), b.view()  # read-only views: the caller's own arrays keep their flags
        W.setflags(write=False)
        b.setflags(write=False)
        out_w.append(W)
        out_b.append(b)
    return tuple(out_w), tuple(out_b)


def _check_data(X, net):
    """``X`` finite real 2-D with ``net.d`` columns (zero rows allowed); ``net`` a DeepNetwork."""
    if not isinstance(net, DeepNetwork):
        raise TypeError(f"`net` must be a DeepNetwork (from ntkcheck.init_deep_network), got {type(net).__name__}.")
    X = check_array(X, "X", ndim=2)
    if X.shape[1] != net.d:
        raise ValueError(
            f"`X` must have net.d={net.d} columns (the network's input dimension), got shape {X.shape}."
        )
    return X
