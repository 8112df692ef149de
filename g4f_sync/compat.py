"""Where g4f_sync relies on urllib3 beyond its documented API, in one place.

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

import socket
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Protocol

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

__all__ = ["POOL_CLASSES", "SocketWatcher", "close_pools", "watching_sockets"]


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


class _ReportingHTTPConnection(HTTPConnection):
    """An urllib3 connection that reports its socket (see the module docstring)."""

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
