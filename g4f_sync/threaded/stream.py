"""``ThreadedStream``: iterate a blocking source in a worker thread.

For plain ``for`` loops and for ``async for``; asyncio is imported only by the latter.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from threading import get_ident
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Generic, Iterable, Optional, TypeVar

from .. import errors
from ..checks import is_count, is_seconds
from .exit_watcher import exit_watcher
from .worker import EMPTY, END, Channel, Source, close_source, is_factory, worker_thread

if TYPE_CHECKING:
    import asyncio
    from types import TracebackType

__all__ = ["CLOSE_TIMEOUT", "ThreadedStream"]

T = TypeVar("T")

CLOSE_TIMEOUT = 1.0
"""Seconds ``close()`` waits for the worker to end."""


class ThreadedStream(Generic[T]):
    """Iterate a blocking source in a worker thread.

    ``source`` is an iterable, or (preferred) a zero-argument callable returning one, so
    that even the first request runs in the worker, e.g.
    ``functools.partial(Koala.create_completion, model, messages)``. The stream owns the
    source: the worker closes it (``close()`` if it has one) when the iteration ends.

    The worker starts on the first ``next()`` or on ``with``/``async with`` entry and
    runs at most ``maxsize`` items ahead of the consumer (then it waits, memory staying
    flat, until half of them are read); items it has queued are read without waiting or
    locking. Items arrive in order; if the source raises, every item produced before is
    delivered first, then the same exception object is raised, its traceback showing
    the worker's frames. After the end, the error, or ``close()``, iteration stops.

    ``timeout``: seconds to wait for each item; on expiry ``next()`` raises
    :class:`g4f_sync.errors.TimeoutError` and the stream stays usable: iterate again to
    keep waiting, or close it.

    ``close()`` (also on leaving ``with``, on Ctrl-C while ``next()`` waits, and, without
    waiting, when the stream is garbage collected) stops the worker: it calls the
    source's ``interrupt()`` if it has one (thread-safe; unblocks a read on a silent
    server), the worker then closes the source, and errors caused by the interruption
    are dropped. ``close()`` waits up to ``CLOSE_TIMEOUT`` seconds for the worker to end;
    a source blocked without ``interrupt()`` ends in the background when its call returns.
    A stream never closed cannot hold the interpreter open (see ``exit_watcher``).

    Also an async iterator (``async for``, ``async with``, ``aclose()``) that never
    blocks the event loop; a cancelled ``__anext__`` loses no item and leaves the stream
    open. Use one consumer at a time.
    """

    def __init__(
        self, source: Source[T], *, maxsize: int = 256, timeout: Optional[float] = None
    ) -> None:
        if not callable(source) and not isinstance(source, Iterable):
            raise errors.InvalidRequestError(
                f"source must be an iterable or a callable, not {type(source).__name__}"
            )
        if not is_count(maxsize, minimum=1):
            raise errors.InvalidRequestError(f"maxsize must be at least 1, got {maxsize!r}")
        if timeout is not None and not is_seconds(timeout):
            raise errors.InvalidRequestError(
                f"timeout must be a positive number of seconds or None, got {timeout!r}"
            )
        self.timeout = timeout
        self._source: Optional[Source[T]] = source
        self._channel = Channel(maxsize)
        self._items = self._channel.items  # popped in __next__ without the channel's lock
        self._reader: Optional[int] = None  # the consumer thread the channel knows of
        self._thread: Optional[threading.Thread] = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        """True after ``close()``, or once the source is exhausted or has failed."""
        return self._closed

    def _start(self) -> Channel:
        self._channel.consumer = threading.current_thread()
        self._reader = get_ident()
        with self._lock:
            if self._thread is None and not self._closed:
                thread = worker_thread(self._channel, self._source)  # type: ignore[arg-type]
                self._thread = thread
                exit_watcher.register(self._channel)
                try:
                    thread.start()
                except BaseException:
                    if thread.ident is None and thread not in threading.enumerate():
                        self._thread = None  # it never started (else Ctrl-C hit start())
                        exit_watcher.unregister(self._channel)
                    raise
                self._source = None
        return self._channel

    def _timed_out(self) -> errors.TimeoutError:
        return errors.TimeoutError(f"waited {self.timeout:g} s for the next item")

    def __iter__(self) -> ThreadedStream[T]:
        return self

    def __next__(self) -> T:
        # The hot path (_pop_queued, inline): an item already queued, taken without
        # waiting or locking by the thread the channel knows as its consumer. Any other
        # thread goes through _start(), which records it for the exit watcher.
        if self._reader == get_ident():
            try:
                item = self._items.popleft()
            except IndexError:
                pass
            else:
                if self._channel.producer_waiting:
                    self._channel.made_room()
                return item  # type: ignore[no-any-return]
        return self._next_from_channel()

    def _pop_queued(self) -> Any:
        """An item already queued, if this thread is the known consumer; else ``EMPTY``."""
        if self._reader == get_ident():
            try:
                item = self._items.popleft()
            except IndexError:
                return EMPTY
            if self._channel.producer_waiting:
                self._channel.made_room()
            return item
        return EMPTY

    def _next_from_channel(self) -> T:
        try:
            item = self._start().take(self.timeout)
        except BaseException:  # Ctrl-C while waiting
            self.close()
            raise
        if item is EMPTY:
            raise self._timed_out()
        if item is END:  # the worker's exception, after every item, or the end
            error = self._channel.pop_outcome() or StopIteration()
            self.close()
            try:
                raise error
            finally:
                del error
        return item  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the worker and close the source; wait up to ``CLOSE_TIMEOUT`` s for the
        worker to end. Idempotent."""
        thread = self._begin_close()
        if thread is not None and thread is not threading.current_thread():
            deadline = time.monotonic() + CLOSE_TIMEOUT
            try:
                thread.join(CLOSE_TIMEOUT)
            except RuntimeError:  # still starting (Ctrl-C hit start()): it ends by itself
                return
            if not thread.is_alive():
                exit_watcher.join_if_idle(max(0.0, deadline - time.monotonic()))

    def _begin_close(self) -> Optional[threading.Thread]:
        with self._lock:
            if self._closed:
                return None
            self._closed = True
            source, self._source = self._source, None
            thread = self._thread
            self._items = deque()  # the fast path pops nothing more (see __next__)
        self._channel.stop()
        if thread is None and source is not None and not is_factory(source):
            close_source(source)  # never started: the source is ours to close, in this thread
        return thread

    def __enter__(self) -> ThreadedStream[T]:
        self._start()
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # Signal only: never block the garbage collector (it may even run in the worker).
        channel = getattr(self, "_channel", None)
        if channel is not None:
            channel.stop()

    # async API: asyncio is imported here, never at module import

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        item = self._pop_queued()
        if item is not EMPTY:
            return item  # type: ignore[no-any-return]
        import asyncio

        channel = self._start()
        loop = asyncio.get_running_loop()
        while True:
            item = channel.take(0)
            if item is not EMPTY:
                break
            ready = loop.create_future()
            if not channel.wake_when_ready(_waker(loop, ready)):
                continue
            try:
                await asyncio.wait_for(ready, self.timeout)
            except asyncio.TimeoutError:
                raise self._timed_out() from None
        if item is END:
            error = self._channel.pop_outcome() or StopAsyncIteration()
            await self.aclose()
            try:
                raise error
            finally:
                del error
        return item  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """``close()`` for async code: waits for the worker without blocking the loop."""
        import asyncio

        thread = self._begin_close()
        if thread is None or thread is threading.current_thread():
            return
        loop = asyncio.get_running_loop()
        finished = loop.create_future()
        if self._channel.wake_when_finished(_waker(loop, finished)):
            try:
                await asyncio.wait_for(finished, CLOSE_TIMEOUT)
            except asyncio.TimeoutError:
                return
        thread.join(CLOSE_TIMEOUT)  # it has finished; this only reaps the thread
        exit_watcher.join_if_idle(CLOSE_TIMEOUT)

    async def __aenter__(self) -> ThreadedStream[T]:
        self._start()
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.aclose()


def _waker(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> Callable[[], None]:
    """A thread-safe callable that resolves ``future`` in ``loop``."""

    def wake() -> None:
        try:
            loop.call_soon_threadsafe(_resolve, future)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    return wake


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
