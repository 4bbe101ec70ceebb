"""The one home of input validation for ``ntkcheck`` (sklearn ``check_scalar``, scipy ``_*_iv``).

Every public function validates at its top through these helpers, before any work is done.
Messages name the parameter in backticks, say what is expected, report what was received
and, where one exists, suggest a fix::

    `p_keep` must be in (0, 1], got p_keep=0.0.
    `X` must be 2-D with shape (n, d), got shape (5,). Use X.reshape(-1, 1) for d=1.

Exception types: ``TypeError`` for a wrong type or dtype, ``ValueError`` for a wrong value,
shape or range.
"""

from __future__ import annotations

import numbers
from typing import Iterable

import numpy as np

from ._config import FLOAT

__all__ = [
    "check_scalar",
    "check_int",
    "check_choice",
    "check_array",
    "check_X",
    "check_y",
    "check_W",
    "check_mask",
    "check_square",
    "check_float_dtype",
]

_CHECK_CHUNK_ELEMENTS = 1 << 22  # finiteness is checked in slabs of this many elements


def check_scalar(
    x,
    name: str,
    types=numbers.Real,
    *,
    min_val=None,
    max_val=None,
    closed: str = "both",
):
    """Check a scalar's type, finiteness and bounds; return it as a Python number.

    Parameters
    ----------
    x : object
        The value to check.
    name : str
        Parameter name used in messages.
    types : type or tuple of type, default numbers.Real
        Accepted types. ``bool`` is always rejected where a number is expected.
    min_val, max_val : float, optional
        Bounds.
    closed : {"both", "left", "right", "neither"}
        Which bounds are inclusive.

    Returns
    -------
    float or int

    Raises
    ------
    TypeError
        ``x`` is not of an accepted type.
    ValueError
        ``x`` is not finite or outside the bounds.
    """
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, types):
        tname = _type_name(types)
        raise TypeError(f"`{name}` must be {tname}, got {type(x).__name__} {x!r}.")
    if isinstance(x, numbers.Real) and not np.isfinite(float(x)):
        raise ValueError(f"`{name}` must be finite, got {name}={x!r}.")
    lo_ok = min_val is None or (x >= min_val if closed in ("both", "left") else x > min_val)
    hi_ok = max_val is None or (x <= max_val if closed in ("both", "right") else x < max_val)
    if not (lo_ok and hi_ok):
        if min_val is not None and max_val is not None:
            lb = "[" if closed in ("both", "left") else "("
            rb = "]" if closed in ("both", "right") else ")"
            expect = f"in {lb}{min_val}, {max_val}{rb}"
        elif min_val is not None:
            expect = (">= " if closed in ("both", "left") else "> ") + str(min_val)
        else:
            expect = ("<= " if closed in ("both", "right") else "< ") + str(max_val)
        raise ValueError(f"`{name}` must be {expect}, got {name}={x!r}.")
    if isinstance(x, numbers.Integral):
        return int(x)
    return float(x)


def check_int(x, name: str, *, min_val=None, max_val=None) -> int:
    """Check that ``x`` is an integer (not bool) within inclusive bounds; return ``int``."""
    return check_scalar(x, name, numbers.Integral, min_val=min_val, max_val=max_val)


def check_choice(x, name: str, choices: Iterable[str]) -> str:
    """Check that ``x`` is one of ``choices``."""
    choices = tuple(choices)
    if x not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}, got {name}={x!r}.")
    return x


def check_array(
    a,
    name: str,
    *,
    ndim: int | None = None,
    shape: tuple | None = None,
    dtype=FLOAT,
    copy_ok: bool = True,
    finite: bool = True,
) -> np.ndarray:
    """Check a real array's kind, dimension, shape and finiteness; return it as ``dtype``.

    Integer and floating inputs are accepted; bool, complex, object and string arrays are
    refused with a ``TypeError``. ``shape`` may contain ``None`` for a free axis.
    With ``dtype=None`` floating input keeps its dtype and integer input becomes float64.
    """
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiu":
        raise TypeError(
            f"`{name}` must be a real numeric array (integer or floating dtype), got dtype "
            f"{arr.dtype}. Convert it with np.asarray({name}, dtype=float)."
        )
    if ndim is not None and arr.ndim != ndim:
        hint = ""
        if ndim == 2 and arr.ndim == 1:
            hint = f" Use {name}.reshape(-1, 1) for a single feature or {name}.reshape(1, -1) for a single row."
        raise ValueError(f"`{name}` must be {ndim}-D, got {arr.ndim}-D array of shape {arr.shape}.{hint}")
    if shape is not None:
        ok = len(shape) == arr.ndim and all(s is None or s == t for s, t in zip(shape, arr.shape))
        if not ok:
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"`{name}` must have shape {want}, got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}.")
    if finite:
        _check_finite(arr, name)
    if dtype is None:
        dtype = arr.dtype if arr.dtype.kind == "f" else FLOAT
    if arr.dtype != dtype or not arr.flags.c_contiguous:
        if not copy_ok:
            return arr
        arr = np.ascontiguousarray(arr, dtype=dtype)
    return arr


def check_X(X, name: str = "X", *, unit_norm: bool = False, atol: float = 1e-8) -> np.ndarray:
    """Validate a data matrix ``X`` of shape ``(n, d)``; return a C-contiguous float64 copy/view.

    Rows must be finite and nonzero (a zero row has no direction, so the NTK angle is
    undefined). With ``unit_norm=True`` every row must have l2 norm 1 within ``atol``
    (docs/theory.md Assumption 1).
    """
    X = check_array(X, name, ndim=2)
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    zero = np.flatnonzero(norms == 0.0)
    if zero.size:
        raise ValueError(
            f"rows of `{name}` must be nonzero (the NTK angle of a zero vector is undefined); "
            f"row {zero[0]} is all zeros ({zero.size} zero row(s) in all)."
        )
    if unit_norm:
        bad = np.flatnonzero(np.abs(norms - 1.0) > atol)
        if bad.size:
            raise ValueError(
                f"rows of `{name}` must have unit l2 norm (atol={atol:g}); row {bad[0]} has norm "
                f"{norms[bad[0]]:.6g}. Normalise with {name} / np.linalg.norm({name}, axis=1, keepdims=True)."
            )
    return X


def check_y(y, n: int, name: str = "y") -> np.ndarray:
    """Validate a label vector of length ``n``; return float64."""
    y = check_array(y, name, ndim=1)
    if y.shape[0] != n:
        raise ValueError(f"`{name}` must have length n={n} (one label per row of X), got length {y.shape[0]}.")
    return y


def check_W(W, d: int, name: str = "W") -> np.ndarray:
    """Validate first-layer weights of shape ``(m, d)`` without copying them.

    ``W`` may be float32 or float64 and need not be contiguous: the streaming kernels
    convert one chunk of neurons at a time, so a width of 10^7 never costs a second copy.
    Finiteness is checked slab by slab for the same reason.
    """
    W = np.asarray(W)
    if W.dtype.kind not in "fiu":
        raise TypeError(f"`{name}` must be a real numeric array, got dtype {W.dtype}.")
    if W.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D with shape (m, d), got {W.ndim}-D array of shape {W.shape}.")
    if W.shape[1] != d:
        raise ValueError(
            f"`{name}` must have shape (m, d) with d={d} columns to match X, got shape {W.shape}."
            + (f" Did you pass W.T? It has shape {W.shape[::-1]}." if W.shape[0] == d else "")
        )
    if W.shape[0] == 0:
        raise ValueError(f"`{name}` must have at least one neuron (row), got shape {W.shape}.")
    _check_finite(W, name)
    return W


def check_mask(mask, m: int, name: str = "mask"):
    """Validate a neuron mask of length ``m`` with entries in [0, 1] (LK22 Def. 1).

    Returns
    -------
    mask : ndarray of shape (m,) float64, or None
        ``None`` when ``mask`` is None.
    binary : bool
        True when every entry is 0 or 1 (the bit-packed path applies).
    """
    if mask is None:
        return None, True
    arr = np.asarray(mask)
    if arr.dtype.kind == "b":
        arr = arr.astype(FLOAT)
    arr = check_array(arr, name, ndim=1)
    if arr.shape[0] != m:
        raise ValueError(f"`{name}` must have length m={m} (one entry per neuron, rows of W), got length {arr.shape[0]}.")
    lo, hi = arr.min(), arr.max()
    if lo < 0.0 or hi > 1.0:
        bad = int(np.flatnonzero((arr < 0) | (arr > 1))[0])
        raise ValueError(f"entries of `{name}` must be in [0, 1], got {name}[{bad}]={float(arr[bad])!r}.")
    binary = bool(np.all((arr == 0.0) | (arr == 1.0)))
    return arr, binary


def check_float_dtype(dtype, name: str = "dtype"):
    """Accept float64 or float32 (as a dtype, type or name); return the ``numpy.dtype``."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"`{name}` must be numpy.float64 or numpy.float32, got {dtype!r}.") from exc
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"`{name}` must be numpy.float64 or numpy.float32, got {dt}.")
    return dt


def check_square(H, name: str = "H") -> np.ndarray:
    """Validate a finite square matrix; return it as C-contiguous float64."""
    H = check_array(H, name, ndim=2)
    if H.shape[0] != H.shape[1]:
        raise ValueError(f"`{name}` must be square, got shape {H.shape}.")
    return H


def _check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` has a NaN or inf; scan in slabs so huge arrays need no full temporary."""
    if arr.dtype.kind in "iu":
        return
    flat_rows = arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr.reshape(-1, 1)
    step = max(1, _CHECK_CHUNK_ELEMENTS // max(1, flat_rows.shape[1]))
    for start in range(0, flat_rows.shape[0], step):
        block = flat_rows[start : start + step]
        ok = np.isfinite(block)
        if not ok.all():
            r, c = np.argwhere(~ok)[0]
            idx = (start + r,) if arr.ndim == 1 else np.unravel_index(
                (start + r) * flat_rows.shape[1] + c, arr.shape
            )
            idx = tuple(int(i) for i in idx)
            where = ", ".join(map(str, idx))
            raise ValueError(
                f"`{name}` must be finite (no NaN or inf), got {name}[{where}]={float(arr[idx])!r}."
            )


_TYPE_NAMES = {numbers.Real: "a real number", numbers.Integral: "an integer", str: "a string"}


def _type_name(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(_TYPE_NAMES.get(t, f"a {t.__name__}") for t in types)
