"""Time per global step of :func:`ntkcheck.train` against a hand-optimised PyTorch CPU Algorithm 1.

The baseline is LK22 Algorithm 1 (docs/theory.md §3) written for PyTorch's eager CPU backend the way
one would write it to be fast, with manual gradients (no autograd) under ``torch.inference_mode()``:

- one fused forward pass per global step over all m neurons, in cache-sized chunks of neurons:
  ``Z_c = W_c Xᵀ``, the activation pattern ``1{Z ≥ 0}`` (kept as a bool (m, n) tensor) and one GEMM
  ``σ(Z_c)ᵀ C_c`` whose p + 1 columns ``C = [a ⊙ m^1, …, a ⊙ m^p, ξ a] / √m`` give every subnetwork's
  starting output ``u_{m^l}(W_k)`` and the tracked ``ξ f(W_k, X)`` (the loss ``‖y − ξ f(W_k, X)‖²``
  costs one forward of the m neurons per global step, shared with the subnetworks' first forward);
- per subnetwork l, the active rows of W and of the pattern gathered with ``index_select``, then τ
  local steps, chunk by chunk: ``G_c = 1{Z_c ≥ 0} (res ⊙ X)`` (one (c, n) x (n, d) GEMM; equal to
  ``((act ⊙ a) ⊙ res)ᵀ X`` since ``D_ri = a_r res_i act_ri``), ``W_c −= η (a_c/√m) ⊙ G_c``, and (except
  after the last step) the new ``Z_c``, pattern and partial output ``σ(Z_c)ᵀ a_c/√m``;
- aggregation by LK22 eq. (9): ``index_add_`` of the local rows, divided by ``N_r``; rows with
  ``N_r = 0`` unchanged.  Preallocated buffers, in-place ops, ``out=`` everywhere.

So per global step torch does ``m + Σ_l k_l (2τ − 1)`` row-products ``w·X`` (k_l active neurons in
subnetwork l), against ``Σ_l k_l (2τ + 1) + #{N_r ≥ 2}`` for ``train`` (which also records the
sampled and local losses and the movements); ``train`` wins on work only where ``pξ < 1``.

Verification before timing: with replayed masks both implementations run a few global steps on a
small problem and on one benchmark cell; the final W and the loss trajectory must agree (float64:
rtol 1e-9); float32 torch is reported as its largest relative deviation from float64 ``train``.

Timing: for each cell, ``train(record="loss", n_threads=2)`` (float64) and torch float64 / float32
(``torch.set_num_threads(2)``) replay the same masks.  A torch step is timed by itself; a ``train`` step
is the time between the starts of consecutive global steps of one run (``_Engine.global_step`` is
wrapped by a timer, so the per-step bookkeeping of ``train`` is included and its fixed cost is not).
The first global step is a warm-up and not counted.  Printed: median [min-max] seconds per global
step, and the ratios torch/ntkcheck of the medians (> 1: ntkcheck is faster) against the targets
(>= 1.5 vs torch float64; >= 1.2 of ``train(dtype=np.float32)`` vs torch float32).  Then the fixed
cost of ``train`` at m = 65536: the time from the call to the start of the first global step (target
<= 50 ms), ``global_steps=0`` (which needs the forward pass of all m neurons for L_0) and
``global_steps=1`` minus the median step, beside torch's (tensor conversion, buffers, one forward).

torch's OpenMP threads wait passively (``OMP_WAIT_POLICY=PASSIVE`` unless the variable is set): with
the default spin-waiting a torch step took 2-15x longer and varied 10x from step to step whenever
another process used one of the two cores, while passive waiting cost nothing measurable on an idle
machine (``train``'s thread pool has no such barriers).  Set ``OMP_WAIT_POLICY=ACTIVE`` to compare.

torch is optional and not a dependency of ntkcheck: without it the script prints a line and exits 0.

Usage::

    python benchmarks/bench_train_torch.py                  # the five cells, n=1000, d=64, m=65536
    python benchmarks/bench_train_torch.py --quick          # m=4096, 3 timed steps, seconds
    python benchmarks/bench_train_torch.py --cells bern-p4-xi0.25,cat-p4
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

import numpy as np

if __name__ == "__main__":  # read once, when torch loads its OpenMP runtime (see the module docstring)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import ntkcheck  # noqa: E402
from ntkcheck import init_network, sample_masks, train  # noqa: E402

try:  # optional: the benchmark is skipped without it
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

#: Neurons per chunk of the torch passes: a (chunk, n) float64 block of 8 MiB at n = 1000, in the 32 MiB
#: L3 (512 and 1024 were fastest of 256..8192 at n = 1000, d = 64, m = 8192, p = 4, ξ = 0.25; 2048 and
#: more 5-10 % slower, 256 slower with 2 threads).
TORCH_CHUNK = 1024


class TorchAlgorithm1:
    """LK22 Algorithm 1 on PyTorch CPU tensors, manual gradients; state is the current ``W_k``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    W0 : ndarray of shape (m, d)
        Initial first-layer weights (copied).
    a : ndarray of shape (m,)
        Output signs.
    eta, tau, xi : float, int, float
        Step size η, local steps τ, keep probability ξ (scales the tracked output ``ξ f``).
    dtype : torch.dtype
        ``torch.float64`` or ``torch.float32``.
    chunk : int, optional
        Neurons per chunk (default :data:`TORCH_CHUNK`).
    """

    def __init__(self, X, y, W0, a, *, eta, tau, xi, dtype, chunk=None):
        if torch is None:
            raise ImportError("bench_train_torch needs PyTorch (pip install torch)")
        with torch.inference_mode():
            self.dtype = dtype
            self.X = torch.tensor(np.asarray(X), dtype=dtype)  # (n, d)
            self.XT = self.X.t().contiguous()  # (d, n)
            self.y = torch.tensor(np.asarray(y), dtype=dtype)
            self.W = torch.tensor(np.asarray(W0), dtype=dtype)  # (m, d), updated in place
            self.m, self.d = self.W.shape
            self.n = self.X.shape[0]
            self.a_s = torch.tensor(np.asarray(a), dtype=dtype) / math.sqrt(self.m)  # a_r / √m
            self.eta, self.tau, self.xi = float(eta), int(tau), float(xi)
            self.chunk = int(chunk or TORCH_CHUNK)
            c, n, d, m = self.chunk, self.n, self.d, self.m
            self.Z = torch.empty((c, n), dtype=dtype)  # chunk pre-activations (cache-resident)
            self.A = torch.empty((c, n), dtype=dtype)  # chunk pattern as 0/1 floats
            self.GT = torch.empty(d * c, dtype=dtype)  # chunk gradient, transposed (d, c)
            self.act = torch.empty((m, n), dtype=torch.bool)  # pattern of W_k, all neurons
            self.Wsum = torch.zeros((m, d), dtype=dtype)
            self.XresT = torch.empty((d, n), dtype=dtype)
            self.res = torch.empty(n, dtype=dtype)
            self.u = torch.empty(n, dtype=dtype)

    def _forward_all(self, C):
        """``σ(X Wᵀ) C`` (shape (n, q)) over all neurons; fills ``self.act`` with ``1{X Wᵀ ≥ 0}``."""
        U = torch.zeros((self.n, C.shape[1]), dtype=self.dtype)
        for s in range(0, self.m, self.chunk):
            e = min(s + self.chunk, self.m)
            Z = self.Z[: e - s]
            torch.mm(self.W[s:e], self.XT, out=Z)
            torch.ge(Z, 0.0, out=self.act[s:e])
            Z.clamp_min_(0.0)
            U.addmm_(Z.t(), C[s:e])
        return U

    def loss(self) -> float:
        """``‖y − ξ f(W_k, X)‖²`` at the current weights."""
        with torch.inference_mode():
            U = self._forward_all((self.xi * self.a_s)[:, None])
            return float(((self.y - U[:, 0]) ** 2).sum())

    def step(self, Mk) -> float:
        """One global step with masks ``Mk`` (bool ndarray of shape (p, m)); returns ``L_k`` (before it)."""
        with torch.inference_mode():
            M = torch.from_numpy(np.ascontiguousarray(Mk, dtype=bool))
            p = M.shape[0]
            C = torch.empty((self.m, p + 1), dtype=self.dtype)
            torch.mul(M.t(), self.a_s[:, None], out=C[:, :p])
            torch.mul(self.a_s, self.xi, out=C[:, p])
            U = self._forward_all(C)  # (n, p+1): u_{m^l}(W_k) and ξ f(W_k, X)
            loss = float(((self.y - U[:, p]) ** 2).sum())
            N = M.sum(dim=0)
            single = int(N.max()) <= 1 if self.m else True  # partition: no averaging needed
            if not single:
                self.Wsum.zero_()
            locals_ = []
            for l in range(p):
                idx = torch.nonzero(M[l]).squeeze(1)
                if idx.numel() == 0:
                    continue
                Wl = self.W.index_select(0, idx)
                actl = self.act.index_select(0, idx)
                al = self.a_s.index_select(0, idx)
                self._local(Wl, actl, al, U[:, l])
                if single:
                    locals_.append((idx, Wl))
                else:
                    self.Wsum.index_add_(0, idx, Wl)
            # aggregation, LK22 eq. (9)
            if single:
                for idx, Wl in locals_:
                    self.W.index_copy_(0, idx, Wl)
            else:
                keep = (N == 0).to(self.dtype)[:, None]
                self.Wsum.div_(N.clamp_min(1).to(self.dtype)[:, None])
                self.W.mul_(keep).add_(self.Wsum)
            return loss

    def _local(self, Wl, actl, al, u0):
        """τ local steps of one subnetwork, in place on ``Wl`` (its rows of W) and ``actl``."""
        k = Wl.shape[0]
        u = u0
        for t in range(self.tau):
            torch.sub(u, self.y, out=self.res)
            torch.mul(self.XT, self.res, out=self.XresT)  # column i: res_i x_i
            last = t == self.tau - 1
            if not last:
                u = self.u
                u.zero_()
            for s in range(0, k, self.chunk):
                e = min(s + self.chunk, k)
                A, GT, Wc, ac = self.A[: e - s], self.GT[: self.d * (e - s)].view(self.d, e - s), Wl[s:e], al[s:e, None]
                A.copy_(actl[s:e])
                torch.mm(self.XresT, A.t(), out=GT)  # column r: Σ_i act_ri res_i x_i (faster than A @ (res ⊙ X))
                Wc.addcmul_(ac, GT.t(), value=-self.eta)  # W_c −= η (a_r/√m) G
                if not last:
                    Z = self.Z[: e - s]
                    torch.mm(Wc, self.XT, out=Z)
                    torch.ge(Z, 0.0, out=actl[s:e])
                    Z.clamp_min_(0.0)
                    u.addmv_(Z.t(), al[s:e])


def torch_algorithm1(X, y, W0, a, masks, eta, tau, xi, dtype, *, chunk=None):
    """Run Algorithm 1 in PyTorch on replayed masks.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    W0 : ndarray of shape (m, d)
    a : ndarray of shape (m,)
    masks : ndarray of bool, shape (K, p, m)
    eta, tau, xi : float, int, float
    dtype : torch.dtype or {"float64", "float32"}
    chunk : int, optional

    Returns
    -------
    W : ndarray of shape (m, d), float64
        ``W_K``.
    loss : ndarray of shape (K+1,)
        ``L_k = ‖y − ξ f(W_k, X)‖²``, k = 0..K (the ``trajectory.loss`` of :func:`ntkcheck.train`).
    """
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    alg = TorchAlgorithm1(X, y, W0, a, eta=eta, tau=tau, xi=xi, dtype=dtype, chunk=chunk)
    losses = [alg.step(Mk) for Mk in masks]
    losses.append(alg.loss())
    return alg.W.to(torch.float64).numpy(), np.array(losses)


# ----------------------------------------------------------------------------- benchmark

#: name -> (kind, p, tau, xi, m); m = None means the default width (65536, --quick: 4096).
CELLS = {
    "bern-p4-xi0.25": ("bernoulli", 4, 5, 0.25, None),
    "bern-p4-xi1": ("bernoulli", 4, 5, 1.0, None),
    "cat-p4": ("categorical", 4, 5, 0.25, None),
    "dropout-p1-xi0.25": ("bernoulli", 1, 1, 0.25, None),
    "bern-p4-xi0.25-m4096": ("bernoulli", 4, 5, 0.25, 4096),
}
TARGET_T64, TARGET_T32 = 1.5, 1.2
RTOL_VERIFY = 1e-9


def make_data(n, d, seed=0):
    """Unit-norm Gaussian rows and labels ``sign(<v, x_i>)`` of a random projection v."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.sign(X @ rng.standard_normal(d))
    y[y == 0] = 1.0
    return X, y


def cell_width(name, args):
    """Width of a cell: its own m (--quick: 1024) or the default width ``args.m``."""
    m = CELLS[name][4]
    return args.m if m is None else (1024 if args.quick else m)


def train_kwargs(kind, p, tau, xi, eta, n_threads):
    return dict(scheme=kind, eta=eta, local_steps=tau, p=p, xi=xi, record="loss", n_threads=n_threads)


def timed_train(X, y, net, masks, kw):
    """``train`` on ``masks``; also the wall time of each global step but the last (the time between
    the starts of consecutive steps: ``_Engine.global_step`` wrapped by a timer, bookkeeping included)."""
    mod = sys.modules["ntkcheck.train"]  # the module (``ntkcheck.train`` is the function)
    orig, starts = mod._Engine.global_step, []

    def global_step(self, *args, **kwargs):
        starts.append(time.perf_counter())
        return orig(self, *args, **kwargs)

    mod._Engine.global_step = global_step
    try:
        t0 = time.perf_counter()
        res = train(X, y, net, global_steps=len(masks), masks=masks, **kw)
    finally:
        mod._Engine.global_step = orig
    assert res.status == "completed", res.message
    timed_train.setup = starts[0] - t0 if starts else float("nan")  # the fixed cost of this call
    return res, np.diff(starts)


def timed_torch(X, y, net, masks, eta, tau, xi, dtype):
    """Torch Algorithm 1 on ``masks``: final W (float64), losses (K+1,) and the time of each step."""
    alg = TorchAlgorithm1(X, y, net.W, net.a, eta=eta, tau=tau, xi=xi, dtype=dtype)
    times, losses = [], []
    for Mk in masks:
        t0 = time.perf_counter()
        losses.append(alg.step(Mk))
        times.append(time.perf_counter() - t0)
    losses.append(alg.loss())
    return alg.W.to(torch.float64).numpy(), np.array(losses), np.array(times)


def deviation(W, L, ref):
    """Largest relative deviations (W scaled by max|W_ref|, loss elementwise) from a TrainResult."""
    dW = float(np.abs(W - ref.W).max() / np.abs(ref.W).max())
    dL = float(np.max(np.abs(L - ref.trajectory.loss) / np.abs(ref.trajectory.loss)))
    return dW, dL


def verify(X, y, net, masks, kind, p, tau, xi, eta, n_threads, label):
    """Run both on replayed masks; assert float64 agreement, report float32's deviation."""
    ref = train(X, y, net, global_steps=len(masks), masks=masks, **train_kwargs(kind, p, tau, xi, eta, n_threads))
    assert ref.status == "completed", ref.message
    out = []
    for dtype in (torch.float64, torch.float32):
        W, L = torch_algorithm1(X, y, net.W, net.a, masks, eta, tau, xi, dtype)
        out.append(deviation(W, L, ref))
    (dW64, dL64), (dW32, dL32) = out
    ok = dW64 <= RTOL_VERIFY and dL64 <= RTOL_VERIFY
    print(f"  {label}: {len(masks)} global steps; torch float64 vs train: W {dW64:.1e}, loss {dL64:.1e} "
          f"({'OK' if ok else 'FAIL'}, rtol {RTOL_VERIFY:g}); torch float32 vs train: W {dW32:.1e}, loss {dL32:.1e}",
          flush=True)
    assert ok, f"torch float64 disagrees with ntkcheck.train on {label}"


def work_rows(masks, tau):
    """Mean row-products ``w·X`` per global step: (train, torch) (module docstring)."""
    k = masks.sum(axis=2)  # (K, p)
    shared = (masks.sum(axis=1) >= 2).sum(axis=1)  # (K,)
    m = masks.shape[2]
    return float(((2 * tau + 1) * k.sum(axis=1) + shared).mean()), float((m + (2 * tau - 1) * k.sum(axis=1)).mean())


def fmt(ts):
    return f"{statistics.median(ts):8.4f} [{min(ts):.4f}-{max(ts):.4f}]"


def run_cell(name, X, y, eta, args):
    kind, p, tau, xi, _ = CELLS[name]
    m = cell_width(name, args)
    net = init_network(X.shape[1], m, rng=1)
    K = 1 + args.steps  # step 0 is the warm-up
    masks = sample_masks(m, p, kind=kind, xi=xi if kind == "bernoulli" else None, steps=K + 1, rng=2)
    kw = train_kwargs(kind, p, tau, xi, eta, args.threads)
    res, t_ntk = timed_train(X, y, net, masks, kw)  # K + 1 steps: the last one is not timed
    t_ntk = t_ntk[1:]
    res32, t_n32 = timed_train(X, y, net, masks, dict(kw, dtype=np.float32))
    t_n32 = t_n32[1:]
    dL_ntk32 = float(np.max(np.abs(res32.trajectory.loss - res.trajectory.loss) / np.abs(res.trajectory.loss)))
    cols = []
    for dtype in (torch.float64, torch.float32):
        W, L, t = timed_torch(X, y, net, masks, eta, tau, xi, dtype)
        cols.append((t[1:K], deviation(W, L, res)))
    (t64, (dW64, dL64)), (t32, (dW32, dL32)) = cols
    assert dW64 <= RTOL_VERIFY and dL64 <= RTOL_VERIFY, f"{name}: torch float64 disagrees (W {dW64}, loss {dL64})"
    r64 = statistics.median(t64) / statistics.median(t_ntk)
    r32 = statistics.median(t32) / statistics.median(t_n32)
    w_ntk, w_torch = work_rows(masks[1:K], tau)
    gf = 2.0 * X.shape[0] * X.shape[1] / 1e9
    print(f"{name:>21} {m:>6} {p:>2} {tau:>3} {xi:>5g} | {fmt(t_ntk)} {w_ntk * gf / statistics.median(t_ntk):5.1f} | "
          f"{fmt(t64)} {w_torch * gf / statistics.median(t64):5.1f} | {fmt(t_n32)} {w_ntk * gf / statistics.median(t_n32):5.1f} | "
          f"{fmt(t32)} {w_torch * gf / statistics.median(t32):5.1f} | "
          f"{r64:5.2f}x {'met' if r64 >= TARGET_T64 else 'MISSED':>6} | {r32:5.2f}x {'met' if r32 >= TARGET_T32 else 'MISSED':>6} | "
          f"{w_ntk / w_torch:5.2f} | {dW64:.0e} {dW32:.0e} {dL_ntk32:.0e}", flush=True)
    return dict(name=name, r64=r64, r32=r32, t_ntk=t_ntk)


def fixed_costs(X, y, eta, m, args):
    """``train``'s cost before its first step vs torch's setup, Bernoulli p=4, τ=5, ξ=0.25."""
    from _measure import repeat_times  # benchmarks/_measure.py, on the path when run as a script

    net = init_network(X.shape[1], m, rng=1)
    masks = sample_masks(m, 4, kind="bernoulli", xi=0.25, steps=4, rng=2)
    kw = train_kwargs("bernoulli", 4, 5, 0.25, eta, args.threads)
    reps = 3
    def setup(**extra):
        timed_train(X, y, net, masks[:1], dict(kw, **extra))
        return timed_train.setup

    s64 = [setup() for _ in range(reps)]
    s32 = [setup(dtype=np.float32) for _ in range(reps)]
    t0 = repeat_times(lambda: train(X, y, net, global_steps=0, masks=masks[:0], **kw), reps)
    t1 = repeat_times(lambda: train(X, y, net, global_steps=1, masks=masks[:1], **kw), reps)
    _, steps = timed_train(X, y, net, masks, kw)
    step = statistics.median(steps[1:])
    f1 = [t - step for t in t1]
    init64 = repeat_times(lambda: TorchAlgorithm1(X, y, net.W, net.a, eta=eta, tau=5, xi=0.25, dtype=torch.float64), reps)
    init32 = repeat_times(lambda: TorchAlgorithm1(X, y, net.W, net.a, eta=eta, tau=5, xi=0.25, dtype=torch.float32), reps)
    zero64 = repeat_times(lambda: torch_algorithm1(X, y, net.W, net.a, masks[:0], eta, 5, 0.25, torch.float64), reps)
    zero32 = repeat_times(lambda: torch_algorithm1(X, y, net.W, net.a, masks[:0], eta, 5, 0.25, torch.float32), reps)
    print(f"\nfixed cost before the first step, m={m}, Bernoulli p=4 tau=5 xi=0.25 (s, median [min-max] of {reps}; "
          f"step = {step:.4f} s, median of the steps of one run):")
    print(f"  ntkcheck.train: call to first global step  {fmt(s64)}   (validation, data hash, engine, the L_0 forward "
          "of the neurons outside step 1's subnetworks)")
    print(f"  the same, dtype=np.float32                {fmt(s32)}")
    print(f"  ntkcheck.train(global_steps=0)            {fmt(t0)}   (L_0 forward of all m neurons)")
    print(f"  ntkcheck.train(global_steps=1) - one step {fmt(f1)}")
    print(f"  torch float64 setup / + L_0 forward       {fmt(init64)} / {fmt(zero64)}")
    print(f"  torch float32 setup / + L_0 forward       {fmt(init32)} / {fmt(zero32)}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="m=4096 (the m=4096 cell: 1024), 3 timed steps")
    ap.add_argument("--cells", default=",".join(CELLS), help=f"comma-separated subset of {','.join(CELLS)}")
    ap.add_argument("--steps", type=int, default=None, help="timed global steps per cell (default 5; --quick 3)")
    ap.add_argument("--threads", type=int, default=2, help="threads of both (train n_threads, torch.set_num_threads)")
    args = ap.parse_args(argv)
    if torch is None:
        print("bench_train_torch: PyTorch is not installed; skipped (pip install torch to run it).")
        sys.exit(0)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    bad = [c for c in cells if c not in CELLS]
    if bad:
        ap.error(f"unknown cell(s) {bad}; choose from {list(CELLS)}")
    args.steps = max(1, args.steps if args.steps is not None else (3 if args.quick else 5))
    args.m = 4096 if args.quick else 65536
    from _measure import environment  # benchmarks/_measure.py, on the path when run as a script

    torch.set_num_threads(args.threads)
    print(environment())
    print(f"torch {torch.__version__}, intra-op threads {torch.get_num_threads()}, "
          f"{torch.backends.cpu.get_cpu_capability()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; train(n_threads={args.threads}, record='loss'), float64")
    n, d = 1000, 64
    X, y = make_data(n, d)
    eta = 1.0 / ntkcheck.max_eigenvalue(ntkcheck.ntk_infinite(X))
    print(f"n={n} d={d}, unit Gaussian rows, y = sign(<v, x>); eta = 1/lambda_max(H_inf) = {eta:.4g}")

    print("verification (replayed masks; W: max|dW|/max|W|, loss: max relative deviation over the trajectory):")
    Xs, ys = make_data(100, 10, seed=5)
    net = init_network(10, 512, rng=6)
    for kind, p, tau, xi in (("bernoulli", 3, 3, 0.5), ("categorical", 4, 2, 0.25), ("bernoulli", 1, 2, 1.0)):
        masks = sample_masks(512, p, kind=kind, xi=xi if kind == "bernoulli" else None, steps=5, rng=7)
        verify(Xs, ys, net, masks, kind, p, tau, xi, 0.5, args.threads, f"small n=100 d=10 m=512 {kind} p={p} tau={tau} xi={xi:g}")
    kind, p, tau, xi, _ = CELLS[cells[0]]
    m = cell_width(cells[0], args)
    masks = sample_masks(m, p, kind=kind, xi=xi if kind == "bernoulli" else None, steps=2, rng=8)
    verify(X, y, init_network(d, m, rng=1), masks, kind, p, tau, xi, eta, args.threads, f"cell {cells[0]} (m={m})")

    print(f"\ntime per global step (s): median [min-max] over {args.steps} global steps after 1 warm-up step, same "
          "replayed masks; GF/s = 2nd x (row-products w.X of that method) / median; x = torch median / ntkcheck "
          f"median (> 1: ntkcheck faster); targets >= {TARGET_T64}x vs torch float64, >= {TARGET_T32}x vs torch "
          "float32 (train(dtype=np.float32)); work = row-products train/torch; dW = max|W_torch - W_train| "
          "/ max|W| after the run (float64, float32); dL32 = max relative loss deviation of train float32 from float64")
    hdr = (f"{'cell':>21} {'m':>6} {'p':>2} {'tau':>3} {'xi':>5} | {'ntkcheck.train':>26} {'GF/s':>5} | "
           f"{'torch float64':>26} {'GF/s':>5} | {'ntkcheck float32':>26} {'GF/s':>5} | {'torch float32':>26} {'GF/s':>5} | "
           f"{'t64/ntk':>13} | {'t32/ntk32':>13} | {'work':>5} | {'dW64 dW32 dL32':>17}")
    print(hdr)
    print("-" * len(hdr))
    for c in cells:
        run_cell(c, X, y, eta, args)
    fixed_costs(X, y, eta, args.m, args)


if __name__ == "__main__":
    main()
