"""The report of ``ntkcheck reproduce deng2022`` (:mod:`ntkcheck.deng2022`): summary.md / .html blocks.

Pure formatting of the summary dict that :func:`ntkcheck.deng2022.reproduce_deng2022` computed
(and wrote to ``summary.json``): nothing here measures anything.
"""

from __future__ import annotations

from .report import fmt

__all__ = ["report_blocks", "headline"]


def _ci(v) -> str:
    return f"[{fmt(v[0], 3)}, {fmt(v[1], 3)}]"


def headline(c: dict) -> str:
    """One line of a claim's statistics for the summary table."""
    s = c["statistics"]
    if c["id"] == "firing":
        return (f"max |z| = {fmt(s['max_abs_z'], 3)} (threshold {fmt(s['z_threshold'], 3)}, {s['cells']} cells x "
                f"{s['seeds']} networks); max per-network mean / bound = {fmt(s['max_mean_over_bound'], 3)}; the "
                f"bound exceeds the expectation {fmt(s['bound_over_expectation_min'], 3)}-"
                f"{fmt(s['bound_over_expectation_max'], 3)}x")
    if c["id"] == "stability":
        return (f"first iteration {fmt(s['first_fraction_smallest_m'], 3)} (smallest m) to "
                f"{fmt(s['first_fraction_largest_m'], 3)} (largest m); later iterations max "
                f"{fmt(s['max_later_fraction'], 3)}; cumulative slope {fmt(s['slope'], 3)} {_ci(s['slope_ci'])}")
    if c["id"] == "lambda_min":
        return (f"measured / bound from {fmt(s['min_ratio'], 3)} to {fmt(s['max_ratio'], 3)} "
                f"(median {fmt(s['median_ratio'], 3)})")
    if c["id"] == "convergence":
        return (f"max ratio {fmt(s['max_ratio'], 3)}; fraction of iterations <= 1/2: "
                f"{fmt(s['min_fraction_ratio_le_half'], 3)} (worst width); at most "
                f"{fmt(s['max_iterations_to_eps'], 3)} iterations to eps = {fmt(s['eps'])} "
                f"(log2(n/eps) = {fmt(s['log2_n_over_eps'], 3)})")
    parts = []
    for key in s:
        if key.startswith("sparse_exponent_") and not key.endswith("_ci"):
            tag = key[len("sparse_exponent_"):]
            parts.append(f"{tag.replace('alpha', 'alpha = ')}: sparse {fmt(s[key], 3)} {_ci(s[key + '_ci'])}, "
                         f"dense {fmt(s['dense_exponent_' + tag], 3)} {_ci(s['dense_exponent_' + tag + '_ci'])}, "
                         f"sum|S_i| {fmt(s['count_exponent_' + tag], 3)} (1 - alpha = "
                         f"{fmt(s['one_minus_alpha_' + tag], 3)}); not ruled: |U| "
                         f"{fmt(s.get('union_exponent_' + tag), 3)}, pairs touched (fired + rechecked) "
                         f"{fmt(s.get('touched_pairs_exponent_' + tag), 3)}")
    return "; ".join(parts)


def report_blocks(summary: dict, rules: dict, order: tuple) -> list:
    """The blocks of ``summary.md``/``.html`` (:func:`ntkcheck.report.write_report`): sizes, one row per
    claim with its headline statistics, the rules, and per claim its table and figures."""
    S = summary["sizes"]
    blocks = [("h1", "Shifted-ReLU sparsity and Gauss-Newton training (Deng et al. 2022) — ntkcheck"),
              ("p", f"Size: {summary['size']}; data {summary['data'].get('name', '')} (n = {summary['data']['n']}, "
                    f"d = {summary['data']['d']}) for claims (i), (ii), (iv), (v); kappa = {fmt(summary['kappa'])}. "
                    f"Status: {summary.get('status')}, {fmt(summary.get('seconds'))} s."),
              ("p", f"(i) widths {fmt(list(S['firing_widths']))}, shifts {fmt(list(S['shifts']))}, "
                    f"{S['firing_seeds']} networks each. (ii)/(iv) Gauss-Newton, eta = 1, mu = 0, b = "
                    f"{fmt(S['gn_shift'])}, widths {fmt(list(S['gn_widths']))}, {S['gn_seeds']} seeds, "
                    f"{S['gn_steps']} iterations, sparse engine. (iii) sphere data, n in {fmt(list(S['lam_ns']))}, "
                    f"d = {S['d']}, b in {fmt(list(S['lam_shifts']))}. (v) widths {fmt(list(S['cost_widths']))}, "
                    f"alpha in {fmt(list(S['alphas']))}, {S['cost_steps']} iterations per run, damping mu = "
                    f"{fmt(S['cost_damping'])} (a point on which no neuron fires makes H_b singular at small "
                    f"m^(1-alpha)), both engines on the same network, {S['cost_repeats']} repeats; a warm-up run "
                    f"compiles the kernels first.")]
    rows = [[c["id"], c["claim"], c["verdict"], headline(c)] for c in summary["claims"]]
    blocks.append(("table", ["", "claim", "verdict", "statistics"], rows))
    if summary.get("status") == "interrupted":
        blocks.append(("p", "Interrupted: only the claims listed above were measured."))
    blocks.append(("h2", "Rules"))
    blocks.append(("ul", [f"({k}) {v}" for k, v in rules.items()]))
    by = {c["id"]: c for c in summary["claims"]}
    tables = {
        "firing": (["m", "b", "m Phi(-b)", "mean #S_i", "z", "sd exact", "sd over seeds", "bound / expectation",
                    "max mean / bound", "max_i #S_i / bound"],
                   ["m", "b", "expected", "mean", "z", "sd_exact", "sd_seeds", "bound_over_expected",
                    "max_mean_over_bound", "max_point_over_bound"]),
        "stability": (["m", "first iteration", "later iterations (max)", "cumulative"],
                      ["m", "first_mean", "later_max", "cumulative_mean"]),
        "lambda_min": (["n", "b", "delta_sep", "lambda_min", "bound", "ratio"],
                       ["n", "b", "delta_sep", "lambda_min", "bound", "ratio"]),
        "convergence": (["m", "runs", "reached eps", "iterations with ratio <= 1/2", "max ratio",
                         "iterations to eps (mean)", "log2(n/eps)", "log2(norm(f_0 - y)/eps)"],
                        ["m", "runs", "reached_eps", "fraction_ratio_le_half", "max_ratio",
                         "mean_iterations_to_eps", "log2_n_over_eps", "mean_log2_r0_over_eps"]),
        "cost": (["alpha", "m", "b", "sum #S_i", "n m Phi(-b)", "#U", "pairs rechecked (sparse)",
                  "s/iter sparse", "s/iter dense", "init s sparse", "init s dense"],
                 ["alpha", "m", "b", "fired_pairs", "expected_fired_pairs", "union", "sparse_rechecked",
                  "sparse_seconds", "dense_seconds", "sparse_init_seconds", "dense_init_seconds"]),
    }
    notes = {
        "firing": "z uses the exact standard deviation of the per-network mean (derived in ntkcheck.deng2022); "
                  "'sd over seeds' is its empirical counterpart.",
        "stability": "Fractions are status changes in an iteration over sum_i |S_i| before it (mean over seeds); "
                     "cumulative is their sum over the run.",
        "convergence": "Ratios are ||f_{t+1} - y|| / ||f_t - y|| for t before the residual first reaches eps.",
        "cost": "s/iter: median over iterations of the minimum over repeated identical runs of the wall time of "
                "that iteration; exponents are least-squares fits on log-log axes with 95% bootstrap intervals "
                "over iterations. Counts (#S_i, #U, pairs rechecked) are medians over the iterations of one run.",
    }
    for cid in order:
        if cid not in by:
            continue
        c = by[cid]
        head, keys = tables[cid]
        blocks.append(("h2", f"({cid}) {c['claim']}: {c['verdict']}"))
        if cid in notes:
            blocks.append(("p", notes[cid]))
        blocks.append(("table", head, [[fmt(r[k], 4) for k in keys] for r in c["details"]]))
        for f in c["figures"]:
            blocks.append(("img", f, f"({cid}) {c['claim']}"))
    return blocks
