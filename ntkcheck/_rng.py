"""Random-number discipline (SPEC 7): every stochastic function takes ``rng``.

``rng`` may be anything :func:`numpy.random.default_rng` accepts (None, an int, a
``SeedSequence``, a ``BitGenerator`` or a ``Generator``).  Streams are separated by purpose
and replica with :meth:`numpy.random.Generator.spawn`, so a result never depends on thread
count or call order.  No global random state is used anywhere in the package.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_generator", "seed_record"]


def as_generator(rng) -> np.random.Generator:
    """Return a ``Generator`` for ``rng``; raise a clear ``TypeError`` for anything else.

    The legacy ``numpy.random.RandomState`` is refused (its streams cannot be split by
    ``spawn``, on which every reproducibility promise of the package rests).
    """
    if isinstance(rng, np.random.RandomState):
        raise TypeError("`rng` must be None, an int, a SeedSequence, a BitGenerator or a Generator, got the "
                        "legacy numpy.random.RandomState (its streams cannot be split); use "
                        "numpy.random.default_rng(seed) instead.")
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "`rng` must be None, an int, a SeedSequence, a BitGenerator or a Generator, "
            f"got {type(rng).__name__} {rng!r}."
        ) from exc


def seed_record(rng):
    """A JSON-friendly record of the seed behind ``rng`` (the int, or the SeedSequence entropy).

    For a ``Generator`` the entropy of its bit generator's seed sequence is returned, so a
    result built from it can be replayed with ``np.random.default_rng(entropy)`` when the
    Generator was fresh.
    """
    if rng is None:
        return None
    if isinstance(rng, (int, np.integer)):
        return int(rng)
    if isinstance(rng, np.random.SeedSequence):
        return {"entropy": int(rng.entropy), "spawn_key": list(rng.spawn_key)}
    if isinstance(rng, np.random.Generator):
        rng = rng.bit_generator
    if isinstance(rng, np.random.BitGenerator):
        ss = rng.seed_seq
        return {"entropy": int(ss.entropy), "spawn_key": list(ss.spawn_key)}
    return repr(rng)
