"""Speed and memory of ``ntk_deep_finite`` (docs/theory.md §10), side by side in one run.

Three routes to the same exact finite-width NTK Θ̂ of a deep fully-connected ReLU network:

* ``ntkcheck``: :func:`ntkcheck.deep.ntk_deep_finite` (per-layer Gram matrices by BLAS ``dsyrk``,
  last hidden layer streamed in chunks, ReLU patterns of the held layers stored as bool);
* ``numpy``: the same Gram-matrix formula in plain NumPy, every layer's pre- and
  post-activations held, full GEMMs ``D D^T`` and ``X X^T`` (no chunking, no symmetry);
* ``jacobian``: the Jacobian ``J`` (n × P) materialised and ``J J^T`` formed; it needs
  ``n·P·8`` bytes, so it runs only where that is below ``JACOBIAN_LIMIT`` (4 GiB) and is reported
  as skipped, with the memory it would need, elsewhere.

Times are medians over repeats with the spread (min–max); memory is the extra peak of NumPy
allocations during one call (tracemalloc; inputs and the network excluded).  Ratios are the other
route's time (memory) over ntkcheck's.  The main size is n = 1000, d = 64, depth 3, width 4096,
σ_b = 0.1; a grid of smaller sizes shows where the Jacobian route stops fitting.

Usage: ``python benchmarks/bench_deep.py [--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _measure import environment, extra_peak, repeat_times  # noqa: E402  (benchmarks/_measure.py)
from ntkcheck.deep import init_deep_network, ntk_deep_finite  # noqa: E402

GiB = 1024**3
MiB = 1024**2
JACOBIAN_LIMIT = 4 * GiB
D, DEPTH, SIGMA_W, SIGMA_B = 64, 3, 1.0, 0.1


def numpy_ntk(X, net):
    """The §10 formula in plain NumPy: all activations held, full GEMMs, no chunking."""
    sw, sb = net.sigma_w, net.sigma_b
    acts, pres = [X], []
    for W, b in zip(net.weights, net.biases):
        g = acts[-1] @ W.T * (sw / math.sqrt(W.shape[1])) + sb * b
        pres.append(g)
        acts.append(np.maximum(g, 0.0))
    L = net.depth
    delta = np.ones((X.shape[0], 1))
    theta = 0.0
    for h in range(L + 1, 0, -1):  # 1-based layer h; pres[h-1] = g^(h), acts[h-1] = x^(h-1)
        if h <= L:
            delta = (pres[h - 1] >= 0.0) * (sw / math.sqrt(pres[h - 1].shape[1])) * (delta @ net.weights[h])
        x = acts[h - 1]
        theta = theta + (delta @ delta.T) * (sw**2 / x.shape[1] * (x @ x.T) + sb**2)
    return theta


def jacobian_ntk(X, net):
    """Materialise J (n × P): block of W^(h) is δ^(h)_a (σ_w/√d_{h−1}) x^(h−1)_b, of β^(h) is σ_b δ^(h)."""
    sw, sb = net.sigma_w, net.sigma_b
    n = X.shape[0]
    acts, pres = [X], []
    for W, b in zip(net.weights, net.biases):
        g = acts[-1] @ W.T * (sw / math.sqrt(W.shape[1])) + sb * b
        pres.append(g)
        acts.append(np.maximum(g, 0.0))
    J = np.empty((n, net.n_params))
    col = net.n_params
    delta = np.ones((n, 1))
    for h in range(net.depth + 1, 0, -1):
        if h <= net.depth:
            delta = (pres[h - 1] >= 0.0) * (sw / math.sqrt(pres[h - 1].shape[1])) * (delta @ net.weights[h])
        x = acts[h - 1]
        dh, dp = delta.shape[1], x.shape[1]
        col -= dh
        J[:, col:col + dh] = sb * delta
        col -= dh * dp
        np.multiply(delta[:, :, None], (sw / math.sqrt(dp)) * x[:, None, :],
                    out=J[:, col:col + dh * dp].reshape(n, dh, dp))
    return J @ J.T


def timed(fn, repeat):
    t0 = time.perf_counter()
    fn()  # warm-up (page faults of first allocations, BLAS thread start)
    warm = time.perf_counter() - t0
    repeat = max(repeat, min(25, int(0.3 / max(warm, 1e-6))))  # fast calls: more repeats (noise)
    times = repeat_times(fn, repeat, warmup=False)
    return statistics.median(times), min(times), max(times)




def fmt_time(t):
    med, lo, hi = t
    return f"{med:7.3f} s [{lo:.3f}-{hi:.3f}]"


def run_size(n, width, repeat, rng):
    X = rng.standard_normal((n, D))
    net = init_deep_network(D, [width] * DEPTH, sigma_w=SIGMA_W, sigma_b=SIGMA_B, rng=rng)
    jac_bytes = n * net.n_params * 8
    row = {"n": n, "width": width, "P": net.n_params, "jac_bytes": jac_bytes}
    ours = ntk_deep_finite(X, net)
    row["ours"] = (timed(lambda: ntk_deep_finite(X, net), repeat), extra_peak(lambda: ntk_deep_finite(X, net)))
    ref = numpy_ntk(X, net)
    row["numpy_err"] = np.abs(ref - ours).max() / np.abs(ref).max()
    row["numpy"] = (timed(lambda: numpy_ntk(X, net), repeat), extra_peak(lambda: numpy_ntk(X, net)))
    del ref
    if jac_bytes <= JACOBIAN_LIMIT:
        jac = jacobian_ntk(X, net)
        row["jac_err"] = np.abs(jac - ours).max() / np.abs(jac).max()
        del jac
        row["jacobian"] = (timed(lambda: jacobian_ntk(X, net), max(1, repeat - 1)),
                           extra_peak(lambda: jacobian_ntk(X, net)))
    gc.collect()
    return row


def print_row(row):
    (t_ours, m_ours) = row["ours"]
    (t_np, m_np) = row["numpy"]
    head = f"n={row['n']:5d} width={row['width']:5d} P={row['P']:>10,d}"
    print(f"{head}  ntkcheck {fmt_time(t_ours)} {m_ours / MiB:8.1f} MiB", flush=True)
    print(f"{'':{len(head)}}  numpy    {fmt_time(t_np)} {m_np / MiB:8.1f} MiB   "
          f"time x{t_np[0] / t_ours[0]:5.2f}  mem x{m_np / m_ours:5.2f}  (max rel diff {row['numpy_err']:.1e})")
    if "jacobian" in row:
        t_j, m_j = row["jacobian"]
        print(f"{'':{len(head)}}  jacobian {fmt_time(t_j)} {m_j / MiB:8.1f} MiB   "
              f"time x{t_j[0] / t_ours[0]:5.2f}  mem x{m_j / m_ours:5.2f}  (max rel diff {row['jac_err']:.1e})")
    else:
        print(f"{'':{len(head)}}  jacobian skipped: J alone needs n*P*8 = {row['jac_bytes'] / GiB:,.1f} GiB "
              f"(> {JACOBIAN_LIMIT / GiB:.0f} GiB budget; {row['jac_bytes'] / m_ours:,.0f}x ntkcheck's memory)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a seconds-long smoke run")
    args = parser.parse_args(argv)
    print(environment())
    print(f"deep ReLU net: d={D}, depth={DEPTH}, sigma_w={SIGMA_W}, sigma_b={SIGMA_B}; "
          "time = median [min-max]; memory = extra NumPy peak (tracemalloc); ratios = route / ntkcheck")
    rng = np.random.default_rng(0)
    if args.quick:
        grid, main_size, repeat = [(200, 128), (200, 256)], (300, 1024), 2
    else:
        grid, main_size, repeat = [(200, 256), (200, 512), (200, 1024), (1000, 256), (1000, 512)], (1000, 4096), 3
    print("\n== where the Jacobian route fits ==")
    for n, width in grid:
        print_row(run_size(n, width, repeat, rng))
    print(f"\n== main size: n={main_size[0]}, width={main_size[1]} ==")
    print_row(run_size(*main_size, repeat, rng))


if __name__ == "__main__":
    main()
