"""Worker threads of ``ThreadedStream``: the bounded channel and the thread body.

The worker thread moves the source's items into the channel; its consumer takes them
out. The channel is the only object a worker and its consumer share: the worker holds no
reference to its ``ThreadedStream``, so dropping the stream stops the worker.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Iterable, Iterator, Optional, TypeVar, Union

from .exit_watcher import exit_watcher

__all__ = [
    "EMPTY",
    "END",
    "WAIT_SLICE",
    "Channel",
    "Source",
    "close_source",
    "is_factory",
    "worker_thread",
]

T = TypeVar("T")

Source = Union[Iterable[T], Callable[[], Iterable[T]]]
"""An iterable, or a zero-argument callable that returns one."""

# A wait without a timeout cannot be interrupted by Ctrl-C on Windows: wait in slices.
WAIT_SLICE: Optional[float] = 0.25 if sys.platform == "win32" else None

EMPTY = object()  # no item within the timeout
END = object()  # the source is exhausted, failed, or the stream was closed
_worker_ids = itertools.count(1)


class Channel:
    """Bounded hand-over from one worker thread to its consumer; thread-safe.

    ``stop()`` wakes both sides and interrupts the source.
    """

    def __init__(self, maxsize: int) -> None:
        lock = threading.Lock()
        self._not_empty = threading.Condition(lock)
        self._not_full = threading.Condition(lock)
        self._items: Deque[Any] = deque()
        self._maxsize = maxsize
        self._iterator: Any = None
        self._outcome: Optional[BaseException] = None
        self._ready_waker: Optional[Callable[[], None]] = None
        self._finish_waker: Optional[Callable[[], None]] = None
        self.stopped = False
        self.finished = False
        self.consumer: Optional[threading.Thread] = None

    # worker side

    def attach(self, iterator: Any) -> None:
        """Remember the running iterator so ``stop()`` can interrupt it."""
        with self._not_empty:
            if not self.stopped:
                self._iterator = iterator
                return
        _interrupt(iterator)

    def detach(self) -> None:
        with self._not_empty:
            self._iterator = None

    def put(self, item: Any) -> bool:
        """Queue ``item``, blocking while the buffer is full; False once stopped."""
        with self._not_full:
            while len(self._items) >= self._maxsize and not self.stopped:
                self._not_full.wait()
            if self.stopped:
                return False
            self._items.append(item)
            self._not_empty.notify()
            waker, self._ready_waker = self._ready_waker, None
        if waker is not None:
            waker()
        return True

    def finish(self, outcome: Optional[BaseException]) -> None:
        """The worker is done; ``outcome`` is raised to the consumer after the items."""
        with self._not_empty:
            self.finished = True
            if not self.stopped:
                self._outcome = outcome
            self._not_empty.notify_all()
            wakers = (self._ready_waker, self._finish_waker)
            self._ready_waker = self._finish_waker = None
        for waker in wakers:
            if waker is not None:
                waker()

    # consumer side

    def take(self, timeout: Optional[float]) -> Any:
        """The next item, ``END``, or ``EMPTY`` if none came within ``timeout``."""
        self.consumer = threading.current_thread()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._not_empty:
            while not self._items and not self.finished and not self.stopped:
                wait = WAIT_SLICE
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return EMPTY
                    wait = remaining if wait is None else min(wait, remaining)
                self._not_empty.wait(wait)
            if self._items and not self.stopped:
                item = self._items.popleft()
                self._not_full.notify()
                return item
            return END

    def pop_outcome(self) -> Optional[BaseException]:
        with self._not_empty:
            outcome, self._outcome = self._outcome, None
            return outcome

    def wake_when_ready(self, waker: Callable[[], None]) -> bool:
        """Call ``waker`` (from any thread) once ``take(0)`` would not return ``EMPTY``;
        False, without registering, if that is already so."""
        with self._not_empty:
            if self._items or self.finished or self.stopped:
                return False
            self._ready_waker = waker
            return True

    def wake_when_finished(self, waker: Callable[[], None]) -> bool:
        """Call ``waker`` once the worker has finished; False if it already has."""
        with self._not_empty:
            if self.finished:
                return False
            self._finish_waker = waker
            return True

    def stop(self) -> None:
        """Drop buffered items, wake both sides, and interrupt the source. Idempotent;
        never blocks, so it is safe from ``__del__`` and from other threads."""
        with self._not_empty:
            if self.stopped:
                return
            self.stopped = True
            self._items.clear()
            iterator, self._iterator = self._iterator, None
            self._not_empty.notify_all()
            self._not_full.notify_all()
            waker, self._ready_waker = self._ready_waker, None
        if waker is not None:
            waker()
        if iterator is not None:
            _interrupt(iterator)

    def orphaned(self) -> bool:
        """At interpreter exit: True when no thread is left that could read on."""
        consumer = self.consumer
        return consumer is None or consumer.daemon or not consumer.is_alive()


def _interrupt(iterator: Any) -> None:
    interrupt = getattr(iterator, "interrupt", None)
    if callable(interrupt):
        try:
            interrupt()
        except Exception:  # interrupting is best effort; the worker still sees the stop
            pass


def close_source(source: Any) -> None:
    """Call ``source.close()`` if it has one; its errors propagate."""
    close = getattr(source, "close", None)
    if callable(close):
        close()


def is_factory(source: Any) -> bool:
    """True for a zero-argument callable that returns the iterable."""
    return callable(source) and not isinstance(source, Iterable)


def worker_thread(channel: Channel, source: Source[Any]) -> threading.Thread:
    """A new, not yet started, non-daemon thread that moves ``source``'s items into
    ``channel`` (the interpreter never kills it mid-write)."""
    return threading.Thread(
        target=_work,
        args=(channel, source),
        name=f"g4f_sync.ThreadedStream-{next(_worker_ids)}",
        daemon=False,
    )


def _work(channel: Channel, source: Source[Any]) -> None:
    """Worker thread body: move the source's items into ``channel``."""
    outcome: Optional[BaseException] = None
    iterator: Optional[Iterator[Any]] = None
    try:
        iterator = iter(source() if is_factory(source) else source)  # type: ignore[operator,arg-type]
        del source
        channel.attach(iterator)
        while not channel.stopped:
            try:
                item = next(iterator)
            except StopIteration:
                break
            if not channel.put(item):
                break
            del item
    except BaseException as exc:  # handed to the consumer, or dropped if stopped
        outcome = exc
    finally:
        channel.detach()
        if iterator is not None:
            try:
                close_source(iterator)
            except BaseException as exc:
                if outcome is None:
                    outcome = exc
        del iterator
        exit_watcher.unregister(channel)
        channel.finish(outcome)
        del outcome
