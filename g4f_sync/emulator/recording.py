"""A recorded HTTP response, for the replay service: :class:`Recording`, and the readers of
the forms captures come in.

- ``curl -i`` output (:meth:`Recording.parse`, :meth:`Recording.load`): a status line
  (``HTTP/1.1 200 OK``), headers, a blank line, the body as curl prints it (de-chunked);
  lines may end with CRLF or LF;
- a head and a body in two files (``Recording.load(head, body=...)``): the head file holds
  the status line and headers only;
- a body alone (``Recording.load(body, status=429)``), with the headers given, and a
  ``Content-Type`` found from the body when they name none (:func:`sniff_content_type`).

:meth:`Recording.from_spec` reads the command line's form of the three: ``FILE``,
``HEAD+BODY``, ``STATUS:BODY``. Every problem is a ``ValueError`` naming the file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

__all__ = ["Recording", "sniff_content_type"]

PathLike = Union[str, "os.PathLike[str]"]
HeaderPairs = Union[Mapping[str, str], Sequence[tuple[str, str]]]

_STATUS_LINE = re.compile(r"HTTP/\d(?:\.\d)? (\d{3})(?: (.*))?")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_SPEC_STATUS = re.compile(r"(\d{3}):(.*)", re.DOTALL)
_EVENT_STREAM_STARTS = (b"data:", b"event:", b"id:", b"retry:", b":")
_EXCERPT = 60


@dataclass(frozen=True)
class Recording:
    """One HTTP response as recorded: ``status``, ``headers`` (``(name, value)`` pairs in
    their order, as recorded, framing headers included), ``body`` (bytes, de-chunked) and
    ``reason`` (the status line's phrase; empty: the status's usual one).

    Raises ``ValueError`` for a status outside 200-599, a header that HTTP cannot carry,
    or a ``Content-Length`` that differs from the body's length.
    """

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", tuple(_pairs(self.headers)))
        if isinstance(self.status, bool) or not isinstance(self.status, int):
            raise ValueError(f"status: must be an int, not {self.status!r}")
        if not 200 <= self.status <= 599:
            raise ValueError(
                f"status: a recording needs a final status, 200 to 599, not {self.status}"
            )
        if not isinstance(self.body, bytes):
            raise ValueError(f"body: must be bytes, not {type(self.body).__name__}")
        if not isinstance(self.reason, str) or not _is_header_value(self.reason):
            raise ValueError(
                f"reason: must be Latin-1 text without line breaks, not {self.reason!r}"
            )
        for name, value in self.headers:
            if not _TOKEN.fullmatch(name) or not _is_header_value(value):
                raise ValueError(f"headers: HTTP cannot carry the header {name!r}: {value!r}")
        length = self.header("Content-Length")
        if length is not None and length.strip() != str(len(self.body)):
            raise ValueError(
                f"Content-Length says {length.strip()} but the body has {len(self.body)} bytes"
            )

    def header(self, name: str) -> Optional[str]:
        """The first value of header ``name`` (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def media_type(self) -> str:
        """The ``Content-Type`` without parameters, lower-cased; empty when none."""
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    @classmethod
    def parse(cls, data: bytes, source: str = "the recording") -> Recording:
        """A ``curl -i`` capture: status line, headers, a blank line, the body (none when
        there is no blank line). ``ValueError`` starts with ``source``, then the problem."""
        status, reason, headers, body = _parsed(data, source)
        return _made(source, status, headers, body, reason)

    @classmethod
    def from_body(
        cls,
        body: bytes,
        status: int,
        headers: Optional[HeaderPairs] = None,
        source: str = "the recording",
    ) -> Recording:
        """``body`` alone, answered with ``status`` and ``headers``; without a
        ``Content-Type`` among them, :func:`sniff_content_type`'s."""
        try:
            pairs = _pairs(headers or ())
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None
        if not any(name.lower() == "content-type" for name, _ in pairs):
            pairs.append(("Content-Type", sniff_content_type(body)))
        return _made(source, status, pairs, body, "")

    @classmethod
    def load(
        cls,
        path: PathLike,
        *,
        body: Optional[PathLike] = None,
        status: Optional[int] = None,
        headers: Optional[HeaderPairs] = None,
    ) -> Recording:
        """A recording from files: ``path`` a ``curl -i`` capture; with ``body``, ``path``
        the head only and ``body`` the body; with ``status``, ``path`` the body alone
        (``headers`` then adds headers). ``ValueError`` names the file and the problem."""
        if status is not None and body is not None:
            raise ValueError(
                "give body= (a head file and a body file) or status= (a body alone), not both"
            )
        if status is not None:
            return cls.from_body(_read(path), status, headers, source=str(path))
        if headers is not None:
            raise ValueError("headers= goes with status= (a body alone): a head file has its own")
        if body is None:
            return cls.parse(_read(path), str(path))
        status, reason, pairs, rest = _parsed(_read(path), str(path))
        if rest:
            raise ValueError(
                f"{path}: {len(rest)} bytes follow the head: with body=, the head file"
                " holds the status line and headers only"
            )
        return _made(f"{path} with {body}", status, pairs, _read(body), reason)

    @classmethod
    def from_spec(cls, spec: str) -> Recording:
        """The command line's form: ``FILE`` (a ``curl -i`` capture), ``HEAD+BODY`` (a head
        file and a body file) or ``STATUS:BODY`` (a body alone: ``429:error.json``)."""
        status = _SPEC_STATUS.fullmatch(spec)
        if status:
            return cls.load(_spec_path(status[2], spec), status=int(status[1]))
        head, plus, body = spec.partition("+")
        if plus:
            return cls.load(_spec_path(head, spec), body=_spec_path(body, spec))
        return cls.load(_spec_path(spec, spec))


def sniff_content_type(body: bytes) -> str:
    """The ``Content-Type`` of a body recorded without one: an event stream when its first
    line is an SSE field or comment, JSON when it parses as JSON, else plain text."""
    if body.lstrip().startswith(_EVENT_STREAM_STARTS):
        return "text/event-stream; charset=utf-8"
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return "text/plain; charset=utf-8"
    return "application/json"


def _made(source: str, status: int, headers: HeaderPairs, body: bytes, reason: str) -> Recording:
    """A :class:`Recording`, its ``ValueError`` prefixed with ``source``."""
    try:
        return Recording(status, headers, body, reason)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def _pairs(headers: HeaderPairs) -> list[tuple[str, str]]:
    """``headers`` as ``(name, value)`` pairs of strings; ``ValueError`` otherwise."""
    if not isinstance(headers, (Mapping, tuple, list)):
        raise ValueError(f"headers: must be a mapping or (name, value) pairs, not {headers!r}")
    items = headers.items() if isinstance(headers, Mapping) else headers
    pairs = []
    for pair in items:
        if not (
            isinstance(pair, (tuple, list))
            and len(pair) == 2
            and all(isinstance(part, str) for part in pair)
        ):
            raise ValueError(f"headers: each must be a (name, value) pair of strings, not {pair!r}")
        pairs.append((pair[0], pair[1]))
    return pairs


def _parsed(data: bytes, source: str) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """The status, reason, headers and body of a ``curl -i`` capture, unchecked beyond its
    form; ``ValueError`` starts with ``source``."""
    lines, body = _head_lines(data)
    if not lines:
        empty = "the file is empty" if not data else "it starts with a blank line"
        raise ValueError(f"{source}: no status line ({empty})")
    status, reason = _status(lines[0], source)
    headers = []
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.decode("latin-1")
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            shown = line[:_EXCERPT]
            raise ValueError(f"{source}: line {number} is no 'Name: value' header: {shown!r}")
        headers.append((name, value.strip(" \t")))
    return status, reason, headers, body or b""


def _head_lines(data: bytes) -> tuple[list[bytes], Optional[bytes]]:
    """The head's lines (without their CRLF or LF) and the body after the blank line
    (None when there is none)."""
    lines: list[bytes] = []
    position = 0
    while position < len(data):
        end = data.find(b"\n", position)
        if end < 0:
            end = len(data)
        line = data[position:end]
        position = end + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            return lines, data[position:]
        lines.append(line)
    return lines, None


def _status(raw: bytes, source: str) -> tuple[int, str]:
    line = raw.decode("latin-1")
    match = _STATUS_LINE.fullmatch(line)
    shown = line[:_EXCERPT]
    if not line.startswith("HTTP/"):
        raise ValueError(
            f"{source}: no status line: it starts with {shown!r}, not as 'HTTP/1.1 200 OK'"
        )
    if match is None:
        raise ValueError(
            f"{source}: bad status line {shown!r}: expected 'HTTP/1.1 <3-digit status> <reason>'"
        )
    status = int(match[1])
    if not 200 <= status <= 599:
        raise ValueError(
            f"{source}: bad status {status} in {shown!r}: a recording needs a final status,"
            " 200 to 599"
        )
    return status, match[2] or ""


def _read(path: PathLike) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the file: {exc.strerror or exc}") from None


def _spec_path(path: str, spec: str) -> str:
    if not path:
        raise ValueError(f"expected FILE, HEAD+BODY or STATUS:BODY, not {spec!r}")
    return path


def _has_line_break(text: str) -> bool:
    return "\r" in text or "\n" in text


def _is_header_value(text: str) -> bool:
    """Whether HTTP/1.1 can carry ``text`` as a header value: Latin-1, no line break."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return not _has_line_break(text)
