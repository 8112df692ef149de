"""Where g4f_sync relies on urllib3 and http.client beyond their documented API, in one
place, with :func:`probe` to check that what it relies on is still there and still means
the same (tests/test_compat.py fails loudly when it does not).

Reading whole chunks. :func:`whole_chunks_reader` hands over, in one piece, every complete
chunk of a chunked body already in the receive buffer, where urllib3's ``read1`` returns
one chunk per call: a token is usually one chunk, so this halves the CPU per token. It
reads http.client's ``HTTPResponse`` state (``fp``, ``chunk_left``, ``_method``) and
urllib3's (``_fp``, ``_error_catcher``, ``_fp_bytes_read``), and is used only when
:func:`probe` finds them as expected; otherwise ``read1`` alone reads (slower, the same
bytes). Responses read through a buffer of :data:`READ_SIZE` bytes (http.client's
``response_class``; its own is 8 KiB), so that the reader takes that much at once.

Reaching a socket before the response exists. urllib3 gives a response ``shutdown()``
(2.3 and later) to unblock a read of the body from another thread, but nothing reaches
the socket while a request is connecting or waiting for the response head. The
connection classes here report each socket they use, in the thread that sends, to the
:class:`SocketWatcher` active there (:func:`watching_sockets`), before ``connect()``
blocks and before the request is written on a reused connection. To report a socket
before it connects, :meth:`_ReportingConnection._new_conn` overrides urllib3's private
method of that name, doing what ``urllib3.util.connection.create_connection`` does.
"""

from __future__ import annotations

import http.client
import io
import socket
import struct
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Optional, Protocol, Tuple

import urllib3
import urllib3.response
import urllib3.util.timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

__all__ = [
    "POOL_CLASSES",
    "SocketWatcher",
    "close_pools",
    "direct_parts",
    "probe",
    "probe_direct",
    "watching_sockets",
    "whole_chunks_reader",
]

_DEFAULT_TIMEOUT = getattr(urllib3.util.timeout, "_DEFAULT_TIMEOUT", None)
READ_SIZE = 65536
"""Most bytes looked at, and taken, in one call of a whole-chunks reader."""
MAX_CHUNK_SIZE_LINE = 1024
"""Longest chunk-size line the whole-chunks reader parses itself; longer ones go to
http.client."""


class SocketWatcher(Protocol):
    def watch_socket(self, sock: socket.socket) -> None:
        """Called in the sending thread with each socket a request is about to use."""


_active = threading.local()


@contextmanager
def watching_sockets(watcher: SocketWatcher) -> Iterator[None]:
    """While the block runs, sockets of g4f_sync sessions used in this thread are
    reported to ``watcher``."""
    previous = getattr(_active, "watcher", None)
    _active.watcher = watcher
    try:
        yield
    finally:
        _active.watcher = previous


def _report(sock: Optional[socket.socket]) -> None:
    watcher = getattr(_active, "watcher", None)
    if watcher is not None and sock is not None:
        watcher.watch_socket(sock)


class _LargeBufferSocket:
    """The part of a socket http.client's ``HTTPResponse`` uses, ``makefile``, giving the
    file a buffer of :data:`READ_SIZE` bytes instead of 8 KiB."""

    __slots__ = ("_sock",)

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def makefile(self, mode: str) -> Any:
        return self._sock.makefile(mode, buffering=READ_SIZE)


class _LargeBufferResponse(http.client.HTTPResponse):
    """http.client's response reading through a :data:`READ_SIZE` buffer, so that the
    whole-chunks reader takes up to that much at once (with 8 KiB, a stream of 250-byte
    events, an OpenAI server's, came in pieces of some 30 chunks, each piece ending with
    a partial chunk read apart). Only the memory the socket fills is touched."""

    def __init__(
        self, sock: Any, debuglevel: int = 0, method: Optional[str] = None, url: Any = None
    ) -> None:
        super().__init__(_LargeBufferSocket(sock), debuglevel, method, url)  # type: ignore[arg-type]


class _ReportingHTTPConnection(HTTPConnection):
    """An urllib3 connection that reports its socket (see the module docstring), and
    reads its responses through a larger buffer (:class:`_LargeBufferResponse`)."""

    response_class = _LargeBufferResponse

    def _new_conn(self) -> socket.socket:
        host, port = self._dns_host, self.port
        if host.startswith("["):
            host = host.strip("[]")
        try:
            addresses = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        error: Optional[OSError] = None
        for family, kind, proto, _, address in addresses:
            sock = socket.socket(family, kind, proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                if self.timeout is not _DEFAULT_TIMEOUT:
                    sock.settimeout(self.timeout)
                if self.source_address:
                    sock.bind(self.source_address)
                _report(sock)
                sock.connect(address)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        if isinstance(error, socket.timeout):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from error
        raise NewConnectionError(
            self, f"Failed to establish a new connection: {error or 'no address found'}"
        ) from error

    def request(self, *args: Any, **kwargs: Any) -> None:
        _report(self.sock)  # a reused connection: it will wait for the head on this socket
        super().request(*args, **kwargs)


class _ReportingHTTPSConnection(_ReportingHTTPConnection, HTTPSConnection):
    pass


class _ReportingHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _ReportingHTTPConnection


class _ReportingHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _ReportingHTTPSConnection


POOL_CLASSES = {"http": _ReportingHTTPConnectionPool, "https": _ReportingHTTPSConnectionPool}
"""``PoolManager.pool_classes_by_scheme`` for managers whose sockets are reported."""


def close_pools(manager: urllib3.PoolManager) -> None:
    """Close every connection of ``manager``'s pools, then drop the pools.

    urllib3 2.x ``PoolManager.clear()`` drops its pools without closing them, so their
    idle connections stay open until garbage collection (a traceback keeps them alive).
    """
    pools = manager.pools
    for key in list(pools.keys()):
        pool = pools.get(key)
        if pool is not None:
            pool.close()
    manager.clear()


def whole_chunks_reader(raw: Any) -> Optional[Callable[[], bytes]]:
    """For a chunked body without content coding read by http.client: a function that
    returns the data of every complete chunk in the receive buffer, consuming just those
    bytes, or ``b""`` (then ``read1`` goes on: a partial chunk, the last chunk, an anomaly).

    It blocks only when nothing at all is buffered, like ``read1``, and fails as ``read1``
    does (through urllib3, which discards the connection). Anything else (another
    urllib3, a mocked body, gzip, an answer to HEAD), or internals that :func:`probe`
    finds changed, gets None: ``read1`` alone.
    """
    return None if probe() else _whole_chunks_reader(raw)


def _whole_chunks_reader(raw: Any) -> Optional[Callable[[], bytes]]:
    original = getattr(raw, "_fp", None)
    if (
        not isinstance(original, http.client.HTTPResponse)
        or not original.chunked
        or original._method == "HEAD"  # no body, whatever the headers say (as read1)
        or not hasattr(original.fp, "peek")
        or not hasattr(raw, "_error_catcher")
        or not hasattr(raw, "_fp_bytes_read")
        or raw.headers.get("Content-Encoding", "identity").strip().lower() != "identity"
    ):
        return None

    def whole_chunks() -> bytes:
        fp = original.fp
        chunk_left = original.chunk_left
        if fp is None or chunk_left:  # closed, or inside a chunk: read1's part
            return b""
        try:
            data = fp.peek(READ_SIZE)
        except BaseException:
            # Fail as read1 would: urllib3 maps the error (ReadTimeoutError,
            # ProtocolError), closes the response and its connection, frees the pool slot.
            with raw._error_catcher():
                raise
        start = 0
        if chunk_left == 0:  # the CRLF ending the previous chunk comes first
            if data[:2] != b"\r\n":
                return b""
            start = 2
        pieces = []
        end = start
        size_end = data.find(b"\n", start)
        while 0 <= size_end <= end + MAX_CHUNK_SIZE_LINE:
            try:
                size = int(data[end:size_end].split(b";", 1)[0], 16)
            except ValueError:
                break
            chunk_end = size_end + 1 + size
            if size <= 0 or data[chunk_end : chunk_end + 2] != b"\r\n":
                break  # the last chunk, or not all of this one yet
            pieces.append(data[size_end + 1 : chunk_end])
            end = chunk_end + 2
            size_end = data.find(b"\n", end)
        if not pieces:
            return b""
        fp.read(end)
        original.chunk_left = None
        whole = b"".join(pieces)
        raw._fp_bytes_read += len(whole)  # as read1 counts them, for raw.tell()
        return whole

    return whole_chunks


class _FakeSocket:
    """Enough of a socket for http.client to read a response from bytes."""

    def __init__(self, data: bytes) -> None:
        self.file = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]

    def makefile(self, mode: str) -> io.BufferedReader:
        return self.file


_PROBE_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n"
)
_probed: Optional[List[str]] = None


def probe() -> List[str]:
    """What this module relies on that the installed urllib3 or Python lacks, or that
    behaves otherwise than expected: an empty list when all is well. Runs once."""
    global _probed
    if _probed is None:
        _probed = _probe_connections() + _probe_pools() + _probe_whole_chunks()
    return list(_probed)


def _probe_connections() -> List[str]:
    problems = []
    for cls in (HTTPConnection, HTTPSConnection):
        if "_new_conn" not in cls.connect.__code__.co_names:
            problems.append(f"urllib3 {cls.__name__}.connect() no longer calls _new_conn()")
    if _DEFAULT_TIMEOUT is None:
        problems.append("urllib3.util.timeout._DEFAULT_TIMEOUT is gone")
    if getattr(HTTPConnection("example.test", 80), "_dns_host", None) != "example.test":
        problems.append("urllib3 HTTPConnection._dns_host is not the host to resolve")
    if "response_class" not in http.client.HTTPConnection.getresponse.__code__.co_names:
        problems.append("http.client HTTPConnection.getresponse() ignores response_class")
    if "shutdown" not in vars(urllib3.response.HTTPResponse):
        problems.append("urllib3 HTTPResponse.shutdown() is missing (urllib3 >= 2.3 has it)")
    return problems


def _probe_pools() -> List[str]:
    pools = urllib3.PoolManager().pools
    if not (callable(getattr(pools, "keys", None)) and callable(getattr(pools, "get", None))):
        return ["urllib3 PoolManager.pools has no keys() and get()"]
    return []


def _probe_whole_chunks() -> List[str]:
    """Read a chunked body from bytes, as http.client and urllib3 do, and check the state
    the whole-chunks reader relies on at each step."""
    original = http.client.HTTPResponse(_FakeSocket(_PROBE_RESPONSE), method="POST")  # type: ignore[arg-type]
    original.begin()
    raw = urllib3.response.HTTPResponse(
        body=original, headers=dict(original.headers), status=200, preload_content=False
    )
    checks = [
        ("urllib3 HTTPResponse._fp is the http.client response", raw._fp is original),
        ("http.client HTTPResponse._method is the request's", original._method == "POST"),
        ("http.client chunk_left is None before the first chunk", original.chunk_left is None),
        ("urllib3 HTTPResponse._error_catcher() is there", callable(raw._error_catcher)),
    ]
    first = raw.read1(3)
    checks += [
        ("read1 returns one whole chunk", first == b"abc"),
        ("chunk_left is 0 right after a chunk", original.chunk_left == 0),
        ("tell() counts _fp_bytes_read", raw.tell() == raw._fp_bytes_read == 3),
    ]
    whole_chunks = _whole_chunks_reader(raw)
    taken = whole_chunks() if whole_chunks is not None else None
    checks += [
        ("the whole-chunks reader applies to this body", whole_chunks is not None),
        ("it takes every complete chunk at once", taken == b"def"),
        ("http.client reads on after it", raw.read1(10) == b"" and original.isclosed()),
        ("tell() counts what it took", raw.tell() == 6),
    ]
    return [f"{what}: no" for what, ok in checks if not ok]


def direct_parts(raw: Any) -> Optional[Tuple[http.client.HTTPResponse, socket.socket]]:
    """For a body :class:`g4f_sync.http.direct.DirectBody` can read, http.client's response
    and its plain TCP socket (``fp.raw._sock``); None for anything else, or where
    :func:`probe_direct` found a problem. The reader also uses urllib3's
    ``_error_catcher()``, ``release_conn()``, ``_connection`` and ``_fp_bytes_read``, which
    the probe checks."""
    if probe_direct():
        return None
    original = getattr(raw, "_fp", None)
    # the socket the body is read from (a connection that closes after this answer has
    # let go of it already: only the response's file holds it)
    sock = getattr(getattr(getattr(original, "fp", None), "raw", None), "_sock", None)
    if (
        type(sock) is not socket.socket  # TLS, SOCKS and test doubles read through urllib3
        or not isinstance(original, http.client.HTTPResponse)
        or original._method == "HEAD"  # no body, whatever the headers say
        or original.fp is None
        or (original.chunked and original.chunk_left is not None)  # a chunk was read
        or getattr(raw, "_fp_bytes_read", None) != 0
        or raw.headers.get("Content-Encoding", "identity").strip().lower() != "identity"
    ):
        return None
    return original, sock


_probed_direct: Optional[List[str]] = None


def probe_direct() -> List[str]:
    """What the direct reader relies on that this system, Python or urllib3 lacks: an
    empty list when all is there. Runs once."""
    global _probed_direct
    if _probed_direct is None:
        _probed_direct = _probe_direct()
    return list(_probed_direct)


def _probe_direct() -> List[str]:
    if not sys.platform.startswith("linux"):
        return [f"SO_RCVTIMEO is relied on as Linux has it, not as {sys.platform} has it"]
    problems = []
    raw = urllib3.response.HTTPResponse(body=io.BytesIO(), preload_content=False)
    for name in ("_error_catcher", "release_conn"):
        if not callable(getattr(raw, name, None)):
            problems.append(f"urllib3 HTTPResponse.{name}() is missing")
    for name in ("_connection", "_fp_bytes_read"):
        if not hasattr(raw, name):
            problems.append(f"urllib3 HTTPResponse.{name} is missing")
    original = http.client.HTTPResponse(_FakeSocket(_PROBE_RESPONSE), method="POST")  # type: ignore[arg-type]
    original.begin()
    if not (original.chunked and original.chunk_left is None and hasattr(original.fp, "peek")):
        problems.append("http.client HTTPResponse has no chunked/chunk_left/fp.peek as expected")
    left, right = socket.socketpair()
    with left, right, left.makefile("rb") as file:
        if getattr(getattr(file, "raw", None), "_sock", None) is not left:
            problems.append("a socket file's raw.SocketIO no longer holds the socket as _sock")
    return problems + _probe_receive_timeout()


def _probe_receive_timeout() -> List[str]:
    """A blocking socket with ``SO_RCVTIMEO`` read through ``socket.SocketIO`` returns
    None once the timeout passes, with nothing read, as the direct reader expects."""
    left, right = socket.socketpair()
    try:
        left.settimeout(None)
        left.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 1000))
        raw = socket.SocketIO(left, "rb")
        if raw.readinto(bytearray(1)) is not None:
            return ["a timed-out read of a blocking socket with SO_RCVTIMEO is not None"]
        right.sendall(b"x")
        buffer = bytearray(1)
        if raw.readinto(buffer) != 1 or buffer != b"x":
            return ["a blocking socket with SO_RCVTIMEO does not read on after a timeout"]
    except OSError as exc:
        return [f"SO_RCVTIMEO on a blocking socket fails: {exc}"]
    finally:
        left.close()
        right.close()
    return []
