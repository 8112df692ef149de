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

    One deque, ``items``: the worker appends, the consumer pops, and neither takes the
    lock for that (a deque's appends and pops are atomic), so items queued while the
    consumer was busy are all there for it at once. The lock is taken only to wait and
    to wake. A side about to wait raises its flag (``consumer_waiting``,
    ``producer_waiting``) under the lock *before* it checks the deque, and waits without
    releasing the lock in between; the other side reads that flag *after* its own deque
    operation and takes the lock to notify only when the flag is up. Under the GIL these
    operations are atomic and happen in one order, so of "flag up, then check" and
    "append (or pop), then read the flag" at least one sees the other: no wake-up is
    lost. (Should a waiting worker's flag be missed all the same, the consumer wakes it
    under the lock before it would itself wait on the empty deque.)

    The bound: only the worker appends, only while ``len(items) < maxsize``, and the
    consumer only shrinks the deque; so at most ``maxsize`` items are held that the
    consumer has not popped, plus the one the worker holds while it waits. A waiting
    worker is woken once ``maxsize // 2`` (at least 1) of them are popped
    (``made_room()``): it refills in runs, not one wake-up per item.

    ``stop()`` drops the items, wakes both sides, and interrupts the source; ``take()``
    pops nothing once ``stopped`` is set (``ThreadedStream``, which pops ``items``
    itself, swaps in an empty deque when it closes).
    """

    def __init__(self, maxsize: int) -> None:
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self.items: Deque[Any] = deque()
        self._maxsize = maxsize
        self._resume_at = maxsize - max(1, maxsize // 2)
        self.consumer_waiting = False
        self.producer_waiting = False
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
        with self._lock:
            if not self.stopped:
                self._iterator = iterator
                return
        _interrupt(iterator)

    def detach(self) -> None:
        with self._lock:
            self._iterator = None

    def fill(self, iterator: Iterator[Any]) -> None:
        """Append ``iterator``'s items until it ends or the channel is stopped, waiting
        while ``maxsize`` items are not yet popped by the consumer."""
        items = self.items
        append = items.append
        maxsize = self._maxsize
        if self.stopped:
            return
        for item in iterator:
            if len(items) >= maxsize and not self._wait_for_room():
                return
            append(item)
            del item  # hold no item while the source reads the next
            if self.consumer_waiting:  # read after the append (see the class docstring)
                self._wake_consumer()
            if self.stopped:
                return

    def _wait_for_room(self) -> bool:
        """Wait until the deque has room; False once stopped."""
        items, maxsize = self.items, self._maxsize
        with self._lock:
            while True:
                self.producer_waiting = True  # written before the check
                if len(items) < maxsize or self.stopped:
                    break
                self._not_full.wait()
            self.producer_waiting = False
            return not self.stopped

    def _wake_consumer(self) -> None:
        with self._lock:
            if self.consumer_waiting:
                self.consumer_waiting = False
                self._not_empty.notify()
            waker, self._ready_waker = self._ready_waker, None
        if waker is not None:
            waker()

    def finish(self, outcome: Optional[BaseException]) -> None:
        """The worker is done; ``outcome`` is raised to the consumer after the items."""
        with self._lock:
            self.finished = True
            if self.stopped:
                self.items.clear()  # one appended while stop() ran
            else:
                self._outcome = outcome
            self.consumer_waiting = False
            self._not_empty.notify_all()
            wakers = (self._ready_waker, self._finish_waker)
            self._ready_waker = self._finish_waker = None
        for waker in wakers:
            if waker is not None:
                waker()

    # consumer side

    def take(self, timeout: Optional[float]) -> Any:
        """The next item, ``END``, or ``EMPTY`` if none came within ``timeout``."""
        if not self.stopped:
            try:
                item = self.items.popleft()
            except IndexError:
                pass
            else:
                if self.producer_waiting:
                    self.made_room()
                return item
        return self.wait_for_item(timeout)

    def wait_for_item(self, timeout: Optional[float]) -> Any:
        """``take()`` for a consumer that found the deque empty: wait up to ``timeout``."""
        self.consumer = threading.current_thread()
        deadline = None if timeout is None else time.monotonic() + timeout
        items = self.items
        with self._lock:
            try:
                while not self.stopped:
                    self.consumer_waiting = True  # written before the check
                    try:
                        item = items.popleft()
                    except IndexError:
                        pass
                    else:
                        if self.producer_waiting and len(items) <= self._resume_at:
                            self._wake_producer()
                        return item
                    if self.finished:  # every item was appended before finish()
                        break
                    if self.producer_waiting:
                        self._wake_producer()  # the deque is empty: never wait on it
                    wait = WAIT_SLICE
                    if deadline is not None:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return EMPTY
                        wait = remaining if wait is None else min(wait, remaining)
                    self._not_empty.wait(wait)
                return END
            finally:
                self.consumer_waiting = False

    def made_room(self) -> None:
        """The consumer popped while the worker waited: wake it once the deque is down
        to its resume mark."""
        if len(self.items) > self._resume_at:
            return
        with self._lock:
            if self.producer_waiting:
                self._wake_producer()

    def _wake_producer(self) -> None:
        """Notify the waiting worker, once per wait (call with the lock held)."""
        self.producer_waiting = False
        self._not_full.notify()

    def pop_outcome(self) -> Optional[BaseException]:
        with self._lock:
            outcome, self._outcome = self._outcome, None
            return outcome

    def wake_when_ready(self, waker: Callable[[], None]) -> bool:
        """Call ``waker`` (from any thread) once ``take(0)`` would not return ``EMPTY``;
        False, without registering, if that is already so."""
        with self._lock:
            self._ready_waker = waker
            self.consumer_waiting = True  # written before the check
            if self.items or self.finished or self.stopped:
                self._ready_waker = None
                self.consumer_waiting = False
                return False
            return True

    def wake_when_finished(self, waker: Callable[[], None]) -> bool:
        """Call ``waker`` once the worker has finished; False if it already has."""
        with self._lock:
            if self.finished:
                return False
            self._finish_waker = waker
            return True

    def stop(self) -> None:
        """Drop the items not yet popped, wake both sides, and interrupt the source.
        Idempotent; never blocks, so it is safe from ``__del__`` and from other threads."""
        with self._lock:
            if self.stopped:
                return
            self.stopped = True
            self.items.clear()
            iterator, self._iterator = self._iterator, None
            self.consumer_waiting = self.producer_waiting = False
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
        if consumer is not None and not consumer.is_alive():
            # ThreadedStream's fast path knows its reader by ident: a thread that reuses
            # the ident of the one recorded reads on unrecorded.
            ident = consumer.ident
            live = (t for t in threading.enumerate() if t.ident == ident and t.is_alive())
            consumer = next(live, None)
        return consumer is None or consumer.daemon


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
        channel.fill(iterator)
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
