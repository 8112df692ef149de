"""The OpenAI service's wire objects: the whole answer, its chunks, the usage shapes, logprobs,
tool-call pieces, the model list and the error bodies, as JSON-ready values or encoded events.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace
from typing import Any, Mapping, Optional, Sequence

from ..service import echo_tokens
from .options import ENCODE, OpenAIOptions, ToolCall
from .request import ChatRequest

STAMP = "\x00timestamp\x00"
"""The placeholder of a text token with ``timestamps``: each is replaced by the send time."""
_STAMP_JSON = ENCODE(STAMP)[1:-1].encode()
"""The placeholder as JSON writes it inside a string (its control characters escaped)."""


def stamped(data: bytes, timestamps: bool) -> bytes:
    """``data`` with each token placeholder replaced by the time now (``timestamps``)."""
    if not timestamps:
        return data
    return data.replace(_STAMP_JSON, repr(time.monotonic()).encode())


__all__ = [
    "ARGUMENT_PIECE",
    "CONTEXT_LENGTH",
    "MODEL_CREATED",
    "SERVER_ERROR_MESSAGE",
    "SYSTEM_FINGERPRINT",
    "Answer",
    "context_length_error",
    "error_body",
    "error_event",
    "incorrect_key_error",
    "model_list",
    "model_not_found_error",
    "no_key_error",
    "rate_limit_error",
    "server_error_body",
    "unprocessable_body",
]

MODEL_CREATED = 1_700_000_000
SYSTEM_FINGERPRINT = "fp_emulated"
ARGUMENT_PIECE = 5
"""Characters of a tool call's arguments per streamed piece."""
CONTEXT_LENGTH = 128_000
"""The context length the ``context_length`` fault's message names."""
SERVER_ERROR_MESSAGE = "The server had an error while processing your request. Sorry about that!"

_NO_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API "
    "key from https://platform.openai.com/account/api-keys."
)


def model_list(names: Sequence[str]) -> dict[str, Any]:
    """The body of ``GET /v1/models``."""
    data = [
        {"id": name, "object": "model", "created": MODEL_CREATED, "owned_by": "emulator"}
        for name in names
    ]
    return {"object": "list", "data": data}


# Error bodies


def error_body(
    message: str, type_: str, param: Optional[str] = None, code: Optional[str] = None
) -> dict[str, Any]:
    """OpenAI's error body."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def no_key_error() -> dict[str, Any]:
    """The 401 without a bearer token."""
    return error_body(_NO_KEY_MESSAGE, "invalid_request_error")


def _mask_key(key: str) -> str:
    """``sk-***...wxyz``: never the whole key."""
    if len(key) < 12:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def incorrect_key_error(key: str) -> dict[str, Any]:
    """The 401 with another bearer token than the ``api_key`` (``key``, masked)."""
    message = (
        f"Incorrect API key provided: {_mask_key(key)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )
    return error_body(message, "invalid_request_error", code="invalid_api_key")


def rate_limit_error(model: str, retry_after: str) -> dict[str, Any]:
    """The ``rate_limit`` fault's 429."""
    message = (
        f"Rate limit reached for {model} in organization org-emulated on requests "
        f"per min (RPM): Limit 3, Used 3, Requested 1. Please try again in "
        f"{retry_after}s."
    )
    return error_body(message, "requests", code="rate_limit_exceeded")


def context_length_error(prompt_tokens: int) -> dict[str, Any]:
    """The ``context_length`` fault's 400."""
    message = (
        f"This model's maximum context length is {CONTEXT_LENGTH} tokens. However, your "
        f"messages resulted in {CONTEXT_LENGTH + prompt_tokens} tokens. Please "
        "reduce the length of the messages."
    )
    return error_body(message, "invalid_request_error", "messages", "context_length_exceeded")


def model_not_found_error(model: str) -> dict[str, Any]:
    """The ``not_found`` fault's 404."""
    message = f"The model `{model}` does not exist or you do not have access to it."
    return error_body(message, "invalid_request_error", None, "model_not_found")


def unprocessable_body() -> dict[str, Any]:
    """The ``unprocessable`` fault's 422: FastAPI's validation body."""
    detail = {
        "type": "value_error",
        "loc": ["body"],
        "msg": "Value error, the emulator's unprocessable fault",
        "input": None,
    }
    return {"detail": [detail]}


def server_error_body() -> dict[str, Any]:
    """The 500 of ``server_error`` and ``no_retry``, and the ``error_event`` fault's object."""
    return error_body(SERVER_ERROR_MESSAGE, "server_error")


def error_event() -> bytes:
    """The ``error_event`` fault's event in a stream."""
    return f"data: {ENCODE(server_error_body())}\n\n".encode()


# The answer


@dataclass(frozen=True)
class _Event:
    """One streamed chunk of one choice, before it is encoded."""

    delta: dict[str, Any]
    token: bool = False
    logprobs: Optional[dict[str, Any]] = None
    finish_reason: Optional[str] = None


class Answer:
    """The answer to one chat request: its choices, streamed or whole."""

    def __init__(self, options: OpenAIOptions, request: ChatRequest) -> None:
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
            base = [STAMP] * len(base)
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
        return f"data: {ENCODE(chunk)}\n\n".encode()

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
