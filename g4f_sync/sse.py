"""Server-sent events: an unbuffered byte stream -> sseclient-py -> :class:`Event`.

Parsing is sseclient-py's (1.9.0); a normalising byte source and a thin wrapper correct
where it deviates from the WHATWG event-stream rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):

- invalid UTF-8 becomes U+FFFD (sseclient raises ``UnicodeDecodeError``);
- one leading BOM is stripped (sseclient keeps it, so the first field name is wrong and
  the first event is lost);
- CR, LF and CRLF each end a line, also in mixed runs such as ``\\n\\r\\n`` (sseclient
  misses such blank lines and merges two events into one);
- an unterminated event at the end of the stream is dropped (sseclient dispatches it);
- the last event id is carried forward to events without an ``id:`` field, ``id:`` with
  an empty value resets it to ``""``, and an id containing U+0000 is ignored (sseclient
  reports only the block's own ``id:``).

Still sseclient's: an ``id:`` in a block without ``data:`` is not seen (sseclient drops
the block), and of several ``id:`` lines in one block only the last counts.

Speed: the byte source passes whole multi-event chunks, and since its line ends are all
LF, event blocks are cut with one ``split`` per chunk (:class:`_SSEClient` replaces
sseclient's line-by-line ``_read``; its field parsing is untouched).
"""

from __future__ import annotations

import codecs
import logging
from typing import Any, Iterable, Iterator, List, Optional, Union

import requests
import sseclient

from .errors import InvalidRequestError

__all__ = ["Event", "iter_events"]

_BOM = codecs.BOM_UTF8


class Event:
    """One dispatched event: its type (``event``), ``data`` and the last event ``id``.

    ``id`` is None until the stream sets one.
    """

    __slots__ = ("data", "event", "id")

    def __init__(self, event: str = "message", data: str = "", id: Optional[str] = None) -> None:
        self.event = event
        self.data = data
        self.id = id

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self.event == other.event and self.data == other.data and self.id == other.id

    def __repr__(self) -> str:
        return f"Event(event={self.event!r}, data={self.data!r}, id={self.id!r})"


class _QuietLogger:
    """Stands in for sseclient's logger when debug logging is off: no call per event."""

    def debug(self, *args: Any, **kwargs: Any) -> None:
        pass


_QUIET = _QuietLogger()


class _SSEClient(sseclient.SSEClient):  # type: ignore[misc]
    """sseclient-py's parser, fed event blocks cut from LF-only chunks in bulk."""

    def __init__(self, event_source: Iterator[bytes]) -> None:
        super().__init__(event_source)
        if not self._logger.isEnabledFor(logging.DEBUG):
            self._logger = _QUIET

    def _read(self) -> Iterator[bytes]:
        """Yield each event block (without its blank line) as soon as it is complete.

        Replaces sseclient's ``_read``, which re-splits every chunk line by line to find
        the blank lines; :func:`_normalise` guarantees LF line ends and no empty chunk.
        """
        pending: List[bytes] = []  # the start of an event block, not yet complete
        for chunk in self._event_source:
            if b"\n\n" not in chunk and not (pending and pending[-1][-1] == 10 == chunk[0]):
                pending.append(chunk)
                continue
            if pending:
                pending.append(chunk)
                chunk = b"".join(pending)
                pending = []
            blocks = chunk.split(b"\n\n")
            tail = blocks.pop()
            if tail:
                pending.append(tail)
            yield from blocks


class _EndOfStream(BaseException):
    """Raised by the byte source at EOF, so sseclient never dispatches the unterminated
    tail it would otherwise flush (a BaseException: no ``except Exception`` may eat it)."""


def _normalise(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield ``chunks`` as valid UTF-8 with LF line ends and no leading BOM, each chunk as
    soon as it arrives; raise :class:`_EndOfStream` at the end.

    Bytes of a character split across chunks wait for the rest; CR, LF and CRLF become
    LF (a CR ending a chunk becomes LF at once, and an LF opening the next is dropped).
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    decode = decoder.decode
    pending = False  # the decoder holds the first bytes of a split character
    at_start = True  # nothing decoded yet: a BOM may still come
    drop_lf = False  # the previous chunk ended with CR
    for chunk in chunks:
        if pending:
            chunk = decode(chunk).encode()
            pending = bool(decoder.getstate()[0])
        elif not chunk.isascii():
            try:
                chunk.decode()  # complete and valid: pass it on unchanged
            except UnicodeDecodeError:  # invalid, or ends inside a character
                chunk = decode(chunk).encode()
                pending = bool(decoder.getstate()[0])
        if not chunk:
            continue
        if at_start:
            at_start = False
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
                if not chunk:
                    continue
        if drop_lf:
            drop_lf = False
            if chunk[0] == 10:  # LF
                chunk = chunk[1:]
                if not chunk:
                    continue
        if 13 in chunk:  # CR (an int: `b"\r" in` tries an int lookup first, ~8x slower)
            drop_lf = chunk[-1] == 13  # CR
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        yield chunk
    # Bytes still pending (or anything after the last blank line) can only belong to an
    # unterminated event, which the spec discards.
    raise _EndOfStream


def iter_events(source: Union[requests.Response, Iterable[bytes]]) -> Iterator[Event]:
    """Yield the events of ``source``, each as soon as the chunk completing it is read.

    ``source`` is a streaming :class:`requests.Response` (read with
    :func:`g4f_sync.http.iter_body`) or any iterable of ``bytes`` chunks. Events without
    data are not yielded. Read errors propagate (for a Response, as
    :mod:`g4f_sync.errors`); a single ``bytes``/``str`` instead of an iterable of chunks
    raises :class:`~g4f_sync.errors.InvalidRequestError`. Once iteration has started, the
    source (a Response, or an iterable with ``close()``) is closed when the stream ends,
    fails, or this generator is closed.
    """
    if isinstance(source, (bytes, bytearray, memoryview, str)):
        raise InvalidRequestError(
            f"iter_events needs an iterable of bytes chunks, not one {type(source).__name__}"
        )
    if isinstance(source, requests.Response):
        from .http import iter_body

        chunks: Iterable[bytes] = iter_body(source)
    else:
        chunks = source
    events = _SSEClient(_normalise(chunks)).events()
    last_id: Optional[str] = None
    try:
        for event in events:
            event_id = event.id
            if event_id is not None and "\x00" not in event_id:
                last_id = event_id
            yield Event(event.event, event.data, last_id)
    except _EndOfStream:
        return
    finally:
        events.close()
        for opened in (chunks, source) if chunks is not source else (source,):
            close = getattr(opened, "close", None)
            if close is not None:
                close()
