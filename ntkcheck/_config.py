"""Package-wide settings: Numba options, numerical tolerances, warning class.

Every ``@njit`` in the package takes its options from :data:`NJIT_OPTS`; no module
hard-codes ``fastmath=`` (a test greps for it).  The fast-math flags leave out
``nnan``/``ninf`` so that NaN and inf handling stays correct (stumpy's convention).

Compiled kernels are cached on disk (``cache=True``) when Numba has somewhere to write: the
directory named by ``NUMBA_CACHE_DIR``, the package's ``__pycache__``, or the user cache
directory (``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba``).  Numba raises at import time when
none of them is writable (a read-only installation run with no writable ``HOME``), so
:func:`numba_cache_usable` looks first and :data:`NJIT_OPTS` falls back to ``cache=False``:
the kernels are then compiled in every process, which is slower to start but correct.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

#: LLVM fast-math flags allowed in kernels (never ``nnan``, ``ninf`` or ``fast``).
FASTMATH_FLAGS = frozenset({"nsz", "arcp", "contract", "reassoc"})


def numba_cache_usable(package_dir: str | None = None, environ=None) -> bool:
    """True if Numba can cache the kernels of `package_dir` somewhere writable.

    Parameters
    ----------
    package_dir : str, optional
        Directory of the modules with kernels (default: this package).
    environ : mapping, optional
        Environment to read ``NUMBA_CACHE_DIR``, ``XDG_CACHE_HOME`` and ``HOME`` from
        (default: :data:`os.environ`).

    Returns
    -------
    bool
        Whether one of Numba's cache locations (module docstring) accepts a file.  The
        check creates the directory, as Numba itself would.
    """
    env = os.environ if environ is None else environ
    package_dir = package_dir or os.path.dirname(os.path.abspath(__file__))
    candidates = []
    if env.get("NUMBA_CACHE_DIR"):
        candidates.append(env["NUMBA_CACHE_DIR"])
    candidates.append(os.path.join(package_dir, "__pycache__"))
    home = env.get("HOME") or os.path.expanduser("~")
    cache_home = env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    candidates.append(os.path.join(cache_home, "numba"))
    return any(_writable_dir(path) for path in candidates)


def _writable_dir(path: str) -> bool:
    """Create `path` if needed and try a temporary file in it (Numba's own test)."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except (OSError, ValueError):
        return False
    return True


#: Options for every ``numba.njit`` in the package (``cache`` only where Numba can write).
NJIT_OPTS = dict(cache=numba_cache_usable(), fastmath=set(FASTMATH_FLAGS), nogil=True)

#: Default floating dtype of every result.
FLOAT = np.float64

#: Relative symmetry tolerance of :func:`ntkcheck.eigen.min_eigenvalue`
#: (``|H - H.T| <= SYM_RTOL * max|H|``).
SYM_RTOL = 1e-10

#: Negative eigenvalues above ``-max(PSD_ATOL, PSD_RTOL * lambda_max)`` are rounding
#: noise and are clipped to 0 (sklearn ``_check_psd_eigenvalues``).
PSD_ATOL = 1e-10
PSD_RTOL = 1e-5

#: Target size of one streamed chunk of float32 pre-activations (n x chunk) in the
#: finite-width kernels; the chunk is 16384 neurons for n <= 1024 and shrinks beyond.
DEFAULT_CHUNK_BYTES = 1 << 26


class NumericalWarning(UserWarning):
    """A computation finished but a result was adjusted or may be inaccurate."""
