"""Every plotting function renders to PNG and PDF files and leaves global matplotlib state alone."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

from ntkcheck import init_network, plotting, train  # noqa: E402
from ntkcheck.data import sphere  # noqa: E402


@pytest.fixture(scope="module")
def trajs():
    ds = sphere(10, 3, rng=0)
    out = []
    for s in range(2):
        net = init_network(3, 40, rng=s)
        out.append(train(ds.X, ds.y, net, scheme="bernoulli", xi=0.5, p=2, eta=0.3, global_steps=8,
                         local_steps=2, rng=s, record="full").trajectory)
    return out


CASES = {
    "loss": lambda t, ax: plotting.plot_loss(t, predicted=(np.arange(9), 10 * 0.9 ** np.arange(9)), ax=ax),
    "three_movements": lambda t, ax: plotting.plot_three_movements(t, steps=3, ax=ax),
    "final_error": lambda t, ax: plotting.plot_final_error([0.25, 0.5, 1.0], np.ones((3, 2)) * [[3], [2], [1]],
                                                           xlabel=r"$\xi$", ax=ax, predicted=[3, 2, 1]),
    "contraction": lambda t, ax: plotting.plot_contraction([1, 2, 4], [[0.5, 0.55], [0.7, 0.72], [0.8, 0.81]],
                                                           predicted=[0.9, 0.95, 0.97], ax=ax),
    "ntk_concentration": lambda t, ax: plotting.plot_ntk_concentration(
        [64, 256, 1024], np.array([[0.4, 0.42], [0.2, 0.21], [0.1, 0.1]]), ax=ax),
    "lambda_min": lambda t, ax: plotting.plot_lambda_min(t, lam0=0.05, xi=0.5, ax=ax),
    "movement": lambda t, ax: plotting.plot_movement(t, R=1e-3, R_prime=10.0, ax=ax),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_renders_to_png_and_pdf(name, trajs, tmp_path):
    before = dict(matplotlib.rcParams)
    fig, ax = plotting.new_axes()
    got = CASES[name](trajs, ax)
    assert got is ax and ax.get_xlabel() and ax.get_ylabel()
    paths = plotting.save_figure(fig, tmp_path / name)
    assert [p[-3:] for p in paths] == ["png", "pdf"]
    assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / f"{name}.pdf").read_bytes()[:4] == b"%PDF"
    assert dict(matplotlib.rcParams) == before


def test_ax_none_creates_a_figure(trajs):
    ax = plotting.plot_loss(trajs)
    assert ax.figure is not None and ax.get_yscale() == "log"
    import inspect

    src = inspect.getsource(plotting)
    assert "import pyplot" not in src and "matplotlib.pyplot" not in src  # no global figure state
