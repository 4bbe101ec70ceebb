"""Command-line entry point ``ntkcheck``: argparse -> validated config -> public API -> files.

Each sub-command lives in its own module under :mod:`ntkcheck.commands` and exposes
``add_parser(subparsers)``, which registers the sub-command and sets ``func`` to a callable
``func(args) -> int`` (the exit code).  ``main`` is importable so tests call ``main([...])``
directly.

Exit codes and errors (README "Safety and limits"):

* 0 success, 1 a check failed, 2 bad arguments or any other user mistake;
* every expected error of a user mistake — a wrong value or type, a missing, unreadable,
  unwritable or malformed file, a truncated zip, TOML nested too deeply, a formula that
  overflows, a size that cannot fit in memory (:data:`USER_ERRORS`) — is printed as one line
  ``ntkcheck COMMAND: error: MESSAGE`` on stderr, with exit code 2 and no traceback;
* a closed output pipe (``ntkcheck bounds list | head -1``) ends the command quietly with
  exit code 141 (128 + SIGPIPE, what a shell reports for standard tools killed by SIGPIPE),
  after pointing stdout at ``/dev/null`` so that Python's final flush stays quiet (the
  recipe of the Python documentation, "Note on SIGPIPE");
* Ctrl-C ends it with exit code 130.

Other exceptions are bugs and keep their traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import zipfile

from . import __version__

#: Sub-command modules, in the order ``--help`` lists them.
COMMAND_MODULES = ("demo", "bounds", "check", "run", "reproduce", "width", "selftest", "sweep")

#: Exceptions that report a user mistake (exit 2, one line).  ValueError covers
#: UnicodeDecodeError, bounds.ParseError and numpy's LinAlgError; OSError covers
#: FileNotFoundError, IsADirectoryError, NotADirectoryError and PermissionError;
#: ArithmeticError covers OverflowError and ZeroDivisionError.
USER_ERRORS = (ValueError, TypeError, KeyError, OSError, ArithmeticError, RecursionError,
               MemoryError, zipfile.BadZipFile)

#: Exit code after a closed output pipe (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="ntkcheck",
        description=(
            "Verify neural-tangent-kernel convergence theorems (Liao & Kyrillidis 2022 and the "
            "results it builds on) against exact kernels and real training runs."
        ),
    )
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
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's final flush
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"ntkcheck {args.command}: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as exc:
        print(f"ntkcheck {args.command}: error: {error_message(exc)}", file=sys.stderr)
        return 2


def error_message(exc: BaseException) -> str:
    """One line describing the user error `exc` (the exception's message, or a fallback)."""
    if isinstance(exc, KeyError) and exc.args and not isinstance(exc, ValueError):
        text = str(exc.args[0])
    else:
        text = str(exc)
    if isinstance(exc, RecursionError):
        text = (f"the input is nested too deeply to process ({text or 'RecursionError'}); "
                f"flatten it")
    elif isinstance(exc, MemoryError):
        text = text or ("out of memory; the problem is too large for this machine, use a "
                        "smaller size (fewer points n, a smaller width m)")
    elif isinstance(exc, OverflowError):
        text = f"a number is too large ({text or 'OverflowError'}); use smaller values"
    elif not text:
        text = type(exc).__name__
    return " ".join(text.split()) if "\n" in text else text


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout replaced (tests) or closed
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
