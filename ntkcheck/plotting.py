"""Plots of predictions beside measurements (matplotlib, imported lazily, no global state).

Every function takes ``ax=None`` (a new :class:`matplotlib.figure.Figure` with one Axes is
created when it is missing), draws on it and returns the Axes.  Nothing here calls
``pyplot``, changes ``rcParams`` or selects a backend: figures are built from
:class:`matplotlib.figure.Figure` directly and saved with :func:`save_figure` (PNG and PDF), so
plotting works without a display and never changes the user's matplotlib state.

Empirical curves are the mean over seeds with a shaded min–max band; predicted curves are
dashed.  Axes carry the symbols of docs/theory.md (``L_k = ‖y − u_k‖²``, ``λ0``, ``R``, ``R'``,
``ξ``, ``p``, ``m``) and log scales wherever rates are shown.
"""

from __future__ import annotations

import io
import os

import numpy as np

from ._io import atomic_write

__all__ = ["new_axes", "save_figure", "plot_loss", "plot_three_movements", "plot_final_error",
           "plot_contraction", "plot_ntk_concentration", "plot_lambda_min", "plot_movement",
           "plot_width_probability", "plot_width_scaling"]


def new_axes(figsize=(5.5, 3.8)):
    """A new ``Figure`` (not registered with pyplot) and its single Axes: ``(fig, ax)``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def save_figure(fig, stem, *, dpi: int = 150) -> list:
    """Save ``fig`` as ``stem.png`` and ``stem.pdf`` (atomically); return the two paths."""
    stem = os.fspath(stem)
    paths = []
    for fmt in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, metadata={"Software": "ntkcheck"} if fmt == "png" else None)
        path = f"{stem}.{fmt}"
        atomic_write(path, buf.getvalue())
        paths.append(path)
    return paths


def _ax(ax):
    return new_axes()[1] if ax is None else ax


def _band(ax, x, Y, *, label=None, color=None, marker=None):
    """Mean over seeds (rows of Y along axis 0) with a min–max band."""
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[None]
    mean = np.nanmean(Y, axis=0)
    (line,) = ax.plot(x, mean, label=label, color=color, marker=marker, lw=1.6)
    if Y.shape[0] > 1:
        ax.fill_between(x, np.nanmin(Y, axis=0), np.nanmax(Y, axis=0), color=line.get_color(),
                        alpha=0.25, lw=0)
    return line


def _stack(arrays):
    n = min(a.size for a in arrays)
    return np.stack([a[:n] for a in arrays])


def plot_loss(trajectories, *, predicted=None, ax=None, label=None, predicted_label="predicted"):
    """Tracked loss ``L_k = ‖y − u_k‖²`` per global step: mean ± min–max over seeds, log scale.

    Parameters
    ----------
    trajectories : list of Trajectory
        One per seed.
    predicted : tuple (k, bound), optional
        A predicted curve (e.g. ``rate^k L_0 + error``), drawn dashed.
    ax : matplotlib Axes, optional
    label, predicted_label : str
        Legend entries.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    Y = _stack([t.loss for t in trajectories])
    _band(ax, np.arange(Y.shape[1]), Y, label=(label or "measured") + f" (mean, {Y.shape[0]} seeds)")
    if predicted is not None:
        k, b = predicted
        ax.plot(k, b, "k--", lw=1.2, label=predicted_label)
    ax.set_yscale("log")
    ax.set_xlabel("global step $k$")
    ax.set_ylabel(r"$L_k = \|y - u_k\|^2$")
    ax.legend(fontsize=8)
    return ax


def plot_three_movements(trajectories, *, steps: int = 5, ax=None):
    """LK22 Fig. 2(a) view: within each global step, sampling (up), local steps, aggregation.

    x = k is ``L_k``; x = k + 0 (marker ▲) the mean sampled loss ``‖y − u_{m^l}(W_k)‖²``;
    x = k + t/(τ+1) the mean local loss after local step t; x = k + 1 is ``L_{k+1}``.
    Mean ± min–max over seeds.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    K = min(steps, min(t.steps for t in trajectories))
    tau = trajectories[0].local_loss.shape[1]
    xs, ys = [], []
    for t in trajectories:
        x, y = [], []
        for k in range(K):
            x += [k, k + 0.02]
            y += [t.loss[k], t.sampled_loss[k]]
            for s in range(tau):
                x.append(k + (s + 1) / (tau + 1))
                y.append(t.local_loss[k, s].mean())
        x.append(K)
        y.append(t.loss[K])
        xs, ys = x, ys + [y]
    _band(ax, xs, np.array(ys), label="trajectory (mean over seeds)")
    Y = np.array(ys)
    ax.plot(np.arange(K + 1), Y[:, [i for i, x in enumerate(xs) if float(x).is_integer()]].mean(axis=0),
            "o", ms=4, color="k", label=r"$L_k$ (after aggregation)")
    ax.set_yscale("log")
    ax.set_xlabel("global step $k$ (local steps in between)")
    ax.set_ylabel(r"loss $\|y - u\|^2$")
    ax.legend(fontsize=8)
    return ax


def plot_final_error(values, errors, *, xlabel: str, ax=None, logx: bool = False,
                     label=None, predicted=None, predicted_label: str = "predicted error term"):
    """Final error against a parameter (LK22 Fig. 2(b), (c)): mean ± min–max over seeds.

    Parameters
    ----------
    values : array_like of shape (v,)
    errors : array_like of shape (v, seeds)
    xlabel : str
        Axis label with the symbol, e.g. ``r"keep probability $\\xi$"``.
    predicted : array_like of shape (v,), optional
        A predicted error term, drawn dashed on the same axes.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    E = np.asarray(errors, dtype=float)
    _band(ax, np.asarray(values, float), E.T, label=label or "final error (mean)", marker="o")
    if predicted is not None:
        ax.plot(values, predicted, "k--", lw=1.2, label=predicted_label)
    ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"final error $L_K$")
    ax.legend(fontsize=8)
    return ax


def plot_contraction(values, factors, *, xlabel: str = "subnetworks $p$", predicted=None, ax=None):
    """Per-global-step loss improvement ``1 − L_{k+1}/L_k`` (fitted) against a parameter.

    Parameters
    ----------
    values : array_like of shape (v,)
    factors : array_like of shape (v, seeds)
        Fitted contraction factors (:func:`ntkcheck.verify.fit_contraction`).
    predicted : array_like of shape (v,), optional
        Predicted rates; drawn as ``1 − rate``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    F = 1.0 - np.asarray(factors, dtype=float)
    _band(ax, np.asarray(values, float), F.T, label="measured (mean)", marker="o")
    if predicted is not None:
        ax.plot(values, 1.0 - np.asarray(predicted, float), "k--", lw=1.2, label="predicted 1 - rate")
    ax.set_yscale("log")
    ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"improvement per global step $1 - L_{k+1}/L_k$")
    ax.legend(fontsize=8)
    return ax


def plot_ntk_concentration(widths, errors, *, ax=None):
    """``‖H_m − H∞‖₂`` against the width m on log–log axes, with the ``m^{-1/2}`` reference.

    Parameters
    ----------
    widths : array_like of shape (w,)
    errors : array_like of shape (w, seeds)

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    m = np.asarray(widths, dtype=float)
    E = np.asarray(errors, dtype=float)
    _band(ax, m, E.T, label=r"$\|H(0) - H^\infty\|_2$ (mean)", marker="o")
    slope, icpt = np.polyfit(np.log(m), np.log(E.mean(axis=1)), 1)
    ref = E.mean(axis=1)[0] * np.sqrt(m[0] / m)
    ax.plot(m, ref, "k--", lw=1.2, label=r"reference $\propto m^{-1/2}$")
    ax.plot(m, np.exp(icpt) * m**slope, ":", color="gray", label=f"fit: slope {slope:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width $m$")
    ax.set_ylabel(r"$\|H_m - H^\infty\|_2$")
    ax.legend(fontsize=8)
    return ax


def plot_lambda_min(trajectories, *, lam0: float, xi: float = 1.0, ax=None):
    """``λ_min(H(W_k))`` (and of the masked NTKs, if recorded) along training vs ``λ0/2``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    full = [t.lam_min_full for t in trajectories if t.lam_min_full is not None]
    if full:
        Y = _stack(full)
        _band(ax, np.arange(Y.shape[1]), Y, label=r"$\lambda_{\min}(H(W_k))$")
    masked = [t.lam_min_masked for t in trajectories if t.lam_min_masked is not None]
    if masked:
        Y = _stack([a.reshape(a.shape[0], -1).min(axis=1) for a in masked])
        _band(ax, np.arange(1, Y.shape[1] + 1), Y, label=r"min masked $\lambda_{\min}(H(W, m))$")
        ax.axhline(xi * lam0 / 2, color="C1", ls=":", label=r"$\xi\lambda_0/2$ (LK22 Thm 2)")
    ax.axhline(lam0 / 2, color="k", ls="--", label=r"$\lambda_0/2$ (DZPS19 Lemma 3.2)")
    ax.axhline(lam0, color="gray", ls="-.", lw=1, label=r"$\lambda_0 = \lambda_{\min}(H^\infty)$")
    ax.set_yscale("log")
    ax.set_xlabel("global step $k$")
    ax.set_ylabel(r"$\lambda_{\min}$")
    ax.legend(fontsize=8)
    return ax


def plot_movement(trajectories, *, R=None, R_prime=None, ax=None):
    """``max_r ‖w_r(k) − w_r(0)‖`` along training against the radii R and R' (log scale).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    Y = _stack([t.max_movement for t in trajectories])
    k = np.arange(Y.shape[1])
    _band(ax, k[1:], Y[:, 1:], label=r"$\max_r \|w_r(k) - w_r(0)\|$")
    if R is not None:
        ax.axhline(R, color="k", ls="--", label=r"$R = \delta\lambda_0/n^2$ (Lemma 3.2)")
    if R_prime is not None:
        ax.axhline(R_prime, color="C3", ls=":", label=r"$R' = 4\sqrt{n}\|y-u(0)\|/(\sqrt{m}\lambda_0)$")
    ax.set_yscale("log")
    ax.set_xlabel("global step $k$")
    ax.set_ylabel("weight movement")
    ax.legend(fontsize=8)
    return ax


def plot_width_probability(results, *, ax=None):
    """The "phase transition": fraction of seeds on which the conclusion holds against the width m,
    one curve per data size n, with Clopper–Pearson bars and the ``1 − δ`` line.

    Parameters
    ----------
    results : sequence of :class:`~ntkcheck.width.WidthResult`

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    for r in results:
        lv = sorted(r.levels, key=lambda v: v.m)
        m = np.array([v.m for v in lv], float)
        prob = np.array([v.probability for v in lv])
        lo = np.array([v.ci[0] for v in lv])
        hi = np.array([v.ci[1] for v in lv])
        ax.errorbar(m, prob, yerr=[prob - lo, hi - prob], marker="o", ms=3.5, capsize=2, lw=1.2,
                    label=f"n = {r.n}" + (f": $m^* = {r.m_star}$" if r.m_star else ": not found"))
    if results:
        ax.axhline(1 - results[0].delta, color="k", ls="--", lw=1, label=rf"$1 - \delta = {1 - results[0].delta:g}$")
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("width $m$")
    ax.set_ylabel("fraction of seeds where it holds")
    ax.legend(fontsize=8)
    return ax


def plot_width_scaling(fit, theorems=(), *, ax=None):
    """m*(n) on log–log axes with the fitted line, and each theorem's predicted width (dashed).

    Parameters
    ----------
    fit : :class:`~ntkcheck.scaling.ScalingFit`
    theorems : sequence of dict
        ``theorem``, ``widths`` (one per n, None where not available), ``nominal``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    n = np.asarray(fit.ns, float)
    ax.plot(n, fit.m_star, "o", color="C0", label="measured $m^*$")
    grid = np.geomspace(n.min(), n.max(), 50)
    ax.plot(grid, np.exp(fit.a) * grid**fit.b, "-", color="C0", lw=1.4,
            label=rf"fit $n^{{{fit.b:.2f}}}$ [{fit.b_ci[0]:.2f}, {fit.b_ci[1]:.2f}]")
    for i, t in enumerate(theorems):
        w = t.get("widths") or []
        if w and all(v is not None for v in w):
            ax.plot(n, w, "--", color=f"C{i + 1}", lw=1.2,
                    label=f"{t['theorem']} (n^{t['nominal']:g} nominal)" if t.get("nominal") is not None
                    else t["theorem"])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("data size $n$")
    ax.set_ylabel("width $m$")
    ax.legend(fontsize=7)
    return ax


# --------------------------------------------------------------------------- DHSWZ22 (shifted ReLU)


def plot_firing_vs_shift(shifts, widths, counts, *, kappa: float = 1.0, ax=None):
    """Fired neurons per input ``|S_i|/m`` against the shift b (DHSWZ22; docs/theory.md §9).

    Parameters
    ----------
    shifts : array_like of shape (B,)
    widths : array_like of shape (M,)
    counts : array_like of shape (M, B, seeds)
        Per-network mean over points of ``|S_i|``.
    kappa : float, default 1.0
        Initialisation scale; the expectation is ``Φ(−b/κ)`` and the bound ``exp(−b²/(2κ²))``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from scipy.special import ndtr

    ax = _ax(ax)
    b = np.asarray(shifts, float)
    C = np.asarray(counts, float)
    for k, m in enumerate(widths):
        _band(ax, b, (C[k] / float(m)).T, label=f"measured, m = {m}", marker="o")
    grid = np.linspace(b.min(), b.max(), 200)
    ax.plot(grid, ndtr(-grid / kappa), "k--", lw=1.2, label=r"expectation $\Phi(-b/\kappa)$")
    ax.plot(grid, np.exp(-grid ** 2 / (2 * kappa ** 2)), "k:", lw=1.2, label=r"bound $e^{-b^2/2\kappa^2}$")
    ax.set_yscale("log")
    ax.set_xlabel("shift $b$")
    ax.set_ylabel(r"fired fraction $|S_i| / m$ (mean over points)")
    ax.legend(fontsize=7)
    return ax


def plot_status_changes(widths, first, cumulative, *, ax=None):
    """Fraction of (i, r) firing-status changes against the width m, log–log, with ``m^{-1/2}``.

    Parameters
    ----------
    widths : array_like of shape (M,)
    first, cumulative : array_like of shape (M, seeds)
        Changes in the first Gauss-Newton iteration and over the whole run, relative to
        ``Σ_i |S_i|``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    w = np.asarray(widths, float)
    _band(ax, w, np.asarray(first, float).T, label="first iteration", marker="o")
    cum = np.asarray(cumulative, float)
    _band(ax, w, cum.T, label="cumulative", marker="s")
    ref = np.nanmean(cum[0])
    if np.isfinite(ref) and ref > 0:
        ax.plot(w, ref * np.sqrt(w[0] / w), "k--", lw=1, label=r"$\propto m^{-1/2}$")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width $m$")
    ax.set_ylabel(r"status changes / $\sum_i |S_i|$")
    ax.legend(fontsize=7)
    return ax


def plot_lambda_vs_bound(shifts, ns, measured, bound, *, ax=None):
    """``λ_min(H_b∞)`` and the bound ``e^{−b²/2} δ_sep/(100 n²)`` against b, one colour per n.

    Parameters
    ----------
    shifts : array_like of shape (B,)
    ns : array_like of shape (N,)
    measured, bound : array_like of shape (N, B)

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    b = np.asarray(shifts, float)
    for k, n in enumerate(ns):
        (line,) = ax.plot(b, np.asarray(measured, float)[k], "o-", lw=1.6, label=rf"$\lambda_{{\min}}$, n = {n}")
        ax.plot(b, np.asarray(bound, float)[k], "--", lw=1.2, color=line.get_color(), label=f"bound, n = {n}")
    ax.set_yscale("log")
    ax.set_xlabel("shift $b$")
    ax.set_ylabel(r"$\lambda_{\min}(H_b^\infty)$ and bound")
    ax.legend(fontsize=7, ncol=2)
    return ax


def plot_gn_residuals(residuals, *, eps: float | None = None, ax=None):
    """Gauss-Newton residuals ``‖f_t − y‖`` against t (log scale), with the ``2^{-t}`` line.

    Parameters
    ----------
    residuals : mapping of label -> list of ndarray of shape (K+1,)
        One list of runs (seeds) per label, e.g. per width.
    eps : float, optional
        Target ε, drawn as a horizontal line.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    start = []
    for label, runs in residuals.items():
        color = None
        for j, r in enumerate(runs):
            r = np.asarray(r, float)
            (line,) = ax.plot(np.arange(r.size), r, "o-", ms=3, lw=1.0, alpha=0.8, color=color,
                              label=label if j == 0 else None)
            color = line.get_color()
            start.append(r[0])
    if start:
        t = np.arange(max(len(r) for runs in residuals.values() for r in runs))
        ax.plot(t, max(start) * 0.5 ** t, "k--", lw=1.2, label=r"$\|f_0 - y\|\,2^{-t}$")
    if eps is not None:
        ax.axhline(eps, color="grey", lw=0.8, ls=":", label=r"$\varepsilon$")
    ax.set_yscale("log")
    ax.set_xlabel("Gauss-Newton iteration $t$")
    ax.set_ylabel(r"residual $\|f_t - y\|$")
    ax.legend(fontsize=7)
    return ax


def plot_cost_vs_width(widths, times, *, alpha: float, ax=None):
    """Median wall time per iteration against m (log–log), with ``m^{1−α}`` and ``m`` lines.

    Parameters
    ----------
    widths : array_like of shape (M,)
    times : mapping of engine name -> array_like of shape (M,)
    alpha : float
        Sparsity exponent α of the shift ``b = κ√(2α log m)``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    w = np.asarray(widths, float)
    for name, t in times.items():
        ax.plot(w, np.asarray(t, float), "o-", lw=1.6, label=f"{name} engine")
    top = max(float(np.nanmax(np.asarray(t, float))) for t in times.values())
    ax.plot(w, top * (w / w[-1]) ** (1 - alpha), "k--", lw=1, label=rf"$\propto m^{{1-\alpha}}$, $\alpha$ = {alpha:g}")
    ax.plot(w, top * (w / w[-1]), "k:", lw=1, label=r"$\propto m$")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width $m$")
    ax.set_ylabel("seconds per iteration (median)")
    ax.legend(fontsize=7)
    return ax
