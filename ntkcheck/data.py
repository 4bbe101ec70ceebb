"""Datasets for the verification workflows: built-in generators, scikit-learn digits, user files.

Assumption 1 of LK22 / DZPS19 (docs/theory.md §1) asks for unit-norm inputs ``‖x_i‖ = 1``, bounded
labels ``|y_i| ≤ C`` and no two parallel inputs.  The built-in data satisfy it by construction
(almost surely): points drawn uniformly on the sphere ``S^{d−1}`` with labels in [−1, 1] from a
random teacher network or random signs.  User data are loaded as they are; ``normalize=True``
projects the rows onto the unit sphere and records that it did (``Dataset.normalized``), so the
report can say so.  :mod:`ntkcheck.assumptions` checks the assumption item by item.

Dataset specifications (the ``DATA`` argument of ``ntkcheck check`` / ``run``)::

    sphere:n=100,d=10,seed=0[,labels=teacher|random][,teacher_width=32]
    digits[:n=300,seed=0]            scikit-learn's 8x8 digits (optional extra ``data``)
    path/to/data.npz                 arrays ``X`` (n, d) and ``y`` (n,)
    path/to/X.npy,path/to/y.npy      a pair of .npy files (or ``foo_X.npy`` with ``foo_y.npy``)
    path/to/data.csv                 numeric columns; label column from ``target`` (default last)

User files are read without unpickling (``allow_pickle=False``): object arrays are refused.

Limits (README "Safety and limits").  Every input file is checked before it is opened
(:func:`ntkcheck._io.check_input_file`): a regular file — a FIFO, device, socket or directory
is refused without being read — of at most 1 GiB (``NTKCHECK_MAX_INPUT_BYTES`` overrides).
The array headers of ``.npy`` files and ``.npz`` members are read first, and an array whose
declared size does not fit in its file (a truncated or forged file), or whose data cannot fit
in memory, is refused before it is allocated; so are built-in datasets whose arrays cannot
fit (``sphere:n=10000000000``).  Inputs whose squared norms or products overflow or underflow
float64 (row norms outside [1e-150, 1e150], labels above 1e150) are refused by
:func:`load_dataset` unless ``normalize=True`` rescales the rows; :func:`normalize_rows` itself
works at any magnitude.  Low-precision inputs (``float16``, ``float32``, integers) are
converted to float64, which is exact.
"""

from __future__ import annotations

import array
import csv
import hashlib
import math
import os
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np

from ._io import check_input_file, max_input_bytes
from ._rng import as_generator, seed_record
from ._validation import check_choice, check_int

__all__ = ["Dataset", "sphere", "digits", "load_file", "load_dataset", "normalize_rows", "subset_rows",
           "check_memory", "available_memory", "SUBSET_SEED"]

#: Seed of the permutation behind :func:`subset_rows` (fixed, so subsets of one dataset are nested).
SUBSET_SEED = 0

#: Rows of X with norms outside [SCALE_MIN, SCALE_MAX] make ``x_i . x_j`` under- or overflow.
SCALE_MIN, SCALE_MAX = 1e-150, 1e150


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs and labels with a record of where they came from.

    Attributes
    ----------
    X : ndarray of shape (n, d), float64, read-only
        Inputs ``x_i`` (rows).
    y : ndarray of shape (n,), float64, read-only
        Scalar labels ``y_i``.
    name : str
        Short name (the spec or the file name).
    source : str
        Human-readable description of the origin (generator and parameters, or path).
    normalized : bool
        True when the rows were projected onto the unit sphere by :func:`normalize_rows`.
    notes : tuple of str
        Preprocessing notes to show in reports.
    params : dict
        JSON-serialisable parameters (enough to rebuild a built-in dataset).
    """

    X: np.ndarray
    y: np.ndarray
    name: str
    source: str
    normalized: bool = False
    notes: tuple = ()
    params: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of points n."""
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        """Input dimension d."""
        return int(self.X.shape[1])

    @property
    def sha256(self) -> str:
        """SHA-256 of ``X`` and ``y`` (float64 bytes), to identify the data in results."""
        return hashlib.sha256(self.X.tobytes() + self.y.tobytes()).hexdigest()

    def describe(self) -> dict:
        """JSON-serialisable description (no arrays)."""
        return dict(name=self.name, source=self.source, n=self.n, d=self.d,
                    normalized=self.normalized, notes=list(self.notes), params=dict(self.params),
                    sha256=self.sha256)


def sphere(n: int, d: int, *, labels: str = "teacher", teacher_width: int = 32, rng=None) -> Dataset:
    """Points uniform on the unit sphere ``S^{d−1}`` with teacher or random labels.

    Parameters
    ----------
    n : int
        Number of points, ``n >= 2``.
    d : int
        Dimension, ``d >= 2`` (for d = 1 every pair is parallel).
    labels : {"teacher", "random"}, default "teacher"
        ``"teacher"``: ``y_i = g(x_i) / max_j |g(x_j)|`` with ``g`` a random two-layer ReLU
        network of width ``teacher_width`` (centred, so labels take both signs); ``"random"``:
        ``y_i`` uniform on {−1, +1}.  Either way ``|y_i| ≤ 1 = C``.
    teacher_width : int, default 32
        Width of the teacher network.
    rng : None, int, SeedSequence or Generator
        Randomness (inputs and labels use separate spawned streams).

    Returns
    -------
    Dataset

    Examples
    --------
    >>> ds = sphere(5, 3, rng=0)
    >>> ds.X.shape, bool(np.allclose(np.linalg.norm(ds.X, axis=1), 1)), float(np.abs(ds.y).max())
    ((5, 3), True, 1.0)
    """
    n = check_int(n, "n", min_val=2)
    d = check_int(d, "d", min_val=2)
    labels = check_choice(labels, "labels", ("teacher", "random"))
    teacher_width = check_int(teacher_width, "teacher_width", min_val=1)
    check_memory(8 * n * (2 * d + teacher_width + 4) + 8 * teacher_width * d,
                 what=f"the sphere dataset with n={n}, d={d}, teacher_width={teacher_width}",
                 fix="choose a smaller n or d")
    seed = seed_record(rng)
    x_rng, y_rng = as_generator(rng).spawn(2)
    X = x_rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    if labels == "teacher":
        V = y_rng.standard_normal((teacher_width, d))
        c = y_rng.standard_normal(teacher_width)
        g = np.maximum(X @ V.T, 0.0) @ c
        g -= g.mean()
        y = g / np.abs(g).max()
    else:
        y = np.where(y_rng.integers(0, 2, size=n) == 1, 1.0, -1.0)
    params = dict(kind="sphere", n=n, d=d, labels=labels, teacher_width=teacher_width, seed=seed)
    src = f"{n} points uniform on S^{d - 1}, {labels} labels in [-1, 1] (seed {seed})"
    return _make(X, y, f"sphere:n={n},d={d},seed={seed}", src, params=params)


def digits(*, n: int | None = None, rng=None) -> Dataset:
    """scikit-learn's 8x8 handwritten digits, as unit-norm rows with a scalar label.

    Each 64-pixel image is projected onto the unit sphere and labelled
    ``y = (digit − 4.5) / 4.5 ∈ [−1, 1]``.  Needs the optional extra ``data``
    (``pip install ntkcheck[data]``, i.e. scikit-learn); the data ship with scikit-learn, so
    nothing is downloaded.

    Parameters
    ----------
    n : int, optional
        Keep a random subset of ``n`` images (default: all 1797).
    rng : None, int, SeedSequence or Generator
        Randomness of the subset.

    Returns
    -------
    Dataset
        ``normalized`` is True.

    Raises
    ------
    ImportError
        If scikit-learn is not installed (the message says how to install it).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError(
            "the `digits` dataset needs scikit-learn, which is not installed. Install the "
            "optional extra with `pip install ntkcheck[data]` (or `pip install scikit-learn`)."
        ) from exc
    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = (np.asarray(bunch.target, dtype=np.float64) - 4.5) / 4.5
    params = dict(kind="digits", n=None, seed=None)
    if n is not None:
        n = check_int(n, "n", min_val=2, max_val=X.shape[0])
        idx = np.sort(as_generator(rng).choice(X.shape[0], size=n, replace=False))
        X, y = X[idx], y[idx]
        params.update(n=n, seed=seed_record(rng))
    ds = _make(X, y, "digits" if n is None else f"digits:n={n},seed={params['seed']}",
               f"scikit-learn digits ({X.shape[0]} 8x8 images), label (digit - 4.5)/4.5",
               params=params)
    return normalize_rows(ds)


def normalize_rows(ds: Dataset) -> Dataset:
    """Project the rows of ``ds.X`` onto the unit sphere; note it in the dataset.

    Raises
    ------
    ValueError
        If a row is zero (it has no direction); the message names the row.
    """
    # scale each row by its largest entry first: the norm of a row of 1e-300s (or 1e300s)
    # would underflow to 0 (overflow to inf) if computed directly
    peak = np.max(np.abs(ds.X), axis=1)
    zero = np.flatnonzero(peak == 0)
    if zero.size:
        raise ValueError(f"{ds.name}: cannot normalize: row {zero[0]} of `X` is all zeros "
                         f"({zero.size} zero row(s)); remove it first.")
    scaled = ds.X / peak[:, None]
    unit_norms = np.linalg.norm(scaled, axis=1)
    norms = unit_norms * peak
    X = scaled / unit_norms[:, None]
    note = (f"rows projected onto the unit sphere (normalize); original norms in "
            f"[{norms.min():.4g}, {norms.max():.4g}]")
    return _make(X, ds.y, ds.name, ds.source, normalized=True, notes=ds.notes + (note,),
                 params=ds.params)


def load_file(path, *, target=None, y_path=None) -> Dataset:
    """Load a user dataset from ``.npz``, a ``.npy`` pair or ``.csv`` (never unpickling).

    Parameters
    ----------
    path : str or path-like
        ``.npz`` with arrays ``X`` (n, d) and ``y`` (n,); ``.npy`` with the inputs (the labels
        come from ``y_path`` or a sibling file named with ``X`` replaced by ``y``); ``.csv``
        with numeric columns and an optional header row.
    target : str or int, optional
        CSV label column: a header name or a 0-based index (negative counts from the end).
        Default: the last column.
    y_path : str or path-like, optional
        Label file for a ``.npy`` input.

    Returns
    -------
    Dataset

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Not a regular file, larger than the input cap, malformed or truncated file, missing
        array or column, non-numeric entries, shape mismatch; the message names the file and
        the field.
    MemoryError
        The arrays the file declares cannot fit in the available memory (with the estimate).
    """
    path = os.fspath(path)
    check_input_file(path, what="data file")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npz":
        X, y = _load_npz(path)
    elif ext == ".npy":
        X, y, path = _load_npy_pair(path, y_path)
    elif ext == ".csv":
        X, y = _load_csv(path, target)
    else:
        raise ValueError(f"{path}: unknown data file type {ext!r}; expected .npz (arrays X, y), "
                         f".npy (with a y .npy file) or .csv")
    return _make(X, y, os.path.basename(path), f"file {path}",
                 params=dict(kind="file", path=path, target=target))


def load_dataset(spec: str, *, target=None, normalize: bool = False) -> Dataset:
    """Build a dataset from a specification string (see the module docstring).

    Parameters
    ----------
    spec : str
        ``sphere:...``, ``digits[:...]``, a file path, or ``X.npy,y.npy``.
    target : str or int, optional
        CSV label column (:func:`load_file`).
    normalize : bool, default False
        Project the rows onto the unit sphere (:func:`normalize_rows`).

    Returns
    -------
    Dataset

    Examples
    --------
    >>> load_dataset("sphere:n=20,d=4,seed=1").X.shape
    (20, 4)
    """
    if not isinstance(spec, str) or not spec:
        raise TypeError(f"`data` must be a non-empty string (a built-in spec or a path), got {spec!r}.")
    kind, _, rest = spec.partition(":")
    if kind in ("sphere", "digits") and not os.path.exists(spec):
        opts = _parse_options(rest, spec)
        if kind == "sphere":
            allowed = {"n", "d", "seed", "labels", "teacher_width"}
            _reject_unknown(opts, allowed, spec)
            ds = sphere(_int_opt(opts, "n", 100, spec), _int_opt(opts, "d", 10, spec),
                        labels=opts.get("labels", "teacher"),
                        teacher_width=_int_opt(opts, "teacher_width", 32, spec),
                        rng=_int_opt(opts, "seed", 0, spec))
        else:
            _reject_unknown(opts, {"n", "seed"}, spec)
            ds = digits(n=_int_opt(opts, "n", None, spec), rng=_int_opt(opts, "seed", 0, spec))
    elif "," in spec and not os.path.exists(spec):
        x_path, _, y_path = spec.partition(",")
        ds = load_file(x_path, y_path=y_path)
    else:
        ds = load_file(spec, target=target)
    if normalize and not ds.normalized:
        ds = normalize_rows(ds)
    _check_scale(ds)
    return ds


def subset_rows(ds: Dataset, rows: int) -> Dataset:
    """The first ``rows`` points of a fixed random permutation of ``ds`` (nested subsets).

    The permutation comes from ``numpy.random.default_rng(SUBSET_SEED)``, so the subsets of one
    dataset are nested (``rows=50`` is a prefix of ``rows=100``) and each is a uniform random
    subset whatever the order of the file (a file sorted by label is not a problem).  Used by
    the width scaling of ``ntkcheck width --scale`` (m*(n) on nested subsets).

    Examples
    --------
    >>> ds = sphere(10, 3, rng=0)
    >>> small, big = subset_rows(ds, 4), subset_rows(ds, 6)
    >>> bool((small.X == big.X[:4]).all())
    True
    """
    rows = check_int(rows, "rows", min_val=2)
    if rows > ds.n:
        raise ValueError(f"`rows` must be at most the {ds.n} points of {ds.name}, got {rows}; use a larger "
                         f"dataset (e.g. sphere:n={rows},...) or a smaller subset.")
    if rows == ds.n:
        return ds
    idx = np.random.default_rng(SUBSET_SEED).permutation(ds.n)[:rows]
    note = f"the first {rows} of {ds.n} points in a fixed random order (seed {SUBSET_SEED}; nested subsets)"
    return _make(ds.X[idx], ds.y[idx], f"{ds.name}[rows={rows}]", ds.source, normalized=ds.normalized,
                 notes=ds.notes + (note,), params=dict(ds.params, rows=rows, subset_seed=SUBSET_SEED))


def available_memory() -> int | None:
    """Bytes of memory available to this process (Linux ``MemAvailable`` and cgroup limit).

    None where it cannot be determined (no check is made then).
    """
    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as fh:
            text = fh.read().strip()
        if text != "max":
            with open("/sys/fs/cgroup/memory.current", encoding="ascii") as fh:
                limits.append(int(text) - int(fh.read().strip()))
    except (OSError, ValueError):
        pass
    return max(min(limits), 0) if limits else None


def check_memory(nbytes: float, *, what: str, fix: str) -> None:
    """Refuse to build `what` when its estimated `nbytes` exceed the available memory.

    Raises
    ------
    MemoryError
        With the estimate, the available memory and `fix` in the message.
    """
    free = available_memory()
    if free is not None and nbytes > free:
        raise MemoryError(f"{what} needs about {_size(nbytes)} of memory but about "
                          f"{_size(free)} is available; {fix}")


# ----------------------------------------------------------------------------- helpers


def _make(X, y, name, source, *, normalized=False, notes=(), params=None) -> Dataset:
    X = np.array(X, dtype=np.float64)
    y = np.array(y, dtype=np.float64)
    for arr in (X, y):
        arr.setflags(write=False)
    return Dataset(X=X, y=y, name=name, source=source, normalized=normalized, notes=tuple(notes),
                   params=dict(params or {}))


def _check_arrays(X, y, where: str, xname: str = "X", yname: str = "y"):
    X, y = np.asarray(X), np.asarray(y)
    for arr, nm in ((X, xname), (y, yname)):
        if arr.dtype.kind not in "fiub":
            what = "complex" if arr.dtype.kind == "c" else "not numeric"
            raise ValueError(f"{where}: array `{nm}` must hold real numbers (float, int or "
                             f"bool), got dtype {arr.dtype} ({what}); convert it with "
                             f".astype(float) (for complex data, .real) before saving")
    if X.ndim == 1:
        raise ValueError(f"{where}: array `{xname}` must be 2-D (n, d), got shape {X.shape}; "
                         f"reshape a single feature with X.reshape(-1, 1)")
    if X.ndim != 2:
        raise ValueError(f"{where}: array `{xname}` must be 2-D (n, d), got shape {X.shape}")
    if X.shape[1] == 0:
        raise ValueError(f"{where}: array `{xname}` has no columns (shape {X.shape}); the inputs "
                         f"need at least one feature")
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise ValueError(f"{where}: array `{yname}` must be 1-D (n,), got shape {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{where}: `{xname}` has {X.shape[0]} rows but `{yname}` has "
                         f"{y.shape[0]} entries; they must match")
    if X.shape[0] < 2:
        raise ValueError(f"{where}: need at least 2 points, got {X.shape[0]}")
    with np.errstate(over="ignore"):  # float128 beyond the float64 range becomes inf
        X, y = X.astype(np.float64), y.astype(np.float64)
    for arr, nm in ((X, xname), (y, yname)):
        bad = np.argwhere(~np.isfinite(arr))
        if bad.size:
            raise ValueError(f"{where}: array `{nm}` has a non-finite entry at index "
                             f"{tuple(int(i) for i in bad[0])} (NaN, inf, or beyond the "
                             f"float64 range); remove or fix it")
    return X, y


def _load_npz(path):
    try:
        with zipfile.ZipFile(path) as zf:
            members = {info.filename: info for info in zf.infolist()}
            total = sum(info.file_size for info in members.values())
            cap = max_input_bytes()
            if total > cap:
                raise ValueError(f"{path}: the .npz members unpack to {total} bytes, more than "
                                 f"the input limit of {cap} bytes; set the environment "
                                 f"variable NTKCHECK_MAX_INPUT_BYTES to read it")
            keys = [name[:-4] for name in members if name.endswith(".npy")]
            missing = [k for k in ("X", "y") if k not in keys]
            if missing:
                raise ValueError(f"{path}: missing array(s) {missing}; an .npz dataset needs "
                                 f"arrays 'X' (n, d) and 'y' (n,), found {keys}")
            arrays = []
            for key in ("X", "y"):
                info = members[f"{key}.npy"]
                with zf.open(info) as fh:
                    _read_npy_header(fh, f"{path}: array `{key}`", info.file_size)
                with zf.open(info) as fh:
                    arrays.append(np.lib.format.read_array(fh, allow_pickle=False))
    except ValueError as exc:
        if str(exc).startswith(path):
            raise
        raise ValueError(f"{path}: cannot read the .npz file without unpickling ({exc}); "
                         f"save plain numeric arrays with np.savez(path, X=X, y=y)") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
            RuntimeError, KeyError) as exc:
        raise ValueError(f"{path}: not a valid .npz file, or truncated or corrupt "
                         f"({type(exc).__name__}: {exc}); re-create it with "
                         f"np.savez(path, X=X, y=y)") from None
    return _check_arrays(arrays[0], arrays[1], path)


def _read_npy_header(fh, where: str, size: int):
    """Read a .npy header from `fh`; refuse an array that cannot fit in `size` bytes or memory."""
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as exc:
        raise ValueError(f"{where}: not a valid .npy array header ({exc})") from None
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > size:
        raise ValueError(f"{where}: the header declares shape {shape} of {dtype} "
                         f"({nbytes} bytes) but the file holds only {size} bytes; the file "
                         f"is truncated or corrupt")
    check_memory(2 * nbytes, what=where, fix="use a smaller dataset")
    return shape, dtype


def _read_npy(path, what):
    info = check_input_file(path, what=f"{what} file")
    try:
        with open(path, "rb") as fh:
            _read_npy_header(fh, f"{path}", info.st_size)
            fh.seek(0)
            return np.lib.format.read_array(fh, allow_pickle=False)
    except ValueError as exc:
        if str(exc).startswith(path):
            raise
        raise ValueError(f"{path}: cannot read {what} without unpickling ({exc}); save a "
                         f"numeric array with np.save") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a valid .npy file, or truncated ({exc})") from None


def _load_npy_pair(path, y_path):
    if y_path is None:
        head, tail = os.path.split(path)
        cands = [tail.replace("X", "y", 1)] if "X" in tail else []
        cands = [os.path.join(head, c) for c in cands if c != tail]
        y_path = next((c for c in cands if os.path.isfile(c)), None)
        if y_path is None:
            raise ValueError(f"{path}: a .npy input needs its labels: pass 'X.npy,y.npy' or put "
                             f"a file named with 'X' replaced by 'y' next to it")
    X = _read_npy(path, "input")
    y = _read_npy(os.fspath(y_path), "label")
    X, y = _check_arrays(X, y, f"{path} + {y_path}")
    return X, y, path


def _load_csv(path, target):
    """Stream the CSV into a flat float64 buffer (8 bytes a cell, not a list of strings)."""
    header, ncol, col, names = None, None, None, None
    values = array.array("d")
    nrows = 0
    free = available_memory()
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                if not row or not any(c.strip() for c in row):
                    continue
                if ncol is None:  # the first non-empty row: a header, or data
                    ncol = len(row)
                    if any(not _is_number(c) for c in row):
                        header = [c.strip() for c in row]
                    if ncol < 2:
                        raise ValueError(f"{path}: need at least 2 columns (features and a "
                                         f"label), got {ncol}")
                    col = _target_index(target, header, ncol, path)
                    names = header or [str(j) for j in range(ncol)]
                    if header is not None:
                        continue
                line = nrows + 1 + (header is not None)
                if len(row) != ncol:
                    raise ValueError(f"{path}: line {line} has {len(row)} fields, expected "
                                     f"{ncol}")
                for j, cell in enumerate(row):
                    try:
                        values.append(float(cell))
                    except ValueError:
                        raise ValueError(f"{path}: line {line}, column {names[j]!r}: cannot "
                                         f"parse {cell!r} as a number") from None
                nrows += 1
                if free is not None and nrows % 4096 == 0 and 3 * 8 * len(values) > free:
                    check_memory(3 * 8 * len(values), what=f"{path} (read so far)",
                                 fix="use a smaller dataset")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a UTF-8 text CSV file ({exc})") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: malformed CSV ({exc})") from None
    if ncol is None:
        raise ValueError(f"{path}: the CSV file is empty")
    data = np.frombuffer(values, dtype=np.float64).reshape(nrows, ncol)
    y = data[:, col]
    X = np.delete(data, col, axis=1)
    return _check_arrays(X, y, path, yname=f"target column {names[col]!r}")


def _target_index(target, header, ncol, path) -> int:
    if target is None:
        return ncol - 1
    if isinstance(target, str) and not _is_int(target):
        if header is None:
            raise ValueError(f"{path}: target column {target!r} given by name but the file has "
                             f"no header row; pass a 0-based column index instead")
        if target not in header:
            raise ValueError(f"{path}: no column named {target!r} (target); columns: {header}")
        return header.index(target)
    j = int(target)
    if not -ncol <= j < ncol:
        raise ValueError(f"{path}: target column index {j} is out of range for {ncol} columns")
    return j % ncol


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _is_int(s: str) -> bool:
    try:
        int(s)
        return True
    except ValueError:
        return False


def _parse_options(text: str, spec: str) -> dict:
    opts = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, val = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"data spec {spec!r}: options must look like key=value, got {part!r}")
        opts[key.strip()] = val.strip()
    return opts


def _reject_unknown(opts, allowed, spec):
    bad = sorted(set(opts) - set(allowed))
    if bad:
        raise ValueError(f"data spec {spec!r}: unknown option(s) {bad}; allowed: {sorted(allowed)}")


def _int_opt(opts, key, default, spec):
    if key not in opts:
        return default
    try:
        return int(opts[key])
    except ValueError:
        raise ValueError(f"data spec {spec!r}: option {key} must be an integer, got {opts[key]!r}") from None



def _check_scale(ds: Dataset) -> None:
    """Refuse magnitudes whose squares or products over/underflow float64 (unless normalized)."""
    if not ds.normalized and ds.X.size:
        peak = np.max(np.abs(ds.X), axis=1)
        ok = peak > 0
        if np.any(ok):
            norms = np.linalg.norm(ds.X[ok] / peak[ok, None], axis=1) * peak[ok]
            lo, hi = float(norms.min()), float(norms.max())
            if hi > SCALE_MAX or lo < SCALE_MIN:
                raise ValueError(
                    f"{ds.name}: rows of `X` have norms in [{lo:.3g}, {hi:.3g}]; norms outside "
                    f"[{SCALE_MIN:g}, {SCALE_MAX:g}] make the kernel's inner products overflow "
                    f"or underflow float64. Rescale the inputs, or pass --normalize "
                    f"(normalize=True) to project the rows onto the unit sphere.")
    top = float(np.max(np.abs(ds.y))) if ds.y.size else 0.0
    if top > SCALE_MAX:
        raise ValueError(f"{ds.name}: labels `y` reach |y| = {top:.3g}; above {SCALE_MAX:g} the "
                         f"squared loss overflows float64. Rescale the labels (Assumption 1 "
                         f"asks for |y_i| <= C with a moderate C).")


def _size(nbytes: float) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("kiB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{int(nbytes)} bytes"
