"""The PyTorch baseline of benchmarks/bench_train_torch.py is LK22 Algorithm 1 (docs/theory.md §3).

The benchmark times :func:`ntkcheck.train` against that implementation, so it must compute the same
thing: on replayed masks both give the same ``W_K`` and loss trajectory ``‖y − ξ f(W_k, X)‖²``.
Skipped without torch (an optional, benchmark-only package).
"""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import numpy.testing as npt
import pytest

from ntkcheck import init_network, sample_masks, train

from .conftest import ATOL_EXACT, RTOL_EXACT

torch = pytest.importorskip("torch")

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "bench_train_torch.py"
#: float32 torch against float64 train: single-precision rounding (observed about 3e-7 here).
RTOL_FLOAT32 = 1e-5


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_train_torch", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "kind, p, tau, xi",
    [("bernoulli", 3, 2, 0.5), ("bernoulli", 1, 3, 1.0), ("categorical", 4, 2, 0.25)],
)
def test_torch_algorithm1_matches_train(bench, kind, p, tau, xi):
    n, d, m, K, eta = 20, 5, 64, 4, 0.5
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.sign(rng.standard_normal(n))
    net = init_network(d, m, rng=1)
    masks = sample_masks(m, p, kind=kind, xi=xi if kind == "bernoulli" else None, steps=K, rng=2)
    ref = train(X, y, net, scheme=kind, eta=eta, global_steps=K, local_steps=tau, p=p, xi=xi, masks=masks,
                record="loss", n_threads=1)
    assert ref.status == "completed"
    # same algorithm, different summation order (BLAS, chunking): rounding-level differences only
    W, loss = bench.torch_algorithm1(X, y, net.W, net.a, masks, eta, tau, xi, torch.float64, chunk=16)
    npt.assert_allclose(W, ref.W, rtol=RTOL_EXACT, atol=ATOL_EXACT)
    npt.assert_allclose(loss, ref.trajectory.loss, rtol=RTOL_EXACT, atol=ATOL_EXACT)
    W32, loss32 = bench.torch_algorithm1(X, y, net.W, net.a, masks, eta, tau, xi, "float32")
    npt.assert_allclose(W32, ref.W, rtol=RTOL_FLOAT32, atol=RTOL_FLOAT32 * np.abs(ref.W).max())
    npt.assert_allclose(loss32, ref.trajectory.loss, rtol=RTOL_FLOAT32)


def test_torch_algorithm1_keeps_uncovered_neurons(bench):
    # LK22 eq. (9): a neuron in no subnetwork (N_r = 0) is unchanged; here subnetwork 0 is empty
    n, d, m = 20, 5, 64
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.sign(rng.standard_normal(n))
    net = init_network(d, m, rng=4)
    masks = np.zeros((1, 2, m), dtype=bool)
    masks[0, 1, : m // 2] = True
    W, _ = bench.torch_algorithm1(X, y, net.W, net.a, masks, 0.5, 2, 0.5, torch.float64)
    npt.assert_array_equal(W[m // 2:], net.W[m // 2:])
    assert not np.array_equal(W[: m // 2], net.W[: m // 2])
