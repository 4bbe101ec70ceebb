"""Conversion of results to plain JSON types and to JSON / TOML text (the one place for it)."""

from __future__ import annotations

import json
import math

import numpy as np


def jsonable(x, *, nonfinite: str = "str"):
    """Return ``x`` with NumPy scalars/arrays, tuples and non-string keys made JSON-friendly.

    Parameters
    ----------
    x : object
        Nested dicts, lists, tuples, NumPy arrays and scalars, Python scalars.
    nonfinite : {"str", "keep"}, default "str"
        ``"str"`` writes NaN and +-inf floats as the strings ``"nan"``, ``"inf"``, ``"-inf"``
        (strict JSON); ``"keep"`` leaves them as floats.

    Examples
    --------
    >>> jsonable({1: np.float64(np.inf), "a": (np.int64(2), np.bool_(True))})
    {'1': 'inf', 'a': [2, True]}
    """
    if isinstance(x, dict):
        return {str(k): jsonable(v, nonfinite=nonfinite) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v, nonfinite=nonfinite) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist(), nonfinite=nonfinite)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if nonfinite == "keep" or math.isfinite(x) else str(x)
    return x


def json_text(obj) -> str:
    """Indented strict JSON text of ``obj`` (already :func:`jsonable`), with a final newline."""
    return json.dumps(obj, indent=2, allow_nan=False) + "\n"


def toml_value(v) -> str:
    """TOML text of a scalar or a list of scalars (strings quoted as JSON strings, valid TOML).

    Examples
    --------
    >>> toml_value([1, 2.5, "a", True])
    '[1, 2.5, "a", true]'
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))
