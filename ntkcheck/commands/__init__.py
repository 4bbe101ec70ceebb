"""Sub-commands of the ``ntkcheck`` CLI, one module each (see :mod:`ntkcheck.cli`)."""
