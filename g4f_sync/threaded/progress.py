"""The progress display of ``run_batch``: "3/8 done, 1 failed" on stderr."""

from __future__ import annotations

import sys
import time
from typing import Any, Optional

__all__ = ["Progress", "is_terminal"]


def is_terminal(stream: Any) -> bool:
    """True if ``stream`` is an open terminal; never raises."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # None, a replaced stream, or a closed one
        return False


class Progress:
    """Show "3/8 done, 1 failed" on stderr. On a terminal: a tqdm bar if tqdm is
    installed (its postfix shows ``failed=0`` from the start), else one line rewritten in
    place (at most every 0.1 s, and once at the end). Elsewhere (a log file, a pipe),
    tqdm or not, only the final line is written. Not thread-safe: one thread updates it.
    """

    def __init__(self, total: Optional[int]) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self._written = 0.0
        self._in_place = is_terminal(sys.stderr)
        self._bar: Any = _tqdm_bar(total) if self._in_place else None
        if self._bar is None:
            self._write()

    def update(self, ok: bool) -> None:
        """Count one finished call."""
        self.done += 1
        if not ok:
            self.failed += 1
        if self._bar is not None:
            self._bar.update(1)
            if not ok:
                self._bar.set_postfix(failed=self.failed)
        elif self._in_place and time.monotonic() - self._written >= 0.1:
            self._write()

    def close(self) -> None:
        """Write the final count."""
        if self._bar is not None:
            self._bar.close()
        else:
            self._write(end="\n")

    def _write(self, end: str = "") -> None:
        stream = sys.stderr
        if stream is None or not (self._in_place or end):
            return
        count = f"{self.done}" if self.total is None else f"{self.done}/{self.total}"
        start = "\r" if self._in_place else ""
        stream.write(f"{start}{count} done, {self.failed} failed{end}")
        stream.flush()
        self._written = time.monotonic()


def _tqdm_bar(total: Optional[int]) -> Any:
    """A tqdm bar on stderr counting calls and failures, or None if tqdm is missing."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="call", postfix={"failed": 0})
