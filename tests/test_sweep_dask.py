"""Sweeps on a real Dask cluster: ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1.

The cluster runs the default runner; its records must equal the local ones number for number
(run seeds depend only on the sweep seed, parameters and replicate).  All traffic stays on
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ntkcheck.cli import main
from ntkcheck.store import Store
from ntkcheck.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]

SPEC = """
[sweep]
seed = 3
seeds = 2
[fixed]
data = "sphere:n=16,d=4,seed=0"
m = 48
scheme = "bernoulli"
eta = 0.5
steps = 10
record = "loss"
identity_samples = 0
local_steps = 2
[grid]
xi = [0.5, 1.0]
p = [1, 3]
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask_cli():
    exe = shutil.which("dask", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    return [exe] if exe else [sys.executable, "-m", "dask"]


@contextlib.contextmanager
def _cluster(tmp, *, nanny: bool):
    """A scheduler and one worker process (2 threads) on 127.0.0.1; torn down in ``finally``."""
    pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'ntkcheck[dask]')")
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    logs = [open(tmp / "scheduler.log", "wb"), open(tmp / "worker.log", "wb")]
    procs = []
    try:
        procs.append(subprocess.Popen(
            [*_dask_cli(), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            cwd=tmp, env=env, stdout=logs[0], stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen(
            [*_dask_cli(), "worker", address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "2",
             "--no-dashboard", "--nanny" if nanny else "--no-nanny", "--local-directory", str(tmp / "worker"),
             "--death-timeout", "60"],
            cwd=ROOT, env=env, stdout=logs[1], stderr=subprocess.STDOUT))
        deadline = time.time() + 60
        while True:
            try:
                with Client(address, timeout="5s", set_as_default=False) as client:
                    client.wait_for_workers(1, timeout=max(1.0, deadline - time.time()))
                break
            except (OSError, TimeoutError) as exc:
                if time.time() > deadline or any(p.poll() is not None for p in procs):
                    text = "".join(Path(f.name).read_text(errors="replace")[-2000:] for f in logs)
                    pytest.fail(f"dask cluster did not start: {exc!r}\n{text}")
                time.sleep(0.5)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=15)
        for f in logs:
            f.close()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    with _cluster(tmp_path_factory.mktemp("dask"), nanny=False) as address:
        yield address


def _results(out):
    scan = Store(out).scan()
    assert scan.corrupt == []
    return {rid: (r["params"], r["replicate"], r["seed"], r["status"], r["result"])
            for rid, r in scan.records.items()}


def test_dask_cluster_sweep_equals_local(dask_cluster, tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    on_dask = run_sweep(spec, tmp_path / "dask", scheduler=dask_cluster)
    local = run_sweep(spec, tmp_path / "local", workers=2)
    assert (on_dask.done, on_dask.failed, on_dask.pending) == (8, 0, 0)
    assert (local.done, local.failed, local.pending) == (8, 0, 0)
    rd, rl = _results(tmp_path / "dask"), _results(tmp_path / "local")
    assert rd == rl and len(rd) == 8  # identical numbers, bit for bit
    launches = Store(tmp_path / "dask").read_meta()["launches"]
    assert launches[-1]["backend"] == "dask" and launches[-1]["scheduler"] == dask_cluster
    # the runs really executed in the worker process, not in this one
    assert {r["pid"] for r in Store(tmp_path / "dask").scan().records.values()} - {os.getpid()}


def test_cli_on_dask_resume_redoes_a_half_written_record(dask_cluster, tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--scheduler", dask_cluster, "--quiet"]) == 0
    victim = sorted((out / "runs").glob("*.json"))[0]
    victim.write_text("{\"run_id\":")  # half-written
    capsys.readouterr()
    assert main(["sweep", str(spec), "--out", str(out), "--scheduler", dask_cluster, "--resume", "--quiet"]) == 0
    assert "done     8" in capsys.readouterr().out
    assert len(_results(out)) == 8


def test_missing_dask_gives_a_clear_message(tmp_path, monkeypatch, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:1",
                 "--quiet"]) == 2
    assert "pip install 'ntkcheck[dask]'" in capsys.readouterr().err


@pytest.mark.slow
def test_dask_worker_death_is_retried(tmp_path):
    """A run that kills its worker once (os._exit) is rerun by the scheduler after the nanny restarts it."""
    from tests.test_sweep_failures import _spec

    points = [{"x": i, "die": "once" if i == 1 else "", "marker_dir": str(tmp_path)} for i in range(4)]
    spec = _spec(tmp_path, "dying_runner", points)
    with _cluster(tmp_path, nanny=True) as address:
        s = run_sweep(spec, tmp_path / "dask", scheduler=address, allow_runner=True)
    assert (tmp_path / "died-1").exists()
    assert (s.done, s.failed, s.pending) == (4, 0, 0)
    run_sweep(spec, tmp_path / "ref", workers=0, allow_runner=True)
    assert _results(tmp_path / "dask") == _results(tmp_path / "ref")
