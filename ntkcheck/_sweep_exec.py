"""Execution of sweep runs: one run in a process, and the schedulers that run many.

Private companion of :mod:`ntkcheck.sweep`.  :func:`execute` runs one task in the current
process and turns every failure into a record (never raising); the backends run tasks in this
process, in local worker processes (``spawn`` context, recreated when a worker dies) or on a
Dask distributed cluster, and hand each finished record to the driver's ``sink``, the only
writer of the store (:mod:`ntkcheck.store`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import os
import socket
import time
import traceback
from typing import Callable, NamedTuple

from threadpoolctl import threadpool_limits

from ._json import jsonable
from .store import canonical_json


class Task(NamedTuple):
    """One run of a sweep: its id, canonical parameters, replicate label and run seed."""

    run_id: str
    params: dict
    replicate: int
    seed: int


#: Runners a spec may name without ``--allow-runner``: the package's own.
BUILTIN_RUNNERS = ("ntkcheck.sweep:run_one", "ntkcheck.width:run_conclusion", "ntkcheck.jacot2018:run_deep")
#: Entry-point group under which installed packages declare further allowed runners.
RUNNER_ENTRY_POINTS = "ntkcheck.runners"


def allowed_runners() -> dict:
    """Name or ``module:function`` -> ``module:function`` of every runner a spec may name freely.

    The built-in runners, and the runners that installed packages declare as entry points of
    the group :data:`RUNNER_ENTRY_POINTS` (by entry-point name or by value).
    """
    out = {ref: ref for ref in BUILTIN_RUNNERS}
    try:
        eps = importlib.metadata.entry_points(group=RUNNER_ENTRY_POINTS)
    except Exception:  # noqa: BLE001 - broken distribution metadata must not break sweeps
        eps = ()
    for ep in eps:
        out.setdefault(ep.name, ep.value)
        out.setdefault(ep.value, ep.value)
    return out


def check_runner(ref: str, *, allow_any: bool = False) -> str:
    """The ``module:function`` of runner ``ref`` if a spec may use it; nothing is imported.

    A runner is code that the sweep imports and calls with the spec's parameters, so a spec —
    which may come from someone else — may name only an allowed runner (:func:`allowed_runners`);
    any other ``module:function`` needs ``allow_any=True`` (``ntkcheck sweep --allow-runner``).

    Raises
    ------
    ValueError
        ``ref`` is not allowed (the message lists the allowed runners and the opt-in).
    """
    allowed = allowed_runners()
    if ref in allowed:
        return allowed[ref]
    mod, sep, fn = str(ref).partition(":")
    if not sep or not mod or not fn:
        raise ValueError(f"`sweep.runner` must look like 'module:function' or name an installed runner, got {ref!r}.")
    if allow_any:
        return str(ref)
    raise ValueError(f"`sweep.runner` = {ref!r} is not an allowed runner. A runner is code that the sweep imports "
                     f"and runs, so a spec may only name the built-in runner(s) {list(BUILTIN_RUNNERS)} or a runner "
                     f"installed under the entry-point group {RUNNER_ENTRY_POINTS!r} "
                     f"({sorted(set(allowed) - set(BUILTIN_RUNNERS)) or 'none installed'}). To run another "
                     f"'module:function' from a spec you trust, pass --allow-runner (allow_runner=True).")


def resolve_runner(ref) -> Callable:
    """Import a runner from ``"module:function"`` (a callable is returned unchanged)."""
    if callable(ref):
        return ref
    mod, sep, fn = str(ref).partition(":")
    if not sep or not mod or not fn:
        raise ValueError(f"`sweep.runner` must look like 'module:function', got {ref!r}.")
    try:
        obj = getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"`sweep.runner` = {ref!r} cannot be imported: {exc}") from None
    if not callable(obj):
        raise TypeError(f"`sweep.runner` = {ref!r} is not callable.")
    return obj


# ----------------------------------------------------------------------------- execution


def execute(runner, task: Task, threads: int = 1, attempt: int = 1) -> dict:
    """Run one task in the current process and return its (unsealed) record; never raises.

    The runner's exception becomes a ``"failed"`` record with type, message and traceback; a
    ``KeyboardInterrupt`` inside the runner becomes status ``"interrupted"`` (not stored).
    BLAS/OpenMP pools and Numba's threads are limited to ``threads`` for the call (and recorded);
    the runner gets ``threads=`` if its signature accepts it.
    """
    fn = resolve_runner(runner)
    t0, c0 = time.time(), time.process_time()
    result, error, status = None, None, "ok"
    try:
        kw = {"threads": threads} if _accepts_threads(fn) else {}
        with threadpool_limits(limits=threads), _numba_threads(threads):
            result = jsonable(fn(dict(task.params), task.seed, **kw), nonfinite="keep")
        canonical_json(result)  # fail here, with the run's name, if not serialisable
    except KeyboardInterrupt:
        status = "interrupted"
    except Exception as exc:  # noqa: BLE001 - every failure of a run is recorded, none stops the sweep
        status, result = "failed", None
        error = dict(type=type(exc).__name__, message=str(exc), traceback=traceback.format_exc())
    return dict(run_id=task.run_id, params=task.params, replicate=task.replicate, seed=task.seed,
                status=status, result=result, error=error, attempts=int(attempt),
                host=socket.gethostname(), pid=os.getpid(), threads=int(threads),
                started=t0, elapsed=time.time() - t0, cpu=time.process_time() - c0, finished=time.time())


def failed_record(task: Task, message: str, *, kind: str = "WorkerDied", attempts: int = 1) -> dict:
    """A ``"failed"`` record for a run that could not be executed (e.g. its worker died)."""
    return dict(run_id=task.run_id, params=task.params, replicate=task.replicate, seed=task.seed,
                status="failed", result=None,
                error=dict(type=kind, message=message, traceback=""), attempts=int(attempts),
                host=socket.gethostname(), pid=os.getpid(), threads=0, started=time.time(),
                elapsed=0.0, finished=time.time())


class _numba_threads:
    """Limit Numba's parallel kernels (``prange``) to ``k`` threads inside the block."""

    def __init__(self, k):
        self.k = k

    def __enter__(self):
        import numba

        self.old = numba.get_num_threads()
        numba.set_num_threads(max(1, min(self.k, numba.config.NUMBA_NUM_THREADS)))

    def __exit__(self, *exc):
        import numba

        numba.set_num_threads(self.old)


def _accepts_threads(fn) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return "threads" in sig.parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# ----------------------------------------------------------------------------- backends


def _run_inline(tasks, fn, threads, sink):
    for t in tasks:
        rec = execute(fn, t, threads)
        if rec["status"] == "interrupted":
            raise KeyboardInterrupt
        sink(rec)


def _worker_init():
    """Local workers ignore SIGINT (the driver handles Ctrl-C) and exit when the driver dies."""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch():  # a driver killed by SIGKILL must not leave orphan workers behind
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="ntkcheck-parent-watch", daemon=True).start()


#: The worker pool kept between calls of :func:`_run_local` inside :func:`warm_pool` (else None).
_WARM: dict | None = None


class warm_pool:
    """Keep the local worker processes alive between sweeps run inside this context.

    A search that runs many small sweeps one after the other (``ntkcheck width``: one per width
    tried) would otherwise start new processes, and import NumPy/Numba in them, every time.
    """

    def __enter__(self):
        global _WARM
        self.outer, _WARM = _WARM, dict(pool=None, key=None)
        return self

    def __exit__(self, *exc):
        global _WARM
        pool = _WARM.get("pool") if _WARM else None
        _WARM = self.outer
        if pool is not None:
            if exc[0] is None:
                pool.shutdown(wait=True)
            else:
                _kill_pool(pool)
        return False


def _run_local(tasks, runner, workers, threads, max_retries, sink, log):
    """Process pool; a dead worker breaks the pool, which is recreated and its runs resubmitted.

    A run in flight when a worker died is resubmitted; after two such deaths it runs alone
    (so the culprit is known), and a run that kills its worker ``max_retries`` times while
    alone is recorded as failed.  At most ``2*workers`` runs are queued at a time.
    """
    import multiprocessing
    from collections import Counter, deque
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")
    queue, suspects = deque(tasks), deque()
    shared, alone = Counter(), Counter()
    inflight: dict = {}
    warm = _WARM if _WARM is not None and _WARM.get("key") in (None, (workers, runner)) else None
    pool = warm.pop("pool", None) if warm else None
    isolated = False

    def submit(t) -> bool:
        """Queue ``t`` on the pool; False if the pool broke since the last wait (a worker died)."""
        try:
            fut = pool.submit(execute, runner, t, threads, 1 + shared[t.run_id] + alone[t.run_id])
        except BrokenProcessPool:
            return False
        inflight[fut] = t
        return True

    try:
        while queue or suspects or inflight:
            if pool is None:
                pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init)
            broken = False
            if suspects and not inflight:
                isolated = True
                t = suspects.popleft()
                if not submit(t):
                    suspects.appendleft(t)
                    broken = True
            elif not suspects:
                isolated = False
                while queue and len(inflight) < 2 * workers:
                    t = queue.popleft()
                    if not submit(t):
                        queue.appendleft(t)
                        broken = True
                        break
            if broken and not inflight:  # nothing in flight to report the death: just renew the pool
                pool.shutdown(wait=False)
                pool = None
                continue
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            crashed = []
            for fut in done:
                t = inflight.pop(fut)
                exc = fut.exception()
                if isinstance(exc, BrokenProcessPool):
                    crashed.append(t)
                elif exc is not None:
                    sink(failed_record(t, f"could not run: {exc!r}", kind=type(exc).__name__))
                elif not sink(fut.result()):
                    queue.append(t)  # interrupted inside the worker: run it again
            if not crashed:
                continue
            for fut in list(inflight):  # the broken pool fails every other future too
                t = inflight.pop(fut)
                if fut.exception() is None:
                    sink(fut.result()) or queue.append(t)
                else:
                    crashed.append(t)
            for t in crashed:
                if isolated:
                    alone[t.run_id] += 1
                    if alone[t.run_id] >= max_retries:
                        sink(failed_record(t, f"the worker process died {alone[t.run_id]} time(s) while "
                                              "running this run alone (killed by a signal, out of memory, "
                                              "os._exit or a crash in native code?)",
                                           attempts=1 + shared[t.run_id] + alone[t.run_id]))
                    else:
                        suspects.append(t)
                else:
                    shared[t.run_id] += 1
                    (suspects.append if shared[t.run_id] >= 2 else queue.appendleft)(t)
            log(f"a worker process died; {len(crashed)} run(s) resubmitted to a new pool")
            pool.shutdown(wait=False)
            pool = None
    except KeyboardInterrupt:
        if pool is not None:
            for fut in inflight:
                fut.cancel()
            running = [f for f in inflight if not f.cancelled()]
            log(f"interrupted: waiting for {len(running)} running run(s); Ctrl-C again to abandon them")
            try:
                for fut in running:
                    if fut.exception() is None:
                        sink(fut.result())
            except KeyboardInterrupt:
                log("abandoning the running runs")
            finally:
                _kill_pool(pool)
                pool = None
        raise
    finally:
        if pool is not None:
            if warm is not None:  # kept for the next sweep of the context
                warm.update(pool=pool, key=(workers, runner))
            else:
                pool.shutdown(wait=True)


def _kill_pool(pool):
    procs = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.kill()
    for proc in procs:
        proc.join(timeout=5)


def _run_dask(tasks, runner, address, threads, max_retries, sink, log):
    """Dask distributed: one task per run; the scheduler re-runs tasks of dead workers."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ImportError("--scheduler needs dask.distributed, which is not installed; install it with "
                          "`pip install 'ntkcheck[dask]'` (or `pip install \"dask[distributed]\"`).") from None
    import uuid

    client = Client(address, timeout="30s", set_as_default=False)
    futs = {}
    try:
        tag = uuid.uuid4().hex[:8]
        for t in tasks:
            futs[client.submit(execute, runner, t, threads, key=f"ntkcheck-run-{t.run_id}-{tag}",
                               pure=False, retries=max_retries)] = t
        with client.as_current():
            done = as_completed(list(futs))
        for fut in done:
            t = futs[fut]
            try:
                rec = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: the run's workers kept dying
                rec = failed_record(t, f"dask could not run it: {exc!r}", kind=type(exc).__name__)
            if not sink(rec):
                sink(failed_record(t, "interrupted inside a dask worker", kind="Interrupted"))
    except KeyboardInterrupt:
        log("interrupted: cancelling the dask tasks")
        client.cancel(list(futs))
        raise
    finally:
        client.close()
