"""Koala end to end against the loopback emulator: streaming, framings, faults, closing."""

from __future__ import annotations

import gc
import threading
from typing import List

import pytest
from support import FAST, HI

from g4f_sync import Session, errors
from g4f_sync.emulator import Emulator, KoalaOptions
from g4f_sync.Provider import Koala

FRAMINGS = ["chunked", "close"]


def test_echo_answer_streams_word_by_word(emu: Emulator) -> None:
    koala = emu.provider(Koala)
    message = [{"role": "user", "content": "one two three"}]
    assert list(koala.create_completion("", message)) == ["one ", "two ", "three"]
    sent = emu.requests[0].json()
    assert sent == {
        "input": "one two three",
        "inputHistory": [],
        "outputHistory": [],
        "model": "gpt-4o-mini",
    }
    assert emu.requests[0].headers["Origin"] == emu.url


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("line_ending", ["\n", "\r\n", "\r"])
def test_every_framing_and_line_ending_delivers_the_tokens(
    emu: Emulator, framing: str, line_ending: str
) -> None:
    emu.koala = KoalaOptions(
        tokens=["Hé", "llo ", "wörld 🙂"], framing=framing, line_ending=line_ending
    )  # type: ignore[arg-type]
    assert list(emu.provider(Koala).create_completion("", HI)) == ["Hé", "llo ", "wörld 🙂"]


@pytest.mark.parametrize("framing", FRAMINGS)
def test_each_token_reaches_the_caller_before_the_server_sends_the_next(
    emu: Emulator, framing: str
) -> None:
    emu.koala = KoalaOptions(count=5, gated=True, framing=framing)  # type: ignore[arg-type]
    stream = emu.provider(Koala).create_completion("", HI)
    received: List[str] = []
    for index in range(5):
        emu.gate.release()  # allow exactly one more token
        received.append(next(stream))
        request = emu.requests[0]
        assert request.tokens_sent == index + 1  # the server has not sent the next one yet
    emu.gate.release()
    assert list(stream) == []
    assert received == [f"tok{i} " for i in range(5)]


@pytest.mark.parametrize("framing", FRAMINGS)
def test_done_ends_the_stream_and_closes_the_connection(emu: Emulator, framing: str) -> None:
    emu.koala = KoalaOptions(tokens=["a", "b"], done=True, framing=framing)  # type: ignore[arg-type]
    assert list(emu.provider(Koala).create_completion("", HI)) == ["a", "b"]


def test_rate_limit_raises_with_retry_after(emu: Emulator) -> None:
    emu.koala = KoalaOptions(fault="rate_limit", retry_after="7")
    with pytest.raises(
        errors.RateLimitError,
        match=r"^Koala: rate limited \(HTTP 429\) by POST .*/api/gpt/; retry after 7 s: Too many",
    ) as info:
        list(emu.provider(Koala).create_completion("", HI, max_retries=0))
    assert info.value.retry_after == 7.0


def test_cloudflare_page_raises_cloudflare_error(emu: Emulator) -> None:
    emu.koala = KoalaOptions(fault="cloudflare")
    with pytest.raises(errors.CloudflareError, match="answered with a Cloudflare challenge"):
        list(emu.provider(Koala).create_completion("", HI, max_retries=0))


def test_server_error_raises_status_error_after_the_retries(emu: Emulator) -> None:
    emu.koala = KoalaOptions(fault="server_error")
    with pytest.raises(
        errors.ResponseStatusError, match=r"^Koala: HTTP 500 .*\(after 3 attempts\)$"
    ) as info:
        list(emu.provider(Koala).create_completion("", HI, max_retries=FAST))
    assert info.value.status_code == 500
    assert len(emu.requests) == 3


@pytest.mark.parametrize("fault", ["rate_limit", "server_error"])
def test_retries_before_the_first_byte_then_streams(emu: Emulator, fault: str) -> None:
    emu.koala = KoalaOptions(tokens=["ok"], fault=fault, fault_count=1, retry_after="0")  # type: ignore[arg-type]
    assert list(emu.provider(Koala).create_completion("", HI, max_retries=FAST)) == ["ok"]
    assert len(emu.requests) == 2


@pytest.mark.parametrize("framing", FRAMINGS)
def test_a_drop_mid_stream_is_not_retried_and_keeps_the_tokens(emu: Emulator, framing: str) -> None:
    emu.koala = KoalaOptions(
        tokens=["a", "b", "c", "d"], fault="drop", drop_after=3, framing=framing
    )  # type: ignore[arg-type]
    received: List[str] = []
    with pytest.raises(
        errors.StreamInterruptedError, match=r"^Koala: the connection was lost mid-answer"
    ) as info:
        for token in emu.provider(Koala).create_completion("", HI, max_retries=FAST):
            received.append(token)
    assert received == ["a", "b", "c"]
    assert info.value.partial == "abc"
    assert isinstance(info.value, ConnectionError)
    assert len(emu.requests) == 1


@pytest.mark.parametrize("framing", FRAMINGS)
def test_three_tokens_then_close_never_loses_a_token(emu: Emulator, framing: str) -> None:
    """The reference lost tokens in about half of these runs."""
    emu.koala = KoalaOptions(tokens=["x", "y", "z"], fault="drop", drop_after=3, framing=framing)  # type: ignore[arg-type]
    koala = emu.provider(Koala)
    for _ in range(100):
        received: List[str] = []
        with pytest.raises(errors.StreamInterruptedError):
            for token in koala.create_completion("", HI, max_retries=0):
                received.append(token)
        assert received == ["x", "y", "z"]


def test_non_streaming_drop_attaches_the_partial_text(emu: Emulator) -> None:
    emu.koala = KoalaOptions(tokens=["a", "b", "c", "d"], fault="drop", drop_after=2)
    with pytest.raises(errors.StreamInterruptedError) as info:
        list(emu.provider(Koala).create_completion("", HI, stream=False, max_retries=0))
    assert info.value.partial == "ab"


def test_malformed_line_raises_after_the_earlier_tokens(emu: Emulator) -> None:
    emu.koala = KoalaOptions(tokens=["a", "b", "c"], fault="malformed", drop_after=2)
    received: List[str] = []
    with pytest.raises(
        errors.ResponseError, match=r"cannot read the event line 'data: \{not json'"
    ) as info:
        for token in emu.provider(Koala).create_completion("", HI):
            received.append(token)
    assert received == ["a", "b"]
    assert info.value.partial == "ab"


def test_empty_stream_yields_nothing_and_raises_nothing(emu: Emulator) -> None:
    emu.koala = KoalaOptions(fault="empty")
    assert list(emu.provider(Koala).create_completion("", HI)) == []
    assert list(emu.provider(Koala).create_completion("", HI, stream=False)) == [""]


def test_silent_server_mid_stream_gives_the_timeout_error(emu: Emulator) -> None:
    emu.koala = KoalaOptions(tokens=["a", "b", "c"], fault="silent", drop_after=1)
    received: List[str] = []
    with pytest.raises(errors.TimeoutError, match="went silent mid-answer") as info:
        for token in emu.provider(Koala).create_completion("", HI, timeout=(2, 0.3)):
            received.append(token)
    assert received == ["a"]
    assert info.value.partial == "a"
    assert isinstance(info.value, TimeoutError)
    assert emu.requests[0].disconnected.wait(2)


def test_silent_server_before_the_answer_gives_the_timeout_error_without_retry(
    emu: Emulator,
) -> None:
    emu.koala = KoalaOptions(fault="silent_head")
    with pytest.raises(
        errors.TimeoutError, match=r"^Koala: the server sent nothing within the read timeout"
    ):
        list(emu.provider(Koala).create_completion("", HI, timeout=(2, 0.3), max_retries=FAST))
    assert len(emu.requests) == 1


def test_refused_connection_is_a_connection_error() -> None:
    with Emulator() as stopped:
        koala = stopped.provider(Koala)
    with pytest.raises(errors.ConnectionError) as info:
        list(koala.create_completion("", HI, max_retries=FAST))
    host = stopped.url.split("//")[1]
    assert str(info.value) == (
        f"Koala: could not connect to {host}: Connection refused (after 3 attempts)"
    )
    assert info.value.partial == ""


@pytest.mark.parametrize("framing", FRAMINGS)
def test_break_then_garbage_collection_closes_the_connection(emu: Emulator, framing: str) -> None:
    emu.koala = KoalaOptions(count=1000, delay=0.005, framing=framing)  # type: ignore[arg-type]
    for token in emu.provider(Koala).create_completion("", HI):
        assert token == "tok0 "
        break
    gc.collect()
    assert emu.requests[0].disconnected.wait(2)


def test_close_and_with_exit_close_the_connection(emu: Emulator) -> None:
    emu.koala = KoalaOptions(count=1000, delay=0.005)
    koala = emu.provider(Koala)
    stream = koala.create_completion("", HI)
    next(stream)
    stream.close()
    assert emu.requests[0].disconnected.wait(2)
    with koala.create_completion("", HI) as second:
        next(second)
    assert emu.requests[1].disconnected.wait(2)
    with pytest.raises(StopIteration):
        next(stream)


def test_interrupt_from_another_thread_unblocks_a_read_on_a_silent_server(
    emu: Emulator,
) -> None:
    emu.koala = KoalaOptions(tokens=["a", "b"], fault="silent", drop_after=1)
    stream = emu.provider(Koala).create_completion("", HI)
    assert next(stream) == "a"
    finished = threading.Event()

    def read_rest() -> None:
        try:
            list(stream)
        except errors.G4FError:
            pass
        finished.set()

    reader = threading.Thread(target=read_rest)
    reader.start()
    assert not finished.wait(0.2)  # blocked on the silent server
    stream.interrupt()
    assert finished.wait(2)
    reader.join(2)
    assert emu.requests[0].disconnected.wait(2)


def test_shared_session_reuses_one_connection(emu: Emulator) -> None:
    emu.koala = KoalaOptions(tokens=["a"])
    koala = emu.provider(Koala)
    with Session() as session:
        for _ in range(3):
            assert list(koala.create_completion("", HI, session=session)) == ["a"]
        pools = session.get_adapter(emu.url).poolmanager.pools
        keys = pools.keys()  # urllib3's pool container is not iterable itself
        assert [pools[key].num_connections for key in keys] == [1]
    assert len(emu.requests) == 3
