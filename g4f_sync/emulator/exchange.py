"""One request and its response as a route sees them: :class:`Exchange` and
:class:`RecordedRequest`.

A route answers at once (:meth:`Exchange.respond`) or as a stream (:meth:`Exchange.start`,
:meth:`Exchange.write`, :meth:`Exchange.pace`, :meth:`Exchange.end`, :meth:`Exchange.drop`).
Every write goes straight to the socket. When the client goes away or the server closes,
the next write, :meth:`Exchange.wait` or :meth:`Exchange.acquire` raises a private exception
that ends the route quietly; route code never catches it. :meth:`Exchange.drop` in close
framing resets the connection only once every written byte reached the client, so a reset
loses no data on Linux; docs/emulator.md ("Dropping a connection") has the measurements.
"""

from __future__ import annotations

import math
import select
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler
from json import loads
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Literal,
    Mapping,
    NoReturn,
    Optional,
    Sequence,
    Union,
)
from urllib.parse import parse_qs

from .pacer import PACING, PacedStream

if TYPE_CHECKING:
    from .server import LoopbackServer

__all__ = [
    "POLL_INTERVAL",
    "Exchange",
    "Framing",
    "Headers",
    "RecordedRequest",
    "Route",
    "RouteAbortedError",
]

Framing = Literal["chunked", "close"]
"""How a streamed body ends: ``Transfer-Encoding: chunked``, or EOF (``Connection: close``)."""

Route = Callable[["Exchange"], None]
"""A function answering one request through its :class:`Exchange`."""

Headers = Union[Mapping[str, str], Sequence[tuple[str, str]]]
"""Response headers: a mapping, or ``(name, value)`` pairs (a name may then repeat)."""

POLL_INTERVAL = 0.05
"""Seconds: how often loops that cannot select on a socket look at it again."""

try:  # Linux: bytes in the send queue not yet acknowledged by the peer
    from fcntl import ioctl
    from termios import TIOCOUTQ as _SIOCOUTQ
except ImportError:  # pragma: no cover - not Linux
    ioctl = None  # type: ignore[assignment]
    _SIOCOUTQ = None  # type: ignore[assignment]


class RouteAbortedError(Exception):
    """Ends a route: the client went away or the server is closing (the server catches it)."""


@dataclass(eq=False)
class RecordedRequest:
    """One request as the emulator received it, and what became of its answer."""

    method: str
    path: str
    query: dict[str, str]
    headers: HTTPMessage
    body: bytes
    status: Optional[int] = None
    """Status code of the answer; None while none was sent (or never, e.g. ``silent_head``)."""
    tokens_sent: int = 0
    """Tokens written, each counted as its write begins (so never fewer than a client read)."""
    disconnected: threading.Event = field(default_factory=threading.Event)
    """Set when the client went away before the response was complete."""
    finished: threading.Event = field(default_factory=threading.Event)
    """Set when the route ended, whatever the reason."""
    number: int = 0
    """Its place among every request the server received (1: the first), set when recorded;
    it tells which request a record is once older ones are no longer kept."""

    def json(self) -> Any:
        """The body decoded as JSON; raises ``ValueError`` when it is not."""
        return loads(self.body)

    def form(self) -> dict[str, str]:
        """The body as a form (``application/x-www-form-urlencoded``), the last value of each
        name; empty for any other content type."""
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return {}
        pairs = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {name: values[-1] for name, values in pairs.items()}


class Exchange:
    """One request and its response, as a route sees them."""

    def __init__(self, handler: BaseHTTPRequestHandler, request: RecordedRequest) -> None:
        self.request = request
        self._handler = handler
        self._server: LoopbackServer = handler.server  # type: ignore[assignment]
        self._framing: Optional[Framing] = None
        self._state: Literal["new", "streaming", "done"] = "new"
        self._fin_visible = True

    @property
    def started(self) -> bool:
        """Whether the response head was sent."""
        return self._state != "new"

    @property
    def connection(self) -> socket.socket:
        """The client's socket (for the pacer; routes write through this Exchange)."""
        return self._handler.connection

    @property
    def fin_visible(self) -> bool:
        """Whether a FIN from the client can still be seen by peeking at its socket: True
        until the client sends data, which hides its FIN (a failed write tells then)."""
        return self._fin_visible

    def client_sent_data(self) -> None:
        """Note that the client sent data: stop looking for its FIN by peeking."""
        self._fin_visible = False

    def frame(self, data: bytes) -> bytes:
        """``data`` as one body piece on the wire: a chunk in chunked framing."""
        if self._framing == "chunked":
            return b"%x\r\n%s\r\n" % (len(data), data)
        return data

    def respond(
        self,
        status: int,
        body: bytes | str = b"",
        *,
        content_type: Optional[str] = "text/plain; charset=utf-8",
        headers: Headers | None = None,
        reason: Optional[str] = None,
    ) -> None:
        """Send a whole response with ``Content-Length``; the connection stays open.

        ``content_type`` None sends none (``headers`` may carry one); ``reason`` replaces the
        status's usual phrase.
        """
        data = body.encode() if isinstance(body, str) else body
        content = [("Content-Type", content_type)] if content_type is not None else []
        self._send_head(status, [*content, *_pairs(headers)], len(data), reason)
        self._send(data)
        self._state = "done"

    def start(
        self,
        status: int,
        headers: Headers | None = None,
        *,
        framing: Framing = "chunked",
        reason: Optional[str] = None,
    ) -> None:
        """Send the head of a streamed response; the body follows with :meth:`write`.

        An HTTP/1.0 client gets ``"close"`` framing whatever is asked, as HTTP requires.
        """
        if self._handler.request_version == "HTTP/1.0":
            framing = "close"
        self._framing = framing
        if framing == "chunked":
            framing_header = ("Transfer-Encoding", "chunked")
        else:
            framing_header = ("Connection", "close")
        self._send_head(status, [*_pairs(headers), framing_header], None, reason)
        self._state = "streaming"

    def write(self, data: bytes) -> None:
        """Send one body piece now: one chunk in chunked framing (empty pieces are skipped)."""
        if self._state != "streaming":
            raise RuntimeError("write() needs start() first and no end() or drop() before")
        if data:
            self._send(self.frame(data))

    def pace(
        self, count: int, piece: Callable[[int], bytes], interval: float, *, first: float = 0.0
    ) -> None:
        """Write ``piece(0)`` to ``piece(count - 1)`` as :meth:`write` does, the first
        ``first`` seconds from now and each next one ``interval`` seconds after the previous
        one was due (a late piece does not delay the next ones), ending the route early as
        :meth:`wait` does.

        Each piece is made just before its write. With an ``interval`` the server's pacer
        thread makes the timed writes of every such stream, so ``piece`` runs in that thread
        and must not call this Exchange; a client too slow to take a piece at once gets the
        rest from the route's own thread, each write blocking as :meth:`write` does.
        """
        if self._state != "streaming":
            raise RuntimeError("pace() needs start() first and no end() or drop() before")
        index = 0
        now = time.monotonic()
        due = now + first
        if interval > 0 and PACING and self.connection.gettimeout() is None:
            while index < count and due <= now:  # due at the call: written from here, at once
                self.write(piece(index))
                index += 1
                due += interval
            if index == count:
                return
            index, due = self._hand_to_pacer(PacedStream(self, piece, index, count, interval, due))
        while index < count:
            if interval > 0 or due > time.monotonic():  # wait(0) still looks at the client
                self.wait(max(due - time.monotonic(), 0.0))
            self.write(piece(index))
            index += 1
            due += interval

    def _hand_to_pacer(self, stream: PacedStream) -> tuple[int, float]:
        """Have the pacer write ``stream``; the next piece and its due time if it hands the
        stream back (``count`` when it wrote every piece)."""
        pacer = self._server.pacer()
        if pacer is None:
            raise RouteAbortedError  # the server is closing
        if not pacer.submit(stream):
            return stream.index, stream.due
        stream.done.wait()
        if stream.outcome == "ended":
            return stream.count, stream.due
        if stream.outcome == "disconnected":
            self._disconnected()
        if stream.error is not None:
            raise stream.error
        if stream.rest:  # "back": the pacer handed the stream back mid-piece
            self._send(stream.rest)
        return stream.index, stream.due

    def end(self) -> None:
        """Complete the body: the terminating chunk, or a FIN in close framing."""
        if self._state != "streaming":
            return
        self._state = "done"
        if self._framing == "chunked":
            self._send(b"0\r\n\r\n")
        else:
            self._handler.close_connection = True
            self._shutdown(socket.SHUT_WR)

    def drop(self, *, reset: bool | None = None) -> None:
        """Drop the connection abruptly, ending the response incomplete.

        ``reset`` defaults to True in close framing (an RST, sent once every written byte
        reached the client: see the module docstring) and False otherwise (a plain FIN,
        which leaves a chunked body visibly incomplete).
        """
        if reset is None:
            reset = self._framing == "close"
        handler = self._handler
        handler.close_connection = True
        if not reset:
            self._state = "done"
            self._shutdown(socket.SHUT_WR)
            return
        while (_unacked_bytes(handler.connection) or 0) > 0:
            self.wait(0.002)
        self._state = "done"
        linger = struct.pack("HH" if sys.platform == "win32" else "ii", 1, 0)
        try:
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        except OSError:
            pass
        handler.rfile.close()  # the makefile() reference would keep the descriptor open
        handler.connection.close()

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds`` (``math.inf``: forever); end the route early if the client goes or
        the server closes."""
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            self._watch(max(remaining, 0.0))
            if remaining <= 0:
                return

    def acquire(self, semaphore: threading.Semaphore) -> None:
        """Acquire ``semaphore``; end the route if the client goes or the server closes first."""
        while not semaphore.acquire(timeout=POLL_INTERVAL):
            self._watch(0.0)

    def _watch(self, timeout: float) -> None:
        """Block up to ``timeout`` seconds; raise :class:`RouteAbortedError` on disconnect or
        close."""
        server = self._server
        sock = self.connection
        watched = [server.wakeup_fd] + ([sock.fileno()] if self._fin_visible else [])
        if server.closing.is_set() or sock.fileno() < 0:
            raise RouteAbortedError
        for fd in _readable(watched, timeout):
            if fd == server.wakeup_fd:
                raise RouteAbortedError
            try:
                peeked = sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                continue
            except OSError:
                peeked = b""
            if not peeked:
                self._disconnected()
            self.client_sent_data()

    def _send_head(
        self,
        status: int,
        headers: list[tuple[str, str]],
        length: Optional[int],
        reason: Optional[str] = None,
    ) -> None:
        if self._state != "new":
            raise RuntimeError("the response head was already sent")
        handler = self._handler
        self.request.status = status
        handler.log_request(status)
        handler.send_response_only(status, reason)
        if not any(name.lower() == "server" for name, _ in headers):
            handler.send_header("Server", handler.version_string())
        handler.send_header("Date", handler.date_time_string())
        for name, value in headers:
            handler.send_header(name, value)
        if length is not None:
            handler.send_header("Content-Length", str(length))
        try:
            handler.end_headers()
        except OSError:
            self._disconnected()

    def _send(self, data: bytes) -> None:
        try:
            self._handler.wfile.write(data)
        except OSError:
            self._disconnected()

    def _shutdown(self, how: int) -> None:
        try:
            self.connection.shutdown(how)
        except OSError:
            pass

    def _disconnected(self) -> NoReturn:
        """Record that the client went away (unless the server is closing) and end the route."""
        self._handler.close_connection = True
        if not self._server.closing.is_set():
            self.request.disconnected.set()
        raise RouteAbortedError


def _pairs(headers: Optional[Headers]) -> list[tuple[str, str]]:
    """``headers`` as ``(name, value)`` pairs, in their order."""
    if headers is None:
        return []
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


def _readable(fds: list[int], timeout: float) -> list[int]:
    """The descriptors among ``fds`` that are readable within ``timeout`` (inf: no limit)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        ms = None if math.isinf(timeout) else math.ceil(timeout * 1000)
        return [fd for fd, _ in poller.poll(ms)]
    ready, _, _ = select.select(fds, [], [], None if math.isinf(timeout) else timeout)
    return ready  # pragma: no cover - Windows


def _unacked_bytes(sock: socket.socket) -> Optional[int]:
    """Bytes written to ``sock`` that the peer has not acknowledged; None where unknown."""
    if ioctl is None or sock.fileno() < 0:
        return None
    try:
        return struct.unpack("i", ioctl(sock.fileno(), _SIOCOUTQ, b"\0\0\0\0"))[0]
    except OSError:
        return None
