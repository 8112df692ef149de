"""One Session or Client shared by many threads: concurrent streams, each thread its own
answer, and a connection pool that fits the workers (no "Connection pool is full").

Concurrency is made certain, not hoped for: the emulator holds every answer back (gated
tokens) until all the requests have arrived, so every connection is in use at once.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from typing import Callable, List

import pytest
from support import MakeEmulator

from g4f_sync import Client, Session, ThreadedStream, run_batch
from g4f_sync.emulator import Emulator, KoalaOptions
from g4f_sync.http import DEFAULT_POOL_MAXSIZE
from g4f_sync.Provider import Koala

WAIT = 10.0  # generous bound for the emulator to receive every request
POOL_FULL = "Connection pool is full"


@pytest.fixture
def emu(make_emulator: MakeEmulator) -> Emulator:
    """Koala holds every token until a test releases the gate."""
    return make_emulator(koala=KoalaOptions(gated=True))


def question(index: int) -> str:
    return f"thread {index} asks its own question"


def answer(koala: type[Koala], session: Session, index: int) -> str:
    messages = [{"role": "user", "content": question(index)}]
    return "".join(koala.create_completion("", messages, session=session))


def gated_answers(emu: Emulator, ask: Callable[[int], str], workers: int) -> List[str]:
    """``workers`` threads each get ``ask(index)``, a call that streams one answer from
    the gated emulator; no answer starts before every request has arrived, so all the
    connections are in use together."""
    answers: List[str] = [""] * workers
    errors: List[BaseException] = []

    def work(index: int) -> None:
        try:
            answers[index] = ask(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    try:
        assert emu.wait_for_requests(workers, WAIT), "not every request arrived"
    finally:
        tokens = sum(len(question(i).split(" ")) for i in range(workers))
        emu.gate.release(tokens)
        for thread in threads:
            thread.join(WAIT)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    return answers


def koala_on(emu: Emulator, session: Session) -> Callable[[int], str]:
    return functools.partial(answer, emu.provider(Koala), session)


@pytest.fixture
def pool_warnings(caplog: pytest.LogCaptureFixture) -> Callable[[], List[str]]:
    """Records urllib3's pool warnings; call it for those logged so far."""
    caplog.set_level(logging.WARNING, logger="urllib3.connectionpool")
    return lambda: [r.getMessage() for r in caplog.records if POOL_FULL in r.getMessage()]


def test_threads_sharing_the_default_session_stream_at_once_without_discarding_connections(
    emu: Emulator, pool_warnings: Callable[[], List[str]]
) -> None:
    workers = DEFAULT_POOL_MAXSIZE
    with Session() as session:
        answers = gated_answers(emu, koala_on(emu, session), workers)
    assert answers == [question(i) for i in range(workers)]
    assert pool_warnings() == []


def test_pool_maxsize_sizes_the_pool_to_more_workers(
    emu: Emulator, pool_warnings: Callable[[], List[str]]
) -> None:
    workers = DEFAULT_POOL_MAXSIZE + 8
    with Session(pool_maxsize=workers) as session:
        answers = gated_answers(emu, koala_on(emu, session), workers)
    assert answers == [question(i) for i in range(workers)]
    assert pool_warnings() == []


def test_a_pool_smaller_than_the_workers_discards_connections_with_a_warning(
    emu: Emulator, pool_warnings: Callable[[], List[str]]
) -> None:
    """The check above can fail: too small a pool still answers, but urllib3 warns."""
    with Session(pool_maxsize=2) as session:
        answers = gated_answers(emu, koala_on(emu, session), 6)
    assert answers == [question(i) for i in range(6)]
    assert pool_warnings()


def test_run_batch_of_client_calls_on_one_session_answers_every_call(
    emu: Emulator, pool_warnings: Callable[[], List[str]]
) -> None:
    emu.koala = KoalaOptions()  # not gated: the batch's workers race freely
    with Session() as session:
        client = Client(emu.provider(Koala), session=session)
        calls = [
            functools.partial(
                client.chat.completions.create,
                [{"role": "user", "content": question(i)}],
                "",
            )
            for i in range(48)
        ]
        results = list(run_batch(calls, max_workers=16, progress=False))
    contents = [r.result().choices[0].message.content for r in results]
    assert contents == [question(i) for i in range(48)]
    assert pool_warnings() == []


def test_threaded_streams_on_one_session_interleave_without_crossing(
    emu: Emulator, pool_warnings: Callable[[], List[str]]
) -> None:
    """Every stream holds its connection while the consumer reads them round-robin."""
    emu.koala = KoalaOptions()
    koala = emu.provider(Koala)
    count = 12
    with Session() as session, contextlib.ExitStack() as stack:
        streams = [
            stack.enter_context(
                ThreadedStream(
                    functools.partial(
                        koala.create_completion,
                        "",
                        [{"role": "user", "content": question(i)}],
                        session=session,
                    ),
                    maxsize=1,
                )
            )
            for i in range(count)
        ]
        received: List[List[str]] = [[] for _ in streams]
        open_streams = list(enumerate(streams))
        while open_streams:
            for index, stream in list(open_streams):
                token = next(stream, None)
                if token is None:
                    open_streams.remove((index, stream))
                else:
                    received[index].append(token)
    assert ["".join(tokens) for tokens in received] == [question(i) for i in range(count)]
    assert pool_warnings() == []


@pytest.mark.parametrize("shared_session", [True, False], ids=["with-session", "own-sessions"])
def test_one_client_shared_by_threads_answers_each_its_own_question(
    emu: Emulator, pool_warnings: Callable[[], List[str]], shared_session: bool
) -> None:
    """A Client with a session streams on its pool; without, each call has its own."""
    workers = 16
    with contextlib.ExitStack() as stack:
        session = stack.enter_context(Session()) if shared_session else None
        client = Client(emu.provider(Koala), session=session)

        def ask(index: int) -> str:
            messages = [{"role": "user", "content": question(index)}]
            chunks = client.chat.completions.create(messages, "", stream=True)
            return "".join(chunk.choices[0].delta.content or "" for chunk in chunks)

        answers = gated_answers(emu, ask, workers)
    assert answers == [question(i) for i in range(workers)]
    assert pool_warnings() == []
