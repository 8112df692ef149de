"""g4f_sync.threaded: ThreadedStream and run_batch, with real threads and sockets.

Nothing sleeps to wait for a thread: tests wait on events with generous timeouts, and the
only timed assertions are upper bounds ("close() returned within 2 s").
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import gc
import itertools
import multiprocessing
import socket
import subprocess
import sys
import textwrap
import threading
import time
import traceback
import types
import weakref
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Callable, Iterator, List, Optional

import pytest
from support import ROOT, ctrl_c_when, needs_ctrl_c

from g4f_sync import errors
from g4f_sync.threaded import BatchResult, ThreadedStream, progress, run_batch

WAIT = 2.0  # generous bound for anything that should happen "at once"


def join_threads(prefix: str) -> None:
    """Wait for our threads whose name starts with ``prefix``; fail if one keeps running."""
    deadline = time.monotonic() + WAIT
    while True:
        threads = [t for t in threading.enumerate() if t.name.startswith(prefix)]
        if not threads:
            return
        assert time.monotonic() < deadline, [t.name for t in threads]
        for thread in threads:
            try:
                thread.join(max(0.0, deadline - time.monotonic()))
            except RuntimeError:  # still starting (Ctrl-C hit Thread.start)
                pass


@pytest.fixture(autouse=True)
def no_thread_left_behind() -> Iterator[None]:
    yield
    join_threads("g4f_sync.")


class SilentSocketSource:
    """Yields what arrives on one end of a socket pair; a read with nothing sent blocks,
    like a silent server. ``interrupt()`` shuts the socket down, as the SDK's streams do."""

    def __init__(self) -> None:
        self.reader, self.writer = socket.socketpair()
        self.reads = 0
        self.reading = threading.Condition()
        self.read_started = threading.Event()
        self.closed = threading.Event()
        self.thread: Optional[threading.Thread] = None

    def __iter__(self) -> SilentSocketSource:
        return self

    def __next__(self) -> bytes:
        self.thread = threading.current_thread()
        with self.reading:
            self.reads += 1
            self.reading.notify_all()
        self.read_started.set()
        data = self.reader.recv(1024)
        if not data:
            raise ConnectionResetError("connection shut down")  # what an interrupt causes
        return data

    def wait_reading(self, reads: int = 1) -> None:
        """Wait until the source has entered its ``reads``-th read."""
        with self.reading:
            assert self.reading.wait_for(lambda: self.reads >= reads, WAIT)

    def interrupt(self) -> None:
        self.reader.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.closed.set()
        self.reader.close()
        self.writer.close()


def assert_worker_gone(source: SilentSocketSource) -> None:
    assert source.closed.is_set()
    assert source.thread is not None
    assert not source.thread.is_alive()
    assert source.thread not in threading.enumerate()


def run_python(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )


# ThreadedStream: items, errors, back-pressure


def test_items_arrive_in_order() -> None:
    assert list(ThreadedStream(lambda: iter(range(500)), maxsize=3)) == list(range(500))


def test_accepts_an_iterable_or_an_iterator() -> None:
    assert list(ThreadedStream([1, 2, 3])) == [1, 2, 3]
    assert list(ThreadedStream(iter("ab"))) == ["a", "b"]


def test_a_callable_source_is_created_in_the_worker_thread() -> None:
    created_in = []

    def source() -> Iterator[int]:
        created_in.append(threading.current_thread())
        return iter([1])

    assert list(ThreadedStream(source)) == [1]
    assert created_in[0] is not threading.current_thread()


def test_starts_lazily() -> None:
    started = threading.Event()

    def source() -> Iterator[int]:
        started.set()
        yield 1

    stream = ThreadedStream(source)
    iter(stream)
    assert not started.is_set()
    assert next(stream) == 1
    assert started.is_set()
    stream.close()


def test_error_is_raised_after_every_earlier_item_with_the_worker_traceback() -> None:
    failure = ValueError("source broke")

    def failing_source() -> Iterator[int]:
        yield from range(5)
        raise failure

    received: List[int] = []
    stream = ThreadedStream(failing_source, maxsize=2)
    with pytest.raises(ValueError) as caught:
        for item in stream:
            received.append(item)
    assert received == [0, 1, 2, 3, 4]
    assert caught.value is failure
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert "failing_source" in frames
    assert "_work" in frames
    assert stream.closed
    with pytest.raises(StopIteration):
        next(stream)


def test_error_while_creating_the_source_reaches_the_consumer() -> None:
    def source() -> Iterator[int]:
        raise errors.ProviderNotFoundError("no such provider")

    with pytest.raises(errors.ProviderNotFoundError, match="no such provider"):
        next(ThreadedStream(source))


def test_slow_consumer_holds_the_producer_to_maxsize_plus_one() -> None:
    produced = 0
    at_bound = threading.Event()
    beyond_bound = threading.Event()

    def counting_source() -> Iterator[int]:
        nonlocal produced
        for item in itertools.count():
            produced += 1
            if produced == 3:
                at_bound.set()
            if produced == 4:
                beyond_bound.set()
            yield item

    with ThreadedStream(counting_source, maxsize=2) as stream:
        assert at_bound.wait(WAIT)
        assert not beyond_bound.wait(0.2)  # the worker waits on the full buffer
        assert produced == 3
        assert next(stream) == 0  # one slot frees: exactly one more item is produced
        assert beyond_bound.wait(WAIT)
        assert [next(stream) for _ in range(100)] == list(range(1, 101))


# ThreadedStream: the hand-over (items the worker queued are read without waiting)


def record_channel_calls(stream: ThreadedStream[Any]) -> List[str]:
    """The names of the channel methods that take its lock on the consumer's side (wait
    for an item, register an async waker, wake the worker), one entry per call."""
    channel = stream._channel
    calls: List[str] = []
    for name in ("wait_for_item", "wake_when_ready", "made_room"):
        method = getattr(channel, name)

        def record(*args: Any, _name: str = name, _method: Any = method) -> Any:
            calls.append(_name)
            return _method(*args)

        setattr(channel, name, record)
    return calls


def gated_source(
    count: int, queued: threading.Event, release: threading.Event
) -> Callable[[], Iterator[int]]:
    """A source of ``range(count)`` that sets ``queued`` once the worker has put them all,
    then yields ``count`` after ``release``."""

    def source() -> Iterator[int]:
        yield from range(count)
        queued.set()  # asked for one more: every item before is in the channel
        assert release.wait(WAIT)
        yield count

    return source


def test_items_queued_while_the_consumer_is_away_are_read_in_order_without_waiting() -> None:
    queued, release = threading.Event(), threading.Event()
    with ThreadedStream(gated_source(10, queued, release), maxsize=16) as stream:
        assert queued.wait(WAIT)
        calls = record_channel_calls(stream)
        assert [next(stream) for _ in range(10)] == list(range(10))
        assert calls == []  # one hand-over: no wait, no lock, for any of the ten
        release.set()
        assert list(stream) == [10]


def test_async_items_queued_while_the_consumer_is_away_are_read_without_waiting() -> None:
    queued, release = threading.Event(), threading.Event()

    async def main() -> List[int]:
        loop = asyncio.get_running_loop()
        async with ThreadedStream(gated_source(10, queued, release), maxsize=16) as stream:
            assert await loop.run_in_executor(None, queued.wait, WAIT)
            calls = record_channel_calls(stream)
            received = [await stream.__anext__() for _ in range(10)]
            assert calls == []
            release.set()
            return received + [item async for item in stream]

    assert asyncio.run(main()) == list(range(11))


class CountingSource:
    """An endless source that records how many items it was asked for."""

    def __init__(self) -> None:
        self.produced = 0
        self.progress = threading.Condition()

    def __call__(self) -> Iterator[int]:
        for item in itertools.count():
            with self.progress:
                self.produced += 1
                self.progress.notify_all()
            yield item

    def wait_produced(self, count: int) -> int:
        """Wait until the source was asked for ``count`` items; how many it was asked for."""
        with self.progress:
            self.progress.wait_for(lambda: self.produced >= count, WAIT)
            return self.produced


@pytest.mark.parametrize("maxsize", [1, 2, 5, 8])
def test_a_fast_worker_never_runs_more_than_maxsize_items_ahead(maxsize: int) -> None:
    """After the consumer has read ``read`` items, the source was asked for at most
    ``read + maxsize + 1`` (``maxsize`` not yet read, one held by the waiting worker).
    Unobserved, the worker fills the bound; once the consumer reads on, it refills at
    least half of it (it is woken when half is free, not at each free slot)."""
    source = CountingSource()
    read = 0
    with ThreadedStream(source, maxsize=maxsize) as stream:
        assert source.wait_produced(maxsize + 1) == maxsize + 1
        for burst in [1, max(1, maxsize // 2), maxsize, 3 * maxsize + 1, maxsize - 1, 1]:
            for _ in range(burst):
                assert next(stream) == read
                read += 1
                assert source.wait_produced(0) <= read + maxsize + 1
            half = read + (maxsize + 1) // 2 + 1
            assert half <= source.wait_produced(half) <= read + maxsize + 1


@pytest.mark.parametrize("closer", ["this thread", "another thread"])
def test_close_with_items_queued_drops_them_and_stops_the_worker(closer: str) -> None:
    class Item:
        pass

    made: List[weakref.ReferenceType[Item]] = []
    full = threading.Event()
    closed_in: List[threading.Thread] = []

    def source() -> Iterator[Item]:
        try:
            for number in itertools.count():
                if number == 8:
                    full.set()  # items 0-7 fill the channel; the worker waits with 8
                item = Item()
                made.append(weakref.ref(item))
                yield item
                del item
        finally:
            closed_in.append(threading.current_thread())

    stream = ThreadedStream(source, maxsize=8)
    kept = [next(stream) for _ in range(2)]
    assert full.wait(WAIT)
    if closer == "this thread":
        stream.close()
    else:
        closing = threading.Thread(target=stream.close)
        closing.start()
        closing.join(WAIT)
    with pytest.raises(StopIteration):
        next(stream)
    join_threads("g4f_sync.ThreadedStream")
    assert len(closed_in) == 1
    assert closed_in[0] is not threading.current_thread()
    gc.collect()
    assert [ref() for ref in made[:2]] == kept
    assert [ref() for ref in made[2:]] == [None] * (len(made) - 2)  # none is held any more


def test_async_aclose_with_items_queued_drops_them() -> None:
    source = CountingSource()

    async def main() -> ThreadedStream[int]:
        stream = ThreadedStream(source, maxsize=8)
        assert await stream.__anext__() == 0
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, source.wait_produced, 6) >= 6  # half of 8 queued
        await stream.aclose()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        return stream

    stream = asyncio.run(main())
    assert stream.closed
    assert list(stream._channel.items) == []


@pytest.mark.parametrize("count", [0, 3, 8, 21])
def test_an_error_comes_after_every_item_queued_before_it(count: int) -> None:
    failure = ValueError("source broke")
    raised = threading.Event()

    def source() -> Iterator[int]:
        yield from range(count)
        raised.set()
        raise failure

    stream = ThreadedStream(source, maxsize=8)
    received: List[int] = []
    if count <= 8:  # all of them queued before the consumer reads one
        stream.__enter__()
        assert raised.wait(WAIT)
    with pytest.raises(ValueError) as caught:
        for item in stream:
            received.append(item)
    assert received == list(range(count))
    assert caught.value is failure
    assert stream.closed


@pytest.mark.parametrize("count", [0, 3, 21])
def test_async_error_comes_after_every_item_queued_before_it(count: int) -> None:
    failure = RuntimeError("late failure")
    raised = threading.Event()

    def source() -> Iterator[int]:
        yield from range(count)
        raised.set()
        raise failure

    async def main() -> List[int]:
        received: List[int] = []
        stream = ThreadedStream(source, maxsize=8)
        await stream.__aenter__()
        if count <= 8:
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, raised.wait, WAIT)
        with pytest.raises(RuntimeError) as caught:
            async for item in stream:
                received.append(item)
        assert caught.value is failure
        return received

    assert asyncio.run(main()) == list(range(count))


def test_a_thread_taking_over_the_reading_is_the_consumer_the_exit_watcher_sees() -> None:
    """A thread that reads on from items already queued (no wait) becomes the consumer:
    the exit watcher must not take the stream for orphaned while it reads."""
    queued, release = threading.Event(), threading.Event()
    with ThreadedStream(gated_source(5, queued, release), maxsize=8) as stream:
        first: List[int] = []
        reader = threading.Thread(target=lambda: first.append(next(stream)))
        reader.start()
        reader.join(WAIT)
        assert first == [0]
        assert queued.wait(WAIT)
        assert stream._channel.orphaned()  # its only reader has ended
        assert next(stream) == 1  # this thread reads on
        assert not stream._channel.orphaned()
        release.set()
        assert list(stream) == [2, 3, 4, 5]


# ThreadedStream: closing


def test_close_interrupts_a_read_blocked_on_a_silent_socket() -> None:
    source = SilentSocketSource()
    source.writer.sendall(b"hello")
    stream = ThreadedStream(source)
    assert next(stream) == b"hello"
    source.wait_reading(2)  # now blocked: nothing more will be sent

    start = time.monotonic()
    stream.close()
    assert time.monotonic() - start < WAIT
    assert_worker_gone(source)
    assert stream.closed
    with pytest.raises(StopIteration):
        next(stream)
    stream.close()  # idempotent


def test_leaving_with_closes_the_stream() -> None:
    source = SilentSocketSource()
    with ThreadedStream(source) as stream:
        source.wait_reading()
    assert stream.closed
    assert_worker_gone(source)


def test_break_then_garbage_collection_stops_the_worker() -> None:
    source = SilentSocketSource()
    source.writer.sendall(b"x")
    for _item in ThreadedStream(source):
        break
    gc.collect()
    assert source.closed.wait(WAIT)
    assert source.thread is not None
    source.thread.join(WAIT)
    assert not source.thread.is_alive()


def test_worker_closes_a_generator_source_in_its_own_thread() -> None:
    closed_in = []

    def endless() -> Iterator[int]:
        try:
            yield from itertools.count()
        finally:
            closed_in.append(threading.current_thread())

    stream = ThreadedStream(endless, maxsize=2)
    assert next(stream) == 0
    del stream  # the worker is blocked on a full buffer
    gc.collect()
    join_threads("g4f_sync.ThreadedStream")
    assert len(closed_in) == 1
    assert closed_in[0] is not threading.current_thread()


def test_close_before_start_closes_an_iterator_source() -> None:
    closed = []

    class Tokens:
        def __iter__(self) -> Tokens:
            return self

        def __next__(self) -> str:
            return "token"

        def close(self) -> None:
            closed.append(threading.current_thread())

    stream = ThreadedStream(Tokens())
    stream.close()
    assert closed == [threading.current_thread()]
    assert list(stream) == []


def test_no_thread_is_left_once_close_returns() -> None:
    source = SilentSocketSource()
    with ThreadedStream(source):
        source.wait_reading()
    assert [t.name for t in threading.enumerate() if t.name.startswith("g4f_sync.")] == []


@needs_ctrl_c
def test_ctrl_c_while_waiting_closes_the_stream() -> None:
    source = SilentSocketSource()
    stream = ThreadedStream(source, timeout=10)
    with ctrl_c_when(source.read_started), pytest.raises(KeyboardInterrupt):
        next(stream)
    assert stream.closed
    assert_worker_gone(source)


# ThreadedStream: timeout


def test_timeout_raises_and_leaves_the_stream_usable() -> None:
    release = threading.Event()

    def late() -> Iterator[str]:
        release.wait(WAIT)
        yield "late"

    with ThreadedStream(late, timeout=0.05) as stream:
        try:
            with pytest.raises(errors.TimeoutError, match=r"waited 0\.05 s") as caught:
                next(stream)
            assert isinstance(caught.value, builtins.TimeoutError)
            assert not stream.closed
        finally:
            release.set()
        stream.timeout = None
        assert list(stream) == ["late"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"maxsize": 0}, "maxsize must be at least 1, got 0"),
        ({"maxsize": "8"}, "maxsize must be at least 1, got '8'"),
        ({"timeout": 0}, "timeout must be a positive number of seconds or None, got 0"),
        ({"timeout": -1.0}, "timeout must be a positive number of seconds or None, got -1.0"),
        (
            {"timeout": float("nan")},
            "timeout must be a positive number of seconds or None, got nan",
        ),
        ({"timeout": "1"}, "timeout must be a positive number of seconds or None, got '1'"),
    ],
)
def test_rejects_bad_arguments(kwargs: Any, message: str) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        ThreadedStream([1], **kwargs)
    assert str(info.value) == message


def test_rejects_a_source_that_is_neither_iterable_nor_callable() -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        ThreadedStream(42)  # type: ignore[arg-type]
    assert str(info.value) == "source must be an iterable or a callable, not int"


@pytest.mark.parametrize("workers", [0, "4", 2.5, None])
def test_run_batch_rejects_a_bad_number_of_workers(workers: Any) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        run_batch([], max_workers=workers)
    assert str(info.value) == f"max_workers must be at least 1, got {workers!r}"


# ThreadedStream: async


def test_async_for_leaves_the_event_loop_free() -> None:
    blocked = threading.Event()
    go = threading.Event()

    def gated() -> Iterator[str]:
        yield "before"
        blocked.set()
        if not go.wait(WAIT):  # only another task on the loop sets it
            raise AssertionError("the event loop was blocked")
        yield "after"

    async def main() -> List[str]:
        loop = asyncio.get_running_loop()

        async def release() -> None:
            await loop.run_in_executor(None, blocked.wait, WAIT)
            go.set()

        async def consume() -> List[str]:
            async with ThreadedStream(gated) as stream:
                return [item async for item in stream]

        received, _ = await asyncio.gather(consume(), release())
        return received

    assert asyncio.run(main()) == ["before", "after"]


def test_async_error_comes_after_the_items() -> None:
    failure = RuntimeError("late failure")

    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise failure

    async def main() -> List[int]:
        received = []
        with pytest.raises(RuntimeError) as caught:
            async for item in ThreadedStream(source, maxsize=1):
                received.append(item)
        assert caught.value is failure
        return received

    assert asyncio.run(main()) == [1, 2]


def test_async_timeout_leaves_the_stream_usable() -> None:
    release = threading.Event()

    def late() -> Iterator[str]:
        release.wait(WAIT)
        yield "late"

    async def main() -> List[str]:
        async with ThreadedStream(late, timeout=0.05) as stream:
            try:
                with pytest.raises(errors.TimeoutError, match=r"waited 0\.05 s"):
                    await stream.__anext__()
            finally:
                release.set()
            stream.timeout = None
            return [item async for item in stream]

    assert asyncio.run(main()) == ["late"]


def test_async_with_exit_interrupts_a_silent_socket() -> None:
    source = SilentSocketSource()

    async def main() -> float:
        loop = asyncio.get_running_loop()
        async with ThreadedStream(source):
            await loop.run_in_executor(None, source.wait_reading)
            start = time.monotonic()
        return time.monotonic() - start

    assert asyncio.run(main()) < WAIT
    assert_worker_gone(source)


# ThreadedStream: interpreter exit and import cost


def test_unclosed_streams_do_not_keep_the_interpreter_alive() -> None:
    result = run_python(
        """
        import socket, threading
        from g4f_sync.threaded import ThreadedStream

        class Silent:
            def __init__(self):
                self.reader, self.writer = socket.socketpair()
                self.reading = threading.Event()
            def __iter__(self):
                return self
            def __next__(self):
                self.reading.set()
                return self.reader.recv(1024) or next(iter(()))
            def interrupt(self):
                self.reader.shutdown(socket.SHUT_RDWR)
            def close(self):
                print("socket source closed", flush=True)

        def endless():
            try:
                while True:
                    yield "x"
            finally:
                print("generator closed", flush=True)

        source = Silent()
        silent = ThreadedStream(source).__enter__()  # blocked in a read, never closed
        full = ThreadedStream(endless, maxsize=2)
        next(full)  # then blocked on a full buffer, never closed
        assert source.reading.wait(5)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "socket source closed" in result.stdout
    assert "generator closed" in result.stdout


def test_a_consumer_thread_outliving_the_main_thread_still_gets_every_item() -> None:
    result = run_python(
        """
        import threading
        from g4f_sync.threaded import ThreadedStream

        stream = ThreadedStream(range(5), maxsize=1)
        started = threading.Event()

        def consume():
            next(stream)  # start here: this thread is the consumer
            started.set()
            threading.main_thread().join()  # read on only after the main thread ended
            print(list(stream), flush=True)

        threading.Thread(target=consume).start()
        assert started.wait(5)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[1, 2, 3, 4]"


def test_import_does_not_load_asyncio_concurrent_futures_or_tqdm() -> None:
    result = run_python(
        """
        import sys
        import g4f_sync.threaded
        print(sorted(m for m in ("asyncio", "concurrent.futures", "tqdm") if m in sys.modules))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# run_batch


def test_run_batch_yields_results_in_input_order() -> None:
    first_may_return = threading.Event()

    def first() -> str:
        assert first_may_return.wait(WAIT)
        return "a"

    def last() -> str:
        first_may_return.set()
        return "c"

    results = list(run_batch([first, lambda: "b", last], max_workers=3))
    assert [(r.index, r.value) for r in results] == [(0, "a"), (1, "b"), (2, "c")]
    assert all(r.ok for r in results)


def test_run_batch_unordered_yields_results_as_they_complete() -> None:
    release = threading.Event()

    def slow() -> str:
        assert release.wait(WAIT)
        return "slow"

    results = run_batch([slow, lambda: "fast"], max_workers=2, ordered=False)
    assert next(results).value == "fast"
    release.set()
    last = next(results)
    assert (last.index, last.value) == (0, "slow")
    assert list(results) == []


def test_run_batch_gives_failures_as_exception_objects() -> None:
    failure = errors.RateLimitError("slow down")

    def fail() -> str:
        raise failure

    results = list(run_batch([lambda: "a", fail, lambda: "c"]))
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error is failure
    assert results[1].value is None
    assert results[0].result() == "a"
    with pytest.raises(errors.RateLimitError):
        results[1].result()
    assert "RateLimitError" in repr(results[1])


def test_run_batch_accepts_partials_and_generators_of_calls() -> None:
    calls = (functools.partial(pow, 2, n) for n in range(10))
    assert [r.value for r in run_batch(calls, max_workers=3)] == [2**n for n in range(10)]


def test_run_batch_leaves_a_given_executor_running() -> None:
    with ThreadPoolExecutor(2) as pool:
        results = list(run_batch([lambda: 1, lambda: 2], executor=pool))
        assert [r.value for r in results] == [1, 2]
        assert pool.submit(lambda: "still running").result(WAIT) == "still running"


class InCallerExecutor(Executor):
    """Runs each call at once, in the caller's thread: an executor in the batch's own
    process that is not a thread pool."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


def numbers() -> Iterator[int]:
    return iter(range(3))


def test_run_batch_on_another_process_refuses_a_returned_iterator() -> None:
    calls = [numbers, functools.partial(pow, 2, 5)]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        iterator, number = run_batch(calls, executor=pool)
    assert type(iterator.error) is errors.StreamNotTransferableError
    assert "an open stream cannot leave its process" in str(iterator.error).lower()
    assert number.value == 32


def test_run_batch_on_an_executor_in_its_own_process_returns_iterators_as_they_are() -> None:
    [result] = run_batch([numbers], executor=InCallerExecutor())
    assert list(result.value) == [0, 1, 2]  # type: ignore[arg-type]


@pytest.mark.parametrize("executor_workers", [None, 10])
def test_run_batch_runs_at_most_max_workers_calls_at_once(
    executor_workers: Optional[int],
) -> None:
    barrier = threading.Barrier(3, timeout=WAIT)  # passes only with 3 calls running together
    lock = threading.Lock()
    active = peak = 0

    def call() -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            barrier.wait()
        finally:
            with lock:
                active -= 1

    pool = ThreadPoolExecutor(executor_workers) if executor_workers else None
    try:
        results = list(run_batch([call] * 9, max_workers=3, executor=pool))
    finally:
        if pool is not None:
            pool.shutdown()
    assert [r.error for r in results] == [None] * 9
    assert peak == 3


def test_leaving_run_batch_early_cancels_calls_not_yet_started() -> None:
    started: List[int] = []
    release = threading.Event()

    def call(index: int) -> int:
        started.append(index)
        if index:
            release.wait(WAIT)
        return index

    with ThreadPoolExecutor(1) as pool:
        results = run_batch([functools.partial(call, i) for i in range(6)], executor=pool)
        assert next(results).value == 0
        results.close()  # as after ``break``
        release.set()
    assert set(started) <= {0, 1}


def test_leaving_run_batch_early_closes_streams_nobody_received() -> None:
    opened = threading.Event()
    closed = threading.Event()

    def tokens() -> Iterator[str]:
        try:
            yield "token"
        finally:
            closed.set()

    def open_stream() -> Iterator[str]:
        stream = tokens()
        next(stream)
        opened.set()
        return stream

    def slow() -> str:
        assert opened.wait(WAIT)
        return "slow"

    results = run_batch([slow, open_stream], max_workers=2)
    assert next(results).value == "slow"
    results.close()  # the caller stops before taking the open stream
    assert closed.wait(WAIT)


@needs_ctrl_c
def test_ctrl_c_in_run_batch_cancels_pending_calls_and_re_raises() -> None:
    started: List[int] = []
    first_started = threading.Event()
    release = threading.Event()

    def call(index: int) -> int:
        started.append(index)
        first_started.set()
        release.wait(WAIT)
        return index

    with ctrl_c_when(first_started), pytest.raises(KeyboardInterrupt):
        list(run_batch([functools.partial(call, i) for i in range(8)], max_workers=2))
    release.set()
    join_threads("g4f_sync.run_batch")
    assert set(started) <= {0, 1}


def fail() -> None:
    raise ValueError("failed")


def test_run_batch_progress_line_on_stderr_when_forced(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # not installed
    list(run_batch([lambda: 1, fail, lambda: 3], progress=True))
    assert capsys.readouterr().err == "3/3 done, 1 failed\n"  # a log gets the final line only


def test_run_batch_progress_line_is_rewritten_in_place_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setattr(progress, "is_terminal", lambda stream: True)
    list(run_batch([lambda: 1, fail, lambda: 3], progress=True))
    err = capsys.readouterr().err
    assert err.startswith("\r0/3 done, 0 failed")
    assert err.endswith("\r3/3 done, 1 failed\n")


def test_run_batch_progress_counts_without_a_total(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    list(run_batch((call for call in [fail, fail]), progress=True))
    assert capsys.readouterr().err == "2 done, 2 failed\n"


def test_run_batch_progress_is_off_by_default_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    list(run_batch([lambda: 1]))
    assert capsys.readouterr().err == ""


class FakeBar:
    """Stands in for ``tqdm.tqdm``; records what the display asked of it."""

    def __init__(
        self, total: Optional[int] = None, postfix: Optional[dict[str, Any]] = None, **kw: Any
    ) -> None:
        self.total = total
        self.n = 0
        self.first_postfix = dict(postfix or {})
        self.postfix = dict(postfix or {})
        self.closed = False

    def update(self, n: int) -> None:
        self.n += n

    def set_postfix(self, **postfix: Any) -> None:
        self.postfix = postfix

    def close(self) -> None:
        self.closed = True


def install_fake_tqdm(monkeypatch: pytest.MonkeyPatch) -> List[FakeBar]:
    """Make ``from tqdm import tqdm`` give a ``FakeBar``; return the bars created."""
    bars: List[FakeBar] = []

    def tqdm(*args: Any, **kwargs: Any) -> FakeBar:
        bars.append(FakeBar(*args, **kwargs))
        return bars[-1]

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=tqdm))
    return bars


def test_run_batch_progress_uses_tqdm_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    bars = install_fake_tqdm(monkeypatch)
    monkeypatch.setattr(progress, "is_terminal", lambda stream: True)
    list(run_batch([lambda: 1, fail], progress=True))
    [bar] = bars
    assert (bar.total, bar.n, bar.postfix, bar.closed) == (2, 2, {"failed": 1}, True)


def test_run_batch_progress_tqdm_bar_shows_failed_0_from_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bars = install_fake_tqdm(monkeypatch)
    monkeypatch.setattr(progress, "is_terminal", lambda stream: True)
    list(run_batch([lambda: 1, lambda: 2], progress=True))
    [bar] = bars
    assert (bar.first_postfix, bar.postfix, bar.n, bar.closed) == (
        {"failed": 0},
        {"failed": 0},
        2,
        True,
    )


def test_run_batch_progress_writes_only_the_final_line_to_a_log_even_with_tqdm(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bars = install_fake_tqdm(monkeypatch)
    list(run_batch([lambda: 1, fail, lambda: 3], progress=True))
    assert bars == []  # tqdm's bar rewrites itself with "\r": a log would get every update
    assert capsys.readouterr().err == "3/3 done, 1 failed\n"


def test_run_batch_progress_in_a_log_is_the_same_whether_tqdm_is_installed_or_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    list(run_batch([fail, lambda: 2], progress=True))  # tqdm as installed here, if at all
    assert capsys.readouterr().err == "2/2 done, 1 failed\n"


def test_run_batch_rejects_max_workers_below_one() -> None:
    with pytest.raises(errors.InvalidRequestError):
        run_batch([lambda: 1], max_workers=0)


def test_batch_result_shape() -> None:
    result: BatchResult[str] = BatchResult(3, "text")
    assert (result.index, result.value, result.error, result.ok) == (3, "text", None, True)
    assert repr(result) == "BatchResult(index=3, value='text')"
