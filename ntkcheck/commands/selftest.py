"""``ntkcheck selftest``: run the shipped property tests against the installed package.

The properties (:data:`ntkcheck.testing.PROPERTIES`) are invariants of docs/theory.md §4–§5: the
finite NTK is symmetric PSD, an all-ones mask gives the unmasked kernel and all-zeros gives 0,
it permutes with the inputs, equals a loop reference, a categorical partition's kernels sum to
the full kernel, H∞ is 1/2 on the diagonal for unit data, and p identical subnetworks equal
gradient descent.  Needs ``hypothesis`` (``pip install ntkcheck[test]``).

Exit codes: 0 all pass, 1 a property fails, 2 hypothesis missing or bad arguments.
"""

from __future__ import annotations

# lazy imports: the package is imported inside the command's function, so that `ntkcheck --help`
# and the other commands start without loading SymPy, matplotlib and the workflow modules
# (measured: `import ntkcheck` 1.0 s, `import ntkcheck.reproduce` 3.2 s).

import sys

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Register ``selftest`` on `subparsers`."""
    p = subparsers.add_parser("selftest", help="run the shipped property tests (needs hypothesis)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--max-examples", type=int, default=25, help="examples per property (default 25)")
    p.add_argument("-k", dest="select", metavar="TEXT", help="only properties whose name contains TEXT")
    p.set_defaults(func=run)


def run(args) -> int:
    """Entry point of ``ntkcheck selftest``."""
    from .._validation import check_int
    from ..testing import run_selftest

    check_int(args.max_examples, "--max-examples", min_val=1)
    try:
        print(f"ntkcheck selftest: {args.max_examples} examples per property")
        results = run_selftest(max_examples=args.max_examples, select=args.select, stream=sys.stdout)
    except ImportError as exc:
        print(f"ntkcheck selftest: error: {exc}", file=sys.stderr)
        return 2
    if not results:
        print(f"ntkcheck selftest: error: no property matches {args.select!r}", file=sys.stderr)
        return 2
    failed = {k: v for k, v in results.items() if v is not None}
    for name, text in failed.items():
        print(f"\n--- {name} ---\n{text}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
