"""A tiny progress reporter for long runs: one self-overwriting line on stderr.

Usage::

    with Progress(total=K, desc="train", enabled=progress) as bar:
        for k in range(K):
            ...
            bar.update(k + 1, loss=L)

Disabled reporters cost one attribute check per update.  Output is throttled to at most one
line every ``min_interval`` seconds (plus the final line).  :class:`DeferSigint` lets a long
run commit one step atomically with respect to Ctrl-C.
"""

from __future__ import annotations

import signal
import sys
import threading
import time


class Progress:
    """Report ``done/total``, elapsed time, an ETA and optional ``key=value`` fields on stderr.

    Parameters
    ----------
    total : int
        Number of units of work.
    desc : str, default "progress"
        Label at the start of the line.
    enabled : bool, default True
        When False, every method is a no-op.
    stream : file-like, optional
        Where to write (default ``sys.stderr``, looked up at construction).
    min_interval : float, default 0.5
        Minimum seconds between two printed lines.
    """

    def __init__(self, total: int, desc: str = "progress", *, enabled: bool = True, stream=None,
                 min_interval: float = 0.5):
        self.total = int(total)
        self.desc = desc
        self.enabled = bool(enabled)
        self.stream = sys.stderr if stream is None else stream
        self.min_interval = float(min_interval)
        self._t0 = time.perf_counter()
        self._last = -float("inf")
        self._done = 0
        self._width = 0

    def update(self, done: int, **fields) -> None:
        """Record ``done`` units finished; print if ``min_interval`` has passed or at the end."""
        if not self.enabled:
            return
        self._done = int(done)
        now = time.perf_counter()
        if now - self._last < self.min_interval and self._done < self.total:
            return
        self._last = now
        elapsed = now - self._t0
        eta = elapsed / self._done * (self.total - self._done) if self._done else float("nan")
        extra = "".join(f"  {k}={_fmt(v)}" for k, v in fields.items())
        line = f"[{self.desc}] {self._done}/{self.total}  {elapsed:.1f}s elapsed, eta {eta:.1f}s{extra}"
        pad = " " * max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + pad)
        self.stream.flush()

    def close(self, message: str | None = None) -> None:
        """End the line (optionally with a final message)."""
        if not self.enabled:
            return
        if message:
            self.stream.write(("\n" if self._width else "") + f"[{self.desc}] {message}")
        if self._width or message:
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


class DeferSigint:
    """Hold Ctrl-C (SIGINT) while a unit of work is committed; re-raise it afterwards.

    Long runs catch ``KeyboardInterrupt`` to return a partial result; wrapping the few
    statements that commit one step in ``with DeferSigint():`` keeps that result consistent
    (an interrupt arriving inside is raised as ``KeyboardInterrupt`` when the block ends).
    Outside the main thread it does nothing.
    """

    def __enter__(self):
        self.received = False
        self.old = None
        if threading.current_thread() is threading.main_thread():
            try:
                self.old = signal.signal(signal.SIGINT, self._handler)
            except (ValueError, TypeError):  # pragma: no cover - exotic embedding
                self.old = None
        return self

    def _handler(self, signum, frame):
        self.received = True

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
            if self.received:
                raise KeyboardInterrupt
