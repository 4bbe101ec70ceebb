"""``ntkcheck check DATA``: Assumption 1 item by item, the H∞ spectrum, and what theorems predict.

Prints (or writes as JSON) the checks of :func:`ntkcheck.assumptions.check_assumptions` —
row norms, ``|y_i| ≤ C``, the most nearly parallel pairs with ``|cos|``, duplicates — then
``λ0``, ``λ_max`` of H∞ and ``yᵀ(H∞)⁻¹y``, and for each ``--theorem`` its predicted width, step
size, rate, radii and error term on these data, with whether ``--width``, ``--eta`` and
``--kappa`` satisfy its hypotheses and by what factor they fall short.

When the data have a duplicated or parallel pair, ``H∞`` is singular (``λ0 = 0``): the pair is
reported as ``[FAIL]``, predictions that need ``λ0 > 0`` are listed as not available (with
that reason) instead of being evaluated, and the exit code is 1 — the JSON is still written.

Exit codes: 0 everything holds, 1 Assumption 1 or a theorem hypothesis fails, 2 bad arguments.
"""

from __future__ import annotations

# lazy imports: the package is imported inside the command's functions, so that `ntkcheck --help`
# and the other commands start without loading SymPy and the workflow modules.

import sys

__all__ = ["add_parser", "run", "build_result"]

#: Bytes of the n x n arrays the assumption checks hold at once, per entry (H_inf, angles,
#: work arrays of the eigensolver; measured peak about 4 at n = 3000).
KERNEL_BYTES_PER_ENTRY = 6 * 8

DEFAULT_THEOREMS = ("du2019.thm4_1",)


def add_parser(subparsers) -> None:
    """Register ``check`` on `subparsers`."""
    p = subparsers.add_parser(
        "check", help="check Assumption 1 and theorem requirements on a dataset",
        description=__doc__.split("\n\n")[0] + " DATA is a file (.npz, .npy pair 'X.npy,y.npy', "
        ".csv) or a built-in dataset such as 'sphere:n=100,d=10,seed=0' or 'digits'.")
    p.add_argument("data", metavar="DATA", help="dataset spec or file")
    p.add_argument("--theorem", action="append", metavar="NAME",
                   help=f"theorem to evaluate (repeatable; default {', '.join(DEFAULT_THEOREMS)}); "
                        "see `ntkcheck bounds list`")
    p.add_argument("--width", type=int, metavar="M", help="hidden width m to check")
    p.add_argument("--eta", type=float, metavar="ETA", help="step size eta to check")
    p.add_argument("--kappa", type=float, default=1.0, metavar="K", help="init scale kappa (default 1)")
    p.add_argument("--delta", type=float, default=0.1, metavar="D", help="failure probability (default 0.1)")
    p.add_argument("--xi", type=float, default=1.0, help="keep probability xi (LK22; default 1)")
    p.add_argument("--p", type=int, default=1, help="subnetworks p (LK22; default 1)")
    p.add_argument("--tau", type=int, default=1, help="local steps tau (LK22; default 1)")
    p.add_argument("--steps", type=int, default=100, metavar="K", help="global steps K (LK22; default 100)")
    p.add_argument("--epsilon", type=float, default=0.1, help="accuracy epsilon (ADHLW19; default 0.1)")
    p.add_argument("--label-bound", type=float, default=1.0, metavar="C", help="C of |y_i| <= C (default 1)")
    p.add_argument("--target", help="CSV label column (name or 0-based index; default last)")
    p.add_argument("--normalize", action="store_true", help="project rows onto the unit sphere first")
    p.add_argument("--depth", type=int, metavar="L",
                   help="also report lambda_0 and lambda_max of the infinite-width NTK of L-hidden-layer ReLU "
                        "networks (docs/theory.md §10), for every depth 1..L")
    p.add_argument("--sigma-w", type=float, default=1.0, help="weight scale of the deep NTK (default 1)")
    p.add_argument("--sigma-b", type=float, default=0.0, help="bias scale of the deep NTK (default 0)")
    p.add_argument("--json", metavar="PATH", help="write the result as JSON to PATH ('-' for stdout)")
    p.set_defaults(func=run)


def build_result(args) -> dict:
    """Run the checks for parsed ``args``; return the JSON-serialisable result."""
    from ..assumptions import check_assumptions
    from ..data import check_memory, load_dataset
    from ..verify import check_theorem, data_values, expected_r0
    from .._params import check_param, check_step_size
    from .._validation import check_scalar

    # the run parameters follow the one table of rules (ntkcheck._params), as in run and sweeps
    if args.width is not None:
        check_param("m", args.width, label="--width")
    if args.eta is not None:
        check_step_size(args.eta, "--eta")
    check_param("kappa", args.kappa, label="--kappa")
    check_param("delta", args.delta, label="--delta")
    check_param("xi", args.xi, label="--xi")
    check_param("p", args.p, label="--p")
    check_param("local_steps", args.tau, label="--tau")
    check_param("steps", args.steps, label="--steps")
    check_scalar(args.epsilon, "--epsilon", min_val=0.0, closed="neither")
    check_scalar(args.label_bound, "--label-bound", min_val=0.0, closed="neither")
    if args.depth is not None:
        check_scalar(args.depth, "--depth", int, min_val=1, max_val=64)
        check_scalar(args.sigma_w, "--sigma-w", min_val=0.0, closed="neither")
        check_scalar(args.sigma_b, "--sigma-b", min_val=0.0)
    ds = load_dataset(args.data, target=args.target, normalize=args.normalize)
    check_memory(KERNEL_BYTES_PER_ENTRY * float(ds.n) ** 2,
                 what=f"the {ds.n} x {ds.n} kernel H_inf of {ds.name}",
                 fix="use fewer points (a subset of the rows)")
    rep = check_assumptions(ds.X, ds.y, label_bound=args.label_bound)
    values = data_values(rep)
    notes = []
    if not rep.lam0_hat > 0:  # H_inf singular: the theorems' lambda_0 > 0 does not hold
        values.update(lambda_0=None, y_Hinv_y=None)
        pairs = rep.duplicates or rep.parallel_pairs
        why = f" (e.g. rows {pairs[0][0]} and {pairs[0][1]})" if pairs else ""
        notes.append(f"lambda_0 = {rep.lam0_hat:.3g}: H_inf is singular on these data{why}, so "
                     f"predictions that need lambda_0 > 0 are not evaluated")
    r0 = expected_r0(ds.X, ds.y, kappa=args.kappa, xi=args.xi)
    values.update(m=args.width, eta=args.eta, kappa=args.kappa, delta=args.delta, xi=args.xi,
                  p=args.p, tau=args.tau, K=args.steps, epsilon=args.epsilon, r0=r0)
    theorems = [_singular_reasons(check_theorem(name, **values).to_dict(), notes)
                for name in (args.theorem or DEFAULT_THEOREMS)]
    passed = rep.passed and all(t["passed"] for t in theorems)
    deep = None if args.depth is None else deep_spectrum(ds.X, args.depth, sigma_w=args.sigma_w,
                                                         sigma_b=args.sigma_b)
    result = dict(data=ds.describe(), assumptions=rep.to_dict(),
                kernel=dict(lambda_0=rep.lam0_hat, lambda_max=rep.lam_max, y_Hinv_y=rep.to_dict()["y_Hinv_y"],
                            notes=notes),
                given=dict(m=args.width, eta=args.eta, kappa=args.kappa, delta=args.delta, xi=args.xi,
                           p=args.p, tau=args.tau, K=args.steps, epsilon=args.epsilon,
                           r0_expected=r0),
                theorems=theorems, passed=passed)
    if deep is not None:
        result["deep"] = deep
    return result


def deep_spectrum(X, depth: int, *, sigma_w: float = 1.0, sigma_b: float = 0.0) -> list:
    """``λ0`` and ``λ_max`` of the infinite-width NTK Θ^(L+1) of L-hidden-layer ReLU networks
    (docs/theory.md §10) for every L = 1..``depth``, with ``λ0/λ_max`` (how conditioning falls with depth)."""
    from ..deep import ntk_deep_infinite
    from ..eigen import eigenvalue_extremes

    out = []
    for L in range(1, depth + 1):
        lo, hi = eigenvalue_extremes(ntk_deep_infinite(X, L, sigma_w=sigma_w, sigma_b=sigma_b))
        out.append(dict(depth=L, lambda_0=lo, lambda_max=hi, ratio=lo / hi if hi > 0 else None))
    return out


def _singular_reasons(theorem: dict, notes: list) -> dict:
    """Say why predictions are missing when lambda_0 was withheld (H_inf singular)."""
    if notes:
        for key, why in theorem["unavailable"].items():
            if "'lambda_0'" in why:
                theorem["unavailable"][key] = (f"{theorem['name']}: needs lambda_0 > 0, but "
                                               f"H_inf is singular on these data")
    return theorem


def run(args) -> int:
    """Entry point of ``ntkcheck check``."""
    from .._io import atomic_write
    from .._json import json_text, jsonable

    result = build_result(args)
    if args.json:
        text = json_text(jsonable(result))
        if args.json == "-":
            sys.stdout.write(text)
        else:
            atomic_write(args.json, text)
    if args.json != "-":
        print(format_result(result))
    return 0 if result["passed"] else 1


def format_result(res: dict) -> str:
    """The human-readable table of ``ntkcheck check``."""
    from ..report import fmt

    d, a, k = res["data"], res["assumptions"], res["kernel"]
    lines = [f"data: {d['name']} -- {d['source']} (n={d['n']}, d={d['d']})"]
    lines += [f"  note: {note}" for note in d["notes"] + k.get("notes", [])]
    lines.append("Assumption 1 (LK22 / DZPS19):")
    lines += [f"  {msg}" for msg in a["messages"]]
    if a["nearest_pairs"]:
        lines.append("  most nearly parallel pairs:  i      j        |cos|      separation")
        lines += [f"  {'':27}{i:<6d} {j:<6d} {c:.10f}  {s:.3g}" for i, j, c, s in a["nearest_pairs"]]
    lines.append(f"kernel: lambda_0 = {fmt(k['lambda_0'], 6)}, lambda_max = {fmt(k['lambda_max'], 6)}, "
                 f"y^T (H_inf)^-1 y = {fmt(k['y_Hinv_y'], 6)}")
    if res.get("deep"):
        lines.append("deep NTK (infinite width, docs/theory.md §10; the theorems below are two-layer):")
        lines.append("  depth L   lambda_0        lambda_max      lambda_0/lambda_max")
        lines += [f"  {r['depth']:<8d}  {fmt(r['lambda_0'], 6):<14}  {fmt(r['lambda_max'], 6):<14}  {fmt(r['ratio'], 4)}"
                  for r in res["deep"]]
    g = res["given"]
    lines.append(f"given: m={fmt(g['m'])}, eta={fmt(g['eta'])}, kappa={fmt(g['kappa'])}, "
                 f"delta={fmt(g['delta'])}, xi={fmt(g['xi'])}, p={g['p']}, tau={g['tau']}, "
                 f"K={g['K']}, ||y - u(0)|| ~ {fmt(g['r0_expected'])} (expected)")
    for t in res["theorems"]:
        lines.append("")
        lines.append(f"{t['name']}  [{t['provenance']}, confidence {t['confidence']}]")
        lines.append(f"  {t['citation']}")
        lines.append("  predictions on these data (absolute constants c_* = 1):")
        for key, v in t["values"].items():
            lines.append(f"    {key:<18} {fmt(v, 6)}")
        for key, why in t["unavailable"].items():
            if "['k']" not in why:
                lines.append(f"    {key:<18} n/a ({why.split(': ', 1)[-1]})")
        lines.append("  hypotheses:")
        for r in t["requirements"]:
            sides = "" if r["lhs"] is None else f"  ({fmt(r['lhs'], 6)} vs {fmt(r['rhs'], 6)})"
            short = ""
            if r["status"] == "violated" and r["factor"] is not None:
                short = f"  -> fails by a factor {fmt(r['factor'], 4)}"
            lines.append(f"    [{r['status']:<9}] {r['hypothesis']}{sides}{short}")
    lines.append("")
    n_fail = sum(not t["passed"] for t in res["theorems"])
    lines.append(f"verdict: {'PASS' if res['passed'] else 'FAIL'} (Assumption 1 "
                 f"{'holds' if a['passed'] else 'fails'}; {n_fail} of {len(res['theorems'])} "
                 f"theorem(s) with a violated hypothesis)")
    return "\n".join(lines)
