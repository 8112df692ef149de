"""The Koala service (koala.sh, now gone), as docs/protocols.md describes it.

Routes: ``GET /chat`` (a tiny page) and ``POST /api/gpt/``, which takes the JSON body
``{"input", "inputHistory", "outputHistory", "model"}`` and streams ``text/event-stream``,
one ``data: <JSON string>`` event per token, each written at once (one chunk in chunked
framing); non-ASCII characters go as UTF-8, not ``\\u`` escapes, as a JavaScript server
writes them. What it streams and how it fails is set by :class:`KoalaOptions`, and per
request by query parameters of the same names on the API URL
(``/api/gpt/?count=5&delay=0.01``), which override the options:

=======================  ==================================================================
parameter                value in the query string
=======================  ==================================================================
tokens                   comma-separated tokens (``tokens=Hello,%20world``; empty: none)
count, fault_count       integer
drop_after               integer
timestamps, done, gated  ``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off``;
                         an empty value (``?done``) means true
delay                    seconds, float
framing                  ``chunked`` or ``close``
line_ending              ``lf``, ``crlf``, ``cr``, or the characters themselves
fault                    a fault name (below)
retry_after              the ``Retry-After`` value
=======================  ==================================================================

``none`` sets ``tokens``, ``count``, ``fault`` and ``fault_count`` to None; so does an empty
value, except for ``tokens`` (no token).
An unknown parameter or a bad value gets a 400 with a JSON body naming it; so does a body that
is not a JSON object with a string ``input`` (``inputHistory``/``outputHistory`` must be lists
of strings and ``model`` a string when present).

Faults (``fault``):

- ``rate_limit``: 429, ``Retry-After: <retry_after>``, a small JSON body.
- ``cloudflare``: 403, a Cloudflare challenge page (``<title>Just a moment...</title>``,
  ``<div id="cf-please-wait">``) and Cloudflare's headers.
- ``server_error``: 500, a short text body.
- ``drop``: ``drop_after`` tokens, then the connection is dropped: no terminating chunk in
  chunked framing, an RST (after every written byte reached the client) in close framing.
  Never ``[DONE]``.
- ``malformed``: ``drop_after`` tokens, the event ``data: {not json``, the other tokens, then
  ``[DONE]`` if ``done``.
- ``empty``: 200 ``text/event-stream`` with no event at all (``done`` is ignored).
- ``silent``: the head and ``drop_after`` tokens, then nothing until the client disconnects
  or the emulator closes.
- ``silent_head``: no answer at all until the client disconnects or the emulator closes.

With fewer than ``drop_after`` tokens the fault acts after the last one. The 4xx/5xx
answers carry ``Content-Length`` and keep the connection open whatever ``framing`` says.
``fault_count=N`` applies the fault to the first N API requests the service answers (counted
from the emulator's start, or from the last assignment of ``Emulator.koala``; requests
rejected with 400 do not count), then answers normally.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Mapping, Optional, Sequence, get_args

from .exchange import Exchange, Route
from .faults import send_cloudflare_challenge, send_json_error, send_rate_limit, send_server_error
from .options import ServiceOptions, option
from .query import optional, parse_bool
from .service import Service, echo_tokens

__all__ = ["FAULTS", "LINE_ENDINGS", "KoalaOptions", "KoalaService", "echo_tokens"]

Fault = Literal[
    "rate_limit",
    "cloudflare",
    "server_error",
    "drop",
    "malformed",
    "empty",
    "silent",
    "silent_head",
]
FAULTS: tuple[str, ...] = get_args(Fault)
LINE_ENDINGS: dict[str, str] = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}
"""Names of the line endings, as the query string and the CLI accept them."""

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(..., ensure_ascii=False)

CHAT_PATH = "/chat"
API_PATH = "/api/gpt/"
CHAT_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Koala (emulated)</title></head>
<body><main id="chat"><p>Koala chat, served by the g4f_sync emulator.
The API is <code>POST /api/gpt/</code>.</p></main></body></html>
"""


def _parse_line_ending(raw: str) -> str:
    return LINE_ENDINGS.get(raw.lower(), raw)


@dataclass
class KoalaOptions(ServiceOptions):
    """What the Koala API streams and how it fails; see the module docstring for each field.

    With ``gated``, ``delay`` is the pause before waiting for the gate. Raises
    ``ValueError`` on a value out of range. Fields may be changed between requests.
    """

    FAULTS: ClassVar[tuple[str, ...]] = FAULTS

    count: Optional[int] = option(
        None, parse=optional(int), help="send this many tokens: tok0, tok1, ..."
    )
    """Send ``"tok0 ", "tok1 ", ...``, this many; overrides ``tokens``."""
    timestamps: bool = option(False, parse=parse_bool, help="tokens are monotonic send times")
    """Each token is ``repr(time.monotonic())`` taken just before it is written."""
    done: bool = option(False, parse=parse_bool, help="end the stream with data: [DONE]")
    """End with ``data: [DONE]``."""
    line_ending: str = option(
        "\n",
        parse=_parse_line_ending,
        choices=tuple(LINE_ENDINGS),
        help="the end of every line of the stream (default: lf)",
    )
    """``"\\n"``, ``"\\r\\n"`` or ``"\\r"``, for every line of the stream."""
    gated: bool = option(False, parse=parse_bool, cli=False)
    """Acquire ``Emulator.gate`` before sending each token."""
    fault_count: Optional[int] = option(
        None, parse=optional(int), help="the fault hits the first N requests only"
    )
    drop_after: int = option(3, parse=int, help="tokens before a fault acts (default: 3)")

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field with a bad value."""
        super().validate()
        self.check_counts(
            "count", "fault_count", "drop_after", may_be_none=("count", "fault_count")
        )
        for name in ("timestamps", "done", "gated"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: must be a bool")
        if self.line_ending not in LINE_ENDINGS.values():
            raise ValueError(f"line_ending: must be \\n, \\r\\n or \\r, not {self.line_ending!r}")


def _read_input(body: bytes) -> str:
    """The ``input`` of a Koala request body; ValueError when the body does not fit."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise ValueError("request body is not valid JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("input"), str):
        raise ValueError("request body must be a JSON object with a string 'input'")
    for key in ("inputHistory", "outputHistory"):
        history = payload.get(key, [])
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            raise ValueError(f"'{key}' must be a list of strings")
    if not isinstance(payload.get("model", ""), str):
        raise ValueError("'model' must be a string")
    return payload["input"]


class KoalaService(Service[KoalaOptions]):
    """Koala's routes; reads :attr:`options` afresh for every request."""

    options_class = KoalaOptions

    def routes(self) -> Mapping[tuple[str, str], Route]:
        """``(method, path) -> route`` for the server."""
        return {("GET", CHAT_PATH): self.chat_page, ("POST", API_PATH): self.chat_api}

    def chat_page(self, exchange: Exchange) -> None:
        """``GET /chat``."""
        exchange.respond(200, CHAT_PAGE, content_type="text/html; charset=utf-8")

    def chat_api(self, exchange: Exchange) -> None:
        """``POST /api/gpt/``."""
        options = self.options_for(exchange)
        if options is None:
            return
        try:
            text = _read_input(exchange.request.body)
        except ValueError as exc:
            return send_json_error(exchange, 400, str(exc))
        index = self.count_answer()
        fault = options.fault
        if options.fault_count is not None and index >= options.fault_count:
            fault = None

        if fault == "rate_limit":
            return send_rate_limit(exchange, options.retry_after)
        if fault == "cloudflare":
            return send_cloudflare_challenge(exchange, "koala.sh")
        if fault == "server_error":
            return send_server_error(exchange)
        if fault == "silent_head":
            exchange.wait(math.inf)

        if options.count is not None:
            tokens: Sequence[str] = _NumberedTokens(options.count)
        elif options.tokens is not None:
            tokens = list(options.tokens)
        else:
            tokens = echo_tokens(text)
        headers = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
        exchange.start(200, headers, framing=options.framing)
        if fault == "empty":
            return exchange.end()
        self._stream(exchange, options, tokens, fault)

    def _stream(
        self, exchange: Exchange, options: KoalaOptions, tokens: Sequence[str], fault: Optional[str]
    ) -> None:
        end = options.line_ending * 2
        cut = len(tokens)
        if fault in ("drop", "malformed", "silent"):
            cut = min(options.drop_after, len(tokens))
        self._send_tokens(exchange, options, tokens, 0, cut, end)
        if fault == "drop":
            return exchange.drop()
        if fault == "silent":
            exchange.wait(math.inf)
        if fault == "malformed":
            exchange.write(f"data: {{not json{end}".encode())
            self._send_tokens(exchange, options, tokens, cut, len(tokens), end)
        if options.done:
            exchange.write(f"data: [DONE]{end}".encode())
        exchange.end()

    def _send_tokens(
        self,
        exchange: Exchange,
        options: KoalaOptions,
        tokens: Sequence[str],
        start: int,
        stop: int,
        end: str,
    ) -> None:
        """Send ``tokens[start:stop]``, ``delay`` before each but the very first."""
        request = exchange.request

        def event(i: int) -> bytes:
            token = repr(time.monotonic()) if options.timestamps else tokens[i]
            request.tokens_sent += 1  # before the write: a reader never sees more
            return f"data: {_ENCODE(token)}{end}".encode()

        if not options.gated:
            first = options.delay if start else 0.0
            return exchange.pace(
                stop - start, lambda k: event(start + k), options.delay, first=first
            )
        for i in range(start, stop):
            if i and options.delay:
                exchange.wait(options.delay)
            exchange.acquire(self.gate)
            exchange.write(event(i))


class _NumberedTokens(Sequence[str]):
    """``"tok0 ", "tok1 ", ...``: ``count`` of them, made on demand."""

    def __init__(self, count: int) -> None:
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if not -self._count <= index < self._count:
            raise IndexError(index)
        return f"tok{index % self._count} "
