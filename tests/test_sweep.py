"""Sweep specs, seed derivation, the default runner and local scheduling (real processes)."""

from __future__ import annotations

import hashlib
import json
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntkcheck import init_network, train
from ntkcheck.cli import main
from ntkcheck.data import sphere
from ntkcheck.store import Store
from ntkcheck.sweep import (
    DEFAULT_PARAMS,
    derive_seed,
    parse_spec,
    run_id_of,
    run_one,
    run_sweep,
    validate_params,
)

TINY = """
[sweep]
seed = 11
seeds = 2
[fixed]
n = 16
d = 4
m = 32
scheme = "bernoulli"
eta = 0.5
global_steps = 8
local_steps = 2
[grid]
xi = [0.5, 1.0]
p = [1, 2]
"""


def _results(out):
    return {rid: (r["params"], r["replicate"], r["seed"], r["status"], r["result"])
            for rid, r in Store(out).scan().records.items()}


# ----------------------------------------------------------------------------- spec


def test_grid_expansion_and_canonical_params():
    sw = parse_spec(TINY)
    assert len(sw.configs) == 4 and len(sw.tasks) == 8 and sw.replicates == (0, 1)
    assert {(c["xi"], c["p"]) for c in sw.configs} == {(0.5, 1), (0.5, 2), (1.0, 1), (1.0, 2)}
    for c in sw.configs:
        assert set(c) == set(DEFAULT_PARAMS) and list(c) == sorted(c)
        assert c["n"] == 16 and c["local_steps"] == 2 and isinstance(c["xi"], float)
    assert len({t.run_id for t in sw.tasks}) == 8 and len({t.seed for t in sw.tasks}) == 8


def test_equal_runs_written_differently_get_equal_ids_and_seeds():
    a = parse_spec("[sweep]\nseed = 3\n[fixed]\nscheme = 'ist-categorical'\np = 4\nxi = 0.25\n")
    b = parse_spec("[sweep]\nseed = 3\n[[points]]\np = 4\nscheme = 'ist-categorical'\n")
    c = parse_spec("[sweep]\nseed = 3\n[[points]]\nscheme = 'gd'\nxi = 1\n")
    d = parse_spec("[sweep]\nseed = 3\n[[points]]\nscheme = 'gd'\nn = 50\n")
    assert a.tasks == b.tasks and a.configs[0]["xi"] == 0.25
    assert c.tasks == d.tasks  # xi = 1 (int) is gd's default xi = 1.0; n = 50 is the default


def test_points_union_of_grids_and_seed_labels():
    sw = parse_spec("""
[sweep]
seed = 0
seeds = [5, 9]
[fixed]
scheme = "bernoulli"
[[grid]]
xi = [0.5]
p = [1, 2]
[[grid]]
m = [64, 128]
[[points]]
eta = 0.1
""")
    assert len(sw.configs) == 5 and sw.replicates == (5, 9)
    assert [t.replicate for t in sw.tasks[:2]] == [5, 9]


@pytest.mark.parametrize("text, match", [
    ("[fixed]\nn = 5\n", r"\[sweep\] table with at least `seed`"),
    ("[sweep]\nseeds = 2\n", r"`sweep.seed` is required"),
    ("[sweep]\nseed = -1\n", r"`sweep.seed` must be >= 0"),
    ("[sweep]\nseed = 1\nseeds = 0\n", r"`sweep.seeds` must be >= 1"),
    ("[sweep]\nseed = 1\nseeds = [1, 1]\n", r"`sweep.seeds` must not repeat"),
    ("[sweep]\nseed = 1\nsede = 2\n", r"unknown field\(s\) \['sede'\] in \[sweep\]"),
    ("[sweep]\nseed = 1\n[gird]\nxi = [1]\n", r"unknown top-level field\(s\) \['gird'\]"),
    ("[sweep]\nseed = 1\n[grid]\nxi = 0.5\n", r"`grid.xi` must be a non-empty list"),
    ("[sweep]\nseed = 1\n[fixed]\nxi = 0.5\n[grid]\nxi = [0.5]\n", r"`xi` is both in \[fixed\]"),
    ("[sweep]\nseed = 1\n[grid]\nwidth = [1]\n", r"unknown run parameter\(s\) \['width'\]"),
    ("[sweep]\nseed = 1\n[fixed]\nscheme='bernoulli'\n[grid]\nxi = [0.5, 0.0]\n",
     r"combination \{'xi': 0.0\}: `xi` must be in \(0.0, 1.0\]"),
    ("[sweep]\nseed = 1\n[grid]\nm = [64, 2.5]\n", r"`m` must be an integer"),
    ("[sweep]\nseed = 1\n[grid]\np = [1, 2]\n[fixed]\nscheme = 'dropout'\n", r"fixes `p` = 1, got p=2"),
    ("[sweep]\nseed = 1\n[[points]]\nm = 64\n[[points]]\nm = 64\n", r"repeats the configuration"),
    ("[sweep]\nseed = 1\nrunner = 'nope'\n", r"must look like 'module:function'"),
    ("[sweep]\nseed = 1\nrunner = 'ntkcheck.sweep:nothing'\n", r"cannot be imported"),
    ("[sweep\nseed = 1\n", r"not valid TOML"),
])
def test_spec_errors_name_the_field(text, match):
    with pytest.raises((ValueError, TypeError), match=match):
        parse_spec(text)


# ----------------------------------------------------------------------------- seeds


def test_seed_recipe_is_the_documented_hash():
    params = validate_params({"m": 64, "xi": 0.5, "scheme": "bernoulli"})
    body = json.dumps({"params": params, "replicate": 2, "sweep_seed": 7}, sort_keys=True, separators=(",", ":"))
    expect = int.from_bytes(hashlib.sha256(body.encode()).digest()[:16], "little")
    assert derive_seed(7, params, 2) == expect
    assert run_id_of(params, 2) == hashlib.sha256(
        json.dumps({"params": params, "replicate": 2}, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()[:16]


@given(st.integers(0, 2**64), st.integers(0, 1000), st.integers(0, 2**20))
def test_seed_depends_on_every_input(s, r, m):
    params = {"m": m, "xi": 0.5}
    base = derive_seed(s, params, r)
    assert 0 <= base < 2**128
    assert derive_seed(s, dict(reversed(list(params.items()))), r) == base  # key order is irrelevant
    assert derive_seed(s + 1, params, r) != base
    assert derive_seed(s, params, r + 1) != base
    assert derive_seed(s, {**params, "m": m + 1}, r) != base


def test_task_seeds_do_not_depend_on_grid_order():
    lines = ["xi = [0.25, 0.5, 1.0]", "p = [1, 2, 3]", "m = [32, 64]"]
    head = "[sweep]\nseed = 4\nseeds = 2\n[fixed]\nscheme = 'bernoulli'\n[grid]\n"
    ref = {t.run_id: t for t in parse_spec(head + "\n".join(lines)).tasks}
    rnd = random.Random(0)
    for _ in range(3):
        rnd.shuffle(lines)
        shuffled = [ln.split(" = ")[0] + " = " + str(list(reversed(json.loads(ln.split(" = ")[1]))))
                    for ln in lines]
        got = {t.run_id: t for t in parse_spec(head + "\n".join(shuffled)).tasks}
        assert got == ref


# ----------------------------------------------------------------------------- runner


def test_run_one_matches_a_direct_train_call():
    params = validate_params(dict(n=12, d=3, m=40, scheme="bernoulli", xi=0.5, p=2, local_steps=2,
                                  eta=0.5, global_steps=6, data_seed=3))
    seed = derive_seed(1, params, 0)
    out = run_one(params, seed)
    ds = sphere(12, 3, rng=3)
    init_ss, mask_ss = np.random.SeedSequence(seed).spawn(2)
    res = train(ds.X, ds.y, init_network(3, 40, rng=init_ss), scheme="bernoulli", eta=0.5,
                global_steps=6, local_steps=2, p=2, xi=0.5, rng=mask_ss, record="loss")
    loss = res.trajectory.loss
    assert out["loss"] == loss.tolist() and out["final_loss"] == loss[-1]
    assert out["max_movement"] == res.trajectory.max_movement[-1]
    k = np.arange(loss.size)
    slope = np.polyfit(k, np.log(loss), 1)[0]
    np.testing.assert_allclose(out["contraction"], np.exp(slope), rtol=1e-12)
    np.testing.assert_allclose(out["mean_contraction"], (loss[-1] / loss[0]) ** (1 / 6), rtol=1e-12)
    assert out["theta"] == 1 - 0.5**2 and out["lam0"] > 0 and out["train_status"] == "completed"
    json.dumps(out)


def test_run_one_subsamples_long_trajectories():
    out = run_one(dict(n=6, d=3, m=8, global_steps=2500, eta=0.1), 5)
    assert len(out["loss"]) <= 1001 and out["loss_stride"] == 3 and out["steps"] == 2500
    assert out["loss"][-1] == out["final_loss"]


def test_run_one_records_divergence_not_an_error():
    out = run_one(dict(n=8, d=3, m=16, eta=1e6, global_steps=50), 1)
    assert out["train_status"] == "diverged" and not np.isfinite(out["final_loss"])


# ----------------------------------------------------------------------------- scheduling


def test_results_do_not_depend_on_worker_count(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(TINY)
    inline = run_sweep(spec, tmp_path / "w0", workers=0)
    two = run_sweep(spec, tmp_path / "w2", workers=2)
    assert (inline.done, two.done, two.failed, two.pending) == (8, 8, 0, 0)
    r0, r2 = _results(tmp_path / "w0"), _results(tmp_path / "w2")
    assert r0 == r2 and len(r0) == 8
    pids = {r["pid"] for r in Store(tmp_path / "w2").scan().records.values()}
    assert len(pids) >= 1 and all(r["threads"] == 1 for r in Store(tmp_path / "w2").scan().records.values())
    assert (tmp_path / "w2" / "spec.toml").read_text() == TINY
    assert (tmp_path / "w2" / "index.csv").is_file()


def test_resume_skips_finished_and_refuses_to_overwrite(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(TINY)
    run_sweep(spec, tmp_path / "out", workers=0)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out" / "runs").iterdir()}
    with pytest.raises(ValueError, match="already holds a sweep; pass --resume"):
        run_sweep(spec, tmp_path / "out", workers=0)
    again = run_sweep(spec, tmp_path / "out", workers=0, resume=True)
    assert again.ran == 0 and again.done == 8
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out" / "runs").iterdir()} == before
    other = tmp_path / "other.toml"
    other.write_text(TINY.replace("seed = 11", "seed = 12"))
    with pytest.raises(ValueError, match="`sweep_seed` = 11, the spec has 12"):
        run_sweep(other, tmp_path / "out", workers=0, resume=True)
    # extending the grid of the same sweep runs only the new configurations
    bigger = tmp_path / "bigger.toml"
    bigger.write_text(TINY.replace("p = [1, 2]", "p = [1, 2, 3]"))
    ext = run_sweep(bigger, tmp_path / "out", workers=0, resume=True)
    assert ext.ran == 4 and ext.done == 12


def test_cli_sweep_and_status(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(TINY)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    assert "done     8" in capsys.readouterr().out
    assert main(["sweep-status", str(out)]) == 0
    text = capsys.readouterr().out
    assert "done     8" in text and "pending  0" in text
    assert main(["sweep", str(spec), "--out", str(out), "--quiet"]) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert main(["sweep-status", str(tmp_path / "nothing")]) == 2
    assert main(["sweep", str(spec), "--out", str(out), "--retry-failed"]) == 2
    assert main(["sweep", str(tmp_path / "missing.toml"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
