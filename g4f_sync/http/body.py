"""Reading an answer's body: unbuffered, as it arrives, and bounded when read whole."""

from __future__ import annotations

import email.message
from typing import Any, Callable, Iterator, List, Optional

import requests

from .. import compat, errors
from ..json_decode import decode_json
from .config import BODY_LIMIT, READ_SIZE
from .direct import direct_body
from .failures import excerpt, mapped_errors, request_of

__all__ = ["iter_body", "read_body", "read_json", "read_text"]


def iter_body(response: requests.Response) -> Iterator[bytes]:
    """Yield the (decoded) body as it arrives, without waiting to fill a buffer.

    A plain-TCP body without content coding is read from its socket, one ``recv`` a
    piece (:mod:`g4f_sync.http.direct`); any other through urllib3's ``read1``, which
    returns whatever the socket has, in chunked and in close-delimited responses alike
    (requests' ``iter_content``/``iter_lines`` hold bytes back in the latter). In a
    chunked body, the complete chunks already received come in one piece. Raises
    :class:`~g4f_sync.errors.StreamInterruptedError` when the connection breaks and
    :class:`~g4f_sync.errors.TimeoutError` when the server goes silent for longer than
    the read timeout.
    """
    raw = response.raw
    timeout = (None, _read_timeout(raw))
    direct = direct_body(raw, timeout[1])
    read = direct.read if direct is not None else _urllib3_reader(raw)
    with mapped_errors(*request_of(response), reading=True, timeout=timeout):
        while True:
            chunk = read()
            if not chunk:
                return
            yield chunk


def _urllib3_reader(raw: Any) -> Callable[[], bytes]:
    """The next piece of ``raw``'s body through urllib3: the complete chunks already
    received (:func:`g4f_sync.compat.whole_chunks_reader`), else one ``read1``."""
    read1 = raw.read1
    whole_chunks = compat.whole_chunks_reader(raw)
    if whole_chunks is None:
        return lambda: read1(READ_SIZE, decode_content=True)

    def read() -> bytes:
        return whole_chunks() or read1(READ_SIZE, decode_content=True)

    return read


def _read_timeout(raw: Any) -> Optional[float]:
    """The read timeout of the connection an urllib3 response reads from (urllib3 sets
    ``connection.timeout`` to it before the head is read); None when not known."""
    value = getattr(getattr(raw, "connection", None), "timeout", None)
    return float(value) if isinstance(value, (int, float)) else None


def read_body(response: requests.Response, limit: int = BODY_LIMIT) -> bytes:
    """The whole (decoded) body, as :func:`iter_body` reads it.

    Raises :class:`~g4f_sync.errors.ResponseError` (and closes the response) as soon as
    the body exceeds ``limit`` bytes, so a hostile or runaway answer cannot fill memory.
    """
    pieces: List[bytes] = []
    size = 0
    for piece in iter_body(response):
        size += len(piece)
        if size > limit:
            response.close()
            raise errors.ResponseError(
                f"the body of {_where(response)} exceeds {limit:,} bytes; stopped reading there"
            )
        pieces.append(piece)
    return b"".join(pieces)


def read_text(response: requests.Response, limit: int = BODY_LIMIT) -> str:
    """The body as text: the ``Content-Type`` charset, else UTF-8; bad bytes become U+FFFD.

    Unlike ``response.text``, a ``text/*`` answer without a charset is read as UTF-8, not
    ISO-8859-1. Raises as :func:`read_body`.
    """
    body = read_body(response, limit)
    header = email.message.Message()
    header["Content-Type"] = _content_type(response)
    try:
        return body.decode(header.get_content_charset() or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def read_json(response: requests.Response, limit: int = BODY_LIMIT) -> Any:
    """The body decoded as JSON, whatever the ``Content-Type`` says.

    Raises :class:`~g4f_sync.errors.ResponseError` with the content type and a short
    excerpt when the body is not JSON (an HTML page where JSON was expected), and as
    :func:`read_body`.
    """
    text = read_text(response, limit)
    try:
        return decode_json(text)
    except ValueError as exc:
        kind = _content_type(response).split(";")[0].strip() or "no Content-Type"
        raise errors.ResponseError(
            f"expected JSON from {_where(response)}, got {kind} (HTTP {response.status_code}):"
            f" {excerpt(text) or '(empty body)'} ({exc})"
        ) from None


def _content_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "")


def _where(response: requests.Response) -> str:
    """``"POST https://host/path"``: the request a response answers."""
    return " ".join(part for part in request_of(response) if part)
