"""Interrupt scopes: one thread stops the connections a call opened in another."""

from __future__ import annotations

import functools
import signal
import subprocess
import sys
import threading
import time
from typing import Iterator, List, Optional

import pytest
import responses
from support import HI, port_of
from tcp_state import SYN_SENT, Unanswered, established_to, states_to, wait_until

from g4f_sync import ThreadedStream, errors, run_batch
from g4f_sync.emulator import Emulator, EmulatorProcess
from g4f_sync.http import Transport
from g4f_sync.interrupt import InterruptScope, current_scope
from g4f_sync.Provider import Koala
from g4f_sync.Provider.registry import rebase_provider


class Member:
    def __init__(self) -> None:
        self.interrupts = 0

    def interrupt(self) -> None:
        self.interrupts += 1


def test_interrupt_reaches_every_member_and_later_ones_at_once() -> None:
    scope = InterruptScope()
    first, second = Member(), Member()
    scope.add(first)
    scope.interrupt()
    assert (first.interrupts, scope.interrupted) == (1, True)
    scope.add(second)  # added after the interrupt: interrupted on arrival
    assert second.interrupts == 1


def test_a_scope_is_active_only_in_its_thread_and_restores_the_previous_one() -> None:
    seen: List[Optional[InterruptScope]] = []
    with InterruptScope() as outer:
        with InterruptScope() as inner:
            assert current_scope() is inner
            worker = threading.Thread(target=lambda: seen.append(current_scope()))
            worker.start()
            worker.join()
        assert current_scope() is outer
    assert current_scope() is None
    assert seen == [None]


@responses.activate
def test_a_transport_made_in_a_scope_joins_it_and_refuses_to_send_once_interrupted() -> None:
    responses.post("http://api.test/", body="never")
    with InterruptScope() as scope:
        transport = Transport()
        scope.interrupt()
    assert transport.interrupted
    assert not Transport().interrupted  # made outside the scope
    with pytest.raises(errors.CancelledError, match=r"^interrupted by the caller$"):
        transport.post("http://api.test/")
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    "stall",
    [{"fault": "silent", "drop_after": 1}, {"fault": "silent_head"}],
    ids=["reading the body", "waiting for the head"],
)
def test_leaving_a_batch_early_stops_the_calls_already_running(emu: Emulator, stall: dict) -> None:
    fast = emu.provider(Koala, tokens=["ok"])
    silent = emu.provider(Koala, tokens=["a", "b"], **stall)

    def ask(provider: type[Koala]) -> str:
        return "".join(provider.create_completion("", HI, timeout=(5, 60)))

    batch = run_batch(
        [lambda: ask(fast), lambda: ask(silent), lambda: ask(silent)], max_workers=3, ordered=False
    )
    assert next(batch).value == "ok"
    assert emu.wait_for_requests(3, timeout=5)
    stalled = [request for request in emu.requests if request.query.get("fault")]
    assert len(stalled) == 2
    batch.close()  # what Ctrl-C or break does: without the scopes these would wait for 60 s
    assert all(request.disconnected.wait(5) for request in stalled)
    deadline = time.monotonic() + 5
    while any(t.name.startswith("g4f_sync.run_batch") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a batch worker is still running"
        for thread in threading.enumerate():
            if thread.name.startswith("g4f_sync.run_batch"):
                thread.join(0.1)


# interrupt() in every phase of a call


class Reader(threading.Thread):
    """Reads a stream to its end in a thread, keeping the tokens and the error."""

    def __init__(self, stream: Iterator[str]) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.tokens: List[str] = []
        self.error: Optional[BaseException] = None
        self.first_token = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            for token in self.stream:
                self.tokens.append(token)
                self.first_token.set()
        except BaseException as exc:
            self.error = exc


def wait_for_status(emu: Emulator, status: int) -> bool:
    return wait_until(lambda: any(r.status == status for r in emu.requests))


PHASES = {
    # phase: (emulator query, what shows the call is in that phase)
    "waiting for the head": ({"fault": "silent_head"}, lambda e, r: e.wait_for_requests(1, 5)),
    "waiting to retry": (
        {"fault": "rate_limit", "retry_after": "30"},
        lambda e, r: wait_for_status(e, 429),
    ),
    "reading a chunked body": (
        {"fault": "silent", "drop_after": 1, "tokens": ["a", "b"]},
        lambda e, r: r.first_token.wait(5),
    ),
    "reading a body that ends at EOF": (
        {"fault": "silent", "drop_after": 1, "tokens": ["a", "b"], "framing": "close"},
        lambda e, r: r.first_token.wait(5),
    ),
}


@pytest.mark.parametrize("phase", PHASES)
def test_interrupt_ends_the_call_in_every_phase_as_cancelled(emu: Emulator, phase: str) -> None:
    query, in_phase = PHASES[phase]
    stream = emu.provider(Koala, **query).create_completion("", HI, timeout=(60, 60), max_retries=1)
    reader = Reader(stream)
    assert in_phase(emu, reader)
    reached = stream.interrupt()
    reader.join(5)  # without the interrupt the call would wait 30 to 60 s
    assert not reader.is_alive()
    assert isinstance(reader.error, errors.CancelledError)
    assert str(reader.error) == "Koala: interrupted by the caller"
    assert reader.error.partial == "".join(reader.tokens) == ("a" if "body" in phase else "")
    assert reached or phase == "waiting to retry"  # a pause may hold no socket
    assert wait_until(lambda: established_to(port_of(emu.url)) == 0)  # the client closed its side


def test_interrupt_ends_a_call_that_is_still_connecting() -> None:
    with Unanswered() as server:
        stream = rebase_provider(Koala, server.url).create_completion(
            "", HI, timeout=(60, 60), max_retries=0
        )
        reader = Reader(stream)
        assert wait_until(lambda: SYN_SENT in states_to(server.port))
        assert stream.interrupt() is True
        reader.join(5)  # without the interrupt, the connect timeout: 60 s
        assert not reader.is_alive()
        assert isinstance(reader.error, errors.CancelledError)
        assert str(reader.error) == "Koala: interrupted by the caller"
        assert SYN_SENT not in states_to(server.port)


def test_interrupt_before_the_first_next_sends_nothing(emu: Emulator) -> None:
    stream = emu.provider(Koala).create_completion("", HI)
    assert stream.interrupt() is False  # nothing in progress
    with pytest.raises(errors.CancelledError, match=r"^Koala: interrupted by the caller$"):
        next(stream)
    assert emu.requests == []


def test_closing_a_threaded_stream_reaches_a_call_waiting_for_the_head(
    emu: Emulator,
) -> None:
    call = functools.partial(
        emu.provider(Koala, fault="silent_head").create_completion,
        "",
        HI,
        timeout=(60, 60),
    )
    stream = ThreadedStream(call)
    stream.__enter__()
    assert emu.wait_for_requests(1, timeout=5)
    stream.close()
    assert emu.requests[0].disconnected.wait(5)
    assert not [t for t in threading.enumerate() if t.name.startswith("g4f_sync.Threaded")]


BATCH_OF_SILENT_CALLS = """
import functools, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from g4f_sync import run_batch
from g4f_sync.Provider import Koala
from g4f_sync.Provider.registry import rebase_provider
silent = rebase_provider(Koala, sys.argv[1])
call = functools.partial(
    lambda: "".join(silent.create_completion("", [{"role": "user", "content": "Hi"}],
                                             timeout=(60, 60), max_retries=0)))
for result in run_batch([call] * 4, max_workers=4, progress=False):
    pass
"""


def test_ctrl_c_in_a_batch_ends_the_process_though_its_calls_wait_for_the_head() -> None:
    with EmulatorProcess(extra_args=["--fault", "silent_head"]) as emulator:
        port = port_of(emulator.url)
        client = subprocess.Popen(
            [sys.executable, "-c", BATCH_OF_SILENT_CALLS, emulator.url],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert wait_until(lambda: established_to(port) == 4, 10)
            client.send_signal(signal.SIGINT)
            _, stderr = client.communicate(timeout=10)  # without the fix: the 60 s timeout
        finally:
            client.kill()
    assert client.returncode != 0
    assert stderr.rstrip().endswith("KeyboardInterrupt")
