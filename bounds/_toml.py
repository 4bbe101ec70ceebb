"""TOML text to a dict with a cap on nesting depth (``tomllib`` recurses once per level).

:func:`tomllib.loads` parses nested arrays and inline tables recursively, so a document of a
few thousand ``[`` ends in :class:`RecursionError` deep inside the parser.  :func:`loads`
first measures the bracket/brace nesting of the raw text with a small scanner that skips
strings and comments (linear time, no recursion), refuses documents nested deeper than
``max_depth``, then parses, and finally checks the depth of the parsed value (dotted keys
and table headers nest without brackets).  ``ntkcheck._io`` has the same helper for the
``ntkcheck`` configuration files; ``bounds`` cannot import ``ntkcheck`` and ``ntkcheck``'s
numerical core does not import SymPy (style.md §1), so each package keeps its copy and a test
checks that the two agree.
"""

from __future__ import annotations

import re

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["DEFAULT_MAX_DEPTH", "bracket_depth", "loads"]

#: Default cap on the nesting depth of a TOML document.
DEFAULT_MAX_DEPTH = 32

# Strings (all four TOML kinds), comments, and the brackets that nest.  An unterminated
# string matches nothing and its brackets are counted: over-counting only refuses earlier.
_TOKENS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^']|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'[^'\n]*'"
    r"|#[^\n]*"
    r"|[\[\]{}]",
    re.S,
)


def bracket_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` outside strings and comments in the TOML `text`.

    Examples
    --------
    >>> bracket_depth('a = [[1, 2], {b = "[[["}]  # ]]]')
    2
    """
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth = max(depth - 1, 0)
    return deepest


def loads(text: str, *, source: str, max_depth: int = DEFAULT_MAX_DEPTH,
          error: type = ValueError) -> dict:
    """Parse TOML `text`; refuse documents nested deeper than `max_depth`.

    Parameters
    ----------
    text : str
        The document.
    source : str
        Where it comes from (a path); it prefixes every error message.
    max_depth : int
        Largest nesting depth of arrays, inline tables and tables.
    error : type
        Exception class raised (a ``ValueError`` subclass).

    Raises
    ------
    error
        Invalid TOML, or nesting deeper than `max_depth` (the message names `source`).
    """
    depth = bracket_depth(text)
    if depth > max_depth:
        raise error(_too_deep(source, f"{depth} levels of brackets", max_depth))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:  # pragma: no cover - the scanner refuses such documents first
        raise error(_too_deep(source, "too many levels", max_depth)) from None
    depth = _value_depth(data)
    if depth > max_depth:
        raise error(_too_deep(source, f"{depth} levels of tables and keys", max_depth))
    return data


def _too_deep(source: str, found: str, max_depth: int) -> str:
    return (f"{source}: the TOML document is nested too deeply ({found}; at most {max_depth} "
            f"are allowed); flatten the nested arrays or tables")


def _value_depth(data: dict) -> int:
    """Nesting depth of parsed TOML below the root table (``a = [[1]]`` is 2), no recursion."""
    deepest, stack = 0, [(v, 0) for v in data.values()]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            children = item.values() if isinstance(item, dict) else item
            stack.extend((v, depth + 1) for v in children)
            depth += 1
        deepest = max(deepest, depth)
    return deepest
