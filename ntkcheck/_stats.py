"""Small statistics shared by the package: the Monte-Carlo z-test, and log–log slopes with bootstrap
intervals (the one place for each).

A Monte-Carlo estimate of an expectation is judged by ``z = |mean − expected| / SE`` with the
standard error ``SE = sd / √N`` estimated from the same N samples.  When the samples are
constant (e.g. ξ = 1 makes every mask the full network) the estimated SE is 0 and ``z`` would
be 0/0; the SE is therefore floored at a rounding level, ``SE_FLOOR_REL · max(1, |expected|)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._rng import as_generator

__all__ = ["MC_SIGMAS", "SE_FLOOR_REL", "ZTest", "z_test", "fit_slope", "loglog_exponent"]

#: Monte-Carlo verdicts: an estimate agrees with its expectation when ``z <= MC_SIGMAS``.
MC_SIGMAS = 5.0
#: Rounding-level floor of the standard error, relative to ``max(1, max|expected|)``.
SE_FLOOR_REL = 1e-12


@dataclass(frozen=True)
class ZTest:
    """Result of :func:`z_test` (arrays have the shape of one sample).

    Attributes
    ----------
    mean, se, z : ndarray
        Sample mean, floored standard error and ``|mean − expected| / se``, componentwise.
    max_z : float
        Largest component of ``z``.
    argmax : int
        Flat index of that component.
    samples : int
        N.
    ok : bool
        ``max_z <= sigmas``.
    """

    mean: np.ndarray
    se: np.ndarray
    z: np.ndarray
    max_z: float
    argmax: int
    samples: int
    ok: bool


def z_test(samples, expected, *, sigmas: float = MC_SIGMAS) -> ZTest:
    """Compare the mean of Monte-Carlo ``samples`` (axis 0) with ``expected``.

    Parameters
    ----------
    samples : array_like of shape (N, ...)
        N >= 2 independent samples of a scalar or an array.
    expected : array_like
        The exact expectation, broadcastable to one sample.
    sigmas : float, default MC_SIGMAS
        Agreement threshold on ``z``.

    Returns
    -------
    ZTest

    Examples
    --------
    >>> r = z_test(np.array([1.0, 1.0, 1.0]), 1.0)
    >>> float(r.max_z), r.ok
    (0.0, True)
    """
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim == 0 or s.shape[0] < 2:
        raise ValueError(f"`samples` must hold at least 2 samples along axis 0, got shape {s.shape}.")
    expected = np.asarray(expected, dtype=np.float64)
    n = s.shape[0]
    mean = s.mean(axis=0)
    floor = SE_FLOOR_REL * max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    se = np.maximum(s.std(axis=0, ddof=1) / math.sqrt(n), floor)
    z = np.abs(mean - expected) / se
    j = int(np.argmax(z)) if np.ndim(z) else 0
    zmax = float(np.max(z))
    return ZTest(mean=mean, se=se, z=z, max_z=zmax, argmax=j, samples=n, ok=bool(zmax <= sigmas))


def fit_slope(widths, values, *, n_boot: int = 2000, rng=0, level: float = 0.95) -> dict:
    """Slope of log(mean over seeds) on log(width), with a percentile bootstrap over seeds.

    ``values`` has shape (widths, seeds); seed j is the same draw at every width, so the bootstrap
    resamples whole seeds (columns).  For independent samples per width see :func:`loglog_exponent`.
    """
    w = np.log(np.asarray(widths, float))
    V = np.asarray(values, float)
    slope = float(np.polyfit(w, np.log(V.mean(axis=1)), 1)[0])
    gen = as_generator(rng)
    idx = gen.integers(0, V.shape[1], size=(n_boot, V.shape[1]))
    boot = np.array([np.polyfit(w, np.log(V[:, i].mean(axis=1)), 1)[0] for i in idx])
    q = ((1 - level) / 2 * 100, (1 + level) / 2 * 100)
    return dict(slope=slope, ci=[float(x) for x in np.percentile(boot, q)])


def loglog_exponent(widths, samples, *, n_boot: int = 2000, rng=0, level: float = 0.95) -> dict:
    """Least-squares exponent of ``median(samples[k])`` on ``widths[k]`` (log–log), with a
    percentile bootstrap over the samples of each width (e.g. repeated timed iterations).

    Parameters
    ----------
    widths : array_like of shape (M,)
    samples : sequence of M array_like
        Positive samples per width.

    Returns
    -------
    dict
        ``exponent`` and ``ci`` (nan when a width has no positive sample).
    """
    w = np.log(np.asarray(widths, float))
    S = [np.asarray(s, float) for s in samples]
    S = [s[np.isfinite(s) & (s > 0)] for s in S]
    if any(s.size == 0 for s in S) or len(S) < 2:
        return dict(exponent=math.nan, ci=[math.nan, math.nan])
    med = np.log([np.median(s) for s in S])
    exponent = float(np.polyfit(w, med, 1)[0])
    gen = as_generator(rng)
    boot = np.empty(n_boot)
    for j in range(n_boot):
        boot[j] = np.polyfit(w, np.log([np.median(s[gen.integers(0, s.size, s.size)]) for s in S]), 1)[0]
    q = ((1 - level) / 2 * 100, (1 + level) / 2 * 100)
    return dict(exponent=exponent, ci=[float(x) for x in np.percentile(boot, q)])
