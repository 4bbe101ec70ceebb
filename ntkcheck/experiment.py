"""``ntkcheck run``: every seed of one configuration, and a replayable results folder.

A :class:`RunConfig` is the run parameters of :mod:`ntkcheck._params` (data, scheme of LK22
Algorithm 1 — docs/theory.md §2–§3 —, width m, scale κ, step η, K global steps of τ local
steps with p subnetworks and keep probability ξ, the theorem and δ to compare with, what to
record) plus the seeds.  Each seed is one unit of work (:func:`ntkcheck.unit.run_seed`, seed
rule :data:`ntkcheck.unit.SEED_RULE`); :func:`run_experiment` runs them and writes::

    OUT/config.toml           the resolved configuration (replay: ntkcheck run --config OUT/config.toml)
    OUT/config.json           the same, with the data description and package versions
    OUT/seeds/seed_<s>/trajectory.npz, trajectory.csv, summary.json   (as soon as the seed ends)
    OUT/report.json           measured vs predicted (ntkcheck.verify.compare_run) + identities
    OUT/report.md, report.html, figures/*.png|pdf

Every file is written atomically (:func:`ntkcheck._io.atomic_write`), and each seed is written
when it finishes, so an interrupt (Ctrl-C) loses nothing already computed; the report then says
``"status": "interrupted"``, and a seed whose training was cut short is listed under
``partial_seeds`` — never averaged with the finished ones.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field, fields, replace

import numpy as np
import scipy

from . import __version__
from . import plotting
from ._io import atomic_write, read_toml
from ._json import json_text, jsonable, toml_value
from ._outdir import claim_output_dir
from ._params import ALIASES, RUN_PARAMS, canonical_params, parse_seeds
from ._progress import Progress
from .assumptions import check_assumptions
from .data import Dataset
from .report import write_run_report
from .unit import SEED_RULE, DataContext, Resolved, SeedRun, load_data, resolve, run_seed
from .verify import compare_run, run_values

__all__ = ["RunConfig", "ExperimentResult", "load_config", "run_experiment", "write_seed",
           "build_report", "trajectory_csv"]


def _default(name):
    return field(default=RUN_PARAMS[name].default)


@dataclass(frozen=True)
class RunConfig:
    """Configuration of a multi-seed run: the run parameters (:data:`ntkcheck._params.RUN_PARAMS`,
    validated and canonicalised there) and the seeds.

    Attributes
    ----------
    data, target, normalize, scheme, m, kappa, eta, steps, local_steps, p, xi, theorem, delta, record, identity_samples
        See ``ntkcheck run --help`` or :data:`ntkcheck._params.RUN_PARAMS`. ``xi`` is resolved to
        the scheme's value when not given (1, or 1/p for IST).
    seeds : tuple of int
        One run per seed (:func:`ntkcheck._params.parse_seeds`: a count N means 0..N-1).
    """

    data: str = _default("data")
    target: str | int | None = _default("target")
    normalize: bool = _default("normalize")
    scheme: str = _default("scheme")
    m: int = _default("m")
    kappa: float = _default("kappa")
    eta: float | str = _default("eta")
    steps: int = _default("steps")
    local_steps: int = _default("local_steps")
    p: int = _default("p")
    xi: float | None = _default("xi")
    theorem: str | None = _default("theorem")
    delta: float = _default("delta")
    record: str = _default("record")
    identity_samples: int = _default("identity_samples")
    predict: bool = _default("predict")
    seeds: tuple = (0, 1, 2)

    def __post_init__(self):
        canon = canonical_params({k: getattr(self, k) for k in RUN_PARAMS})
        for k, v in canon.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "seeds", parse_seeds(self.seeds))

    @property
    def params(self) -> dict:
        """The canonical run parameters (everything but the seeds)."""
        return {k: getattr(self, k) for k in RUN_PARAMS}

    def to_dict(self) -> dict:
        """Plain dict (``seeds`` as a list)."""
        return dict(self.params, seeds=list(self.seeds))

    def to_toml(self) -> str:
        """TOML text that :func:`load_config` reads back to an equal config (None fields omitted)."""
        lines = ["# ntkcheck run configuration (replay: ntkcheck run --config THIS_FILE)"]
        for k, v in self.to_dict().items():
            if v is not None:
                lines.append(f"{k} = {toml_value(v)}")
        return "\n".join(lines) + "\n"


def load_config(path, **overrides) -> RunConfig:
    """Read a :class:`RunConfig` from a flat TOML file (keys: the parameter names, the flag names
    of :data:`ntkcheck._params.ALIASES` such as ``width``, and ``seeds``).

    ``overrides`` that are not None replace the file's values.

    Raises
    ------
    ValueError, TypeError
        Malformed TOML, an unknown key or a bad value (the message names the file and the key).
    """
    path = os.fspath(path)
    raw = read_toml(path, what="config file")
    names = set(RUN_PARAMS) | set(ALIASES) | {"seeds"}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}; allowed: {sorted(names)}")
    twice = sorted(k for k in raw if k in ALIASES and ALIASES[k] in raw)
    if twice:
        raise ValueError(f"{path}: `{ALIASES[twice[0]]}` is given twice (as `{ALIASES[twice[0]]}` and as "
                         f"`{twice[0]}`); keep one.")
    raw = {ALIASES.get(k, k): v for k, v in raw.items()}
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return RunConfig(**raw)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{path}: {exc}") from None


@dataclass(frozen=True, eq=False)
class ExperimentResult:
    """Result of :func:`run_experiment`.

    Attributes
    ----------
    config : RunConfig
    data : DataContext
    resolved : Resolved
    runs : list of SeedRun
        The seeds that finished.
    partial : list of SeedRun
        A seed whose training was interrupted (reported, never averaged).
    report : dict
    out : str or None
    status : {"completed", "interrupted"}
    """

    config: RunConfig
    data: DataContext
    resolved: Resolved
    runs: list
    partial: list
    report: dict
    out: str | None
    status: str

    @property
    def seeds(self) -> list:
        """The finished :class:`~ntkcheck.unit.SeedRun` objects (alias of :attr:`runs`)."""
        return self.runs


def run_experiment(config: RunConfig, *, out=None, progress: bool = False, data: Dataset | None = None,
                   plots: bool = True, force: bool = False) -> ExperimentResult:
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
    force : bool, default False
        Replace an earlier ``ntkcheck run`` output in ``out`` (its files are removed first). A
        folder holding files ntkcheck did not write is always refused
        (:func:`ntkcheck._outdir.claim_output_dir`).

    Returns
    -------
    ExperimentResult
        ``status`` is ``"completed"`` or ``"interrupted"`` (Ctrl-C; seeds finished so far are
        kept and written).
    """
    cfg = config
    if data is None:
        ctx = load_data(cfg.data, cfg.target, cfg.normalize)
    else:
        ctx = DataContext(dataset=data, assumptions=check_assumptions(
            data.X, data.y, label_bound=max(1.0, float(np.abs(data.y).max()))))
    rs = resolve(cfg.params, ctx)
    if out is not None:
        out = os.fspath(claim_output_dir(out, kind="run", force=force))
        _write_config(cfg, ctx, rs, out)
    done, partial, status = [], [], "completed"
    bar = Progress(len(cfg.seeds), "run", enabled=progress)
    try:
        for i, seed in enumerate(cfg.seeds):
            run = run_seed(cfg.params, seed, data=ctx)
            if run.summary.status == "interrupted":
                partial.append(run)
                status = "interrupted"
            else:
                done.append(run)
            if out is not None:
                write_seed(run, out)
                atomic_write(os.path.join(out, "report.json"),
                             json_text(build_report(cfg, ctx, rs, done, "running", partial)))
            bar.update(i + 1, seed=seed, loss=run.summary.final_loss)
            if status == "interrupted":
                break
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        bar.close("interrupted: results of the finished seeds are kept" if status == "interrupted" else None)
    report = build_report(cfg, ctx, rs, done, status, partial)
    if out is not None:
        if plots and done:
            report["files"]["figures"] = _write_figures(cfg, ctx, rs, done, report, out)
            report["files"].update(write_run_report(report, out))
        atomic_write(os.path.join(out, "report.json"), json_text(report))
    return ExperimentResult(config=cfg, data=ctx, resolved=rs, runs=done, partial=partial, report=report,
                            out=out, status=status)


def build_report(cfg: RunConfig, ctx: DataContext, rs: Resolved, done: list, status: str,
                 partial: list = ()) -> dict:
    """The ``report.json`` dict for the seeds finished so far (partial seeds listed apart)."""
    rep = dict(ntkcheck_version=__version__, status=status, config=cfg.to_dict(),
               resolved=dict(eta=rs.eta, xi=rs.xi, mask_kind=rs.kind, theta=rs.theta, theorem=rs.theorem),
               seed_rule=SEED_RULE, data=ctx.dataset.describe(), assumptions=ctx.assumptions.to_dict(),
               seeds=[_seed_entry(r) for r in done], partial_seeds=[_seed_entry(r) for r in partial],
               files=dict(config="config.toml"))
    if done:
        rep["comparison"] = compare_run([r.summary for r in done], theorem=rs.theorem,
                                        values=run_values(cfg.params, eta=rs.eta, xi=rs.xi,
                                                          assumptions=ctx.assumptions))
        rep["identities"] = _identity_summary(done)
    return jsonable(rep)


def write_seed(run: SeedRun, out) -> dict:
    """Write one seed's trajectory (NPZ, CSV) and summary (JSON) under ``out/seeds/seed_<s>``."""
    d = os.path.join(os.fspath(out), "seeds", f"seed_{run.seed}")
    os.makedirs(d, exist_ok=True)
    tr = run.result.trajectory
    arrays = {f.name: getattr(tr, f.name) for f in fields(tr)
              if isinstance(getattr(tr, f.name), np.ndarray)}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays, W_final=np.asarray(run.result.W), W0=run.result.W0,
                        a=run.result.network.a)
    atomic_write(os.path.join(d, "trajectory.npz"), buf.getvalue())
    atomic_write(os.path.join(d, "trajectory.csv"), trajectory_csv(tr))
    summary = dict(run.summary.to_dict(), train_config=run.result.config)
    atomic_write(os.path.join(d, "summary.json"), json_text(jsonable(summary)))
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


def _seed_entry(run: SeedRun) -> dict:
    d = run.summary.to_dict()
    for k in ("loss", "max_movement_series", "lam_min_series", "head"):  # in seeds/seed_<s>/ instead
        d.pop(k)
    return d


def _write_config(cfg: RunConfig, ctx: DataContext, rs: Resolved, out: str) -> None:
    resolved = replace(cfg, eta=rs.eta)
    atomic_write(os.path.join(out, "config.toml"), resolved.to_toml())
    meta = dict(config=resolved.to_dict(), requested_eta=cfg.eta, data=ctx.dataset.describe(),
                versions=dict(ntkcheck=__version__, numpy=np.__version__, scipy=scipy.__version__),
                seeding=SEED_RULE)
    atomic_write(os.path.join(out, "config.json"), json_text(jsonable(meta)))


def _identity_summary(done) -> list:
    by = {}
    for run in done:
        for it in run.summary.identities:
            e = by.setdefault(it["identity"], dict(identity=it["identity"], statement=it["statement"],
                                                   seeds=0, ok_all=True, max_z=None, max_rel_error=None))
            e["seeds"] += 1
            if it["ok"] is None:  # skipped, with its reason (e.g. §8.2 outside first order)
                e["ok_all"], e["note"] = None, it.get("note")
                continue
            e["ok_all"] = e["ok_all"] and it["ok"]
            for key, src in (("max_z", "z"), ("max_rel_error", "rel_error")):
                if it.get(src) is not None:
                    e[key] = it[src] if e[key] is None else max(e[key], it[src])
    return list(by.values())


def _write_figures(cfg, ctx, rs, done, report, out) -> list:
    trajs = [r.result.trajectory for r in done]
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
    plotting.plot_loss(trajs, predicted=pred, ax=ax, label=cfg.scheme,
                       predicted_label=f"{rs.theorem} bound (c = 1)")
    files += plotting.save_figure(fig, os.path.join(out, "figures", "loss"))
    fig, ax = plotting.new_axes()
    mv = cmp_["movement"]
    plotting.plot_movement(trajs, R=mv["R"], R_prime=mv["R_prime"], ax=ax)
    files += plotting.save_figure(fig, os.path.join(out, "figures", "movement"))
    if any(t.lam_min_full is not None for t in trajs):
        fig, ax = plotting.new_axes()
        plotting.plot_lambda_min(trajs, lam0=ctx.assumptions.lam0_hat, xi=rs.xi, ax=ax)
        files += plotting.save_figure(fig, os.path.join(out, "figures", "lambda_min"))
    return [os.path.relpath(f, out) for f in files]
