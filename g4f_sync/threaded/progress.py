"""The progress display of ``run_batch``: "3/8 done, 1 failed".

Where it shows, chosen when the batch starts:

- in a Jupyter kernel: tqdm's notebook widget when tqdm and ipywidgets are installed (the
  bar ``tqdm.auto`` picks in a notebook), else one text output that is updated in place
  (an IPython display handle): the cell shows one line, never one line per update;
- on a terminal (stderr): tqdm's bar if tqdm is installed, else one line rewritten in
  place with ``"\\r"``;
- elsewhere (a log file, a pipe), tqdm or not: only the final line, on stderr.

Nothing here imports IPython, ipywidgets or tqdm until a display that uses them is opened.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Optional

__all__ = ["REDRAW_INTERVAL", "Progress", "in_notebook", "is_terminal", "shown_by_default"]

REDRAW_INTERVAL = 0.1
"""Seconds between two redraws of a text line (the last count is always drawn)."""


def is_terminal(stream: Any) -> bool:
    """True if ``stream`` is an open terminal; never raises."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # None, a replaced stream, or a closed one
        return False


def in_notebook() -> bool:
    """True inside a Jupyter kernel: ipykernel is loaded and IPython's current shell is a
    kernel's (it has a ``kernel``; a terminal IPython's shell has none). Imports nothing
    and never raises."""
    if "ipykernel" not in sys.modules:
        return False
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    if not callable(get_ipython):
        return False
    try:
        shell = get_ipython()
    except Exception:
        return False
    return getattr(shell, "kernel", None) is not None


def shown_by_default() -> bool:
    """Whether ``run_batch(progress=None)`` shows progress: on a terminal and in a
    notebook, where someone watches; not in a log."""
    return in_notebook() or is_terminal(sys.stderr)


class Progress:
    """Count finished calls and show the count (see the module docstring for where).
    Not thread-safe: one thread updates it."""

    def __init__(self, total: Optional[int]) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self._view = _open_view(self)

    def text(self) -> str:
        """The count as shown: "3/8 done, 1 failed" ("3 done, ..." without a total)."""
        count = f"{self.done}" if self.total is None else f"{self.done}/{self.total}"
        return f"{count} done, {self.failed} failed"

    def update(self, ok: bool) -> None:
        """Count one finished call."""
        self.done += 1
        if not ok:
            self.failed += 1
        self._view.update(self, ok)

    def close(self) -> None:
        """Show the final count."""
        self._view.close(self)


class _View:
    """Where a :class:`Progress` shows: ``update`` after each call, ``close`` once."""

    def update(self, progress: Progress, ok: bool) -> None:
        """Show a new count (or not yet)."""

    def close(self, progress: Progress) -> None:
        """Show the final count."""


class _TqdmBar(_View):
    """A tqdm bar (on a terminal, or tqdm's notebook widget) whose postfix shows
    ``failed=0`` from the start."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def update(self, progress: Progress, ok: bool) -> None:
        self._bar.update(1)
        if not ok:
            self._bar.set_postfix(failed=progress.failed)

    def close(self, progress: Progress) -> None:
        self._bar.close()


class _LiveLine(_View):
    """The count as one line that ``draw(text, final)`` redraws in place: now, then at
    most every :data:`REDRAW_INTERVAL` seconds, and once at the end."""

    def __init__(self, progress: Progress, draw: Callable[[str, bool], None]) -> None:
        self._draw = draw
        self._drawn = 0.0
        self._redraw(progress, final=False)

    def update(self, progress: Progress, ok: bool) -> None:
        if time.monotonic() - self._drawn >= REDRAW_INTERVAL:
            self._redraw(progress, final=False)

    def close(self, progress: Progress) -> None:
        self._redraw(progress, final=True)

    def _redraw(self, progress: Progress, final: bool) -> None:
        self._draw(progress.text(), final)
        self._drawn = time.monotonic()


class _FinalLine(_View):
    """Only the final count, as one line on stderr (a log gets no rewritten lines)."""

    def close(self, progress: Progress) -> None:
        _write_stderr(f"{progress.text()}\n")


def _open_view(progress: Progress) -> _View:
    if in_notebook():
        return _notebook_widget(progress.total) or _LiveLine(progress, _NotebookText().draw)
    if is_terminal(sys.stderr):
        return _terminal_bar(progress.total) or _LiveLine(progress, _draw_on_terminal)
    return _FinalLine()


def _write_stderr(text: str) -> None:
    stream = sys.stderr
    if stream is not None:
        stream.write(text)
        stream.flush()


def _draw_on_terminal(text: str, final: bool) -> None:
    _write_stderr(f"\r{text}\n" if final else f"\r{text}")


class _NotebookText:
    """One text output of the running cell, shown on the first draw and updated in place
    after that (an IPython display handle: ``display_data``, then
    ``update_display_data`` messages)."""

    def __init__(self) -> None:
        self._handle: Any = None

    def draw(self, text: str, final: bool) -> None:
        bundle = {"text/plain": text}
        if self._handle is None:
            from IPython.display import display

            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)


def _terminal_bar(total: Optional[int]) -> Optional[_View]:
    """tqdm's bar on stderr, or None if tqdm is missing."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return _TqdmBar(tqdm(total=total, unit="call", postfix={"failed": 0}))


def _notebook_widget(total: Optional[int]) -> Optional[_View]:
    """tqdm's notebook widget, or None unless tqdm and ipywidgets are both installed.

    ipywidgets is checked first: without it ``tqdm.auto`` would warn and fall back to the
    terminal bar, whose ``"\\r"`` updates pile up in a cell's saved output."""
    try:
        import ipywidgets  # noqa: F401 - the widgets tqdm.notebook draws with
        from tqdm.notebook import tqdm
    except ImportError:
        return None
    try:
        bar = tqdm(total=total, unit="call", postfix={"failed": 0})
    except ImportError:  # tqdm found no usable ipywidgets (IProgress) after all
        return None
    return _TqdmBar(bar)
