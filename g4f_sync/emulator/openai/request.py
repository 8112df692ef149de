"""Reading a chat request as OpenAI does: :func:`read_request`, :class:`ChatRequest` and the
400 it refuses a bad one with (:class:`BadRequestError`, OpenAI's wording)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional

__all__ = ["MAX_N", "MAX_TOP_LOGPROBS", "BadRequestError", "ChatRequest", "read_request"]

MAX_N = 128
MAX_TOP_LOGPROBS = 20


class BadRequestError(ValueError):
    """A request OpenAI would refuse with 400: its message, ``param`` and ``code``."""

    def __init__(
        self, message: str, param: Optional[str] = None, code: Optional[str] = None
    ) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


@dataclass(frozen=True)
class ChatRequest:
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


def _invalid_type(param: str, expected: str, value: Any) -> BadRequestError:
    got = _TYPE_NAMES.get(type(value), "a value")
    return BadRequestError(
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.",
        param,
        "invalid_type",
    )


def _missing(param: str) -> BadRequestError:
    return BadRequestError(
        f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    )


def _optional_of(payload: Mapping[str, Any], name: str, kind: type, expected: str) -> Any:
    """``payload[name]`` when it is a ``kind`` (never a bool for an int), None when absent
    or null; ``BadRequestError`` otherwise."""
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _invalid_type(name, expected, value)
    return value


def _integer_in(name: str, value: int, low: int, high: int) -> int:
    if value < low:
        raise BadRequestError(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            name,
            "integer_below_min_value",
        )
    if value > high:
        raise BadRequestError(
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
        raise BadRequestError(
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


def read_request(body: bytes) -> ChatRequest:
    """The parts of a chat request the answer needs; ``BadRequestError`` as OpenAI would."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadRequestError(
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
        raise BadRequestError(
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
            raise BadRequestError(
                "Invalid value for 'logprobs': must be true when 'top_logprobs' is set.",
                "logprobs",
                "invalid_value",
            )
    users = [m for m in messages if m["role"] == "user"]
    return ChatRequest(
        model=payload["model"],
        text=_content_text(users[-1].get("content")) if users else "",
        prompt_tokens=sum(len(_content_text(m.get("content")).split()) for m in messages),
        stream=stream,
        n=1 if n is None else _integer_in("n", n, 1, MAX_N),
        include_usage=bool(include_usage),
        logprobs=logprobs,
        top_logprobs=top_logprobs or 0,
    )
