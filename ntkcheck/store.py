"""Crash-safe results store of a parameter sweep (issue 6): one checksummed file per run.

Layout of a store directory ``DIR``::

    DIR/spec.toml             the sweep specification (byte-exact copy of the latest SPEC.toml)
    DIR/sweep.json            identity (sweep seed, runner) and a log of every launch
    DIR/tasks.txt             the run ids of the latest spec (read without importing its runner)
    DIR/runs/<run_id>.json    one record per finished run, status "ok" or "failed"
    DIR/quarantine/           corrupt records moved aside for inspection (then redone)
    DIR/index.csv             flat table of the valid records (derived; never read back)

Every file is written atomically: a temporary file in the same directory is written,
flushed and ``fsync``-ed, then renamed over the target with :func:`os.replace` and the
directory is ``fsync``-ed.  A reader therefore sees either no record or a whole one.  Each
record also carries ``checksum = sha256`` of its canonical JSON (sorted keys, compact
separators) without that field, so a record truncated or altered by anything else (a disk
fault, a copy interrupted half-way, a hand edit) is detected, moved to ``quarantine/`` and
redone by the next ``--resume``; it is never read as data.

A record is a JSON object::

    {"format": "ntkcheck.sweep.record/2", "run_id": str, "params": {...}, "replicate": int,
     "seed": int, "status": "ok" | "failed", "result": {...} | null,
     "error": {"type", "message", "traceback"} | null, "attempts": int,
     "host": str, "pid": int, "threads": int, "elapsed": float, "finished": float,
     "checksum": str}

:meth:`Store.table` flattens the valid records into rows (a list of dicts, no pandas),
:meth:`Store.to_structured` into a NumPy structured array of the scalar columns and
:meth:`Store.to_csv` writes them as CSV.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._io import atomic_write

__all__ = ["Store", "ScanResult", "RECORD_FORMAT", "FORMAT_V1", "READABLE_FORMATS", "canonical_json", "record_checksum",
           "verify_record", "CorruptRecord"]

#: Format tag of a run record written by this version.
RECORD_FORMAT = "ntkcheck.sweep.record/2"
#: Format tag of the records of ntkcheck 0.1 (sphere-only runner; still read, never written).
FORMAT_V1 = "ntkcheck.sweep.record/1"
#: Record formats this version reads.
READABLE_FORMATS = (RECORD_FORMAT, FORMAT_V1)
#: Keys every valid record has.
_RECORD_KEYS = ("format", "run_id", "params", "replicate", "seed", "status", "result",
                "error", "checksum")
#: Record-level columns of :meth:`Store.table`, in order.
BASE_COLUMNS = ("run_id", "replicate", "seed", "status", "attempts", "elapsed", "error")


class CorruptRecord(ValueError):
    """A record file that is truncated, not JSON, incomplete or fails its checksum."""


def canonical_json(obj) -> str:
    """Canonical JSON text of ``obj``: sorted keys, compact separators, exact float repr.

    Examples
    --------
    >>> canonical_json({"b": 1.0, "a": [1, 2]})
    '{"a":[1,2],"b":1.0}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def record_checksum(record: dict) -> str:
    """sha256 hex digest of the canonical JSON of ``record`` without its ``checksum`` key."""
    body = {k: v for k, v in record.items() if k != "checksum"}
    return hashlib.sha256(canonical_json(body).encode("ascii")).hexdigest()


def verify_record(record, run_id: str | None = None) -> dict:
    """Return ``record`` if it is a complete record with a valid checksum, else raise.

    Raises
    ------
    CorruptRecord
        Not a JSON object, a missing key, a wrong format tag, a ``run_id`` other than the
        file's, or a checksum mismatch.
    """
    if not isinstance(record, dict):
        raise CorruptRecord(f"a record must be a JSON object, got {type(record).__name__}")
    missing = [k for k in _RECORD_KEYS if k not in record]
    if missing:
        raise CorruptRecord(f"record lacks key(s) {missing}")
    if record["format"] not in READABLE_FORMATS:
        raise CorruptRecord(f"record format {record['format']!r} is not one of {list(READABLE_FORMATS)}")
    if run_id is not None and record["run_id"] != run_id:
        raise CorruptRecord(f"record is for run {record['run_id']!r}, file is for {run_id!r}")
    if record_checksum(record) != record["checksum"]:
        raise CorruptRecord("checksum mismatch (the record was altered or half-written)")
    return record


@dataclass
class ScanResult:
    """Result of :meth:`Store.scan`.

    Attributes
    ----------
    records : dict
        ``run_id -> record`` for every valid record.
    corrupt : list of tuple (str, str)
        ``(file name, reason)`` of every corrupt record found (and quarantined).
    """

    records: dict = field(default_factory=dict)
    corrupt: list = field(default_factory=list)


class Store:
    """The results store of one sweep, rooted at directory ``root``.

    Parameters
    ----------
    root : str or path-like
        Store directory; ``runs/`` is created inside it if missing.

    Notes
    -----
    One process writes a store (the sweep's driver); any number may read it.  Temporary
    files left by a writer killed mid-write (``runs/.tmp-*``) are ignored by readers and
    removed by :meth:`clean_temporary`.
    """

    def __init__(self, root):
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.quarantine = self.root / "quarantine"

    # ------------------------------------------------------------------ files
    @property
    def spec_path(self) -> Path:
        """``DIR/spec.toml``."""
        return self.root / "spec.toml"

    @property
    def meta_path(self) -> Path:
        """``DIR/sweep.json``."""
        return self.root / "sweep.json"

    def exists(self) -> bool:
        """True when ``DIR`` already holds a sweep (a ``sweep.json``)."""
        return self.meta_path.is_file()

    def create_dirs(self) -> None:
        """Create ``DIR`` and ``DIR/runs`` (no error if they exist)."""
        self.runs.mkdir(parents=True, exist_ok=True)

    def read_meta(self) -> dict:
        """The identity and launch log of the sweep (``sweep.json``)."""
        try:
            return json.loads(self.meta_path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{self.root} holds no sweep (no sweep.json); start one with `ntkcheck sweep SPEC.toml --out {self.root}`."
            ) from None

    def write_meta(self, meta: dict) -> None:
        """Atomically (re)write ``sweep.json``."""
        atomic_write(self.meta_path, json.dumps(meta, indent=1, sort_keys=True) + "\n")

    def write_spec(self, text: str) -> None:
        """Atomically (re)write ``spec.toml``."""
        atomic_write(self.spec_path, text)

    @property
    def tasks_path(self) -> Path:
        """``DIR/tasks.txt``: the run ids of the latest spec, one per line."""
        return self.root / "tasks.txt"

    def write_tasks(self, run_ids) -> None:
        """Record the run ids of the spec, so the store can be read without importing its runner."""
        atomic_write(self.tasks_path, "".join(f"{r}\n" for r in run_ids))

    def read_tasks(self) -> list:
        """The run ids recorded by :meth:`write_tasks` (raises FileNotFoundError if absent)."""
        if not self.tasks_path.is_file():
            raise FileNotFoundError(f"{self.tasks_path} is missing: the store's spec names a custom runner, "
                                    "whose run ids can only be read from that file.")
        return [line.strip() for line in self.tasks_path.read_text().splitlines() if line.strip()]

    def record_path(self, run_id: str) -> Path:
        """``DIR/runs/<run_id>.json``."""
        return self.runs / f"{run_id}.json"

    # ---------------------------------------------------------------- records
    def write(self, record: dict) -> dict:
        """Seal ``record`` with its checksum and write it atomically; return the sealed record.

        The record is checked to be JSON-serialisable before anything touches the disk.
        """
        record = dict(record)
        record["format"] = RECORD_FORMAT
        record.pop("checksum", None)
        record["checksum"] = record_checksum(record)  # raises TypeError if not serialisable
        atomic_write(self.record_path(record["run_id"]), canonical_json(record) + "\n")
        return record

    def read(self, run_id: str) -> dict | None:
        """The valid record of ``run_id``, None if there is none; raise if it is corrupt.

        Raises
        ------
        CorruptRecord
            The file exists but is not a valid record.
        """
        path = self.record_path(run_id)
        try:
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as exc:
            raise CorruptRecord(f"{path.name}: not ASCII JSON ({exc})") from None
        return _parse(text, run_id, path.name)

    def scan(self, *, quarantine: bool = False) -> ScanResult:
        """Read every record; valid ones are returned, corrupt ones reported.

        Parameters
        ----------
        quarantine : bool, default False
            Move corrupt records to ``DIR/quarantine/`` (the sweep driver does this before
            resuming, so they are redone).
        """
        out = ScanResult()
        if not self.runs.is_dir():
            return out
        for path in sorted(self.runs.glob("*.json")):
            run_id = path.stem
            try:
                out.records[run_id] = _parse(path.read_bytes().decode("ascii"), run_id, path.name)
            except (CorruptRecord, UnicodeDecodeError) as exc:
                out.corrupt.append((path.name, str(exc)))
                if quarantine:
                    self.quarantine.mkdir(exist_ok=True)
                    os.replace(path, self.quarantine / f"{path.name}.{time.time_ns()}")
            except FileNotFoundError:  # removed meanwhile by the writer's quarantine
                continue
        return out

    def clean_temporary(self) -> int:
        """Remove temporary files left by a writer killed mid-write; return how many."""
        count = 0
        for path in self.root.glob("**/.tmp-*"):
            try:
                path.unlink()
                count += 1
            except FileNotFoundError:
                pass
        return count

    # ------------------------------------------------------------------ table
    def table(self, *, status: str | None = None, where: dict | None = None) -> list[dict]:
        """Flat rows of the valid records (corrupt ones are skipped with a warning).

        Each row holds the record-level columns ``run_id, replicate, seed, status,
        attempts, elapsed, error`` (the error message), then every run parameter, then every
        scalar of the result (lists and nested values are kept as they are, e.g. ``loss``).
        A result key equal to an earlier column is renamed ``result.<key>``.

        Parameters
        ----------
        status : {"ok", "failed"}, optional
            Keep only rows with this status.
        where : dict, optional
            Keep only rows whose columns equal these values, e.g. ``{"scheme": "gd"}``.

        Returns
        -------
        list of dict
            Sorted by parameters then replicate (stable across calls).
        """
        scan = self.scan()
        if scan.corrupt:
            warnings.warn(
                f"{len(scan.corrupt)} corrupt record(s) in {self.runs} were skipped "
                f"({scan.corrupt[0][0]}: {scan.corrupt[0][1]}); `ntkcheck sweep --resume` redoes them.",
                RuntimeWarning, stacklevel=2,
            )
        rows = [flatten_record(r) for r in scan.records.values()]
        if status is not None:
            rows = [r for r in rows if r["status"] == status]
        if where:
            rows = [r for r in rows if all(r.get(k) == v for k, v in where.items())]
        rows.sort(key=lambda r: (canonical_json(_params_of(r)), r["replicate"], r["run_id"]))
        return rows

    def to_structured(self, rows: list[dict] | None = None, columns=None) -> np.ndarray:
        """The scalar columns of :meth:`table` as a NumPy structured array.

        Numbers become float64 (int64 when every value is an integer), strings a unicode
        field, missing values NaN / ``""``; list-valued columns are left out.
        """
        rows = self.table() if rows is None else rows
        return rows_to_structured(rows, columns)

    def to_csv(self, path=None, rows: list[dict] | None = None) -> Path:
        """Write the scalar columns of :meth:`table` as CSV (default ``DIR/index.csv``)."""
        rows = self.table() if rows is None else rows
        path = self.root / "index.csv" if path is None else Path(path)
        cols = scalar_columns(rows)
        buf = _StringBuffer()
        writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({c: _csv_value(r.get(c)) for c in cols})
        atomic_write(path, buf.text())
        return path


# ----------------------------------------------------------------------------- rows


def flatten_record(rec: dict) -> dict:
    """One flat row of a record (see :meth:`Store.table`); ``_params`` lists the parameter keys."""
    err = rec.get("error") or {}
    row = {
        "run_id": rec["run_id"], "replicate": rec["replicate"], "seed": rec["seed"],
        "status": rec["status"], "attempts": rec.get("attempts"), "elapsed": rec.get("elapsed"),
        "error": (f"{err.get('type', '')}: {err.get('message', '')}" if err else ""),
    }
    params = rec.get("params") or {}
    for k, v in params.items():
        row[k if k not in row else f"param.{k}"] = v
    for k, v in (rec.get("result") or {}).items():
        row[k if k not in row else f"result.{k}"] = v
    row["_params"] = tuple(k if k not in BASE_COLUMNS else f"param.{k}" for k in params)
    return row


def scalar_columns(rows: list[dict]) -> list[str]:
    """Column names (first-seen order) whose values are all scalars or None."""
    cols: dict[str, bool] = {}
    for r in rows:
        for k, v in r.items():
            if k.startswith("_"):
                continue
            ok = v is None or isinstance(v, (bool, int, float, str, np.integer, np.floating))
            cols[k] = cols.get(k, True) and ok
    return [k for k, ok in cols.items() if ok]


def rows_to_structured(rows: list[dict], columns=None) -> np.ndarray:
    """Scalar columns of ``rows`` as a structured array (see :meth:`Store.to_structured`)."""
    cols = scalar_columns(rows) if columns is None else list(columns)
    dtypes, data = [], []
    for c in cols:
        vals = [r.get(c) for r in rows]
        present = [v for v in vals if v is not None]
        if present and all(isinstance(v, str) for v in present):
            width = max(1, max(len(v) for v in present))
            dtypes.append((c, f"U{width}"))
            data.append(["" if v is None else v for v in vals])
        elif present and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in present) \
                and len(present) == len(vals) and all(abs(int(v)) < 2**63 for v in present):
            dtypes.append((c, np.int64))
            data.append([int(v) for v in vals])
        else:
            dtypes.append((c, np.float64))
            data.append([math.nan if v is None or isinstance(v, str) else float(v) for v in vals])
    arr = np.empty(len(rows), dtype=dtypes)
    for (c, _), col in zip(dtypes, data):
        arr[c] = col
    return arr


# ----------------------------------------------------------------------------- helpers


def _parse(text: str, run_id: str, name: str) -> dict:
    try:
        rec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptRecord(f"{name}: not valid JSON ({exc.msg} at char {exc.pos}); truncated?") from None
    try:
        return verify_record(rec, run_id)
    except CorruptRecord as exc:
        raise CorruptRecord(f"{name}: {exc}") from None


def _params_of(row: dict) -> dict:
    return {k: row.get(k) for k in row.get("_params", ())}


def _csv_value(v):
    if isinstance(v, float):
        return repr(v)
    return "" if v is None else v


class _StringBuffer:
    def __init__(self):
        self.parts: list[str] = []

    def write(self, s: str) -> int:
        self.parts.append(s)
        return len(s)

    def text(self) -> str:
        return "".join(self.parts)
