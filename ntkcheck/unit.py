"""One unit of work: train one configuration with one seed on one dataset, and summarise it.

``ntkcheck run`` (every seed of a run), the sweep's default runner (:func:`run_one`, every run
of a sweep) and every panel of ``ntkcheck reproduce`` call :func:`run_seed`, so a quantity has
exactly one definition and a run of one front end can be replayed by another:

* the parameters are the run parameters of :mod:`ntkcheck._params` (validated there, once);
* **the seed rule** (:data:`SEED_RULE`): run seed s (any integer >= 0, e.g. the 128-bit seed a
  sweep derives) gives ``init, masks, identities = numpy.random.SeedSequence(s).spawn(3)``:
  the initial network (:func:`ntkcheck.init_network`, docs/theory.md §1), the masks of LK22
  Algorithm 1 (:func:`ntkcheck.train`, §3) and the Monte-Carlo samples of the exact identities
  (§5) come from separate streams;
* the summary (:class:`RunSummary`) defines each measured quantity once: the plateau and the
  fitted contraction (:func:`ntkcheck.verify.plateau`, :func:`ntkcheck.verify.fit_contraction`),
  the largest weight movement over *all* steps, the fractions of global steps that show LK22
  Fig. 2(a)'s three movements, the smallest ``λ_min(H(W_k))`` — and, beside the measured
  plateau, the plateau the model of docs/theory.md §8 predicts from the same initial network
  (:func:`ntkcheck.predict_plateau`: bias + noise, [DERIVED]).

Data are loaded and checked (Assumption 1, λ0 and λ_max of H∞) once per process and dataset
(:func:`load_data`), so a sweep worker that runs many configurations on the same data loads
them once.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from dataclasses import asdict, dataclass, fields
from types import SimpleNamespace

import numpy as np

from ._config import NumericalWarning
from ._json import jsonable
from ._params import RECORD_PRESETS, canonical_params
from .assumptions import AssumptionReport, check_assumptions
from .data import Dataset, load_dataset, subset_rows
from .masks import SCHEMES, _resolve_scheme, theta as scheme_theta
from .network import init_network
from .ntk import ntk_infinite
from .plateau import PlateauPrediction, predict_plateau
from .train import TrainResult, train
from .verify import fit_contraction, measure_identities, plateau

__all__ = ["SEED_RULE", "LOSS_POINTS", "HEAD_STEPS", "DataContext", "Resolved", "RunSummary", "SeedRun",
           "load_data", "resolve", "seed_streams", "run_seed", "summarize", "movement_fractions",
           "run_one", "run_cost"]

#: The one seed rule of the package (``ntkcheck run``, sweeps and ``reproduce``).
SEED_RULE = "run seed s: init, masks, identities = numpy.random.SeedSequence(s).spawn(3)"
#: A summary keeps at most this many points of each per-step series (every ``stride``-th step).
LOSS_POINTS = 1001
#: The first global steps kept in full detail (sampled and local losses: the Fig. 2(a) view).
HEAD_STEPS = 6


@dataclass(frozen=True, eq=False)
class DataContext:
    """A dataset and its Assumption-1 report (λ0, λ_max of H∞), loaded once per process."""

    dataset: Dataset
    assumptions: AssumptionReport

    @functools.cached_property
    def h_inf(self) -> np.ndarray:
        """H∞ of the dataset (:func:`ntkcheck.ntk_infinite`), computed on first use and kept with the
        context (contexts are cached per process by :func:`load_data`)."""
        return ntk_infinite(self.dataset.X)


@dataclass(frozen=True)
class Resolved:
    """Data-dependent values of a configuration: the step η ("auto" = 1/λ_max(H∞)), ξ, θ, theorem."""

    eta: float
    xi: float
    kind: str
    theta: float
    theorem: str


def seed_streams(seed: int):
    """The three independent streams of run seed ``seed`` (:data:`SEED_RULE`).

    Examples
    --------
    >>> init, masks, ids = seed_streams(7)
    >>> init.spawn_key, masks.spawn_key
    ((0,), (1,))
    """
    return np.random.SeedSequence(int(seed)).spawn(3)


def load_data(data: str, target=None, normalize: bool = False, rows: int | None = None) -> DataContext:
    """Load a dataset spec and check Assumption 1, once per process (cached by spec and file stamp).

    A file is reloaded when its size or modification time changes.  ``rows`` keeps a nested
    random subset (:func:`ntkcheck.data.subset_rows`; λ0 and λ_max are those of the subset).
    """
    stamp = None
    path = data.partition(",")[0]
    if os.path.exists(path):
        st = os.stat(path)
        stamp = (st.st_size, st.st_mtime_ns)
    return _load_data_cached(data, target, bool(normalize), stamp, rows)


@functools.lru_cache(maxsize=8)
def _load_data_cached(data, target, normalize, stamp, rows=None) -> DataContext:
    ds = load_dataset(data, target=target, normalize=normalize)
    if rows is not None:
        ds = subset_rows(ds, rows)
    rep = check_assumptions(ds.X, ds.y, label_bound=max(1.0, float(np.abs(ds.y).max())))
    return DataContext(dataset=ds, assumptions=rep)


def resolve(params: dict, ctx: DataContext) -> Resolved:
    """η, ξ, the mask kind, θ and the theorem of canonical ``params`` on the data of ``ctx``."""
    kind, xi = _resolve_scheme(params["scheme"], params["p"], params["xi"], params["local_steps"])
    eta = 1.0 / ctx.assumptions.lam_max if params["eta"] == "auto" else float(params["eta"])
    theorem = params.get("theorem") or SCHEMES[params["scheme"]].theorem
    return Resolved(eta=float(eta), xi=float(xi), kind=kind, theta=scheme_theta(kind, xi, params["p"]),
                    theorem=theorem)


@dataclass(frozen=True)
class RunSummary:
    """What one run of LK22 Algorithm 1 measured; each quantity defined here once.

    Attributes
    ----------
    seed : int
        Run seed (:data:`SEED_RULE`).
    status : {"completed", "diverged", "interrupted"}
    message : str
    steps : int
        Global steps K completed.
    eta_resolved, theta : float
        The step η used (``"auto"`` resolved) and θ (docs/theory.md §2).
    initial_loss, final_loss, min_loss : float
        ``L_0``, ``L_K`` and ``min_k L_k`` of ``L_k = ‖y − ξ f(W_k, X)‖²``.
    plateau : float
        Mean of ``L_k`` over the last 10 % of the steps (:func:`ntkcheck.verify.plateau`).
    contraction : float
        Per-global-step factor fitted on the initial phase (:func:`ntkcheck.verify.fit_contraction`).
    contraction_window : tuple of int
        The steps ``(k_start, k_end)`` of that fit.
    mean_contraction : float
        ``(L_K / L_0)^{1/K}``.
    max_movement : float
        ``max_k max_r ‖w_r(k) − w_r(0)‖`` over all steps (compare with R, R' of DZPS19).
    local_movement_max : float
        ``max_{k,l,t,r} ‖w^l_{k,t,r} − w_{k,r}‖`` (LK22 Hypothesis 1).
    min_lam_full, min_lam_masked : float or None
        ``min_k λ_min(H(W_k))`` and the smallest masked-NTK ``λ_min`` (None unless recorded).
    frac_up_at_sampling, frac_down_local, frac_down_at_aggregation : float
        Fractions of global steps showing LK22 Fig. 2(a)'s three movements
        (:func:`movement_fractions`); NaN when K = 0.
    lam0, lam_max : float
        ``λ_min``, ``λ_max`` of the data's H∞.
    data_sha256 : str
        Hash of the data trained on.
    predicted_bias, predicted_noise, predicted_plateau : float or None
        The plateau model of docs/theory.md §8 [DERIVED] (:func:`ntkcheck.predict_plateau`, same
        initial network and step count): the mean over the same last-10 % window of the tracked
        loss along gradient descent on the implicit objective G (bias), the linear-response mask
        noise, and their sum (None when ``predict`` is off).
    plateau_ratio : float or None
        ``predicted_plateau / plateau`` (None unless both exist and the run completed).
    identities_ok : bool or None
        Every identity measured at ``W_K`` (§5, and §8.2 where first order applies) agrees (None:
        not measured; an identity skipped with its reason does not count).
    identities : tuple of dict
        Those measurements (:func:`ntkcheck.verify.measure_identities`).
    loss_stride : int
        The per-step series keep steps ``0, s, 2s, .., K`` with ``s = loss_stride``.
    loss, max_movement_series, lam_min_series : tuple of float
        ``L_k``, ``max_r ‖w_r(k) − w_r(0)‖`` and ``λ_min(H(W_k))`` (empty unless recorded)
        at those steps.
    head : dict
        The first :data:`HEAD_STEPS` global steps in detail: ``sampled_loss[k]`` and
        ``local_loss[k][t]`` (mean over the subnetworks after local step t+1).
    """

    seed: int
    status: str
    message: str
    steps: int
    eta_resolved: float
    theta: float
    initial_loss: float
    final_loss: float
    min_loss: float
    plateau: float
    contraction: float
    contraction_window: tuple
    mean_contraction: float
    max_movement: float
    local_movement_max: float
    min_lam_full: float | None
    min_lam_masked: float | None
    frac_up_at_sampling: float
    frac_down_local: float
    frac_down_at_aggregation: float
    lam0: float
    lam_max: float
    data_sha256: str
    predicted_bias: float | None
    predicted_noise: float | None
    predicted_plateau: float | None
    plateau_ratio: float | None
    identities_ok: bool | None
    identities: tuple
    loss_stride: int
    loss: tuple
    max_movement_series: tuple
    lam_min_series: tuple
    head: dict

    def to_dict(self) -> dict:
        """Plain dict of Python scalars and lists (NaN kept as float)."""
        return jsonable(asdict(self), nonfinite="keep")

    @classmethod
    def from_dict(cls, d: dict) -> RunSummary:
        """Rebuild a summary from :meth:`to_dict` output (e.g. a sweep record's ``result``)."""
        names = {f.name for f in fields(cls)}
        missing = sorted(names - set(d))
        if missing:
            raise ValueError(f"not a run summary: missing {missing}")
        kw = {k: d[k] for k in names}
        for k in ("contraction_window", "identities", "loss", "max_movement_series", "lam_min_series"):
            kw[k] = tuple(kw[k])
        return cls(**kw)

    @property
    def loss_steps(self) -> np.ndarray:
        """The steps k of :attr:`loss` and the other series."""
        return _kept_steps(self.steps, self.loss_stride)

    def view(self) -> SimpleNamespace:
        """A trajectory-like view (``loss``, ``max_movement``, ``lam_min_full``, ``sampled_loss``,
        ``local_loss``, ``steps``) for the plots of :mod:`ntkcheck.plotting`."""
        f = lambda v: np.asarray(v, dtype=float)  # noqa: E731
        H = len(self.head["sampled_loss"])
        local = f(self.head["local_loss"]).reshape(H, -1, 1) if H else np.zeros((0, 1, 1))
        return SimpleNamespace(loss=f(self.loss), max_movement=f(self.max_movement_series),
                               lam_min_full=f(self.lam_min_series) if self.lam_min_series else None,
                               lam_min_masked=None, sampled_loss=f(self.head["sampled_loss"]), local_loss=local,
                               head_loss=f(self.head["loss"]), steps=self.steps)


@dataclass(frozen=True, eq=False)
class SeedRun:
    """One run: its canonical parameters, seed, summary, and the full :class:`~ntkcheck.TrainResult`."""

    params: dict
    seed: int
    resolved: Resolved
    summary: RunSummary
    result: TrainResult


def run_seed(params: dict, seed: int, *, data: DataContext | None = None, threads: int | None = None,
             progress: bool = False) -> SeedRun:
    """Train one configuration with one seed and summarise it (the unit of work).

    Parameters
    ----------
    params : dict
        Run parameters (:data:`ntkcheck._params.RUN_PARAMS`; missing ones take their defaults).
    seed : int
        Run seed, ``>= 0`` (:data:`SEED_RULE`).
    data : DataContext, optional
        Preloaded data (default: :func:`load_data` of ``params["data"]``).
    threads : int, optional
        Threads of :func:`ntkcheck.train` (results do not depend on it).
    progress : bool, default False
        Progress of the training on stderr.

    Returns
    -------
    SeedRun

    Examples
    --------
    >>> run = run_seed({"data": "sphere:n=10,d=3", "m": 32, "steps": 5, "scheme": "gd",
    ...                 "record": "loss", "identity_samples": 0}, seed=1)
    >>> run.summary.status, len(run.summary.loss)
    ('completed', 6)
    """
    params = canonical_params(params)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be an integer >= 0, got {seed!r}.")
    seed = int(seed)
    ctx = data if data is not None else load_data(params["data"], params["target"], params["normalize"])
    rs = resolve(params, ctx)
    ds = ctx.dataset
    init_ss, mask_ss, id_ss = seed_streams(seed)
    net = init_network(ds.d, params["m"], kappa=params["kappa"], rng=init_ss)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalWarning)  # divergence is in the status
        res = train(ds.X, ds.y, net, scheme=params["scheme"], eta=rs.eta, global_steps=params["steps"],
                    local_steps=params["local_steps"], p=params["p"], xi=rs.xi, rng=mask_ss,
                    record=RECORD_PRESETS[params["record"]], progress=progress, n_threads=threads)
        pred = None
        if params["predict"]:  # the §8 model from the same initial network (warnings: inf values)
            pred = predict_plateau(ds.X, ds.y, net, scheme=params["scheme"], eta=rs.eta,
                                   global_steps=params["steps"], local_steps=params["local_steps"],
                                   p=params["p"], xi=rs.xi)
    ids = []
    if params["identity_samples"] and res.status != "diverged":
        ids = measure_identities(ds.X, ds.y, np.asarray(res.W), net.a, kind=rs.kind, xi=rs.xi,
                                 p=params["p"], tau=params["local_steps"], eta=rs.eta,
                                 samples=params["identity_samples"], rng=id_ss)
    summary = summarize(res, seed=seed, resolved=rs, data=ctx, identities=ids, prediction=pred)
    return SeedRun(params=params, seed=seed, resolved=rs, summary=summary, result=res)


def summarize(result: TrainResult, *, seed: int, resolved: Resolved, data: DataContext,
              identities=(), prediction: PlateauPrediction | None = None) -> RunSummary:
    """The :class:`RunSummary` of a training result (every quantity's one definition)."""
    tr = result.trajectory
    K = tr.steps
    loss = np.asarray(tr.loss, dtype=float)
    measured = plateau(loss)
    bias = noise = total = ratio = None
    if prediction is not None:
        bias, noise = plateau(prediction.bias_trajectory), float(prediction.noise)
        total = bias + noise
        if result.status == "completed" and measured > 0 and math.isfinite(total):
            ratio = total / measured
    fit = fit_contraction(loss)
    up, down, agg = movement_fractions(tr)
    stride = max(1, math.ceil(K / (LOSS_POINTS - 1))) if K else 1
    idx = _kept_steps(K, stride)
    H = min(HEAD_STEPS, K)
    finite = loss[np.isfinite(loss)]
    mean_c = (float((loss[-1] / loss[0]) ** (1.0 / K)) if K and loss[0] > 0 and np.isfinite(loss[-1])
              else math.nan)
    lam_full = tr.lam_min_full
    return RunSummary(
        seed=int(seed), status=result.status, message=result.message, steps=K,
        eta_resolved=resolved.eta, theta=float(tr.theta),
        initial_loss=float(loss[0]), final_loss=float(loss[-1]),
        min_loss=float(finite.min()) if finite.size else math.nan, plateau=measured,
        contraction=fit["factor"], contraction_window=(fit["k_start"], fit["k_end"]),
        mean_contraction=mean_c,
        max_movement=float(np.nanmax(tr.max_movement)),
        local_movement_max=float(np.max(tr.local_movement)) if K else 0.0,
        min_lam_full=None if lam_full is None else float(np.nanmin(lam_full)),
        min_lam_masked=None if tr.lam_min_masked is None or not tr.lam_min_masked.size
        else float(np.nanmin(tr.lam_min_masked)),
        frac_up_at_sampling=up, frac_down_local=down, frac_down_at_aggregation=agg,
        lam0=float(data.assumptions.lam0_hat), lam_max=float(data.assumptions.lam_max),
        data_sha256=data.dataset.sha256,
        predicted_bias=bias, predicted_noise=noise, predicted_plateau=total, plateau_ratio=ratio,
        identities_ok=None if not identities else all(i["ok"] is not False for i in identities),
        identities=tuple(identities),
        loss_stride=int(stride), loss=tuple(loss[idx].tolist()),
        max_movement_series=tuple(np.asarray(tr.max_movement, float)[idx].tolist()),
        lam_min_series=() if lam_full is None else tuple(np.asarray(lam_full, float)[idx].tolist()),
        head=dict(loss=loss[: H + 1].tolist(), sampled_loss=np.asarray(tr.sampled_loss[:H]).tolist(),
                  local_loss=np.asarray(tr.local_loss[:H]).mean(axis=2).tolist()),
    )


def movement_fractions(tr) -> tuple[float, float, float]:
    """Fractions of global steps with LK22 Fig. 2(a)'s three movements (docs/theory.md §3).

    Up at sampling (mean sampled loss > ``L_k``), down during the local steps (mean local loss
    after the last local step < mean sampled loss), down at aggregation (``L_{k+1}`` < that mean
    local loss).  NaN for K = 0.
    """
    K = tr.steps
    if K == 0:
        return math.nan, math.nan, math.nan
    local_end = np.asarray(tr.local_loss)[:, -1, :].mean(axis=1)
    up = np.mean(tr.sampled_loss > tr.loss[:-1])
    down = np.mean(local_end < tr.sampled_loss)
    agg = np.mean(tr.loss[1:] < local_end)
    return float(up), float(down), float(agg)


def run_one(params: dict, seed: int, *, threads: int = 1) -> dict:
    """The sweep's default runner: :func:`run_seed`, returning ``RunSummary.to_dict()``.

    Raises ``KeyboardInterrupt`` when the training was interrupted (the sweep then keeps no
    record of the run and redoes it on ``--resume``).

    Examples
    --------
    >>> out = run_one({"data": "sphere:n=10,d=3", "m": 32, "steps": 5, "scheme": "gd",
    ...                "record": "loss", "identity_samples": 0}, seed=1)
    >>> out["status"], len(out["loss"])
    ('completed', 6)
    """
    run = run_seed(params, seed, threads=threads)
    if run.summary.status == "interrupted":
        raise KeyboardInterrupt
    return run.summary.to_dict()


def run_cost(params: dict) -> float:
    """Relative cost of a run (for scheduling only): neuron-point products per training step
    (ξ·p·m·n per local step) plus the plateau prediction (m·n per step); the data size is taken
    from a built-in sphere spec, else assumed equal across runs."""
    n = _spec_n(params["data"])
    xi = 1.0 if params["xi"] is None else params["xi"]
    per_step = params["local_steps"] * max(1.0, xi * params["p"]) * params["m"] * n
    return float(params["steps"] * (per_step + (params["m"] * n if params["predict"] else 0.0)) + params["m"] * n)


def _spec_n(data: str) -> float:
    kind, _, rest = data.partition(":")
    if kind == "sphere":
        for item in rest.split(","):
            key, _, value = item.partition("=")
            if key.strip() == "n" and value.strip().isdigit():
                return float(value)
    return 100.0


run_one.validate = canonical_params
run_one.cost = run_cost


def _kept_steps(K: int, stride: int) -> np.ndarray:
    return np.unique(np.r_[np.arange(0, K + 1, stride), K])
