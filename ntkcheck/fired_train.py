"""Full-network training of the shifted-ReLU network on its fired pairs: Gauss-Newton and GD (DHSWZ22).

Mathematics (docs/theory.md §9; Deng, Hu, Song, Weinstein, Zhuo 2022, arXiv 2208.04508).  With
``f_b(W, x) = m^{-1/2} Σ_r a_r σ_b(<w_r, x>)``, ``σ_b(z) = max(z − b, 0)``, the Jacobian row i,
block r, is ``m^{-1/2} a_r 1{<w_r, x_i> >= b} x_i`` and ``J Jᵀ = H_b(W)`` exactly.  One step is

    gradient descent:  W ← W − η Jᵀ (f − y)
    Gauss-Newton:      W ← W − η Jᵀ (H_b(W) + μ I)^{-1} (f − y)      (Brand, Peng, Song, Weinstein 2021)

and a neuron that fires on no point never moves again (``U_{t+1} ⊆ U_t``).  The steps are run by
an engine of :mod:`ntkcheck.fired` (``"sparse"``: only the fired pairs and the pairs the margin
rule cannot rule out; ``"dense"``: all ``m n``), which also keeps the firing diagnostics.

:func:`ntkcheck.train` hands such runs to :func:`train_fired` (validation, configuration, the
:class:`~ntkcheck.TrainResult`), which runs the loop :func:`run_fired`.
"""

from __future__ import annotations

import hashlib
import numbers
import time
import warnings

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from ._config import NumericalWarning
from ._params import check_param, check_step_size
from ._progress import DeferSigint, Progress
from ._validation import check_scalar
from .fired import ENGINES
from .trajectory import DIVERGENCE_FACTOR, KernelStats, Trajectory, TrainResult, bools, check_record

__all__ = ["train_fired", "run_fired", "FIRED_SCHEMES", "FIRED_ITEMS"]

#: Schemes a fired-pair engine runs (full network: p = 1, ξ = 1, τ = 1, no masks).
FIRED_SCHEMES = ("gauss-newton", "gd")
#: Record items a fired-pair engine supports (besides its firing diagnostics).
FIRED_ITEMS = ("lam_min_full", "lam_certified_full")


def run_fired(X, y, a, W0, *, scheme, eta, steps, shift, damping, engine, kernel_stats, progress,
              divergence_factor):
    """Run ``steps`` iterations of ``scheme`` on a fired-pair engine; inputs are already validated.

    ``kernel_stats`` is None or ``(items, fn)``: ``fn(H)`` returns one value per recorded item
    (e.g. ``λ_min``) of the Gauss-Newton matrix ``H = H_b(W_t)`` at every iterate.

    Returns
    -------
    dict
        ``W`` (final weights, a copy), ``arrays`` (trajectory arrays cut to the steps completed:
        ``loss``, ``fired_min/mean/max``, ``union_size``, ``max_movement``, ``frobenius_movement``,
        ``status_changes``, ``pairs_rechecked``, ``step_seconds``, and one array per item of
        ``kernel_stats``),
        ``status``, ``message``, ``init_seconds``, ``completed``.

    Raises
    ------
    ValueError
        Every neuron is silent at ``shift`` (U is empty: nothing can train), or Gauss-Newton without
        damping starts from a singular ``H_b(W_0)`` (the message names the points no neuron fires
        on, if that is why).  Raised after the engine's initialisation, before the first step.
    """
    n = X.shape[0]
    K = steps
    eng = ENGINES[engine](X, a, W0, shift)
    try:
        if eng.union_size() == 0:
            raise ValueError(
                f"no neuron fires on any point at shift={shift!r} (U is empty): every gradient is 0 and "
                f"nothing can train; lower `shift` (the expected firing fraction is Phi(-shift/kappa)) or "
                f"raise the width.")
        stats_on = kernel_stats is not None  # kernel statistics of H_b(W_t) are recorded
        arr = _Arrays(K, kernel_stats)
        gn = scheme == "gauss-newton"
        f = eng.outputs()
        H = eng.gram() if (gn or stats_on) else None
        if gn:
            factor = _factor(H, damping)
            if factor is None:
                silent = np.flatnonzero(eng.fired_counts() == 0)
                why = (f"no neuron fires on point(s) {silent[:10].tolist()}{' ...' if silent.size > 10 else ''} "
                       f"({silent.size} of {n}), so their rows of H_b are 0" if silent.size else
                       "H_b(W_0) is numerically singular")
                raise ValueError(
                    f"the Gauss-Newton system H_b(W_0) + damping*I is singular with damping={damping!r} at "
                    f"shift={shift!r}: {why}. Pass damping > 0 (e.g. 1e-6 * trace(H)/n), lower `shift`, or "
                    f"raise the width.")
        arr.state(0, f - y, eng, H if stats_on else None)
        loss_scale = max(float(arr.loss[0]), float(y @ y), np.finfo(float).tiny)
        status, message = "completed", f"completed {K} iterations"
        bar = Progress(K, "train", enabled=progress)
        try:
            with np.errstate(all="ignore"):
                for k in range(K):
                    t0 = time.perf_counter()
                    r = f - y
                    if gn:
                        if k > 0:
                            factor = _factor(H, damping)
                        if factor is None:
                            status = "singular"
                            message = (f"the Gauss-Newton system H_b(W_{k}) + damping*I became singular at "
                                       f"iteration {k + 1} (damping={damping!r}); the {k} iterations before it "
                                       f"are returned. Pass damping > 0.")
                            warnings.warn(message, NumericalWarning, stacklevel=3)
                            break
                        c = eta * cho_solve(factor, r, check_finite=False)
                    else:
                        c = eta * r
                    with DeferSigint():
                        info = eng.step(c)
                        f = eng.outputs()
                        H = eng.gram() if (gn or stats_on) else None
                        seconds = time.perf_counter() - t0
                        arr.state(k + 1, f - y, eng, H if stats_on else None)
                        arr.step(k, info, seconds)
                    if not np.isfinite(arr.loss[k + 1]) or arr.loss[k + 1] > divergence_factor * loss_scale:
                        status = "diverged"
                        message = (f"training diverged at iteration {k + 1}: the loss {arr.loss[k + 1]!r} is not "
                                   f"finite or exceeds {divergence_factor:g} x max(L_0, ||y||^2); eta={eta!r} is "
                                   f"probably too large. The trajectory up to that step is returned.")
                        warnings.warn(message, NumericalWarning, stacklevel=3)
                        break
                    bar.update(k + 1, loss=float(arr.loss[k + 1]))
        except KeyboardInterrupt:
            status = "interrupted"
            message = f"interrupted by the user after {arr.K} of {K} iterations; the partial run is returned."
        finally:
            bar.close(message if status != "completed" else None)
        return dict(W=np.array(eng.W), arrays=arr.cut(), status=status, message=message,
                    init_seconds=float(eng.init_seconds), completed=arr.K)
    finally:
        eng.close()


def _factor(H, damping):
    """Cholesky factor of ``H + μI``, or None when it is not numerically positive definite."""
    A = H + damping * np.eye(H.shape[0]) if damping else H
    if not np.isfinite(A).all():
        return None
    try:
        return cho_factor(A, lower=True, check_finite=False)
    except LinAlgError:
        return None


class _Arrays:
    """Preallocated trajectory arrays of a fired-pair run; ``K`` counts the completed steps."""

    def __init__(self, K, kernel_stats):
        nan = np.nan
        self.K = 0
        self.loss = np.full(K + 1, nan)
        self.fired_min = np.full(K + 1, nan)
        self.fired_mean = np.full(K + 1, nan)
        self.fired_max = np.full(K + 1, nan)
        self.union_size = np.full(K + 1, nan)
        self.max_movement = np.full(K + 1, nan)
        self.frobenius_movement = np.full(K + 1, nan)
        self.status_changes = np.full(K, nan)
        self.pairs_rechecked = np.full(K, nan)
        self.step_seconds = np.full(K, nan)
        self.items, self.fn = kernel_stats if kernel_stats is not None else ((), None)
        self.kstats = {i: np.full(K + 1, nan) for i in self.items}

    def state(self, k, res, eng, H):
        self.loss[k] = float(res @ res)
        counts = eng.fired_counts()
        self.fired_min[k], self.fired_mean[k], self.fired_max[k] = counts.min(), counts.mean(), counts.max()
        self.union_size[k] = eng.union_size()
        self.max_movement[k] = eng.max_movement()
        self.frobenius_movement[k] = eng.frobenius_movement()
        if H is not None and np.isfinite(H).all():
            for item, v in zip(self.items, self.fn(H)):
                self.kstats[item][k] = v

    def step(self, k, info, seconds):
        self.status_changes[k] = info["changes"]
        self.pairs_rechecked[k] = info["rechecked"]
        self.step_seconds[k] = seconds
        self.K = k + 1

    def cut(self) -> dict:
        K = self.K
        out = {}
        for name in ("loss", "fired_min", "fired_mean", "fired_max", "union_size", "max_movement",
                     "frobenius_movement"):
            out[name] = getattr(self, name)[: K + 1].copy()
        for item, v in self.kstats.items():
            out[item] = v[: K + 1].copy()
        for name in ("status_changes", "pairs_rechecked", "step_seconds"):
            out[name] = getattr(self, name)[:K].copy()
        return out


def train_fired(X, y, net, W0, a, *, scheme, eta, global_steps, local_steps, p, xi, masks, record, progress,
                 shift, damping, engine, lam_threshold) -> TrainResult:
    """``train`` for the fired-pair engines (:mod:`ntkcheck.fired_train`): validate, run, wrap."""
    if scheme not in FIRED_SCHEMES:
        raise ValueError(f"`engine` runs the full network, scheme 'gd' or 'gauss-newton'; got scheme={scheme!r} "
                         f"with engine={engine!r} (masked schemes run on Algorithm 1's engine: leave `engine` unset).")
    engine = "sparse" if engine is None else engine
    if engine not in ENGINES:
        raise ValueError(f"`engine` must be one of {sorted(ENGINES)}, got engine={engine!r}.")
    eta = check_step_size(eta)
    K = check_param("steps", global_steps, label="global_steps")
    for name, value, ok in (("local_steps", local_steps, local_steps == 1), ("p", p, p == 1),
                            ("xi", xi, xi is None or xi == 1.0), ("masks", masks, masks is None)):
        if not ok:
            raise ValueError(f"scheme={scheme!r} on a fired-pair engine trains the full network (p = 1, xi = 1, "
                             f"local_steps = 1, no masks); got {name}={value!r}.")
    damping = float(check_scalar(damping, "damping", numbers.Real, min_val=0.0))
    if scheme != "gauss-newton" and damping != 0.0:
        raise ValueError(f"`damping` is the mu of scheme='gauss-newton' only, got damping={damping!r} with "
                         f"scheme={scheme!r}.")
    if isinstance(record, str):
        items = tuple(i for i in check_record(record) if i in FIRED_ITEMS)
    else:
        items = check_record(record)
        bad = [i for i in items if i not in FIRED_ITEMS]
        if bad:
            raise ValueError(f"`record` items {bad} need Algorithm 1's engine; a fired-pair engine records "
                             f"{list(FIRED_ITEMS)} on top of its firing diagnostics.")
    n, d = X.shape
    m = W0.shape[0]
    config = dict(
        scheme=scheme, kind="full", eta=eta, global_steps=K, local_steps=1, p=1, xi=1.0, theta=1.0,
        record=list(items), n=n, d=d, m=m, kappa=float(net.kappa), shift=shift, damping=damping, engine=engine,
        init_seed=net.seed, mask_seed=None, masks=None,
        data_sha256=hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest(),
    )
    stats = KernelStats(X, shift, items, lam_threshold, 1.0, float(net.kappa))
    config["lam_threshold"] = stats.t
    kernel_stats = (tuple(stats.full_items), lambda H: stats.values(H, stats.full_items, stats.t)) \
        if stats.full_items else None
    out = run_fired(X, y, a, W0, scheme=scheme, eta=eta, steps=K, shift=shift, damping=damping, engine=engine,
                    kernel_stats=kernel_stats, progress=bool(progress), divergence_factor=DIVERGENCE_FACTOR)
    config["init_seconds"] = out["init_seconds"]
    config["steps_completed"] = Kc = out["completed"]
    A = out["arrays"]
    loss = A["loss"]

    def ro(v):
        if v is None:
            return None
        v = np.asarray(v, dtype=np.float64)
        v.setflags(write=False)
        return v

    traj = Trajectory(
        loss=ro(loss), sampled_loss=ro(loss[:-1]), local_loss=ro(loss[1:].reshape(Kc, 1, 1)),
        max_movement=ro(A["max_movement"]), frobenius_movement=ro(A["frobenius_movement"]),
        local_movement=ro(np.full(Kc, np.nan)), neurons_uncovered=ro(np.zeros(Kc)), neurons_shared=ro(np.zeros(Kc)),
        neurons_mean_count=ro(np.ones(Kc)), neurons_max_count=ro(np.ones(Kc)), subnet_size=ro(np.full((Kc, 1), m)),
        theta=1.0, xi=1.0, lam_min_full=ro(A.get("lam_min_full")),
        lam_certified_full=bools(ro(A.get("lam_certified_full"))), lam_threshold=stats.t,
        **{k: ro(A[k]) for k in ("fired_min", "fired_mean", "fired_max", "union_size", "status_changes",
                                 "pairs_rechecked", "step_seconds")},
    )
    W = out["W"]
    W.setflags(write=False)
    return TrainResult(W=W, network=net, seed=None, config=config, trajectory=traj, status=out["status"],
                       message=out["message"])
