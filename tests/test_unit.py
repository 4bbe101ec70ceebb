"""The unit of work: one configuration, one seed -> RunSummary (seed rule, definitions, §8 prediction)."""

from __future__ import annotations

import numpy as np
import pytest

from ntkcheck import init_network, train
from ntkcheck.data import load_dataset
from ntkcheck.unit import RunSummary, load_data, run_seed, seed_streams
from ntkcheck.verify import fit_contraction, plateau

BASE = dict(data="sphere:n=12,d=4,seed=0", m=64, scheme="bernoulli", p=2, xi=0.5, local_steps=2, eta=0.3,
            steps=10, record="standard", identity_samples=0)


def test_seed_rule_and_every_summary_field_from_its_definition():
    run = run_seed(BASE, 11)
    ds = load_dataset(BASE["data"])
    init, masks, _ = seed_streams(11)
    assert (init.entropy, init.spawn_key, masks.spawn_key) == (11, (0,), (1,))
    ref = train(ds.X, ds.y, init_network(4, 64, rng=init), scheme="bernoulli", eta=0.3, global_steps=10,
                local_steps=2, p=2, xi=0.5, rng=masks, record="standard")
    tr, s = ref.trajectory, run.summary
    assert np.array_equal(np.asarray(run.result.W), np.asarray(ref.W))
    assert s.loss == tuple(tr.loss) and s.plateau == plateau(tr.loss)
    assert s.contraction == fit_contraction(tr.loss)["factor"]
    assert s.max_movement == tr.max_movement.max() and s.min_lam_full == tr.lam_min_full.min()
    local_end = tr.local_loss[:, -1, :].mean(axis=1)
    assert s.frac_up_at_sampling == np.mean(tr.sampled_loss > tr.loss[:-1])
    assert s.frac_down_local == np.mean(local_end < tr.sampled_loss)
    assert s.frac_down_at_aggregation == np.mean(tr.loss[1:] < local_end)
    assert s.head["sampled_loss"] == tr.sampled_loss[:6].tolist()
    assert RunSummary.from_dict(s.to_dict()) == s


def test_bad_parameters_and_seeds_are_refused_before_work():
    with pytest.raises(ValueError, match="unknown run parameter `sede`"):
        run_seed(dict(BASE, sede=1), 0)
    with pytest.raises(ValueError, match="`seed` must be an integer >= 0"):
        run_seed(BASE, -1)
    with pytest.raises(TypeError, match="`normalize` must be true or false"):
        run_seed(dict(BASE, normalize="no"), 0)


def test_data_are_reloaded_when_the_file_changes(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    X = rng.standard_normal((6, 3))
    np.savez(path, X=X, y=np.ones(6))
    first = load_data(str(path))
    assert load_data(str(path)) is first  # cached
    np.savez(path, X=2 * X, y=np.ones(7)[:6])
    import os

    os.utime(path, ns=(1, 1))
    assert load_data(str(path)) is not first


def _plateaus(kappa, xi, seeds, steps=600):
    params = dict(data="sphere:n=100,d=10,seed=0", m=1000, scheme="bernoulli", p=2, local_steps=2,
                  steps=steps, record="loss", identity_samples=0, kappa=kappa, xi=xi)
    runs = [run_seed(params, s).summary for s in seeds]
    return np.mean([r.plateau for r in runs]), np.mean([r.predicted_plateau for r in runs])


@pytest.mark.parametrize("xi", [0.5, 0.75])
def test_predicted_plateau_within_a_factor_1_5_in_the_lazy_regime(xi):
    """docs/theory.md §8.3 at kappa = 1 (noise-dominated): predicted / measured in [0.67, 1.5]."""
    measured, predicted = _plateaus(1.0, xi, (0, 1))
    assert 0.67 <= predicted / measured <= 1.5, (predicted, measured)


def test_predicted_xi_slope_has_the_measured_sign_at_large_and_small_kappa():
    """§8.4: at kappa = 1 the error rises with xi (noise), at kappa = 0.01 it falls (bias)."""
    signs = {}
    for kappa in (1.0, 0.01):
        (m1, p1), (m2, p2) = (_plateaus(kappa, xi, (0,), steps=300) for xi in (0.25, 0.75))
        signs[kappa] = (np.sign(m2 - m1), np.sign(p2 - p1))
    assert signs[1.0] == (1.0, 1.0) and signs[0.01] == (-1.0, -1.0), signs


def test_run_cost_orders_runs_for_scheduling():
    from ntkcheck._params import canonical_params
    from ntkcheck.unit import run_cost

    base = canonical_params(dict(data="sphere:n=100,d=10", m=1000, steps=100))
    assert run_cost(dict(base, m=2000)) > run_cost(base) > run_cost(dict(base, steps=10))
    assert run_cost(dict(base, data="sphere:n=200,d=10")) > run_cost(base)
    assert run_cost(dict(base, predict=False)) < run_cost(base)
