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
from ntkcheck._params import RUN_PARAMS
from ntkcheck.cli import main
from ntkcheck.data import load_dataset
from ntkcheck.store import Store
from ntkcheck.sweep import (
    derive_seed,
    parse_spec,
    run_id_of,
    run_one,
    run_sweep,
    validate_params,
)
from ntkcheck.verify import fit_contraction, plateau

TINY = """
[sweep]
seed = 11
seeds = 2
[fixed]
data = "sphere:n=16,d=4,seed=0"
m = 32
scheme = "bernoulli"
eta = 0.5
steps = 8
local_steps = 2
record = "loss"
identity_samples = 0
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
        assert set(c) == set(RUN_PARAMS) and list(c) == sorted(c)
        assert c["data"] == "sphere:n=16,d=4,seed=0" and c["local_steps"] == 2 and isinstance(c["xi"], float)
    assert len({t.run_id for t in sw.tasks}) == 8 and len({t.seed for t in sw.tasks}) == 8


def test_equal_runs_written_differently_get_equal_ids_and_seeds():
    a = parse_spec("[sweep]\nseed = 3\n[fixed]\nscheme = 'ist-categorical'\np = 4\nxi = 0.25\n")
    b = parse_spec("[sweep]\nseed = 3\n[[points]]\np = 4\nscheme = 'ist-categorical'\n")
    c = parse_spec("[sweep]\nseed = 3\n[[points]]\nscheme = 'gd'\nxi = 1\n")
    d = parse_spec("[sweep]\nseed = 3\n[[points]]\nscheme = 'gd'\nwidth = 1000\n")
    assert a.tasks == b.tasks and a.configs[0]["xi"] == 0.25
    assert c.tasks == d.tasks  # xi = 1 (int) is gd's default xi = 1.0; width (= m) 1000 is the default


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
    ("[sweep]\nseed = 1\n[grid]\nwidht = [1]\n", r"unknown run parameter `widht`"),
    ("[sweep]\nseed = 1\n[fixed]\nnormalize = 'no'\n", r"`normalize` must be true or false, got str 'no'"),
    ("[sweep]\nseed = 1\n[fixed]\nm = 8\nwidth = 8\n", r"`m` is given twice"),
    ("[sweep]\nseed = 1\n[fixed]\nscheme='bernoulli'\n[grid]\nxi = [0.5, 0.0]\n",
     r"combination \{'xi': 0.0\}: `xi` must be in \(0.0, 1.0\]"),
    ("[sweep]\nseed = 1\n[grid]\nm = [64, 2.5]\n", r"`m` must be an integer"),
    ("[sweep]\nseed = 1\n[grid]\np = [1, 2]\n[fixed]\nscheme = 'dropout'\n", r"fixes `p` = 1, got p=2"),
    ("[sweep]\nseed = 1\n[[points]]\nm = 64\n[[points]]\nm = 64\n", r"repeats the configuration"),
    ("[sweep]\nseed = 1\nrunner = 'nope'\n", r"must look like 'module:function'"),
    ("[sweep]\nseed = 1\nrunner = 'ntkcheck.sweep:nothing'\n", r"is not an allowed runner"),
    ("[sweep]\nseed = 1\nrunner = 'subprocess:Popen'\n", r"not an allowed runner.*--allow-runner"),
    ("[sweep\nseed = 1\n", r"invalid TOML"),
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
    params = validate_params(dict(data="sphere:n=12,d=3,seed=3", m=40, scheme="bernoulli", xi=0.5, p=2,
                                  local_steps=2, eta=0.5, steps=6, record="loss", identity_samples=0))
    seed = derive_seed(1, params, 0)
    out = run_one(params, seed)
    ds = load_dataset("sphere:n=12,d=3,seed=3")
    init_ss, mask_ss, _ = np.random.SeedSequence(seed).spawn(3)  # the package's one seed rule
    res = train(ds.X, ds.y, init_network(3, 40, rng=init_ss), scheme="bernoulli", eta=0.5,
                global_steps=6, local_steps=2, p=2, xi=0.5, rng=mask_ss, record="loss")
    loss = res.trajectory.loss
    assert out["loss"] == loss.tolist() and out["final_loss"] == loss[-1]
    assert out["max_movement"] == res.trajectory.max_movement.max()  # over all steps
    assert out["contraction"] == fit_contraction(loss)["factor"] and out["plateau"] == plateau(loss)
    np.testing.assert_allclose(out["mean_contraction"], (loss[-1] / loss[0]) ** (1 / 6), rtol=1e-12)
    assert out["theta"] == 1 - 0.5**2 and out["lam0"] > 0 and out["status"] == "completed"
    assert out["data_sha256"] == ds.sha256 and out["eta_resolved"] == 0.5
    json.dumps(out)


def test_run_one_subsamples_long_trajectories():
    out = run_one(dict(data="sphere:n=6,d=3", m=8, steps=2500, eta=0.1, record="loss", identity_samples=0), 5)
    assert len(out["loss"]) <= 1001 and out["loss_stride"] == 3 and out["steps"] == 2500
    assert out["loss"][-1] == out["final_loss"]


def test_run_one_records_divergence_not_an_error():
    out = run_one(dict(data="sphere:n=8,d=3", m=16, eta=1e6, steps=50, record="loss", identity_samples=0), 1)
    assert out["status"] == "diverged" and out["steps"] < 50 and "diverged" in out["message"]


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


# ----------------------------------------------------------------------------- one unit of work


def test_a_sweep_record_is_replayed_bit_for_bit_by_ntkcheck_run(tmp_path, capsys):
    """sweep record == `ntkcheck run` of its --show config == the reproduce-style call (run_seed)."""
    from ntkcheck.experiment import load_config, run_experiment
    from ntkcheck.unit import RunSummary, run_seed

    spec = tmp_path / "spec.toml"
    spec.write_text(TINY.replace('record = "loss"', 'record = "standard"').replace(
        "identity_samples = 0", "identity_samples = 50"))
    out = tmp_path / "out"
    run_sweep(spec, out, workers=0)
    rec = next(r for r in Store(out).scan().records.values() if r["params"]["p"] == 2 and r["params"]["xi"] == 0.5)
    assert main(["sweep-status", str(out), "--show", rec["run_id"][:10]]) == 0
    text = capsys.readouterr().out
    assert f"seeds = [{rec['seed']}]" in text and "ntkcheck run --config" in text
    (tmp_path / "replay.toml").write_text(text)
    res = run_experiment(load_config(tmp_path / "replay.toml"), out=tmp_path / "replay", plots=False)
    (run,) = res.runs
    stored = RunSummary.from_dict(rec["result"])
    assert run.summary == stored  # every number, the whole loss trajectory included
    assert run.result.trajectory.loss.tolist() == rec["result"]["loss"]
    direct = run_seed(rec["params"], rec["seed"])
    assert direct.summary == stored
    assert np.array_equal(np.asarray(direct.result.W), np.asarray(run.result.W))
    # and the CLI replay writes the same loss to its results folder
    assert main(["run", "--config", str(tmp_path / "replay.toml"), "--out", str(tmp_path / "cli"),
                 "--no-plots", "--quiet"]) == 0
    z = np.load(tmp_path / "cli" / "seeds" / f"seed_{rec['seed']}" / "trajectory.npz")
    assert z["loss"].tolist() == rec["result"]["loss"]


def test_show_unknown_or_ambiguous_run_id(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(TINY)
    run_sweep(spec, tmp_path / "out", workers=0)
    assert main(["sweep-status", str(tmp_path / "out"), "--show", "zzzz"]) == 2
    assert "holds no record of run 'zzzz'" in capsys.readouterr().err
    assert main(["sweep-status", str(tmp_path / "out"), "--show", ""]) == 2


def test_sweeps_run_on_digits_and_on_files(tmp_path):
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 5))
    np.savez(tmp_path / "pts.npz", X=X / np.linalg.norm(X, axis=1, keepdims=True), y=np.sign(X[:, 0]))
    spec = tmp_path / "spec.toml"
    spec.write_text(f"""
[sweep]
seed = 1
[fixed]
m = 16
steps = 3
scheme = "gd"
record = "loss"
identity_samples = 0
[grid]
data = ["digits:n=30", "{tmp_path / 'pts.npz'}"]
""")
    res = run_sweep(spec, tmp_path / "out", workers=0)
    assert res.done == 2
    recs = {r["params"]["data"]: r["result"] for r in Store(tmp_path / "out").scan().records.values()}
    assert recs[str(tmp_path / "pts.npz")]["data_sha256"] == load_dataset(str(tmp_path / "pts.npz")).sha256
    assert recs["digits:n=30"]["data_sha256"] == load_dataset("digits:n=30").sha256


def test_each_process_loads_a_dataset_once(monkeypatch):
    import ntkcheck.unit as unit

    unit._load_data_cached.cache_clear()
    calls = []
    real = unit.load_dataset
    monkeypatch.setattr(unit, "load_dataset", lambda *a, **k: calls.append(a) or real(*a, **k))
    for xi in (0.5, 1.0):
        run_one(dict(data="sphere:n=10,d=3,seed=5", m=8, steps=2, xi=xi, record="loss", identity_samples=0), 1)
    assert len(calls) == 1


def test_format_1_stores_stay_readable(tmp_path, capsys):
    """A store of ntkcheck 0.1 (sphere-only runner): status, report and a bit-identical replay."""
    from ntkcheck.store import FORMAT_V1, record_checksum
    from ntkcheck.sweep import sweep_status

    out = tmp_path / "old"
    (out / "runs").mkdir(parents=True)
    spec = "[sweep]\nseed = 5\n[fixed]\nn = 12\nd = 3\nm = 16\nscheme = 'bernoulli'\nxi = 0.5\np = 2\nglobal_steps = 4\n"
    (out / "spec.toml").write_text(spec)
    (out / "sweep.json").write_text(json.dumps({"format": "ntkcheck.sweep/1", "sweep_seed": 5,
                                                "runner": "ntkcheck.sweep:run_one", "launches": []}))
    params = dict(d=3, data_seed=0, eta=0.5, global_steps=4, kappa=1.0, labels="teacher", local_steps=1,
                  m=16, n=12, p=2, scheme="bernoulli", xi=0.5)
    seed = derive_seed(5, params, 0)
    ds = load_dataset("sphere:n=12,d=3,seed=0")
    init_ss, mask_ss = np.random.SeedSequence(seed).spawn(2)  # the 0.1 runner's rule
    old = train(ds.X, ds.y, init_network(3, 16, rng=init_ss), scheme="bernoulli", eta=0.5, global_steps=4,
                p=2, xi=0.5, rng=mask_ss, record="loss")
    rec = dict(format=FORMAT_V1, run_id=run_id_of(params, 0), params=params, replicate=0, seed=seed,
               status="ok", result=dict(loss=old.trajectory.loss.tolist(), final_loss=float(old.trajectory.loss[-1])),
               error=None, attempts=1)
    rec["checksum"] = record_checksum(rec)
    (out / "runs" / f"{rec['run_id']}.json").write_text(json.dumps(rec))
    st = sweep_status(out)
    assert (st.total, st.done, st.corrupt) == (1, 1, 0)
    assert main(["sweep-status", str(out), "--show", rec["run_id"]]) == 0
    (tmp_path / "replay.toml").write_text(capsys.readouterr().out)
    assert main(["run", "--config", str(tmp_path / "replay.toml"), "--out", str(tmp_path / "r"),
                 "--no-plots", "--quiet"]) == 0
    z = np.load(tmp_path / "r" / "seeds" / f"seed_{seed}" / "trajectory.npz")
    assert z["loss"].tolist() == rec["result"]["loss"]
    with pytest.raises(ValueError, match="cannot continue it"):
        run_sweep(out / "spec.toml", out, workers=0, resume=True)


def test_runners_are_code_a_spec_names_only_allowed_ones(tmp_path, capsys, monkeypatch):
    """`runner = "subprocess:Popen"` is refused before anything is imported or run; --allow-runner opts in;
    reading a store never imports its runner."""
    import sys

    spec = tmp_path / "evil.toml"
    spec.write_text('[sweep]\nseed = 1\nrunner = "tests.test_sweep_failures:toy_runner"\n[fixed]\nx = 1.0\n')
    sys.modules.pop("tests.test_sweep_failures", None)
    with pytest.raises(ValueError, match="is not an allowed runner"):
        run_sweep(spec, tmp_path / "out", workers=0)
    assert "tests.test_sweep_failures" not in sys.modules and not (tmp_path / "out").exists()
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o2"), "--workers", "0", "--quiet"]) == 2
    assert "--allow-runner" in capsys.readouterr().err
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o3"), "--workers", "0", "--quiet",
                 "--allow-runner"]) == 0
    # reading the store does not import the runner (its run ids come from tasks.txt)
    sys.modules.pop("tests.test_sweep_failures", None)
    import ntkcheck._sweep_exec as ex
    import ntkcheck.sweep as sweep_mod

    def boom(ref):
        raise AssertionError(f"reading a store imported its runner {ref!r}")

    monkeypatch.setattr(ex, "resolve_runner", boom)
    monkeypatch.setattr(sweep_mod, "resolve_runner", boom)
    capsys.readouterr()
    assert main(["sweep-status", str(tmp_path / "o3")]) == 0
    assert "done     1" in capsys.readouterr().out
    assert main(["sweep-report", str(tmp_path / "o3"), "--formats", "png"]) == 0
    assert "tests.test_sweep_failures" not in sys.modules


def test_entry_point_runners_are_allowed(monkeypatch):
    import importlib.metadata

    import ntkcheck._sweep_exec as ex

    ep = importlib.metadata.EntryPoint(name="toy", value="tests.test_sweep_failures:toy_runner",
                                       group="ntkcheck.runners")
    monkeypatch.setattr(ex.importlib.metadata, "entry_points", lambda group: [ep] if group == "ntkcheck.runners" else [])
    sw = parse_spec('[sweep]\nseed = 1\nrunner = "toy"\n[fixed]\nx = 1.0\n')
    assert sw.runner == "tests.test_sweep_failures:toy_runner"


def test_huge_grids_are_counted_before_expansion_and_refused(tmp_path, capsys):
    big = "[sweep]\nseed = 1\nseeds = 1000000\n[grid]\nm = [" + ", ".join(map(str, range(1, 1001))) + "]\n" \
          "kappa = [" + ", ".join(str(0.001 * i) for i in range(1, 1001)) + "]\n"
    with pytest.raises(ValueError, match=r"expands to 1,000,000,000,000 runs .* above the cap of 100,000"):
        parse_spec(big)  # 10^12 runs: refused before a single configuration is built
    with pytest.raises(ValueError, match="--max-runs 8"):
        parse_spec(TINY, max_runs=7)
    assert len(parse_spec(TINY, max_runs=8).tasks) == 8
    spec = tmp_path / "spec.toml"
    spec.write_text(TINY)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--max-runs", "7", "--quiet"]) == 2
    assert "above the cap of 7" in capsys.readouterr().err


@pytest.mark.parametrize("address", ["not a url", "http://x:1", "tcp://", "tcp://host name:1"])
def test_a_malformed_scheduler_address_is_refused_at_once(tmp_path, capsys, address):
    spec = tmp_path / "spec.toml"
    spec.write_text(TINY)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler", address, "--quiet"]) == 2
    assert "must be a Dask scheduler address like tcp://127.0.0.1:8786" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
