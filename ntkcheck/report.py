"""Markdown and HTML summaries of a run (``report.json``) and of a reproduction.

A report is a list of blocks — headings, paragraphs, bullet lists, tables and figures — rendered
twice, to Markdown (``report.md``) and to a self-contained HTML page (``report.html``, figures
linked by relative path), so both always say the same thing.
"""

from __future__ import annotations

import html
import os

from ._io import atomic_write

__all__ = ["render_markdown", "render_html", "write_report", "write_run_report", "fmt"]


def fmt(v, digits: int = 4) -> str:
    """Format a number for a table (``None`` -> ``n/a``; floats with ``digits`` significant)."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt(x, digits) for x in v)
    return str(v)


def render_markdown(blocks) -> str:
    """Render blocks to Markdown."""
    out = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + b[1])
        elif kind == "p":
            out.append(b[1])
        elif kind == "ul":
            out.append("\n".join(f"- {x}" for x in b[1]))
        elif kind == "table":
            head, rows = b[1], b[2]
            lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
            out.append("\n".join(lines))
        elif kind == "img":
            out.append(f"![{b[2]}]({b[1]})")
        elif kind == "pre":
            out.append("```\n" + b[1] + "\n```")
    return "\n\n".join(out) + "\n"


def render_html(blocks, title: str) -> str:
    """Render blocks to a standalone HTML page."""
    e = html.escape
    body = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{e(b[1])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{e(b[1])}</p>")
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{e(str(x))}</li>" for x in b[1]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{e(h)}</th>" for h in b[1])
            rows = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in b[2])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "img":
            body.append(f'<figure><img src="{e(b[1])}" alt="{e(b[2])}" width="560">'
                        f"<figcaption>{e(b[2])}</figcaption></figure>")
        elif kind == "pre":
            body.append(f"<pre>{e(b[1])}</pre>")
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
             "padding:3px 8px;font-size:90%}th{background:#eee}figure{display:inline-block;"
             "margin:0.5em}pre{background:#f6f6f6;padding:0.5em}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(blocks, out, *, title: str, stem: str = "report") -> dict:
    """Write ``stem.md`` and ``stem.html`` into ``out``; return their relative names."""
    atomic_write(os.path.join(out, f"{stem}.md"), render_markdown(blocks))
    atomic_write(os.path.join(out, f"{stem}.html"), render_html(blocks, title))
    return dict(markdown=f"{stem}.md", html=f"{stem}.html")


def run_blocks(rep: dict) -> list:
    """Blocks of the report of one ``ntkcheck run`` (from its ``report.json`` dict)."""
    cfg, res, data = rep["config"], rep["resolved"], rep["data"]
    cmp_ = rep.get("comparison", {})
    thm = cmp_.get("theorem", {})
    blocks = [("h1", f"ntkcheck run: {cfg['scheme']} on {data['name']}"),
              ("p", f"Status: {rep['status']}. Seeds: {[s['seed'] for s in rep['seeds']]}. "
                    f"m = {cfg['m']}, kappa = {cfg['kappa']}, eta = {fmt(res['eta'])}, "
                    f"K = {cfg['steps']}, tau = {cfg['local_steps']}, p = {cfg['p']}, "
                    f"xi = {fmt(res['xi'])} ({res['mask_kind']} masks).")]
    blocks += [("h2", "Data and Assumption 1"), ("p", data["source"])]
    notes = list(data.get("notes", []))
    if data.get("normalized"):
        notes.insert(0, "The rows were normalized to the unit sphere before training.")
    blocks.append(("ul", notes + list(rep["assumptions"]["messages"])))
    if thm:
        blocks += [("h2", f"Theorem {thm['name']} [{thm['provenance']}]"), ("p", thm["citation"]),
                   ("p", "Absolute constants hidden by O/Omega are set to 1; [STRUCT] theorems "
                         "are templates, not the paper's exact expressions.")]
        c, pl, mv, lm = (cmp_["contraction"], cmp_["plateau"], cmp_["movement"], cmp_["lambda_min"])
        rows = [
            ["contraction per global step", fmt(c["predicted_rate"]),
             f"{fmt(c['measured_mean'])} ± {fmt(c['measured_sd'], 2)}",
             fmt(c["at_least_as_fast_as_predicted"])],
            ["final plateau of L_k", fmt(pl["predicted_error"]), fmt(pl["measured_mean"]),
             fmt(pl["within_error"])],
            ["max weight movement vs R", fmt(mv["R"]), fmt(mv["max"]), fmt(mv["within_R"])],
            ["max weight movement vs R'", fmt(mv["R_prime"]), fmt(mv["max"]), fmt(mv["within_R_prime"])],
            ["min lambda_min(H(W_k)) vs lambda_0/2", fmt(lm["half_lambda_0"]), fmt(lm["min_full"]),
             fmt(lm["full_above_half_lambda_0"])],
        ]
        if lm.get("min_masked") is not None:
            rows.append(["min masked lambda_min vs xi lambda_0/2",
                         fmt(None if lm["half_lambda_0"] is None else res["xi"] * lm["half_lambda_0"]),
                         fmt(lm["min_masked"]), fmt(lm["masked_above_half_xi_lambda_0"])])
        blocks.append(("table", ["quantity", "predicted", "measured", "consistent"], rows))
        blocks.append(("h3", "Hypotheses at this configuration"))
        blocks.append(("table", ["hypothesis", "status", "lhs", "rhs", "shortfall factor"],
                       [[r["hypothesis"], r["status"], fmt(r["lhs"]), fmt(r["rhs"]),
                         fmt(r["factor"]) if r["status"] == "violated" else ""]
                        for r in thm["requirements"]]))
    if rep.get("identities"):
        blocks.append(("h2", "Exact identities (docs/theory.md §5)"))
        blocks.append(("table", ["identity", "statement", "seeds", "max z (MC)", "max rel. error", "ok"],
                       [[i["identity"], i["statement"], i["seeds"], fmt(i["max_z"], 3),
                         fmt(i["max_rel_error"], 3), fmt(i["ok_all"])] for i in rep["identities"]]))
    blocks.append(("h2", "Seeds"))
    blocks.append(("table", ["seed", "status", "L_0", "L_K", "plateau", "contraction", "max movement"],
                   [[s["seed"], s["status"], fmt(s["initial_loss"]), fmt(s["final_loss"]),
                     fmt(s["plateau"]), fmt(s["contraction"]), fmt(s["max_movement"])]
                    for s in rep["seeds"]]))
    figs = [f for f in rep.get("files", {}).get("figures", []) if f.endswith(".png")]
    if figs:
        blocks.append(("h2", "Figures"))
        blocks += [("img", f, os.path.splitext(os.path.basename(f))[0]) for f in figs]
    return blocks


def write_run_report(rep: dict, out) -> dict:
    """Write ``report.md`` / ``report.html`` of a run into ``out``."""
    return write_report(run_blocks(rep), out, title=f"ntkcheck run: {rep['config']['scheme']}")
