"""One module per paper, one :class:`bounds.Theorem` object per statement (see :mod:`bounds.registry`)."""
