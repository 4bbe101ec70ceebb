"""Package-wide settings: Numba options, numerical tolerances, warning class.

Every ``@njit`` in the package takes its options from :data:`NJIT_OPTS`; no module
hard-codes ``fastmath=`` (a test greps for it).  The fast-math flags leave out
``nnan``/``ninf`` so that NaN and inf handling stays correct (stumpy's convention).
"""

from __future__ import annotations

import numpy as np

#: LLVM fast-math flags allowed in kernels (never ``nnan``, ``ninf`` or ``fast``).
FASTMATH_FLAGS = frozenset({"nsz", "arcp", "contract", "reassoc"})

#: Options for every ``numba.njit`` in the package.
NJIT_OPTS = dict(cache=True, fastmath=set(FASTMATH_FLAGS), nogil=True)

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
