"""``ntkcheck check DATA``: Assumption 1 item by item, the H∞ spectrum, and what theorems predict.

Prints (or writes as JSON) the checks of :func:`ntkcheck.assumptions.check_assumptions` —
row norms, ``|y_i| ≤ C``, the most nearly parallel pairs with ``|cos|``, duplicates — then
``λ0``, ``λ_max`` of H∞ and ``yᵀ(H∞)⁻¹y``, and for each ``--theorem`` its predicted width, step
size, rate, radii and error term on these data, with whether ``--width``, ``--eta`` and
``--kappa`` satisfy its hypotheses and by what factor they fall short.

When the data have a duplicated or parallel pair, ``H∞`` is singular (``λ0 = 0``): the pair is
reported as ``[FAIL]``, predictions that need ``λ0 > 0`` are listed as not available (with
that reason) instead of being evaluated, and the exit code is 1 — the JSON is still written.

Shifted ReLU (DHSWZ22, docs/theory.md §9): ``--shift b`` (or ``--alpha α`` with ``--width m``, which
sets ``b = κ √(2α log m)``) checks the network with ``max(z − b, 0)``.  The kernel reported is then
the shifted infinite NTK at initialisation, ``ntk_infinite(X, shift=b/κ)`` (``= shift=b`` at the
default κ = 1), and a ``shift`` section adds the expected firing fraction ``Φ(−b/κ)``, the bound
factor ``exp(−b²/(2κ²))``, the separation δ_sep and, with ``--width``, the expected fired count
``m Φ(−b/κ)``.  Each ``deng2022.*`` theorem is evaluated at b and put beside its measured
counterpart (``lambda_min`` vs λ0, ``firing`` vs ``m Φ(−b/κ)``) with the ratio measured / bound.
With ``b ≠ 0`` the default theorems are the ``deng2022.*`` ones, and a theorem stated for the
plain ReLU (e.g. ``du2019.thm4_1``) is refused (exit 2): its λ0 is that of the unshifted kernel.
The section also appears with ``--shift 0`` or when a ``deng2022.*`` theorem is asked for; without
any of these the output is that of the plain ReLU, unchanged.

Exit codes: 0 everything holds, 1 Assumption 1 or a theorem hypothesis fails, or a measured
quantity contradicts a ``deng2022.*`` bound, 2 bad arguments.
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
#: Default theorems when the ReLU is shifted (b != 0), docs/theory.md §9.
SHIFTED_DEFAULT_THEOREMS = ("deng2022.lambda_min", "deng2022.firing", "deng2022.gauss_newton",
                            "deng2022.cost")


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
    p.add_argument("--shift", type=float, metavar="B",
                   help="ReLU shift b of max(z - b, 0) (DHSWZ22, docs/theory.md §9; default 0): report the shifted "
                        "kernel, the firing fraction Phi(-b/kappa) and evaluate the deng2022.* theorems")
    p.add_argument("--alpha", type=float, metavar="A",
                   help="set the shift to b = kappa sqrt(2 alpha log m) (needs --width; not with --shift)")
    p.add_argument("--json", metavar="PATH", help="write the result as JSON to PATH ('-' for stdout)")
    p.set_defaults(func=run)


def build_result(args) -> dict:
    """Run the checks for parsed ``args``; return the JSON-serialisable result."""
    from ..assumptions import check_assumptions
    from ..data import check_memory, load_dataset
    from ..verify import check_theorem, data_values, expected_r0
    from ..verify_shift import SHIFTED_THEOREMS, compare_measured, require_theorems, shift_report
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
    shift, alpha = _shift_iv(args)
    names = tuple(args.theorem or (SHIFTED_DEFAULT_THEOREMS if shift else DEFAULT_THEOREMS))
    require_theorems(names, shift=shift)  # unknown names, plain-ReLU theorems with b != 0
    shifted = (args.shift is not None or alpha is not None
               or any(name in SHIFTED_THEOREMS for name in names))
    ds = load_dataset(args.data, target=args.target, normalize=args.normalize)
    check_memory(KERNEL_BYTES_PER_ENTRY * float(ds.n) ** 2,
                 what=f"the {ds.n} x {ds.n} kernel H_inf of {ds.name}",
                 fix="use fewer points (a subset of the rows)")
    rep = check_assumptions(ds.X, ds.y, label_bound=args.label_bound, shift=shift / args.kappa)
    values = data_values(rep)
    notes = []
    if not rep.lam0_hat > 0:  # H_inf singular: the theorems' lambda_0 > 0 does not hold
        values.update(lambda_0=None, y_Hinv_y=None)
        pairs = rep.duplicates or rep.parallel_pairs
        why = f" (e.g. rows {pairs[0][0]} and {pairs[0][1]})" if pairs else ""
        notes.append(f"lambda_0 = {rep.lam0_hat:.3g}: H_inf is singular on these data{why}, so "
                     f"predictions that need lambda_0 > 0 are not evaluated")
    r0 = expected_r0(ds.X, ds.y, kappa=args.kappa, xi=args.xi, shift=shift)
    values.update(m=args.width, eta=args.eta, kappa=args.kappa, delta=args.delta, xi=args.xi,
                  p=args.p, tau=args.tau, K=args.steps, epsilon=args.epsilon, r0=r0)
    sh = None
    if shifted:
        sh = shift_report(ds.X, shift=shift, kappa=args.kappa, delta_sep=rep.min_separation,
                          lambda_0=rep.lam0_hat, m=args.width, alpha=alpha).to_dict()
        # delta_sep = 0 (a parallel pair) is outside the theorem's positive delta_sep
        values.update(b=shift, alpha=sh["alpha"],
                      delta_sep=sh["delta_sep"] if sh["delta_sep"] > 0 else None)
    theorems = [_singular_reasons(check_theorem(name, **values).to_dict(), notes) for name in names]
    if shifted:
        for t in theorems:
            t["measured"] = compare_measured(t, sh)
        if not sh["delta_sep"] > 0:  # after _singular_reasons, which reads the notes
            notes.append("delta_sep = 0: the data have a parallel or antiparallel pair, so the deng2022 "
                         "bounds that need delta_sep > 0 are not evaluated")
    passed = rep.passed and all(t["passed"] for t in theorems) and not any(
        row["holds"] is False for t in theorems for row in t.get("measured", ()))
    deep = None if args.depth is None else deep_spectrum(ds.X, args.depth, sigma_w=args.sigma_w,
                                                         sigma_b=args.sigma_b)
    result = dict(data=ds.describe(), assumptions=rep.to_dict(),
                kernel=dict(lambda_0=rep.lam0_hat, lambda_max=rep.lam_max, y_Hinv_y=rep.to_dict()["y_Hinv_y"],
                            notes=notes),
                given=dict(m=args.width, eta=args.eta, kappa=args.kappa, delta=args.delta, xi=args.xi,
                           p=args.p, tau=args.tau, K=args.steps, epsilon=args.epsilon,
                           r0_expected=r0),
                theorems=theorems, passed=passed)
    if sh is not None:
        result["shift"] = sh
    if deep is not None:
        result["deep"] = deep
    return result


def _shift_iv(args) -> tuple[float, float | None]:
    """The shift b from ``--shift`` or ``--alpha`` (validated); return ``(b, alpha or None)``."""
    from .._validation import check_scalar
    from ..verify_shift import shift_from_alpha

    if args.shift is not None and args.alpha is not None:
        raise ValueError("give either --shift (the threshold b) or --alpha (b = kappa sqrt(2 alpha log m) "
                         "with --width), not both.")
    if args.alpha is not None:
        alpha = check_scalar(args.alpha, "--alpha", min_val=0.0, closed="neither")
        if args.width is None:
            raise ValueError("`--alpha` sets the shift b = kappa sqrt(2 alpha log m) and needs the width: "
                             "add --width M (or give --shift B directly).")
        return shift_from_alpha(alpha, kappa=args.kappa, m=args.width), alpha
    if args.shift is None:
        return 0.0, None
    return check_scalar(args.shift, "--shift", min_val=0.0), None


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
    sh = res.get("shift")
    if sh is not None:
        lines += _format_shift(sh)
    kernel = "kernel" if sh is None else f"kernel (shifted, b/kappa = {fmt(sh['effective_shift'], 6)})"
    lines.append(f"{kernel}: lambda_0 = {fmt(k['lambda_0'], 6)}, lambda_max = {fmt(k['lambda_max'], 6)}, "
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
        if t.get("measured"):
            lines.append("  measured on these data:")
            for row in t["measured"]:
                lines.append(_format_measured(row))
    lines.append("")
    n_fail = sum(not t["passed"] for t in res["theorems"])
    measured = [row for t in res["theorems"] for row in t.get("measured", ())]
    broken = "" if sh is None else (f"; {sum(row['holds'] is False for row in measured)} of "
                                    f"{len(measured)} measured bound(s) contradicted")
    lines.append(f"verdict: {'PASS' if res['passed'] else 'FAIL'} (Assumption 1 "
                 f"{'holds' if a['passed'] else 'fails'}; {n_fail} of {len(res['theorems'])} "
                 f"theorem(s) with a violated hypothesis{broken})")
    return "\n".join(lines)


def _format_shift(sh: dict) -> list:
    """The ``shift`` section of the table (docs/theory.md §9)."""
    from ..report import fmt

    alpha = ""
    if sh["alpha"] is not None:
        how = "given" if sh["alpha_source"] == "given" else "solved from b and m"
        alpha = f", alpha = {fmt(sh['alpha'], 6)} ({how}; b = kappa sqrt(2 alpha log m))"
    lines = [f"shifted ReLU max(z - b, 0) (DHSWZ22): b = {fmt(sh['shift'], 6)}, kappa = {fmt(sh['kappa'])}"
             f"{alpha}"]
    frac = fmt(sh["firing_fraction"], 6)
    if sh["firing_fraction_min"] < sh["firing_fraction"] * (1 - 1e-9):  # not rounding of unit norms
        frac = f"{fmt(sh['firing_fraction_min'], 6)} .. {frac} (rows not unit)"
    lines.append(f"  firing fraction Phi(-b/kappa) = {frac}; bound factor exp(-b^2/(2 kappa^2)) = "
                 f"{fmt(sh['shift_factor'], 6)}")
    if sh["expected_firing"] is not None:
        lines.append(f"  expected fired neurons per point m Phi(-b/kappa) = {fmt(sh['expected_firing'], 6)} "
                     f"of m = {sh['m']}")
    lines.append(f"  separation delta_sep = min_(i != j) min(||x_i - x_j||, ||x_i + x_j||) = "
                 f"{fmt(sh['delta_sep'], 6)}")
    return lines


def _format_measured(row: dict) -> str:
    """One bound beside its measured counterpart."""
    from ..report import fmt

    if row["holds"] is None:
        why = "the bound is not evaluated (see above)" if row["bound"] is None else f"{row['quantity']} is not available"
        return f"    {row['key']:<18} n/a ({why})"
    word = "lower" if row["relation"] == ">=" else "upper"
    return (f"    {row['key']:<18} {word} bound {fmt(row['bound'], 6)} vs {row['quantity']} = "
            f"{fmt(row['measured'], 6)}: measured / bound = {fmt(row['ratio'], 4)} "
            f"[{'holds' if row['holds'] else 'FAILS'}]")
