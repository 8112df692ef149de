"""Nothing leaked: no connection outlives the call that opened it, also while its error is
held, and a long run with faults mixed in ends with the descriptors and threads it began
with."""

from __future__ import annotations

import functools
import gc
import os
import threading
from typing import Any, Iterator, List

import pytest
from support import HI_THERE, port_of
from tcp_state import open_to, wait_until

from g4f_sync import Client, Retry, RetryProvider, errors, run_batch
from g4f_sync.emulator import Emulator
from g4f_sync.emulator import chatgptt as chatgptt_service
from g4f_sync.emulator import koala as koala_service
from g4f_sync.Provider import ChatGptt, Koala

QUICK_RETRY = Retry(total=1, backoff=0.001, backoff_max=0.001)
NO_ERROR = {
    "Koala": ("silent", "silent_head", "empty"),  # waiting for the client; an empty answer
    "ChatGptt": ("stale_nonce",),  # the provider fetches the page again and is answered
}


@pytest.fixture
def no_garbage_collection() -> Iterator[None]:
    """Errors and their tracebacks form cycles only the collector frees: with it off, what
    a held error keeps alive stays alive, as in a program that keeps its errors."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def failing_calls() -> List[Any]:
    faults = {"Koala": koala_service.FAULTS, "ChatGptt": chatgptt_service.FAULTS}
    return [(name, f) for name in faults for f in faults[name] if f not in NO_ERROR[name]]


@pytest.mark.usefixtures("no_garbage_collection")
@pytest.mark.parametrize("retries", [0, 1])
@pytest.mark.parametrize(("name", "fault"), failing_calls())
def test_no_connection_stays_open_while_an_error_is_held(
    emu: Emulator, name: str, fault: str, retries: int
) -> None:
    service = {"Koala": Koala, "ChatGptt": ChatGptt}[name]
    provider = emu.provider(service, fault=fault, retry_after="0")
    retry = QUICK_RETRY._replace(total=retries)
    with pytest.raises(errors.G4FError) as info:
        list(provider.create_completion("", HI_THERE, max_retries=retry))
    held = info.value
    assert open_to(port_of(emu.url)) == 0, f"{type(held).__name__} keeps a connection open"


@pytest.mark.usefixtures("no_garbage_collection")
def test_a_held_retry_provider_error_holds_no_connection(emu: Emulator) -> None:
    both = RetryProvider(
        [
            emu.provider(Koala, fault="rate_limit", retry_after="0"),
            emu.provider(ChatGptt, fault="cloudflare_post"),
        ],
        shuffle=False,
    )
    with pytest.raises(errors.RetryProviderError) as info:
        Client(both, max_retries=0).chat.completions.create(HI_THERE, "")
    assert [type(error) for _, error in info.value.errors] == [
        errors.RateLimitError,
        errors.CloudflareError,
    ]
    assert open_to(port_of(emu.url)) == 0


@pytest.mark.usefixtures("no_garbage_collection")
def test_failed_results_kept_from_a_batch_hold_no_connection(emu: Emulator) -> None:
    limited = emu.provider(Koala, fault="server_error")
    calls = [
        functools.partial(Client(limited, max_retries=0).chat.completions.create, HI_THERE, "")
    ]
    results = list(run_batch(calls * 50, max_workers=8))
    assert all(isinstance(result.error, errors.ResponseStatusError) for result in results)
    assert open_to(port_of(emu.url)) == 0


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


SOAK_QUERIES = [
    {},
    {"fault": "rate_limit", "retry_after": "0"},
    {"fault": "cloudflare"},
    {"fault": "server_error"},
    {"fault": "drop", "drop_after": 2},
    {"fault": "drop", "drop_after": 2, "framing": "close"},
    {"fault": "malformed"},
    {"fault": "empty"},
]
SILENT_QUERIES = [{"fault": "silent_head"}, {"fault": "silent", "drop_after": 1}]


def test_soak_thousands_of_streams_with_faults_end_at_the_baseline(emu: Emulator) -> None:
    """2,000 streams, more than half of them failing in nine ways, with their errors kept."""
    koalas = [emu.provider(Koala, **query) for query in SOAK_QUERIES]
    silent = [emu.provider(Koala, **query) for query in SILENT_QUERIES]
    chatgptt = emu.provider(ChatGptt, answer="sse")
    baseline = (open_descriptors(), threading.active_count())

    def ask(index: int) -> str:
        if index % 50 == 0:  # a read timeout ends these
            stream = silent[index // 50 % 2].create_completion("", HI_THERE, timeout=(5, 0.2))
        else:
            provider = chatgptt if index % 20 == 1 else koalas[index % len(koalas)]
            stream = provider.create_completion("", HI_THERE, timeout=30, max_retries=QUICK_RETRY)
        return "".join(stream)

    calls = [functools.partial(ask, index) for index in range(2000)]
    results = list(run_batch(calls, max_workers=8, progress=False))
    errors_held = [result.error for result in results if result.error is not None]
    assert {type(error).__name__ for error in errors_held} == {
        "RateLimitError",
        "CloudflareError",
        "InternalServerError",
        "StreamInterruptedError",
        "ResponseError",
        "TimeoutError",
    }
    assert len(errors_held) > 1000
    answers = [result.value for result in results if result.ok]
    assert answers.count("Hi there") == 2000 - len(errors_held) - answers.count("")
    assert open_to(port_of(emu.url)) == 0
    # The emulator's own handler threads and sockets end as the clients' connections close.
    assert wait_until(lambda: (open_descriptors(), threading.active_count()) == baseline, 10), (
        f"descriptors and threads {(open_descriptors(), threading.active_count())}"
        f" did not return to {baseline}"
    )
