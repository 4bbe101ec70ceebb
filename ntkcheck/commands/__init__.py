"""Sub-commands of the ``ntkcheck`` CLI, one module each (see :mod:`ntkcheck.cli`)."""


def check_exclusive_flags(args, what: str) -> None:
    """The flags no long-running command accepts together: ``--force`` with ``--resume`` (``what``
    is the thing resumed, e.g. "the search"), ``--workers`` with ``--scheduler``."""
    if args.force and args.resume:
        raise ValueError(f"give either --resume (continue {what} in --out) or --force (replace it), not both.")
    if args.scheduler is not None and args.workers is not None:
        raise ValueError("give either --workers (local processes) or --scheduler (Dask), not both.")
