"""The OpenAI chat-completions service: ``POST /v1/chat/completions`` and ``GET /v1/models``,
as OpenAI and the servers copying it (LiteLLM, vLLM, DeepSeek, OpenRouter, g4f's
``g4f api``) speak it. Every option below is a field of :class:`OpenAIOptions`, and can be
set per request by a query parameter of the same name (``?tool_calls=...&delay=0.01``).

Authentication
--------------

With ``api_key`` set, both routes want ``Authorization: Bearer <api_key>``; else 401
``invalid_request_error``: without a bearer token, ``You didn't provide an API key...``
(``code`` null, as OpenAI answers); with another one, ``Incorrect API key provided:
sk-***...wxyz...`` (``code`` ``invalid_api_key``; the key is masked, its first 3 and last
4 characters kept only when it has 12 or more). ``api_key`` None (the default): no check.
Every answer below carries an ``x-request-id: req_<hex>`` header.

``GET /v1/models``
------------------

``{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}``, one
entry per name in ``models`` (``created`` 1700000000, ``owned_by`` ``"emulator"``). Faults
do not apply to it. A request may name any model, listed or not.

``POST /v1/chat/completions``: the request
-----------------------------------------

Any OpenAI field is accepted; these are checked, a bad one getting 400
``{"error": {"message", "type": "invalid_request_error", "param", "code"}}`` with OpenAI's
wording (``param`` names the field, ``messages[0].role`` for one inside; ``code``
``missing_required_parameter``, ``invalid_type``, ``empty_array``, ``integer_below_min_value``,
``integer_above_max_value`` or ``invalid_value``; null when the body is not JSON):

- the body is a JSON object; ``model`` a string;
- ``messages`` a non-empty list of objects, each with a string ``role`` and a ``content``
  that is a string, a list of parts or null;
- ``stream`` a bool (or null); ``n`` an integer from 1 to 128 (or null: 1);
- ``stream_options`` an object (or null), only with ``"stream": true``; its
  ``include_usage`` a bool;
- ``logprobs`` a bool; ``top_logprobs`` an integer from 0 to 20, only with
  ``"logprobs": true``.

A request rejected here (or by authentication) does not count for ``fault_count``. The
request itself is in ``Emulator.requests`` (``RecordedRequest.json()``).

The reply
---------

The text is ``tokens``, or by default the words of the last ``user`` message (as Koala
echoes: ``"one two"`` -> ``"one "``, ``"two"``); a list ``content`` contributes its
``{"type": "text", "text": ...}`` parts, joined by a space. ``count`` (as Koala's) sends
``"tok0 "``, ``"tok1 "``, ... instead, that many; ``timestamps`` (as Koala's) makes each
text token the server's ``repr(time.monotonic())`` taken just before its write (in a whole
answer, one time for every token; logprobs then still describe a placeholder token). With
``n`` > 1, choice 0 gets exactly that and choice ``i`` the same plus one more token,
``" [i]"``. A token may hold any
character, control characters included: JSON escapes what it must (``\\u0000``, ``\\n``),
the rest goes as UTF-8.

``reasoning`` (tokens) comes before the text in the ``reasoning_field`` field
(``reasoning_content``, as DeepSeek and vLLM, or ``reasoning``, as OpenRouter and g4f);
unset or empty, the field is absent. ``tool_calls`` (unless None or empty) answers with
function calls instead of text (``content`` null); reasoning may precede them.
``finish_reason`` is the option's, by default ``"stop"``, or ``"tool_calls"`` when answering
with tool calls.

Tool calls are :class:`ToolCall` ``(name, arguments)``; ``arguments`` is sent verbatim (a
mapping is JSON-encoded compactly), so invalid JSON can be tested too. In a query or on the
command line: ``NAME:JSON`` separated by ``;`` (``get_weather:{"city":"Paris"};now:{}``,
URL-encoded in a query); the JSON text is kept as written. The ``i``-th call of choice ``c``
has id ``call_<c>_<i>``.

Usage: ``prompt_tokens`` is the number of whitespace-separated words in every message's
text; ``completion_tokens`` the number of token chunks of all choices (each reasoning or
text token, and per tool call its header and each argument piece);
``completion_tokens_details.reasoning_tokens`` is added when there is reasoning.

Logprobs: when the request has ``"logprobs": true`` (and the option ``logprobs`` is on;
off, the server ignores the ask, as many compatible servers do), each text token gets
``{"token", "logprob", "bytes", "top_logprobs"}``: the ``k``-th token of a choice (from 0)
has ``logprob`` ``-(k + 1) / 100``; ``top_logprobs`` has ``top_logprobs`` entries, the token
itself first, then ``alt1``, ``alt2``... each 1.0 lower. Elsewhere ``logprobs`` is null.

Non-streamed (``"stream"`` false or absent)
-------------------------------------------

200 ``application/json``: ``{"id": "chatcmpl-<hex>", "object": "chat.completion",
"created", "model": <the request's>, "system_fingerprint": "fp_emulated", "choices":
[{"index", "message": {"role": "assistant", "content", ["tool_calls": [{"id", "type":
"function", "function": {"name", "arguments"}}]], [<reasoning_field>]}, "logprobs":
{"content": [...], "refusal": null} or null, "finish_reason"}], "usage": {...}}``.

Streamed (``"stream": true``)
-----------------------------

200 ``text/event-stream; charset=utf-8``, one ``data: <JSON>\\n\\n`` event per chunk, then
``data: [DONE]\\n\\n``. Every chunk is ``{"id", "object": "chat.completion.chunk",
"created", "model", "system_fingerprint", "choices": [{"index", "delta", "logprobs",
"finish_reason"}]}`` with one choice, the same ``id`` and ``created`` throughout. Per choice,
in order:

1. with ``role_chunk`` (the default), ``{"role": "assistant", "content": ""}`` (``content``
   null before tool calls); without it, ``"role": "assistant"`` rides on the choice's
   first delta, whatever it is. ``role`` is on no other delta.
2. one chunk per reasoning token: ``{<reasoning_field>: token}``;
3. one chunk per text token, ``{"content": token}``; with ``empty_deltas``, a
   ``{"content": ""}`` chunk between two tokens (as small models send). Or, for tool calls,
   per call a header ``{"tool_calls": [{"index": i, "id", "type": "function", "function":
   {"name", "arguments": ""}}]}`` then its arguments in pieces of 5 characters
   (``{"tool_calls": [{"index": i, "function": {"arguments": piece}}]}``), the calls
   interleaved (headers of calls 0, 1, ..., then the first piece of each, ...): a client
   must put them together by ``index`` (OpenAI sends one call after the other);
4. ``{"delta": {}, "finish_reason": ...}``.

With ``n`` > 1 the choices are interleaved chunk by chunk (choice 0's first chunk, choice
1's first chunk, ...), as OpenAI does.

``stream_options.include_usage`` adds usage in the shape ``usage_shape`` names:

- ``openai``: a last chunk ``"choices": []`` with ``"usage": {...}``, and ``"usage": null``
  on every other chunk (OpenAI's documented shape);
- ``litellm``: a last chunk with one choice ``{"index": 0, "delta": {}, "finish_reason":
  null}`` and the usage, no ``usage`` key elsewhere (LiteLLM's proxy, BerriAI/litellm#28735);
- ``g4f``: the usage on the last chunk with a ``finish_reason``, no usage chunk of its own
  and no ``usage`` key elsewhere (as captured from gpt4free 8.8.6's ``g4f api``).

Pacing: each token (reasoning, text, tool-call header or piece) goes in a write of its own
(one HTTP chunk in chunked framing), at once, ``delay`` seconds after the previous token was
due (the first at once), through the emulator's pacer as Koala's are; the chunks between two
tokens (role, empty deltas, finish, usage, ``[DONE]``) go in the same write as the token
before them (the role chunks in the first token's). ``framing`` says how the stream ends:
``chunked`` or ``close``. A whole answer ignores ``delay`` and ``framing``.

Faults (``fault``)
------------------

Answers before the stream, with OpenAI's error body ``{"error": {"message", "type",
"param", "code"}}`` unless said otherwise:

- ``unauthorized``: 401 ``invalid_api_key`` as above, even with the right key;
- ``rate_limit``: 429, ``retry-after: <retry_after>`` and ``retry-after-ms`` (the same in
  milliseconds; left out when ``retry_after`` is not a number), ``type`` ``requests``
  (OpenAI's, which names the limit hit), ``code`` ``rate_limit_exceeded``;
- ``context_length``: 400, ``param`` ``messages``, ``code`` ``context_length_exceeded``;
- ``not_found``: 404 ``The model `X` does not exist or you do not have access to it.``,
  ``code`` ``model_not_found``;
- ``unprocessable``: 422 with FastAPI's validation body ``{"detail": [{"type", "loc",
  "msg", "input"}]}``, as the FastAPI servers that send 422 (g4f, LiteLLM) answer;
- ``server_error``: 500, ``type`` ``server_error``;
- ``no_retry``: the same 500 with ``x-should-retry: false``;
- ``silent_head``: no answer until the client disconnects or the emulator closes.

Faults in the answer, after ``drop_after`` tokens (all choices counted, in stream order;
with fewer tokens, after the last; never the finish chunks, usage or ``[DONE]``):

- ``error_event``: the event ``data: {"error": {"message", "type": "server_error",
  "param": null, "code": null}}``, then the end of the body (no ``[DONE]``); not streamed:
  200 with that object as the whole body, as some proxies answer;
- ``drop``: the connection drops (chunked: no terminating chunk; close: an RST once every
  byte written reached the client); not streamed: the head and half the body, then the
  same;
- ``silent``: nothing more until the client disconnects or the emulator closes; not
  streamed: the head only.

``fault_count=N`` applies the fault to the first N chat requests the service answers
(counted from the emulator's start or the last assignment of ``Emulator.openai``), then
answers normally. Error answers carry ``Content-Length`` and keep the connection open.

Query and command line
----------------------

``tokens``, ``reasoning`` and ``models`` are comma-separated (``tokens=none``: echo);
``count`` is an integer (``none``: unset); booleans ``true``/``false``/``1``/``0``;
``fault=none``, ``finish_reason=none``, ``tool_calls=none``, ``api_key=none`` clear them.
``g4f-sync emulate --openai-<option>`` sets the defaults (``--openai-tool-calls
'get_weather:{"city":"Paris"}'``, ``--no-openai-role-chunk``);
``Emulator.provider(..., tool_calls='f:{}')`` takes the query form, a string. An unknown
parameter or a bad value gets the emulator's own 400, ``{"error": "<what is wrong>"}``, not
OpenAI's shape; invalid live options a 500 of the same shape.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal, Mapping, Optional, Sequence, Union, get_args

from .exchange import Exchange, Route
from .options import ServiceOptions, option
from .query import optional, parse_bool, parse_tokens
from .service import Service, echo_tokens

__all__ = [
    "FAULTS",
    "REASONING_FIELDS",
    "USAGE_SHAPES",
    "OpenAIOptions",
    "OpenAIService",
    "ToolCall",
    "parse_tool_calls",
]

Fault = Literal[
    "unauthorized",
    "rate_limit",
    "context_length",
    "not_found",
    "unprocessable",
    "server_error",
    "no_retry",
    "error_event",
    "drop",
    "silent_head",
    "silent",
]
FAULTS: tuple[str, ...] = get_args(Fault)
UsageShape = Literal["openai", "litellm", "g4f"]
USAGE_SHAPES: tuple[str, ...] = get_args(UsageShape)
ReasoningField = Literal["reasoning_content", "reasoning"]
REASONING_FIELDS: tuple[str, ...] = get_args(ReasoningField)

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
DEFAULT_MODELS = ("emulated-gpt", "emulated-mini")
MODEL_CREATED = 1_700_000_000
SYSTEM_FINGERPRINT = "fp_emulated"
ARGUMENT_PIECE = 5
"""Characters of a tool call's arguments per streamed piece."""
MAX_N = 128
MAX_TOP_LOGPROBS = 20
CONTEXT_LENGTH = 128_000
"""The context length the ``context_length`` fault's message names."""
SERVER_ERROR_MESSAGE = "The server had an error while processing your request. Sorry about that!"

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_STAMP = "\x00timestamp\x00"
"""The placeholder of a text token with ``timestamps``: each is replaced by the send time."""
_STAMP_JSON = _ENCODE(_STAMP)[1:-1].encode()
"""The placeholder as JSON writes it inside a string (its control characters escaped)."""
_JSON_TYPE = "application/json"
_NO_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API "
    "key from https://platform.openai.com/account/api-keys."
)


@dataclass(frozen=True)
class ToolCall:
    """A function call to answer with: its name and its ``arguments``, sent verbatim (a
    mapping is JSON-encoded compactly)."""

    name: str
    arguments: Union[str, Mapping[str, Any]] = "{}"

    def __post_init__(self) -> None:
        if isinstance(self.arguments, Mapping):
            object.__setattr__(self, "arguments", _ENCODE(dict(self.arguments)))
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a tool call's name must be a non-empty string, not {self.name!r}")
        if not isinstance(self.arguments, str):
            raise ValueError("a tool call's arguments must be a string or a mapping")


def parse_tool_calls(raw: str) -> list[ToolCall]:
    """``NAME:JSON`` calls separated by ``;`` (``get_weather:{"city":"Paris"};now:{}``); the
    JSON text is kept as written. ``ValueError`` when it does not read so."""
    calls = []
    rest = raw.strip()
    decoder = json.JSONDecoder()
    while rest:
        name, colon, after = rest.partition(":")
        if not colon or not name.strip() or ";" in name:
            raise ValueError(f"expected NAME:JSON, got {rest!r}")
        start = len(after) - len(after.lstrip())
        _, end = decoder.raw_decode(after, start)
        calls.append(ToolCall(name.strip(), after[start:end]))
        rest = after[end:].lstrip()
        if rest and not rest.startswith(";"):
            raise ValueError(f"expected ';' between tool calls, got {rest!r}")
        rest = rest[1:].lstrip()
    return calls


def _parse_names(raw: str) -> list[str]:
    return [name.strip() for name in raw.split(",") if name.strip()]


@dataclass
class OpenAIOptions(ServiceOptions):
    """What the OpenAI service answers and how it fails; see the module docstring for each
    field. Raises ``ValueError`` on a value out of range. Fields may be changed between
    requests."""

    FAULTS: ClassVar[tuple[str, ...]] = FAULTS

    count: Optional[int] = option(
        None, parse=optional(int), help="send this many tokens: tok0, tok1, ..."
    )
    timestamps: bool = option(False, parse=parse_bool, help="tokens are monotonic send times")
    role_chunk: bool = option(
        True, parse=parse_bool, help="a role-only first chunk per choice (default: on)"
    )
    empty_deltas: bool = option(
        False, parse=parse_bool, help='an empty {"content": ""} chunk between two tokens'
    )
    tool_calls: Optional[Sequence[ToolCall]] = option(
        None,
        parse=optional(parse_tool_calls),
        help='answer with function calls: NAME:JSON;NAME:JSON (get_weather:{"city":"Paris"})',
    )
    reasoning: Optional[Sequence[str]] = option(
        None, parse=parse_tokens, help="comma-separated reasoning tokens before the text"
    )
    reasoning_field: ReasoningField = option(
        "reasoning_content",
        parse=str,
        choices=REASONING_FIELDS,
        help="the field reasoning goes in (default: reasoning_content)",
    )
    finish_reason: Optional[str] = option(
        None, parse=optional(str), help="finish_reason (default: stop, or tool_calls)"
    )
    usage_shape: UsageShape = option(
        "openai",
        parse=str,
        choices=USAGE_SHAPES,
        help="how include_usage is answered (default: openai)",
    )
    logprobs: bool = option(
        True, parse=parse_bool, help="answer logprobs when asked (default: on; off: ignore)"
    )
    models: Sequence[str] = option(
        DEFAULT_MODELS, parse=_parse_names, help="comma-separated names GET /v1/models lists"
    )
    api_key: Optional[str] = option(
        None, parse=optional(str), help="require Authorization: Bearer API_KEY (default: none)"
    )
    fault_count: Optional[int] = option(
        None, parse=optional(int), help="the fault hits the first N requests only"
    )
    drop_after: int = option(3, parse=int, help="tokens before a fault acts (default: 3)")

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field with a bad value."""
        super().validate()
        for name in ("timestamps", "role_chunk", "empty_deltas", "logprobs"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: must be a bool")
        if self.tool_calls is not None and (
            isinstance(self.tool_calls, (str, bytes))
            or not all(isinstance(call, ToolCall) for call in self.tool_calls)
        ):
            raise ValueError("tool_calls: must be a list of ToolCall or None")
        if self.reasoning is not None and (
            isinstance(self.reasoning, str) or not all(isinstance(t, str) for t in self.reasoning)
        ):
            raise ValueError("reasoning: must be a list of strings or None")
        if self.reasoning_field not in REASONING_FIELDS:
            raise ValueError(f"reasoning_field: must be one of {', '.join(REASONING_FIELDS)}")
        if self.finish_reason is not None and not (
            isinstance(self.finish_reason, str) and self.finish_reason
        ):
            raise ValueError("finish_reason: must be a non-empty string or None")
        if self.usage_shape not in USAGE_SHAPES:
            raise ValueError(f"usage_shape: must be one of {', '.join(USAGE_SHAPES)}")
        if isinstance(self.models, str) or not all(isinstance(m, str) and m for m in self.models):
            raise ValueError("models: must be a list of non-empty strings")
        if self.api_key is not None and not (isinstance(self.api_key, str) and self.api_key):
            raise ValueError("api_key: must be a non-empty string or None")
        for name, value, may_be_none in (
            ("count", self.count, True),
            ("fault_count", self.fault_count, True),
            ("drop_after", self.drop_after, False),
        ):
            is_count = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            if not is_count and not (may_be_none and value is None):
                raise ValueError(f"{name}: must be a non-negative integer, not {value!r}")


# The request


class _BadRequestError(ValueError):
    """A request OpenAI would refuse with 400: its message, ``param`` and ``code``."""

    def __init__(
        self, message: str, param: Optional[str] = None, code: Optional[str] = None
    ) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


@dataclass(frozen=True)
class _ChatRequest:
    """What the answer depends on in a chat request."""

    model: str
    text: str
    """The text of the last user message."""
    prompt_tokens: int
    stream: bool
    n: int
    include_usage: bool
    logprobs: bool
    top_logprobs: int


_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def _invalid_type(param: str, expected: str, value: Any) -> _BadRequestError:
    got = _TYPE_NAMES.get(type(value), "a value")
    return _BadRequestError(
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.",
        param,
        "invalid_type",
    )


def _missing(param: str) -> _BadRequestError:
    return _BadRequestError(
        f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    )


def _optional_of(payload: Mapping[str, Any], name: str, kind: type, expected: str) -> Any:
    """``payload[name]`` when it is a ``kind`` (never a bool for an int), None when absent
    or null; ``_BadRequestError`` otherwise."""
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _invalid_type(name, expected, value)
    return value


def _integer_in(name: str, value: int, low: int, high: int) -> int:
    if value < low:
        raise _BadRequestError(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            name,
            "integer_below_min_value",
        )
    if value > high:
        raise _BadRequestError(
            f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            name,
            "integer_above_max_value",
        )
    return value


def _content_text(content: Any) -> str:
    """The text of a message's ``content``: a string, or a list's text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            part["text"]
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
            if isinstance(part.get("text"), str)
        ]
        return " ".join(texts)
    return ""


def _read_messages(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "messages" not in payload:
        raise _missing("messages")
    messages = payload["messages"]
    if not isinstance(messages, list):
        raise _invalid_type("messages", "an array", messages)
    if not messages:
        raise _BadRequestError(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            "messages",
            "empty_array",
        )
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise _invalid_type(where, "an object", message)
        if "role" not in message:
            raise _missing(f"{where}.role")
        if not isinstance(message["role"], str):
            raise _invalid_type(f"{where}.role", "a string", message["role"])
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise _invalid_type(f"{where}.content", "a string or an array", content)
    return messages


def _read_request(body: bytes) -> _ChatRequest:
    """The parts of a chat request the answer needs; ``_BadRequestError`` as OpenAI would."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise _BadRequestError(
            "We could not parse the JSON body of your request. The OpenAI API expects a "
            "JSON payload, but what was sent was not valid JSON."
        ) from None
    if not isinstance(payload, dict):
        raise _invalid_type("body", "an object", payload)
    if "model" not in payload:
        raise _missing("model")
    if not isinstance(payload["model"], str):
        raise _invalid_type("model", "a string", payload["model"])
    messages = _read_messages(payload)
    stream = bool(_optional_of(payload, "stream", bool, "a boolean"))
    n = _optional_of(payload, "n", int, "an integer")
    stream_options = _optional_of(payload, "stream_options", dict, "an object")
    if stream_options is not None and not stream:
        raise _BadRequestError(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
            "invalid_value",
        )
    include_usage = (stream_options or {}).get("include_usage")
    if include_usage is not None and not isinstance(include_usage, bool):
        raise _invalid_type("stream_options.include_usage", "a boolean", include_usage)
    logprobs = bool(_optional_of(payload, "logprobs", bool, "a boolean"))
    top_logprobs = _optional_of(payload, "top_logprobs", int, "an integer")
    if top_logprobs is not None:
        _integer_in("top_logprobs", top_logprobs, 0, MAX_TOP_LOGPROBS)
        if not logprobs:
            raise _BadRequestError(
                "Invalid value for 'logprobs': must be true when 'top_logprobs' is set.",
                "logprobs",
                "invalid_value",
            )
    users = [m for m in messages if m["role"] == "user"]
    return _ChatRequest(
        model=payload["model"],
        text=_content_text(users[-1].get("content")) if users else "",
        prompt_tokens=sum(len(_content_text(m.get("content")).split()) for m in messages),
        stream=stream,
        n=1 if n is None else _integer_in("n", n, 1, MAX_N),
        include_usage=bool(include_usage),
        logprobs=logprobs,
        top_logprobs=top_logprobs or 0,
    )


# The answer


def _error(
    message: str, type_: str, param: Optional[str] = None, code: Optional[str] = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _mask_key(key: str) -> str:
    """``sk-***...wxyz``: never the whole key."""
    if len(key) < 12:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def _incorrect_key(key: str) -> dict[str, Any]:
    message = (
        f"Incorrect API key provided: {_mask_key(key)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )
    return _error(message, "invalid_request_error", code="invalid_api_key")


def _bearer_token(exchange: Exchange) -> Optional[str]:
    scheme, _, token = exchange.request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True)
class _Event:
    """One streamed chunk of one choice, before it is encoded."""

    delta: dict[str, Any]
    token: bool = False
    logprobs: Optional[dict[str, Any]] = None
    finish_reason: Optional[str] = None


class _Answer:
    """The answer to one chat request: its choices, streamed or whole."""

    def __init__(self, options: OpenAIOptions, request: _ChatRequest) -> None:
        self.options = options
        self.request = request
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        if options.count is not None:
            base = [f"tok{i} " for i in range(options.count)]
        elif options.tokens is not None:
            base = list(options.tokens)
        else:
            base = echo_tokens(request.text)
        if options.timestamps:
            base = [_STAMP] * len(base)
        self.replies = [base + ([f" [{i}]"] if i else []) for i in range(request.n)]
        self.reasoning = list(options.reasoning or [])
        self.tool_calls = list(options.tool_calls) if options.tool_calls else None
        self.finish_reason = options.finish_reason or ("tool_calls" if self.tool_calls else "stop")
        self.logprobs = request.logprobs and options.logprobs

    # Pieces shared by both forms

    def _argument_pieces(self, call: ToolCall) -> list[str]:
        text = str(call.arguments)
        return [text[k : k + ARGUMENT_PIECE] for k in range(0, len(text), ARGUMENT_PIECE)]

    def _token_logprob(self, token: str, k: int) -> dict[str, Any]:
        """The logprobs entry of a choice's ``k``-th text token."""

        def entry(text: str, logprob: float) -> dict[str, Any]:
            return {"token": text, "logprob": logprob, "bytes": list(text.encode())}

        logprob = -(k + 1) / 100
        top = [entry(token, logprob)]
        top += [entry(f"alt{m}", logprob - m) for m in range(1, self.request.top_logprobs)]
        return {**entry(token, logprob), "top_logprobs": top[: self.request.top_logprobs]}

    def usage(self) -> dict[str, Any]:
        per_choice = len(self.reasoning)
        if self.tool_calls is not None:
            per_call = [1 + len(self._argument_pieces(call)) for call in self.tool_calls]
            completion = self.request.n * (per_choice + sum(per_call))
        else:
            completion = self.request.n * per_choice + sum(len(r) for r in self.replies)
        usage: dict[str, Any] = {
            "prompt_tokens": self.request.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.request.prompt_tokens + completion,
        }
        if self.reasoning:
            usage["completion_tokens_details"] = {
                "reasoning_tokens": self.request.n * len(self.reasoning)
            }
        return usage

    # Not streamed

    def completion(self) -> dict[str, Any]:
        """The ``chat.completion`` object."""
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.request.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [self._choice(i) for i in range(self.request.n)],
            "usage": self.usage(),
        }

    def _choice(self, index: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if self.tool_calls is not None:
            message["tool_calls"] = [
                {
                    "id": f"call_{index}_{j}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for j, call in enumerate(self.tool_calls)
            ]
        else:
            message["content"] = "".join(self.replies[index])
        if self.reasoning:
            message[self.options.reasoning_field] = "".join(self.reasoning)
        logprobs = None
        if self.logprobs and self.tool_calls is None:
            entries = [self._token_logprob(t, k) for k, t in enumerate(self.replies[index])]
            logprobs = {"content": entries, "refusal": None}
        return {
            "index": index,
            "message": message,
            "logprobs": logprobs,
            "finish_reason": self.finish_reason,
        }

    def token_count(self) -> int:
        return self.usage()["completion_tokens"]

    # Streamed

    def events(self) -> list[tuple[bytes, bool]]:
        """Every event of the stream, encoded, and whether it carries a token."""
        per_choice = [self._choice_events(i) for i in range(self.request.n)]
        ordered = [
            (index, events[k])
            for k in range(max(len(events) for events in per_choice))
            for index, events in enumerate(per_choice)
            if k < len(events)
        ]
        usage_shape = self.options.usage_shape if self.request.include_usage else None
        last_finish = max(i for i, (_, event) in enumerate(ordered) if event.finish_reason)
        encoded = []
        for position, (index, event) in enumerate(ordered):
            choice = {
                "index": index,
                "delta": event.delta,
                "logprobs": event.logprobs,
                "finish_reason": event.finish_reason,
            }
            extra: dict[str, Any] = {}
            if usage_shape == "openai":
                extra["usage"] = None
            elif usage_shape == "g4f" and position == last_finish:
                extra["usage"] = self.usage()
            encoded.append((self._chunk([choice], extra), event.token))
        if usage_shape == "openai":
            encoded.append((self._chunk([], {"usage": self.usage()}), False))
        elif usage_shape == "litellm":
            choice = {"index": 0, "delta": {}, "finish_reason": None}
            encoded.append((self._chunk([choice], {"usage": self.usage()}), False))
        encoded.append((b"data: [DONE]\n\n", False))
        return encoded

    def _chunk(self, choices: list[dict[str, Any]], extra: Mapping[str, Any]) -> bytes:
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.request.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
            **extra,
        }
        return f"data: {_ENCODE(chunk)}\n\n".encode()

    def _choice_events(self, index: int) -> list[_Event]:
        events: list[_Event] = []
        if self.options.role_chunk:
            events.append(_Event({"content": None if self.tool_calls is not None else ""}))
        field = self.options.reasoning_field
        events.extend(_Event({field: token}, token=True) for token in self.reasoning)
        if self.tool_calls is not None:
            events.extend(self._tool_call_events(index))
        else:
            for k, token in enumerate(self.replies[index]):
                if k and self.options.empty_deltas:
                    events.append(_Event({"content": ""}))
                logprobs = None
                if self.logprobs:
                    logprobs = {"content": [self._token_logprob(token, k)], "refusal": None}
                events.append(_Event({"content": token}, token=True, logprobs=logprobs))
        events.append(_Event({}, finish_reason=self.finish_reason))
        events[0] = replace(events[0], delta={"role": "assistant", **events[0].delta})
        return events

    def _tool_call_events(self, index: int) -> list[_Event]:
        per_call: list[list[_Event]] = []
        for j, call in enumerate(self.tool_calls or []):
            header = {
                "index": j,
                "id": f"call_{index}_{j}",
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            pieces = [
                {"index": j, "function": {"arguments": p}} for p in self._argument_pieces(call)
            ]
            per_call.append([_Event({"tool_calls": [d]}, token=True) for d in [header, *pieces]])
        return [
            calls[k]
            for k in range(max((len(calls) for calls in per_call), default=0))
            for calls in per_call
            if k < len(calls)
        ]


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
        data = [
            {"id": name, "object": "model", "created": MODEL_CREATED, "owned_by": "emulator"}
            for name in options.models
        ]
        _send_json(exchange, 200, {"object": "list", "data": data})

    def chat_completions(self, exchange: Exchange) -> None:
        """``POST /v1/chat/completions``."""
        options = self._authorized_options(exchange)
        if options is None:
            return
        try:
            request = _read_request(exchange.request.body)
        except _BadRequestError as exc:
            body = _error(str(exc), "invalid_request_error", exc.param, exc.code)
            return _send_json(exchange, 400, body)
        index = self.count_answer()
        fault = options.fault
        if options.fault_count is not None and index >= options.fault_count:
            fault = None
        if _send_fault_answer(exchange, options, request, fault):
            return
        answer = _Answer(options, request)
        if request.stream:
            return _stream(exchange, options, answer, fault)
        if fault == "error_event":
            return _send_json(exchange, 200, _error(SERVER_ERROR_MESSAGE, "server_error"))
        body = _stamped(_ENCODE(answer.completion()).encode(), options.timestamps)
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
            _send_json(exchange, 401, _error(_NO_KEY_MESSAGE, "invalid_request_error"))
            return None
        if not secrets.compare_digest(token.encode(), options.api_key.encode()):
            _send_json(exchange, 401, _incorrect_key(token))
            return None
        return options


def _send_fault_answer(
    exchange: Exchange, options: OpenAIOptions, request: _ChatRequest, fault: Optional[str]
) -> bool:
    """Answer with ``fault`` when it is one that answers before the stream; whether it was."""
    if fault == "unauthorized":
        _send_json(exchange, 401, _incorrect_key(_bearer_token(exchange) or ""))
    elif fault == "rate_limit":
        message = (
            f"Rate limit reached for {request.model} in organization org-emulated on requests "
            f"per min (RPM): Limit 3, Used 3, Requested 1. Please try again in "
            f"{options.retry_after}s."
        )
        headers = {"retry-after": options.retry_after}
        try:
            seconds = float(options.retry_after)
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds) and seconds >= 0:
            headers["retry-after-ms"] = str(round(seconds * 1000))
        body = _error(message, "requests", code="rate_limit_exceeded")
        _send_json(exchange, 429, body, headers)
    elif fault == "context_length":
        message = (
            f"This model's maximum context length is {CONTEXT_LENGTH} tokens. However, your "
            f"messages resulted in {CONTEXT_LENGTH + request.prompt_tokens} tokens. Please "
            "reduce the length of the messages."
        )
        body = _error(message, "invalid_request_error", "messages", "context_length_exceeded")
        _send_json(exchange, 400, body)
    elif fault == "not_found":
        message = f"The model `{request.model}` does not exist or you do not have access to it."
        _send_json(exchange, 404, _error(message, "invalid_request_error", None, "model_not_found"))
    elif fault == "unprocessable":
        detail = {
            "type": "value_error",
            "loc": ["body"],
            "msg": "Value error, the emulator's unprocessable fault",
            "input": None,
        }
        _send_json(exchange, 422, {"detail": [detail]})
    elif fault in ("server_error", "no_retry"):
        headers = {"x-should-retry": "false"} if fault == "no_retry" else {}
        _send_json(exchange, 500, _error(SERVER_ERROR_MESSAGE, "server_error"), headers)
    elif fault == "silent_head":
        exchange.wait(math.inf)
    else:
        return False
    return True


def _stream(
    exchange: Exchange, options: OpenAIOptions, answer: _Answer, fault: Optional[str]
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
        return _stamped(data, options.timestamps)

    exchange.pace(len(writes), write, options.delay)
    if fault == "drop":
        return exchange.drop()
    if fault == "silent":
        exchange.wait(math.inf)
    if fault == "error_event":
        event = _error(SERVER_ERROR_MESSAGE, "server_error")
        exchange.write(f"data: {_ENCODE(event)}\n\n".encode())
    exchange.end()


def _stamped(data: bytes, timestamps: bool) -> bytes:
    """``data`` with each token placeholder replaced by the time now (``timestamps``)."""
    if not timestamps:
        return data
    return data.replace(_STAMP_JSON, repr(time.monotonic()).encode())


def _headers(
    content_type: Optional[str] = None, extra: Optional[Mapping[str, str]] = None
) -> dict[str, str]:
    headers = {"Content-Type": content_type} if content_type else {}
    return {**headers, "x-request-id": "req_" + secrets.token_hex(16), **(extra or {})}


def _send_json(
    exchange: Exchange, status: int, body: Any, headers: Optional[Mapping[str, str]] = None
) -> None:
    exchange.respond(
        status, _ENCODE(body), content_type=_JSON_TYPE, headers=_headers(extra=headers)
    )
