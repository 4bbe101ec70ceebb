"""Neural tangent kernels of the two-layer ReLU network, at finite and infinite width.

Model (docs/theory.md §1; Du et al. 2019 "DZPS19"; Liao & Kyrillidis 2022 "LK22"):
``f(W, x) = m^{-1/2} sum_r a_r relu(<w_r, x>)`` with only the first layer trained.

Kernels (docs/theory.md §4), with ``1_{ir} = 1{<w_r, x_i> >= b}`` (``b = shift``, 0 for ReLU):

* first-layer NTK, masked (LK22 Def. 1; DZPS19 for ``mask = 1``; DHSWZ22 for ``b != 0``)::

      H(W, mask)_ij = (1/m) <x_i, x_j> sum_r mask_r 1_{ir} 1_{jr}

* its infinite-width limit (w ~ N(0, I))::

      H_inf_ij = <x_i, x_j> P(<w, x_i> >= b, <w, x_j> >= b)
               = <x_i, x_j> (pi - phi_ij) / (2 pi)                      (b = 0)

  and, for ``b != 0``, the bivariate-normal upper-orthant probability evaluated with Owen's T
  (DHSWZ22), exact at correlations +-1;

* the output-layer kernel ``(1/m) sum_r relu(<w_r,x_i>) relu(<w_r,x_j>)`` and its limit
  ``|x_i| |x_j| (sin phi + (pi - phi) cos phi) / (2 pi)``;

* the firing fraction ``(1/m) sum_r 1_{ir}`` and its limit ``Phi(-b / |x_i|)`` (DHSWZ22
  sparsity, ``<= exp(-b^2/2)`` for unit rows).

The finite-width kernels stream over the neurons in chunks: memory is O(n^2 + n * chunk),
never O(n * m), so widths of 10^7 fit in a few hundred MB beyond ``W`` itself.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numba
import numpy as np
from threadpoolctl import threadpool_limits
from scipy.linalg.blas import dsyrk
from scipy.special import ndtr, owens_t

from ._config import DEFAULT_CHUNK_BYTES, FLOAT
from ._progress import Progress
from ._ntk_kernels import (
    _accumulate_counts_kernel,
    _angles_kernel,
    _mirror_upper_kernel,
    _pack_patterns_kernel,
    _prepare_chunk_kernel,
)
from ._rng import as_generator
from ._validation import check_float_dtype, check_int, check_mask, check_scalar, check_W, check_X

__all__ = [
    "ntk_finite",
    "ntk_at_init",
    "ntk_infinite",
    "ntk_output_finite",
    "ntk_output_infinite",
    "firing_fraction",
    "firing_fraction_infinite",
    "angles",
]

_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


def ntk_finite(X, W, *, mask=None, shift: float = 0.0, chunk: int | None = None,
               progress: bool = False, dtype=np.float64) -> np.ndarray:
    """Finite-width first-layer NTK ``H(W, mask)`` of the two-layer (shifted) ReLU network.

    ``H_ij = (1/m) <x_i, x_j> sum_r mask_r 1{<w_r, x_i> >= shift} 1{<w_r, x_j> >= shift}``
    (DZPS19 eq. for ``H(W)``; LK22 Def. 1 for the mask; DHSWZ22 for ``shift``).

    Parameters
    ----------
    X : array_like of shape (n, d)
        Inputs (rows ``x_i``); any nonzero norms; float32 accepted.
    W : array_like of shape (m, d)
        First-layer weights (rows ``w_r``); float32 or float64, converted chunk by chunk.
    mask : array_like of shape (m,), optional
        Neuron mask ``m_r`` in [0, 1] (0/1 or real valued, LK22 Def. 1). ``None`` means all ones.
    shift : float, default 0.0
        Activation threshold ``b`` of the shifted ReLU ``max(z - b, 0)``.
    chunk : int, optional
        Neurons per streamed chunk (memory about ``5 n chunk`` bytes for the pre-activations
        and patterns). Default: 16384 for n <= 1024, shrinking so that this stays near 80 MB.
    progress : bool, default False
        Report progress over the chunks on stderr (useful for widths of 10^6 and more).
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
        dtype of the result (computed in float64 either way).

    Returns
    -------
    H : ndarray of shape (n, n), float64
        Symmetric PSD.

    Raises
    ------
    ValueError, TypeError
        Bad shapes, non-finite values, zero rows of ``X``, mask outside [0, 1].

    Notes
    -----
    For a 0/1 mask the co-activation counts are exact integers computed by bit-packing the
    activation patterns and summing ``popcount(B_i & B_j)``; a real-valued mask uses a
    symmetric rank-k update (BLAS ``dsyrk``) of the masked patterns. ``X W^T`` is a BLAS GEMM.
    The 1/m normalisation uses ``m = W.shape[0]`` (the mask does not rescale).

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> W = np.array([[1.0, 1.0], [1.0, -1.0]])
    >>> ntk_finite(X, W)
    array([[1. , 0. ],
           [0. , 0.5]])
    """
    X = check_X(X)
    W = check_W(W, X.shape[1])
    mask, binary = check_mask(mask, W.shape[0])
    shift = check_scalar(shift, "shift")
    chunk = _chunk_size(chunk, X.shape[0], W.shape[0])
    dtype = check_float_dtype(dtype)
    counts = _coactivation_counts(
        X, lambda k: W[k * chunk : (k + 1) * chunk], W.shape[0], mask, binary, shift, chunk, progress
    )
    return _finish_first_layer(X, counts, W.shape[0]).astype(dtype, copy=False)


def ntk_at_init(X, m: int, *, kappa: float = 1.0, shift: float = 0.0, rng=None,
                chunk: int | None = None, progress: bool = False, dtype=np.float64) -> np.ndarray:
    """First-layer NTK ``H(0)`` at a random initialisation ``w_r ~ N(0, kappa^2 I)``, streamed.

    Same as ``ntk_finite(X, W0, shift=shift)`` for a Gaussian ``W0`` of ``m`` rows, but ``W0`` is
    drawn one chunk at a time and never held whole, so ``m = 10^7`` costs O(n^2 + n chunk)
    memory. Chunk ``c`` draws from its own spawned stream, so the result depends only on
    ``rng``, ``m``, ``chunk`` and ``n`` (through the default chunk), never on the thread count.

    Parameters
    ----------
    X : array_like of shape (n, d)
    m : int
        Width (number of neurons), >= 1.
    kappa : float, default 1.0
        Initialisation scale; ``H(0)`` depends on it only through ``shift / kappa``.
    shift : float, default 0.0
    rng : None, int, SeedSequence or Generator
    chunk : int, optional
        Neurons per streamed chunk (see :func:`ntk_finite`).
    progress : bool, default False
        Report progress over the chunks on stderr.
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
        dtype of the result (computed in float64 either way).

    Returns
    -------
    H : ndarray of shape (n, n)
    """
    X = check_X(X)
    m = check_int(m, "m", min_val=1)
    kappa = check_scalar(kappa, "kappa", min_val=0.0, closed="neither")
    shift = check_scalar(shift, "shift")
    chunk = _chunk_size(chunk, X.shape[0]) if chunk is None else _chunk_size(chunk, X.shape[0], m)
    dtype = check_float_dtype(dtype)
    rng = as_generator(rng)
    d = X.shape[1]
    streams = rng.spawn(-(-m // chunk))

    def gaussian_chunk(k):
        return kappa * streams[k].standard_normal((min(chunk, m - k * chunk), d))

    counts = _coactivation_counts(X, gaussian_chunk, m, None, True, shift, chunk, progress)
    return _finish_first_layer(X, counts, m).astype(dtype, copy=False)


def ntk_infinite(X, *, shift: float = 0.0, dtype=np.float64) -> np.ndarray:
    """Infinite-width first-layer NTK ``H_inf`` (w ~ N(0, I)), for any row norms.

    ``H_inf_ij = <x_i, x_j> P(<w, x_i> >= b, <w, x_j> >= b)``; for ``b = 0`` this is
    ``<x_i, x_j> (pi - phi_ij) / (2 pi)`` (DZPS19 §3; docs/theory.md §4) and its diagonal is exactly
    ``|x_i|^2 / 2``. For ``b != 0`` (shifted ReLU, DHSWZ22) the probability is the bivariate
    normal orthant ``Phi_2(-h, -k; rho)``, ``h = b/|x_i|``, ``k = b/|x_j|``, ``rho = cos phi_ij``,
    evaluated with Owen's T function (Owen 1956)::

        Phi_2(x, y; rho) = (Phi(x) + Phi(y))/2 - T(x, a_x) - T(y, a_y) - beta,
        a_x = (y - rho x) / (x sqrt(1 - rho^2)),  a_y = (x - rho y) / (y sqrt(1 - rho^2)),

    ``beta = 0`` if ``x y > 0`` else ``1/2``; with ``sqrt(1 - rho^2) = sin phi`` taken from the
    stable angle. Correlations +-1 use the exact limits ``Phi(-max(h, k))`` and
    ``max(0, Phi(-h) - Phi(k))``.

    Parameters
    ----------
    X : array_like of shape (n, d)
    shift : float, default 0.0
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
        dtype of the result (computed in float64 either way).

    Returns
    -------
    H : ndarray of shape (n, n), float64 unless ``dtype`` says otherwise

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> ntk_infinite(X)  # angle pi/4: <x1, x2> (pi - pi/4) / (2 pi) = 3/8
    array([[0.5  , 0.375],
           [0.375, 1.   ]])
    """
    X = check_X(X)
    shift = check_scalar(shift, "shift")
    dtype = check_float_dtype(dtype)
    G, norms, U, sq = _gram_parts(X)
    if shift == 0.0:
        H = _angle_matrix(G, norms, U, complement=True)
        H *= G
        H *= 1.0 / (2.0 * math.pi)
    else:
        phi = _angle_matrix(G, norms, U, complement=False)
        H = _orthant_probability(shift / norms, phi)
        H *= G
    np.fill_diagonal(H, _diag_value(sq, shift))
    return H.astype(dtype, copy=False)


def ntk_output_finite(X, W, *, mask=None, shift: float = 0.0, chunk: int | None = None) -> np.ndarray:
    """Finite-width output-layer (second-layer) kernel.

    ``K_ij = (1/m) sum_r mask_r relu_b(<w_r, x_i>) relu_b(<w_r, x_j>)``, ``relu_b(z) = max(z - b, 0)``
    (docs/theory.md §4): the kernel of the trained output weights, for comparison with libraries
    (e.g. neural-tangents) that train both layers, whose NTK is the sum of both kernels.

    Parameters
    ----------
    X : array_like of shape (n, d)
    W : array_like of shape (m, d)
    mask : array_like of shape (m,), optional
    shift : float, default 0.0
    chunk : int, optional
        Neurons per streamed chunk (see :func:`ntk_finite`).

    Returns
    -------
    K : ndarray of shape (n, n)
    """
    X = check_X(X)
    W = check_W(W, X.shape[1])
    mask, _ = check_mask(mask, W.shape[0])
    shift = check_scalar(shift, "shift")
    chunk = _chunk_size(chunk, X.shape[0]) if chunk is None else _chunk_size(chunk, X.shape[0], W.shape[0])
    n = X.shape[0]
    K = np.zeros((n, n), order="F")
    for start, Wc in _enumerate_chunks(W, chunk):
        S = X @ Wc.T
        S -= shift
        np.maximum(S, 0.0, out=S)
        if mask is not None:
            S *= np.sqrt(mask[start : start + Wc.shape[0]])
        K = dsyrk(1.0, S.T, beta=1.0, c=K, trans=1, lower=0, overwrite_c=1)
    K = np.triu(K)
    K = K + np.triu(K, 1).T
    K /= W.shape[0]
    return np.ascontiguousarray(K)


def ntk_output_infinite(X) -> np.ndarray:
    """Infinite-width output-layer kernel ``|x_i||x_j| (sin phi + (pi - phi) cos phi) / (2 pi)``.

    The arc-cosine kernel of degree 1 (Cho & Saul 2009) for w ~ N(0, I) (docs/theory.md §4), equal to
    ``E[relu(<w, x_i>) relu(<w, x_j>)]``; its diagonal is exactly ``|x_i|^2 / 2``.

    Parameters
    ----------
    X : array_like of shape (n, d)

    Returns
    -------
    K : ndarray of shape (n, n)
    """
    X = check_X(X)
    G, norms, U, sq = _gram_parts(X)
    phi = _angle_matrix(G, norms, U, complement=False)
    K = np.sin(phi) + (np.pi - phi) * np.cos(phi)
    K *= np.outer(norms, norms)
    K *= 1.0 / (2.0 * math.pi)
    np.fill_diagonal(K, 0.5 * sq)
    return K


def firing_fraction(X, W, *, shift: float = 0.0, chunk: int | None = None) -> np.ndarray:
    """Fraction of neurons firing on each input, ``(1/m) sum_r 1{<w_r, x_i> >= shift}``.

    DHSWZ22: with a shift ``b`` only ``O(m exp(-b^2/2))`` neurons fire per input.

    Parameters
    ----------
    X : array_like of shape (n, d)
    W : array_like of shape (m, d)
    shift : float, default 0.0
    chunk : int, optional
        Neurons per streamed chunk (see :func:`ntk_finite`).

    Returns
    -------
    ndarray of shape (n,)
    """
    X = check_X(X)
    W = check_W(W, X.shape[1])
    shift = check_scalar(shift, "shift")
    chunk = _chunk_size(chunk, X.shape[0]) if chunk is None else _chunk_size(chunk, X.shape[0], W.shape[0])
    total = np.zeros(X.shape[0])
    for _, Wc in _enumerate_chunks(W, chunk):
        total += np.count_nonzero(X @ Wc.T >= shift, axis=1)
    return total / W.shape[0]


def firing_fraction_infinite(X, *, shift: float = 0.0) -> np.ndarray:
    """Infinite-width firing fraction ``P(<w, x_i> >= b) = Phi(-b / |x_i|)``, w ~ N(0, I).

    For unit rows this is ``Phi(-b) <= exp(-b^2/2)`` (DHSWZ22; docs/theory.md §4).

    Parameters
    ----------
    X : array_like of shape (n, d)
    shift : float, default 0.0

    Returns
    -------
    ndarray of shape (n,)
    """
    X = check_X(X)
    shift = check_scalar(shift, "shift")
    return ndtr(-shift / np.linalg.norm(X, axis=1))


def angles(X) -> np.ndarray:
    """Pairwise angles ``phi_ij`` in [0, pi] between the rows of ``X``, computed stably.

    ``phi = 2 atan2(|u - v|, |u + v|)`` on unit vectors where ``|cos phi| > 0.9``, ``arccos`` of
    the Gram cosine elsewhere (docs/theory.md §4); exactly 0 on the diagonal.

    Parameters
    ----------
    X : array_like of shape (n, d)

    Returns
    -------
    ndarray of shape (n, n)
    """
    X = check_X(X)
    G, norms, U, _ = _gram_parts(X)
    return _angle_matrix(G, norms, U, complement=False)


# --------------------------------------------------------------------------- helpers


def _gram_parts(X: np.ndarray):
    """Gram matrix (BLAS), row norms and unit rows."""
    G = X @ X.T
    sq = np.einsum("ij,ij->i", X, X)
    norms = np.sqrt(sq)
    U = X / norms[:, None]
    return G, norms, U, sq


def _angle_matrix(G, norms, U, *, complement: bool) -> np.ndarray:
    out = np.empty_like(G)
    _angles_kernel(G, norms, U, complement, out)
    _mirror_upper_kernel(out)
    return out


def _diag_value(sq: np.ndarray, shift: float) -> np.ndarray:
    """``H_ii = |x_i|^2 P(<w, x_i> >= b) = |x_i|^2 Phi(-b/|x_i|)``; exactly |x_i|^2/2 at b = 0."""
    return 0.5 * sq if shift == 0.0 else sq * ndtr(-shift / np.sqrt(sq))


def _orthant_probability(h: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``P(Z1 >= h_i, Z2 >= h_j; rho = cos phi_ij)`` for all pairs, via Owen's T.

    Row blocks of the upper triangle keep temporaries small and are shared among
    ``numba.get_num_threads()`` threads (SciPy's ufuncs release the GIL); blocks write
    disjoint parts of the symmetric result, so the values do not depend on the schedule.
    """
    n = h.shape[0]
    P = np.empty((n, n))
    block = max(1, (1 << 20) // max(n, 1))

    def fill(i0):
        i1 = min(n, i0 + block)
        ph = phi[i0:i1, i0:]
        hi = np.broadcast_to(h[i0:i1, None], ph.shape)
        hj = np.broadcast_to(h[None, i0:], ph.shape)
        vals = _orthant_pairs(hi, hj, ph)
        P[i0:i1, i0:] = vals
        P[i0:, i0:i1] = vals.T

    starts = range(0, n, block)
    threads = min(numba.get_num_threads(), len(starts))
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fill, starts))
    else:
        for i0 in starts:
            fill(i0)
    return P


def _orthant_pairs(h, k, phi):
    """Elementwise upper-orthant probability ``Phi_2(-h, -k; cos phi)`` (h, k nonzero).

    Equal thresholds (rows of equal norm, e.g. unit data) need one Owen's T per pair:
    ``Phi(-h) - 2 T(h, tan(phi/2))`` (docs/theory.md §4), since then ``a_x = a_y = tan(phi/2)``.
    Thresholds equal up to rounding (|h - k| <= 1e-13 |h|, as for normalised rows) take
    that route with their mean: the difference is below the rounding of the inputs.
    """
    same = np.abs(h - k) <= 1e-13 * np.abs(h)
    if same.all():
        hm = 0.5 * (h + k)
        out = ndtr(-hm) - 2.0 * owens_t(hm, np.tan(0.5 * phi))
        return _orthant_limits(out, h, k, phi)
    x, y = -h, -k
    rho = np.cos(phi)
    s = np.sin(phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        ax = (y - rho * x) / (x * s)
        ay = (x - rho * y) / (y * s)
        out = 0.5 * (ndtr(x) + ndtr(y)) - owens_t(x, ax) - owens_t(y, ay)
    out -= np.where(x * y > 0, 0.0, 0.5)
    return _orthant_limits(out, h, k, phi)


def _orthant_limits(out, h, k, phi):
    """Exact limits at rho = +1 (phi = 0) and rho = -1 (phi = pi); clip rounding to [0, 1]."""
    par = phi == 0.0
    if par.any():
        out[par] = ndtr(-np.maximum(h[par], k[par]))
    anti = phi == np.pi
    if anti.any():
        out[anti] = np.maximum(0.0, ndtr(-h[anti]) - ndtr(k[anti]))
    return np.clip(out, 0.0, 1.0)


def _chunk_size(chunk, n: int, m: int | None = None) -> int:
    """Validate ``chunk`` or pick the default.

    The default keeps one chunk's float32 pre-activations near ``DEFAULT_CHUNK_BYTES`` (16384
    neurons for n <= 1024) and, for small widths, splits ``m`` so every thread gets a chunk.
    """
    if chunk is None:
        c = DEFAULT_CHUNK_BYTES // (4 * max(n, 1))
        c = min(16384, max(512, c // 64 * 64))
        if m is not None:
            per_thread = -(-m // numba.get_num_threads())
            c = min(c, max(512, -(-per_thread // 64) * 64))
        return int(c)
    chunk = check_int(chunk, "chunk", min_val=64)
    # a chunk larger than the width is one chunk of all neurons: never allocate beyond it
    return chunk if m is None else min(chunk, max(64, m))


def _enumerate_chunks(W: np.ndarray, chunk: int):
    """Yield ``(start, W[start:start+chunk])`` as C-contiguous float64 (one chunk copied at a time)."""
    for start in range(0, W.shape[0], chunk):
        yield start, np.ascontiguousarray(W[start : start + chunk], dtype=FLOAT)


#: float32 pre-activations are used only when every nonzero |x|, |w| lies in this range, so no
#: product or partial sum can overflow or underflow in float32 (the rounding bound then holds).
_F32_RANGE = (1e-11, 1e15)


#: Below this many rows the float32 GEMM saves less than converting W to float32 costs, so
#: the pre-activations are formed in float64 directly (benchmarks/bench_ntk.py: at n = 200
#: float64 wins at d = 784, at n = 400 float32 wins at d = 64 and 784).
_F32_MIN_ROWS = 300


def _f32_ok(max_abs: float, min_nonzero: float) -> bool:
    return max_abs <= _F32_RANGE[1] and (min_nonzero >= _F32_RANGE[0] or not np.isfinite(min_nonzero))


def _coactivation_counts(X, weight_chunk, m, mask, binary, shift, chunk, progress=False) -> np.ndarray:
    """Upper triangle of ``C_ij = sum_r mask_r 1_{ir} 1_{jr}`` streamed over neuron chunks.

    ``weight_chunk(k)`` returns the weights of neurons ``k*chunk ... (k+1)*chunk - 1``.

    0/1 masks: each worker thread takes every other chunk and does, for it, a single-threaded
    GEMM ``X W_c^T`` — in float32 when n >= ``_F32_MIN_ROWS`` (300) (half the memory traffic and
    twice the BLAS rate of float64), in float64 otherwise — the
    bit packing and the popcount accumulation into its own count matrix; the integer counts
    are summed at the end (exact, so independent of the thread count and schedule).  Every
    pre-activation within its rigorous float32 rounding bound ``gamma_{d+2} |x_i| |w_r|`` of
    the threshold is recomputed in float64 inside the packing kernel, so each activation bit
    equals the float64 one; if the data's range could overflow or underflow float32, the chunk
    uses a float64 GEMM instead.  BLAS runs single-threaded meanwhile (threadpoolctl), since
    spinning BLAS threads would compete with the workers for the cores.

    Real-valued masks use float64 patterns and BLAS ``dsyrk`` (multithreaded).
    """
    n, d = X.shape
    if not binary:
        C = np.zeros((n, n), order="F")
        for k in range(-(-m // chunk)):
            Wc = weight_chunk(k)
            A = (X @ np.ascontiguousarray(Wc, dtype=FLOAT).T >= shift).astype(FLOAT)
            A *= np.sqrt(mask[k * chunk : k * chunk + Wc.shape[0]])
            C = dsyrk(1.0, A.T, beta=1.0, c=C, trans=1, lower=0, overwrite_c=1)
        return np.ascontiguousarray(C)

    xnorm = np.sqrt(np.einsum("ij,ij->i", X, X))
    absX = np.abs(X)
    x_ok = _f32_ok(float(absX.max()), float(np.min(absX, where=absX > 0, initial=np.inf)))
    ud = (d + 2) * 2.0**-24
    ctx = SimpleNamespace(  # read-only inputs shared by the count workers
        X=X,
        X32=X.astype(np.float32),
        xtol32=1.01 * ud / (1.0 - ud) * xnorm,  # gamma_{d+2}, with 1% slack, times |x_i|
        use_f32=x_ok and n >= _F32_MIN_ROWS,
        shift=shift,
        mask=mask,
        chunk=chunk,
    )
    n_chunks = -(-m // chunk)
    n_workers = max(1, min(numba.get_num_threads(), n_chunks))
    workers = [_CountWorker(ctx, count_dtype=np.uint32 if m < 2**32 else np.uint64)
               for _ in range(n_workers)]
    lock = threading.Lock()
    claimed = iter(range(n_chunks))
    bar = Progress(n_chunks, desc=f"ntk n={n} m={m}", enabled=progress)
    done = [0]

    def run(worker):
        while True:
            with lock:  # hand out chunk indices; the chunk order is irrelevant to the sum
                k = next(claimed, None)
            if k is None:
                return
            worker.add(k * chunk, weight_chunk(k))
            with lock:
                done[0] += 1
                bar.update(done[0])

    with threadpool_limits(limits=1, user_api="blas"):
        if n_workers == 1:
            run(workers[0])
        else:
            with ThreadPoolExecutor(n_workers) as pool:
                for fut in [pool.submit(run, w) for w in workers]:
                    fut.result()
    bar.close()
    C = workers[0].C[:n, :n].astype(FLOAT)
    for w in workers[1:]:
        C += w.C[:n, :n]
    return C


#: Bytes of pre-activations per GEMM + packing step inside a chunk: the block written by the
#: GEMM stays in the L2 cache until the packing kernel reads it (512 float32 neurons at
#: n = 1000, 1280 float64 neurons at n = 200).
_SUB_CHUNK_BYTES = 1 << 21


def _sub_chunk(n: int, itemsize: int, chunk: int) -> int:
    sub = _SUB_CHUNK_BYTES // (itemsize * max(n, 1)) // 64 * 64
    return int(min(max(sub, 512), max(chunk, 64)))


class _CountWorker:
    """Per-thread buffers and count matrix of :func:`_coactivation_counts`."""

    def __init__(self, ctx: SimpleNamespace, count_dtype):
        n, d = ctx.X.shape
        self.ctx = ctx
        n4 = -(-n // 4) * 4  # the count kernel works on blocks of 4 rows; pad rows stay 0
        self.C = np.zeros((n4, n4), dtype=count_dtype)
        self.sub = _sub_chunk(n, 4 if ctx.use_f32 else 8, ctx.chunk)
        self.W32 = np.empty((self.sub, d), dtype=np.float32)
        self.wnorm = np.zeros(self.sub)  # filled on the float32 path; multiplied by xtol = 0 otherwise
        self.P32 = np.empty((n, self.sub), dtype=np.float32)
        self.P64 = np.empty((n, self.sub))
        self.B = np.zeros((n4, (ctx.chunk + 63) // 64), dtype=np.uint64)
        self.xtol0 = np.zeros(n)

    def add(self, start: int, Wc: np.ndarray) -> None:
        """Accumulate the co-activation counts of the neurons ``Wc`` (global offset ``start``)."""
        ctx = self.ctx
        n = ctx.X.shape[0]
        c = Wc.shape[0]
        nw = (c + 63) // 64
        words = _mask_words(None if ctx.mask is None else ctx.mask[start : start + c], nw)
        B = self.B if nw == self.B.shape[1] else np.zeros((self.B.shape[0], nw), dtype=np.uint64)
        sub = self.sub
        for s0 in range(0, c, sub):
            sc = min(sub, c - s0)
            Ws = Wc[s0 : s0 + sc]
            if ctx.use_f32:
                mx, mn = _prepare_chunk_kernel(Ws, self.W32[:sc], self.wnorm[:sc])
            if ctx.use_f32 and _f32_ok(mx, mn):
                P = self.P32 if sc == sub else np.empty((n, sc), dtype=np.float32)
                np.matmul(ctx.X32, self.W32[:sc].T, out=P)
                xtol = ctx.xtol32
            else:
                P = self.P64 if sc == sub else np.empty((n, sc))
                np.matmul(ctx.X, np.ascontiguousarray(Ws, dtype=FLOAT).T, out=P)
                xtol = self.xtol0
            w0, w1 = s0 // 64, (s0 + sc + 63) // 64
            _pack_patterns_kernel(P, ctx.shift, ctx.X, Ws, xtol, self.wnorm, words[w0:w1], B[:, w0:w1])
        _accumulate_counts_kernel(B, self.C)


def _mask_words(mask_chunk, nw: int) -> np.ndarray:
    """Pack a 0/1 mask chunk into uint64 words (bit r % 64 of word r // 64); all ones if None."""
    if mask_chunk is None:
        return np.full(nw, _ALL_ONES, dtype=np.uint64)
    bits = np.zeros(nw * 64, dtype=np.uint8)
    bits[: mask_chunk.shape[0]] = mask_chunk != 0
    return np.packbits(bits.reshape(nw, 64), axis=1, bitorder="little").view(np.uint64).ravel()


def _finish_first_layer(X: np.ndarray, counts: np.ndarray, m: int) -> np.ndarray:
    """``H = (X X^T) * C / m`` from the upper triangle of ``C``; symmetric output."""
    H = np.triu(counts)
    H += np.triu(H, 1).T
    H *= X @ X.T
    H /= m
    return H
