"""LK22 Algorithm 1: train a two-layer ReLU network through randomly masked subnetworks.

Mathematics (docs/theory.md §3; LK22 §3, Algorithm 1, eq. 9).  With the surrogate
``f_m(W, x) = (1/√m) Σ_r m_r a_r σ(<w_r, x>)`` (no ``1/ξ`` rescaling) and the surrogate loss
``L_m(W) = ½ ‖y − u_m(W)‖²``, whose gradient is

    ∂L_m/∂w_r = (1/√m) Σ_i (f_m(W, x_i) − y_i) m_r a_r x_i 1{<w_r, x_i> ≥ 0},

each global step k samples masks ``m_k^1..m_k^p``, starts every subnetwork from ``W_k``, runs
τ local gradient steps ``W_{k,t+1}^l = W_{k,t}^l − η ∇L_{m_k^l}(W_{k,t}^l)`` and aggregates
(LK22 eq. 9): ``w_{k+1,r} = w_{k,r}`` if ``N_{k,r} = Σ_l m^l_{k,r} = 0``, otherwise the mean
of ``w^l_{k,τ,r}`` over the subnetworks containing r.  Only the first layer is trained.

The tracked loss is the one the theorems bound (LK22 Thm 3/4): ``L_k = ‖y − ξ f(W_k, X)‖²``.

Implementation.  A local step touches only the neurons of its subnetwork: their rows of W are
gathered once per global step, and each step runs, per chunk of those neurons, one BLAS
product for the gradient ``D X`` and one for the new pre-activations ``W_c X^T`` with the
elementwise work fused into Numba kernels (:mod:`ntkcheck._train_kernels`); the cost scales
with ξ·m.  The chunks of all p subnetworks of a phase are independent tasks for a thread pool
(BLAS limited to one thread inside).  The chunking depends only on ``chunk_size``, and partial
sums are reduced in a fixed order, so results are bit-identical for any ``n_threads``.
``f(W_k, X)`` is updated incrementally from the chunks' partial sums (only neurons in two or
more subnetworks need one extra product) and recomputed exactly every 100 global steps.
``f(W_0, X)`` (for ``L_0``) takes its terms for the neurons of the first global step's
subnetworks from that step's first forward pass, so only the other neurons are computed before it.
The engine computes in ``dtype`` (float64, or float32 for the BLAS products and the weights).
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from ._config import NumericalWarning
from ._progress import DeferSigint, Progress
from ._rng import as_generator, seed_record
from ._train_kernels import (
    _backward_kernel,
    _forward_kernel,
    _max_row_dist_kernel,
    _pattern_diff_kernel,
    _row_dist_kernel,
)
from ._params import check_schedule
from ._validation import check_int, check_scalar
from .fired_train import train_fired
from .masks import _check_run_masks, _draw_step, theta as _theta
from .network import Network, check_training_inputs
from .trajectory import (
    DIVERGENCE_FACTOR,
    FULL_ITEMS,
    MASKED_ITEMS,
    RECORD_ITEMS,
    KernelStats,
    TrainResult,
    Trajectory,
    bools,
    check_record,
)

__all__ = ["train", "TrainResult", "Trajectory", "RECORD_ITEMS", "DIVERGENCE_FACTOR"]

_REFRESH = 100  # recompute f(W_k, X) exactly every this many global steps


def train(
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
    masks=None,
    rng=None,
    record="basic",
    progress: bool = False,
    n_threads: int | None = None,
    chunk_size: int | None = None,
    shift: float = 0.0,
    damping: float = 0.0,
    engine: str | None = None,
    lam_threshold: float | None = None,
    dtype=np.float64,
) -> TrainResult:
    """Train the first layer with LK22 Algorithm 1 (masked subnetworks, eq. 9 aggregation), or the
    shifted network by Gauss-Newton (DHSWZ22).

    Parameters
    ----------
    X : array_like of shape (n, d)
        Inputs (LK22 Assumption 1 asks for unit rows; any nonzero finite rows are accepted).
    y : array_like of shape (n,)
        Labels.
    net : Network
        Initial network from :func:`ntkcheck.init_network`; only ``W`` is trained.
    scheme : {"gd", "dropout", "multi-sample-dropout", "ist-bernoulli", "ist-categorical", \
"bernoulli", "categorical", "gauss-newton"}
        Training scheme (docs/theory.md §2, :mod:`ntkcheck.masks`). Its fixed parameters must agree
        with ``p``, ``xi`` and ``local_steps``. ``"gauss-newton"`` (docs/theory.md §9) is
        ``W ← W − η Jᵀ (H_b(W) + μI)^{-1} (f_b(W, X) − y)`` with ``μ = damping``: full network, no
        masks (p = 1, ξ = 1, τ = 1), run by a fired-pair ``engine``.
    eta : float
        Local step size η > 0.
    global_steps : int
        Number K >= 0 of global steps.
    local_steps : int, default 1
        Local steps τ >= 1 per global step.
    p : int, default 1
        Subnetworks per global step.
    xi : float, default 1.0
        Keep probability ξ ∈ (0, 1] of the Bernoulli schemes. The IST schemes fix ξ = 1/p:
        there the default (or None) means 1/p, and any other value must equal 1/p.
    masks : array_like of shape (global_steps, p, m), optional
        0/1 masks to use instead of sampling (replay). They must fit the scheme
        (categorical: a partition of the neurons; ``"gd"``: all ones).
    rng : None, int, SeedSequence or Generator
        Randomness of the masks; global step k draws from the k-th stream of ``rng.spawn``
        (:func:`ntkcheck.sample_masks` with ``steps=K`` returns the same masks).
    record : {"loss", "basic", "standard", "full", "certified"} or iterable of str, default "basic"
        Optional items on top of the always-recorded cheap ones: ``"loss"`` none,
        ``"basic"`` ``("patterns",)`` (n·m bytes), ``"standard"`` also ``"lam_min_full"``,
        ``"full"`` also ``"lam_min_masked"``, ``"certified"`` ``"patterns"`` and the certificates
        ``"lam_certified_full"``, ``"lam_certified_masked"`` instead of the eigenvalues (the presets
        of ``ntkcheck._params.RECORD_PRESETS``); or an explicit subset of :data:`RECORD_ITEMS`.
    progress : bool, default False
        Report progress on stderr.
    n_threads : int, optional
        Worker threads (default: the CPUs available). Results do not depend on it.
    chunk_size : int, optional
        Neurons per task (default from n). Fixes the summation order: runs agree bit for bit
        for equal ``chunk_size``.
    shift : float, default 0.0
        Threshold ``b`` of the shifted ReLU ``σ_b(z) = max(z − b, 0)`` (DHSWZ22; docs/theory.md §9),
        for every scheme: the network trained is ``f_b(W, x) = m^{-1/2} Σ_r a_r σ_b(<w_r, x>)`` and
        a neuron fires on ``x_i`` when ``<w_r, x_i> >= b``. 0 is the ReLU, bit-identical to no shift.
    damping : float, default 0.0
        Damping ``μ >= 0`` of ``"gauss-newton"`` (only that scheme takes it).  With μ = 0 a singular
        system ``H_b(W)`` is an error at the first iteration (a ValueError naming the points no neuron
        fires on, if any) and stops a run later on (``status="singular"``); pass μ > 0 then.
    engine : {"sparse", "dense"}, optional
        How ``"gauss-newton"`` (default ``"sparse"``) or full-network ``"gd"`` (default: Algorithm 1's
        engine) is run on the fired pairs ``(i, r ∈ S_i)``: ``"sparse"`` touches only the fired pairs
        and the pairs whose status can change by the margin rule (:class:`ntkcheck.fired.SparseFiredEngine`,
        sublinear in m per iteration after one O(m n d) initialisation); ``"dense"`` recomputes all
        ``m n`` inner products (:class:`ntkcheck.fired.DenseFiredEngine`, the reference).  Both record the
        firing diagnostics of :class:`Trajectory` (``fired_*``, ``union_size``, ``status_changes``,
        ``pairs_rechecked``, ``step_seconds``).
    lam_threshold : float, optional
        Threshold ``t`` of the recorded certificates ``λ_min > t`` (default ``λ0/2`` of the data's
        H∞, computed once; with a shift b the limit of ``H_b(W_0)``, ``ntk_infinite(X, shift=b/κ)``).
        Only used when a ``lam_certified_*`` item is recorded.
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
        Precision of the weights and of the products of Algorithm 1's engine (``X W_cᵀ``, the
        gradient ``D X``).  Output sums, residuals and the recorded losses stay float64.  With
        float32 the BLAS work is single precision and the result is that of a float32
        computation: an activation ``1{<w_r, x_i> >= b}`` within about 1e-7 of its threshold may
        differ, and the dynamics carry such differences along.  On stable runs the losses agree
        with float64 to about 1e-4 relative (tested: within 5e-4 over 50 global steps, and
        ``‖W_32 − W_64‖_F ≤ 10⁻² ‖W_64 − W_0‖_F``); a step size at the edge of stability (a loss
        that spikes and recovers) amplifies them, as in any float32 implementation.
        ``TrainResult.W`` has this dtype.  Fired-pair engines are float64 only.

    Returns
    -------
    TrainResult
        ``status`` is ``"completed"``, ``"diverged"`` (non-finite loss or weights, or a loss above
        :data:`DIVERGENCE_FACTOR` times ``max(L_0, ‖y‖²)``; the run stops after recording that
        global step and a :class:`~ntkcheck.NumericalWarning` is issued), ``"interrupted"``
        (KeyboardInterrupt; the global steps completed so far) or ``"singular"`` (Gauss-Newton
        without damping met a singular ``H_b(W_t)`` after the first iteration; warned, the steps
        so far are returned).

    Raises
    ------
    TypeError, ValueError
        Bad input, detected before any work (the message names the parameter).

    Notes
    -----
    Algorithm 1 and eq. (9) of Liao & Kyrillidis (2022); identities checked in the tests are
    those of docs/theory.md §5.

    Examples
    --------
    >>> from ntkcheck import init_network
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((8, 3)); X /= np.linalg.norm(X, axis=1, keepdims=True)
    >>> net = init_network(3, 64, rng=1)
    >>> res = train(X, np.sign(X[:, 0]), net, scheme="ist-categorical", p=2, eta=0.5,
    ...             global_steps=20, local_steps=2, rng=2)
    >>> res.status, res.trajectory.loss.shape, bool(res.trajectory.loss[-1] < res.trajectory.loss[0])
    ('completed', (21,), True)
    """
    X, y, W0, a = check_training_inputs(X, y, net)
    n, d = X.shape
    m = W0.shape[0]
    shift = float(check_scalar(shift, "shift", numbers.Real))
    dtype = _check_dtype(dtype)
    if scheme == "gauss-newton" or engine is not None:
        if dtype != np.float64:
            raise ValueError(f"`dtype` float32 is an option of Algorithm 1's engine; scheme={scheme!r} with "
                             f"engine={engine!r} runs in float64, got dtype={dtype.name!r}.")
        return train_fired(X, y, net, W0, a, scheme=scheme, eta=eta, global_steps=global_steps,
                            local_steps=local_steps, p=p, xi=xi, masks=masks, record=record, progress=progress,
                            shift=shift, damping=damping, engine=engine, lam_threshold=lam_threshold)
    if damping != 0.0:
        raise ValueError(f"`damping` is the mu of scheme='gauss-newton' only, got damping={damping!r} with "
                         f"scheme={scheme!r}.")
    eta, K, tau, p, kind, xi = check_schedule(scheme=scheme, eta=eta, global_steps=global_steps,
                                              local_steps=local_steps, p=p, xi=xi)
    if masks is not None:
        masks = _check_run_masks(masks, K, p, m, kind, scheme)
    items = check_record(record)
    if n_threads is None:
        n_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    n_threads = check_int(n_threads, "n_threads", min_val=1)
    # a chunk larger than the width is one chunk of all neurons (never allocated beyond m)
    chunk = _default_chunk(n) if chunk_size is None else min(check_int(chunk_size, "chunk_size", min_val=1), m)
    progress = bool(progress)
    gen = as_generator(rng) if masks is None else None
    seed = seed_record(rng) if masks is None else None
    th = _theta(kind, xi, p)
    config = dict(
        scheme=scheme, kind=kind, eta=eta, global_steps=K, local_steps=tau, p=p, xi=xi, theta=th,
        record=list(items), chunk_size=chunk, n=n, d=d, m=m, kappa=float(net.kappa), shift=shift,
        dtype=dtype.name, init_seed=net.seed, mask_seed=seed,
        masks=None if masks is None else "given, sha256=" + hashlib.sha256(np.packbits(masks)).hexdigest(),
        data_sha256=hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest(),
    )

    # float64: the arrays themselves (no copy, bit-identical); float32: rounded copies
    Xc, W0c = X.astype(dtype, copy=False), W0.astype(dtype, copy=False)
    eng = _Engine(Xc, y, a, W0c, eta, chunk, n_threads, "patterns" in items, shift)
    rec = _Recorder(K, tau, p, n, m, items)
    W = W0c.copy()
    status, message = "completed", f"completed {K} global steps"
    stats = KernelStats(X, shift, items, lam_threshold, xi, float(net.kappa))
    config["lam_threshold"] = stats.t
    bar = Progress(K, "train", enabled=progress)
    try:
        with threadpool_limits(limits=1, user_api="blas"), np.errstate(all="ignore"):
            def draw(k):
                if masks is not None:
                    return masks[k]
                return np.ones((1, m), dtype=bool) if scheme == "gd" else _draw_step(gen.spawn(1)[0], m, p, kind, xi)

            # f(W_0, X) for L_0: the neurons of the first global step's subnetworks get their forward
            # pass in that step anyway, so only the others are computed here (no duplicated work)
            if K == 0:
                Sf = eng.forward_rows(W, np.arange(m), init=True)
                rec.start(y, xi * Sf / eng.sqrt_m, eng, stats.full(W, m))
            else:
                M0 = draw(0)
                idle = np.flatnonzero(~M0.any(axis=0))
                Sf_idle = eng.forward_rows(W[idle], idle, init=True)
            for k in range(K):
                Mk = M0 if k == 0 else draw(k)
                out = eng.global_step(W, Mk, tau, stats.masked if stats.masked_items else None, initial=k == 0)
                if k == 0:
                    Sf = Sf_idle + out["active_sum"]  # f(W_0, X)·√m, all neurons
                    rec.start(y, xi * Sf / eng.sqrt_m, eng, stats.full(W, m))
                    loss_scale = max(float(rec.loss[0]), float(y @ y), np.finfo(float).tiny)
                Sf_new = Sf + out["dS"]
                with DeferSigint():
                    W[out["gidx"]] = out["rows"]
                    eng.commit(out)
                    Sf = Sf_new
                    rec.step(k, out, y, xi * Sf / eng.sqrt_m, eng)
                if (not out["finite"] or not np.isfinite(rec.loss[k + 1])
                        or rec.loss[k + 1] > DIVERGENCE_FACTOR * loss_scale):
                    status = "diverged"
                    why = ("became non-finite" if not out["finite"] or not np.isfinite(rec.loss[k + 1]) else
                           f"exceeded {DIVERGENCE_FACTOR:g} x max(L_0, ||y||^2) = {DIVERGENCE_FACTOR * loss_scale:.3g}")
                    message = (
                        f"training diverged at global step {k + 1}: the loss or the weights {why} "
                        f"(L={rec.loss[k + 1]!r}); eta={eta!r} is probably too large. "
                        f"The trajectory up to and including that step is returned."
                    )
                    warnings.warn(message, NumericalWarning, stacklevel=2)
                    break
                rec.full_stats(k + 1, stats.full(W, m))
                if (k + 1) % _REFRESH == 0 and k + 1 < K:
                    Sf = eng.forward_rows(W, np.arange(m))
                bar.update(k + 1, loss=float(rec.loss[k + 1]))
    except KeyboardInterrupt:
        status = "interrupted"
        message = f"interrupted by the user after {rec.K} of {K} global steps; the partial run is returned."
    finally:
        eng.close()
        bar.close(message if status != "completed" else None)
    config["steps_completed"] = rec.K
    W.setflags(write=False)
    return TrainResult(W=W, network=net, seed=seed, config=config, trajectory=rec.trajectory(xi, th, stats.t),
                       status=status, message=message)


# ----------------------------------------------------------------------------- engine


class _Engine:
    """Chunked, thread-parallel forward/backward passes over the active neurons."""

    def __init__(self, X, y, a, W0, eta, chunk, n_threads, patterns, shift):
        self.X, self.XT, self.y, self.a, self.W0 = X, X.T, y, a, W0
        self.dtype = X.dtype
        self.shift = shift
        self.n, self.d = X.shape
        self.m = a.shape[0]
        self.sqrt_m = math.sqrt(self.m)
        self.lr = eta / self.sqrt_m
        self.chunk = chunk
        self.patterns = patterns
        self.A0T = np.empty((self.m, self.n), dtype=np.uint8) if patterns else None
        self.diff = np.zeros(self.m, dtype=np.int64)  # committed per-neuron pattern changes
        self.diff_new = np.zeros(self.m, dtype=np.int64)  # scratch, valid on updated neurons
        self.mv = np.zeros(self.m)  # committed ‖w_r(k) − w_r(0)‖
        self.pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None
        self.tls = threading.local()

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _bufs(self):
        t = self.tls
        if not hasattr(t, "Z"):
            t.Z = np.empty((self.chunk, self.n), dtype=self.dtype)
            t.G = np.empty((self.chunk, self.d), dtype=self.dtype)
            t.act = np.empty((self.chunk, self.n), dtype=np.uint8)
        return t

    def run(self, fn, tasks):
        """Run independent tasks (serially, or on the pool); results in task order."""
        if self.pool is None or len(tasks) <= 1:
            return [fn(*t) for t in tasks]
        futures = [self.pool.submit(_quiet, fn, t) for t in tasks]
        return [f.result() for f in futures]

    def _ranges(self, count):
        return [(ci, s, min(s + self.chunk, count)) for ci, s in enumerate(range(0, count, self.chunk))]

    def forward_rows(self, Wr, gidx, *, init=False, count_diff=False):
        """``Σ_j a_{g_j} σ(X w_j)`` over the rows of ``Wr`` (global indices ``gidx``); with ``init``
        their rows of the initial activation patterns are filled."""
        ranges = self._ranges(Wr.shape[0])
        parts = np.empty((len(ranges), self.n))
        ar = self.a[gidx]
        ones = np.ones(len(gidx))

        def task(ci, s, e):
            t = self._bufs()
            Z = t.Z[: e - s]
            np.matmul(Wr[s:e], self.XT, out=Z)
            act = t.act[: e - s]
            _forward_kernel(Z, ar[s:e], ones, False, parts[ci], parts[ci], act, self.shift)
            if init and self.patterns:
                self.A0T[gidx[s:e]] = act
            if count_diff:
                _pattern_diff_kernel(act, self.A0T, gidx[s:e], ones[s:e], self.diff_new)

        self.run(task, ranges)
        return parts.sum(axis=0)

    def global_step(self, W, Mk, tau, masked_fn, initial=False):
        """One global step from ``W`` (not modified); returns the new rows and all records.

        ``out["active_sum"]`` is ``Σ_r a_r σ(X w_r)`` over the neurons of the step's subnetworks at
        ``W`` (each once); with ``initial`` their initial activation patterns are also filled.
        """
        p, m = Mk.shape
        n, y = self.n, self.y
        N = Mk.sum(axis=0, dtype=np.int64)
        first = np.argmax(Mk, axis=0)
        subs = []
        for l in range(p):
            idx = np.flatnonzero(Mk[l])
            subs.append(dict(
                idx=idx, W=W[idx], a=self.a[idx], c_old=(first[idx] == l).astype(np.float64),
                c_new=(N[idx] == 1).astype(np.float64), act=np.empty((idx.size, n), dtype=np.uint8),
                ranges=self._ranges(idx.size),
            ))
        nch = max([len(s["ranges"]) for s in subs] + [1])
        upart = np.empty((p, nch, n))
        cold = np.empty((p, nch, n))
        cnew = np.empty((p, nch, n))
        tasks = [(l, ci, s, e) for l, sub in enumerate(subs) for ci, s, e in sub["ranges"]]
        res = np.empty((p, n))
        lr = self.lr

        def f0(l, ci, s, e):
            sub = subs[l]
            Z = self._bufs().Z[: e - s]
            np.matmul(sub["W"][s:e], self.XT, out=Z)
            _forward_kernel(Z, sub["a"][s:e], sub["c_old"][s:e], True, upart[l, ci], cold[l, ci], sub["act"][s:e],
                            self.shift)

        def bf(l, ci, s, e, final):
            sub, t = subs[l], self._bufs()
            c = e - s
            Z, G, act = t.Z[:c], t.G[:c], sub["act"][s:e]
            _backward_kernel(act, sub["a"][s:e], res[l], Z)
            np.matmul(Z, self.X, out=G)
            G *= lr
            Wc = sub["W"][s:e]
            Wc -= G
            move = _max_row_dist_kernel(Wc, W, sub["idx"][s:e])
            np.matmul(Wc, self.XT, out=Z)
            _forward_kernel(Z, sub["a"][s:e], sub["c_new"][s:e], final, upart[l, ci], cnew[l, ci], act, self.shift)
            if final and self.patterns:
                _pattern_diff_kernel(act, self.A0T, sub["idx"][s:e], sub["c_new"][s:e], self.diff_new)
            return move

        def outputs():
            return np.stack([upart[l, : len(sub["ranges"])].sum(axis=0) for l, sub in enumerate(subs)]) / self.sqrt_m

        self.run(f0, tasks)
        if initial and self.patterns:
            for l, sub in enumerate(subs):
                own = sub["c_old"] == 1.0  # each neuron from the first subnetwork containing it
                self.A0T[sub["idx"][own]] = sub["act"][own]
        u = outputs()
        sampled = ((y - u) ** 2).sum(axis=1)
        local = np.empty((tau, p))
        lam = None
        move = 0.0
        for t in range(tau):
            if masked_fn is not None:
                vals = [masked_fn(sub["W"], m) for sub in subs]  # per subnetwork: one value per item
                if lam is None:
                    lam = np.full((len(vals[0]), tau, p), np.nan)
                lam[:, t] = np.array(vals).T
            np.subtract(u, y, out=res)
            final = t == tau - 1
            moves = self.run(lambda *a: bf(*a, final), tasks)
            move = max([move] + moves)
            u = outputs()
            local[t] = ((y - u) ** 2).sum(axis=1)

        # Aggregation, LK22 eq. (9).
        if N.max(initial=0) <= 1:
            gidx = np.concatenate([s["idx"] for s in subs])
            rows = np.concatenate([s["W"] for s in subs]) if gidx.size else np.empty((0, self.d), self.dtype)
            multi = np.zeros(gidx.size, dtype=bool)
        else:
            gidx = np.flatnonzero(N > 0)
            pos = np.full(m, -1, dtype=np.int64)
            pos[gidx] = np.arange(gidx.size)
            rows = np.zeros((gidx.size, self.d), dtype=self.dtype)
            for sub in subs:
                rows[pos[sub["idx"]]] += sub["W"]  # indices unique within one subnetwork
            cnt = N[gidx]
            rows /= cnt[:, None]
            multi = cnt >= 2
        active_sum = sum(cold[l, : len(sub["ranges"])].sum(axis=0) for l, sub in enumerate(subs))
        dS = -active_sum + sum(cnew[l, : len(sub["ranges"])].sum(axis=0) for l, sub in enumerate(subs))
        if multi.any():
            dS = dS + self.forward_rows(rows[multi], gidx[multi], count_diff=self.patterns)
        mv_new = np.empty(gidx.size)
        _row_dist_kernel(rows, self.W0, gidx, mv_new)
        return dict(
            gidx=gidx, rows=rows, mv_new=mv_new, dS=dS, active_sum=active_sum, sampled=sampled.mean(), local=local,
            move=move, lam=lam, finite=bool(np.isfinite(move) and np.isfinite(rows).all()),
            N=N, sizes=np.array([s["idx"].size for s in subs], dtype=np.float64),
        )

    def commit(self, out):
        """Make the step's per-neuron state current (called with SIGINT deferred)."""
        g = out["gidx"]
        self.mv[g] = out["mv_new"]
        if self.patterns:
            self.diff[g] = self.diff_new[g]


class _Recorder:
    """Preallocated trajectory arrays; ``K`` counts the committed global steps."""

    def __init__(self, K, tau, p, n, m, items):
        self.K, self.n, self.m, self.items = 0, n, m, items
        nan = np.nan
        self.loss = np.full(K + 1, nan)
        self.sampled = np.full(K, nan)
        self.local = np.full((K, tau, p), nan)
        self.max_mv = np.full(K + 1, nan)
        self.frob_mv = np.full(K + 1, nan)
        self.local_mv = np.full(K, nan)
        self.uncovered = np.full(K, nan)
        self.shared = np.full(K, nan)
        self.mean_cnt = np.full(K, nan)
        self.max_cnt = np.full(K, nan)
        self.sizes = np.full((K, p), nan)
        self.pattern = np.full(K + 1, nan) if "patterns" in items else None
        self.kfull = {i: np.full(K + 1, nan) for i in FULL_ITEMS if i in items}
        self.kmasked = {i: np.full((K, tau, p), nan) for i in MASKED_ITEMS if i in items}

    def _state(self, k, y, u, eng):
        self.loss[k] = float(((y - u) ** 2).sum())
        self.max_mv[k] = eng.mv.max()
        self.frob_mv[k] = math.sqrt(float(eng.mv @ eng.mv))
        if self.pattern is not None:
            self.pattern[k] = eng.diff.sum() / (self.n * self.m)

    def start(self, y, u, eng, full):
        self._state(0, y, u, eng)
        self.full_stats(0, full)

    def full_stats(self, k, values):
        for item, v in zip(self.kfull, values):
            self.kfull[item][k] = v

    def step(self, k, out, y, u, eng):
        self._state(k + 1, y, u, eng)
        N = out["N"]
        self.sampled[k] = out["sampled"]
        self.local[k] = out["local"]
        self.local_mv[k] = out["move"]
        self.uncovered[k] = np.count_nonzero(N == 0) / self.m
        self.shared[k] = np.count_nonzero(N >= 2) / self.m
        self.mean_cnt[k] = N.mean()
        self.max_cnt[k] = N.max()
        self.sizes[k] = out["sizes"]
        for j, item in enumerate(self.kmasked):
            self.kmasked[item][k] = out["lam"][j]
        self.K = k + 1

    def trajectory(self, xi, th, t) -> Trajectory:
        K = self.K

        def cut(a, extra=0):
            if a is None:
                return None
            a = np.array(a[: K + extra], dtype=np.float64)
            a.setflags(write=False)
            return a

        return Trajectory(
            loss=cut(self.loss, 1), sampled_loss=cut(self.sampled), local_loss=cut(self.local),
            max_movement=cut(self.max_mv, 1), frobenius_movement=cut(self.frob_mv, 1),
            local_movement=cut(self.local_mv), neurons_uncovered=cut(self.uncovered),
            neurons_shared=cut(self.shared), neurons_mean_count=cut(self.mean_cnt),
            neurons_max_count=cut(self.max_cnt), subnet_size=cut(self.sizes), theta=float(th),
            xi=float(xi), pattern_change=cut(self.pattern, 1), lam_min_full=cut(self.kfull.get("lam_min_full"), 1),
            lam_min_masked=cut(self.kmasked.get("lam_min_masked")),
            lam_certified_full=bools(cut(self.kfull.get("lam_certified_full"), 1)),
            lam_certified_masked=bools(cut(self.kmasked.get("lam_certified_masked"))),
            lam_threshold=t,
        )


# ----------------------------------------------------------------------------- helpers


def _quiet(fn, args):
    with np.errstate(all="ignore"):  # divergence is detected and reported by `train`
        return fn(*args)


def _check_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in ("float64", "float32"):
        raise ValueError(f"`dtype` must be numpy.float64 or numpy.float32, got dtype={dtype!r}.")
    return dt


def _default_chunk(n: int) -> int:
    """Neurons per task: a (chunk, n) float64 block of about 4 MiB (measured best at n=1000)."""
    return int(min(2048, max(32, (1 << 22) // (8 * n))))
