"""Sweep failure handling with real processes: failing runs, dying workers, SIGKILL, Ctrl-C.

The runners below are importable (``tests.test_sweep_failures:...``) so that spawned worker
processes and ``python -m ntkcheck.cli sweep`` subprocesses can load them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ntkcheck.cli import main
from ntkcheck.store import Store
from ntkcheck.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def toy_runner(params, seed):
    """Cheap deterministic runner: a number drawn from the run seed; fails on request."""
    time.sleep(params.get("sleep", 0.0))
    if params.get("fail"):
        raise ValueError(f"run asked to fail (x={params['x']})")
    return {"value": float(np.random.default_rng(seed).random()), "x2": params["x"] ** 2}


def dying_runner(params, seed):
    """Kills its worker process with os._exit: once (then a marker exists) or always."""
    mode = params.get("die")
    if mode:
        marker = Path(params["marker_dir"]) / f"died-{params['x']}"
        if mode == "always" or not marker.exists():
            marker.touch()
            os._exit(7)
    return toy_runner(params, seed)


def _spec(tmp_path, runner, points, *, seeds=1, name="spec.toml"):
    lines = ["[sweep]", "seed = 5", f"seeds = {seeds}", f'runner = "tests.test_sweep_failures:{runner}"']
    for p in points:
        lines.append("[[points]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in p.items()]  # JSON scalars are TOML scalars
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _records(out):
    scan = Store(out).scan()
    assert scan.corrupt == []
    return scan.records


def _results(out):
    return {rid: (r["params"], r["seed"], r["status"], r["result"]) for rid, r in _records(out).items()}


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _live_group_members(pgid):
    """PIDs (not zombies) in process group ``pgid``, from /proc; None without /proc."""
    if not os.path.isdir("/proc"):
        return None
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(entry))
    return out


def _start_sweep(args):
    return subprocess.Popen([sys.executable, "-m", "ntkcheck.cli", "sweep", *map(str, args), "--allow-runner"], cwd=ROOT,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _wait_for_records(out, count, proc, timeout=60.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        runs = Path(out) / "runs"
        if runs.is_dir() and len(list(runs.glob("*.json"))) >= count:
            return
        if proc.poll() is not None:
            pytest.fail(f"sweep ended early: {proc.returncode} {proc.communicate()}")
        time.sleep(0.05)
    pytest.fail(f"no {count} records after {timeout} s")


def _cleanup(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=30)


# ----------------------------------------------------------------------------- failing runs


def test_failing_run_is_recorded_and_does_not_stop_the_sweep(tmp_path, capsys):
    points = [{"x": i, "fail": i == 2} for i in range(6)]
    spec = _spec(tmp_path, "toy_runner", points)
    out = tmp_path / "out"
    s = run_sweep(spec, out, workers=2, allow_runner=True)
    assert (s.done, s.failed, s.pending) == (5, 1, 0)
    bad = [r for r in _records(out).values() if r["status"] == "failed"]
    assert len(bad) == 1 and bad[0]["params"]["x"] == 2 and bad[0]["result"] is None
    err = bad[0]["error"]
    assert err["type"] == "ValueError" and err["message"] == "run asked to fail (x=2)"
    assert "toy_runner" in err["traceback"] and "Traceback" in err["traceback"]

    assert main(["sweep-status", str(out)]) == 1
    text = capsys.readouterr().out
    assert "failed   1" in text and "ValueError: run asked to fail (x=2)" in text
    assert run_sweep(spec, out, workers=0, resume=True, allow_runner=True).ran == 0  # failed runs are finished
    again = run_sweep(spec, out, workers=0, resume=True, retry_failed=True, allow_runner=True)
    assert again.ran == 1 and again.failed == 1


def test_non_serialisable_result_is_a_failure(tmp_path):
    spec = _spec(tmp_path, "toy_runner", [{"x": 1.5}])
    s = run_sweep(spec, tmp_path / "out", workers=0,
                  runner="tests.test_sweep_failures:_bad_result_runner", allow_runner=True)
    assert s.failed == 1
    assert "not JSON serializable" in s.failures[0]["error"]["message"]


def _bad_result_runner(params, seed):
    return {"value": object()}


# ----------------------------------------------------------------------------- dying workers


def test_worker_death_is_retried_with_identical_result(tmp_path):
    points = [{"x": i, "die": "once" if i == 3 else "", "marker_dir": str(tmp_path)} for i in range(6)]
    spec = _spec(tmp_path, "dying_runner", points)
    s = run_sweep(spec, tmp_path / "out", workers=2, allow_runner=True)
    assert (s.done, s.failed, s.pending) == (6, 0, 0)
    assert (tmp_path / "died-3").exists()  # the worker really died once
    recs = _records(tmp_path / "out")
    retried = [r for r in recs.values() if r["params"]["x"] == 3][0]
    assert retried["attempts"] >= 2
    ref = tmp_path / "ref"
    run_sweep(spec, ref, workers=0, allow_runner=True)  # the marker exists now: nobody dies
    assert _results(tmp_path / "out") == _results(ref)


def test_run_that_always_kills_its_worker_is_failed_others_finish(tmp_path):
    points = [{"x": i, "die": "always" if i == 1 else "", "marker_dir": str(tmp_path)} for i in range(5)]
    spec = _spec(tmp_path, "dying_runner", points)
    s = run_sweep(spec, tmp_path / "out", workers=2, max_retries=1, allow_runner=True)
    assert (s.done, s.failed, s.pending) == (4, 1, 0)
    err = s.failures[0]["error"]
    assert s.failures[0]["params"]["x"] == 1 and err["type"] == "WorkerDied"
    assert "worker process died" in err["message"]


# ----------------------------------------------------------------------------- SIGKILL / Ctrl-C


def test_sigkill_part_way_then_resume_gives_every_run_once(tmp_path):
    points = [{"x": i, "sleep": 0.12} for i in range(24)]
    spec = _spec(tmp_path, "toy_runner", points)
    out = tmp_path / "out"
    proc = _start_sweep([spec, "--out", out, "--workers", "2", "--quiet"])
    try:
        _wait_for_records(out, 4, proc)
        os.kill(proc.pid, signal.SIGKILL)  # the driver only; its workers must notice and exit
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        partial = _records(out)
        assert 4 <= len(partial) < 24
        t0 = time.time()
        while _live_group_members(proc.pid) and time.time() - t0 < 10:
            time.sleep(0.1)
        assert not _live_group_members(proc.pid), "worker processes outlived the killed driver"
    finally:
        _cleanup(proc)

    # an earlier crash on a less careful filesystem: a half-written record and a stray temp file
    victim = sorted((out / "runs").glob("*.json"))[0]
    victim.write_text(victim.read_text()[:40])
    (out / "runs" / ".tmp-zzzz.json-1").write_text("{")
    assert main(["sweep-status", str(out)]) == 1

    proc = _start_sweep([spec, "--out", out, "--workers", "2", "--resume", "--quiet"])
    try:
        assert proc.wait(timeout=60) == 0, proc.communicate()
    finally:
        _cleanup(proc)
    names = sorted(p.name for p in (out / "runs").iterdir())
    assert len(names) == 24 and all(n.endswith(".json") for n in names)  # once each, no temp files
    assert len(list((out / "quarantine").iterdir())) == 1
    ref = tmp_path / "ref"
    run_sweep(spec, ref, workers=0, allow_runner=True)
    assert _results(out) == _results(ref)
    assert all(r["status"] == "ok" for r in _records(out).values())


def test_ctrl_c_stops_cleanly_and_resume_finishes(tmp_path):
    points = [{"x": i, "sleep": 0.2} for i in range(16)]
    spec = _spec(tmp_path, "toy_runner", points)
    out = tmp_path / "out"
    proc = _start_sweep([spec, "--out", out, "--workers", "2"])
    try:
        _wait_for_records(out, 2, proc)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert b"interrupted" in err
        t0 = time.time()
        while _live_group_members(proc.pid) and time.time() - t0 < 10:
            time.sleep(0.1)
        assert not _live_group_members(proc.pid)
    finally:
        _cleanup(proc)
    done = _records(out)
    assert 2 <= len(done) < 16 and all(r["status"] == "ok" for r in done.values())
    s = run_sweep(spec, out, workers=2, resume=True, allow_runner=True)
    assert s.ran == 16 - len(done) and s.done == 16
