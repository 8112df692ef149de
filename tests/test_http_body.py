"""g4f_sync.http.iter_body through real sockets: the whole-chunks fast path and read1.

A scripted raw-socket HTTP/1.1 server sends exactly the bytes a test gives, in the pieces
it gives, and pauses on the ``threading.Event`` objects placed between them, which the
test sets once the client has taken what it must have taken by then. The client is a
``requests.Session`` (``stream=True``) read with ``iter_body``. No sleeps, no timing
asserts: a client that held bytes back would block, and fail on its read timeout.

Tests taking the ``path`` fixture run twice: with the fast path (spied on, to check it
really served data) and with ``read1`` alone, the reference it must agree with.
"""

from __future__ import annotations

import socket
import struct
import threading
import zlib
from typing import Callable, Iterator, List, Optional, Sequence, Union

import pytest
import requests
import urllib3.exceptions

from g4f_sync import compat, errors
from g4f_sync import http as g4f_http
from g4f_sync.http import MAX_CHUNK_SIZE_LINE, iter_body
from g4f_sync.http import body as body_module
from g4f_sync.sse import Event, iter_events

WAIT = 5.0
"""Longest either side waits for the other before the test fails (never reached when
the code under test behaves)."""


class _Hangup:
    """A script step: end the connection, with FIN (``reset=False``) or RST."""

    def __init__(self, reset: bool) -> None:
        self.reset = reset


CLOSE = _Hangup(reset=False)
RESET = _Hangup(reset=True)
Step = Union[bytes, threading.Event, _Hangup]

CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
LAST = b"0\r\n\r\n"
SERVER_ERROR = "the server thread failed"


def chunk(data: bytes, extension: bytes = b"") -> bytes:
    """``data`` as one chunk of a chunked body."""
    return b"%x%s\r\n%s\r\n" % (len(data), extension, data)


def chunked(*pieces: bytes) -> bytes:
    """A whole chunked body: a chunk per piece, then the last chunk."""
    return b"".join(chunk(piece) for piece in pieces) + LAST


def deliverable(body: bytes) -> bytes:
    """The data a reader can hand over from ``body``, the start of a chunked body: that of
    every chunk whose size line has fully arrived (of the last one, as much as arrived)."""
    data: List[bytes] = []
    position = 0
    while True:
        line_end = body.find(b"\n", position)
        if line_end < 0:
            break
        size = int(body[position:line_end].split(b";", 1)[0], 16)
        if size == 0:
            break
        data.append(body[line_end + 1 : line_end + 1 + size])
        position = line_end + 1 + size + 2
    return b"".join(data)


class ScriptedServer:
    """A loopback HTTP/1.1 server answering each request with the next script.

    A script is a list of steps: bytes are sent with one ``sendall`` each, an Event is
    waited for, ``CLOSE``/``RESET`` end the connection. A connection that finishes its
    script waits for the next request on it (keep-alive). Each connection gets a thread.
    """

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        host, port = self.listener.getsockname()[:2]
        self.url = f"http://{host}:{port}/"
        self.connections = 0
        self.requests: List[bytes] = []
        self.failures: List[str] = []
        self._scripts: List[List[Step]] = []
        self._sockets: List[socket.socket] = []
        self._threads: List[threading.Thread] = []
        self._lock = threading.Lock()
        self._start(self._accept)

    def respond(self, *steps: Step) -> None:
        """Script the answer to the next request."""
        with self._lock:
            self._scripts.append(list(steps))

    def close(self) -> None:
        """Stop accepting, end every connection, and wait for the threads."""
        for sock in [self.listener, *self._sockets]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.listener.close()
        for thread in self._threads:
            thread.join(WAIT)

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed by close()
                return
            with self._lock:
                self.connections += 1
                self._sockets.append(conn)
            self._start(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(WAIT)
        received = b""
        try:
            while True:
                while b"\r\n\r\n" not in received:
                    data = conn.recv(65536)
                    if not data:  # the client closed the connection
                        return
                    received += data
                head, received = received.split(b"\r\n\r\n", 1)
                with self._lock:
                    self.requests.append(head)
                    script = self._scripts.pop(0) if self._scripts else None
                if script is None:
                    self.failures.append(f"unexpected request {head!r}")
                    return
                for step in script:
                    if isinstance(step, bytes):
                        conn.sendall(step)
                    elif isinstance(step, threading.Event):
                        if not step.wait(WAIT):
                            self.failures.append("the client never set an event")
                            return
                    else:
                        if step.reset:
                            conn.setsockopt(
                                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                            )
                        return
        except OSError:  # the client went away, or close() ended the connection
            return
        finally:
            conn.close()


class ReadPath:
    """Which reader ``iter_body`` uses, and what the fast path returned."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.fast: List[bytes] = []

    @property
    def is_fast(self) -> bool:
        return self.name in ("direct", "whole_chunks")


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    running = ScriptedServer()
    try:
        yield running
    finally:
        running.close()
    assert running.failures == [], SERVER_ERROR


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as opened:
        yield opened


@pytest.fixture(params=["direct", "whole_chunks", "read1_only"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ReadPath:
    chosen = ReadPath(request.param)
    real = compat.whole_chunks_reader
    real_direct = body_module.direct_body

    def spying_direct(raw: object, timeout: Optional[float]) -> Optional[object]:
        if chosen.name != "direct":
            return None
        direct = real_direct(raw, timeout)
        if raw._fp._method == "HEAD":  # type: ignore[attr-defined]
            assert direct is None, "an answer to HEAD has no body to read"
            return None
        assert direct is not None, "the direct reader applies to every other body served here"
        read = direct.read

        def recorded() -> bytes:
            data = read()
            if data:
                chosen.fast.append(data)
            return data

        direct.read = recorded  # type: ignore[method-assign]
        return direct

    def spying(raw: object) -> Optional[Callable[[], bytes]]:
        reader = real(raw)
        if reader is None or not chosen.is_fast:
            return None

        def whole_chunks() -> bytes:
            data = reader()
            if data:
                chosen.fast.append(data)
            return data

        return whole_chunks

    monkeypatch.setattr(compat, "whole_chunks_reader", spying)
    monkeypatch.setattr(body_module, "direct_body", spying_direct)
    return chosen


def get(
    session: requests.Session,
    server: ScriptedServer,
    method: str = "GET",
    read_timeout: float = WAIT,
) -> requests.Response:
    return session.request(method, server.url, stream=True, timeout=(WAIT, read_timeout))


def take(body: Iterator[bytes], size: int) -> List[bytes]:
    """Pieces from ``body`` until exactly ``size`` bytes came (never reads further)."""
    pieces: List[bytes] = []
    got = 0
    while got < size:
        piece = next(body)
        pieces.append(piece)
        got += len(piece)
    assert got == size, pieces
    return pieces


def deliver_in_parts(
    session: requests.Session, server: ScriptedServer, parts: Sequence[bytes]
) -> List[bytes]:
    """Serve CHUNKED_HEAD + ``parts`` of a chunked body, each part in its own write sent
    only once the client has yielded all the data the parts before it carry; return the
    pieces ``iter_body`` yielded."""
    events = [threading.Event() for _ in parts[1:]]
    steps: List[Step] = [CHUNKED_HEAD + parts[0]]
    for event, part in zip(events, parts[1:]):
        steps += [event, part]
    server.respond(*steps)
    body = iter_body(get(session, server))
    pieces: List[bytes] = []
    sent = b""
    for part, event in zip(parts, events):
        before = deliverable(sent)
        sent += part
        available = deliverable(sent)
        assert available.startswith(before)
        pieces += take(body, len(available) - len(before))
        event.set()
    pieces += list(body)
    return pieces


# The fast path serves whole chunks in one piece


def test_many_small_chunks_in_one_write_come_whole_and_in_one_piece(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    data = [bytes([65 + i % 26]) * (1 + i % 7) for i in range(400)]  # 400 chunks, < 8 KiB
    server.respond(CHUNKED_HEAD + chunked(*data))
    pieces = list(iter_body(get(session, server)))
    assert b"".join(pieces) == b"".join(data)
    # All of it is in the receive buffer at the first read: the fast path hands it over
    # at once, read1 one chunk per call.
    assert pieces == ([b"".join(data)] if path.is_fast else data)
    assert path.fast == (pieces if path.is_fast else [])


def test_chunk_extensions_are_ignored(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    body = (
        chunk(b"hello", b";name=value")
        + chunk(b" big", b' ; a=1; b="x;y"')
        + chunk(b" world", b";flag")
        + b"0;last=1\r\n\r\n"
    )
    server.respond(CHUNKED_HEAD + body)
    pieces = list(iter_body(get(session, server)))
    assert b"".join(pieces) == b"hello big world"
    assert path.fast == ([b"hello big world"] if path.is_fast else [])


def test_uppercase_lowercase_and_zero_padded_hex_sizes(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    thirty_one = bytes(range(97, 97 + 26)) + b"01234"
    body = (
        b"A\r\n0123456789\r\n"
        + b"1F\r\n"
        + thirty_one
        + b"\r\n1f\r\n"
        + thirty_one
        + b"\r\n0000003\r\nabc\r\n"
        + b"1a\r\n"
        + bytes(range(65, 91))
        + b"\r\n"
        + LAST
    )
    server.respond(CHUNKED_HEAD + body)
    expected = b"0123456789" + thirty_one * 2 + b"abc" + bytes(range(65, 91))
    assert b"".join(iter_body(get(session, server))) == expected
    assert b"".join(path.fast) == (expected if path.is_fast else b"")


def test_size_line_longer_than_the_fast_path_parses_goes_to_http_client(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    extension = b";" + b"x" * MAX_CHUNK_SIZE_LINE
    body = chunk(b"one") + chunk(b"two", extension) + chunk(b"three") + LAST
    server.respond(CHUNKED_HEAD + body)
    pieces = list(iter_body(get(session, server)))
    assert b"".join(pieces) == b"onetwothree"
    fast = {"direct": [b"onetwothree"], "whole_chunks": [b"one", b"three"], "read1_only": []}
    assert path.fast == fast[path.name]


def test_big_chunk_among_small_ones(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    big = bytes(range(256)) * 800  # 204,800 bytes: far more than the receive buffer
    data = [b"start", big, b"middle", big[::-1], b"end"]
    server.respond(CHUNKED_HEAD + chunked(*data))
    pieces = list(iter_body(get(session, server)))
    assert b"".join(pieces) == b"".join(data)
    assert all(len(piece) <= g4f_http.READ_SIZE for piece in pieces)


def test_trailers_after_the_last_chunk_are_consumed(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    server.respond(
        CHUNKED_HEAD + chunk(b"hello") + chunk(b" world") + b"0\r\nX-Sum: 1\r\nX-More: a b\r\n\r\n"
    )
    server.respond(CHUNKED_HEAD + chunked(b"next"))
    assert b"".join(iter_body(get(session, server))) == b"hello world"
    # The trailer was read to its end: the next answer on the connection parses.
    assert b"".join(iter_body(get(session, server))) == b"next"
    assert server.connections == 1


def test_identity_content_encoding_takes_the_fast_path(
    server: ScriptedServer, session: requests.Session
) -> None:
    head = CHUNKED_HEAD.replace(b"\r\n\r\n", b"\r\nContent-Encoding: Identity \r\n\r\n")
    server.respond(head + chunked(b"a", b"b", b"c"))
    response = get(session, server)
    assert compat.whole_chunks_reader(response.raw) is not None
    assert list(iter_body(response)) == [b"abc"]


# Splits across writes

TAIL = chunk(b"hello") + chunk(b"0123456789", b";x=y") + b"0\r\nX-T: 1\r\n\r\n"
LEAD = chunk(b"abc")
"""A first chunk every delivery starts with: once the client has it, the first write
has arrived, so the next is a separate read."""


TAIL_REGIONS = [
    ("size-line", 3),
    ("data", 5),
    ("crlf", 2),
    ("ext-size-line", 7),
    ("data2", 10),
    ("crlf2", 2),
    ("last-chunk-line", 3),
    ("trailer", 8),
    ("final-crlf", 2),
]


def _where(offset: int) -> str:
    """Test id: where in TAIL the first write ends."""
    start = 0
    for name, length in TAIL_REGIONS:
        if offset == start:
            return f"{offset}:before-{name}"
        if offset < start + length:
            return f"{offset}:{name}+{offset - start}"
        start += length
    raise AssertionError(offset)


@pytest.mark.parametrize("offset", range(len(TAIL)), ids=_where)
def test_body_split_in_two_writes_at_every_offset(
    server: ScriptedServer, session: requests.Session, path: ReadPath, offset: int
) -> None:
    assert len(TAIL) == sum(length for _, length in TAIL_REGIONS)
    pieces = deliver_in_parts(session, server, [LEAD + TAIL[:offset], TAIL[offset:]])
    assert b"".join(pieces) == b"abchello0123456789"
    # Every byte of the answer was consumed, no more: the next one on the connection parses.
    server.respond(CHUNKED_HEAD + chunked(b"again"))
    assert b"".join(iter_body(get(session, server))) == b"again"
    assert server.connections == 1


def test_body_sent_one_byte_per_write(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    body = chunk(b"hi") + chunk(b"there", b";e=1") + chunk(b"!") + LAST
    parts = [LEAD] + [body[i : i + 1] for i in range(len(body))]
    pieces = deliver_in_parts(session, server, parts)
    assert b"".join(pieces) == b"abchithere!"


def test_partial_chunk_then_whole_chunks_behind_its_rest(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    parts = [b"5\r\nhel", b"lo\r\n" + chunk(b"abc") + chunk(b"defg") + LAST]
    pieces = deliver_in_parts(session, server, parts)
    # read1 hands over the partial chunk and its rest; then the whole-chunks path (resuming
    # after the CRLF that ends the chunk read1 finished) takes the two whole chunks. The
    # direct reader hands over the partial chunk, then all that followed it at once.
    expected = {
        "direct": [b"hel", b"loabcdefg"],
        "whole_chunks": [b"hel", b"lo", b"abcdefg"],
        "read1_only": [b"hel", b"lo", b"abc", b"defg"],
    }
    assert pieces == expected[path.name]
    assert path.fast == {"direct": expected["direct"], "whole_chunks": [b"abcdefg"]}.get(
        path.name, []
    )


def test_each_token_is_yielded_before_the_server_sends_the_next(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    tokens = [b"Hello", b", ", b"wor", b"ld", b"!"]
    events = [threading.Event() for _ in tokens]
    steps: List[Step] = [CHUNKED_HEAD]
    for token, event in zip(tokens, events):
        steps += [chunk(token), event]
    server.respond(*steps, LAST)
    body = iter_body(get(session, server))
    for token, event in zip(tokens, events):
        assert next(body) == token  # the server is waiting for `event`: no more bytes
        event.set()
    assert list(body) == []


# Broken bodies


@pytest.mark.parametrize("before", [b"", chunk(b"hello")], ids=["first", "after-a-chunk"])
@pytest.mark.parametrize("line", [b"zz", b"", b"5x", b"0x", b" ; ext"], ids=repr)
def test_invalid_chunk_size_line_raises_after_the_chunks_before_it(
    server: ScriptedServer, session: requests.Session, path: ReadPath, before: bytes, line: bytes
) -> None:
    server.respond(CHUNKED_HEAD + before + line + b"\r\nhello\r\n" + LAST)
    response = get(session, server)
    pieces: List[bytes] = []
    with pytest.raises(errors.StreamInterruptedError) as info:
        for piece in iter_body(response):
            pieces.append(piece)
    assert b"".join(pieces) == deliverable(before)
    assert str(info.value).startswith(
        "the connection was lost mid-answer (ProtocolError: ('Connection broken: IncompleteRead"
    )
    assert isinstance(info.value.__cause__, urllib3.exceptions.ProtocolError)
    assert response.raw.closed


DROPS = {
    "between-chunks": b"",
    "in-size-line": b"5",
    "in-size-line-cr": b"5\r",
    "after-size-line": b"5\r\n",
    "mid-data": b"5\r\nwor",
    "before-crlf": b"5\r\nworld",
    "mid-crlf": b"5\r\nworld\r",
    "after-crlf": b"5\r\nworld\r\n",
}


@pytest.mark.parametrize("hangup", [CLOSE, RESET], ids=["fin", "rst"])
@pytest.mark.parametrize("tail", DROPS.values(), ids=DROPS.keys())
def test_connection_lost_mid_body_raises_after_every_complete_byte(
    server: ScriptedServer,
    session: requests.Session,
    path: ReadPath,
    tail: bytes,
    hangup: _Hangup,
) -> None:
    sent = chunk(b"hello") + chunk(b"big") + tail
    taken = threading.Event()
    server.respond(CHUNKED_HEAD + sent, taken, hangup)
    response = get(session, server)
    body = iter_body(response)
    pieces = take(body, len(deliverable(sent)))
    taken.set()  # everything was taken: now the server hangs up
    with pytest.raises(errors.StreamInterruptedError) as info:
        pieces += list(body)
    assert b"".join(pieces) == b"hellobig" + deliverable(tail)
    assert str(info.value).startswith("the connection was lost mid-answer (ProtocolError: ")
    # Like read1, the fast path fails through urllib3: the connection is discarded.
    assert isinstance(info.value.__cause__, urllib3.exceptions.ProtocolError)
    assert response.raw.closed


@pytest.mark.parametrize("last", [b"0\r\n", b"0"], ids=repr)
def test_end_of_stream_right_after_the_last_chunk_line_counts_as_complete(
    server: ScriptedServer, session: requests.Session, path: ReadPath, last: bytes
) -> None:
    # As http.client (`_read_next_chunk_size`, `_read_and_discard_trailer`): some servers
    # end the connection without the final CRLF.
    server.respond(CHUNKED_HEAD + chunk(b"hello") + last, CLOSE)
    assert b"".join(iter_body(get(session, server))) == b"hello"


def test_bad_chunk_terminator_is_skipped_as_http_client_does(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    # http.client tosses the two bytes after a chunk's data without looking at them; the
    # fast path leaves such a chunk to read1, so both read the same.
    server.respond(CHUNKED_HEAD + b"5\r\nhelloXX" + chunk(b"abc") + chunk(b"def") + LAST)
    pieces = list(iter_body(get(session, server)))
    assert b"".join(pieces) == b"helloabcdef"


def test_silence_in_the_fast_path_raises_timeout_and_discards_the_connection(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    done = threading.Event()
    server.respond(CHUNKED_HEAD + chunk(b"hello"), done)
    response = get(session, server, read_timeout=0.5)
    body = iter_body(response)
    try:
        assert next(body) == b"hello"
        with pytest.raises(errors.TimeoutError, match="went silent mid-answer") as info:
            next(body)
    finally:
        done.set()
    assert isinstance(info.value.__cause__, urllib3.exceptions.ReadTimeoutError)
    assert response.raw.closed


# Keep-alive, HEAD, byte count


def test_two_chunked_answers_on_one_connection(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    server.respond(CHUNKED_HEAD + chunked(b"first ", b"answer"))
    later = threading.Event()
    server.respond(CHUNKED_HEAD + chunk(b"second"), later, chunk(b" answer") + LAST)
    assert b"".join(iter_body(get(session, server))) == b"first answer"
    body = iter_body(get(session, server))
    assert next(body) == b"second"
    later.set()
    assert b"".join(body) == b" answer"
    assert server.connections == 1
    assert len(server.requests) == 2


def test_head_answer_has_no_body_even_if_chunked(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    # http.client reads no body for HEAD; the server sends none and keeps the connection
    # open, so a reader that looked for chunks would wait for the read timeout.
    server.respond(CHUNKED_HEAD)
    server.respond(CHUNKED_HEAD + chunked(b"after head"))
    assert list(iter_body(get(session, server, "HEAD", read_timeout=1.0))) == []
    assert b"".join(iter_body(get(session, server))) == b"after head"
    assert server.connections == 1


def test_bytes_read_are_counted_by_urllib3(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    data = [b"one", b"two", b"three" * 100]
    server.respond(CHUNKED_HEAD + chunked(*data))
    response = get(session, server)
    assert b"".join(iter_body(response)) == b"".join(data)
    assert response.raw.tell() == len(b"".join(data))


# Bodies the fast path leaves to read1


def _gzip_pieces(tokens: Sequence[bytes]) -> List[bytes]:
    """``tokens`` gzip-compressed, flushed after each so each decodes on arrival."""
    compressor = zlib.compressobj(wbits=31)
    pieces = [compressor.compress(token) + compressor.flush(zlib.Z_SYNC_FLUSH) for token in tokens]
    pieces.append(compressor.flush())
    return pieces


GZIP_HEAD = CHUNKED_HEAD.replace(b"\r\n\r\n", b"\r\nContent-Encoding: gzip\r\n\r\n")


def test_gzip_chunked_body_is_decoded_through_read1(
    server: ScriptedServer, session: requests.Session
) -> None:
    text = b"".join(b"token %d, " % i for i in range(300))
    compressed = b"".join(_gzip_pieces([text]))
    # Chunk boundaries at arbitrary places of the compressed stream.
    body = chunked(*[compressed[i : i + 37] for i in range(0, len(compressed), 37)])
    server.respond(GZIP_HEAD + body)
    response = get(session, server)
    assert compat.whole_chunks_reader(response.raw) is None
    assert b"".join(iter_body(response)) == text


def test_gzip_chunked_tokens_each_arrive_before_the_next_is_sent(
    server: ScriptedServer, session: requests.Session
) -> None:
    tokens = [b"Hello", b", gzipped ", b"world"]
    compressed = _gzip_pieces(tokens)
    events = [threading.Event() for _ in tokens]
    steps: List[Step] = [GZIP_HEAD]
    for piece, event in zip(compressed, events):
        steps += [chunk(piece), event]
    server.respond(*steps, chunk(compressed[-1]) + LAST)
    body = iter_body(get(session, server))
    for token, event in zip(tokens, events):
        assert b"".join(take(body, len(token))) == token
        event.set()
    assert list(body) == []


def test_close_delimited_body_is_unaffected(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    events = [threading.Event(), threading.Event()]
    server.respond(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n5\r\nhello\r\n",
        events[0],
        b"0\r\n\r\n",
        events[1],
        b"tail",
        CLOSE,
    )
    response = get(session, server)
    assert compat.whole_chunks_reader(response.raw) is None
    body = iter_body(response)
    # Chunk-like bytes in a body that is not chunked are data.
    assert b"".join(take(body, 10)) == b"5\r\nhello\r\n"
    events[0].set()
    assert b"".join(take(body, 5)) == b"0\r\n\r\n"
    events[1].set()
    assert b"".join(body) == b"tail"


def test_content_length_body_is_unaffected_and_keeps_the_connection(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    later = threading.Event()
    server.respond(
        b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n3\r\nabc\r\n", later, b"0\r\n\r\nrest!"
    )
    server.respond(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")
    response = get(session, server)
    assert compat.whole_chunks_reader(response.raw) is None
    body = iter_body(response)
    assert b"".join(take(body, 8)) == b"3\r\nabc\r\n"
    later.set()
    assert b"".join(body) == b"0\r\n\r\nrest!"
    assert b"".join(iter_body(get(session, server))) == b"next"
    assert server.connections == 1


def test_content_length_body_cut_short_raises(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    server.respond(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nonly this", CLOSE)
    pieces: List[bytes] = []
    with pytest.raises(errors.StreamInterruptedError, match=r"^the connection was lost"):
        for piece in iter_body(get(session, server)):
            pieces.append(piece)
    assert b"".join(pieces) == b"only this"


# Server-sent events over the fast path


def test_events_split_across_chunks_through_iter_events(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    stream = b"data: a\r\n\r\nid: 7\r\ndata: b\r\ndata: c\r\n\r\nevent: e\r\ndata: d\r\n\r\n"
    cuts = [stream[i : i + 5] for i in range(0, len(stream), 5)]
    server.respond(CHUNKED_HEAD + chunked(*cuts))
    events = list(iter_events(get(session, server)))
    assert events == [Event("message", "a"), Event("message", "b\nc", "7"), Event("e", "d", "7")]
    assert len(path.fast) == (1 if path.is_fast else 0)


# The direct reader (g4f_sync.http.direct): where it applies, and what it leaves behind


def test_direct_reader_gives_the_socket_its_timeout_and_the_connection_back(
    server: ScriptedServer, session: requests.Session
) -> None:
    from g4f_sync.http import direct

    server.respond(CHUNKED_HEAD + chunked(b"first"))
    done = threading.Event()
    server.respond(CHUNKED_HEAD + chunk(b"second"), done)
    response = get(session, server, read_timeout=0.5)
    sock = response.raw._connection.sock
    spied: List[object] = []
    real = body_module.direct_body
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            body_module, "direct_body", lambda *args: spied.append(real(*args)) or spied[-1]
        )
        assert b"".join(iter_body(response)) == b"first"
    assert isinstance(spied[0], direct.DirectBody)
    # back in timeout mode, with no kernel receive timeout left behind for the next user
    assert sock.gettimeout() == 0.5
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16) == bytes(16)
    second = get(session, server, read_timeout=0.5)
    body = iter_body(second)
    try:
        assert next(body) == b"second"
        with pytest.raises(errors.TimeoutError, match=r"read timeout of 0\.5 s"):
            next(body)
    finally:
        done.set()
    assert server.connections == 1  # the first answer's connection was reused


def test_direct_reader_leaves_other_bodies_to_urllib3(
    server: ScriptedServer, session: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from g4f_sync.http import direct

    gzipped = zlib.compress(b"hello")
    server.respond(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n%s"
        % (len(gzipped), gzipped)
    )
    response = get(session, server)
    assert direct.direct_body(response.raw, WAIT) is None  # a coded body: urllib3 decodes it
    assert b"".join(iter_body(response)) == b"hello"
    server.respond(CHUNKED_HEAD + chunked(b"plain"))
    response = get(session, server)
    monkeypatch.setattr(compat, "_probed_direct", ["another system than Linux"])
    assert direct.direct_body(response.raw, WAIT) is None
    assert b"".join(iter_body(response)) == b"plain"


def test_direct_reader_stops_at_the_content_length_and_drops_a_connection_with_more(
    server: ScriptedServer, session: requests.Session, path: ReadPath
) -> None:
    # A server that sends more than its Content-Length: the body is the first 5 bytes,
    # and the connection, holding bytes that belong to no answer, is not reused.
    server.respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA")
    server.respond(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert b"".join(iter_body(get(session, server))) == b"hello"
    assert b"".join(iter_body(get(session, server))) == b"ok"
    assert server.connections == (2 if path.name == "direct" else 1)
