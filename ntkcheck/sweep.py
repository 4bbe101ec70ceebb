"""Parameter sweeps of LK22 Algorithm 1: spec, seed derivation, default runner, scheduling.

A sweep is a list of runs; a run is ``(params, replicate)`` and a *runner* maps
``(params, seed) -> result`` (a JSON-serialisable dict of scalars and small arrays).  The
default runner :func:`run_one` is the package's one unit of work (:func:`ntkcheck.unit.run_seed`):
its parameters are those of ``ntkcheck run`` (:data:`ntkcheck._params.RUN_PARAMS`: ``data``
— a sphere spec, ``digits:n=300`` or a file —, ``scheme``, ``m``, ``kappa``, ``eta``, ``steps``,
``local_steps``, ``p``, ``xi``, ``record``, ``identity_samples``, ...), its result the
:class:`ntkcheck.unit.RunSummary`, and :func:`replay_config` turns any record into the
``ntkcheck run`` configuration that reproduces it bit for bit.

Specification (TOML)::

    [sweep]
    seed = 2022            # sweep seed (required, int >= 0)
    seeds = 3              # replicates: a count, or a list of int replicate labels
    runner = "ntkcheck.sweep:run_one"   # optional: a built-in or installed runner (see below)
    name = "xi-p grid"     # optional

    [fixed]                # parameters shared by every run (optional)
    data = "sphere:n=100,d=10,seed=0"
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
``run_id`` is the first 16 hex digits of the same hash without the sweep seed.  The runner
splits the run seed into its streams by the package's one seed rule
(:data:`ntkcheck.unit.SEED_RULE`), so ``ntkcheck run`` with ``seeds = [<run seed>]`` replays it.

Runners are code.  A spec may name only the built-in runner or a runner that an installed
package declares under the entry-point group ``ntkcheck.runners``; any other ``module:function``
is refused unless the caller opts in (``ntkcheck sweep --allow-runner``, ``allow_runner=True``),
because the sweep imports and calls it with the spec's parameters.  Reading a store
(:func:`sweep_status`, ``sweep-report``, ``sweep-status --show``) never imports a runner.

Scheduling: local worker processes (``spawn`` context) or a Dask distributed cluster; the
driver process alone writes the store (:mod:`ntkcheck.store`).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import os
import socket
import time
from dataclasses import dataclass


from ._io import parse_toml, read_text
from ._params import canonical_params
from ._progress import Progress
from ._sweep_exec import (
    Task,
    _cpus,
    _run_dask,
    _run_inline,
    _run_local,
    BUILTIN_RUNNERS,
    check_runner,
    execute,
    resolve_runner,
)
from ._validation import check_int, check_scalar
from .experiment import RunConfig
from .masks import _resolve_scheme
from .store import FORMAT_V1, Store, canonical_json
from .unit import run_one


__all__ = ["Sweep", "Task", "SweepSummary", "load_spec", "parse_spec", "derive_seed", "run_id_of",
           "run_one", "validate_params", "DEFAULT_RUNNER", "SWEEP_FORMAT", "resolve_runner",
           "execute", "run_sweep", "sweep_status", "replay_config", "find_record", "check_scheduler", "MAX_RUNS"]

#: The runner used when the spec names none.
DEFAULT_RUNNER = "ntkcheck.sweep:run_one"

#: Format of a store's ``sweep.json`` written by this version (format 1 stores are read, not resumed).
SWEEP_FORMAT = "ntkcheck.sweep/2"
#: A spec that expands to more runs than this is refused unless the caller raises the cap
#: (``--max-runs N``): the count is taken before anything is expanded in memory.
MAX_RUNS = 100_000
_SCHEDULER_RE = re.compile(r"^(tcp|tls|ws|wss|ucx|inproc)://[A-Za-z0-9_.\-\[\]:]+$")
_SPEC_KEYS = {"sweep", "fixed", "grid", "points"}
#: What a sweep store holds (a folder with anything else is not ours to write into).
_STORE_ENTRIES = {"runs", "quarantine", "spec.toml", "sweep.json", "tasks.txt", "index.csv", "report"}
_SWEEP_KEYS = {"seed", "seeds", "runner", "name"}


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


def load_spec(path, *, legacy: bool = False, allow_runner: bool = False, read_only: bool = False,
              max_runs: int | None = MAX_RUNS) -> Sweep:
    """Read and expand the sweep specification at ``path`` (see :func:`parse_spec`)."""
    text = read_text(path, what="sweep spec")  # a regular file below the size cap, UTF-8
    return parse_spec(text, source=str(path), legacy=legacy, allow_runner=allow_runner, read_only=read_only,
                      max_runs=max_runs)


def parse_spec(text: str, *, source: str = "<spec>", legacy: bool = False, allow_runner: bool = False,
               read_only: bool = False, max_runs: int | None = MAX_RUNS) -> Sweep:
    """Parse and expand a TOML sweep specification; validate every configuration.

    The spec's runner must be allowed (:func:`ntkcheck._sweep_exec.check_runner`; any
    ``module:function`` with ``allow_runner=True``); its ``validate`` canonicalises the
    parameters.  ``read_only=True`` reads a store's spec without importing anything but the
    built-in runner: the configurations of another runner are then left as written (their
    run ids come from the store's task list).  ``legacy=True`` reads the spec of a format-1 store
    (ntkcheck 0.1's default-runner parameters), to count and replay its runs.  The runs are
    counted before anything is expanded; more than ``max_runs`` (None: no cap) is an error.

    Raises
    ------
    ValueError, TypeError
        Malformed TOML, unknown or missing fields, bad values (the message names the field
        and the configuration), or a configuration listed twice.
    """
    spec = parse_toml(text, source=source)  # nesting depth capped
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
        replicates = range(check_int(seeds, "sweep.seeds", min_val=1))  # a range: nothing expanded yet
    runner_ref = head.get("runner", DEFAULT_RUNNER)
    if not isinstance(runner_ref, str):
        raise TypeError(f"`sweep.runner` must be a string 'module:function', got {runner_ref!r}.")
    if legacy:
        validate = _validate_params_v1 if runner_ref == DEFAULT_RUNNER else None
    elif read_only:
        validate = getattr(resolve_runner(runner_ref), "validate", None) if runner_ref in BUILTIN_RUNNERS else None
    else:
        runner_ref = check_runner(runner_ref, allow_any=allow_runner)
        validate = getattr(resolve_runner(runner_ref), "validate", None)
    name = str(head.get("name", ""))

    fixed = _table(spec.get("fixed", {}), "fixed")
    raw = []  # (where, params)
    grids = spec.get("grid")
    grids = [] if grids is None else grids if isinstance(grids, list) else [grids]
    points = spec.get("points", []) or []
    sizes = [math.prod(len(v) if isinstance(v, list) else 1 for v in g.values()) if isinstance(g, dict) else 1
             for g in grids]
    total = (sum(sizes) + (len(points) if isinstance(points, list) else 1) or 1) * len(replicates)
    if max_runs is not None and total > max_runs:
        raise ValueError(f"{source}: the spec expands to {total:,} runs ({' + '.join(map(str, sizes)) or 0} grid "
                         f"configuration(s) + {len(points) if isinstance(points, list) else 1} point(s), x "
                         f"{len(replicates):,} replicate(s)), above the cap of {max_runs:,}. Pass --max-runs "
                         f"{total} (max_runs={total}) to run it anyway.")
    replicates = tuple(replicates)
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
    for pi, point in enumerate(points):
        point = _table(point, f"points[{pi}]")
        raw.append((f"[[points]] entry {pi}", {**fixed, **point}))
    if not raw:
        raw.append(("[fixed]", dict(fixed)))

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
    """Canonical parameters of :func:`run_one` (:func:`ntkcheck._params.canonical_params`).

    Defaults filled in, aliases resolved, types checked and ``xi`` resolved to the scheme's
    value, so equal runs have equal parameters however they were written.

    Raises
    ------
    ValueError, TypeError
        An unknown name, or a value :func:`ntkcheck.train` / :func:`ntkcheck.init_network`
        would refuse (checked before any run starts).
    """
    return canonical_params(params)


def replay_config(record: dict):
    """The ``ntkcheck run`` configuration (:class:`~ntkcheck.experiment.RunConfig`) that replays a record.

    Its single seed is the record's run seed, so ``ntkcheck run --config`` of its TOML gives a
    bit-identical trajectory (same seed rule, :data:`ntkcheck.unit.SEED_RULE`).  Records of
    format-1 stores (parameters ``n, d, data_seed, labels, global_steps``) are translated.

    Raises
    ------
    ValueError
        The record was made by a runner other than the default one.
    """
    params = dict(record["params"])
    if record.get("format") == FORMAT_V1:
        params = _v1_to_run_params(params)
    try:
        return RunConfig(**params, seeds=[int(record["seed"])])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"run {record['run_id']} was not made by the default runner, so `ntkcheck run` "
                         f"cannot replay it ({exc}).") from None


def find_record(out, run_id: str) -> dict:
    """The valid record of run ``run_id`` (or a unique prefix of it) in the store ``out``."""
    store = Store(out)
    store.read_meta()
    run_id = str(run_id).strip()
    scan = store.scan()
    hits = sorted(r for r in scan.records if r.startswith(run_id)) if run_id else []
    if not hits:
        raise ValueError(f"{store.root} holds no record of run {run_id!r} (`ntkcheck sweep-status DIR` lists "
                         f"the failures; runs.csv of `sweep-report` lists every run_id).")
    if len(hits) > 1:
        raise ValueError(f"run id prefix {run_id!r} is ambiguous in {store.root}: {hits[:5]}.")
    return scan.records[hits[0]]


# Format-1 stores (ntkcheck 0.1): the default runner drew sphere data from n, d, data_seed, labels
# and split the run seed as SeedSequence(seed).spawn(2) -- the first two streams of today's rule.
_V1_DEFAULTS = dict(n=50, d=10, m=256, kappa=1.0, data_seed=0, labels="teacher", scheme="gd", eta=0.5,
                    global_steps=100, local_steps=1, p=1, xi=None)
_V1_INTS = {"n": 2, "d": 2, "m": 1, "data_seed": 0, "global_steps": 0, "local_steps": 1, "p": 1}


def _validate_params_v1(params: dict) -> dict:
    """The canonical parameters of a format-1 spec (read-only: status and replay of old stores)."""
    unknown = sorted(set(params) - set(_V1_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown run parameter(s) {unknown}; known: {sorted(_V1_DEFAULTS)}.")
    p = {**_V1_DEFAULTS, **params}
    for k, lo in _V1_INTS.items():
        p[k] = check_int(p[k], k, min_val=lo)
    for k in ("kappa", "eta"):
        p[k] = float(check_scalar(p[k], k, min_val=0.0, closed="neither"))
    if p["xi"] is not None:
        p["xi"] = float(check_scalar(p["xi"], "xi", min_val=0.0, max_val=1.0, closed="right"))
    _, p["xi"] = _resolve_scheme(p["scheme"], p["p"], p["xi"], p["local_steps"])
    p["xi"] = float(p["xi"])
    return dict(sorted(p.items()))


def _v1_to_run_params(p: dict) -> dict:
    return dict(data=f"sphere:n={p['n']},d={p['d']},seed={p['data_seed']},labels={p['labels']}",
                m=p["m"], kappa=p["kappa"], scheme=p["scheme"], eta=p["eta"], steps=p["global_steps"],
                local_steps=p["local_steps"], p=p["p"], xi=p["xi"], record="loss", identity_samples=0)


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
              max_retries: int = 2, runner=None, progress: bool = False, log=None,
              allow_runner: bool = False, max_runs: int | None = MAX_RUNS) -> SweepSummary:
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
    max_runs : int or None, default MAX_RUNS
        Refuse a spec that expands to more runs (counted before expansion); None: no cap.
    allow_runner : bool, default False
        Let the spec name any ``module:function`` runner, not only the allowed ones (a runner is
        code: only for specs you trust).
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
    if scheduler is not None:
        check_scheduler(scheduler)
    store = Store(out)
    if not store.exists() and store.root.is_dir():
        foreign = sorted(e.name for e in store.root.iterdir() if e.name not in _STORE_ENTRIES)
        if foreign:
            raise ValueError(f"--out {str(store.root)!r} holds files that are not a sweep store ({', '.join(foreign[:5])}); "
                             "nothing was written. Choose a new or empty folder.")
    if store.exists():
        fmt = store.read_meta().get("format")
        if fmt != SWEEP_FORMAT:
            raise ValueError(f"{store.root} holds a sweep of format {fmt!r}, written by an earlier ntkcheck; "
                             f"this version reads it (sweep-status, sweep-report, sweep-status --show) but "
                             f"cannot continue it. Use another --out.")
    sweep = spec if isinstance(spec, Sweep) else load_spec(spec, allow_runner=allow_runner, max_runs=max_runs)
    runner_ref = runner if runner is not None else sweep.runner
    fn = resolve_runner(runner_ref)
    max_retries = check_int(max_retries, "max_retries", min_val=0)
    cpus = _cpus()
    if scheduler is None:
        workers = cpus if workers is None else check_int(workers, "workers", min_val=0)
    threads = (1 if scheduler else max(1, cpus // max(workers, 1))) if threads is None \
        else check_int(threads, "threads", min_val=1)

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
        meta = {**ident, "format": SWEEP_FORMAT, "created": time.time(), "launches": []}
    store.create_dirs()
    store.write_spec(sweep.text)
    store.write_tasks([t.run_id for t in sweep.tasks])
    store.clean_temporary()
    scan = store.scan(quarantine=True)
    if scan.corrupt:
        log(f"{len(scan.corrupt)} corrupt record(s) moved to {store.quarantine} and redone: "
            + "; ".join(f"{n} ({why})" for n, why in scan.corrupt[:3]))
    todo = [t for t in sweep.tasks if t.run_id not in scan.records
            or (retry_failed and scan.records[t.run_id]["status"] == "failed")]
    cost = getattr(fn, "cost", None)
    if cost is not None and (scheduler or workers):
        # longest first (LPT): the last runs to finish are short ones, so workers end together;
        # results do not depend on the order (each run's seed is its own)
        todo.sort(key=lambda t: -cost(t.params))
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


def check_scheduler(address) -> str:
    """A Dask scheduler address ``scheme://host[:port]`` (tcp, tls, ws, wss, ucx, inproc), checked
    before connecting (a malformed address would otherwise be retried until a timeout)."""
    if not isinstance(address, str) or not _SCHEDULER_RE.match(address.strip()):
        raise ValueError(f"`--scheduler` must be a Dask scheduler address like tcp://127.0.0.1:8786, "
                         f"got {address!r}.")
    return address.strip()


def sweep_status(out) -> SweepSummary:
    """Counts of the sweep in ``out`` against its ``spec.toml`` (corrupt records count as pending)."""
    store = Store(out)
    meta = store.read_meta()
    sweep = load_spec(store.spec_path, legacy=meta.get("format") != SWEEP_FORMAT, read_only=True)
    ids = None if sweep.runner in BUILTIN_RUNNERS or meta.get("format") != SWEEP_FORMAT else store.read_tasks()
    scan = store.scan()
    return _summarise(sweep, scan.records, len(scan.corrupt), ids=ids)


def _summarise(sweep: Sweep, records: dict, corrupt: int, *, ran: int = 0, elapsed: float = 0.0, ids=None):
    ids = {t.run_id for t in sweep.tasks} if ids is None else set(ids)
    mine = [records[i] for i in ids if i in records]
    failures = tuple(sorted((r for r in mine if r["status"] == "failed"), key=lambda r: r["run_id"]))
    done = sum(r["status"] == "ok" for r in mine)
    return SweepSummary(total=len(ids), done=done, failed=len(failures), pending=len(ids) - len(mine),
                        corrupt=corrupt, extra=len(set(records) - ids), failures=failures, ran=ran,
                        elapsed=elapsed)


class _Bar:
    def __init__(self, total, enabled):
        self.bar = Progress(total, "sweep", enabled=enabled)
        self.count = self.failed = 0

    def update(self, status):
        self.count += 1
        self.failed += status == "failed"
        self.bar.update(self.count, failed=self.failed)

    def close(self):
        self.bar.close()
