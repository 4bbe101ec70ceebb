"""Output folders are ntkcheck's or refused: the one place that decides whether we may write in one.

``ntkcheck run`` and ``ntkcheck reproduce`` write results folders.  A folder we are pointed at
may hold a user's own files, or an earlier run whose stale files (``seeds/seed_7`` of a run with
other seeds) would sit beside the new report.  :func:`claim_output_dir` therefore

* creates a missing folder and marks it with :data:`MARKER` (what wrote it, and when);
* accepts an empty folder (and marks it);
* refuses a folder holding files without our marker — nothing of the user's is touched;
* refuses a folder holding an earlier output of ours, unless ``resume`` (keep it and continue,
  where the command supports that) or ``force`` (remove that earlier output's entries first, so
  nothing stale remains; a file we did not write is never removed, and its presence is an error).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from ._io import atomic_write

__all__ = ["MARKER", "OUTPUTS", "claim_output_dir"]

#: The marker file of a folder written by ntkcheck.
MARKER = ".ntkcheck-output.json"
#: The entries each kind of output writes (all of them are removed by ``force``).
OUTPUTS = {
    "run": ("config.toml", "config.json", "seeds", "figures", "report.json", "report.md", "report.html"),
    "reproduce": ("store", "width", "figures", "data", "summary.json", "summary.md", "summary.html"),
    "width": ("store", "figures", "summary.json", "summary.md", "summary.html"),
}


def claim_output_dir(path, *, kind: str, force: bool = False, resume: bool = False) -> Path:
    """Make ``path`` the output folder of an ntkcheck ``kind`` ("run", "reproduce"), or refuse.

    Parameters
    ----------
    path : str or path-like
    kind : {"run", "reproduce"}
    force : bool, default False
        Replace an earlier output of the same kind (its entries are removed first).
    resume : bool, default False
        Keep an earlier output of the same kind (the command continues it).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        ``path`` is not a directory, holds files ntkcheck did not write, or holds an earlier
        output and neither ``force`` nor ``resume`` was given (the message says which flag).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {str(path)!r} exists and is not a directory; give a folder to write into.")
    if not path.exists():
        path.mkdir(parents=True)
        _mark(path, kind)
        return path
    entries = sorted(e.name for e in path.iterdir())
    if not entries:
        _mark(path, kind)
        return path
    marker = _read_marker(path)
    if marker is None:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise ValueError(f"--out {str(path)!r} holds files that ntkcheck did not write ({shown}); nothing was "
                         f"written. Choose a new or empty folder.")
    if marker.get("kind") != kind:
        raise ValueError(f"--out {str(path)!r} holds the output of `ntkcheck {marker.get('kind')}`, not of "
                         f"`ntkcheck {kind}`; choose another folder.")
    if resume:
        return path
    if not force:
        alt = " or --resume to continue it" if kind == "reproduce" else ""
        raise ValueError(f"--out {str(path)!r} already holds an earlier `ntkcheck {kind}` output; pass --force to "
                         f"replace it{alt}, or choose another folder.")
    foreign = [e for e in entries if e not in OUTPUTS[kind] and e != MARKER]
    if foreign:
        raise ValueError(f"--out {str(path)!r} holds files that ntkcheck did not write ({', '.join(foreign[:5])}); "
                         f"--force removes only an earlier output, so nothing was removed. Move those files first.")
    for name in entries:
        if name == MARKER:
            continue
        target = path / name
        if target.is_symlink() or not target.is_dir():
            target.unlink()
        else:
            shutil.rmtree(target)
    _mark(path, kind)
    return path


def _mark(path: Path, kind: str) -> None:
    atomic_write(path / MARKER, json.dumps({"tool": "ntkcheck", "kind": kind, "created": time.time(),
                                            "pid": os.getpid()}, indent=1) + "\n")


def _read_marker(path: Path):
    if not (path / MARKER).is_file():  # a FIFO or device named like the marker is never opened
        return None
    try:
        data = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == "ntkcheck" else None
