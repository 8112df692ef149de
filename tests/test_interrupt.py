"""Interrupt scopes: one thread stops the connections a call opened in another."""

from __future__ import annotations

import threading
import time
from typing import Iterator, List, Optional

import pytest
import responses

from g4f_sync import errors, run_batch
from g4f_sync.emulator import Emulator
from g4f_sync.http import Transport
from g4f_sync.interrupt import InterruptScope, current_scope
from g4f_sync.Provider import Koala

HI = [{"role": "user", "content": "Hi"}]


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
    with pytest.raises(
        errors.ConnectionError, match=r"^interrupted by the caller before the answer began$"
    ):
        transport.post("http://api.test/")
    assert len(responses.calls) == 0


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def test_leaving_a_batch_early_stops_the_calls_already_running(emulator: Emulator) -> None:
    fast = emulator.provider(Koala, tokens=["ok"])
    silent = emulator.provider(Koala, tokens=["a", "b"], fault="silent", drop_after=1)

    def ask(provider: type[Koala]) -> str:
        return "".join(provider.create_completion("", HI, timeout=(5, 60)))

    batch = run_batch(
        [lambda: ask(fast), lambda: ask(silent), lambda: ask(silent)], max_workers=3, ordered=False
    )
    assert next(batch).value == "ok"
    assert emulator.wait_for_requests(3, timeout=5)
    stalled = [request for request in emulator.requests if request.query.get("fault") == "silent"]
    assert len(stalled) == 2
    batch.close()  # what Ctrl-C or break does: without the scopes these would read for 60 s
    assert all(request.disconnected.wait(2) for request in stalled)
    deadline = time.monotonic() + 5
    while any(t.name.startswith("g4f_sync.run_batch") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a batch worker is still running"
        for thread in threading.enumerate():
            if thread.name.startswith("g4f_sync.run_batch"):
                thread.join(0.1)
