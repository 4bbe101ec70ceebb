"""Reports of the width search (``ntkcheck width``): summary.json / .md / .html and figures.

One search (:class:`~ntkcheck.width.WidthResult`) or a scaling study
(:class:`~ntkcheck.scaling.ScalingResult`) becomes report blocks (:mod:`ntkcheck.report`), the
figure of the conclusion's probability against m per n (the phase transition) and, for a
scaling study, m*(n) on log–log axes with each theorem's predicted width.
"""

from __future__ import annotations

import os

from ._io import atomic_write
from ._json import json_text, jsonable
from .report import fmt, write_report
from .plotting import new_axes, plot_width_probability, plot_width_scaling, save_figure

__all__ = ["summary", "blocks", "write_outputs", "text_summary"]


def summary(result) -> dict:
    """The JSON summary: a search's ``to_dict()`` (``m_star``, ``bracket``, ``conclusion``,
    ``theorems``...), or for a scaling study ``conclusion``, ``fit``, ``theorems`` (exponents) and
    ``results`` (one search per n)."""
    d = result.to_dict()
    d["kind"] = "scaling" if hasattr(result, "fit") else "search"
    return jsonable(d)


def _levels_table(r) -> tuple:
    rows = [[str(v.m), f"{v.successes}/{v.trials}", fmt(v.probability, 3), f"[{v.ci[0]:.2f}, {v.ci[1]:.2f}]",
             "holds" if v.holds else "fails"] for v in sorted(r.levels, key=lambda v: v.m)]
    return ("table", ["m", "seeds where it holds", "fraction", "95% CI (Clopper-Pearson)", f"decision (>= {1 - r.delta:g})"],
            rows)


def _theorem_table(r) -> tuple:
    rows = []
    for t in r.theorems:
        w = t["width"]
        rows.append([t["theorem"], t["provenance"], fmt(w, 3) if w is not None else f"n/a (needs {', '.join(t['missing'])})",
                     fmt(t.get("ratio"), 3), fmt(t["n_exponent"], 3)])
    return ("table", ["theorem", "provenance", "predicted width (c = 1)", "predicted / m*", "exponent of n"], rows)


def _search_blocks(r, *, level: str = "h2") -> list:
    found = (f"m* = {r.m_star} (bracket: fails at {r.bracket[0] or 'no smaller width tried'}, holds at {r.bracket[1]})"
             if r.m_star else f"not found up to m = {r.bracket[0]}")
    out = [(level, f"n = {r.n}: {found}"),
           ("p", f"lambda_0 = {fmt(r.lam0, 4)}, lambda_max = {fmt(r.lam_max, 4)}; {r.seeds} seeds per width; "
                 f"{r.runs} runs ({r.runs_executed} executed now) in {fmt(r.seconds, 3)} s."),
           _levels_table(r), _theorem_table(r)]
    if r.notes:
        out.append(("ul", list(r.notes)))
    return out


def blocks(result, figures=()) -> list:
    """Report blocks of a search or a scaling study (``figures``: relative paths of its PNGs)."""
    scaling = hasattr(result, "fit")
    first = result.results[0] if scaling else result
    out = [("h1", f"ntkcheck width: {first.conclusion}"),
           ("p", f"Conclusion ({first.source}): {first.statement}. m* is the smallest width at which it holds on at "
                 f"least 1 - delta = {1 - first.delta:g} of the seeds (doubling, then bisection on a log grid to a "
                 f"relative resolution {first.tolerance:g})."),
           ("p", f"Data: {first.data['name']} ({first.data['source']}), d = {first.data['d']}. Run parameters: "
                 + ", ".join(f"{k}={v}" for k, v in first.params.items() if k not in ("data", "conclusion")
                             and v is not None) + "."),
           ("p", "The theorems' widths are sufficient conditions with unspecified absolute constants (taken as 1); "
                 "their ratio to m* says how conservative the requirement is on these data, not that the theorem "
                 "is wrong.")]
    if scaling:
        f = result.fit
        rows = [["measured m*(n)", "", fmt(f.b, 3), f"[{f.b_ci[0]:.2f}, {f.b_ci[1]:.2f}]"]]
        if f.b_with_lambda is not None:
            rows.append(["measured, with + c log lambda_0", "", fmt(f.b_with_lambda, 3),
                         f"[{f.b_with_lambda_ci[0]:.2f}, {f.b_with_lambda_ci[1]:.2f}] (c = {f.c:.2f} "
                         f"[{f.c_ci[0]:.2f}, {f.c_ci[1]:.2f}])"])
        for t in result.theorems:
            rows.append([t["theorem"], fmt(t["nominal"], 3), fmt(t["on_data"], 3), "(prediction)"])
        out += [("h2", f"Scaling: m* ~ n^{f.b:.2f}"),
                ("p", f"Fit of log m* = a + b log n over n = {', '.join(map(str, f.ns))} (nested subsets): "
                      f"b = {f.b:.2f}, {int(f.level * 100)}% bootstrap interval [{f.b_ci[0]:.2f}, {f.b_ci[1]:.2f}] "
                      f"({f.boot} replicates: seeds redrawn at every width, threshold placed inside its bracket). "
                      "A theorem's nominal exponent holds lambda_0 fixed; the slope on these data uses the "
                      "measured lambda_0(n) = " + ", ".join(fmt(v, 3) for v in f.lam0) + "."),
                ("table", ["", "nominal exponent of n", "slope on these data", "interval"], rows)]
    for fig in figures:
        out.append(("img", fig, os.path.basename(fig)))
    for r in (result.results if scaling else [result]):
        out += _search_blocks(r, level="h2")
    return out


def write_outputs(result, out) -> dict:
    """Write ``summary.json``, ``summary.md``, ``summary.html`` and ``figures/*`` into ``out``."""

    scaling = hasattr(result, "fit")
    results = list(result.results) if scaling else [result]
    os.makedirs(os.path.join(out, "figures"), exist_ok=True)
    figs = []
    fig, ax = new_axes()
    plot_width_probability(results, ax=ax)
    ax.set_title(f"{results[0].conclusion}: probability against width", fontsize=9)
    save_figure(fig, os.path.join(out, "figures", "probability"))
    figs.append("figures/probability.png")
    if scaling:
        fig, ax = new_axes()
        plot_width_scaling(result.fit, result.theorems, ax=ax)
        ax.set_title(f"{results[0].conclusion}: m* against n", fontsize=9)
        save_figure(fig, os.path.join(out, "figures", "scaling"))
        figs.append("figures/scaling.png")
    data = summary(result)
    atomic_write(os.path.join(out, "summary.json"), json_text(data))
    write_report(blocks(result, figs), out, title=f"ntkcheck width {results[0].conclusion}", stem="summary")
    return data


def text_summary(result) -> str:
    """The lines ``ntkcheck width`` prints."""
    scaling = hasattr(result, "fit")
    lines = []
    for r in (result.results if scaling else [result]):
        found = (f"m* = {r.m_star}  (fails at {r.bracket[0]}, holds at {r.bracket[1]})" if r.m_star
                 else f"not found up to m = {r.bracket[0]}")
        lines.append(f"{r.conclusion} on n = {r.n} (lambda_0 = {fmt(r.lam0, 4)}): {found}; {r.runs} runs, "
                     f"{fmt(r.seconds, 3)} s")
        for t in r.theorems:
            w = t["width"]
            lines.append(f"    {t['theorem']:<20} predicts m >= {fmt(w, 3) if w is not None else 'n/a'}"
                         + (f"  ({fmt(t['ratio'], 3)} x m*)" if t.get("ratio") else "")
                         + ("" if w is not None else f"  (needs {', '.join(t['missing'])})"))
        lines += [f"    note: {n}" for n in r.notes]
    if scaling:
        f = result.fit
        lines.append(f"scaling: m* ~ n^{f.b:.2f}  (95% bootstrap CI [{f.b_ci[0]:.2f}, {f.b_ci[1]:.2f}])"
                     + (f"; with + c log lambda_0: b = {f.b_with_lambda:.2f} [{f.b_with_lambda_ci[0]:.2f}, "
                        f"{f.b_with_lambda_ci[1]:.2f}], c = {f.c:.2f}" if f.b_with_lambda is not None else ""))
        for t in result.theorems:
            here = f"n^{fmt(t['on_data'], 3)}" if t["on_data"] is not None else "n/a (its width needs a value not given)"
            lines.append(f"    {t['theorem']:<20} nominal n^{fmt(t['nominal'], 3)}, on these data {here}")
    return "\n".join(lines)
