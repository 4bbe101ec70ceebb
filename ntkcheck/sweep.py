"""Parameter sweeps of LK22 Algorithm 1: spec, seed derivation, default runner, scheduling.

A sweep is a list of runs; a run is ``(params, replicate)`` and a *runner* maps
``(params, seed) -> result`` (a JSON-serialisable dict of scalars and small arrays).  The
default runner :func:`run_one` draws data on the unit sphere with labels from a random
teacher, initialises the network (:func:`ntkcheck.init_network`, theory.md §1), trains it
with :func:`ntkcheck.train` (Algorithm 1, theory.md §3) and summarises the trajectory.

Specification (TOML)::

    [sweep]
    seed = 2022            # sweep seed (required, int >= 0)
    seeds = 3              # replicates: a count, or a list of int replicate labels
    runner = "ntkcheck.sweep:run_one"   # optional "module:function"
    name = "xi-p grid"     # optional

    [fixed]                # parameters shared by every run (optional)
    scheme = "bernoulli"
    local_steps = 2

    [grid]                 # cartesian product (optional); [[grid]] tables give a union
    xi = [0.25, 0.5, 1.0]
    p = [1, 2, 4]

    [[points]]             # explicit configurations (optional), each merged over [fixed]
    scheme = "gd"

Seeds.  Run seed = the first 128 bits (little endian) of
``sha256(canonical_json({"params": P, "replicate": r, "sweep_seed": s}))`` with ``P`` the
run's canonical parameters (defaults filled in, types normalised, keys sorted).  The runner
builds ``np.random.SeedSequence(seed)`` from it.  A run's seed therefore depends on nothing
but the sweep seed, its parameters and its replicate label: not on the worker count, the
order of the grid, the attempt or the machine (Python's salted ``hash()`` is never used).
``run_id`` is the first 16 hex digits of the same hash without the sweep seed.

Scheduling: local worker processes (``spawn`` context) or a Dask distributed cluster; the
driver process alone writes the store (:mod:`ntkcheck.store`).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._validation import check_int, check_scalar
from ._sweep_exec import (
    _cpus,
    _run_dask,
    _run_inline,
    _run_local,
    execute,
    resolve_runner,
)
from .store import Store, canonical_json

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Sweep", "Task", "SweepSummary", "load_spec", "parse_spec", "derive_seed", "run_id_of",
           "run_one", "validate_params", "DEFAULT_PARAMS", "DEFAULT_RUNNER", "resolve_runner",
           "execute", "run_sweep", "sweep_status"]

#: The runner used when the spec names none.
DEFAULT_RUNNER = "ntkcheck.sweep:run_one"

#: Parameters of :func:`run_one` and their defaults (``xi=None``: the scheme's default).
DEFAULT_PARAMS = dict(n=50, d=10, m=256, kappa=1.0, data_seed=0, labels="teacher", scheme="gd", eta=0.5,
                      global_steps=100, local_steps=1, p=1, xi=None)
_INT_PARAMS = {"n": 2, "d": 2, "m": 1, "data_seed": 0, "global_steps": 0, "local_steps": 1, "p": 1}
_SPEC_KEYS = {"sweep", "fixed", "grid", "points"}
_SWEEP_KEYS = {"seed", "seeds", "runner", "name"}
_LOSS_POINTS = 1001  # a result keeps at most this many points of the loss trajectory


class Task(NamedTuple):
    """One run of a sweep."""

    run_id: str
    params: dict
    replicate: int
    seed: int


@dataclass(frozen=True)
class Sweep:
    """An expanded sweep specification (see the module docstring).

    Attributes
    ----------
    seed : int
        Sweep seed.
    replicates : tuple of int
        Replicate labels.
    runner : str
        ``"module:function"`` of the runner.
    configs : tuple of dict
        Canonical parameters of every configuration, in spec order.
    tasks : tuple of Task
        ``configs × replicates``.
    text : str
        The spec's TOML text (copied into the store).
    name : str
    """

    seed: int
    replicates: tuple
    runner: str
    configs: tuple
    tasks: tuple
    text: str
    name: str = ""


# ----------------------------------------------------------------------------- spec


def load_spec(path) -> Sweep:
    """Read and expand the sweep specification at ``path`` (see :func:`parse_spec`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"sweep spec {str(path)!r} does not exist.") from None
    return parse_spec(text, source=str(path))


def parse_spec(text: str, *, source: str = "<spec>") -> Sweep:
    """Parse and expand a TOML sweep specification; validate every configuration.

    Raises
    ------
    ValueError, TypeError
        Malformed TOML, unknown or missing fields, bad values (the message names the field
        and the configuration), or a configuration listed twice.
    """
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise ValueError(f"{source}: unknown top-level field(s) {unknown}; expected {sorted(_SPEC_KEYS)}.")
    head = spec.get("sweep")
    if not isinstance(head, dict):
        raise ValueError(f"{source}: a [sweep] table with at least `seed` is required.")
    bad = sorted(set(head) - _SWEEP_KEYS)
    if bad:
        raise ValueError(f"{source}: unknown field(s) {bad} in [sweep]; expected {sorted(_SWEEP_KEYS)}.")
    if "seed" not in head:
        raise ValueError(f"{source}: `sweep.seed` is required (an int >= 0, e.g. seed = 0).")
    seed = check_int(head["seed"], "sweep.seed", min_val=0)
    seeds = head.get("seeds", 1)
    if isinstance(seeds, list):
        if not seeds:
            raise ValueError("`sweep.seeds` must be a positive count or a non-empty list of ints, got [].")
        replicates = tuple(check_int(s, f"sweep.seeds[{i}]", min_val=0) for i, s in enumerate(seeds))
        if len(set(replicates)) != len(replicates):
            raise ValueError(f"`sweep.seeds` must not repeat a label, got {list(replicates)}.")
    else:
        replicates = tuple(range(check_int(seeds, "sweep.seeds", min_val=1)))
    runner_ref = head.get("runner", DEFAULT_RUNNER)
    if not isinstance(runner_ref, str):
        raise TypeError(f"`sweep.runner` must be a string 'module:function', got {runner_ref!r}.")
    runner = resolve_runner(runner_ref)
    name = str(head.get("name", ""))

    fixed = _table(spec.get("fixed", {}), "fixed")
    raw = []  # (where, params)
    grids = spec.get("grid")
    grids = [] if grids is None else grids if isinstance(grids, list) else [grids]
    for gi, grid in enumerate(grids):
        label = "grid" if len(grids) == 1 else f"grid[{gi}]"
        grid = _table(grid, label)
        for key, vals in grid.items():
            if not isinstance(vals, list) or not vals:
                raise ValueError(f"`{label}.{key}` must be a non-empty list of values, got {vals!r}.")
            if key in fixed:
                raise ValueError(f"`{key}` is both in [fixed] and in [{label}]; keep one.")
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            point = dict(zip(keys, combo))
            raw.append((f"[{label}] combination {point}", {**fixed, **point}))
    for pi, point in enumerate(spec.get("points", []) or []):
        point = _table(point, f"points[{pi}]")
        raw.append((f"[[points]] entry {pi}", {**fixed, **point}))
    if not raw:
        raw.append(("[fixed]", dict(fixed)))

    validate = getattr(runner, "validate", None)
    configs, seen = [], {}
    for where, params in raw:
        if validate is not None:
            try:
                params = validate(params)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{source}: {where}: {exc}") from None
        key = canonical_json(params)
        if key in seen:
            raise ValueError(f"{source}: {where} repeats the configuration of {seen[key]}: {params}.")
        seen[key] = where
        configs.append(params)
    tasks = tuple(Task(run_id_of(c, r), c, r, derive_seed(seed, c, r)) for c in configs for r in replicates)
    return Sweep(seed=seed, replicates=replicates, runner=runner_ref, configs=tuple(configs),
                 tasks=tasks, text=text, name=name)


def derive_seed(sweep_seed: int, params: dict, replicate: int) -> int:
    """The 128-bit seed of a run, from the sweep seed, its canonical parameters and replicate.

    Examples
    --------
    >>> derive_seed(0, {"a": 1, "b": 2.0}, 0) == derive_seed(0, {"b": 2.0, "a": 1}, 0)
    True
    """
    body = canonical_json({"params": params, "replicate": int(replicate), "sweep_seed": int(sweep_seed)})
    return int.from_bytes(hashlib.sha256(body.encode("ascii")).digest()[:16], "little")


def run_id_of(params: dict, replicate: int) -> str:
    """Stable identifier of a run: 16 hex digits of the hash of its parameters and replicate."""
    body = canonical_json({"params": params, "replicate": int(replicate)})
    return hashlib.sha256(body.encode("ascii")).hexdigest()[:16]


def _table(obj, label: str) -> dict:
    if not isinstance(obj, dict):
        raise TypeError(f"`{label}` must be a TOML table of name = value, got {type(obj).__name__}.")
    return dict(obj)


# ----------------------------------------------------------------------------- default runner


def validate_params(params: dict) -> dict:
    """Canonical parameters of :func:`run_one`: defaults filled in, types checked and normalised.

    ``xi`` is resolved to the scheme's value (1 for ``"gd"``, 1/p for IST), so equal runs have
    equal parameters however they were written (``xi = 1`` and ``xi = 1.0`` agree).

    Raises
    ------
    ValueError, TypeError
        An unknown name, or a value :func:`ntkcheck.train` / :func:`ntkcheck.init_network`
        would refuse (checked before any run starts).
    """
    from .masks import _resolve_scheme

    unknown = sorted(set(params) - set(DEFAULT_PARAMS))
    if unknown:
        raise ValueError(f"unknown run parameter(s) {unknown}; known: {sorted(DEFAULT_PARAMS)}.")
    p = {**DEFAULT_PARAMS, **params}
    for k, lo in _INT_PARAMS.items():
        p[k] = check_int(p[k], k, min_val=lo)
    p["kappa"] = float(check_scalar(p["kappa"], "kappa", min_val=0.0, closed="neither"))
    p["eta"] = float(check_scalar(p["eta"], "eta", min_val=0.0, closed="neither"))
    for k in ("scheme", "labels"):
        if not isinstance(p[k], str):
            raise TypeError(f"`{k}` must be a string, got {p[k]!r}.")
    if p["labels"] not in ("teacher", "random"):
        raise ValueError(f"`labels` must be one of ['teacher', 'random'], got labels={p['labels']!r}.")
    if p["xi"] is not None:
        p["xi"] = float(check_scalar(p["xi"], "xi", min_val=0.0, max_val=1.0, closed="right"))
    _, p["xi"] = _resolve_scheme(p["scheme"], p["p"], p["xi"], p["local_steps"])
    p["xi"] = float(p["xi"])
    return dict(sorted(p.items()))


def run_one(params: dict, seed: int, *, threads: int = 1) -> dict:
    """Default runner: data, network, LK22 Algorithm 1, and a summary of the trajectory.

    Parameters
    ----------
    params : dict
        Run parameters (:data:`DEFAULT_PARAMS`): data ``n, d, data_seed, labels``
        (:func:`ntkcheck.data.sphere`: uniform on the sphere, random-teacher or random-sign
        labels); width ``m`` and
        scale ``kappa``; the keyword arguments ``scheme, eta, global_steps, local_steps, p,
        xi`` of :func:`ntkcheck.train`.
    seed : int
        Run seed; ``SeedSequence(seed).spawn(2)`` gives the initialisation and mask streams.
        The data depend on ``data_seed`` only, so every run of a sweep sees the same data.
    threads : int, default 1
        Threads of :func:`ntkcheck.train` (results do not depend on it).

    Returns
    -------
    dict
        ``train_status`` ("completed" or "diverged"), ``steps``, ``initial_loss``,
        ``final_loss`` (``L_K = ‖y − ξ f(W_K, X)‖²``), ``min_loss``, ``loss`` (the trajectory,
        every ``loss_stride``-th step, at most 1001 points), ``contraction`` (least-squares
        fit of ``log L_k ≈ a + k log ρ`` over the finite positive losses: the fitted per-step
        factor ρ), ``mean_contraction`` (``(L_K/L_0)^{1/K}``), ``max_movement``
        (``max_r ‖w_r(K) − w_r(0)‖``), ``local_movement_max``, ``theta``, and ``lam0``,
        ``lam_max`` of the infinite-width NTK of the data (DZPS19's λ0).

    Examples
    --------
    >>> out = run_one({"n": 10, "d": 3, "m": 32, "global_steps": 5}, seed=1)
    >>> out["train_status"], len(out["loss"])
    ('completed', 6)
    """
    from . import eigenvalue_extremes, init_network, ntk_infinite, train
    from ._config import NumericalWarning

    p = validate_params(params)
    X, y = _dataset(p["n"], p["d"], p["data_seed"], p["labels"])
    init_ss, mask_ss = np.random.SeedSequence(int(seed)).spawn(2)
    net = init_network(p["d"], p["m"], kappa=p["kappa"], rng=init_ss)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalWarning)  # divergence is in the record
        res = train(X, y, net, scheme=p["scheme"], eta=p["eta"], global_steps=p["global_steps"],
                    local_steps=p["local_steps"], p=p["p"], xi=p["xi"], rng=mask_ss, record="loss",
                    n_threads=threads)
    if res.status == "interrupted":
        raise KeyboardInterrupt
    tr = res.trajectory
    lam0, lam_max = eigenvalue_extremes(ntk_infinite(X))
    loss = np.asarray(tr.loss)
    K = tr.steps
    stride = max(1, math.ceil(K / (_LOSS_POINTS - 1))) if K else 1
    idx = np.unique(np.r_[np.arange(0, K + 1, stride), K])
    return dict(
        train_status=res.status, steps=K, initial_loss=float(loss[0]), final_loss=float(loss[-1]),
        min_loss=float(np.nanmin(loss)), loss=[float(v) for v in loss[idx]], loss_stride=int(stride),
        contraction=_fit_contraction(loss), mean_contraction=_mean_contraction(loss),
        max_movement=float(tr.max_movement[-1]),
        local_movement_max=float(np.max(tr.local_movement)) if K else 0.0,
        theta=float(tr.theta), lam0=float(lam0), lam_max=float(lam_max),
    )


run_one.validate = validate_params


def _dataset(n: int, d: int, data_seed: int, labels: str):
    """Built-in data of :func:`ntkcheck.data.sphere` (``sphere:n=..,d=..,seed=data_seed``)."""
    from .data import sphere

    ds = sphere(n, d, labels=labels, rng=data_seed)
    return ds.X, ds.y


def _fit_contraction(loss: np.ndarray) -> float:
    k = np.arange(loss.size, dtype=np.float64)
    ok = np.isfinite(loss) & (loss > 0)
    if ok.sum() < 2:
        return math.nan
    slope = np.polyfit(k[ok], np.log(loss[ok]), 1)[0]
    return float(np.exp(slope))


def _mean_contraction(loss: np.ndarray) -> float:
    K = loss.size - 1
    if K < 1 or not (np.isfinite(loss[-1]) and loss[0] > 0 and loss[-1] >= 0):
        return math.nan
    return float((loss[-1] / loss[0]) ** (1.0 / K))


# ----------------------------------------------------------------------------- driver


@dataclass(frozen=True)
class SweepSummary:
    """Counts after :func:`run_sweep` or :func:`sweep_status`.

    Attributes
    ----------
    total, done, failed, pending : int
        Runs in the spec; with an ``"ok"`` record; with a ``"failed"`` record; with none.
    corrupt : int
        Corrupt records found (quarantined and redone by the sweep; counted as pending).
    extra : int
        Valid records of runs not in the current spec.
    failures : list of dict
        The failed records.
    ran : int
        Runs executed by this call (0 for :func:`sweep_status`).
    elapsed : float
        Seconds.
    """

    total: int
    done: int
    failed: int
    pending: int
    corrupt: int = 0
    extra: int = 0
    failures: tuple = ()
    ran: int = 0
    elapsed: float = 0.0


def run_sweep(spec, out, *, workers: int | None = None, scheduler: str | None = None,
              resume: bool = False, retry_failed: bool = False, threads: int | None = None,
              max_retries: int = 2, runner=None, progress: bool = False, log=None) -> SweepSummary:
    """Run (or resume) a sweep into the store at ``out``.

    Parameters
    ----------
    spec : str, path-like or Sweep
        Path of SPEC.toml, or an expanded :class:`Sweep`.
    out : str or path-like
        Store directory (:mod:`ntkcheck.store`).
    workers : int, optional
        Local worker processes (default: the CPUs available); 0 runs in this process.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:port``); then ``workers`` is ignored.
    resume : bool, default False
        Continue the sweep already in ``out`` (finished runs are skipped). Without it an
        existing sweep in ``out`` is an error.  The spec may differ from the stored one if
        the sweep seed and runner agree (e.g. a grid extended by new values): records are
        keyed by run, so only the new runs execute, and ``spec.toml`` is replaced.
    retry_failed : bool, default False
        Also redo runs recorded as failed.
    threads : int, optional
        BLAS/train threads per run (default: ``cpus // workers``, at least 1; 1 on Dask).
    max_retries : int, default 2
        Worker deaths a run may suffer before it is recorded as failed.
    runner : callable, optional
        Override the spec's runner (must be importable by the workers).
    progress : bool, default False
        Progress line on stderr.
    log : callable, optional
        ``log(str)`` for messages (default: ignore).

    Returns
    -------
    SweepSummary

    Raises
    ------
    ValueError
        Bad spec or options, or ``out`` holds a sweep with another sweep seed or runner.
    KeyboardInterrupt
        After a clean stop (finished records are kept).
    """
    t_start = time.time()
    log = log or (lambda msg: None)
    sweep = spec if isinstance(spec, Sweep) else load_spec(spec)
    runner_ref = runner if runner is not None else sweep.runner
    fn = resolve_runner(runner_ref)
    max_retries = check_int(max_retries, "max_retries", min_val=0)
    cpus = _cpus()
    if scheduler is None:
        workers = cpus if workers is None else check_int(workers, "workers", min_val=0)
    threads = (1 if scheduler else max(1, cpus // max(workers, 1))) if threads is None \
        else check_int(threads, "threads", min_val=1)

    store = Store(out)
    ident = {"sweep_seed": sweep.seed, "runner": sweep.runner}
    if store.exists():
        meta = store.read_meta()
        if not resume:
            raise ValueError(f"{store.root} already holds a sweep; pass --resume to continue it, "
                             "or choose another --out.")
        for key, val in ident.items():
            if meta.get(key) != val:
                raise ValueError(f"{store.root} holds a sweep with `{key}` = {meta.get(key)!r}, the spec "
                                 f"has {val!r}; its records would not match. Use another --out.")
    else:
        meta = {**ident, "format": "ntkcheck.sweep/1", "created": time.time(), "launches": []}
    store.create_dirs()
    store.write_spec(sweep.text)
    store.clean_temporary()
    scan = store.scan(quarantine=True)
    if scan.corrupt:
        log(f"{len(scan.corrupt)} corrupt record(s) moved to {store.quarantine} and redone: "
            + "; ".join(f"{n} ({why})" for n, why in scan.corrupt[:3]))
    todo = [t for t in sweep.tasks if t.run_id not in scan.records
            or (retry_failed and scan.records[t.run_id]["status"] == "failed")]
    meta["launches"].append(dict(time=time.time(), host=socket.gethostname(), pid=os.getpid(),
                                 backend="dask" if scheduler else ("inline" if workers == 0 else "processes"),
                                 scheduler=scheduler, workers=None if scheduler else workers,
                                 threads_per_run=threads, runs=len(todo), corrupt=len(scan.corrupt)))
    store.write_meta(meta)
    log(f"sweep {sweep.name or store.root}: {len(sweep.tasks)} runs, {len(sweep.tasks) - len(todo)} "
        f"already finished, {len(todo)} to run "
        + (f"on {scheduler}" if scheduler else f"with {workers} worker process(es)" if workers
           else "in this process")
        + f", {threads} thread(s) per run")

    bar = _Bar(len(todo), progress)
    records = dict(scan.records)

    def sink(rec):
        if rec["status"] == "interrupted":
            return False
        records[rec["run_id"]] = store.write(rec)
        bar.update(rec["status"])
        return True

    try:
        if todo:
            if scheduler:
                _run_dask(todo, runner_ref, scheduler, threads, max_retries, sink, log)
            elif workers == 0:
                _run_inline(todo, fn, threads, sink)
            else:
                _run_local(todo, runner_ref, workers, threads, max_retries, sink, log)
    finally:
        bar.close()
        try:
            store.to_csv()
        except Exception as exc:  # noqa: BLE001 - the index is derived; the records are what count
            log(f"could not write {store.root / 'index.csv'}: {exc}")
    summary = _summarise(sweep, records, len(scan.corrupt), ran=bar.count, elapsed=time.time() - t_start)
    log(f"done {summary.done}, failed {summary.failed}, pending {summary.pending} "
        f"({summary.ran} run(s) in {summary.elapsed:.1f} s)")
    return summary


def sweep_status(out) -> SweepSummary:
    """Counts of the sweep in ``out`` against its ``spec.toml`` (corrupt records count as pending)."""
    store = Store(out)
    store.read_meta()
    sweep = load_spec(store.spec_path)
    scan = store.scan()
    return _summarise(sweep, scan.records, len(scan.corrupt))


def _summarise(sweep: Sweep, records: dict, corrupt: int, *, ran: int = 0, elapsed: float = 0.0):
    ids = {t.run_id for t in sweep.tasks}
    mine = [records[i] for i in ids if i in records]
    failures = tuple(sorted((r for r in mine if r["status"] == "failed"), key=lambda r: r["run_id"]))
    done = sum(r["status"] == "ok" for r in mine)
    return SweepSummary(total=len(ids), done=done, failed=len(failures), pending=len(ids) - len(mine),
                        corrupt=corrupt, extra=len(set(records) - ids), failures=failures, ran=ran,
                        elapsed=elapsed)


class _Bar:
    def __init__(self, total, enabled):
        from ._progress import Progress

        self.bar = Progress(total, "sweep", enabled=enabled)
        self.count = self.failed = 0

    def update(self, status):
        self.count += 1
        self.failed += status == "failed"
        self.bar.update(self.count, failed=self.failed)

    def close(self):
        self.bar.close()
