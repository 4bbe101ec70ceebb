"""Shared test configuration: hypothesis profiles, tolerance constants, fixtures."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from ntkcheck._stats import MC_SIGMAS as MC_SIGMAS  # the package's z-test threshold

# scipy's convention: deterministic by default, a randomised profile for CI soaks.
settings.register_profile(
    "deterministic",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci", derandomize=False, database=None, deadline=None, max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("NTKCHECK_HYPOTHESIS_PROFILE", "deterministic"))

#: Deterministic float64 code against its naive loop reference.
RTOL_EXACT = 1e-12
ATOL_EXACT = 1e-12
#: Closed forms evaluated by different but exact routes (Owen's T vs scipy's CDF, ...).
RTOL_CLOSED_FORM = 1e-9
#: Monte-Carlo comparisons are made in units of the estimated standard error: MC_SIGMAS (imported
#: above) is the package's one z-test threshold, ntkcheck._stats.


#: Seconds after which a test that may open a FIFO by mistake fails instead of blocking.
HANG_GUARD_SECONDS = 20


@pytest.fixture
def no_hang():
    """Fail (instead of blocking forever) if the code under test opens a FIFO."""
    def alarm(signum, frame):
        raise TimeoutError("blocked: a FIFO was opened")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(HANG_GUARD_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def unit_rows(X: np.ndarray) -> np.ndarray:
    """Project the rows of ``X`` onto the unit sphere."""
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@pytest.fixture
def sphere_data():
    """Factory: ``sphere_data(n, d, seed)`` -> unit-norm rows drawn uniformly on S^{d-1}."""

    def make(n: int, d: int, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return unit_rows(rng.standard_normal((n, d)))

    return make
