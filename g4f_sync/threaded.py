"""Run blocking iterators and calls in worker threads.

``ThreadedStream`` moves one iterator into a worker thread and hands its items to the
consumer over a bounded buffer, for plain ``for`` loops and for ``async for``.
``run_batch`` runs many zero-argument calls on a bounded pool and yields one
``BatchResult`` per call. Nothing here knows about chat or HTTP.

Importing this module stays light: asyncio, concurrent.futures and tqdm are imported
only by the features that use them.

Workers are not daemon threads, so the interpreter never kills one mid-write. A stream
that is never closed still cannot hold the interpreter open: the worker keeps no
reference to its ``ThreadedStream``, so dropping the stream stops the worker; and a
stream still referenced at exit (a global, say) is stopped by the exit watcher, one
non-daemon thread that exists only while workers run. It notices the main thread ending
(``threading`` marks it stopped before joining the other threads, whereas ``atexit``
runs only after that join) and stops every stream whose consumer thread is gone,
interrupting a blocked read. This uses public API only (no ``threading._register_atexit``).
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections import deque
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Callable,
    Deque,
    Dict,
    Generic,
    Iterable,
    Iterator,
    Optional,
    Set,
    Sized,
    TypeVar,
    Union,
)

from . import errors
from .interrupt import InterruptScope

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import Executor, Future
    from types import TracebackType

__all__ = ["BatchResult", "ThreadedStream", "run_batch"]

T = TypeVar("T")

Source = Union[Iterable[T], Callable[[], Iterable[T]]]
"""An iterable, or a zero-argument callable that returns one."""

CLOSE_TIMEOUT = 1.0
"""Seconds ``close()`` waits for the worker to end."""

_EXIT_POLL = 0.25
"""Seconds between the exit watcher's checks of the main thread."""

# A wait without a timeout cannot be interrupted by Ctrl-C on Windows: wait in slices.
_WAIT_SLICE: Optional[float] = 0.25 if sys.platform == "win32" else None

_EMPTY = object()  # no item within the timeout
_END = object()  # the source is exhausted, failed, or the stream was closed
_stream_ids = itertools.count(1)


class _Channel:
    """Bounded hand-over from one worker thread to its consumer.

    The only object the worker and the consumer share: the worker holds no reference to
    its ``ThreadedStream``. ``stop()`` wakes both sides and interrupts the source.
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
        """The next item, ``_END``, or ``_EMPTY`` if none came within ``timeout``."""
        self.consumer = threading.current_thread()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._not_empty:
            while not self._items and not self.finished and not self.stopped:
                wait = _WAIT_SLICE
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return _EMPTY
                    wait = remaining if wait is None else min(wait, remaining)
                self._not_empty.wait(wait)
            if self._items and not self.stopped:
                item = self._items.popleft()
                self._not_full.notify()
                return item
            return _END

    def pop_outcome(self) -> Optional[BaseException]:
        with self._not_empty:
            outcome, self._outcome = self._outcome, None
            return outcome

    def wake_when_ready(self, waker: Callable[[], None]) -> bool:
        """Call ``waker`` (from any thread) once ``take(0)`` would not return ``_EMPTY``;
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


def _close(iterator: Any) -> None:
    close = getattr(iterator, "close", None)
    if callable(close):
        close()


def _is_factory(source: Any) -> bool:
    return callable(source) and not isinstance(source, Iterable)


def _work(channel: _Channel, source: Source[Any]) -> None:
    """Worker thread body: move the source's items into ``channel``."""
    outcome: Optional[BaseException] = None
    iterator: Optional[Iterator[Any]] = None
    try:
        iterator = iter(source() if _is_factory(source) else source)  # type: ignore[operator,arg-type]
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
                _close(iterator)
            except BaseException as exc:
                if outcome is None:
                    outcome = exc
        del iterator
        _unregister(channel)
        channel.finish(outcome)
        del outcome


# Exit watcher: stops streams nobody can read any more once the main thread has ended.

_live: Set[_Channel] = set()  # channels whose worker is running
_live_changed = threading.Condition()
_watcher: Optional[threading.Thread] = None


def _register(channel: _Channel) -> None:
    global _watcher
    with _live_changed:
        _live.add(channel)
        if _watcher is None or not _watcher.is_alive():
            _watcher = threading.Thread(
                target=_watch_exit, name="g4f_sync.threaded-exit-watcher", daemon=False
            )
            _watcher.start()


def _unregister(channel: _Channel) -> None:
    with _live_changed:
        _live.discard(channel)
        _live_changed.notify_all()


def _watch_exit() -> None:
    """Run while any worker runs. Once the main thread has ended (``threading._shutdown``
    marks it stopped before joining non-daemon threads; ``atexit`` runs only after that
    join, too late), stop every stream whose consumer thread is gone or a daemon: that
    interrupts a read blocked on a silent server and unblocks a full buffer, so the
    workers end and the interpreter can exit. Ends as soon as no worker runs."""
    global _watcher
    main = threading.main_thread()
    while True:
        with _live_changed:
            orphans = []
            while not orphans:
                if not _live:
                    if _watcher is threading.current_thread():
                        _watcher = None
                    _live_changed.notify_all()
                    return
                if not main.is_alive():
                    orphans = [ch for ch in _live if not ch.stopped and ch.orphaned()]
                if not orphans:
                    _live_changed.wait(_EXIT_POLL)
        for channel in orphans:
            channel.stop()


def _join_idle_watcher(timeout: float) -> None:
    """If no worker runs, wait for the exit watcher to end, so none of our threads is left."""
    deadline = time.monotonic() + timeout
    with _live_changed:
        watcher = _watcher
        if watcher is None or watcher is threading.current_thread():
            return
        while not _live and _watcher is watcher:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            _live_changed.wait(remaining)
        if _watcher is watcher:  # a new stream started: the watcher stays
            return
    watcher.join(max(0.0, deadline - time.monotonic()))


class ThreadedStream(Generic[T]):
    """Iterate a blocking source in a worker thread.

    ``source`` is an iterable, or (preferred) a zero-argument callable returning one, so
    that even the first request runs in the worker, e.g.
    ``functools.partial(Koala.create_completion, model, messages)``. The stream owns the
    source: the worker closes it (``close()`` if it has one) when the iteration ends.

    The worker starts on the first ``next()`` or on ``with``/``async with`` entry and
    runs at most ``maxsize`` items ahead of the consumer (then it waits: memory stays
    flat). Items arrive in order; if the source raises, every item produced before is
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

    Also an async iterator (``async for``, ``async with``, ``aclose()``) that never
    blocks the event loop; a cancelled ``__anext__`` loses no item and leaves the stream
    open. Use one consumer at a time.
    """

    def __init__(
        self, source: Source[T], *, maxsize: int = 64, timeout: Optional[float] = None
    ) -> None:
        if not callable(source) and not isinstance(source, Iterable):
            raise TypeError(
                f"source must be an iterable or a callable, not {type(source).__name__}"
            )
        if maxsize < 1:
            raise errors.InvalidRequestError(f"maxsize must be at least 1, got {maxsize}")
        if timeout is not None and timeout <= 0:
            raise errors.InvalidRequestError(f"timeout must be positive, got {timeout}")
        self.timeout = timeout
        self._source: Optional[Source[T]] = source
        self._channel = _Channel(maxsize)
        self._thread: Optional[threading.Thread] = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        """True after ``close()``, or once the source is exhausted or has failed."""
        return self._closed

    def _start(self) -> _Channel:
        self._channel.consumer = threading.current_thread()
        with self._lock:
            if self._thread is None and not self._closed:
                thread = threading.Thread(
                    target=_work,
                    args=(self._channel, self._source),
                    name=f"g4f_sync.ThreadedStream-{next(_stream_ids)}",
                    daemon=False,
                )
                self._thread = thread
                _register(self._channel)
                try:
                    thread.start()
                except BaseException:
                    if thread.ident is None and thread not in threading.enumerate():
                        self._thread = None  # it never started (else Ctrl-C hit start())
                        _unregister(self._channel)
                    raise
                self._source = None
        return self._channel

    def _timed_out(self) -> errors.TimeoutError:
        return errors.TimeoutError(f"waited {self.timeout:g} s for the next item")

    def __iter__(self) -> ThreadedStream[T]:
        return self

    def __next__(self) -> T:
        try:
            item = self._start().take(self.timeout)
        except BaseException:  # Ctrl-C while waiting
            self.close()
            raise
        if item is _EMPTY:
            raise self._timed_out()
        if item is _END:  # the worker's exception, after every item, or the end
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
                _join_idle_watcher(max(0.0, deadline - time.monotonic()))

    def _begin_close(self) -> Optional[threading.Thread]:
        with self._lock:
            if self._closed:
                return None
            self._closed = True
            source, self._source = self._source, None
            thread = self._thread
        self._channel.stop()
        if thread is None and source is not None and not _is_factory(source):
            _close(source)  # never started: the source is ours to close, in this thread
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
        import asyncio

        channel = self._start()
        loop = asyncio.get_running_loop()
        while True:
            item = channel.take(0)
            if item is not _EMPTY:
                break
            ready = loop.create_future()
            if not channel.wake_when_ready(_waker(loop, ready)):
                continue
            try:
                await asyncio.wait_for(ready, self.timeout)
            except asyncio.TimeoutError:
                raise self._timed_out() from None
        if item is _END:
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
        _join_idle_watcher(CLOSE_TIMEOUT)

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


# Batches


class BatchResult(Generic[T]):
    """The outcome of one call in a batch: ``value`` if it returned, ``error`` (the
    exception object) if it raised. ``index`` is the call's position in the input."""

    __slots__ = ("error", "index", "value")

    def __init__(
        self, index: int, value: Optional[T] = None, error: Optional[Exception] = None
    ) -> None:
        self.index = index
        self.value = value
        self.error = error

    @property
    def ok(self) -> bool:
        """True when the call returned."""
        return self.error is None

    def result(self) -> T:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]

    def __repr__(self) -> str:
        if self.error is not None:
            return f"BatchResult(index={self.index}, error={self.error!r})"
        return f"BatchResult(index={self.index}, value={self.value!r})"


def run_batch(
    calls: Iterable[Callable[[], T]],
    *,
    max_workers: int = 8,
    ordered: bool = True,
    executor: Optional[Executor] = None,
    progress: Optional[bool] = None,
) -> Iterator[BatchResult[T]]:
    """Run zero-argument calls concurrently; yield a :class:`BatchResult` for each.

    Each call is e.g. ``functools.partial(client.chat.completions.create, model=...,
    messages=...)`` or a ``lambda``. A call that raises gives a result with ``.error``
    set; the batch goes on (only a non-``Exception`` such as ``SystemExit`` ends it).
    Results come in input order (``ordered=True``) or as calls complete.

    At most ``max_workers`` calls run at once, also on a given ``executor`` (any
    ``concurrent.futures.Executor``, e.g. dask's ``client.get_executor()``), which is
    left running; by default a thread pool is created and shut down here. Work starts
    when iteration starts; ``calls`` is consumed lazily (it may be a generator), a new
    call being submitted as an earlier one finishes while the caller iterates.

    ``progress``: a "3/8 done, 1 failed" display on stderr (tqdm if installed, else one
    updating line); ``None`` shows it when stderr is a terminal.

    Leaving early (Ctrl-C while waiting, ``break`` then close or garbage collection)
    cancels the calls not yet started and re-raises. Calls already running on a thread
    pool (the default one, or a ``ThreadPoolExecutor``) each run in an
    :class:`~g4f_sync.interrupt.InterruptScope`: the connections they opened are
    interrupted, so their streams end at once instead of finishing in the background
    (on other executors they finish). Results the caller never received that are
    iterators with ``close()`` (open streams) are closed.
    """
    if max_workers < 1:
        raise errors.InvalidRequestError(f"max_workers must be at least 1, got {max_workers}")
    total = len(calls) if isinstance(calls, Sized) else None
    if progress is None:
        progress = _is_terminal(sys.stderr)
    return _run_batch(calls, total, max_workers, ordered, executor, progress)


def _run_batch(
    calls: Iterable[Callable[[], T]],
    total: Optional[int],
    max_workers: int,
    ordered: bool,
    executor: Optional[Executor],
    progress: bool,
) -> Iterator[BatchResult[T]]:
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    own_executor = executor is None
    in_threads = own_executor or isinstance(executor, ThreadPoolExecutor)
    pool: Executor = (
        ThreadPoolExecutor(max_workers, thread_name_prefix="g4f_sync.run_batch")
        if executor is None
        else executor
    )
    display: Optional[_Progress] = None
    pending = enumerate(calls)
    running: Dict[Future[T], int] = {}
    scopes: Dict[Future[T], InterruptScope] = {}
    finished: Dict[int, BatchResult[T]] = {}  # ordered: done, waiting for earlier ones
    ready: Deque[BatchResult[T]] = deque()  # to yield now
    next_index = 0
    complete = False

    def submit() -> None:
        while len(running) < max_workers:
            item = next(pending, None)
            if item is None:
                return
            index, call = item
            if in_threads:
                scope = InterruptScope()
                future = pool.submit(_run_in_scope, call, scope)
                scopes[future] = scope
            else:
                future = pool.submit(call)
            running[future] = index

    try:
        if progress:
            display = _Progress(total)
        submit()
        while running:
            done: Set[Future[T]] = set()
            while not done:
                done = wait(running, timeout=_WAIT_SLICE, return_when=FIRST_COMPLETED)[0]
            for future in sorted(done, key=running.__getitem__):
                scopes.pop(future, None)
                result = _result_of(running.pop(future), future)
                if display is not None:
                    display.update(result.ok)
                if ordered:
                    finished[result.index] = result
                else:
                    ready.append(result)
            while next_index in finished:
                ready.append(finished.pop(next_index))
                next_index += 1
            submit()  # keep the pool busy while the caller handles the results
            while ready:
                yield ready.popleft()
        complete = True
    finally:
        for future in running:
            if not future.cancel():
                future.add_done_callback(_close_unclaimed_future)
                if future in scopes:
                    scopes[future].interrupt()
        for result in itertools.chain(ready, finished.values()):
            _close_unclaimed(result.value)
        if own_executor:
            pool.shutdown(wait=complete, cancel_futures=True)
        if display is not None:
            display.close()


def _run_in_scope(call: Callable[[], T], scope: InterruptScope) -> T:
    with scope:
        return call()


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # None, a replaced stream, or a closed one
        return False


def _result_of(index: int, future: Future[T]) -> BatchResult[T]:
    try:
        return BatchResult(index, future.result())
    except Exception as exc:
        return BatchResult(index, error=exc)


def _close_unclaimed(value: Any) -> None:
    """Close a result nobody will receive if it is an open stream."""
    if isinstance(value, Iterator):
        try:
            _close(value)
        except Exception:
            pass


def _close_unclaimed_future(future: Future[Any]) -> None:
    if not future.cancelled() and future.exception() is None:
        _close_unclaimed(future.result())


class _Progress:
    """Show "3/8 done, 1 failed" on stderr: a tqdm bar if tqdm is installed, else one line
    rewritten in place (at most every 0.1 s, and once at the end); when stderr is not a
    terminal (a log file), only the final line is written."""

    def __init__(self, total: Optional[int]) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self._written = 0.0
        self._in_place = _is_terminal(sys.stderr)
        try:
            from tqdm import tqdm
        except ImportError:
            self._bar: Any = None
            self._write()
        else:
            self._bar = tqdm(total=total, unit="call")

    def update(self, ok: bool) -> None:
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
