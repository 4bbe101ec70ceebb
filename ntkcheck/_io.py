"""Crash-safe file writing: the one ``atomic_write`` of the package.

A file is written to a temporary file ``.tmp-<name>-*`` in the same directory, flushed and
``fsync``-ed, renamed over the target with :func:`os.replace`, and the directory is
``fsync``-ed: a reader (or a run resumed after a crash) sees the old file or the whole new
one, never a part.  Used by the results folders of ``ntkcheck run``/``reproduce`` and by the
sweep store (:mod:`ntkcheck.store`, whose clean-up removes stray ``.tmp-*`` files).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path, content) -> None:
    """Write ``content`` (str, as UTF-8, or bytes) to ``path`` atomically; create its directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
