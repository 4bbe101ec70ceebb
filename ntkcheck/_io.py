"""Files in and out: the one ``atomic_write`` of the package and the checks on input files.

Writing (:func:`atomic_write`).  A file is written to a temporary file ``.tmp-<name>-*`` in
the directory of its final target, flushed and ``fsync``-ed, renamed over the target with
:func:`os.replace`, and the directory is ``fsync``-ed: a reader (or a run resumed after a
crash) sees the old file or the whole new one, never a part.  Only regular files are written:

* a target that exists and is a directory, FIFO, socket or device is refused with
  :class:`UnsafeOutputError` without being opened (renaming over ``/dev/null`` as root would
  replace the device with a regular file);
* a symbolic link is written *through*: the link is resolved, the new file is written beside
  its final target and renamed over that target, and the link stays a link;
* an existing file keeps its permission bits; a new file gets ``0o666`` minus the umask, as
  ``open(path, "w")`` would give it (the temporary file is created with that mode, so the
  kernel applies the umask);
* missing parent directories are created; a parent path that exists but is not a directory
  is refused with :class:`UnsafeOutputError`.

Used by the results folders of ``ntkcheck run``/``reproduce``, ``ntkcheck check --json`` and
the sweep store (:mod:`ntkcheck.store`, whose clean-up removes stray ``.tmp-*`` files).

Reading (:func:`check_input_file`, :func:`read_text`, :func:`read_toml`, :func:`parse_toml`).
An input path is checked with :func:`os.stat` *before* it is opened: it must be a regular file
(a FIFO would block the reader forever, ``/dev/zero`` would be read until memory runs out)
of at most :data:`DEFAULT_MAX_INPUT_BYTES` bytes (1 GiB; the environment variable
``NTKCHECK_MAX_INPUT_BYTES`` overrides it).  TOML documents are parsed with their nesting
depth capped (``tomllib`` recurses once per level and ends in ``RecursionError``); the
scanner is the one of :mod:`bounds._toml`, copied because the numerical core does not import
SymPy (a test checks that the two copies agree).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from pathlib import Path

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["atomic_write", "write_npz", "UnsafeOutputError", "check_input_file", "max_input_bytes",
           "read_text", "read_toml", "parse_toml", "DEFAULT_MAX_INPUT_BYTES",
           "MAX_INPUT_ENV", "DEFAULT_MAX_TOML_DEPTH"]

#: Default size cap of an input file (1 GiB).
DEFAULT_MAX_INPUT_BYTES = 1 << 30
#: Environment variable that overrides :data:`DEFAULT_MAX_INPUT_BYTES` (a number of bytes).
MAX_INPUT_ENV = "NTKCHECK_MAX_INPUT_BYTES"
#: Default cap on the nesting depth of a TOML document.
DEFAULT_MAX_TOML_DEPTH = 32


class UnsafeOutputError(ValueError):
    """An output path is not (and cannot become) a regular file: nothing was written."""


# ----------------------------------------------------------------------------- writing


def atomic_write(path, content) -> None:
    """Write ``content`` (str, as UTF-8, or bytes) to the regular file ``path`` atomically.

    Parameters
    ----------
    path : str or path-like
        The target.  Missing parent directories are created.  A symbolic link is written
        through to its final target (the link is kept).
    content : str or bytes
        The new contents.

    Raises
    ------
    UnsafeOutputError
        If the target (after following symbolic links) is a directory, FIFO, socket or
        device, or a parent path exists but is not a directory.  Nothing is opened.
    PermissionError, OSError
        If the directory cannot be written (the message names the path).
    """
    path = Path(path)
    if isinstance(content, str):
        data = content.encode("utf-8")
    elif isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
    else:
        raise TypeError(f"`content` must be str or bytes, got {type(content).__name__}")
    _make_parents(path)
    target = _final_target(path)
    _make_parents(target)
    mode = _existing_mode(target, path)
    fd, tmp = _create_temp(target, path, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(target.parent)


def write_npz(path, **arrays) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` file at ``path``, atomically (:func:`atomic_write`)."""
    import io

    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(path, buf.getvalue())


def _describe(mode: int) -> str:
    for test, word in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return word
    return "not a regular file"


def _final_target(path: Path) -> Path:
    """`path` with symbolic links resolved; refuse a target that is not a regular file."""
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        is_link = False
    target = Path(os.path.realpath(path)) if is_link else path
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:  # ELOOP (a link cycle), ENAMETOOLONG, ...
        raise UnsafeOutputError(f"cannot write `{path}`: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        via = f" (a link to {target})" if is_link else ""
        raise UnsafeOutputError(
            f"refusing to write `{path}`{via}: it is {_describe(info.st_mode)}, not a regular "
            f"file; choose the path of a file to create or replace")
    return target


def _make_parents(path: Path) -> None:
    """Create the missing parent directories of `path`; refuse a parent that is a file."""
    parent = path.parent
    missing = []
    while True:
        try:
            info = os.stat(parent)
        except FileNotFoundError:
            missing.append(parent)
            if parent.parent == parent:  # pragma: no cover - the root always exists
                break
            parent = parent.parent
            continue
        except NotADirectoryError:  # a component above is a file
            missing.append(parent)
            parent = parent.parent
            continue
        if not stat.S_ISDIR(info.st_mode):
            raise UnsafeOutputError(
                f"cannot write `{path}`: its parent `{parent}` is {_describe(info.st_mode)}, "
                f"not a directory; choose another output path")
        break
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise UnsafeOutputError(f"cannot write `{path}`: `{directory}` exists and is "
                                        f"not a directory") from None
        except OSError as exc:
            raise _os_error(exc, f"cannot create the directory `{directory}` for `{path}`")


def _existing_mode(target: Path, path: Path):
    """Permission bits of the existing `target` (None: a new file, the umask applies)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return None


def _create_temp(target: Path, path: Path, mode):
    """Open a new ``.tmp-<name>-<random>`` beside `target` (mode 0o666 minus the umask)."""
    stem = target.name[:200]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.parent / f".tmp-{stem}-{secrets.token_hex(6)}"
        try:
            return os.open(tmp, flags, 0o666 if mode is None else 0o600), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise _os_error(exc, f"cannot write `{path}` (in the directory "
                                 f"`{target.parent}`)")
    raise FileExistsError(f"cannot write `{path}`: no free temporary name in "
                          f"`{target.parent}`")  # pragma: no cover


def _os_error(exc: OSError, what: str) -> OSError:
    """The same kind of OSError with a message that names the path and the reason."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM):
        reason += "; check the permissions or choose another path"
    elif exc.errno == errno.EROFS:
        reason += "; choose a path on a writable file system"
    new = type(exc)(exc.errno, f"{what}: {reason}")
    return new


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


# ----------------------------------------------------------------------------- reading


def max_input_bytes() -> int:
    """The input size cap: ``$NTKCHECK_MAX_INPUT_BYTES`` if set, else 1 GiB.

    Raises
    ------
    ValueError
        If the environment variable is set but is not a positive integer.
    """
    text = os.environ.get(MAX_INPUT_ENV)
    if text is None or not text.strip():
        return DEFAULT_MAX_INPUT_BYTES
    try:
        value = int(text.strip().replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"the environment variable {MAX_INPUT_ENV} must be a positive number "
                         f"of bytes, got {text!r}")
    return value


def check_input_file(path, *, what: str, max_bytes: int | None = None) -> os.stat_result:
    """Check, without opening it, that `path` is a regular file of acceptable size.

    Parameters
    ----------
    path : str or path-like
        The input file (symbolic links are followed).
    what : str
        What the file is, for messages (``"data file"``, ``"config file"``).
    max_bytes : int, optional
        Size cap; default :func:`max_input_bytes` (1 GiB or ``$NTKCHECK_MAX_INPUT_BYTES``).

    Returns
    -------
    os.stat_result

    Raises
    ------
    FileNotFoundError
        `path` does not exist.
    ValueError
        `path` is a directory, FIFO, socket or device, or is larger than the cap (the
        message says how to raise it).
    """
    name = os.fspath(path)
    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {name!r} does not exist") from None
    except NotADirectoryError:
        raise FileNotFoundError(f"{what} {name!r} does not exist (a component of the path "
                                f"is a file, not a directory)") from None
    except OSError as exc:
        raise _os_error(exc, f"cannot read {what} {name!r}") from None
    if not stat.S_ISREG(info.st_mode):
        hint = "; pass the path of a file inside it" if stat.S_ISDIR(info.st_mode) else ""
        raise ValueError(f"{what} {name!r} is {_describe(info.st_mode)}, not a regular file"
                         f"{hint}; inputs are read from regular files only")
    cap = max_input_bytes() if max_bytes is None else max_bytes
    if info.st_size > cap:
        raise ValueError(f"{what} {name!r} has {info.st_size} bytes, more than the limit of "
                         f"{cap} bytes; set the environment variable {MAX_INPUT_ENV} to a "
                         f"larger number of bytes to read it")
    return info


def read_text(path, *, what: str, max_bytes: int | None = None) -> str:
    """The UTF-8 text of the regular file `path` (checked by :func:`check_input_file`).

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`check_input_file`; ValueError also for text that is not UTF-8.
    """
    info = check_input_file(path, what=what, max_bytes=max_bytes)
    name = os.fspath(path)
    with open(name, "rb") as fh:
        data = fh.read(info.st_size + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} {name!r} is not UTF-8 text (invalid byte at offset "
                         f"{exc.start}); save it as UTF-8") from None


def read_toml(path, *, what: str, max_depth: int = DEFAULT_MAX_TOML_DEPTH) -> dict:
    """Read and parse the TOML file `path` with its nesting depth capped.

    Parameters
    ----------
    path : str or path-like
    what : str
        What the file is, for messages (``"config file"``, ``"sweep spec"``).
    max_depth : int, default 32
        Deepest nesting of arrays, inline tables and (dotted) tables.

    Returns
    -------
    dict

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`read_text`, or invalid TOML, or nesting deeper than `max_depth`; the
        message names the file.
    """
    return parse_toml(read_text(path, what=what), source=os.fspath(path), max_depth=max_depth)


def parse_toml(text: str, *, source: str, max_depth: int = DEFAULT_MAX_TOML_DEPTH) -> dict:
    """Parse TOML `text` (from `source`, named in messages) with its nesting depth capped.

    Raises
    ------
    ValueError
        Invalid TOML, or nesting deeper than `max_depth`.

    Examples
    --------
    >>> parse_toml("a = [[1, 2]]", source="example")
    {'a': [[1, 2]]}
    >>> parse_toml("a = " + "[" * 40 + "]" * 40, source="deep.toml")
    Traceback (most recent call last):
    ...
    ValueError: deep.toml: the TOML document is nested too deeply (40 levels of brackets; at most 32 are allowed); flatten the nested arrays or tables
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be the TOML text (str), got {type(text).__name__}")
    depth = bracket_depth(text)
    if depth > max_depth:
        raise ValueError(_too_deep(source, f"{depth} levels of brackets", max_depth))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:  # pragma: no cover - the scanner refuses such documents first
        raise ValueError(_too_deep(source, "too many levels", max_depth)) from None
    depth = _value_depth(data)
    if depth > max_depth:
        raise ValueError(_too_deep(source, f"{depth} levels of tables and keys", max_depth))
    return data


# Strings (all four TOML kinds), comments, and the brackets that nest (bounds._toml).
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
    """Deepest nesting of ``[``/``{`` outside strings and comments in the TOML `text`."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth = max(depth - 1, 0)
    return deepest


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
