"""The pacer: one thread per server making the timed writes of every paced stream.

:meth:`~.exchange.Exchange.pace` hands its stream here when it has an interval. Streams wait
in a heap by due time; each wake-up writes every piece due by then, back to back, with
non-blocking sends, and polls the streams' sockets in between so that a client's FIN ends
its route as promptly as :meth:`~.exchange.Exchange.wait` would. N streams of a piece a
millisecond so cost about a thousand wake-ups a second in one thread rather than N thousand
in N threads contending for the GIL (docs/emulator.md, "Paced streams", has the figures).
A stream whose client cannot take a piece at once, and every stream when the server
closes, goes back to its route's thread.
"""

from __future__ import annotations

import heapq
import itertools
import math
import select
import socket
import threading
import time
import traceback
from typing import Callable, Literal, Optional, Protocol

__all__ = ["PACING", "PacedConnection", "PacedStream", "Pacer"]

PACING = hasattr(select, "poll") and hasattr(socket, "MSG_DONTWAIT")
"""Whether this platform has a pacer; where not, routes pace their streams themselves."""

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_EARLY = 0.0002  # seconds: a piece due this soon is written at once, not after one more tick

Outcome = Literal["paced", "ended", "back", "disconnected", "failed"]


class PacedConnection(Protocol):
    """What the pacer needs of a stream's :class:`~.exchange.Exchange`."""

    @property
    def connection(self) -> socket.socket:
        """The client's socket."""

    @property
    def fin_visible(self) -> bool:
        """Whether the client's FIN can still be seen by peeking at the socket."""

    def client_sent_data(self) -> None:
        """The client sent data, which hides its FIN from now on."""

    def frame(self, data: bytes) -> bytes:
        """``data`` as one body piece on the wire."""


class PacedStream:
    """A stream the pacer writes for its route, which waits on :attr:`done`."""

    def __init__(
        self,
        exchange: PacedConnection,
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
        self.sock = exchange.connection
        self.fileno = self.sock.fileno()
        self.outcome: Outcome = "paced"
        """``back``: the route writes :attr:`rest`, then the pieces from :attr:`index` on."""
        self.error: Optional[BaseException] = None
        """What ``piece`` raised (``failed``)."""
        self.rest = b""
        self.done = threading.Event()


class Pacer:
    """One thread making the timed writes of every paced stream of a server.

    It stops when ``closing_fd`` (the server's wake-up descriptor) turns readable, handing
    every stream back to its route.
    """

    def __init__(self, closing_fd: int, name: str) -> None:
        self._closing_fd = closing_fd
        self._lock = threading.Lock()
        self._incoming: list[PacedStream] = []
        self._stopped = False
        self._woken = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._poller = select.poll()
        self._watched: dict[int, PacedStream] = {}
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def submit(self, stream: PacedStream) -> bool:
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
        heap: list[tuple[float, int, PacedStream]] = []
        order = itertools.count()  # equal due times: first come, first written
        poller = self._poller
        closing_fd = self._closing_fd
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
                            if stream.exchange.fin_visible:
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

    def _take_incoming(self) -> list[PacedStream]:
        with self._lock:
            try:
                self._wake_r.recv(4096)
            except BlockingIOError:
                pass
            self._woken = False
            incoming, self._incoming = self._incoming, []
        return incoming

    def _step(self, stream: PacedStream) -> bool:
        """Write the stream's next piece; True while the stream stays with the pacer."""
        try:
            data = stream.piece(stream.index)
        except Exception as exc:
            stream.error = exc
            return self._finish(stream, "failed")
        stream.index += 1
        stream.due += stream.interval
        if data:
            data = stream.exchange.frame(data)
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

    def _check_client(self, stream: PacedStream) -> None:
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
        stream.exchange.client_sent_data()  # its FIN is invisible from now on
        self._unwatch(stream)

    def _unwatch(self, stream: PacedStream) -> None:
        if self._watched.get(stream.fileno) is stream:
            del self._watched[stream.fileno]
            self._poller.unregister(stream.fileno)

    def _finish(self, stream: PacedStream, outcome: Outcome) -> bool:
        """Hand ``stream`` back to its route; False (for :meth:`_step`)."""
        self._unwatch(stream)
        stream.outcome = outcome
        stream.done.set()
        return False
