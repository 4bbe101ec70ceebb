"""Tables and plots over a sweep's grid, read from its results store only (issue 6).

The claims of LK22 §5 (docs/theory.md §7) are trends across parameters:

- Fig. 2(b): with Bernoulli masks and fixed τ, the final error ``L_K = ‖y − ξ f(W_K, X)‖²``
  decreases as ξ grows and as p grows -> :func:`heatmap` of the final error over ξ × p;
- Fig. 2(c): the final error decreases as the width m grows -> :func:`error_vs_width`;
- the per-step contraction of the loss against a theorem's rate -> :func:`rate_vs_predicted`
  (the built-in reference :func:`gd_rate` is DZPS19 Thm 4.1's ``1 − ηλ0/2`` for full GD;
  LK22's own rates are known in structure only, docs/theory.md §6).

Everything here works on *rows* (dicts, :meth:`ntkcheck.store.Store.table`), so no pandas is
needed.  Plotting functions import matplotlib lazily, take ``ax=None`` (a new
``matplotlib.figure.Figure`` without pyplot if missing), return the Axes and never touch
global rcParams.  Replicates are pooled by mean and standard deviation over finite values;
non-finite values (diverged runs) are counted separately (``nonfinite``).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from ._io import atomic_write
from .store import Store, scalar_columns
from .verify import dzps19_rate

__all__ = ["load_rows", "varying", "group", "pivot", "format_table", "write_csv", "gd_rate",
           "heatmap", "error_vs_width", "rate_vs_predicted", "save_axes", "report"]


def load_rows(source, *, status: str | None = "ok", where: dict | None = None) -> list[dict]:
    """Rows of a sweep: ``source`` is a store directory, a :class:`~ntkcheck.store.Store` or rows."""
    if isinstance(source, list):
        rows = source
        if status is not None:
            rows = [r for r in rows if r.get("status") == status]
        if where:
            rows = [r for r in rows if all(r.get(k) == v for k, v in where.items())]
        return rows
    store = source if isinstance(source, Store) else Store(source)
    if not store.runs.is_dir():
        raise FileNotFoundError(f"{store.root} holds no sweep results (no runs/ directory).")
    return store.table(status=status, where=where)


def varying(rows: list[dict]) -> list[str]:
    """Run parameters that take more than one value across ``rows`` (in first-seen order)."""
    keys: dict[str, set] = {}
    for r in rows:
        for k in r.get("_params", ()):
            keys.setdefault(k, set()).add(_hashable(r.get(k)))
    return [k for k, vals in keys.items() if len(vals) > 1]


def group(rows: list[dict], by, value: str = "final_loss") -> list[dict]:
    """Pool ``value`` over the rows of each combination of the ``by`` columns.

    Returns
    -------
    list of dict
        One per combination (sorted): the ``by`` values, ``count`` (finite values),
        ``nonfinite``, ``mean``, ``std`` (ddof=1, NaN for one value), ``min``, ``median``, ``max``.

    Examples
    --------
    >>> rows = [{"p": 1, "L": 1.0}, {"p": 1, "L": 3.0}, {"p": 2, "L": float("inf")}]
    >>> [(g["p"], g["mean"], g["nonfinite"]) for g in group(rows, ["p"], "L")]
    [(1, 2.0, 0), (2, nan, 1)]
    """
    by = [by] if isinstance(by, str) else list(by)
    buckets: dict = {}
    for r in rows:
        key = tuple(_hashable(r.get(k)) for k in by)
        buckets.setdefault(key, ([r.get(k) for k in by], []))[1].append(r.get(value))
    out = []
    for key in sorted(buckets, key=_sort_key):
        vals, raw = buckets[key]
        x = np.array([math.nan if v is None else float(v) for v in raw], dtype=np.float64)
        fin = x[np.isfinite(x)]
        row = dict(zip(by, vals))
        row.update(count=int(fin.size), nonfinite=int(x.size - fin.size),
                   mean=float(fin.mean()) if fin.size else math.nan,
                   std=float(fin.std(ddof=1)) if fin.size > 1 else math.nan,
                   min=float(fin.min()) if fin.size else math.nan,
                   median=float(np.median(fin)) if fin.size else math.nan,
                   max=float(fin.max()) if fin.size else math.nan)
        out.append(row)
    return out


def pivot(rows: list[dict], x: str, y: str, value: str = "final_loss", *, stat: str = "mean"):
    """The ``stat`` of ``value`` on the grid ``y × x``.

    Returns
    -------
    xs : list
        Sorted distinct values of column ``x``.
    ys : list
        Sorted distinct values of column ``y``.
    Z : ndarray of shape (len(ys), len(xs))
        ``Z[i, j]`` pools the rows with ``y == ys[i]`` and ``x == xs[j]`` (NaN where none).
    """
    cells = group(rows, [y, x], value)
    xs = sorted({c[x] for c in cells}, key=_sort_key1)
    ys = sorted({c[y] for c in cells}, key=_sort_key1)
    Z = np.full((len(ys), len(xs)), np.nan)
    for c in cells:
        Z[ys.index(c[y]), xs.index(c[x])] = c[stat]
    return xs, ys, Z


def format_table(rows: list[dict], columns=None, *, floatfmt: str = ".4g") -> str:
    """Plain-text table of ``rows`` (default columns: all scalar ones of the first row)."""
    if not rows:
        return "(no rows)"
    cols = list(columns) if columns is not None else [
        k for k, v in rows[0].items() if not k.startswith("_") and not isinstance(v, (list, dict))]

    def fmt(v):
        if isinstance(v, float):
            return format(v, floatfmt)
        return "" if v is None else str(v)

    cells = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def write_csv(rows: list[dict], path, columns=None) -> Path:
    """Write the scalar columns of ``rows`` as CSV; floats keep every digit (``repr``)."""
    cols = scalar_columns(rows) if columns is None else list(columns)
    lines = []

    class _W:
        def write(self, s):
            lines.append(s)

    w = csv.writer(_W(), lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([repr(v) if isinstance(v, float) else ("" if v is None else v) for v in (r.get(c) for c in cols)])
    path = Path(path)
    atomic_write(path, "".join(lines))
    return path


def gd_rate(row: dict) -> float:
    """DZPS19 Thm 4.1's per-step contraction ``1 − ηλ0/2`` of ``‖y − u(k)‖²`` (full GD).

    Needs the columns ``eta_resolved`` (or a numeric ``eta``) and ``lam0`` (the default runner
    records both); evaluated by :func:`ntkcheck.verify.dzps19_rate`. It is
    the theorem's rate for ``scheme = "gd"`` and a reference line for the masked schemes.
    """
    try:
        eta = row["eta_resolved"] if "eta_resolved" in row else row["eta"]
        return dzps19_rate(float(eta), float(row["lam0"]))
    except (KeyError, TypeError, ValueError):
        return math.nan


# ----------------------------------------------------------------------------- plots


def heatmap(rows: list[dict], x: str = "xi", y: str = "p", value: str = "final_loss", *, ax=None,
            log: bool = True, annotate: bool = True, cmap: str = "viridis", title: str | None = None):
    """Heatmap of the mean ``value`` over ``y × x`` (LK22 Fig. 2(b) analogue: final error over ξ × p).

    Parameters
    ----------
    rows : list of dict
        Rows from :func:`load_rows` (other parameters are pooled; filter them first).
    x, y : str
        Columns on the horizontal and vertical axes.
    value : str
        Column to average over replicates.
    ax : matplotlib Axes, optional
    log : bool, default True
        Colour by ``log10`` of the value (annotations show the value itself).
    annotate : bool, default True
        Write the mean in each cell.
    cmap : str
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    xs, ys, Z = pivot(rows, x, y, value)
    C = np.log10(np.where(Z > 0, Z, np.nan)) if log else Z
    im = ax.imshow(np.ma.masked_invalid(C), origin="lower", aspect="auto", cmap=cmap)
    ax.set_xticks(range(len(xs)), [_label(v) for v in xs])
    ax.set_yticks(range(len(ys)), [_label(v) for v in ys])
    ax.set_xlabel(_axis_name(x))
    ax.set_ylabel(_axis_name(y))
    ax.figure.colorbar(im, ax=ax, label=(f"log10 mean {value}" if log else f"mean {value}"))
    if annotate:
        finite = C[np.isfinite(C)]
        mid = float(np.median(finite)) if finite.size else 0.0
        for i in range(len(ys)):
            for j in range(len(xs)):
                if np.isfinite(Z[i, j]):
                    ax.text(j, i, format(Z[i, j], ".3g"), ha="center", va="center", fontsize=8,
                            color="white" if C[i, j] < mid else "black")
    ax.set_title(title if title is not None else f"mean {value} over {_axis_name(x)} x {_axis_name(y)}")
    return ax


def error_vs_width(rows: list[dict], value: str = "final_loss", *, width: str = "m", hue=None,
                   ax=None, logx: bool = True, logy: bool = True):
    """Mean ± std of ``value`` against the width (LK22 Fig. 2(c) analogue), one line per ``hue``.

    Parameters
    ----------
    rows : list of dict
    value : str
    width : str, default "m"
    hue : str or list of str, optional
        Columns whose combinations get separate lines.
    ax : matplotlib Axes, optional
    logx, logy : bool

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    hue = [] if hue is None else [hue] if isinstance(hue, str) else list(hue)
    for g in group(rows, hue, value) if hue else [None]:
        sub = rows if g is None else [r for r in rows if all(r.get(k) == g[k] for k in hue)]
        pts = group(sub, [width], value)
        w = np.array([float(p[width]) for p in pts])
        mu = np.array([p["mean"] for p in pts])
        sd = np.nan_to_num(np.array([p["std"] for p in pts]))
        label = None if g is None else ", ".join(f"{k}={_label(g[k])}" for k in hue)
        line = ax.errorbar(w, mu, yerr=sd, marker="o", capsize=3, label=label)
        del line
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set_xlabel(_axis_name(width))
    ax.set_ylabel(f"{value} (mean ± std over runs)")
    if hue:
        ax.legend(fontsize=8)
    return ax


def rate_vs_predicted(rows: list[dict], *, fitted: str = "contraction", predicted=gd_rate, hue=None,
                      ax=None, predicted_label: str = "DZPS19 Thm 4.1: 1 - eta lam0 / 2"):
    """Fitted per-step contraction of each run against a predicted rate, with the line y = x.

    Parameters
    ----------
    rows : list of dict
    fitted : str, default "contraction"
        Column of the fitted factor ρ (``log L_k ≈ a + k log ρ``).
    predicted : callable or str
        ``predicted(row) -> float`` or a column name (default :func:`gd_rate`).
    hue : str, optional
        Column coloured by value.
    ax : matplotlib Axes, optional
    predicted_label : str

    Returns
    -------
    matplotlib.axes.Axes
        Points below the diagonal contract faster than predicted.
    """
    ax = _axes(ax)
    pred = predicted if callable(predicted) else (lambda r: r.get(predicted))
    groups = [(None, rows)] if hue is None else [
        (g[hue], [r for r in rows if r.get(hue) == g[hue]]) for g in group(rows, [hue], fitted)]
    lo, hi = math.inf, -math.inf
    for key, sub in groups:
        px = np.array([_num(pred(r)) for r in sub])
        fy = np.array([_num(r.get(fitted)) for r in sub])
        ok = np.isfinite(px) & np.isfinite(fy)
        if ok.any():
            lo, hi = min(lo, px[ok].min(), fy[ok].min()), max(hi, px[ok].max(), fy[ok].max())
        ax.scatter(px[ok], fy[ok], s=18, label=None if key is None else f"{hue}={_label(key)}")
    if math.isfinite(lo):
        pad = 0.02 * max(hi - lo, 1e-3)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=1, label="fitted = predicted")
    ax.set_xlabel(f"predicted rate ({predicted_label})" if callable(predicted) else f"predicted ({predicted})")
    ax.set_ylabel(f"fitted per-step factor ({fitted})")
    ax.legend(fontsize=8)
    return ax


def save_axes(ax, stem, formats=("png", "pdf"), *, dpi: int = 150) -> list[Path]:
    """Save the figure of ``ax`` as ``stem.<fmt>`` for each format; return the paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    fig = ax.figure
    fig.tight_layout()
    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    return paths


def report(source, out, *, value: str = "final_loss", formats=("png", "pdf"), max_panels: int = 8) -> dict:
    """Write the tables and the applicable plots of a sweep into directory ``out``.

    Files: ``runs.csv`` (every valid record), ``summary.csv`` / ``summary.txt`` (``value``
    pooled over replicates per configuration), ``failures.csv`` when runs failed, and the
    figures: ``heatmap_xi_p[_k]`` when ξ and p both vary (one per combination of the other
    varying parameters, at most ``max_panels``) with its companion
    ``heatmap_xi_p_predicted_over_measured[_k]`` (the plateau of the docs/theory.md §8 model over
    the measured one, when the runs predicted it), ``error_vs_width`` when m varies,
    ``rate_vs_predicted`` when runs have a fitted ``contraction``.

    Returns
    -------
    dict
        ``{"tables": [paths], "figures": [paths], "notes": [str]}``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    all_rows = load_rows(source, status=None)
    rows = [r for r in all_rows if r["status"] == "ok"]
    failed = [r for r in all_rows if r["status"] == "failed"]
    written = {"tables": [], "figures": [], "notes": []}
    written["tables"].append(write_csv(all_rows, out / "runs.csv"))
    if failed:
        written["tables"].append(write_csv(failed, out / "failures.csv",
                                           ["run_id", "replicate", "seed", "error", *failed[0]["_params"]]))
    if not rows:
        written["notes"].append("no successful runs: nothing to aggregate")
        return written
    vary = varying(rows)
    params = list(rows[0]["_params"])
    summary = group(rows, vary or params[:1], value)
    written["tables"].append(write_csv(summary, out / "summary.csv"))
    (out / "summary.txt").write_text(
        f"{value} pooled over replicates ({len(rows)} ok runs, {len(failed)} failed)\n"
        + format_table(summary) + "\n")
    written["tables"].append(out / "summary.txt")

    others = [k for k in vary if k not in ("xi", "p")]
    if "xi" in vary and "p" in vary:
        combos = group(rows, others, value) if others else [{}]
        if len(combos) > max_panels:
            written["notes"].append(f"{len(combos)} combinations of {others}: heatmaps of the first {max_panels}")
        for i, c in enumerate(combos[:max_panels]):
            sub = [r for r in rows if all(r.get(k) == c[k] for k in others)]
            title = ", ".join(f"{k}={_label(c[k])}" for k in others) or None
            ax = heatmap(sub, "xi", "p", value, title=title and f"mean {value}: {title}")
            stem = out / ("heatmap_xi_p" + (f"_{i}" if others else ""))
            written["figures"] += save_axes(ax, stem, formats)
            if any(math.isfinite(_num(r.get("plateau_ratio"))) for r in sub):
                # the companion: plateau predicted by the model of docs/theory.md §8 / measured
                ax = heatmap(sub, "xi", "p", "plateau_ratio", log=False, cmap="coolwarm",
                             title="predicted / measured plateau (docs/theory.md §8 model)"
                             + (f": {title}" if title else ""))
                written["figures"] += save_axes(ax, out / ("heatmap_xi_p_predicted_over_measured"
                                                           + (f"_{i}" if others else "")), formats)
    if "m" in vary:
        hue = [k for k in vary if k not in ("m", "kappa")][:2] or None
        written["figures"] += save_axes(error_vs_width(rows, value, hue=hue), out / "error_vs_width", formats)
    if any(math.isfinite(_num(r.get("contraction"))) for r in rows):
        hue = "scheme" if "scheme" in vary else ("p" if "p" in vary else None)
        written["figures"] += save_axes(rate_vs_predicted(rows, hue=hue), out / "rate_vs_predicted", formats)
    return written


# ----------------------------------------------------------------------------- helpers


def _axes(ax):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=(5.5, 4.0)).subplots()


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _hashable(v):
    return tuple(v) if isinstance(v, list) else v


def _sort_key1(v):
    return (0, float(v), "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0.0, str(v))


def _sort_key(key):
    return tuple(_sort_key1(v) for v in key)


_AXIS_NAMES = {"xi": "keep probability ξ", "p": "subnetworks p", "m": "width m", "eta": "step η",
               "local_steps": "local steps τ", "kappa": "init scale κ", "n": "points n"}


def _axis_name(key: str) -> str:
    return _AXIS_NAMES.get(key, key)


def _label(v) -> str:
    return format(v, ".4g") if isinstance(v, float) else str(v)
