"""The OpenAI service's routes: :class:`OpenAIService` (authentication, the request checks,
the faults, the paced stream).

docs/openai-emulator.md is the reference of what it sends.
"""

from __future__ import annotations

import math
import secrets
from typing import Any, Mapping, Optional, Sequence

from ..exchange import Exchange, Route
from ..service import Service
from .options import ENCODE, OpenAIOptions
from .request import BadRequestError, ChatRequest, read_request
from .wire import (
    Answer,
    context_length_error,
    error_body,
    error_event,
    incorrect_key_error,
    model_list,
    model_not_found_error,
    no_key_error,
    rate_limit_error,
    server_error_body,
    stamped,
    unprocessable_body,
)

__all__ = ["API_BASE", "CHAT_PATH", "MODELS_PATH", "OpenAIService"]

API_BASE = "/v1"
"""The path an OpenAI client's ``base_url`` ends with: ``emu.url + API_BASE``."""
CHAT_PATH = API_BASE + "/chat/completions"
MODELS_PATH = API_BASE + "/models"

_JSON_TYPE = "application/json"


class OpenAIService(Service[OpenAIOptions]):
    """The OpenAI routes; reads :attr:`options` afresh for every request."""

    options_class = OpenAIOptions

    def routes(self) -> Mapping[tuple[str, str], Route]:
        """``(method, path) -> route`` for the server."""
        return {("POST", CHAT_PATH): self.chat_completions, ("GET", MODELS_PATH): self.models}

    def models(self, exchange: Exchange) -> None:
        """``GET /v1/models``."""
        options = self._authorized_options(exchange)
        if options is None:
            return
        _send_json(exchange, 200, model_list(options.models))

    def chat_completions(self, exchange: Exchange) -> None:
        """``POST /v1/chat/completions``."""
        options = self._authorized_options(exchange)
        if options is None:
            return
        try:
            request = read_request(exchange.request.body)
        except BadRequestError as exc:
            body = error_body(str(exc), "invalid_request_error", exc.param, exc.code)
            return _send_json(exchange, 400, body)
        index = self.count_answer()
        fault = options.fault
        if options.fault_count is not None and index >= options.fault_count:
            fault = None
        if _send_fault_answer(exchange, options, request, fault):
            return
        answer = Answer(options, request)
        if request.stream:
            return _stream(exchange, options, answer, fault)
        if fault == "error_event":
            return _send_json(exchange, 200, server_error_body())
        body = stamped(ENCODE(answer.completion()).encode(), options.timestamps)
        if fault == "silent":
            exchange.start(200, _headers(_JSON_TYPE), framing=options.framing)
            exchange.wait(math.inf)
        if fault == "drop":
            exchange.start(200, _headers(_JSON_TYPE), framing=options.framing)
            exchange.write(body[: len(body) // 2])
            return exchange.drop()
        exchange.request.tokens_sent = answer.token_count()
        exchange.respond(200, body, content_type=_JSON_TYPE, headers=_headers())

    def _authorized_options(self, exchange: Exchange) -> Optional[OpenAIOptions]:
        """The options for this request, or None after answering: 400/500 for bad options
        (:meth:`options_for`), 401 without the right key."""
        options = self.options_for(exchange)
        if options is None or options.api_key is None:
            return options
        token = _bearer_token(exchange)
        if token is None:
            _send_json(exchange, 401, no_key_error())
            return None
        if not secrets.compare_digest(token.encode(), options.api_key.encode()):
            _send_json(exchange, 401, incorrect_key_error(token))
            return None
        return options


def _bearer_token(exchange: Exchange) -> Optional[str]:
    scheme, _, token = exchange.request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _send_fault_answer(
    exchange: Exchange, options: OpenAIOptions, request: ChatRequest, fault: Optional[str]
) -> bool:
    """Answer with ``fault`` when it is one that answers before the stream; whether it was."""
    if fault == "unauthorized":
        _send_json(exchange, 401, incorrect_key_error(_bearer_token(exchange) or ""))
    elif fault == "rate_limit":
        headers = {"retry-after": options.retry_after}
        try:
            seconds = float(options.retry_after)
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds) and seconds >= 0:
            headers["retry-after-ms"] = str(round(seconds * 1000))
        _send_json(exchange, 429, rate_limit_error(request.model, options.retry_after), headers)
    elif fault == "context_length":
        _send_json(exchange, 400, context_length_error(request.prompt_tokens))
    elif fault == "not_found":
        _send_json(exchange, 404, model_not_found_error(request.model))
    elif fault == "unprocessable":
        _send_json(exchange, 422, unprocessable_body())
    elif fault in ("server_error", "no_retry"):
        headers = {"x-should-retry": "false"} if fault == "no_retry" else {}
        _send_json(exchange, 500, server_error_body(), headers)
    elif fault == "silent_head":
        exchange.wait(math.inf)
    else:
        return False
    return True


def _stream(
    exchange: Exchange, options: OpenAIOptions, answer: Answer, fault: Optional[str]
) -> None:
    """The ``text/event-stream`` answer, with a mid-stream fault if any."""
    events = answer.events()
    if fault in ("error_event", "drop", "silent"):
        events = events[: _cut(events, options.drop_after)]
    headers = _headers("text/event-stream; charset=utf-8", {"Cache-Control": "no-cache"})
    exchange.start(200, headers, framing=options.framing)
    writes = _group(events)
    request = exchange.request

    def write(index: int) -> bytes:
        data, tokens = writes[index]
        request.tokens_sent += tokens  # before the write: a reader never sees more
        return stamped(data, options.timestamps)

    exchange.pace(len(writes), write, options.delay)
    if fault == "drop":
        return exchange.drop()
    if fault == "silent":
        exchange.wait(math.inf)
    if fault == "error_event":
        exchange.write(error_event())
    exchange.end()


def _group(events: Sequence[tuple[bytes, bool]]) -> list[tuple[bytes, int]]:
    """Events as writes: each token starts a new one; the events between two tokens go with
    the token before them (those before the first token, with it). Each write with the
    number of tokens in it."""
    writes: list[tuple[bytes, int]] = []
    data, tokens = b"", 0
    for event, is_token in events:
        if is_token and tokens:
            writes.append((data, tokens))
            data, tokens = b"", 0
        data += event
        tokens += is_token
    if data:
        writes.append((data, tokens))
    return writes


def _cut(events: Sequence[tuple[bytes, bool]], tokens: int) -> int:
    """The number of events up to and including the ``tokens``-th token event (all the
    token events when there are fewer; 0 for none)."""
    cut = seen = 0
    for position, (_, is_token) in enumerate(events):
        if seen >= tokens:
            break
        if is_token:
            seen += 1
            cut = position + 1
    return cut


def _headers(
    content_type: Optional[str] = None, extra: Optional[Mapping[str, str]] = None
) -> dict[str, str]:
    headers = {"Content-Type": content_type} if content_type else {}
    return {**headers, "x-request-id": "req_" + secrets.token_hex(16), **(extra or {})}


def _send_json(
    exchange: Exchange, status: int, body: Any, headers: Optional[Mapping[str, str]] = None
) -> None:
    exchange.respond(status, ENCODE(body), content_type=_JSON_TYPE, headers=_headers(extra=headers))
