"""g4f_sync.sse: the WHATWG event-stream rules, unbuffered, linear, bounded.

Stream cases go through ``check``, which feeds the same bytes whole, byte by byte, and
split in two at every offset, and expects the same events each time. Two oracles back
them: a literal transcription of the spec (any bytes, any chunking) and sseclient-py (on
the inputs where it follows the spec).
"""

from __future__ import annotations

import functools
import re
import tracemalloc
from typing import Callable, Iterable, Iterator, List, Optional, Tuple

import pytest
import requests
import responses
import sseclient
from hypothesis import given, settings
from hypothesis import strategies as st

from g4f_sync.errors import InvalidRequestError, ResponseError
from g4f_sync.sse import EVENT_LIMIT, LINE_LIMIT, Event, iter_events

Check = Callable[[bytes, List[Event]], None]


def ev(data: str, event: str = "message", id: Optional[str] = None) -> Event:
    return Event(event, data, id)


def splits(stream: bytes, mode: str) -> Iterator[List[bytes]]:
    """The ways ``mode`` delivers ``stream`` as chunks."""
    if mode == "whole":
        yield [stream]
    elif mode == "bytewise":
        yield [stream[i : i + 1] for i in range(len(stream))]
    else:  # every_offset
        if len(stream) < 2:
            yield [stream]
        for offset in range(1, len(stream)):
            yield [stream[:offset], stream[offset:]]


@pytest.fixture(params=["whole", "bytewise", "every_offset"])
def check(request: pytest.FixtureRequest) -> Check:
    mode = request.param

    def check(stream: bytes, expected: List[Event]) -> None:
        for chunks in splits(stream, mode):
            assert list(iter_events(chunks)) == expected, chunks

    return check


class Source:
    """An iterable of chunks with ``close()``, recording how many chunks were pulled."""

    def __init__(self, chunks: List[bytes], error: Optional[Exception] = None) -> None:
        self.chunks = chunks
        self.error = error
        self.pulled = 0
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed += 1


# Event


def test_event_defaults_to_message_type_empty_data_and_no_id() -> None:
    event = Event()
    assert (event.event, event.data, event.id) == ("message", "", None)


def test_events_compare_by_value() -> None:
    assert Event("e", "d", "1") == Event(event="e", data="d", id="1")
    assert Event("e", "d", "1") != Event("e", "d", "2")
    assert Event("e", "d") != Event("f", "d")
    assert Event() != ("message", "", None)


def test_event_repr_shows_all_fields() -> None:
    assert repr(Event("e", "d", "1")) == "Event(event='e', data='d', id='1')"


def test_event_has_slots_and_no_dict() -> None:
    assert not hasattr(Event(), "__dict__")


# Line endings


def test_accepts_lf_as_separator(check: Check) -> None:
    check(b"data: a\ndata: b\n\ndata: c\n\n", [ev("a\nb"), ev("c")])


def test_accepts_crlf_as_separator(check: Check) -> None:
    check(b"data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n", [ev("a\nb"), ev("c")])


def test_accepts_cr_as_separator(check: Check) -> None:
    check(b"data: a\rdata: b\r\rdata: c\r\r", [ev("a\nb"), ev("c")])


@pytest.mark.parametrize(
    "blank",
    [b"\n\r\n", b"\r\n\n", b"\r\r\n", b"\r\n\r", b"\n\r", b"\r\n\r\n", b"\n\n", b"\r\r"],
    ids=repr,
)
def test_accepts_mixed_line_endings_as_two_line_ends(check: Check, blank: bytes) -> None:
    check(b"data: a" + blank + b"data: b" + blank, [ev("a"), ev("b")])


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    chunks = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]
    assert list(iter_events(chunks)) == [ev("a\nb")]


def test_unicode_line_separators_are_data_not_line_ends(check: Check) -> None:
    data = "a\x0bb\x0cc\x1cd\x85e\u2028f"
    check(f"data: {data}\n\n".encode(), [ev(data)])


# BOM


def test_strips_leading_bom(check: Check) -> None:
    check(b"\xef\xbb\xbfdata: a\n\ndata: b\n\n", [ev("a"), ev("b")])


def test_strips_leading_bom_after_empty_chunks() -> None:
    chunks = [b"", b"\xef", b"", b"\xbb\xbf", b"data: a\n\n"]
    assert list(iter_events(chunks)) == [ev("a")]


def test_strips_only_one_bom_so_a_second_one_spoils_the_first_field_name(check: Check) -> None:
    check(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n", [ev("b")])


def test_keeps_bom_inside_data(check: Check) -> None:
    check(b"\xef\xbb\xbfdata: \xef\xbb\xbfa\n\n", [ev("\ufeffa")])


def test_keeps_bom_that_does_not_open_the_stream(check: Check) -> None:
    check(b"data: a\n\n\xef\xbb\xbfdata: b\n\ndata: c\n\n", [ev("a"), ev("c")])


# Fields


def test_joins_multiline_data_with_lf(check: Check) -> None:
    check(b"data: a\ndata:\ndata: c\n\n", [ev("a\n\nc")])


def test_ignores_comments(check: Check) -> None:
    check(b": hello\ndata: a\n:\n: data: b\n\n:only a comment\n\n", [ev("a")])


def test_data_without_space_after_colon(check: Check) -> None:
    check(b"data:a\n\n", [ev("a")])


def test_removes_only_one_leading_space(check: Check) -> None:
    check(b"data:  a \n\n", [ev(" a ")])


def test_field_without_colon_has_empty_value(check: Check) -> None:
    check(b"data\n\n", [ev("")])


def test_dispatches_event_with_empty_data(check: Check) -> None:
    check(b"data:\n\ndata: \n\n", [ev(""), ev("")])


def test_ignores_unknown_fields(check: Check) -> None:
    check(b"foo: bar\ndata: a\nDATA: b\ndata : c\n  \nretry: 10\n\n", [ev("a")])


def test_value_may_contain_colons(check: Check) -> None:
    check(b'data: {"a": "b:c"}\n\n', [ev('{"a": "b:c"}')])


def test_event_field_sets_the_type(check: Check) -> None:
    check(b"event: token\ndata: a\n\nevent:\ndata: b\n\n", [ev("a", "token"), ev("b")])


def test_event_type_does_not_leak_into_next_event(check: Check) -> None:
    check(b"event: x\n\nevent: y\ndata: a\n\ndata: b\n\n", [ev("a", "y"), ev("b")])


def test_block_without_data_is_not_dispatched(check: Check) -> None:
    check(b"event: x\n\n: c\n\nretry: 5\n\n\n\n", [])


def test_several_events_in_one_chunk(check: Check) -> None:
    stream = b"".join(f"data: {i}\n\n".encode() for i in range(20))
    check(stream, [ev(str(i)) for i in range(20)])


# Last event id


def test_id_is_carried_forward(check: Check) -> None:
    check(
        b"data: a\n\nid: 1\ndata: b\n\ndata: c\n\nid: 2\ndata: d\n\n",
        [ev("a"), ev("b", id="1"), ev("c", id="1"), ev("d", id="2")],
    )


def test_empty_id_resets_last_id(check: Check) -> None:
    check(
        b"id: 1\ndata: a\n\nid\ndata: b\n\ndata: c\n\nid: 3\ndata: d\n\nid:\ndata: e\n\n",
        [ev("a", id="1"), ev("b", id=""), ev("c", id=""), ev("d", id="3"), ev("e", id="")],
    )


def test_id_containing_nul_is_ignored(check: Check) -> None:
    check(
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\x00\n\n",
        [ev("a", id="1"), ev("b\x00", id="1")],
    )


def test_id_in_a_block_without_data_is_carried_forward(check: Check) -> None:
    check(b"id: 1\n\ndata: a\n\nid: 2\nevent: x\n\ndata: b\n\n", [ev("a", id="1"), ev("b", id="2")])


def test_last_id_line_without_nul_counts(check: Check) -> None:
    check(
        b"id: 1\nid: 2\x00\ndata: a\n\nid: 3\nid: 4\ndata: b\n\n",
        [ev("a", id="1"), ev("b", id="4")],
    )


def test_id_of_an_unterminated_block_is_not_used(check: Check) -> None:
    check(b"data: a\n\nid: 1\ndata: b\n", [ev("a")])


# End of stream


def test_empty_stream_yields_nothing(check: Check) -> None:
    check(b"", [])


def test_no_chunks_yields_nothing() -> None:
    assert list(iter_events([])) == []


def test_stream_of_bom_and_blank_lines_yields_nothing(check: Check) -> None:
    check(b"\xef\xbb\xbf\r\n\n\r", [])


def test_unterminated_final_event_is_dropped(check: Check) -> None:
    check(b"data: a\n\ndata: b", [ev("a")])


def test_final_event_without_blank_line_is_dropped(check: Check) -> None:
    check(b"data: a\r\n\r\nid: 1\r\ndata: b\r\n", [ev("a")])


def test_only_an_unterminated_event_yields_nothing(check: Check) -> None:
    check(b"data: a\n", [])


def test_final_event_terminated_at_end_of_stream_is_kept(check: Check) -> None:
    check(b"data: a\n\ndata: b\r\r", [ev("a"), ev("b")])


def test_unterminated_event_with_split_character_is_dropped(check: Check) -> None:
    check(b"data: a\n\ndata: \xf0\x9f", [ev("a")])


# UTF-8


def test_invalid_utf8_becomes_replacement_character(check: Check) -> None:
    check(
        b"data: a\xffb\xc3\n\nevent: \xfe\ndata: \xe2\x82\n\n",
        [ev("a\ufffdb\ufffd"), ev("\ufffd", "\ufffd")],
    )


def test_invalid_utf8_in_field_name_makes_it_unknown(check: Check) -> None:
    check(b"da\xffta: a\ndata: b\n\n", [ev("b")])


@pytest.mark.parametrize("text", ["😀", "é", "€", "日本", "a😀b€c"])
def test_multibyte_characters_split_across_reads(check: Check, text: str) -> None:
    check(f"data: {text}\n\nid: {text}\ndata: x\n\n".encode(), [ev(text), ev("x", id=text)])


def test_emoji_split_at_every_position_into_every_chunking() -> None:
    stream = "data: 😀\n\n".encode()
    start = stream.index(b"\xf0")
    for first in range(start + 1, start + 4):
        for second in range(first, start + 4):
            chunks = [stream[:first], stream[first:second], stream[second:]]
            assert list(iter_events(chunks)) == [ev("😀")], chunks


def test_ignores_empty_chunks() -> None:
    chunks = [b"", b"data: \xf0", b"", b"\x9f\x98\x80\r", b"", b"\n\r", b""]
    assert list(iter_events(chunks)) == [ev("😀")]


def test_accepts_bytearray_chunks() -> None:
    assert list(iter_events([bytearray(b"data: a\r\r")])) == [ev("a")]


# No buffering: causality, not timing


def test_event_is_yielded_before_next_chunk_is_pulled() -> None:
    source = Source([b"data: a\n", b"\n", b"data: b\n\ndata: c\n\n", b"data: d", b"\n\n", b": x"])
    seen = [(event.data, source.pulled) for event in iter_events(source)]
    assert seen == [("a", 2), ("b", 3), ("c", 3), ("d", 5)]


def test_cr_ends_line_without_waiting_for_possible_lf() -> None:
    stream = b"data: a\r\rdata: b\r\n\r\ndata: \xe2\x82\xac\n\n"
    source = Source([stream[i : i + 1] for i in range(len(stream))])
    seen = [(event.data, source.pulled) for event in iter_events(source)]
    # Each event arrives when the byte that ends its blank line has been read: the CR of
    # a CRLF, not the LF after it.
    assert seen == [
        ("a", stream.index(b"\r\r") + 2),
        ("b", stream.index(b"\r\n\r\n") + 3),
        ("€", len(stream)),
    ]


def test_split_character_is_yielded_once_its_last_byte_arrives() -> None:
    source = Source([b"data: \xf0\x9f", b"\x98\x80\n\n", b"data: x\n\n"])
    seen = [(event.data, source.pulled) for event in iter_events(source)]
    assert seen == [("😀", 2), ("x", 3)]


# Line splitting (_lines: one split per chunk, lines spread over chunks gathered)


def pulls(chunks: List[bytes]) -> List[Tuple[str, int]]:
    """Each event's data, with how many chunks had been pulled when it was yielded."""
    source = Source(chunks)
    return [(event.data, source.pulled) for event in iter_events(source)]


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        # A blank line split across chunks as "\n" + "\n".
        ([b"data: a\n", b"\n"], [("a", 2)]),
        ([b"data: a", b"\n", b"\n", b"data: b\n\n"], [("a", 3), ("b", 4)]),
        # A chunk opening with "\n" after a pending block ending in "\n".
        ([b"data: a\n", b"\ndata: b\n", b"\n"], [("a", 2), ("b", 3)]),
        ([b"data: a\n", b"\n\ndata: b\n\n"], [("a", 2), ("b", 2)]),
        ([b"data: a\n\ndata: b\n", b"\nid: 1\ndata: c\n", b"\n"], [("a", 1), ("b", 2), ("c", 3)]),
        # ... but "\n" after a block not ending in "\n" only ends a line.
        ([b"data: a", b"\ndata: b\n", b"\n"], [("a\nb", 3)]),
        ([b"data: a", b"\n", b"data: b", b"\n", b"\n"], [("a\nb", 5)]),
        # An event and the start of the next in one chunk.
        ([b"data: a\n\ndata: b", b"\n\n"], [("a", 1), ("b", 2)]),
        ([b"data: a\n\ndata: b\n", b"data: c\n\n"], [("a", 1), ("b\nc", 2)]),
        ([b"data: a\n\nda", b"ta: b\n\nda", b"ta: c\n\n"], [("a", 1), ("b", 2), ("c", 3)]),
        # A pending block made of many chunks.
        ([b"da", b"ta", b": ", b"a", b"\n", b"data: b", b"\n", b"\n"], [("a\nb", 8)]),
        # Chunks that are only "\n": blank lines, ending an event or dispatching nothing.
        ([b"\n"], []),
        ([b"\n", b"\n", b"\n", b"data: a\n\n"], [("a", 4)]),
        ([b"data: a\n\n", b"\n", b"\n", b"\n", b"data: b\n\n"], [("a", 1), ("b", 5)]),
        ([b"data: a\n", b"\n", b"\n", b"data: b\n", b"\n"], [("a", 2), ("b", 5)]),
        # Runs of more than two LFs, whole or split: the extra blank lines dispatch nothing.
        ([b"data: a\n\n\n", b"data: b\n\n"], [("a", 1), ("b", 2)]),
        ([b"data: a\n\n\n", b"\ndata: b\n\n\n\n\n"], [("a", 1), ("b", 2)]),
        ([b"data: a\n\n\n\n\ndata: b\n\n"], [("a", 1), ("b", 1)]),
        ([b"data: a\n", b"\n\n\n", b"\n", b"data: b\n\n"], [("a", 2), ("b", 4)]),
        # A block that is only a comment or an unknown field, between events.
        ([b"data: a\n\n: c\n", b"\ndata: b\n\n"], [("a", 1), ("b", 2)]),
    ],
)
def test_block_splitter_yields_each_event_when_its_blank_line_arrives(
    chunks: List[bytes], expected: List[Tuple[str, int]]
) -> None:
    assert pulls(chunks) == expected


def test_many_events_in_one_chunk_all_come_from_that_chunk() -> None:
    chunk = b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in range(200))
    source = Source([chunk, b"data: tail"])
    events = iter_events(source)
    for i in range(200):
        assert next(events) == ev(str(i), id=str(i))
        assert source.pulled == 1
    assert list(events) == []


def test_block_splitter_under_every_three_way_split() -> None:
    stream = b"\ndata: a\n\n\ndata: b\n\n\n\n: x\ndata: c\ndata: d\n\nevent: e\n\ndata: f\n\n\n"
    ends = [stream.index(end) + len(end) - 1 for end in (b"a\n\n", b"b\n\n", b"d\n\n", b"f\n\n")]
    for first in range(1, len(stream) - 1):
        for second in range(first + 1, len(stream)):
            chunks = [stream[:first], stream[first:second], stream[second:]]
            # Each event comes as soon as the chunk holding its blank line's LF is pulled.
            expected = [
                (data, 1 + (end >= first) + (end >= second))
                for data, end in zip(["a", "b", "c\nd", "f"], ends)
            ]
            assert pulls(chunks) == expected, chunks


# Closing


def test_closing_generator_early_closes_source() -> None:
    source = Source([b"data: a\n\n", b"data: b\n\n"])
    events = iter_events(source)
    assert next(events) == ev("a")
    events.close()
    assert source.closed == 1
    assert source.pulled == 1


def test_breaking_out_of_loop_closes_generator_source() -> None:
    finished = []

    def source() -> Iterator[bytes]:
        try:
            yield b"data: a\n\n"
            yield b"data: b\n\n"
        finally:
            finished.append(True)

    for _event in iter_events(source()):
        break
    assert finished == [True]


def test_exhausting_stream_closes_source() -> None:
    source = Source([b"data: a\n\ndata: tail"])
    assert list(iter_events(source)) == [ev("a")]
    assert source.closed == 1


def test_read_error_propagates_after_earlier_events_and_closes_source() -> None:
    source = Source([b"data: a\n\ndata: b"], error=OSError("boom"))
    events = iter_events(source)
    assert next(events) == ev("a")
    with pytest.raises(OSError, match="boom"):
        next(events)
    assert source.closed == 1


def test_iterable_without_close_is_accepted() -> None:
    assert list(iter_events(iter([b"data: a\n\n"]))) == [ev("a")]


@pytest.mark.parametrize("source", [b"data: a\n\n", "data: a\n\n", bytearray(b"data: a\n\n")])
def test_single_bytes_or_str_instead_of_chunks_is_rejected(source: object) -> None:
    with pytest.raises(InvalidRequestError, match="iterable of bytes chunks"):
        next(iter_events(source))  # type: ignore[arg-type]


# requests.Response


@responses.activate
def test_reads_streaming_response_and_closes_it() -> None:
    body = b"\xef\xbb\xbfid: 1\r\ndata: \xf0\x9f\x98\x80\r\n\r\ndata: b\n\ndata: tail"
    responses.add(responses.GET, "http://sse.test/", body=body, content_type="text/event-stream")
    response = requests.get("http://sse.test/", stream=True)
    closed = []
    close = response.close
    response.close = lambda: (closed.append(True), close())[0]  # type: ignore[method-assign]
    events = iter_events(response)
    assert next(events) == ev("😀", id="1")
    assert list(events) == [ev("b", id="1")]
    assert closed == [True]
    assert response.raw.closed


@responses.activate
def test_closing_generator_early_closes_response() -> None:
    body = b"data: a\n\ndata: b\n\n"
    responses.add(responses.GET, "http://sse.test/", body=body, content_type="text/event-stream")
    response = requests.get("http://sse.test/", stream=True)
    events = iter_events(response)
    assert next(events) == ev("a")
    events.close()
    assert response.raw.closed


# Limits: a line and an event's data are bounded, also while reading


def until_error(chunks: Iterable[bytes], **limits: int) -> Tuple[List[Event], ResponseError]:
    """The events yielded before iter_events raised ResponseError, and the error."""
    events: List[Event] = []
    with pytest.raises(ResponseError) as raised:
        for event in iter_events(chunks, **limits):
            events.append(event)
    return events, raised.value


MODES = pytest.mark.parametrize("mode", ["whole", "bytewise", "every_offset"])


@MODES
def test_line_longer_than_line_limit_raises_after_the_events_before_it(mode: str) -> None:
    stream = b"data: a\n\ndata: b\n\n: 123456789\ndata: c\n\n"
    for chunks in splits(stream, mode):
        events, error = until_error(chunks, line_limit=10)
        assert events == [ev("a"), ev("b")], chunks
        assert "exceeds 10 bytes (iter_events' line_limit)" in str(error)


def test_line_limit_error_says_what_was_exceeded_and_what_to_do() -> None:
    _, error = until_error([b"data: 123456\n\n"], line_limit=11)
    assert str(error) == (
        "an event-stream line exceeds 11 bytes (iter_events' line_limit); stopped reading "
        "there. Pass a larger line_limit if the server's lines are really that long"
    )


@MODES
@pytest.mark.parametrize("end", [b"\n", b"\r", b"\r\n"], ids=repr)
def test_line_of_exactly_line_limit_bytes_is_read(mode: str, end: bytes) -> None:
    stream = b"\xef\xbb\xbfdata: abcd" + end + b"data: efgh" + end * 2
    for chunks in splits(stream, mode):
        assert list(iter_events(chunks, line_limit=10)) == [ev("abcd\nefgh")], chunks


@MODES
def test_unterminated_line_longer_than_line_limit_raises(mode: str) -> None:
    for chunks in splits(b"data: a\n\ndata: 12345", mode):
        events, error = until_error(chunks, line_limit=10)
        assert events == [ev("a")], chunks
        assert "line_limit" in str(error)


@MODES
def test_event_whose_data_exceeds_event_limit_raises_after_the_events_before_it(
    mode: str,
) -> None:
    stream = b"data: ab\ndata: cd\n\ndata: ab\ndata: cde\n\ndata: f\n\n"
    for chunks in splits(stream, mode):
        events, error = until_error(chunks, event_limit=5)
        assert events == [ev("ab\ncd")], chunks
        assert "exceeds 5 bytes (iter_events' event_limit)" in str(error)


def test_event_limit_error_says_what_was_exceeded_and_what_to_do() -> None:
    _, error = until_error([b"data: 123456\n\n"], event_limit=5)
    assert str(error) == (
        "the data of one event exceeds 5 bytes (iter_events' event_limit); stopped reading "
        "there. Pass a larger event_limit if the server's events are really that large"
    )


def test_event_limit_counts_only_the_data_of_one_event() -> None:
    stream = [b"event: abcdefgh\nid: abcdefgh\n: comment\nretry: 1000\ndata: abc\n\ndata: def\n\n"]
    assert list(iter_events(stream, event_limit=3)) == [
        ev("abc", "abcdefgh", "abcdefgh"),
        ev("def", id="abcdefgh"),
    ]


@MODES
def test_event_data_of_exactly_event_limit_bytes_is_read(mode: str) -> None:
    for chunks in splits(b"data: ab\ndata: cd\n\ndata:\ndata\ndata:\n\n", mode):
        events = list(iter_events(chunks, event_limit=5, line_limit=9))
        assert events == [ev("ab\ncd"), ev("\n\n")], chunks


def test_unterminated_event_past_event_limit_raises_rather_than_vanishing() -> None:
    events, error = until_error([b"data: a\n\ndata: 123\ndata: 456\n"], event_limit=6)
    assert events == [ev("a")]
    assert "event_limit" in str(error)


class Counted:
    """A finite stream of ``count`` copies of ``chunk`` after ``head``, counting the bytes
    of copies pulled."""

    def __init__(self, head: bytes, chunk: bytes, count: int) -> None:
        self.head, self.chunk, self.count = head, chunk, count
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        for _ in range(self.count):
            self.pulled += len(self.chunk)
            yield self.chunk


def held_data(source: Counted, value: int) -> int:
    """Bytes of event data in the data lines pulled from ``source`` (each a chunk holding
    one value of ``value`` bytes), joined with LF."""
    return source.pulled // len(source.chunk) * (value + 1) - 1


def test_line_without_end_raises_having_read_at_most_line_limit_and_one_chunk() -> None:
    chunk = b"x" * 65536
    source = Counted(b"data: a\n\ndata: ", chunk, 64)  # 4 MiB, no line end
    events, error = until_error(source, line_limit=1024 * 1024)
    assert events == [ev("a")]
    assert source.pulled <= 1024 * 1024 + len(chunk)
    assert "exceeds 1,048,576 bytes" in str(error)


def test_line_limit_defaults_to_16_mib() -> None:
    chunk = b"x" * 65536
    source = Counted(b"data: a\n\n", chunk, 512)  # 32 MiB, no line end
    events, error = until_error(source)
    assert events == [ev("a")]
    assert source.pulled <= LINE_LIMIT + len(chunk)
    assert LINE_LIMIT == 16 * 1024 * 1024
    assert "exceeds 16,777,216 bytes (iter_events' line_limit)" in str(error)


def test_event_without_end_raises_having_read_at_most_event_limit_and_one_chunk() -> None:
    chunk = b"data: " + b"x" * 1000 + b"\n"
    source = Counted(b"data: a\n\n", chunk, 4000)  # 4 MB of data lines, no blank line
    events, error = until_error(source, event_limit=1024 * 1024)
    assert events == [ev("a")]
    assert held_data(source, value=1000) - 1001 <= 1024 * 1024 < held_data(source, value=1000)
    assert "exceeds 1,048,576 bytes (iter_events' event_limit)" in str(error)


def test_event_limit_defaults_to_16_mib() -> None:
    chunk = b"data: " + b"x" * 65536 + b"\n"
    source = Counted(b"data: a\n\n", chunk, 512)  # 32 MiB of data lines
    events, error = until_error(source)
    assert events == [ev("a")]
    assert held_data(source, value=65536) - 65537 <= EVENT_LIMIT < held_data(source, value=65536)
    assert EVENT_LIMIT == 16 * 1024 * 1024
    assert "exceeds 16,777,216 bytes (iter_events' event_limit)" in str(error)


@pytest.mark.parametrize(
    ("head", "chunk", "held"),
    [(b"data: ", b"x", 1), (b"", b"data: x\n", 2)],
    ids=["line", "event"],
)
def test_memory_stays_within_the_limit_when_bytes_arrive_one_by_one(
    head: bytes, chunk: bytes, held: int
) -> None:
    """A line (or an event of data lines) arriving in tiny chunks is not held as a list of
    tiny objects (some 40 bytes each): what is held stays near the bytes received.

    ``held``: the bytes each chunk adds to the line (or to the event's data).
    """
    limit = 32 * 1024
    source = Counted(head, chunk, 2 * limit)
    tracemalloc.start()
    try:
        until_error(source, line_limit=limit, event_limit=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert source.pulled // len(chunk) * held <= limit + held
    assert peak < 3 * limit


@pytest.mark.parametrize(("line_limit", "event_limit"), [(0, 10), (10, 0), (-1, -1)])
def test_limit_below_one_is_rejected(line_limit: int, event_limit: int) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        next(iter_events([b"data: a\n\n"], line_limit=line_limit, event_limit=event_limit))
    assert str(raised.value) == (
        "iter_events' line_limit and event_limit are byte counts of at least 1, "
        f"not {line_limit} and {event_limit}"
    )


def test_limit_error_closes_the_source() -> None:
    source = Source([b"data: a\n\n", b"data: 123456789\n\n", b"data: b\n\n"])
    events, _ = until_error(source, line_limit=10)
    assert events == [ev("a")]
    assert (source.pulled, source.closed) == (2, 1)


@responses.activate
def test_limit_error_on_a_response_names_the_request_and_closes_it() -> None:
    body = b"data: a\n\ndata: " + b"x" * 100 + b"\n\n"
    responses.add(responses.POST, "http://sse.test/v1", body=body)
    response = requests.post("http://sse.test/v1", stream=True)
    events, error = until_error(response, line_limit=50)
    assert events == [ev("a")]
    assert str(error).startswith(
        "an event-stream line from POST http://sse.test/v1 exceeds 50 bytes"
    )
    assert response.raw.closed


# Linear time (timings: benchmarks/sse_scaling.py)


def test_event_of_many_data_lines_arriving_a_line_per_chunk_is_read_whole() -> None:
    """4.5 MB in 300,000 data lines: sseclient-py's str appends took 10 s and more."""
    values = [b"%014d" % i for i in range(300_000)]
    source = Source([b"data: " + value + b"\n" for value in values] + [b"\n"])
    (event,) = iter_events(source)
    assert event.data == b"\n".join(values).decode()
    assert source.pulled == len(values) + 1


def test_line_arriving_in_many_chunks_is_read_whole() -> None:
    source = Source([b"data: "] + [b"%07d" % i for i in range(300_000)] + [b"\n\n"])
    (event,) = iter_events(source)
    assert event.data == "".join(f"{i:07d}" for i in range(300_000))


# Oracles


def spec_events(
    stream: bytes, line_limit: int = LINE_LIMIT, event_limit: int = EVENT_LIMIT
) -> Tuple[List[Event], Optional[str]]:
    """A literal reading of the spec on the whole stream: the events, and which limit
    (``"line_limit"``, ``"event_limit"``) stopped it, if any."""
    if stream.startswith(b"\xef\xbb\xbf"):  # UTF-8 decode: one leading BOM is ignored
        stream = stream[3:]
    *lines, unterminated = re.split(rb"\r\n|\r|\n", stream)
    # CR and LF are ASCII, never inside a character: decoding line by line is decoding
    # the whole stream.
    decode = functools.partial(bytes.decode, encoding="utf-8", errors="replace")
    assert "\n".join(map(decode, lines)) == decode(b"\n".join(lines))
    events: List[Event] = []
    data, event_type, last_id, size = "", "", None, 0
    for line in lines:
        if len(line) > line_limit:
            return events, "line_limit"
        if not line:
            if data:
                events.append(Event(event_type or "message", data[:-1], last_id))
            data, event_type, size = "", "", 0
            continue
        if line.startswith(b":"):
            continue
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data += decode(value) + "\n"
            size += len(value) + 1
            if size - 1 > event_limit:
                return events, "event_limit"
        elif field == b"event":
            event_type = decode(value)
        elif field == b"id" and b"\x00" not in value:
            last_id = decode(value)
    if len(unterminated) > line_limit:
        return events, "line_limit"
    return events, None


PIECES = [b"a", b" ", b":", b"\x00", b"\xc3\xa9", "😀".encode(), b"\xff", b"\xe2\x82", b"\xac"]
VALUES = st.lists(st.sampled_from([*PIECES, b"\xef\xbb\xbf"]) | st.binary(max_size=2), max_size=4)
FIELDS = [b"data", b"data:", b"data: ", b"event:", b"event: ", b"id:", b"id: ", b"id", b"retry: "]
FIELD_LINES = st.tuples(st.sampled_from([*FIELDS, b":", b"dat"]), VALUES.map(b"".join))
ENDS = st.sampled_from([b"\n", b"\r", b"\r\n"])
BLOCKS = st.tuples(st.lists(st.tuples(FIELD_LINES, ENDS), max_size=4), ENDS).map(
    lambda block: b"".join(field + value + end for (field, value), end in block[0]) + block[1]
)
STREAMS = st.builds(
    lambda bom, blocks, tail: bom + b"".join(blocks) + tail,
    st.sampled_from([b"", b"\xef\xbb\xbf", b"\xef\xbb"]),
    st.lists(BLOCKS, max_size=6),
    st.just(b"") | FIELD_LINES.map(b"".join),
)
"""Blocks of field lines (any bytes, often not UTF-8, now and then a stray line end) each
ended by a blank line, mixed line ends, maybe a BOM or half of one, maybe an
unterminated line."""


@st.composite
def chunked(draw: st.DrawFn, streams: st.SearchStrategy[bytes]) -> Tuple[bytes, List[bytes]]:
    """A stream and the same stream cut at a few offsets (empty chunks included)."""
    stream = draw(streams)
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    bounds = [0, *cuts, len(stream)]
    return stream, [stream[start:end] for start, end in zip(bounds, bounds[1:])]


def chunkings(stream: bytes, chunks: List[bytes]) -> Iterator[List[bytes]]:
    """``chunks``, then ``stream`` whole, byte by byte and cut in two at every offset."""
    yield chunks
    for mode in ("whole", "bytewise", "every_offset"):
        yield from splits(stream, mode)


def outcome(chunks: List[bytes], **limits: int) -> Tuple[List[Event], Optional[str]]:
    events: List[Event] = []
    try:
        for event in iter_events(chunks, **limits):
            events.append(event)
    except ResponseError as error:
        return events, "line_limit" if "line_limit" in str(error) else "event_limit"
    return events, None


@settings(deadline=None, max_examples=150)
@given(chunked(STREAMS))
def test_agrees_with_a_literal_reading_of_the_spec(case: Tuple[bytes, List[bytes]]) -> None:
    stream, chunks = case
    expected = spec_events(stream)
    for each in chunkings(stream, chunks):
        assert outcome(each) == expected, each


@settings(deadline=None, max_examples=150)
@given(chunked(STREAMS), st.integers(1, 12), st.integers(1, 12))
def test_limits_agree_with_a_literal_reading_of_the_spec(
    case: Tuple[bytes, List[bytes]], line_limit: int, event_limit: int
) -> None:
    stream, chunks = case
    limits = {"line_limit": line_limit, "event_limit": event_limit}
    expected = spec_events(stream, **limits)
    for each in chunkings(stream, chunks):
        assert outcome(each, **limits) == expected, each


TEXT = st.characters(blacklist_characters="\r\n\x00\ufeff", blacklist_categories=("Cs",))
FIELD = st.sampled_from(["data", "event", "id", "retry", "Data", "x"]) | st.text(
    TEXT, min_size=1, max_size=4
).filter(lambda name: ":" not in name)
LINE = st.one_of(
    st.tuples(FIELD, st.sampled_from([":", ": ", ":  "]), st.text(TEXT, max_size=6)).map("".join),
    FIELD,
    st.text(TEXT, max_size=6).map(lambda comment: ":" + comment),
)


def field_of(line: str) -> Optional[str]:
    return None if line.startswith(":") else line.partition(":")[0]


def without_lone_ids(block: List[str]) -> List[str]:
    """sseclient-py drops a block without data, and with it an ``id`` the spec keeps."""
    if any(field_of(line) == "data" for line in block):
        return block
    return [line for line in block if field_of(line) != "id"]


SPEC_FOLLOWING_STREAMS = st.lists(st.lists(LINE, max_size=5).map(without_lone_ids)).map(
    lambda blocks: "".join("".join(f"{line}\n" for line in block) + "\n" for block in blocks)
)


@settings(deadline=None, max_examples=150)
@given(chunked(SPEC_FOLLOWING_STREAMS.map(str.encode)))
def test_agrees_with_sseclient_py_where_it_follows_the_spec(
    case: Tuple[bytes, List[bytes]],
) -> None:
    """LF line ends, no BOM, UTF-8, every event terminated, no NUL: sseclient-py's
    events, with each block's id carried forward, are ours."""
    stream, chunks = case
    expected: List[Event] = []
    last_id = None
    for event in sseclient.SSEClient([stream]).events():
        last_id = event.id if event.id is not None else last_id
        expected.append(Event(event.event, event.data, last_id))
    assert list(iter_events(chunks)) == expected
