"""The loopback HTTP/1.1 server the emulated services plug into: :class:`LoopbackServer`.

A service registers route functions with :meth:`LoopbackServer.add_route`; each gets an
:class:`~.exchange.Exchange` for its request. Every connection is served by a tracked,
non-daemon thread with ``TCP_NODELAY`` on; :meth:`LoopbackServer.close` wakes every route
(silent ones included) and joins every thread. The server keeps a bounded record of the
requests it received (:data:`DEFAULT_KEEP_REQUESTS`).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import traceback
import warnings
import weakref
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from .exchange import POLL_INTERVAL, Exchange, Framing, RecordedRequest, Route, RouteAbortedError
from .pacer import Pacer

__all__ = [
    "DEFAULT_KEEP_REQUESTS",
    "Exchange",
    "Framing",
    "LoopbackServer",
    "RecordedRequest",
    "Route",
    "check_keep_requests",
]
# Exchange, Framing, RecordedRequest and Route live in .exchange; named here too, as before.

MAX_BODY = 16 * 1024 * 1024
"""The largest request body read, in bytes; a larger one gets a 400."""
DEFAULT_KEEP_REQUESTS = 1000
"""How many requests a server keeps in :attr:`LoopbackServer.requests` unless told otherwise:
about 6 MiB plus their bodies (a small request's record takes about 6 KB; docs/emulator.md)."""


def check_keep_requests(keep_requests: Optional[int]) -> None:
    """Raise ``ValueError`` unless ``keep_requests`` is None or a count (0 or more)."""
    is_count = isinstance(keep_requests, int) and not isinstance(keep_requests, bool)
    if keep_requests is not None and not (is_count and keep_requests >= 0):
        raise ValueError(f"keep_requests must be None or an int >= 0, not {keep_requests!r}")


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
        except (OSError, RouteAbortedError):
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
        except RouteAbortedError:
            self.close_connection = True
        except Exception:
            traceback.print_exc()
            self.close_connection = True
            try:
                if exchange.started:
                    exchange.drop(reset=False)
                else:
                    exchange.respond(500, "emulator error: see its stderr")
            except RouteAbortedError:
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
            raise RouteAbortedError  # the client went away mid-request
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
    request_queue_size = 1024
    """The listen backlog. At 128, a thousand streams opened at once overflowed it: the
    kernel dropped SYNs, and those clients connected a second later, on their retry."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        verbose: bool = False,
        keep_requests: Optional[int] = DEFAULT_KEEP_REQUESTS,
    ) -> None:
        check_keep_requests(keep_requests)
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
        self._pacer: Optional[Pacer] = None
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

    def pacer(self) -> Optional[Pacer]:
        """The pacer of this server's paced streams, started on first use; None once the
        server is closing."""
        with self._lock:
            if self.closing.is_set():
                return None
            if self._pacer is None:
                self._pacer = Pacer(self.wakeup_fd, f"g4f-sync-emulator pacer {self.url}")
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
            kwargs={"poll_interval": POLL_INTERVAL},
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
        if self.verbose or not isinstance(sys.exc_info()[1], (OSError, RouteAbortedError)):
            super().handle_error(request, client_address)
