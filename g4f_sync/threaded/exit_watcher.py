"""The exit watcher: stops streams nobody can read once the main thread has ended.

Workers are not daemon threads, so the interpreter never kills one mid-write; yet an
unclosed stream must not hold the interpreter open. A stream still referenced at exit (a
global, say) is stopped by the exit watcher, one non-daemon thread that exists only
while workers run. It notices the main thread ending (``threading`` marks it stopped
before joining the other threads, whereas ``atexit`` runs only after that join) and
stops every stream whose consumer thread is gone, interrupting a blocked read. This uses
public API only (no ``threading._register_atexit``).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Optional, Set

if TYPE_CHECKING:
    from .worker import Channel

__all__ = ["EXIT_POLL", "ExitWatcher", "exit_watcher"]

EXIT_POLL = 0.25
"""Seconds between the exit watcher's checks of the main thread."""


class ExitWatcher:
    """The channels whose worker runs, and the thread that stops them at exit if their
    consumer is gone. Thread-safe: every method may be called from any thread."""

    def __init__(self) -> None:
        self._live: Set[Channel] = set()
        self._changed = threading.Condition()
        self._thread: Optional[threading.Thread] = None

    def register(self, channel: Channel) -> None:
        """A worker is about to start on ``channel``: watch it, starting the thread if
        it is not running."""
        with self._changed:
            self._live.add(channel)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._watch, name="g4f_sync.threaded-exit-watcher", daemon=False
                )
                self._thread.start()

    def unregister(self, channel: Channel) -> None:
        """The worker on ``channel`` has ended (or never started)."""
        with self._changed:
            self._live.discard(channel)
            self._changed.notify_all()

    def join_if_idle(self, timeout: float) -> None:
        """If no worker runs, wait up to ``timeout`` s for the watcher thread to end, so
        none of our threads is left. Returns at once if a worker runs or starts."""
        deadline = time.monotonic() + timeout
        with self._changed:
            thread = self._thread
            if thread is None or thread is threading.current_thread():
                return
            while not self._live and self._thread is thread:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._changed.wait(remaining)
            if self._thread is thread:  # a new stream started: the watcher stays
                return
        thread.join(max(0.0, deadline - time.monotonic()))

    def _watch(self) -> None:
        """Run while any worker runs. Once the main thread has ended
        (``threading._shutdown`` marks it stopped before joining non-daemon threads;
        ``atexit`` runs only after that join, too late), stop every stream whose consumer
        thread is gone or a daemon: that interrupts a read blocked on a silent server and
        unblocks a full buffer, so the workers end and the interpreter can exit. Ends as
        soon as no worker runs."""
        main = threading.main_thread()
        while True:
            with self._changed:
                orphans = []
                while not orphans:
                    if not self._live:
                        if self._thread is threading.current_thread():
                            self._thread = None
                        self._changed.notify_all()
                        return
                    if not main.is_alive():
                        orphans = [ch for ch in self._live if not ch.stopped and ch.orphaned()]
                    if not orphans:
                        self._changed.wait(EXIT_POLL)
            for channel in orphans:
                channel.stop()


exit_watcher = ExitWatcher()
"""The one watcher for every ``ThreadedStream`` in the process."""
