"""Aggregation of sweep results: pooled tables, pivots, plots and the report, from the store only."""

from __future__ import annotations

import csv
import math

import matplotlib
import numpy as np
import pytest

from ntkcheck.aggregate import (
    error_vs_width,
    format_table,
    gd_rate,
    group,
    heatmap,
    load_rows,
    pivot,
    rate_vs_predicted,
    report,
    save_axes,
    varying,
    write_csv,
)
from ntkcheck.cli import main
from ntkcheck.store import Store
from ntkcheck.sweep import run_sweep


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for xi in (0.25, 0.5, 1.0):
        for p in (1, 2):
            for r in range(3):
                rows.append(dict(run_id=f"{xi}-{p}-{r}", replicate=r, status="ok", xi=xi, p=p, m=64,
                                 eta=0.5, lam0=0.1, final_loss=float(rng.random()) + xi,
                                 contraction=float(0.9 + 0.01 * rng.random()), _params=("xi", "p", "m")))
    return rows


def test_group_and_pivot_match_numpy():
    rows = _rows()
    rows[0]["final_loss"] = math.inf  # a diverged run is counted, not averaged
    g = group(rows, ["xi", "p"], "final_loss")
    assert [(c["xi"], c["p"]) for c in g] == [(0.25, 1), (0.25, 2), (0.5, 1), (0.5, 2), (1.0, 1), (1.0, 2)]
    for c in g:
        vals = np.array([r["final_loss"] for r in rows if r["xi"] == c["xi"] and r["p"] == c["p"]])
        fin = vals[np.isfinite(vals)]
        assert c["count"] == fin.size and c["nonfinite"] == vals.size - fin.size
        np.testing.assert_allclose([c["mean"], c["std"], c["median"]],
                                   [fin.mean(), fin.std(ddof=1), np.median(fin)], rtol=1e-14)
    xs, ys, Z = pivot(rows, "xi", "p", "final_loss")
    assert xs == [0.25, 0.5, 1.0] and ys == [1, 2]
    assert Z[0, 0] == g[0]["mean"] and Z[1, 2] == g[5]["mean"]
    assert varying(rows) == ["xi", "p"]


def test_pivot_marks_missing_cells_nan():
    rows = [r for r in _rows() if not (r["xi"] == 1.0 and r["p"] == 2)]
    _, _, Z = pivot(rows, "xi", "p")
    assert np.isnan(Z[1, 2]) and np.isfinite(Z).sum() == 5


def test_gd_rate_is_dzps_formula():
    assert gd_rate({"eta": 0.5, "lam0": 0.2}) == 1 - 0.5 * 0.2 / 2
    assert math.isnan(gd_rate({"eta": 0.5}))


def test_table_text_and_csv(tmp_path):
    g = group(_rows(), "p")
    text = format_table(g, ["p", "count", "mean"])
    assert text.splitlines()[0].split() == ["p", "count", "mean"] and len(text.splitlines()) == 3
    path = write_csv(g, tmp_path / "t.csv")
    with open(path) as fh:
        got = list(csv.DictReader(fh))
    assert [float(r["mean"]) for r in got] == [c["mean"] for c in g]  # every digit kept


def test_plots_return_axes_and_leave_rcparams_alone(tmp_path):
    before = dict(matplotlib.rcParams)
    rows = _rows()
    ax = heatmap(rows)
    xs, ys, Z = pivot(rows, "xi", "p")
    np.testing.assert_allclose(ax.images[0].get_array(), np.log10(Z))
    assert len(ax.texts) == Z.size and ax.get_xlabel() == "keep probability ξ"
    from matplotlib.figure import Figure

    mine = Figure().subplots()
    assert heatmap(rows, log=False, ax=mine) is mine
    np.testing.assert_allclose(mine.images[0].get_array(), Z)

    wrows = [dict(r, m=m, final_loss=r["final_loss"] / m) for r in rows for m in (32, 128)]
    ax = error_vs_width(wrows, hue="p")
    assert len(ax.get_legend().get_texts()) == 2 and ax.get_xscale() == "log"

    ax = rate_vs_predicted(rows, hue="p")
    pts = np.vstack([c.get_offsets() for c in ax.collections])
    np.testing.assert_allclose(np.sort(pts[:, 1]), np.sort([r["contraction"] for r in rows]))
    np.testing.assert_allclose(pts[:, 0], 1 - 0.5 * 0.1 / 2)
    paths = save_axes(ax, tmp_path / "fig" / "rate", ("png", "pdf"))
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in paths)
    assert dict(matplotlib.rcParams) == before


SPEC = """
[sweep]
seed = 1
seeds = 2
[fixed]
data = "sphere:n=12,d=3,seed=0"
scheme = "bernoulli"
eta = 0.5
steps = 6
record = "loss"
identity_samples = 0
[grid]
xi = [0.5, 1.0]
p = [1, 2]
m = [16, 64]
"""


def test_report_from_a_real_store(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "sweep"
    run_sweep(spec, out, workers=0)
    rows = load_rows(out)
    assert len(rows) == 16 and set(varying(rows)) == {"xi", "p", "m"}
    written = report(out, tmp_path / "rep", formats=("png",))
    names = sorted(p.name for p in written["figures"])
    assert names == ["error_vs_width.png", "heatmap_xi_p_0.png", "heatmap_xi_p_1.png",
                     "heatmap_xi_p_predicted_over_measured_0.png", "heatmap_xi_p_predicted_over_measured_1.png",
                     "rate_vs_predicted.png"]
    # the companion heatmap shows predicted / measured plateau, as recorded by each run
    for r in rows:
        assert r["plateau_ratio"] == pytest.approx(r["predicted_plateau"] / r["plateau"], rel=1e-12)
    with open(tmp_path / "rep" / "summary.csv") as fh:
        summary = list(csv.DictReader(fh))
    assert len(summary) == 8 and all(int(s["count"]) == 2 for s in summary)
    first = [r["final_loss"] for r in rows if (r["xi"], r["p"], r["m"]) == (0.5, 1, 16)]
    cell = [s for s in summary if (float(s["xi"]), int(s["p"]), int(s["m"])) == (0.5, 1, 16)][0]
    assert float(cell["mean"]) == pytest.approx(np.mean(first), rel=1e-15)

    assert main(["sweep-report", str(out), "--formats", "pdf"]) == 0
    printed = capsys.readouterr().out.split()
    assert str(out / "report" / "heatmap_xi_p_0.pdf") in printed
    assert main(["sweep-report", str(out), "--formats", "gif"]) == 2


def test_report_lists_failures_and_survives_no_successes(tmp_path):
    store = Store(tmp_path / "s")
    store.create_dirs()
    store.write(dict(run_id="a", params={"xi": 0.5}, replicate=0, seed=1, status="failed", result=None,
                     error={"type": "ValueError", "message": "bad", "traceback": ""}))
    written = report(tmp_path / "s", tmp_path / "rep")
    assert written["figures"] == [] and "no successful runs" in written["notes"][0]
    assert "ValueError: bad" in (tmp_path / "rep" / "failures.csv").read_text()
    with pytest.raises(FileNotFoundError, match="no sweep results"):
        load_rows(tmp_path / "nothing")
