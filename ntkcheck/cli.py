"""Command-line entry point ``ntkcheck``: argparse -> validated config -> public API -> files.

Each sub-command lives in its own module under :mod:`ntkcheck.commands` and exposes
``add_parser(subparsers)``, which registers the sub-command and sets ``func`` to a callable
``func(args) -> int`` (the exit code).  Bad arguments exit with code 2 and the validation
message; ``main`` is importable so tests call ``main([...])`` directly.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Sub-command modules, in the order ``--help`` lists them.
COMMAND_MODULES = ("demo", "bounds", "check", "run", "reproduce", "selftest", "sweep")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="ntkcheck",
        description=(
            "Verify neural-tangent-kernel convergence theorems (Liao & Kyrillidis 2022 and the "
            "results it builds on) against exact kernels and real training runs."
        ),
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"ntkcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"ntkcheck.commands.{name}").add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Run the CLI; return the exit code (0 success, 1 check failed, 2 bad arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, KeyError, FileNotFoundError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"ntkcheck {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ntkcheck {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
