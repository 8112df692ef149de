"""Server-sent events: an unbuffered byte stream -> lines -> :class:`Event`.

A small parser of the WHATWG event-stream rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
in two linear stages. :func:`_lines` cuts the bytes into lines:

- "Streams must be decoded using the UTF-8 decode algorithm", which drops one leading
  BOM (also when split across chunks) and turns bytes that are not UTF-8 into U+FFFD.
  Line ends and colons are ASCII, never inside a multi-byte character, so lines are cut
  and fields split on bytes and only values are decoded: the same text.
- "The stream must then be parsed by reading everything line by line, with a U+000D
  CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair, a single U+000A LINE FEED (LF)
  character not preceded by a U+000D CARRIAGE RETURN (CR) character, and a single U+000D
  CARRIAGE RETURN (CR) character not followed by a U+000A LINE FEED (LF) character being
  the ways in which a line can end." A CR ends its line at once; an LF right after it is
  then skipped, also in the next chunk.

:func:`_events` reads the fields of each line:

- "If the line is empty (a blank line): Dispatch the event." "If the data buffer is an
  empty string, set the data buffer and the event type buffer to the empty string and
  return." Otherwise the data lines are joined with LF and the event type defaults to
  ``message``.
- "If the line starts with a U+003A COLON character (:): Ignore the line."
- "If the line contains a U+003A COLON character (:): Collect the characters on the line
  before the first U+003A COLON character (:), and let field be that string. Collect the
  characters on the line after the first U+003A COLON character (:), and let value be
  that string. If value starts with a U+0020 SPACE character, remove it from value."
- "Otherwise, the string is not empty but does not contain a U+003A COLON character (:):
  Process the field using the whole line as the field name, and the empty string as the
  field value."
- Fields ``data``, ``event`` and ``id`` as the spec says; an ``id`` "does not contain
  U+0000 NULL" or is ignored, and the last event id is carried forward to later events
  (also from a block without data). ``retry`` (a reconnection delay) and unknown fields
  are ignored: this reader does not reconnect.
- "Once the end of the file is reached, any pending data must be discarded."

Time is linear in the input: a line spread over many chunks is gathered in a
``bytearray``, and the data lines of one event too (sseclient-py 1.9.0, used before,
appended each data line to a ``str``, quadratic in the event's size). Memory is bounded
while reading: a line may not exceed ``line_limit`` bytes nor an event's data
``event_limit`` bytes (:class:`~g4f_sync.errors.ResponseError` as soon as either is
passed, after the events before it).

Speed: a chunk is split into lines with one ``split`` (after one ``replace`` pass only if
it holds a CR), and a ``data: `` line takes one ``startswith``.
"""

from __future__ import annotations

import itertools
from typing import Iterable, Iterator, List, Optional, Tuple, Union

import requests

from .errors import InvalidRequestError, ResponseError

__all__ = ["EVENT_LIMIT", "LINE_LIMIT", "Event", "iter_events"]

LINE_LIMIT = 16 * 1024 * 1024
"""Most bytes in one line of an event stream (without its line end). One ``data:`` line
may carry a whole answer, so this matches the limit of a whole non-streamed body."""
EVENT_LIMIT = 16 * 1024 * 1024
"""Most bytes of one event's data (its ``data:`` values joined with LF)."""

_BOM = b"\xef\xbb\xbf"


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


def iter_events(
    source: Union[requests.Response, Iterable[bytes]],
    line_limit: int = LINE_LIMIT,
    event_limit: int = EVENT_LIMIT,
) -> Iterator[Event]:
    """Yield the events of ``source``, each as soon as the chunk completing it is read.

    ``source`` is a streaming :class:`requests.Response` (read with
    :func:`g4f_sync.http.iter_body`) or any iterable of ``bytes`` chunks. Events without
    data are not yielded. A line longer than ``line_limit`` bytes, or an event whose data
    exceeds ``event_limit`` bytes, raises :class:`~g4f_sync.errors.ResponseError` once the
    events before it were yielded, having held at most that much (plus one chunk). Read
    errors propagate (for a Response, as :mod:`g4f_sync.errors`). A single
    ``bytes``/``str`` instead of an iterable of chunks, or a limit below 1, raises
    :class:`~g4f_sync.errors.InvalidRequestError`. Once iteration has started, the source
    (a Response, or an iterable with ``close()``) is closed when the stream ends, fails,
    or this generator is closed.
    """
    if isinstance(source, (bytes, bytearray, memoryview, str)):
        raise InvalidRequestError(
            f"iter_events needs an iterable of bytes chunks, not one {type(source).__name__}"
        )
    if line_limit < 1 or event_limit < 1:
        raise InvalidRequestError(
            f"iter_events' line_limit and event_limit are byte counts of at least 1, "
            f"not {line_limit!r} and {event_limit!r}"
        )
    origin = ""
    if isinstance(source, requests.Response):
        from .http import iter_body, request_of

        chunks: Iterable[bytes] = iter_body(source)
        origin = " from " + " ".join(part for part in request_of(source) if part)
    else:
        chunks = source
    lines = _lines(chunks, line_limit, origin)
    events = _events(lines, event_limit, origin)
    try:
        yield from events
    finally:
        events.close()
        lines.close()
        for opened in (chunks, source) if chunks is not source else (source,):
            close = getattr(opened, "close", None)
            if close is not None:
                close()


def _lines(chunks: Iterable[bytes], limit: int, origin: str) -> Iterator[List[bytes]]:
    """Yield the complete lines of each chunk (without line ends) as soon as the chunk is
    read; raise past ``limit`` bytes in one line.

    The start of a line waits in a ``bytearray`` for the chunk that ends it; whatever
    is left at the end of ``chunks`` is an unterminated line, discarded.
    """
    pending = bytearray()  # the start of a line: no LF yet
    skip_lf = False  # the previous chunk ended with CR
    for chunk in _without_bom(chunks):
        if skip_lf and chunk:
            skip_lf = False
            if chunk[0] == 10:  # LF
                chunk = chunk[1:]
        if 13 in chunk:  # CR (an int: `b"\r" in` tries an int lookup first, ~8x slower)
            skip_lf = chunk[-1] == 13
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if 10 not in chunk:  # LF
            pending += chunk
            if len(pending) > limit:
                raise _line_too_long(limit, origin)
            continue
        lines = chunk.split(b"\n")
        if pending:
            pending += lines[0]
            lines[0] = bytes(pending)
            pending = bytearray()
        tail = lines.pop()
        if len(chunk) > limit or len(lines[0]) > limit:  # some line may be too long
            yield from _lines_within(lines, limit, origin)
        else:
            yield lines
        if tail:
            pending += tail
            if len(pending) > limit:
                raise _line_too_long(limit, origin)


def _without_bom(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` without the BOM that may open them (also when split across chunks)."""
    rest = iter(chunks)
    head = b""
    for chunk in rest:
        head += chunk
        if len(head) >= 3 or not _BOM.startswith(head):
            break
    return itertools.chain((head[3:] if head.startswith(_BOM) else head,), rest)


def _lines_within(lines: List[bytes], limit: int, origin: str) -> Iterator[List[bytes]]:
    """Yield ``lines`` up to the first one longer than ``limit``, then raise for it."""
    for index, line in enumerate(lines):
        if len(line) > limit:
            if index:
                yield lines[:index]
            raise _line_too_long(limit, origin)
    yield lines


def _events(batches: Iterable[List[bytes]], limit: int, origin: str) -> Iterator[Event]:
    """Yield the events that the lines of ``batches`` dispatch; raise once an event's
    data exceeds ``limit`` bytes."""
    data: Optional[bytes] = None  # the first data line's value
    more: Optional[bytearray] = None  # all data values joined with LF, from the second on
    event_type = b""
    last_id: Optional[str] = None
    for lines in batches:
        for line in lines:
            if not line:  # a blank line dispatches the event
                if data is not None:
                    if more is not None:
                        data = bytes(more)
                        more = None
                    try:
                        text = data.decode()
                    except UnicodeDecodeError:
                        text = data.decode("utf-8", "replace")
                    yield Event(_text(event_type) if event_type else "message", text, last_id)
                    data = None
                event_type = b""
                continue
            if line.startswith(b"data: "):
                field, value = b"data", line[6:]
            else:
                field, value = _field(line)
            if field == b"data":
                if data is None:
                    data = value
                    if len(value) > limit:
                        raise _event_too_large(limit, origin)
                else:
                    if more is None:
                        more = bytearray(data)
                    more += b"\n"
                    more += value
                    if len(more) > limit:
                        raise _event_too_large(limit, origin)
            elif field == b"event":
                event_type = value
            elif field == b"id" and 0 not in value:  # an id with NUL is ignored
                last_id = _text(value)


def _field(line: bytes) -> Tuple[bytes, bytes]:
    """A line's field name and value; a comment's name is empty (no field has it)."""
    colon = line.find(b":")
    if colon < 0:
        return line, b""
    value = line[colon + 1 :]
    return line[:colon], value[1:] if value[:1] == b" " else value


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _line_too_long(limit: int, origin: str) -> ResponseError:
    return ResponseError(
        f"an event-stream line{origin} exceeds {limit:,} bytes (iter_events' line_limit); "
        "stopped reading there. Pass a larger line_limit if the server's lines are "
        "really that long"
    )


def _event_too_large(limit: int, origin: str) -> ResponseError:
    return ResponseError(
        f"the data of one event{origin} exceeds {limit:,} bytes (iter_events' event_limit); "
        "stopped reading there. Pass a larger event_limit if the server's events are "
        "really that large"
    )
