"""The generic part of the emulator: a loopback HTTP/1.1 server that provider modules plug into.

A provider module registers route functions with :meth:`LoopbackServer.add_route`; each
receives an :class:`Exchange` and answers through it, either at once (:meth:`Exchange.respond`)
or as a stream (:meth:`Exchange.start`, :meth:`Exchange.write`, :meth:`Exchange.end`,
:meth:`Exchange.drop`). Every write goes straight to the socket (TCP_NODELAY, no buffer).
When the client goes away or the server closes, the next write, :meth:`Exchange.wait` or
:meth:`Exchange.acquire` raises a private exception that ends the route quietly; provider
code never catches it.

Paced streams. :meth:`Exchange.pace` writes pieces on a schedule (piece ``k`` due ``first +
k * interval`` seconds after the call). The timed writes of every paced stream are made by
one pacer thread per server: a heap of due times, every piece due at a wake-up written back
to back with non-blocking sends, the streams' sockets polled in between so that a client's
FIN ends its route as promptly as :meth:`Exchange.wait` does. 32 streams of a piece a
millisecond so cost about 1,000 wake-ups a second in one thread instead of 32,000 spread over
32 threads handing the GIL to each other (measured on 2 cores: about 13 µs of CPU a piece
against 85-93). The route's thread sleeps meanwhile; a client too slow to take a piece at once
gets the rest from it, as :meth:`Exchange.write` would.

Dropping a connection. With a chunked body, closing without the terminating chunk is
enough (a FIN after an incomplete body). With a body that ends at EOF a FIN reads as a normal
end, so :meth:`Exchange.drop` resets the connection (``SO_LINGER`` on with a zero timeout,
then ``close()``: an RST). Measured on Linux 6.x over loopback: bytes already in the
client's receive queue survive the RST (200 of 200 runs, raw sockets and http.client
reading 5 to 7 bytes at a time only after the RST had arrived: every byte, then
``ECONNRESET``), but bytes still in the server's send queue are discarded (1 MB in 10 KB
tokens to a client with a 4 KB receive buffer: 40 of 40 runs lost data, the client getting
6 KB to 790 KB). So ``drop()`` first waits until the kernel reports no unacknowledged byte
(``ioctl(SIOCOUTQ) == 0``: all of it is in the client's receive queue), for as long as the
client keeps reading; with that wait no run lost a byte. Where ``SIOCOUTQ`` is missing (not
Linux) the reset goes without the wait and may cut data; Windows clients also discard
unread data on an RST.
"""

from __future__ import annotations

import heapq
import itertools
import math
import select
import socket
import struct
import sys
import threading
import time
import traceback
import warnings
import weakref
from collections import deque
from dataclasses import dataclass, field
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from json import loads
from typing import Any, Callable, Literal, Mapping, NoReturn, Optional
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "DEFAULT_KEEP_REQUESTS",
    "Exchange",
    "Framing",
    "LoopbackServer",
    "RecordedRequest",
    "Route",
]

Framing = Literal["chunked", "close"]
"""How a streamed body ends: ``Transfer-Encoding: chunked``, or EOF (``Connection: close``)."""

MAX_BODY = 16 * 1024 * 1024
DEFAULT_KEEP_REQUESTS = 1000
"""How many requests a server keeps in :attr:`LoopbackServer.requests` unless told otherwise.

A record of a small request takes about 6 KB (its parsed headers and two events; measured
with tracemalloc over 2,000 Koala streams), so 1,000 of them stay near 6 MiB plus their
bodies, while a test, which makes far fewer requests, still sees every one of them.
"""
_POLL = 0.05  # seconds: how often loops that cannot select on the socket look at it again
_EARLY = 0.0002  # seconds: the pacer writes a piece due this soon at once, not after one more tick
_PACING = hasattr(select, "poll") and hasattr(socket, "MSG_DONTWAIT")  # else routes pace themselves
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)

try:  # Linux: bytes in the send queue not yet acknowledged by the peer
    from fcntl import ioctl
    from termios import TIOCOUTQ as _SIOCOUTQ
except ImportError:  # pragma: no cover - not Linux
    ioctl = None  # type: ignore[assignment]
    _SIOCOUTQ = None  # type: ignore[assignment]


class _AbortError(Exception):
    """Ends a route: the client went away or the server is closing."""


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


Route = Callable[["Exchange"], None]


class Exchange:
    """One request and its response, as a route sees them."""

    def __init__(self, handler: _Handler, request: RecordedRequest) -> None:
        self.request = request
        self._handler = handler
        self._server: LoopbackServer = handler.server  # type: ignore[assignment]
        self._framing: Optional[Framing] = None
        self._state: Literal["new", "streaming", "done"] = "new"
        self._client_may_send = True  # False once the client sent bytes: EOF is then invisible

    @property
    def started(self) -> bool:
        """Whether the response head was sent."""
        return self._state != "new"

    def respond(
        self,
        status: int,
        body: bytes | str = b"",
        *,
        content_type: str = "text/plain; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Send a whole response with ``Content-Length``; the connection stays open."""
        data = body.encode() if isinstance(body, str) else body
        self._send_head(status, {"Content-Type": content_type, **(headers or {})}, len(data))
        self._send(data)
        self._state = "done"

    def start(
        self, status: int, headers: Mapping[str, str] | None = None, *, framing: Framing = "chunked"
    ) -> None:
        """Send the head of a streamed response; the body follows with :meth:`write`.

        An HTTP/1.0 client gets ``"close"`` framing whatever is asked, as HTTP requires.
        """
        if self._handler.request_version == "HTTP/1.0":
            framing = "close"
        self._framing = framing
        if framing == "chunked":
            framing_header = {"Transfer-Encoding": "chunked"}
        else:
            framing_header = {"Connection": "close"}
        self._send_head(status, {**(headers or {}), **framing_header}, None)
        self._state = "streaming"

    def write(self, data: bytes) -> None:
        """Send one body piece now: one chunk in chunked framing (empty pieces are skipped)."""
        if self._state != "streaming":
            raise RuntimeError("write() needs start() first and no end() or drop() before")
        if data:
            self._send(self._frame(data))

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
        if interval > 0 and _PACING and self._handler.connection.gettimeout() is None:
            while index < count and due <= now:  # due at the call: written from here, at once
                self.write(piece(index))
                index += 1
                due += interval
            if index == count:
                return
            pacer = self._server._start_pacer()
            if pacer is None:
                raise _AbortError  # the server is closing
            stream = _PacedStream(self, piece, index, count, interval, due)
            if pacer.submit(stream):
                stream.done.wait()
                if stream.outcome == "ended":
                    return
                if stream.outcome == "disconnected":
                    self._disconnected()
                if stream.error is not None:
                    raise stream.error
                if stream.rest:  # "back": the pacer handed the stream back
                    self._send(stream.rest)
                index, due = stream.index, stream.due
        while index < count:
            if interval > 0 or due > time.monotonic():  # wait(0) still looks at the client
                self.wait(max(due - time.monotonic(), 0.0))
            self.write(piece(index))
            index += 1
            due += interval

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
        while not semaphore.acquire(timeout=_POLL):
            self._watch(0.0)

    def _watch(self, timeout: float) -> None:
        """Block up to ``timeout`` seconds; raise :class:`_AbortError` on disconnect or close."""
        server = self._server
        sock = self._handler.connection
        watched = [server.wakeup_fd] + ([sock.fileno()] if self._client_may_send else [])
        if server.closing.is_set() or sock.fileno() < 0:
            raise _AbortError
        for fd in _readable(watched, timeout):
            if fd == server.wakeup_fd:
                raise _AbortError
            try:
                peeked = sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                continue
            except OSError:
                peeked = b""
            if not peeked:
                self._disconnected()
            # The client sent data: recv(MSG_PEEK) cannot see its FIN behind it any more,
            # so from now on a failed write is what tells.
            self._client_may_send = False

    def _frame(self, data: bytes) -> bytes:
        """``data`` as one body piece on the wire: a chunk in chunked framing."""
        if self._framing == "chunked":
            return b"%x\r\n%s\r\n" % (len(data), data)
        return data

    def _send_head(self, status: int, headers: Mapping[str, str], length: Optional[int]) -> None:
        if self._state != "new":
            raise RuntimeError("the response head was already sent")
        handler = self._handler
        self.request.status = status
        handler.log_request(status)
        handler.send_response_only(status)
        if not any(name.lower() == "server" for name in headers):
            handler.send_header("Server", handler.version_string())
        handler.send_header("Date", handler.date_time_string())
        for name, value in headers.items():
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
            self._handler.connection.shutdown(how)
        except OSError:
            pass

    def _disconnected(self) -> NoReturn:
        """Record that the client went away (unless the server is closing) and end the route."""
        self._handler.close_connection = True
        if not self._server.closing.is_set():
            self.request.disconnected.set()
        raise _AbortError


def _check_keep_requests(keep_requests: Optional[int]) -> None:
    """Raise ``ValueError`` unless ``keep_requests`` is None or a count (0 or more)."""
    is_count = isinstance(keep_requests, int) and not isinstance(keep_requests, bool)
    if keep_requests is not None and not (is_count and keep_requests >= 0):
        raise ValueError(f"keep_requests must be None or an int >= 0, not {keep_requests!r}")


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


class _PacedStream:
    """A stream the pacer writes for its route, which waits on :attr:`done`."""

    def __init__(
        self,
        exchange: Exchange,
        piece: Callable[[int], bytes],
        index: int,
        count: int,
        interval: float,
        due: float,
    ) -> None:
        self.exchange = exchange
        self.piece = piece
        self.index = index
        """The next piece to write."""
        self.count = count
        self.interval = interval
        self.due = due
        """When the next piece is to be written (``time.monotonic()``)."""
        self.sock: socket.socket = exchange._handler.connection
        self.fileno = self.sock.fileno()
        self.chunked = exchange._framing == "chunked"
        self.outcome: Literal["paced", "ended", "back", "disconnected", "failed"] = "paced"
        """``back``: the route writes :attr:`rest`, then the pieces from :attr:`index` on."""
        self.error: Optional[BaseException] = None
        """What ``piece`` raised (``failed``)."""
        self.rest = b""
        self.done = threading.Event()


class _Pacer:
    """One thread making the timed writes of every paced stream of a server.

    Streams wait in a heap by due time; each wake-up writes every piece due by then, back
    to back, with non-blocking sends, so N streams of one piece a millisecond cost about a
    thousand wake-ups a second in one thread, not N thousand in N threads contending for
    the GIL. Between wake-ups it polls the streams' sockets (a client's FIN ends its route
    as promptly as :meth:`Exchange.wait` would), the server's wake-up descriptor (closing)
    and its own (a new stream). A stream whose client cannot take a piece at once, and
    every stream when the server closes, goes back to its route's thread.
    """

    def __init__(self, server: LoopbackServer) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._incoming: list[_PacedStream] = []
        self._stopped = False
        self._woken = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._poller = select.poll()
        self._watched: dict[int, _PacedStream] = {}
        self.thread = threading.Thread(
            target=self._run, name=f"g4f-sync-emulator pacer {server.url}", daemon=True
        )
        self.thread.start()

    def submit(self, stream: _PacedStream) -> bool:
        """Take ``stream`` on; False when the pacer has stopped (the route paces it itself)."""
        with self._lock:
            if self._stopped:
                return False
            self._incoming.append(stream)
            if not self._woken:
                self._woken = True
                self._wake_w.send(b"\0")
        return True

    def _run(self) -> None:
        heap: list[tuple[float, int, _PacedStream]] = []
        order = itertools.count()  # equal due times: first come, first written
        poller = self._poller
        closing_fd = self._server.wakeup_fd
        wake_fd = self._wake_r.fileno()
        poller.register(closing_fd, select.POLLIN)
        poller.register(wake_fd, select.POLLIN)
        monotonic = time.monotonic
        try:
            while True:
                now = monotonic()
                while heap and heap[0][0] <= now + _EARLY:
                    stream = heapq.heappop(heap)[2]
                    if stream.outcome == "paced" and self._step(stream):
                        heapq.heappush(heap, (stream.due, next(order), stream))
                timeout = None
                if heap:
                    timeout = max(math.ceil((heap[0][0] - monotonic()) * 1000), 0)
                for fd, _ in poller.poll(timeout):
                    if fd == closing_fd:
                        return
                    if fd == wake_fd:
                        for stream in self._take_incoming():
                            heapq.heappush(heap, (stream.due, next(order), stream))
                            if stream.exchange._client_may_send:
                                self._watched[stream.fileno] = stream
                                poller.register(stream.fileno, select.POLLIN)
                    elif fd in self._watched:
                        self._check_client(self._watched[fd])
        except Exception:  # pragma: no cover - a bug: the routes carry on by themselves
            traceback.print_exc()
        finally:
            with self._lock:
                self._stopped = True
                leftover = self._incoming
                self._incoming = []
            for _, _, stream in heap:
                if stream.outcome == "paced":
                    self._finish(stream, "back")
            for stream in leftover:
                self._finish(stream, "back")
            self._wake_r.close()
            self._wake_w.close()

    def _take_incoming(self) -> list[_PacedStream]:
        with self._lock:
            try:
                self._wake_r.recv(4096)
            except BlockingIOError:
                pass
            self._woken = False
            incoming, self._incoming = self._incoming, []
        return incoming

    def _step(self, stream: _PacedStream) -> bool:
        """Write the stream's next piece; True while the stream stays with the pacer."""
        try:
            data = stream.piece(stream.index)
        except Exception as exc:
            stream.error = exc
            return self._finish(stream, "failed")
        stream.index += 1
        stream.due += stream.interval
        if data:
            if stream.chunked:
                data = b"%x\r\n%s\r\n" % (len(data), data)
            try:
                sent = stream.sock.send(data, _DONTWAIT)
            except BlockingIOError:
                sent = 0
            except OSError:
                return self._finish(stream, "disconnected")
            if sent < len(data):
                stream.rest = data[sent:]
                return self._finish(stream, "back")
        if stream.index == stream.count:
            return self._finish(stream, "ended")
        return True

    def _check_client(self, stream: _PacedStream) -> None:
        """The client's socket turned readable: a FIN (or an error) ends the stream."""
        try:
            peeked = stream.sock.recv(1, socket.MSG_PEEK | _DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            peeked = b""
        if not peeked:
            self._finish(stream, "disconnected")
            return
        # The client sent data: its FIN is invisible from now on (see Exchange._watch).
        stream.exchange._client_may_send = False
        self._unwatch(stream)

    def _unwatch(self, stream: _PacedStream) -> None:
        if self._watched.get(stream.fileno) is stream:
            del self._watched[stream.fileno]
            self._poller.unregister(stream.fileno)

    def _finish(
        self, stream: _PacedStream, outcome: Literal["ended", "back", "disconnected", "failed"]
    ) -> bool:
        """Hand ``stream`` back to its route; False (for :meth:`_step`)."""
        self._unwatch(stream)
        stream.outcome = outcome
        stream.done.set()
        return False


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, records it and hands it to the route registered for it."""

    protocol_version = "HTTP/1.1"
    server_version = "g4f-sync-emulator"
    sys_version = ""
    server: LoopbackServer

    def version_string(self) -> str:
        return self.server_version

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, _AbortError):
            pass  # the client went away between requests, or the server is closing

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            self.send_error(400, str(exc))
            return
        target = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(target.query, keep_blank_values=True).items()}
        record = RecordedRequest(self.command, target.path, query, self.headers, body)
        self.server.record(record)
        exchange = Exchange(self, record)
        try:
            route = self.server.route_for(self.command, target.path)
            if route is None:
                self._unrouted(exchange, target.path)
            else:
                route(exchange)
                if not exchange.started:
                    raise RuntimeError(f"route for {self.command} {target.path} sent no response")
                exchange.end()
        except _AbortError:
            self.close_connection = True
        except Exception:
            traceback.print_exc()
            self.close_connection = True
            try:
                if exchange.started:
                    exchange.drop(reset=False)
                else:
                    exchange.respond(500, "emulator error: see its stderr")
            except _AbortError:
                pass
        finally:
            record.finished.set()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch  # noqa: N815

    def _unrouted(self, exchange: Exchange, path: str) -> None:
        allowed = self.server.methods_for(path)
        if allowed:
            exchange.respond(405, "method not allowed\n", headers={"Allow": ", ".join(allowed)})
        else:
            exchange.respond(404, f"no route for {path}\n")

    def _read_body(self) -> bytes:
        """The request body, by ``Content-Length`` or chunked; ValueError when malformed."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            pieces: list[bytes] = []
            total, size = 0, -1
            while size != 0:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise ValueError("malformed chunked request body") from None
                total += size
                if size < 0 or total > MAX_BODY:
                    raise ValueError("bad chunked request body")
                if size:
                    pieces.append(self._read_exact(size + 2)[:size])
            while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(pieces)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            n = -1
        if not 0 <= n <= MAX_BODY:
            raise ValueError(f"bad Content-Length: {length!r}")
        return self._read_exact(n)

    def _read_exact(self, n: int) -> bytes:
        data = self.rfile.read(n)
        if len(data) < n:
            raise _AbortError  # the client went away mid-request
        return data


_unclosed_servers: weakref.WeakSet[LoopbackServer] = weakref.WeakSet()
_exit_hook_lock = threading.Lock()
_exit_hook_registered = False


def _close_at_exit(server: LoopbackServer) -> None:
    """Have ``server`` closed when the interpreter exits, unless it was closed before.

    One hook for every server, registered once, so that starting and closing servers
    leaves nothing behind; a weak set, so that the hook keeps no server alive.
    """
    global _exit_hook_registered
    with _exit_hook_lock:
        _unclosed_servers.add(server)
        if _exit_hook_registered:
            return
        # Runs before the interpreter joins non-daemon threads (the hook concurrent.futures uses).
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            register(_close_unclosed_servers)
        _exit_hook_registered = True


def _close_unclosed_servers() -> None:
    for server in list(_unclosed_servers):
        server.close()


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP/1.1 server with keep-alive, routes, a request log and a clean close.

    Every connection is served by a tracked, non-daemon thread; :meth:`close` wakes them all
    (silent routes included) and joins them. The request log keeps the last
    ``keep_requests`` requests (:data:`DEFAULT_KEEP_REQUESTS`; None keeps every one, 0 none),
    so a long run does not grow without bound; :attr:`request_count` counts them all.
    """

    daemon_threads = False
    block_on_close = False  # close() joins the threads itself, with a deadline
    request_queue_size = 128

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        verbose: bool = False,
        keep_requests: Optional[int] = DEFAULT_KEEP_REQUESTS,
    ) -> None:
        _check_keep_requests(keep_requests)
        self.verbose = verbose
        self._kept: deque[RecordedRequest] = deque(maxlen=keep_requests)
        self._request_count = 0
        self.closing = threading.Event()
        self._routes: dict[tuple[str, str], Route] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._handler_threads: set[threading.Thread] = set()
        self._connections: set[socket.socket] = set()
        self._serve_thread: Optional[threading.Thread] = None
        self._pacer: Optional[_Pacer] = None
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        self.wakeup_fd = self._wakeup_r.fileno()
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        """``http://host:port`` of the listening socket."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def add_route(self, method: str, path: str, route: Route) -> None:
        """Answer ``method`` requests for exactly ``path`` (no query string) with ``route``."""
        self._routes[(method.upper(), path)] = route

    def route_for(self, method: str, path: str) -> Optional[Route]:
        """The route registered for ``(method, path)``, if any."""
        return self._routes.get((method, path))

    def methods_for(self, path: str) -> list[str]:
        """The methods with a route for ``path``."""
        return sorted(m for m, p in self._routes if p == path)

    @property
    def keep_requests(self) -> Optional[int]:
        """How many requests :attr:`requests` keeps; None: every one."""
        return self._kept.maxlen

    @property
    def requests(self) -> list[RecordedRequest]:
        """The last :attr:`keep_requests` requests received, oldest first.

        A new list on every call: safe to iterate while requests arrive, and changing it
        changes nothing. Once more than :attr:`keep_requests` requests came, index 0 is no
        longer the first one: :attr:`RecordedRequest.number` and :attr:`request_count` tell.
        """
        with self._lock:
            return list(self._kept)

    @property
    def request_count(self) -> int:
        """How many requests the server received in all, kept or not."""
        return self._request_count

    def record(self, request: RecordedRequest) -> None:
        """Number ``request`` and keep it, dropping the oldest record beyond
        :attr:`keep_requests`."""
        with self._arrived:
            self._request_count += 1
            request.number = self._request_count
            self._kept.append(request)
            self._arrived.notify_all()

    def wait_for_requests(self, count: int, timeout: Optional[float] = None) -> bool:
        """Block until ``count`` requests arrived in all (:attr:`request_count`, kept or not);
        False on timeout."""
        with self._arrived:
            return self._arrived.wait_for(lambda: self._request_count >= count, timeout)

    def _start_pacer(self) -> Optional[_Pacer]:
        """The pacer, started on first use; None once the server is closing."""
        with self._lock:
            if self.closing.is_set():
                return None
            if self._pacer is None:
                self._pacer = _Pacer(self)
            return self._pacer

    def start(self) -> None:
        """Serve in a background thread (non-daemon; :meth:`close` joins it).

        A server never closed is closed when the interpreter exits, instead of keeping it
        waiting for the thread.
        """
        if self._serve_thread is not None:
            raise RuntimeError("the server was already started")
        _close_at_exit(self)
        self._serve_thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": _POLL},
            name=f"g4f-sync-emulator {self.url}",
        )
        self._serve_thread.start()

    def close(self, timeout: float = 1.0) -> None:
        """Stop serving, end every route and connection, and join every thread started."""
        if self.closing.is_set():
            return
        deadline = time.monotonic() + timeout
        self.closing.set()
        _unclosed_servers.discard(self)
        self._wakeup_w.send(b"x")  # never read: stays readable for every waiting route
        if self._serve_thread is not None:
            self.shutdown()
            self._serve_thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            for conn in self._connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            threads = list(self._handler_threads)
            if self._pacer is not None:
                threads.append(self._pacer.thread)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.server_close()
        self._wakeup_r.close()
        self._wakeup_w.close()
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            message = f"emulator threads still running after close(): {stuck}"
            warnings.warn(message, RuntimeWarning, stacklevel=2)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"g4f-sync-emulator connection {client_address[1]}",
            daemon=False,
        )
        with self._lock:
            self._connections.add(request)
            self._handler_threads.add(thread)
        try:
            thread.start()
        except BaseException:  # e.g. no thread to be had: socketserver closes the connection
            with self._lock:
                self._connections.discard(request)
                self._handler_threads.discard(thread)
            raise

    def _serve_connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            with self._lock:
                self._connections.discard(request)
                self.shutdown_request(request)
                self._handler_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.verbose or not isinstance(sys.exc_info()[1], (OSError, _AbortError)):
            super().handle_error(request, client_address)
