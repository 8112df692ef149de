"""``run_batch``: run many calls on a bounded pool, one ``BatchResult`` per call."""

from __future__ import annotations

import itertools
import os
from collections import deque
from queue import Empty, SimpleQueue
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Deque,
    Dict,
    Generic,
    Iterable,
    Iterator,
    List,
    Optional,
    Sized,
    Tuple,
    TypeVar,
)

from .. import errors
from ..checks import is_count
from ..interrupt import InterruptScope
from .progress import Progress, shown_by_default
from .worker import WAIT_SLICE, close_source

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

__all__ = ["BatchResult", "run_batch"]

T = TypeVar("T")

_Origin = Tuple[int, str]
"""A process, as ``(pid, token)``: the token tells processes on other machines apart, the
pid a forked child from its parent (which share the token)."""

_PROCESS_TOKEN = os.urandom(8).hex()
_submissions = itertools.count()
"""Numbers the calls submitted to other executors, so that no two look alike."""


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

    On an executor other than a thread pool, calls must pickle, and each is submitted
    with a number of its own, so that equal calls each run (dask's tasks are "pure" by
    default: equal ones would share one run). A call that ran in another process and
    returned an iterator (an open stream, which cannot leave its process) has it closed
    there and gives a :class:`~g4f_sync.errors.StreamNotTransferableError`: such calls return
    plain values (``"".join(stream)``).

    ``progress``: a "3/8 done, 1 failed" display, updated in place in a notebook (tqdm's
    widget with tqdm and ipywidgets installed, else one text line) and on a terminal
    (tqdm's bar if installed), else (a log file) written once to stderr at the end;
    ``None`` shows it in a notebook or when stderr is a terminal.

    Leaving early (Ctrl-C while waiting, ``break`` then close or garbage collection)
    cancels the calls not yet started and re-raises. Calls already running on a thread
    pool (the default one, or a ``ThreadPoolExecutor``) each run in an
    :class:`~g4f_sync.interrupt.InterruptScope`: the connections they opened are
    interrupted, so their streams end at once instead of finishing in the background
    (on other executors they finish, and dask drops their results). Results the caller
    never received that are iterators with ``close()`` (open streams) are closed.
    """
    if not is_count(max_workers, minimum=1):
        raise errors.InvalidRequestError(f"max_workers must be at least 1, got {max_workers!r}")
    if progress is not None and not isinstance(progress, bool):
        raise errors.InvalidRequestError(
            f"progress must be True, False or None (shown where someone watches), got {progress!r}"
        )
    total = len(calls) if isinstance(calls, Sized) else None
    if progress is None:
        progress = shown_by_default()
    return _run_batch(calls, total, max_workers, ordered, executor, progress)


def _run_batch(
    calls: Iterable[Callable[[], T]],
    total: Optional[int],
    max_workers: int,
    ordered: bool,
    executor: Optional[Executor],
    progress: bool,
) -> Iterator[BatchResult[T]]:
    """The generator behind ``run_batch``: drives a ``_Batch`` and the display."""
    batch = _Batch(calls, max_workers, ordered, executor)
    display: Optional[Progress] = None
    complete = False
    try:
        if progress:
            display = Progress(total)
        batch.submit()
        while batch.running:
            for result in batch.collect():
                if display is not None:
                    display.update(result.ok)
            batch.submit()  # keep the pool busy while the caller handles the results
            while batch.ready:
                yield batch.ready.popleft()
        complete = True
    finally:
        batch.close(complete)
        if display is not None:
            display.close()


class _Batch(Generic[T]):
    """One run of ``run_batch``: the pool, the calls not yet submitted, the running calls
    and the results not yet yielded (``ready``). Not thread-safe: the caller's thread
    drives it."""

    def __init__(
        self,
        calls: Iterable[Callable[[], T]],
        max_workers: int,
        ordered: bool,
        executor: Optional[Executor],
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._own_pool = executor is None
        self._in_threads = executor is None or isinstance(executor, ThreadPoolExecutor)
        self._pool: Executor = (
            ThreadPoolExecutor(max_workers, thread_name_prefix="g4f_sync.run_batch")
            if executor is None
            else executor
        )
        self._pending = enumerate(calls)
        self._max_workers = max_workers
        self._ordered = ordered
        self._running: Dict[Future[T], int] = {}
        self._done: SimpleQueue[Future[T]] = SimpleQueue()
        """Futures that ended, put there by their done-callbacks: waiting for the next
        one costs the same with 8 calls running or 1,000 (``concurrent.futures.wait``
        visits every running future, each time)."""
        self._scopes: Dict[Future[T], InterruptScope] = {}
        self._finished: Dict[int, BatchResult[T]] = {}  # ordered: waiting for earlier ones
        self._next_index = 0
        self.ready: Deque[BatchResult[T]] = deque()

    @property
    def running(self) -> bool:
        """True while a submitted call has not ended."""
        return bool(self._running)

    def submit(self) -> None:
        """Submit calls until ``max_workers`` run or none is left (``calls`` is consumed
        here, lazily). On a thread pool each call runs in its own interrupt scope."""
        while len(self._running) < self._max_workers:
            item = next(self._pending, None)
            if item is None:
                return
            index, call = item
            if self._in_threads:
                scope = InterruptScope()
                future = self._pool.submit(_run_in_scope, call, scope)
                self._scopes[future] = scope
            else:
                future = self._pool.submit(_run_submitted, call, _here(), next(_submissions))
            self._running[future] = index
            future.add_done_callback(self._done.put)

    def collect(self) -> List[BatchResult[T]]:
        """Block until at least one running call ends (in slices, so that Ctrl-C gets
        through on Windows); return the results of the calls that ended, and queue them
        in ``ready`` (in input order if ``ordered``)."""
        done: List[Future[T]] = []
        while not done:
            try:
                done.append(self._done.get(timeout=WAIT_SLICE))
            except Empty:
                continue
        while True:
            try:
                done.append(self._done.get_nowait())
            except Empty:
                break
        results = []
        for future in sorted(done, key=self._running.__getitem__):
            self._scopes.pop(future, None)
            result = _result_of(self._running.pop(future), future)
            results.append(result)
            if self._ordered:
                self._finished[result.index] = result
            else:
                self.ready.append(result)
        while self._next_index in self._finished:
            self.ready.append(self._finished.pop(self._next_index))
            self._next_index += 1
        return results

    def close(self, complete: bool) -> None:
        """Cancel the calls not started, interrupt the running ones' scopes, close open
        streams nobody received (now, or when a running call returns one), and shut down
        our own pool, waiting for its threads only if the batch is ``complete``."""
        for future in self._running:
            if not future.cancel():
                future.add_done_callback(_close_unclaimed_future)
                if future in self._scopes:
                    self._scopes[future].interrupt()
        for result in itertools.chain(self.ready, self._finished.values()):
            _close_unclaimed(result.value)
        if self._own_pool:
            self._pool.shutdown(wait=complete, cancel_futures=True)


def _run_in_scope(call: Callable[[], T], scope: InterruptScope) -> T:
    with scope:
        return call()


def _here() -> _Origin:
    return os.getpid(), _PROCESS_TOKEN


def _run_submitted(call: Callable[[], T], origin: _Origin, number: int) -> T:
    """Run ``call`` on an executor other than a thread pool, perhaps in another process
    (``origin`` is the batch's); ``number`` only makes each submission unique. An iterator
    returned elsewhere than ``origin`` is closed here and refused: it cannot be pickled
    (dask would wait for it forever)."""
    value = call()
    if isinstance(value, Iterator) and origin != _here():
        _close_unclaimed(value)
        raise errors.StreamNotTransferableError(
            f"run_batch: a call returned {type(value).__name__}, an iterator, in another"
            " process than the batch's; the call ran and its stream was closed there."
            ' An open stream cannot leave its process: return plain values ("".join(stream))'
        )
    return value


def _result_of(index: int, future: Future[T]) -> BatchResult[T]:
    try:
        return BatchResult(index, future.result())
    except Exception as exc:
        return BatchResult(index, error=exc)


def _close_unclaimed(value: Any) -> None:
    """Close a result nobody will receive if it is an open stream."""
    if isinstance(value, Iterator):
        try:
            close_source(value)
        except Exception:
            pass


def _close_unclaimed_future(future: Future[Any]) -> None:
    if not future.cancelled() and future.exception() is None:
        _close_unclaimed(future.result())
