"""Multi-seed runs: configuration, results folder, replay, interrupt safety."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import ntkcheck.experiment as experiment
from ntkcheck._io import atomic_write
from ntkcheck.experiment import RunConfig, load_config, run_experiment

SMALL = dict(data="sphere:n=12,d=4,seed=0", m=64, steps=12, local_steps=2, p=2, xi=0.5,
             seeds=(0, 1), identity_samples=200)


def test_config_validation_and_toml_roundtrip(tmp_path):
    with pytest.raises(ValueError, match=r"`scheme` must be one of"):
        RunConfig(scheme="sgd")
    with pytest.raises(ValueError, match="`seeds` must be distinct"):
        RunConfig(seeds=(1, 1))
    with pytest.raises(ValueError, match=r"`m` must be >= 1"):
        RunConfig(m=0)
    cfg = RunConfig(**SMALL, theorem="liao2022.thm3")
    (tmp_path / "c.toml").write_text(cfg.to_toml())
    assert load_config(tmp_path / "c.toml") == cfg
    assert load_config(tmp_path / "c.toml", m=128).m == 128
    (tmp_path / "bad.toml").write_text('data = "sphere"\nwidht = 10\n')
    with pytest.raises(ValueError, match=r"bad.toml: unknown key\(s\) \['widht'\]"):
        load_config(tmp_path / "bad.toml")
    # keys may be spelled like the flags (width, tau, global_steps); values are parsed strictly
    (tmp_path / "flags.toml").write_text('width = 64\ntau = 2\nglobal_steps = 12\nseeds = "0,1"\n')
    flags = load_config(tmp_path / "flags.toml")
    assert (flags.m, flags.local_steps, flags.steps, flags.seeds) == (64, 2, 12, (0, 1))
    (tmp_path / "strict.toml").write_text('normalize = "no"\n')
    with pytest.raises(TypeError, match="strict.toml: `normalize` must be true or false, got str 'no'"):
        load_config(tmp_path / "strict.toml")
    (tmp_path / "twice.toml").write_text('m = 10\nwidth = 10\n')
    with pytest.raises(ValueError, match="`m` is given twice"):
        load_config(tmp_path / "twice.toml")
    (tmp_path / "broken.toml").write_text("m = [1,\n")
    with pytest.raises(ValueError, match="broken.toml: invalid TOML"):
        load_config(tmp_path / "broken.toml")


def test_run_writes_a_replayable_results_folder(tmp_path):
    out = tmp_path / "run"
    res = run_experiment(RunConfig(**SMALL), out=out)
    assert res.status == "completed"
    rep = json.loads((out / "report.json").read_text())
    assert rep["status"] == "completed" and [s["seed"] for s in rep["seeds"]] == [0, 1]
    assert set(rep["comparison"]) >= {"contraction", "plateau", "movement", "lambda_min", "theorem"}
    assert rep["comparison"]["theorem"]["name"] == "liao2022.thm3"
    assert all(i["ok_all"] is not False for i in rep["identities"])
    for s in (0, 1):
        d = out / "seeds" / f"seed_{s}"
        z = np.load(d / "trajectory.npz")
        assert z["loss"].shape == (13,)
        rows = list(csv.DictReader((d / "trajectory.csv").open()))
        assert len(rows) == 13 and float(rows[-1]["loss"]) == pytest.approx(z["loss"][-1], rel=1e-15)
        assert json.loads((d / "summary.json").read_text())["seed"] == s
    for f in ("config.toml", "config.json", "report.md", "report.html", "figures/loss.png",
              "figures/loss.pdf", "figures/movement.png", "figures/lambda_min.pdf"):
        assert (out / f).stat().st_size > 0, f
    assert not list(out.rglob(".tmp-*"))
    # replay from the written config: identical trajectories
    again = run_experiment(load_config(out / "config.toml"), out=tmp_path / "replay", plots=False)
    for a, b in zip(res.seeds, again.seeds):
        assert np.array_equal(a.result.trajectory.loss, b.result.trajectory.loss)


def test_interrupt_keeps_finished_seeds(tmp_path, monkeypatch):
    real = experiment.run_seed
    calls = []

    def flaky(params, seed, **kw):
        calls.append(seed)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(params, seed, **kw)

    monkeypatch.setattr(experiment, "run_seed", flaky)
    out = tmp_path / "run"
    res = run_experiment(RunConfig(**dict(SMALL, seeds=(0, 1, 2))), out=out, plots=False)
    assert res.status == "interrupted" and [s.seed for s in res.seeds] == [0]
    rep = json.loads((out / "report.json").read_text())
    assert rep["status"] == "interrupted" and len(rep["seeds"]) == 1
    assert (out / "seeds" / "seed_0" / "trajectory.npz").exists()
    assert not (out / "seeds" / "seed_1").exists()


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "x" / "f.txt"
    atomic_write(p, "one")
    atomic_write(p, b"two")
    assert p.read_text() == "two" and [q.name for q in p.parent.iterdir()] == ["f.txt"]


def test_seed_rule_is_one_for_every_front_end():
    """``RunConfig`` seeds: a count N means 0..N-1, a string of ints the same as the list."""
    assert RunConfig(seeds=3).seeds == (0, 1, 2)
    assert RunConfig(seeds="0,5").seeds == RunConfig(seeds=[0, 5]).seeds == (0, 5)
    assert RunConfig(seeds="7,").seeds == (7,)
    big = 2**127 + 12345  # sweeps derive 128-bit run seeds
    assert RunConfig(seeds=[big]).seeds == (big,)
    with pytest.raises(ValueError, match=r"to run one seed s write a list: seeds = \[1000000\]"):
        RunConfig(seeds=10**6)


def test_interrupted_training_is_partial_never_averaged(tmp_path, monkeypatch):
    import ntkcheck.unit as unit

    real_train = unit.train

    def cut_short(*args, **kw):
        res = real_train(*args, **kw)
        if kw["rng"].entropy == 1:  # the mask stream of seed 1
            from dataclasses import replace

            return replace(res, status="interrupted", message="cut short")
        return res

    monkeypatch.setattr(unit, "train", cut_short)
    res = run_experiment(RunConfig(**dict(SMALL, seeds=(0, 1), identity_samples=0)), out=tmp_path / "r",
                         plots=False)
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    assert res.status == "interrupted" and [r.seed for r in res.runs] == [0] and [r.seed for r in res.partial] == [1]
    assert [s["seed"] for s in rep["seeds"]] == [0] and [s["seed"] for s in rep["partial_seeds"]] == [1]
    assert rep["comparison"]["plateau"]["measured_per_seed"] == [rep["seeds"][0]["plateau"]]


def test_run_config_fields_are_the_parameter_table():
    """RunConfig's fields are the run parameters of ntkcheck._params (one table) plus the seeds."""
    from dataclasses import fields

    from ntkcheck._params import RUN_PARAMS

    names = [f.name for f in fields(RunConfig)]
    assert names == [*RUN_PARAMS, "seeds"]
    assert all(f.default == RUN_PARAMS[f.name].default for f in fields(RunConfig) if f.name != "seeds")
