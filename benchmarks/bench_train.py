"""Time per global step of :func:`ntkcheck.train` against a dense NumPy Algorithm 1.

The baseline is the straightforward implementation of LK22 Algorithm 1: every subnetwork works
on all m neurons and is masked by multiplication (``σ(X Wᵀ) * mask``, gradient ``* mask``);
it records the same losses as ``train(record="loss")`` (sampled, after each local step, and
``L_{k+1} = ‖y − ξ f(W_{k+1}, X)‖²``).  Both run in the same process on the same data, masks
and initial weights, and their final weights are compared.

GFLOP/s counts 2·n·d·(active neurons) per forward or backward product, for each method's own
products (dense: all m neurons per product).  The reference throughput is a float64 GEMM timed
in the same run (all cores, 2000³).

Usage::

    python benchmarks/bench_train.py            # n=1000, d=64, m ∈ {4096, 65536}, p ∈ {1,4}, τ ∈ {1,5}, ξ ∈ {0.25,1}
    python benchmarks/bench_train.py --quick    # small grid, a few seconds
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from ntkcheck import init_network, sample_masks, train  # noqa: E402


def dense_algorithm1(X, y, W, a, masks, eta, tau, xi):
    """Dense Algorithm 1 (masking by multiplication); returns final W and the loss history."""
    n, d = X.shape
    m = W.shape[0]
    sm = math.sqrt(m)
    losses = []
    for Mk in masks:
        p = Mk.shape[0]
        mk_all = Mk.astype(np.float64)
        local_W = []
        for l in range(p):
            mk = mk_all[l]
            V = W.copy()
            for t in range(tau + 1):
                Z = X @ V.T  # (n, m)
                u = (np.maximum(Z, 0.0) * mk) @ a / sm
                r = u - y
                losses.append(float(r @ r))  # t = 0: sampled loss; t >= 1: local loss
                if t == tau:
                    break
                A = (Z >= 0.0).astype(np.float64)
                G = ((A * (mk * a)) * r[:, None]).T @ X / sm  # (m, d)
                V = V - eta * G
            local_W.append(V)
        N = mk_all.sum(axis=0)
        S = sum(mk_all[l][:, None] * local_W[l] for l in range(p))
        W = np.where(N[:, None] > 0, S / np.maximum(N, 1.0)[:, None], W)  # LK22 eq. (9)
        u = np.maximum(X @ W.T, 0.0) @ a / sm
        losses.append(float(np.sum((y - xi * u) ** 2)))
    return W, losses


def gemm_gflops(size=2000, reps=3):
    A = np.random.default_rng(0).standard_normal((size, size))
    A @ A
    t = min(_time(lambda: A @ A) for _ in range(reps))
    return 2.0 * size**3 / t / 1e9


def _time(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small grid (m ∈ {1024, 4096}, n=500)")
    ap.add_argument("--steps", type=int, default=2, help="timed global steps per configuration")
    ap.add_argument("--record", default="loss", help="train(record=...) to time (default: loss)")
    args = ap.parse_args(argv)
    n, d = (500, 32) if args.quick else (1000, 64)
    widths = (1024, 4096) if args.quick else (4096, 65536)
    K = max(1, args.steps)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.sign(rng.standard_normal(n))
    peak = gemm_gflops()
    print(f"n={n} d={d}  cores={os.cpu_count()}  float64 GEMM (2000^3, all cores): {peak:.1f} GFLOP/s")
    print(f"time per global step, {K} timed steps; train(record={args.record!r})")
    hdr = f"{'m':>6} {'p':>2} {'tau':>3} {'xi':>5} | {'dense s':>9} {'GF/s':>6} | {'train s':>9} {'GF/s':>6} | {'speed-up':>8} | {'max|dW|':>8}"
    print(hdr)
    print("-" * len(hdr))
    # compile kernels outside the timings
    net = init_network(d, 256, rng=1)
    train(X, y, net, scheme="bernoulli", eta=0.1, global_steps=2, p=2, xi=0.5, rng=0, record=args.record)
    for m in widths:
        net = init_network(d, m, rng=1)
        # warm both methods up at this width (page faults of the first large temporaries)
        warm = sample_masks(m, 1, kind="bernoulli", xi=0.25, steps=1, rng=3)
        dense_algorithm1(X, y, np.array(net.W), net.a, warm, 0.5, 1, 0.25)
        train(X, y, net, scheme="bernoulli", eta=0.5, global_steps=1, xi=0.25, masks=warm, record=args.record)
        for p in (1, 4):
            for tau in (1, 5):
                for xi in (0.25, 1.0):
                    masks = sample_masks(m, p, kind="bernoulli", xi=xi, steps=K, rng=2)
                    eta = 0.5
                    kw = dict(scheme="bernoulli", eta=eta, local_steps=tau, p=p, xi=xi, record=args.record)
                    t_setup = min(_time(lambda: train(X, y, net, global_steps=0, masks=masks[:0], **kw)) for _ in range(2))
                    t0 = time.perf_counter()
                    res = train(X, y, net, global_steps=K, masks=masks, **kw)
                    t_train = max(time.perf_counter() - t0 - t_setup, 1e-9) / K
                    t0 = time.perf_counter()
                    Wd, _ = dense_algorithm1(X, y, np.array(net.W), net.a, masks, eta, tau, xi)
                    t_dense = (time.perf_counter() - t0) / K
                    act = masks.sum(axis=2).mean(axis=0)  # (p,) mean active neurons per subnetwork
                    shared = float((masks.sum(axis=1) >= 2).mean()) * m
                    unit = 2.0 * n * d / 1e9
                    fl_train = unit * ((2 * tau + 1) * act.sum() + shared)
                    fl_dense = unit * ((2 * tau + 1) * p * m + m)
                    dW = float(np.abs(res.W - Wd).max())
                    print(
                        f"{m:>6} {p:>2} {tau:>3} {xi:>5} | {t_dense:>9.4f} {fl_dense / t_dense:>6.1f} | "
                        f"{t_train:>9.4f} {fl_train / t_train:>6.1f} | {t_dense / t_train:>7.1f}x | {dW:>8.1e}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
