"""Reading a body straight from its socket: one blocking ``recv`` per piece, no poll first.

With a read timeout, a Python socket is non-blocking and polls before every ``recv``:
two system calls and two releases of the GIL per piece. A token is a piece, so with
hundreds of streams in threads each release is a thread switch. :class:`DirectBody` puts
the socket in blocking mode with the read timeout as the kernel's own (``SO_RCVTIMEO``),
reads through http.client's buffer (whatever has arrived, in one ``recv``) and takes the
chunked framing apart itself, handing over every complete chunk at once: one system call
and one GIL release a token instead of two (the benchmarks' concurrency section).

It applies to a plain TCP socket on Linux, a body without content coding, not yet read;
anything else (TLS, a proxy's SOCKS socket, another system, gzip) reads through urllib3
as before (:func:`direct_body`). What it relies on in urllib3, http.client and the
system is checked once by :func:`g4f_sync.compat.probe_direct`.

Failures are urllib3's, raised through its own error handling (``_error_catcher``): a
silence past the read timeout is a ``ReadTimeoutError``, a connection lost mid-body a
``ProtocolError``, and the connection is closed. A body read to its end gives the socket
back its timeout and the connection back to its pool.
"""

from __future__ import annotations

import http.client
import socket
import struct
from typing import Any, List, Optional

from .. import compat

__all__ = ["DirectBody", "direct_body"]

_PEEK = getattr(socket, "MSG_PEEK", 0) | getattr(socket, "MSG_DONTWAIT", 0)

MAX_LINE = getattr(http.client, "_MAXLINE", 65536)
"""Longest chunk-size or trailer line, as http.client reads them."""

_SIZE = 0  # expecting a chunk-size line
_DATA = 1  # inside a chunk's data
_CRLF = 2  # expecting the CRLF after a chunk's data
_TRAILER = 3  # after the last chunk: trailer lines until a blank one
_DONE = 4


def direct_body(raw: Any, read_timeout: Optional[float]) -> Optional[DirectBody]:
    """A :class:`DirectBody` for urllib3 response ``raw``, or None where it does not apply
    (then urllib3 reads the body): see :func:`g4f_sync.compat.direct_parts`."""
    parts = compat.direct_parts(raw)
    return None if parts is None else DirectBody(raw, *parts, read_timeout)


class DirectBody:
    """The body of one response, read from its socket (see the module docstring)."""

    def __init__(
        self, raw: Any, original: http.client.HTTPResponse, sock: socket.socket, timeout: Any
    ) -> None:
        self._raw = raw
        self._original = original
        self._peek = original.fp.peek
        self._read1 = original.fp.read1
        self._sock = sock
        self._saved_timeout = sock.gettimeout()
        self._chunked = bool(original.chunked)
        self._left: Optional[int] = None if self._chunked else original.length
        """Bytes left of the current chunk, or of a body of known length (None: to EOF)."""
        self._state = _SIZE if self._chunked else _DATA
        self._buffer = b""
        self._start = 0
        self._failure: Optional[Exception] = None
        """A framing error found after chunks that were handed over first."""
        sock.settimeout(None)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(timeout))

    def read(self) -> bytes:
        """The body's next bytes: every complete chunk that has arrived (or, inside a long
        chunk, what of it has), blocking only while none has; ``b""`` at the end."""
        try:
            data = self._chunks() if self._chunked else self._plain()
        except BaseException:
            with self._raw._error_catcher():  # urllib3 maps the error, closes the connection
                raise
        self._raw._fp_bytes_read += len(data)  # as read1 counts them, for raw.tell()
        return data

    def _receive(self) -> bytes:
        """What http.client's buffer holds, filled by one ``recv`` if it was empty;
        ``b""`` at EOF; raises ``socket.timeout`` after the read timeout passed with
        nothing. (``peek`` reads into the buffer, which is reused; ``read1`` alone would
        make a 64 KiB object for every read, 100 KiB more memory a stream at 32 streams.)"""
        while True:
            waiting = len(self._peek())
            if waiting:
                return self._read1(waiting)
            try:
                if self._sock.recv(1, _PEEK) == b"":
                    return b""  # the server closed (or an interrupt shut the socket down)
            except BlockingIOError:
                raise socket.timeout("timed out") from None
            # a byte arrived between the timeout and the peek: read it

    def _plain(self) -> bytes:
        if self._state == _DONE:
            return b""
        left = self._left
        data = self._receive() if left != 0 else b""
        if left is None:
            if not data:
                self._finish()
            return data
        if not data:
            if left:
                raise http.client.IncompleteRead(b"", left)
            self._finish()
            return b""
        if len(data) > left:  # more than the body: not ours, so the connection is not reused
            data, self._buffer, self._start = data[:left], data[left:], 0
        self._left = left - len(data)
        if self._left == 0:
            self._finish()
        return data

    def _chunks(self) -> bytes:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        pieces: List[bytes] = []
        while self._state != _DONE:
            try:
                if self._state == _SIZE:
                    self._whole_chunks(pieces)
                piece = self._step() if self._start < len(self._buffer) else None
                if piece is None:  # the buffer ends within a line or a chunk: read on
                    if pieces:
                        break  # hand over what is complete; block only when there is nothing
                    self._receive_more()
                elif piece:
                    pieces.append(piece)
            except Exception as exc:
                if not pieces:
                    raise
                self._failure = exc  # raised by the next read, after these pieces
                break
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _whole_chunks(self, pieces: List[bytes]) -> None:
        """Take every chunk that is in the buffer whole (size line, data, CRLF) at once:
        a token is usually one; anything else is left to :meth:`_step`."""
        buffer, start = self._buffer, self._start
        find = buffer.find
        while True:
            line_end = find(b"\n", start)
            if line_end < 0:
                break
            size = _size_of(buffer[start:line_end])
            if not size:  # the last chunk, or a broken size line: _step decides
                break
            data_end = line_end + 1 + size
            if data_end + 2 > len(buffer):
                break
            pieces.append(buffer[line_end + 1 : data_end])
            start = data_end + 2  # http.client skips the CRLF without looking at it
        self._start = start

    def _receive_more(self) -> None:
        """Append what arrives to the buffer; at EOF, end the body as http.client does
        (after the last chunk, or on its size line alone) or raise ``IncompleteRead``."""
        data = self._receive()
        if data:
            rest = self._buffer[self._start :]
            self._buffer, self._start = (rest + data if rest else data), 0
            return
        rest = self._buffer[self._start :]
        if self._state == _TRAILER or (self._state == _SIZE and _size_of(rest) == 0):
            self._finish()
            return
        raise http.client.IncompleteRead(b"", self._left if self._state == _DATA else None)

    def _step(self) -> Optional[bytes]:
        """Take one framing step from the buffer: a chunk's data (``b""`` for a framing
        line), or None when a line is not complete yet."""
        buffer, start, state = self._buffer, self._start, self._state
        if state == _DATA:
            left = self._left or 0
            end = min(start + left, len(buffer))
            self._left = left - (end - start)
            self._start = end
            if self._left == 0:
                self._state = _CRLF
            return buffer[start:end]
        if state == _CRLF:  # http.client skips these two bytes without looking at them
            if len(buffer) - start < 2:
                return None
            self._start = start + 2
            self._state = _SIZE
            return b""
        end = buffer.find(b"\n", start)
        if end < 0:
            if len(buffer) - start > MAX_LINE:
                raise http.client.LineTooLong("chunk size")
            return None
        line = buffer[start:end]
        self._start = end + 1
        if state == _TRAILER:
            if not line.strip():
                self._finish()
            return b""
        size = _size_of(line)
        if size is None:
            raise http.client.IncompleteRead(b"", None)  # as http.client: a broken body
        if size == 0:
            self._state = _TRAILER
        else:
            self._left, self._state = size, _DATA
        return b""

    def _finish(self) -> None:
        """The body ended as framed: the socket gets its timeout back, and the connection
        goes back to its pool (as urllib3 does once http.client closes the response),
        unless bytes beyond the body arrived (then it is closed)."""
        self._state = _DONE
        extra = len(self._buffer) > self._start
        self._buffer = b""
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(None))
            self._sock.settimeout(self._saved_timeout)
        except OSError:
            extra = True
        self._original.close()
        if extra and self._raw._connection is not None:
            self._raw._connection.close()
        self._raw.release_conn()


def _size_of(line: bytes) -> Optional[int]:
    """A chunk-size line's size (extensions ignored), or None when it is not one."""
    try:
        size = int(line.split(b";", 1)[0], 16)
    except ValueError:
        return None
    return size if size >= 0 else None


def _timeval(seconds: Optional[float]) -> bytes:
    """``seconds`` as a ``struct timeval`` for ``SO_RCVTIMEO``; zero (no timeout) for None.
    A positive timeout never rounds down to zero."""
    if not seconds or seconds <= 0:
        return struct.pack("ll", 0, 0)
    micro = max(1, round(seconds * 1_000_000))
    return struct.pack("ll", micro // 1_000_000, micro % 1_000_000)
