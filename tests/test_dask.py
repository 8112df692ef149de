"""run_batch beyond one machine: a real dask.distributed cluster with worker processes.

One ``LocalCluster`` (two worker processes of two threads each) serves the whole module;
``client.get_executor()`` is run_batch's executor. The calls are module-level functions in
``functools.partial``, so they pickle by reference (the workers import this module: they
start with the test process's ``sys.path``), and reach the emulator, a server thread of the
test process, over TCP on 127.0.0.1. Each call joins its stream on the worker and returns
plain values: a stream cannot leave its process.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import logging
import os
import socket
import sys
import threading
from typing import Any, Callable, Iterator, List, Set, Tuple

import pytest
from dask.distributed import Client as DaskClient
from dask.distributed import LocalCluster
from support import TIMEOUT, MakeEmulator, ctrl_c_when, needs_ctrl_c

from g4f_sync import BatchResult, Client, errors, run_batch
from g4f_sync.emulator import Emulator, OpenAIOptions
from g4f_sync.Provider import Custom, Koala
from g4f_sync.Provider.registry import rebase_provider
from g4f_sync.threaded import progress

KEY = "sk-dask-test-key-0123456789abcdef"
"""The emulator's API key; no error may show it."""
WRONG_KEY = "sk-dask-wrong-key-0123456789abcdef"

WORKERS, THREADS = 2, 2


@pytest.fixture(scope="module")
def dask_client() -> Iterator[DaskClient]:
    """A dask client of a local cluster of worker processes, closed after the module."""
    with (
        LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=THREADS,
            processes=True,
            dashboard_address="127.0.0.1:0",  # any free port: 8787 may be taken
            silence_logs=logging.CRITICAL,  # the workers' "Compute Failed" for expected errors
        ) as cluster,
        DaskClient(cluster) as client,
    ):
        yield client


@pytest.fixture
def emu(make_emulator: MakeEmulator) -> Emulator:
    """The emulator, its OpenAI-compatible service wanting :data:`KEY`."""
    return make_emulator(openai=OpenAIOptions(api_key=KEY))


# The calls: module-level, so that they pickle by reference.


def ask(
    base_url: str, question: str, *, api_key: str = KEY, max_retries: int = 0, **query: str
) -> Tuple[int, str]:
    """Stream an answer from the emulator's OpenAI service (which echoes the question;
    ``query``: its options for this request) and join it here: (this process's id, the
    text)."""
    client = Client(Custom.rebased(base_url, query, api_key=api_key), max_retries=max_retries)
    messages = [{"role": "user", "content": question}]
    stream = client.chat.completions.create(messages, "gpt-4o-mini", stream=True)
    return os.getpid(), "".join(chunk.choices[0].delta.content or "" for chunk in stream)


def ask_koala(base_url: str, question: str, **query: str) -> str:
    """The emulator's Koala answer (the question's words), joined here."""
    koala = rebase_provider(Koala, base_url, query=query)
    return "".join(koala.create_completion("", [{"role": "user", "content": question}]))


def open_koala_stream(base_url: str, question: str) -> Iterator[str]:
    """The mistake: a stream returned from the worker instead of its text."""
    koala = rebase_provider(Koala, base_url)
    return koala.create_completion("", [{"role": "user", "content": question}])


# Helpers


def questions_asked(emu: Emulator) -> Set[str]:
    """The questions of the Koala requests the emulator received."""
    return {request.json()["input"] for request in emu.requests}


def release_gated_calls(emu: Emulator, calls: int) -> None:
    """Let ``calls`` gated Koala calls of two tokens each finish; wait until every request
    the emulator received has ended (so that their worker threads are free again)."""
    for _ in range(2 * calls):
        emu.gate.release()
    for request in emu.requests:
        assert request.finished.wait(TIMEOUT)


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def collect_within(results: Iterator[BatchResult[Any]], seconds: float) -> List[BatchResult[Any]]:
    """``list(results)``, failing instead of hanging when it takes longer than ``seconds``
    (in a daemon thread, which a hang would leave behind)."""
    collected: List[BatchResult[Any]] = []
    reader = threading.Thread(target=lambda: collected.extend(results), daemon=True)
    reader.start()
    reader.join(seconds)
    assert not reader.is_alive(), "run_batch did not end"
    return collected


def worker_pids(dask_client: DaskClient) -> Set[int]:
    return set(dask_client.run(os.getpid).values())


# Tests


def test_results_come_in_input_order_from_the_worker_processes(
    dask_client: DaskClient, emu: Emulator
) -> None:
    questions = [f"answer number {i}" for i in range(12)]
    calls = [  # the first ones the slowest, so that later ones tend to finish first
        functools.partial(ask, emu.url, question, delay=f"{0.01 * (11 - i):g}")
        for i, question in enumerate(questions)
    ]
    executor = dask_client.get_executor()
    results = list(run_batch(calls, executor=executor, max_workers=WORKERS * THREADS))
    assert [r.index for r in results] == list(range(12))
    assert [r.error for r in results] == [None] * 12
    assert [r.value[1] for r in results] == questions  # type: ignore[index]
    pids = {r.value[0] for r in results}  # type: ignore[index]
    assert pids <= worker_pids(dask_client)
    assert os.getpid() not in pids
    assert emu.request_count == 12


def test_equal_calls_each_run(dask_client: DaskClient, emu: Emulator) -> None:
    # dask's tasks are "pure" by default: equal calls submitted as they are share one run.
    call = functools.partial(ask, emu.url, "the same question")
    results = list(run_batch([call] * 6, executor=dask_client.get_executor(), max_workers=4))
    assert [r.value[1] for r in results] == ["the same question"] * 6  # type: ignore[index]
    assert emu.request_count == 6


def test_errors_arrive_as_their_own_classes_with_their_attributes(
    dask_client: DaskClient, emu: Emulator
) -> None:
    with refused_port() as port:
        calls: List[Callable[[], Any]] = [
            functools.partial(ask, emu.url, "fine"),
            functools.partial(
                ask, emu.url, "limited", max_retries=1, fault="rate_limit", retry_after="0.01"
            ),
            functools.partial(ask, emu.url, "wrong key", api_key=WRONG_KEY),
            functools.partial(ask, f"http://127.0.0.1:{port}", "nobody there"),
        ]
        executor = dask_client.get_executor()
        results = list(run_batch(calls, executor=executor, max_workers=4))
    fine, limited, unauthorized, refused = results
    assert fine.value[1] == "fine"  # type: ignore[index]

    error = limited.error
    assert type(error) is errors.RateLimitError
    assert (error.status_code, error.retry_after, error.attempts) == (429, 0.01, 2)
    assert (error.provider, error.code, error.method) == ("Custom", "rate_limit_exceeded", "POST")
    assert error.server_message.startswith("Rate limit reached for gpt-4o-mini")
    assert error.url.startswith(f"{emu.url}/v1/chat/completions?")
    assert str(error).startswith("Custom: rate limited (HTTP 429) by POST ")
    assert str(error).endswith("(after 2 attempts)")
    with pytest.raises(errors.RateLimitError):
        limited.result()

    assert type(unauthorized.error) is errors.AuthenticationError
    assert unauthorized.error.status_code == 401

    assert type(refused.error) is errors.ConnectionError
    assert isinstance(refused.error, builtins.ConnectionError)  # old except clauses still work
    assert f"could not connect to 127.0.0.1:{port}" in str(refused.error)
    assert refused.error.url == f"http://127.0.0.1:{port}/v1/chat/completions"

    for result in (limited, unauthorized, refused):
        shown = f"{result.error} {result.error!r} {result!r} {vars(result.error)!r}"
        assert KEY not in shown
        assert WRONG_KEY not in shown


def test_a_stream_returned_by_a_worker_is_an_error_not_a_hang(
    dask_client: DaskClient, emu: Emulator
) -> None:
    calls = [
        functools.partial(open_koala_stream, emu.url, "a stream"),
        functools.partial(ask_koala, emu.url, "plain text"),
    ]
    batch = run_batch(calls, executor=dask_client.get_executor(), max_workers=2)
    stream, text = collect_within(batch, 4 * TIMEOUT)
    assert type(stream.error) is errors.StreamNotTransferableError
    assert "return plain values" in str(stream.error)
    assert text.value == "plain text"


@pytest.mark.parametrize("terminal", [False, True], ids=["log", "terminal"])
def test_progress_is_shown_on_stderr(
    dask_client: DaskClient,
    emu: Emulator,
    terminal: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the text line, whether tqdm is installed
    monkeypatch.setattr(progress, "is_terminal", lambda stream: terminal)
    calls = [functools.partial(ask, emu.url, f"question {i}") for i in range(4)]
    calls.append(functools.partial(ask, emu.url, "fails", fault="server_error"))
    executor = dask_client.get_executor()
    results = list(run_batch(calls, executor=executor, max_workers=2, progress=True))
    assert type(results[4].error) is errors.InternalServerError
    err = capsys.readouterr().err
    if terminal:  # a line rewritten in place
        assert err.startswith("\r0/5 done, 0 failed")
        assert err.endswith("\r5/5 done, 1 failed\n")
    else:  # a log gets the final line only
        assert err == "5/5 done, 1 failed\n"


def test_leaving_early_cancels_the_calls_not_yet_started(
    dask_client: DaskClient, emu: Emulator
) -> None:
    # Call 0 answers at once; the others wait at the emulator's gate, holding their worker.
    calls = [
        functools.partial(ask_koala, emu.url, f"call {i}", gated="false" if i == 0 else "true")
        for i in range(12)
    ]
    results = run_batch(calls, executor=dask_client.get_executor(), max_workers=2)
    assert next(results).value == "call 0"  # call 2 was submitted as call 0 ended
    assert emu.wait_for_requests(3, TIMEOUT)  # calls 1 and 2 run, waiting at the gate
    results.close()  # as after ``break``
    release_gated_calls(emu, 12)  # what still runs finishes on its worker
    assert questions_asked(emu) == {"call 0", "call 1", "call 2"}  # 3 to 11 never started


@needs_ctrl_c
def test_ctrl_c_cancels_the_calls_not_yet_started(dask_client: DaskClient, emu: Emulator) -> None:
    calls = [functools.partial(ask_koala, emu.url, f"call {i}", gated="true") for i in range(12)]
    running = threading.Event()
    watcher = threading.Thread(target=lambda: emu.wait_for_requests(2, TIMEOUT) and running.set())
    watcher.start()
    finished: List[BatchResult[Any]] = []
    try:
        with ctrl_c_when(running), pytest.raises(KeyboardInterrupt):
            for result in run_batch(calls, executor=dask_client.get_executor(), max_workers=2):
                finished.append(result)
    finally:
        watcher.join()
    assert finished == []  # Ctrl-C came while calls 0 and 1 waited at the gate
    release_gated_calls(emu, 12)
    assert questions_asked(emu) == {"call 0", "call 1"}  # 2 to 11 never started


def test_the_cluster_is_whole_after_the_cancelled_calls(
    dask_client: DaskClient, emu: Emulator
) -> None:
    """Every worker thread is free again: as many gated calls as threads run at once."""
    threads = WORKERS * THREADS
    calls = [
        functools.partial(ask_koala, emu.url, f"call {i}", gated="true") for i in range(threads)
    ]
    results = run_batch(calls, executor=dask_client.get_executor(), max_workers=threads)

    def release_once_all_run() -> None:
        if emu.wait_for_requests(threads, TIMEOUT):
            release_gated_calls(emu, threads)

    released = threading.Thread(target=release_once_all_run)
    released.start()
    try:
        values = [r.value for r in collect_within(results, 4 * TIMEOUT)]
    finally:
        released.join()
    assert values == [f"call {i}" for i in range(threads)]
