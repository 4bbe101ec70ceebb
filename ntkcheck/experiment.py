"""Run one training scheme over several seeds and write a replayable results folder.

A :class:`RunConfig` fixes the data, the scheme of LK22 Algorithm 1 (theory.md §2–§3), the width
m, the scale κ, the step η, K global steps of τ local steps with p subnetworks and keep
probability ξ, and the seeds.  :func:`run_seed` trains one seed (seed s: ``init, masks,
identities = default_rng(s).spawn(3)``), :func:`run_experiment` runs every seed and writes::

    OUT/config.toml           the resolved configuration (replay: ntkcheck run --config OUT/config.toml)
    OUT/config.json           the same, with the data description and package versions
    OUT/seeds/seed_<s>/trajectory.npz, trajectory.csv, summary.json   (as soon as the seed ends)
    OUT/report.json           measured vs predicted (ntkcheck.verify.compare_run) + identities
    OUT/report.md, report.html, figures/*.png|pdf

Every file is written atomically (a temporary file renamed into place), and each seed is
written when it finishes, so an interrupt (Ctrl-C) loses nothing already computed; the report
then says ``"status": "interrupted"``.  A later sweep engine can call :func:`run_seed` per
(config, seed) and :func:`write_seed` to store it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from ._io import atomic_write
from ._json import jsonable
from ._validation import check_choice, check_int, check_scalar

__all__ = ["RunConfig", "SeedResult", "ExperimentResult", "load_config", "prepare",
           "run_seed", "run_experiment", "write_seed", "atomic_write"]

_SCHEMES = ("gd", "dropout", "multi-sample-dropout", "ist-bernoulli", "ist-categorical",
            "bernoulli", "categorical")
_RECORDS = {"loss": (), "basic": ("patterns",), "standard": ("patterns", "lam_min_full"),
            "full": ("patterns", "lam_min_full", "lam_min_masked")}


@dataclass(frozen=True)
class RunConfig:
    """Configuration of a multi-seed run (all fields have defaults; see ``ntkcheck run -h``).

    Attributes
    ----------
    data : str
        Dataset spec (:func:`ntkcheck.data.load_dataset`).
    target : str or None
        CSV label column.
    normalize : bool
        Project the rows onto the unit sphere.
    scheme : str
        Training scheme (:mod:`ntkcheck.masks`).
    m : int
        Width.
    kappa : float
        Initialisation scale κ.
    eta : float or "auto"
        Local step size η; ``"auto"`` is ``1/λ_max(H∞)`` of the data.
    steps : int
        Global steps K.
    local_steps : int
        Local steps τ.
    p : int
        Subnetworks per global step.
    xi : float or None
        Keep probability ξ (None: the scheme's default).
    seeds : tuple of int
        One run per seed.
    theorem : str or None
        Theorem to compare with (default from the scheme, ``verify.SCHEME_THEOREMS``).
    delta : float
        Failure probability δ used in the theorem's predictions.
    record : {"loss", "basic", "standard", "full"}
        What to record along training ("standard" adds ``λ_min(H(W_k))``; "full" also the
        masked NTKs' ``λ_min``, costly).
    identity_samples : int
        Mask samples for the [EXACT] identities of theory.md §5 (0: skip).
    """

    data: str = "sphere:n=100,d=10,seed=0"
    target: str | None = None
    normalize: bool = False
    scheme: str = "bernoulli"
    m: int = 1000
    kappa: float = 1.0
    eta: float | str = "auto"
    steps: int = 100
    local_steps: int = 1
    p: int = 1
    xi: float | None = None
    seeds: tuple = (0, 1, 2)
    theorem: str | None = None
    delta: float = 0.1
    record: str = "standard"
    identity_samples: int = 2000

    def __post_init__(self):
        def setf(name, value):
            object.__setattr__(self, name, value)

        if not isinstance(self.data, str) or not self.data:
            raise TypeError(f"`data` must be a non-empty string, got {self.data!r}.")
        setf("scheme", check_choice(self.scheme, "scheme", _SCHEMES))
        setf("m", check_int(self.m, "m", min_val=1))
        setf("kappa", check_scalar(self.kappa, "kappa", min_val=0.0, closed="neither"))
        if self.eta != "auto":
            setf("eta", check_scalar(self.eta, "eta", min_val=0.0, closed="neither"))
        setf("steps", check_int(self.steps, "steps", min_val=1))
        setf("local_steps", check_int(self.local_steps, "local_steps", min_val=1))
        setf("p", check_int(self.p, "p", min_val=1))
        if self.xi is not None:
            setf("xi", check_scalar(self.xi, "xi", min_val=0.0, max_val=1.0, closed="right"))
        seeds = (self.seeds,) if isinstance(self.seeds, int) else tuple(self.seeds)
        if not seeds:
            raise ValueError("`seeds` must list at least one seed, got an empty list.")
        setf("seeds", tuple(check_int(s, "seeds", min_val=0) for s in seeds))
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"`seeds` must be distinct, got {list(self.seeds)}.")
        setf("delta", check_scalar(self.delta, "delta", min_val=0.0, max_val=1.0, closed="neither"))
        setf("record", check_choice(self.record, "record", tuple(_RECORDS)))
        setf("identity_samples", check_int(self.identity_samples, "identity_samples", min_val=0))
        if self.identity_samples == 1:
            raise ValueError("`identity_samples` must be 0 (skip) or >= 2 for a standard error, got 1.")

    def to_dict(self) -> dict:
        """Plain dict (``seeds`` as a list)."""
        d = asdict(self)
        d["seeds"] = list(self.seeds)
        return d

    def to_toml(self) -> str:
        """TOML text that :func:`load_config` reads back to an equal config (None fields omitted)."""
        lines = ["# ntkcheck run configuration (replay: ntkcheck run --config THIS_FILE)"]
        for k, v in self.to_dict().items():
            if v is not None:
                lines.append(f"{k} = {_toml_value(v)}")
        return "\n".join(lines) + "\n"


def load_config(path, **overrides) -> RunConfig:
    """Read a :class:`RunConfig` from a flat TOML file (keys = the field names).

    Raises
    ------
    ValueError
        Malformed TOML or an unknown key (the message names the file and the key).
    """
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"config file {path!r} does not exist")
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: malformed TOML ({exc})") from None
    names = {f.name for f in fields(RunConfig)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}; allowed: {sorted(names)}")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return RunConfig(**raw)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{path}: {exc}") from None


@dataclass(frozen=True, eq=False)
class Prepared:
    """Data and the data-dependent quantities of a config (:func:`prepare`)."""

    config: RunConfig
    data: object
    assumptions: object
    eta: float
    theorem: str
    xi: float
    kind: str


def prepare(config: RunConfig, data=None, *, assumptions=None) -> Prepared:
    """Load the data, check Assumption 1, resolve ``eta="auto"``, ξ and the theorem.

    ``data`` and ``assumptions`` (an :class:`~ntkcheck.AssumptionReport` of those data) may be
    passed to skip loading and checking, e.g. when many configs share one dataset.
    """
    from .assumptions import check_assumptions
    from .data import load_dataset
    from .masks import _resolve_scheme
    from .verify import SCHEME_THEOREMS

    ds = data if data is not None else load_dataset(config.data, target=config.target,
                                                    normalize=config.normalize)
    rep = assumptions if assumptions is not None else check_assumptions(
        ds.X, ds.y, label_bound=max(1.0, float(np.abs(ds.y).max())))
    eta = 1.0 / rep.lam_max if config.eta == "auto" else float(config.eta)
    kind, xi = _resolve_scheme(config.scheme, config.p, config.xi, config.local_steps)
    theorem = config.theorem or SCHEME_THEOREMS[config.scheme]
    return Prepared(config=config, data=ds, assumptions=rep, eta=eta, theorem=theorem,
                    xi=float(xi), kind=kind)


@dataclass(frozen=True, eq=False)
class SeedResult:
    """One seed of a run: the :class:`~ntkcheck.TrainResult` and its measurements."""

    seed: int
    result: object
    identities: list
    summary: dict


def run_seed(prep: Prepared, seed: int, *, progress: bool = False, identities: bool = True,
             m: int | None = None, kappa: float | None = None) -> SeedResult:
    """Train one seed of a prepared config; measure the exact identities at ``W_K``.

    Seed s uses ``init_rng, mask_rng, identity_rng = np.random.default_rng(s).spawn(3)``,
    so the run is replayed exactly from (config, seed).  ``m`` / ``kappa`` override the
    config's (for sweeps over width).
    """
    from .network import init_network
    from .train import train
    from .verify import fit_contraction, measure_identities, plateau

    cfg = prep.config
    ds = prep.data
    m = cfg.m if m is None else m
    kappa = cfg.kappa if kappa is None else kappa
    init_rng, mask_rng, id_rng = np.random.default_rng(seed).spawn(3)
    net = init_network(ds.d, m, kappa=kappa, rng=init_rng)
    res = train(ds.X, ds.y, net, scheme=cfg.scheme, eta=prep.eta, global_steps=cfg.steps,
                local_steps=cfg.local_steps, p=cfg.p, xi=cfg.xi, rng=mask_rng,
                record=_RECORDS[cfg.record], progress=progress)
    tr = res.trajectory
    ids = []
    if identities and cfg.identity_samples and res.status != "diverged":
        W = np.asarray(res.W)
        ids = measure_identities(ds.X, ds.y, W, net.a, kind=prep.kind, xi=prep.xi, p=cfg.p,
                                 tau=cfg.local_steps, eta=prep.eta,
                                 samples=cfg.identity_samples, rng=id_rng)
    fit = fit_contraction(tr.loss)
    summary = dict(seed=seed, status=res.status, message=res.message, steps=tr.steps,
                   initial_loss=float(tr.loss[0]), final_loss=float(tr.loss[-1]),
                   plateau=plateau(tr.loss), contraction=fit["factor"],
                   max_movement=float(np.nanmax(tr.max_movement)),
                   min_lam_full=None if tr.lam_min_full is None else float(np.nanmin(tr.lam_min_full)),
                   min_lam_masked=None if tr.lam_min_masked is None else float(np.nanmin(tr.lam_min_masked)),
                   identities_ok=None if not ids else all(i["ok"] for i in ids))
    return SeedResult(seed=seed, result=res, identities=ids, summary=jsonable(summary))


@dataclass(frozen=True, eq=False)
class ExperimentResult:
    """Result of :func:`run_experiment`: the seeds run, the report dict and the folder."""

    prepared: Prepared
    seeds: list
    report: dict
    out: str | None
    status: str


def run_experiment(config: RunConfig, *, out=None, progress: bool = False, data=None,
                   plots: bool = True) -> ExperimentResult:
    """Run every seed of ``config``; write the results folder ``out`` if given.

    Parameters
    ----------
    config : RunConfig
    out : str or path-like, optional
        Results folder (created). Without it nothing is written.
    progress : bool, default False
        Progress lines on stderr.
    data : Dataset, optional
        Use these data instead of loading ``config.data``.
    plots : bool, default True
        Write the figures (PNG and PDF) and the HTML/Markdown report.

    Returns
    -------
    ExperimentResult
        ``status`` is ``"completed"`` or ``"interrupted"`` (Ctrl-C; seeds finished so far are
        kept and written).
    """
    from ._progress import Progress

    prep = prepare(config, data)
    cfg = prep.config
    if out is not None:
        out = os.fspath(out)
        os.makedirs(out, exist_ok=True)
        _write_config(prep, out)
    done, status = [], "completed"
    bar = Progress(len(cfg.seeds), "run", enabled=progress)
    try:
        for i, seed in enumerate(cfg.seeds):
            sr = run_seed(prep, seed, progress=False)
            done.append(sr)
            if out is not None:
                write_seed(sr, out)
                atomic_write(os.path.join(out, "report.json"), _dumps(build_report(prep, done, "running")))
            bar.update(i + 1, seed=seed, loss=sr.summary["final_loss"])
            if sr.result.status == "interrupted":
                status = "interrupted"
                break
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        bar.close("interrupted: results of the finished seeds are kept" if status == "interrupted" else None)
    report = build_report(prep, done, status)
    if out is not None:
        if plots and done:
            report["files"]["figures"] = _write_figures(prep, done, report, out)
            from .report import write_run_report

            report["files"].update(write_run_report(report, out))
        atomic_write(os.path.join(out, "report.json"), _dumps(report))
    return ExperimentResult(prepared=prep, seeds=done, report=report, out=out, status=status)


def theorem_values(prep: Prepared, m: int | None = None, kappa: float | None = None) -> dict:
    """Inputs of the theorem for this configuration and data."""
    cfg, rep = prep.config, prep.assumptions
    return dict(n=rep.n, d=rep.d, lambda_0=rep.lam0_hat, lambda_max=rep.lam_max,
                C=rep.label_bound, y_Hinv_y=rep.y_Hinv_y, m=cfg.m if m is None else m,
                eta=prep.eta, kappa=cfg.kappa if kappa is None else kappa, xi=prep.xi, p=cfg.p,
                tau=cfg.local_steps, K=cfg.steps, delta=cfg.delta)


def build_report(prep: Prepared, done: list, status: str) -> dict:
    """The ``report.json`` dict for the seeds finished so far."""
    from . import __version__
    from .verify import compare_run

    cfg = prep.config
    rep = dict(ntkcheck_version=__version__, status=status, config=cfg.to_dict(),
               resolved=dict(eta=prep.eta, xi=prep.xi, mask_kind=prep.kind, theorem=prep.theorem),
               data=prep.data.describe(), assumptions=prep.assumptions.to_dict(),
               seeds=[s.summary for s in done], files=dict(config="config.toml"))
    if done:
        rep["comparison"] = compare_run([s.result.trajectory for s in done], theorem=prep.theorem,
                                        values=theorem_values(prep))
        rep["identities"] = _identity_summary(done)
    return jsonable(rep)


def write_seed(sr: SeedResult, out) -> dict:
    """Write one seed's trajectory (NPZ, CSV) and summary (JSON) under ``out/seeds/seed_<s>``."""
    d = os.path.join(os.fspath(out), "seeds", f"seed_{sr.seed}")
    os.makedirs(d, exist_ok=True)
    tr = sr.result.trajectory
    arrays = {f.name: getattr(tr, f.name) for f in fields(tr)
              if isinstance(getattr(tr, f.name), np.ndarray)}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays, W_final=np.asarray(sr.result.W), W0=sr.result.W0,
                        a=sr.result.network.a)
    atomic_write(os.path.join(d, "trajectory.npz"), buf.getvalue())
    atomic_write(os.path.join(d, "trajectory.csv"), trajectory_csv(tr))
    summary = dict(sr.summary, identities=sr.identities, train_config=sr.result.config)
    atomic_write(os.path.join(d, "summary.json"), _dumps(jsonable(summary)))
    return dict(npz=os.path.join(d, "trajectory.npz"), csv=os.path.join(d, "trajectory.csv"))


def trajectory_csv(tr) -> str:
    """One row per global step k = 0..K of a :class:`~ntkcheck.Trajectory`."""
    K = tr.steps
    cols = {"k": np.arange(K + 1), "loss": tr.loss, "max_movement": tr.max_movement,
            "frobenius_movement": tr.frobenius_movement}
    pad = lambda a: np.concatenate([[np.nan], a])  # noqa: E731  (per-step items start at k=1)
    cols["sampled_loss"] = pad(tr.sampled_loss)
    cols["local_loss_end_mean"] = pad(tr.local_loss[:, -1, :].mean(axis=1)) if K else pad(tr.sampled_loss)
    cols["local_movement"] = pad(tr.local_movement)
    cols["neurons_uncovered"] = pad(tr.neurons_uncovered)
    if tr.pattern_change is not None:
        cols["pattern_change"] = tr.pattern_change
    if tr.lam_min_full is not None:
        cols["lam_min_full"] = tr.lam_min_full
    if tr.lam_min_masked is not None:
        cols["lam_min_masked_min"] = pad(tr.lam_min_masked.reshape(K, -1).min(axis=1)) if K else pad(tr.sampled_loss)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(cols))
    for k in range(K + 1):
        w.writerow(["" if (isinstance(v[k], float) and math.isnan(v[k])) else repr(v[k].item())
                    for v in cols.values()])
    return buf.getvalue()


# ----------------------------------------------------------------------------- helpers


def _write_config(prep: Prepared, out: str) -> None:
    import numpy
    import scipy

    from . import __version__

    cfg = replace(prep.config, eta=prep.eta)
    atomic_write(os.path.join(out, "config.toml"), cfg.to_toml())
    meta = dict(config=cfg.to_dict(), requested_eta=prep.config.eta, data=prep.data.describe(),
                versions=dict(ntkcheck=__version__, numpy=numpy.__version__, scipy=scipy.__version__),
                seeding="seed s: init_rng, mask_rng, identity_rng = numpy.random.default_rng(s).spawn(3)")
    atomic_write(os.path.join(out, "config.json"), _dumps(jsonable(meta)))


def _identity_summary(done) -> list:
    by = {}
    for s in done:
        for it in s.identities:
            e = by.setdefault(it["identity"], dict(identity=it["identity"], statement=it["statement"],
                                                   seeds=0, ok_all=True, max_z=None, max_rel_error=None))
            e["seeds"] += 1
            e["ok_all"] = e["ok_all"] and it["ok"]
            for key, src in (("max_z", "z"), ("max_rel_error", "rel_error")):
                if it.get(src) is not None:
                    e[key] = it[src] if e[key] is None else max(e[key], it[src])
    return list(by.values())


def _write_figures(prep, done, report, out) -> list:
    from . import plotting

    trajs = [s.result.trajectory for s in done]
    cmp_ = report["comparison"]
    rate = cmp_["contraction"]["predicted_rate"]
    err = cmp_["plateau"]["predicted_error"]
    files = []
    fig, ax = plotting.new_axes()
    pred = None
    if isinstance(rate, float) and 0 <= rate < 1:
        L0 = float(np.mean([t.loss[0] for t in trajs]))
        k = np.arange(trajs[0].loss.size)
        pred = (k, rate**k * L0 + (err if isinstance(err, float) else 0.0))
    plotting.plot_loss(trajs, predicted=pred, ax=ax, label=prep.config.scheme,
                       predicted_label=f"{prep.theorem} bound (c = 1)")
    files += plotting.save_figure(fig, os.path.join(out, "figures", "loss"))
    fig, ax = plotting.new_axes()
    mv = cmp_["movement"]
    plotting.plot_movement(trajs, R=mv["R"], R_prime=mv["R_prime"], ax=ax)
    files += plotting.save_figure(fig, os.path.join(out, "figures", "movement"))
    if any(t.lam_min_full is not None for t in trajs):
        fig, ax = plotting.new_axes()
        plotting.plot_lambda_min(trajs, lam0=prep.assumptions.lam0_hat, xi=prep.xi, ax=ax)
        files += plotting.save_figure(fig, os.path.join(out, "figures", "lambda_min"))
    return [os.path.relpath(f, out) for f in files]


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def _dumps(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=False) + "\n"
