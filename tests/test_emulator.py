"""The loopback emulator, checked from the client side: raw sockets, http.client, requests."""

from __future__ import annotations

import gc
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import types
import warnings
import weakref
from types import SimpleNamespace
from typing import Any, Optional

import pytest
import requests
from support import ROOT, TIMEOUT, MakeEmulator, allocations_grown, port_of

import g4f_sync.emulator as emulator_package
from g4f_sync.emulator import Emulator, EmulatorProcess, KoalaOptions
from g4f_sync.emulator.cli import add_arguments, emulator_from, run
from g4f_sync.emulator.koala import echo_tokens
from g4f_sync.emulator.pacer import PacedStream
from g4f_sync.emulator.server import DEFAULT_KEEP_REQUESTS, Exchange, LoopbackServer

API = "/api/gpt/"
BODY = {
    "input": "Say hello world",
    "inputHistory": ["Hi"],
    "outputHistory": ["Hello!"],
    "model": "",
}


def post(emu: Emulator, query: str = "", body: Any = BODY, **kwargs: Any) -> requests.Response:
    url = emu.url + API + (f"?{query}" if query else "")
    kwargs.setdefault("timeout", TIMEOUT)
    return requests.post(url, json=body, **kwargs)


def events(body: bytes, line_ending: bytes = b"\n") -> list[str]:
    """The data of every event in a well-formed Koala body."""
    blocks = body.split(line_ending * 2)
    assert blocks[-1] == b""
    return [block.decode().removeprefix("data: ") for block in blocks[:-1]]


def tokens(body: bytes) -> list[str]:
    return [json.loads(data) for data in events(body)]


# Raw sockets: what the wire carries, byte for byte.


def open_request(
    emu: Emulator,
    query: str = "",
    body: bytes = json.dumps(BODY).encode(),
    *,
    method: str = "POST",
    path: str = API,
    version: str = "HTTP/1.1",
    rcvbuf: Optional[int] = None,
) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port_of(emu.url)))
    target = path + (f"?{query}" if query else "")
    head = (
        f"{method} {target} {version}\r\nHost: koala.sh\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, lower-cased headers, and whatever of the body came with them."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, f"EOF inside the head: {data!r}"
        data += piece
    head, rest = data.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode().split("\r\n")
    headers = {}
    for line in lines:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, rest


def read_to_end(sock: socket.socket, chunk: int = 65536) -> tuple[bytes, Optional[str]]:
    """Everything until EOF, and how it ended: None for EOF, else the error's class name."""
    data = bytearray()
    while True:
        try:
            piece = sock.recv(chunk)
        except OSError as exc:
            return bytes(data), type(exc).__name__
        if not piece:
            return bytes(data), None
        data += piece


def dechunk(data: bytes) -> tuple[list[bytes], bool]:
    """The chunks of a chunked body, and whether it had its terminating chunk."""
    chunks = []
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks, data == b"\r\n"
        chunks.append(data[:size])
        assert data[size : size + 2] == b"\r\n"
        data = data[size + 2 :]
    return chunks, False


def read_chunk(sock: socket.socket, buffered: bytes) -> tuple[bytes, bytes]:
    """One whole chunk from ``buffered`` plus the socket; returns it and the leftover."""
    while True:
        if b"\r\n" in buffered:
            size_line, rest = buffered.split(b"\r\n", 1)
            size = int(size_line, 16)
            if len(rest) >= size + 2:
                return rest[:size], rest[size + 2 :]
        piece = sock.recv(65536)
        assert piece, "EOF inside a chunk"
        buffered += piece


def nothing_pending(sock: socket.socket) -> bool:
    """True when no byte waits on ``sock`` right now (and it is not at EOF)."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    finally:
        sock.settimeout(TIMEOUT)
    return False


# Normal answers


def test_echo_repeats_the_words_of_input(emu: Emulator) -> None:
    response = post(emu)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.content == b'data: "Say "\n\ndata: "hello "\n\ndata: "world"\n\n'


@pytest.mark.parametrize("text", ["", "one", "a  b", "trailing ", " lead", "line\nbreak x"])
def test_echo_tokens_join_to_the_input(text: str) -> None:
    assert "".join(echo_tokens(text)) == text
    assert all(token for token in echo_tokens(text))


def test_scripted_tokens_are_sent_as_json_strings_in_utf8(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(koala=KoalaOptions(tokens=["Hallo", ", Wörld", ' "q"\n']))
    response = post(emu)
    expected = 'data: "Hallo"\n\ndata: ", Wörld"\n\ndata: " \\"q\\"\\n"\n\n'
    assert response.content == expected.encode()
    assert emu.requests[0].tokens_sent == 3


def test_count_generates_numbered_tokens_and_overrides_tokens(emu: Emulator) -> None:
    emu.koala.tokens = ["ignored"]
    emu.koala.count = 3
    assert tokens(post(emu).content) == ["tok0 ", "tok1 ", "tok2 "]
    assert tokens(post(emu, "count=0").content) == []


def test_done_ends_the_stream(emu: Emulator) -> None:
    emu.koala.done = True
    assert events(post(emu, "tokens=a").content) == ['"a"', "[DONE]"]


def test_timestamps_are_monotonic_send_times(emu: Emulator) -> None:
    before = time.monotonic()
    stamps = [float(token) for token in tokens(post(emu, "count=3&timestamps=1").content)]
    after = time.monotonic()
    assert len(stamps) == 3
    assert before <= stamps[0] <= stamps[1] <= stamps[2] <= after


def test_delay_spaces_the_tokens(emu: Emulator) -> None:
    stamps = [float(t) for t in tokens(post(emu, "count=3&timestamps=1&delay=0.02").content)]
    assert stamps[2] - stamps[0] >= 0.04


def test_chat_page(emu: Emulator) -> None:
    response = requests.get(emu.url + "/chat", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html" in response.text


def test_unknown_path_and_wrong_method(emu: Emulator) -> None:
    assert requests.get(emu.url + "/nowhere", timeout=TIMEOUT).status_code == 404
    response = requests.get(emu.url + API, timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


# Framing and line endings


def test_chunked_framing_sends_one_chunk_per_event(emu: Emulator) -> None:
    with open_request(emu, "tokens=a,b&done=1") as sock:
        status, headers, rest = read_head(sock)
        assert status == 200
        assert headers["transfer-encoding"] == "chunked"
        assert "content-length" not in headers
        body = rest
        while not body.endswith(b"0\r\n\r\n"):
            body += sock.recv(65536)
    chunks, complete = dechunk(body)
    assert complete
    assert chunks == [b'data: "a"\n\n', b'data: "b"\n\n', b"data: [DONE]\n\n"]


def test_close_framing_ends_the_body_at_eof(emu: Emulator) -> None:
    with open_request(emu, "framing=close&tokens=a,b") as sock:
        status, headers, rest = read_head(sock)
        body, error = read_to_end(sock)
    assert status == 200
    assert headers["connection"] == "close"
    assert "content-length" not in headers
    assert "transfer-encoding" not in headers
    assert error is None
    assert rest + body == b'data: "a"\n\ndata: "b"\n\n'


def test_keep_alive_serves_several_requests_on_one_connection(emu: Emulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port_of(emu.url))
    try:
        for n in range(3):
            connection.request("POST", f"{API}?count={n}", json.dumps(BODY))
            sock = connection.sock
            assert tokens(connection.getresponse().read()) == [f"tok{i} " for i in range(n)]
            assert connection.sock is sock is not None
    finally:
        connection.close()
    assert len(emu.requests) == 3


def test_http10_client_gets_close_framing(emu: Emulator) -> None:
    with open_request(emu, "tokens=a", version="HTTP/1.0") as sock:
        _, headers, rest = read_head(sock)
        body, error = read_to_end(sock)
    assert "transfer-encoding" not in headers
    assert (rest + body, error) == (b'data: "a"\n\n', None)


@pytest.mark.parametrize(("name", "ending"), [("lf", b"\n"), ("crlf", b"\r\n"), ("cr", b"\r")])
@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_line_endings(emu: Emulator, name: str, ending: bytes, framing: str) -> None:
    response = post(emu, f"tokens=a,b&done=1&line_ending={name}&framing={framing}")
    expected = b'data: "a"' + ending * 2 + b'data: "b"' + ending * 2 + b"data: [DONE]" + ending * 2
    assert response.content == expected


def test_line_ending_option_is_used_for_every_line(emu: Emulator) -> None:
    emu.koala.line_ending = "\r\n"
    assert post(emu, "tokens=x&fault=malformed&drop_after=0").content == (
        b'data: {not json\r\n\r\ndata: "x"\r\n\r\n'
    )


# Faults


def test_rate_limit(emu: Emulator) -> None:
    emu.koala.fault = "rate_limit"
    response = post(emu, "retry_after=7")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.headers["Content-Type"] == "application/json"
    assert "error" in response.json()
    assert post(emu).headers["Retry-After"] == "1"


def test_cloudflare_challenge(emu: Emulator) -> None:
    response = post(emu, "fault=cloudflare")
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Server"] == "cloudflare"
    assert "<title>Just a moment...</title>" in response.text
    assert '<div id="cf-please-wait">' in response.text


def test_server_error(emu: Emulator) -> None:
    response = post(emu, "fault=server_error")
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.strip()


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_empty_stream(emu: Emulator, framing: str) -> None:
    response = post(emu, f"fault=empty&done=1&framing={framing}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.content == b""


def test_malformed_event_comes_after_drop_after_tokens(emu: Emulator) -> None:
    response = post(emu, "fault=malformed&drop_after=2&tokens=a,b,c&done=1")
    assert events(response.content) == ['"a"', '"b"', "{not json", '"c"', "[DONE]"]


def test_malformed_event_at_the_end_when_tokens_run_out(emu: Emulator) -> None:
    response = post(emu, "fault=malformed&tokens=a")
    assert events(response.content) == ['"a"', "{not json"]


def test_drop_in_chunked_framing_leaves_the_body_incomplete(emu: Emulator) -> None:
    emu.koala.fault = "drop"
    with open_request(emu, "count=5&done=1") as sock:
        _, headers, rest = read_head(sock)
        body, error = read_to_end(sock)
    assert headers["transfer-encoding"] == "chunked"
    chunks, complete = dechunk(rest + body)
    assert (chunks, complete, error) == ([b'data: "tok%d "\n\n' % i for i in range(3)], False, None)
    assert emu.requests[0].tokens_sent == 3


def test_drop_in_chunked_framing_breaks_requests_after_the_tokens(emu: Emulator) -> None:
    received = []
    response = post(emu, "fault=drop&drop_after=2&count=5", stream=True)
    with response, pytest.raises(requests.exceptions.ChunkedEncodingError):
        for chunk in response.iter_content(chunk_size=None):
            received.append(chunk)
    assert b"".join(received) == b'data: "tok0 "\n\ndata: "tok1 "\n\n'


def test_drop_in_close_framing_resets_after_every_written_byte(
    make_emulator: MakeEmulator,
) -> None:
    """The client reads only after the RST arrived, in small pieces: no byte is lost."""
    expected = b'data: "tok0 "\n\ndata: "tok1 "\n\ndata: "tok2 "\n\n'
    emu = make_emulator(koala=KoalaOptions(fault="drop", framing="close", count=5))
    for i in range(200):
        with open_request(emu) as sock:
            assert emu.wait_for_requests(i + 1, TIMEOUT)
            assert emu.requests[i].finished.wait(TIMEOUT)  # the RST is on its way
            _, headers, rest = read_head(sock)
            body, error = read_to_end(sock, chunk=7)
        assert headers["connection"] == "close"
        assert (rest + body, error) == (expected, "ConnectionResetError")


def test_drop_in_close_framing_waits_for_a_slow_reader(make_emulator: MakeEmulator) -> None:
    """Far more than the client's receive buffer holds: the RST waits until it was all read.

    Without that wait the kernel discards what is still in the server's send queue.
    """
    script = [f"{i:09d}" + "x" * 9990 for i in range(100)]
    emu = make_emulator(
        koala=KoalaOptions(tokens=script, fault="drop", framing="close", drop_after=100)
    )
    with open_request(emu, rcvbuf=4096) as sock:
        _, _, rest = read_head(sock)
        body, error = read_to_end(sock, chunk=4096)
    assert error == "ConnectionResetError"
    assert tokens(rest + body) == script


def test_silent_sends_the_head_and_tokens_then_nothing(emu: Emulator) -> None:
    emu.koala.fault = "silent"
    with open_request(emu, "count=5&drop_after=1") as sock:
        status, _, rest = read_head(sock)
        chunk, rest = read_chunk(sock, rest)
        assert (status, chunk, rest) == (200, b'data: "tok0 "\n\n', b"")
        record = emu.requests[0]
        assert record.tokens_sent == 1
        sock.settimeout(0.2)
        with pytest.raises(socket.timeout):
            sock.recv(1)
        assert not record.disconnected.is_set()
    assert record.disconnected.wait(TIMEOUT)
    assert record.finished.wait(TIMEOUT)


def test_silent_is_a_read_timeout_for_requests(emu: Emulator) -> None:
    with post(emu, "fault=silent&drop_after=0", stream=True, timeout=(TIMEOUT, 0.2)) as response:
        assert response.status_code == 200
        with pytest.raises(requests.exceptions.ConnectionError, match="Read timed out"):
            next(response.iter_content(1))
    assert emu.requests[0].disconnected.wait(TIMEOUT)


def test_silent_head_never_answers(emu: Emulator) -> None:
    emu.koala.fault = "silent_head"
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(emu, timeout=(TIMEOUT, 0.2))
    record = emu.requests[0]
    assert record.disconnected.wait(TIMEOUT)
    assert record.finished.wait(TIMEOUT)
    assert record.status is None


def test_fault_count_limits_the_fault_to_the_first_requests(emu: Emulator) -> None:
    emu.koala.fault = "rate_limit"
    emu.koala.fault_count = 1
    assert [post(emu).status_code for _ in range(3)] == [429, 200, 200]
    emu.koala = KoalaOptions(fault="server_error", fault_count=2)  # a new count
    assert [post(emu).status_code for _ in range(3)] == [500, 500, 200]


def test_rejected_requests_do_not_count_for_fault_count(emu: Emulator) -> None:
    emu.koala = KoalaOptions(fault="rate_limit", fault_count=1)
    assert post(emu, body={"no": "input"}).status_code == 400
    assert [post(emu).status_code for _ in range(2)] == [429, 200]


# Query parameters and request validation


def test_query_overrides_options(emu: Emulator) -> None:
    emu.koala = KoalaOptions(tokens=["a"], fault="server_error", framing="close")
    response = post(emu, "tokens=x,%20y&fault=none&framing=chunked")
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert tokens(response.content) == ["x", " y"]
    assert post(emu).status_code == 500


def test_unknown_query_parameters_are_named_in_a_400(emu: Emulator) -> None:
    response = post(emu, "count=1&bogus=1&other=")
    assert response.status_code == 400
    assert "bogus, other" in response.json()["error"]


@pytest.mark.parametrize(
    "query", ["count=x", "count=-1", "delay=-1", "framing=gzip", "fault=fire", "done=maybe"]
)
def test_bad_query_values_are_named_in_a_400(emu: Emulator, query: str) -> None:
    response = post(emu, query)
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "'input'"),
        (b'{"inputHistory": []}', "'input'"),
        (b'{"input": 3}', "'input'"),
        (b'{"input": "x", "inputHistory": "Hi"}', "inputHistory"),
        (b'{"input": "x", "outputHistory": [1]}', "outputHistory"),
        (b'{"input": "x", "model": null}', "model"),
    ],
)
def test_bad_request_bodies_get_a_400(emu: Emulator, body: bytes, message: str) -> None:
    response = requests.post(emu.url + API, data=body, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert message in response.json()["error"]


def test_misconfigured_options_get_a_500(emu: Emulator) -> None:
    emu.koala.framing = "smoke"  # type: ignore[assignment]
    response = post(emu)
    assert response.status_code == 500
    assert "framing" in response.json()["error"]


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="framing"):
        KoalaOptions(framing="gzip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="drop_after"):
        KoalaOptions(drop_after=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tokens"):
        KoalaOptions(tokens="abc")
    with pytest.raises(ValueError, match="line_ending"):
        KoalaOptions(line_ending="\n\n")


def test_chunked_request_bodies_are_read(emu: Emulator) -> None:
    response = requests.post(emu.url + API, data=iter([b'{"input": ', b'"a b"}']), timeout=TIMEOUT)
    assert tokens(response.content) == ["a ", "b"]
    assert emu.requests[0].headers["Transfer-Encoding"] == "chunked"
    assert emu.requests[0].json() == {"input": "a b"}


# Recording


def test_requests_are_recorded_in_order_with_headers_and_body(emu: Emulator) -> None:
    post(emu, "count=2", headers={"Visitor-ID": "abc123", "Flag-Real-Time-Data": "false"})
    requests.get(emu.url + "/chat?x=1", timeout=TIMEOUT)
    first, second = emu.requests
    assert (first.method, first.path, first.query) == ("POST", API, {"count": "2"})
    assert first.headers["visitor-id"] == "abc123"
    assert first.headers["FLAG-REAL-TIME-DATA"] == "false"
    assert first.json() == BODY
    assert json.loads(first.body) == BODY
    assert (first.status, first.tokens_sent) == (200, 2)
    assert first.finished.is_set() and not first.disconnected.is_set()
    assert (second.method, second.path, second.query) == ("GET", "/chat", {"x": "1"})
    assert second.body == b""


def get_chat_pages(emu: Emulator, count: int) -> None:
    """``GET /chat?i=0`` to ``?i=count-1``, one after another on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port_of(emu.url), timeout=TIMEOUT)
    try:
        for i in range(count):
            connection.request("GET", f"/chat?i={i}")
            assert connection.getresponse().read()
    finally:
        connection.close()


def test_only_the_last_keep_requests_are_kept_in_order_and_every_one_is_counted(
    make_emulator: MakeEmulator,
) -> None:
    emu = make_emulator(keep_requests=3)
    with requests.Session() as session:
        for i in range(7):
            session.post(emu.url + API, json={**BODY, "input": f"q{i}"}, timeout=TIMEOUT)
    assert emu.wait_for_requests(7, TIMEOUT)  # more than are kept
    assert not emu.wait_for_requests(8, 0)
    assert emu.request_count == 7
    kept = emu.requests
    assert [record.json()["input"] for record in kept] == ["q4", "q5", "q6"]
    assert [record.number for record in kept] == [5, 6, 7]
    assert all(record.status == 200 for record in kept)


@pytest.mark.parametrize(
    ("keep", "kept"),
    [({}, DEFAULT_KEEP_REQUESTS), ({"keep_requests": None}, DEFAULT_KEEP_REQUESTS + 1)],
    ids=["bounded-by-default", "none-keeps-all"],
)
def test_an_emulator_keeps_a_bounded_record_by_default_and_every_request_with_none(
    make_emulator: MakeEmulator, keep: dict[str, Any], kept: int
) -> None:
    emu = make_emulator(**keep)
    get_chat_pages(emu, DEFAULT_KEEP_REQUESTS + 1)
    assert emu.wait_for_requests(DEFAULT_KEEP_REQUESTS + 1, TIMEOUT)
    records = emu.requests
    assert emu.request_count == DEFAULT_KEEP_REQUESTS + 1
    assert len(records) == kept
    assert records[-1].query == {"i": str(DEFAULT_KEEP_REQUESTS)}
    assert records[0].query == {"i": str(DEFAULT_KEEP_REQUESTS + 1 - kept)}


def test_records_no_longer_kept_are_freed(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(keep_requests=5)
    connection = http.client.HTTPConnection("127.0.0.1", port_of(emu.url), timeout=TIMEOUT)
    weak_records: list[weakref.ref[Any]] = []
    for i in range(50):
        connection.request("GET", f"/chat?i={i}")
        assert connection.getresponse().read()
        weak_records.append(weakref.ref(emu.requests[-1]))
    connection.close()
    assert emu.requests[-1].finished.wait(TIMEOUT)
    gc.collect()
    alive = [weak() for weak in weak_records if weak() is not None]
    assert [record.query["i"] for record in alive] == ["45", "46", "47", "48", "49"]


def test_requests_is_a_new_list_on_every_call(emu: Emulator) -> None:
    post(emu)
    snapshot = emu.requests
    snapshot.clear()
    post(emu)
    assert len(emu.requests) == 2 and snapshot == []


@pytest.mark.parametrize("keep_requests", [-1, "3", 2.5, True])
def test_keep_requests_must_be_none_or_a_count(keep_requests: Any) -> None:
    with pytest.raises(ValueError, match="keep_requests"):
        Emulator(keep_requests=keep_requests)


# The gate and disconnects


def test_gate_holds_each_token_until_released(emu: Emulator) -> None:
    emu.koala.gated = True
    with open_request(emu, "count=2&done=1") as sock:
        status, _, rest = read_head(sock)
        assert (status, rest) == (200, b"")
        record = emu.requests[0]
        assert nothing_pending(sock) and record.tokens_sent == 0
        emu.gate.release()
        chunk, rest = read_chunk(sock, rest)
        assert chunk == b'data: "tok0 "\n\n'
        assert rest == b"" and nothing_pending(sock) and record.tokens_sent == 1
        emu.gate.release()
        chunk, rest = read_chunk(sock, rest)
        assert chunk == b'data: "tok1 "\n\n'
        chunk, rest = read_chunk(sock, rest)
        assert chunk == b"data: [DONE]\n\n"
    assert record.finished.wait(TIMEOUT)
    assert not record.disconnected.is_set()


def test_client_closing_at_the_gate_is_recorded(emu: Emulator) -> None:
    with open_request(emu, "count=2&gated=1") as sock:
        read_head(sock)
    record = emu.requests[0]
    assert record.disconnected.wait(TIMEOUT)
    assert record.finished.wait(TIMEOUT)
    assert record.tokens_sent == 0


@pytest.mark.parametrize(
    ("count", "pacing"),
    [(100, "&delay=0.01"), (10_000_000, "")],
    ids=["during a delay", "while the server writes"],
)
def test_client_closing_after_the_first_token_is_recorded(
    emu: Emulator, count: int, pacing: str
) -> None:
    with open_request(emu, f"count={count}{pacing}") as sock:
        _, _, rest = read_head(sock)
        read_chunk(sock, rest)
    record = emu.requests[0]
    assert record.disconnected.wait(TIMEOUT)
    assert record.finished.wait(TIMEOUT)
    assert record.tokens_sent < count


# Lifecycle


def test_close_ends_every_request_and_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    emu = Emulator(koala=KoalaOptions(count=10)).start()
    sockets = [
        open_request(emu, "fault=silent_head"),
        open_request(emu, "fault=silent&drop_after=1"),
        open_request(emu, "gated=1"),
        open_request(emu, "delay=60"),
        open_request(emu, "fault=drop&framing=close&drop_after=1000000", rcvbuf=4096),
        open_request(emu, "count=1"),  # answered, then idle on keep-alive
        socket.create_connection(("127.0.0.1", port_of(emu.url))),  # no request
    ]
    try:
        assert emu.wait_for_requests(6, TIMEOUT)
        assert threading.active_count() > len(before)
        started = time.monotonic()
        emu.close()
        assert time.monotonic() - started < 1.5
        assert set(threading.enumerate()) == before
        assert all(record.finished.is_set() for record in emu.requests)
        assert not any(record.disconnected.is_set() for record in emu.requests)
        emu.close()  # idempotent
    finally:
        for sock in sockets:
            sock.close()


def test_a_connection_without_a_thread_is_closed_and_forgotten(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class NoConnectionThreads(threading.Thread):
        def start(self) -> None:
            if self.name.startswith("g4f-sync-emulator connection"):
                raise RuntimeError("can't start new thread")
            super().start()

    with Emulator() as emu:
        monkeypatch.setattr(threading, "Thread", NoConnectionThreads)
        with open_request(emu) as sock:
            assert read_to_end(sock)[0] == b""  # accepted, then closed (FIN or RST) unanswered
        monkeypatch.undo()
        assert "can't start new thread" in capsys.readouterr().err
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            emu.close()  # no unstarted thread to join
        assert emu.request_count == 0


def test_emulator_is_started_once() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError):
        emu.url  # noqa: B018
    with emu:
        with pytest.raises(RuntimeError):
            emu.start()
        assert emu.url.startswith("http://127.0.0.1:")


def test_an_emulator_never_closed_does_not_keep_the_interpreter_alive() -> None:
    code = (
        "import socket\n"
        "from g4f_sync.emulator import Emulator\n"
        "emu = Emulator().start()\n"
        "port = int(emu.url.rsplit(':', 1)[1])\n"
        "sock = socket.create_connection(('127.0.0.1', port))\n"
        "sock.sendall(b'POST /api/gpt/?fault=silent_head HTTP/1.1\\r\\n"
        'Content-Length: 12\\r\\n\\r\\n{"input":""}\')\n'
        "assert emu.wait_for_requests(1, 5)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=10, capture_output=True)
    assert (result.returncode, result.stderr) == (0, b"")


def serve_one_request() -> None:
    with Emulator() as emu:
        assert post(emu).status_code == 200


def test_starting_and_closing_emulators_leaves_nothing_behind() -> None:
    only_the_emulator = [
        tracemalloc.Filter(True, os.path.dirname(emulator_package.__file__) + "/*")
    ]
    assert allocations_grown(serve_one_request, only_the_emulator, repeat=10) == []


def test_provider_rebases_url_and_api_endpoint(emu: Emulator) -> None:
    class Koala:
        """A stand-in provider."""

        url = "https://koala.sh/chat"
        api_endpoint = "https://koala.sh/api/gpt/"
        working = False

    local = emu.provider(Koala)
    assert issubclass(local, Koala)
    assert local.__name__ == "Koala" and local.__doc__ == Koala.__doc__
    assert local.url == emu.url + "/chat"
    assert local.api_endpoint == emu.url + "/api/gpt/"
    assert local.working is True
    assert Koala.url == "https://koala.sh/chat" and Koala.working is False

    scripted = emu.provider(Koala, tokens=["a", " b"], fault=None, done=True, line_ending="\r\n")
    assert scripted.api_endpoint == (
        emu.url + "/api/gpt/?tokens=a%2C%20b&fault=none&done=true&line_ending=%0D%0A"
    )
    response = requests.post(scripted.api_endpoint, json=BODY, timeout=TIMEOUT)
    assert response.content == b'data: "a"\r\n\r\ndata: " b"\r\n\r\ndata: [DONE]\r\n\r\n'


def test_provider_without_api_endpoint(emu: Emulator) -> None:
    class Site:
        url = "https://chatgptt.me"

    assert emu.provider(Site).url == emu.url
    with pytest.raises(ValueError, match="api_endpoint"):
        emu.provider(Site, count=1)


def test_public_names() -> None:
    public = {
        name
        for name, value in vars(emulator_package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)  # submodules
    }
    public -= {"annotations"}
    assert set(emulator_package.__all__) == public


# Command line


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_until_interrupted(stop: signal.Signals) -> None:
    with EmulatorProcess(["--count", "2", "--done"]) as process:
        response = requests.post(process.url + API, json=BODY, timeout=TIMEOUT)
        assert events(response.content) == ['"tok0 "', '"tok1 "', "[DONE]"]
        assert process.stop(stop) == (130 if stop == signal.SIGINT else 0)  # SIGTERM: asked to stop


def test_cli_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run(parser.parse_args(["--count", "-1"])) == 2
    assert "count" in capsys.readouterr().err


def test_cli_server_keeps_no_record_of_requests() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with emulator_from(parser.parse_args(["--count", "1"])) as emu:
        get_chat_pages(emu, 3)
        assert post(emu).status_code == 200
        assert emu.wait_for_requests(4, TIMEOUT)
        assert (emu.request_count, emu.requests) == (4, [])


# Paced streams (delay > 0): one pacer thread writes for every stream


def test_pacer_writes_every_stream_in_due_order() -> None:
    """Pieces already due go out back to back, earliest due first, streams interleaved."""
    server = LoopbackServer()
    pairs = [socket.socketpair() for _ in range(3)]
    written: list[str] = []
    stalled, release = threading.Event(), threading.Event()

    def stall(index: int) -> bytes:  # holds the pacer while the other streams come in
        stalled.set()
        release.wait(TIMEOUT)
        return b"s"

    def recorder(name: str) -> Any:
        def piece(index: int) -> bytes:
            written.append(f"{name}{index}")
            return f"{name}{index} ".encode()

        return piece

    def paced(pair: int, piece: Any, count: int, due: float) -> PacedStream:
        exchange = SimpleNamespace(
            connection=pairs[pair][0],
            fin_visible=True,
            client_sent_data=lambda: None,
            frame=lambda data: data,  # close framing
        )
        return PacedStream(exchange, piece, 0, count, 0.002, due)

    try:
        pacer = server.pacer()
        assert pacer is not None
        past = time.monotonic() - 1.0  # every piece is due by the time the pacer goes on
        first = paced(0, stall, 1, past)
        assert pacer.submit(first) and stalled.wait(TIMEOUT)
        a, b = paced(1, recorder("a"), 3, past + 0.001), paced(2, recorder("b"), 3, past + 0.002)
        assert pacer.submit(b) and pacer.submit(a)
        release.set()
        for stream in (first, a, b):
            assert stream.done.wait(TIMEOUT) and stream.outcome == "ended"
        assert written == ["a0", "b0", "a1", "b1", "a2", "b2"]
        for pair, expected in [(1, b"a0 a1 a2 "), (2, b"b0 b1 b2 ")]:
            pairs[pair][0].close()
            assert read_to_end(pairs[pair][1]) == (expected, None)
    finally:
        release.set()
        server.close()
        for left, right in pairs:
            left.close()
            right.close()
    assert not pacer.thread.is_alive()


def test_a_client_leaving_a_paced_stream_leaves_the_others_alone(emu: Emulator) -> None:
    socks, leftovers = [], []
    try:
        for i in range(4):
            socks.append(open_request(emu, "count=200&delay=0.002"))
            assert emu.wait_for_requests(i + 1, TIMEOUT)  # so requests[i] is socks[i]'s
        for sock in socks:
            _, _, rest = read_head(sock)
            chunk, rest = read_chunk(sock, rest)
            assert chunk == b'data: "tok0 "\n\n'
            leftovers.append(rest)
        socks[1].close()
        gone = emu.requests[1]
        assert gone.disconnected.wait(TIMEOUT) and gone.finished.wait(TIMEOUT)
        assert gone.tokens_sent < 200
        for i in (0, 2, 3):
            body = leftovers[i]
            while not body.endswith(b"0\r\n\r\n"):
                piece = socks[i].recv(65536)
                assert piece, "EOF before the end of the body"
                body += piece
            chunks, complete = dechunk(body)
            assert complete and chunks == [b'data: "tok%d "\n\n' % n for n in range(1, 200)]
            assert emu.requests[i].finished.wait(TIMEOUT)
            assert not emu.requests[i].disconnected.is_set()
    finally:
        for sock in socks:
            sock.close()


def test_close_ends_paced_streams_in_flight_and_joins_the_pacer() -> None:
    before = set(threading.enumerate())
    emu = Emulator(koala=KoalaOptions(count=100_000, delay=0.001)).start()
    socks = [open_request(emu) for _ in range(8)]
    try:
        assert emu.wait_for_requests(len(socks), TIMEOUT)
        for sock in socks:
            _, _, rest = read_head(sock)
            read_chunk(sock, rest)  # the stream is under way
        assert any(t.name.startswith("g4f-sync-emulator pacer") for t in threading.enumerate())
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # close() warns about threads it could not join
            emu.close()
        assert set(threading.enumerate()) == before
        assert all(record.finished.is_set() for record in emu.requests)
        assert not any(record.disconnected.is_set() for record in emu.requests)
        for sock in socks:
            body, _ = read_to_end(sock)
            assert not body.endswith(b"0\r\n\r\n")  # cut short, no terminating chunk
    finally:
        for sock in socks:
            sock.close()


def test_a_slow_reader_of_a_paced_stream_gets_every_byte() -> None:
    """Pieces bigger than the socket buffers take: the route's thread writes the rest."""
    script = [f"{i:03d}" + "x" * 1_000_000 for i in range(8)]  # more than a send buffer
    options = KoalaOptions(tokens=script, delay=0.001, framing="close", timestamps=False)
    with Emulator(koala=options) as emu, open_request(emu, rcvbuf=4096) as sock:
        _, _, rest = read_head(sock)
        body, error = read_to_end(sock, chunk=4096)
    assert error is None
    assert tokens(rest + body) == script
    assert emu.requests[0].finished.is_set() and not emu.requests[0].disconnected.is_set()


def test_a_failing_piece_ends_the_paced_stream_like_any_route_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def route(exchange: Exchange) -> None:
        def piece(index: int) -> bytes:
            if index == 2:
                raise ValueError("no third piece")
            return b"piece %d;" % index

        exchange.start(200)
        exchange.pace(5, piece, 0.001)

    server = LoopbackServer()
    server.add_route("GET", "/paced", route)
    server.start()
    try:
        port = server.server_address[1]
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            sock.sendall(b"GET /paced HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, rest = read_head(sock)
            body, error = read_to_end(sock)
        assert (status, error) == (200, None)
        assert dechunk(rest + body) == ([b"piece 0;", b"piece 1;"], False)
        assert server.requests[0].finished.wait(TIMEOUT)
    finally:
        server.close()
    assert "ValueError: no third piece" in capsys.readouterr().err
