"""``ntkcheck bounds``: list, show, evaluate and check the theorems of :mod:`bounds`.

Actions::

    ntkcheck bounds list [--provenance PAPER|STRUCT|EXACT|DERIVED]
    ntkcheck bounds show NAME [--latex] [--claims]
    ntkcheck bounds show --file THEOREM.toml [--latex]
    ntkcheck bounds evaluate THEOREM KEY name=value ...
    ntkcheck bounds check THEOREM name=value ...           (exit 1 if a hypothesis is violated)
    ntkcheck bounds solve THEOREM KEY VAR name=value ...   (e.g. smallest m, largest eta)

THEOREM is a built-in name or the path of a user theorem ending in ``.toml``.

Values are parsed by the safe formula parser of :mod:`bounds.parse` (``lambda_0=1/10`` and
``delta=0.05`` both work).  Exit codes: 0 success, 1 hypothesis violated or claim failed,
2 bad arguments (unknown theorem, key or symbol, missing value, malformed file).
"""

from __future__ import annotations

# lazy imports: the package is imported inside the command's functions, so that `ntkcheck --help`
# and the other commands start without loading SymPy and the workflow modules.

import argparse
import sys

__all__ = ["add_parser"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``bounds`` and its actions on `subparsers`; each action sets ``func``."""
    parser = subparsers.add_parser(
        "bounds", help="inspect and evaluate the encoded theorems",
        description="Inspect, evaluate and check the NTK theorems encoded in `bounds`.")
    parser.set_defaults(func=lambda args: _usage(parser))
    actions = parser.add_subparsers(dest="bounds_action", metavar="ACTION")

    p = actions.add_parser("list", help="list the built-in theorems")
    p.add_argument("--provenance", choices=("PAPER", "STRUCT", "EXACT", "DERIVED"),
                   help="only theorems with this provenance tag")
    p.set_defaults(func=_list)

    p = actions.add_parser("show", help="show a theorem (built-in NAME or --file PATH)")
    p.add_argument("name", nargs="?", help="built-in theorem name (see `bounds list`)")
    p.add_argument("--file", metavar="PATH", help="a user theorem in TOML instead of NAME")
    p.add_argument("--latex", action="store_true", help="print expressions as LaTeX")
    p.add_argument("--claims", action="store_true", help="check the qualitative claims")
    p.set_defaults(func=_show)

    p = actions.add_parser("evaluate", help="evaluate one expression at given values")
    _add_source(p)
    p.add_argument("key", help="expression key, e.g. width, step_size, rate")
    p.add_argument("values", nargs="*", metavar="name=value")
    p.set_defaults(func=_evaluate)

    p = actions.add_parser("check", help="check the hypotheses at given values")
    _add_source(p)
    p.add_argument("values", nargs="*", metavar="name=value")
    p.set_defaults(func=_check)

    p = actions.add_parser("solve", help="solve a requirement (e.g. width) for a variable")
    _add_source(p)
    p.add_argument("key", help="expression key of the requirement, e.g. width")
    p.add_argument("var", help="variable to solve for, e.g. m")
    p.add_argument("values", nargs="*", metavar="name=value")
    p.set_defaults(func=_solve)
    return parser


# -- actions --------------------------------------------------------------------------------
def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _list(args) -> int:
    import bounds

    for name in bounds.names():
        thm = bounds.get(name)
        if args.provenance and thm.provenance != args.provenance:
            continue
        print(f"{name:24s} [{thm.provenance}, {thm.confidence}]  {thm.citation}")
    return 0


def _show(args) -> int:
    thm = _theorem(args)
    print(thm.describe(latex=args.latex))
    if args.claims and thm.claims:
        verdicts = thm.check_claims()
        print("  claim verdicts:")
        for text, verdict in verdicts.items():
            label = {True: "holds", False: "FAILS", None: "undecided"}[verdict]
            print(f"    [{label}] {text}")
        return 1 if False in verdicts.values() else 0
    return 0


def _evaluate(args) -> int:
    thm = _theorem(args)
    print(repr(thm.evaluate(args.key, **_values(args.values))))
    return 0


def _check(args) -> int:
    report = _theorem(args).check_hypotheses(**_values(args.values))
    print(report)
    return 0 if report.ok else 1


def _solve(args) -> int:
    print(_theorem(args).solve_for(args.key, args.var, **_values(args.values)))
    return 0


# -- helpers --------------------------------------------------------------------------------
def _add_source(p) -> None:
    p.add_argument("name", metavar="THEOREM",
                   help="built-in theorem name (see `bounds list`) or a user theorem PATH.toml")


def _theorem(args):
    import bounds

    file = getattr(args, "file", None)
    if bool(args.name) == bool(file):
        raise ValueError("give either a theorem NAME or --file PATH (not both, not neither)")
    if file or args.name.endswith(".toml"):
        return bounds.load(file or args.name)
    return bounds.get(args.name)


def _values(pairs) -> dict:
    from bounds import parse_expression

    out = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"values must look like name=value (e.g. n=100), got {pair!r}")
        if name in out:
            raise ValueError(f"`{name}` is given twice")
        out[name] = parse_expression(text, {}, field=name)
    return out
