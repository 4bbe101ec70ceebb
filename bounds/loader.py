"""User theorems from TOML files (:func:`load`, :func:`loads`), parsed without ``eval``.

A theorem file declares its symbols with their SymPy assumptions, its absolute constants
with default values, its expressions as formula strings and its hypotheses as comparison
strings (format: :func:`loads`).  Every formula goes through the whitelist parser of
:mod:`bounds.parse`, which also bounds the size of what it builds; this module bounds the
file: a regular file (a FIFO, device or directory is refused before it is opened) of at most
:data:`MAX_FILE_BYTES` bytes, valid UTF-8, and TOML nested at most :data:`MAX_TOML_DEPTH`
levels deep (:mod:`bounds._toml`).
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import Union

import sympy as sp

from . import _toml
from . import symbols as _symbols
from .parse import ParseError, is_allowed_name, parse_expression, parse_hypothesis
from .theorem import CONFIDENCES, PROVENANCES, Theorem

__all__ = ["load", "loads", "TOP_LEVEL_FIELDS", "MAX_FILE_BYTES", "MAX_TOML_DEPTH"]

#: Fields of a theorem TOML file.
TOP_LEVEL_FIELDS = ("name", "citation", "provenance", "confidence", "notes", "hypotheses",
                    "symbols", "constants", "expressions")
_REQUIRED = ("name", "citation", "provenance", "confidence", "expressions")
#: Largest theorem file read (theorem files are a few kB).
MAX_FILE_BYTES = 1 << 20
#: Largest nesting depth of a theorem file (the format itself needs 2).
MAX_TOML_DEPTH = 8


def load(path: Union[str, Path]) -> Theorem:
    """Read a user theorem from the TOML file at `path` (format: see :func:`loads`).

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ParseError
        If `path` is not a regular file (a directory, FIFO or device is refused without
        being opened), is larger than :data:`MAX_FILE_BYTES`, is not UTF-8 text, is not
        valid TOML, is nested too deeply, or a field is malformed; the message names the
        file and the field.
    """
    path = Path(path)
    return loads(_read_text(path), source=str(path))


def loads(text: str, *, source: str = "<string>") -> Theorem:
    """Read a user theorem from TOML text.

    Format::

        name = "mypaper.thm1"                  # required
        citation = "Author (2024), Thm 1, eq. (3)"  # required
        provenance = "PAPER"                   # required: PAPER | STRUCT | EXACT
        confidence = "high"                    # required: high | medium
        notes = "..."                          # optional
        hypotheses = ["m >= width", "delta < 1"]   # optional; may use expression names

        [symbols]      # every variable, with SymPy assumptions (bools)
        n = { positive = true, integer = true }

        [constants]    # absolute constants (positive) with their default values
        c_width = 1

        [expressions]  # formulas in strings; may use earlier expressions by name
        width = "c_width * n**6 / (lambda_0**4 * delta**3)"

    Raises
    ------
    ParseError
        Naming the field at fault (``expressions.width: ...``, ``symbols.n: ...``).
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be the TOML text (str), got {type(text).__name__}")
    data = _toml.loads(text, source=source, max_depth=MAX_TOML_DEPTH, error=ParseError)
    return _theorem_from_dict(data, source)


def _theorem_from_dict(data: dict, source: str) -> Theorem:
    def fail(field, problem):
        raise ParseError(f"{source}: {field}: {problem}")

    unknown = sorted(set(data) - set(TOP_LEVEL_FIELDS))
    if unknown:
        fail("(top level)", f"unknown field(s) {unknown}; allowed: {list(TOP_LEVEL_FIELDS)}")
    for key in _REQUIRED:
        if key not in data:
            fail(key, "missing required field")
    for key in ("name", "citation", "notes"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            fail(key, f"must be a non-empty string, got {data[key]!r}")
    if data["provenance"] not in PROVENANCES:
        fail("provenance", f"must be one of {list(PROVENANCES)}, got {data['provenance']!r}")
    if data["confidence"] not in CONFIDENCES:
        fail("confidence", f"must be one of {list(CONFIDENCES)}, got {data['confidence']!r}")
    names: dict[str, sp.Expr] = {}

    def check_name(field, name):
        if not is_allowed_name(name):
            fail(field, f"{name!r} is not an allowed name (letters, digits, _; starting with "
                        f"a letter; at most 50 characters; not a keyword, `pi` or a "
                        f"function name)")
        if name in names:
            fail(field, f"the name {name!r} is declared twice")

    for name, spec in _table(data, "symbols", fail).items():
        field = f"symbols.{name}"
        check_name(field, name)
        if not isinstance(spec, dict):
            fail(field, f"must be a table of assumptions such as {{ positive = true }}, "
                        f"got {spec!r}")
        bad = sorted(set(spec) - set(_symbols.ASSUMPTION_KEYS))
        if bad:
            fail(field, f"unknown assumption(s) {bad}; allowed: {list(_symbols.ASSUMPTION_KEYS)}")
        if not all(isinstance(v, bool) for v in spec.values()):
            fail(field, "assumption values must be true or false")
        try:
            names[name] = _symbols.make_symbol(name, spec)
        except ValueError as exc:
            fail(field, str(exc))

    constants = {}
    for name, value in _table(data, "constants", fail).items():
        field = f"constants.{name}"
        check_name(field, name)
        if name in _symbols.SYMBOLS and _symbols.SYMBOLS[name] not in _symbols.CONSTANTS:
            fail(field, f"{name!r} is a built-in variable, not a constant; rename it")
        number = _number(value, field, fail, source)
        if number.is_positive is not True:
            fail(field, f"a constant must be a positive number, got {number}")
        sym = _symbols.SYMBOLS.get(name) or _symbols.make_symbol(name, {"positive": True})
        names[name] = sym
        constants[sym] = number

    expressions = {}
    exprs_table = _table(data, "expressions", fail)
    if not exprs_table:
        fail("expressions", "at least one expression is required")
    for key, text in exprs_table.items():
        field = f"expressions.{key}"
        check_name(field, key)
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            value = _number(text, field, fail, source)
        else:
            value = parse_expression(text, names, field=f"{source}: {field}")
        expressions[key] = names[key] = value

    hyps = data.get("hypotheses", [])
    if not isinstance(hyps, list):
        fail("hypotheses", f"must be a list of strings, got {hyps!r}")
    hypotheses = []
    for i, text in enumerate(hyps):
        hypotheses += parse_hypothesis(text, names, field=f"{source}: hypotheses[{i}]")
    try:
        return Theorem(name=data["name"], citation=data["citation"],
                       provenance=data["provenance"], confidence=data["confidence"],
                       hypotheses=tuple(hypotheses), expressions=expressions,
                       constants=constants, notes=data.get("notes", ""))
    except (TypeError, ValueError) as exc:
        raise ParseError(f"{source}: {exc}") from None


def _table(data, key, fail) -> dict:
    table = data.get(key, {})
    if not isinstance(table, dict):
        fail(key, f"must be a table ([{key}]), got {table!r}")
    return table


def _number(value, field, fail, source) -> sp.Expr:
    if isinstance(value, str):
        number = parse_expression(value, {}, field=f"{source}: {field}")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(field, f"must be a number or a formula string, got {value!r}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            fail(field, f"must be finite, got {value!r}")
        number = sp.Rational(repr(value))
    else:
        number = sp.Integer(value)
    if not number.is_number:
        fail(field, f"must be a number, got {number}")
    return number


def _read_text(path: Path) -> str:
    """The UTF-8 text of the regular file `path`, checked with :func:`os.stat` before opening."""
    info = os.stat(path)  # FileNotFoundError: "No such file or directory: 'path'"
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ParseError(f"{path}: the theorem file is {kind}; pass the path of a .toml file")
    if info.st_size > MAX_FILE_BYTES:
        raise ParseError(f"{path}: the theorem file has {info.st_size} bytes, more than the "
                         f"{MAX_FILE_BYTES} allowed; theorem files are a few kB")
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:  # grew after the check
        raise ParseError(f"{path}: the theorem file has more than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{path}: not UTF-8 text (byte {exc.start}); save the theorem file "
                         f"as UTF-8") from None
