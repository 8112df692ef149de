"""The request side of an OpenAI chat completion: the options, the messages' shape, and
the JSON body, each checked before any I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Dict, Optional

from .. import errors
from ..checks import is_count, is_number

__all__ = [
    "CONNECTION_OPTIONS",
    "REQUEST_OPTIONS",
    "build_payload",
    "check_message_shapes",
    "check_request_options",
]

ROLES = ("system", "developer", "user", "assistant", "tool")
CONTENT_PART_TYPES = ("text", "image_url", "input_audio", "file")
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
TOOL_CHOICES = ("none", "auto", "required")

CONNECTION_OPTIONS = frozenset({"base_url", "api_key", "extra_headers", "extra_query"})
"""Options that change where and how the request goes, not what it asks."""


def _number(value: Any) -> bool:
    return is_number(value) and value == value  # not nan


def _string_list(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and bool(value) and all(isinstance(s, str) for s in value)
    )


def _logit_bias(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(token, (str, int)) and _number(bias) for token, bias in value.items()
    )


def _tools(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(tool, Mapping)
        and tool.get("type", "function") == "function"
        and isinstance(tool.get("function"), Mapping)
        and isinstance(tool["function"].get("name"), str)
        for tool in value
    )


def _tool_choice(value: Any) -> bool:
    return value in TOOL_CHOICES or (
        isinstance(value, Mapping)
        and isinstance(value.get("function"), Mapping)
        and isinstance(value["function"].get("name"), str)
    )


def _response_format(value: Any) -> bool:
    if not isinstance(value, Mapping) or value.get("type") not in RESPONSE_FORMATS:
        return False
    schema = value.get("json_schema")
    return value["type"] != "json_schema" or (
        isinstance(schema, Mapping) and isinstance(schema.get("name"), str)
    )


def _stream_options(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        key == "include_usage" and isinstance(flag, bool) for key, flag in value.items()
    )


def _string_mapping(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    )


_CHECKS: Dict[str, tuple[Callable[[Any], bool], str]] = {
    "temperature": (_number, "a number"),
    "top_p": (_number, "a number"),
    "n": (lambda v: is_count(v, 1), "a positive integer"),
    "seed": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "stop": (_string_list, "a string or a non-empty list of strings"),
    "max_tokens": (lambda v: is_count(v, 1), "a positive integer"),
    "max_completion_tokens": (lambda v: is_count(v, 1), "a positive integer"),
    "presence_penalty": (_number, "a number"),
    "frequency_penalty": (_number, "a number"),
    "logit_bias": (_logit_bias, "a mapping of token ids to numbers"),
    "logprobs": (lambda v: isinstance(v, bool), "True or False"),
    "top_logprobs": (lambda v: is_count(v), "a non-negative integer"),
    "user": (lambda v: isinstance(v, str), "a string"),
    "tools": (_tools, "a list of {'type': 'function', 'function': {'name': ...}} objects"),
    "tool_choice": (_tool_choice, "'none', 'auto', 'required' or {'function': {'name': ...}}"),
    "parallel_tool_calls": (lambda v: isinstance(v, bool), "True or False"),
    "response_format": (
        _response_format,
        "{'type': 'text' | 'json_object'} or {'type': 'json_schema', 'json_schema':"
        " {'name': ..., 'schema': ...}}",
    ),
    "reasoning_effort": (lambda v: isinstance(v, str), "a string such as 'low'"),
    "stream_options": (_stream_options, "{'include_usage': True or False}"),
    "extra_body": (lambda v: isinstance(v, Mapping), "a mapping"),
    "extra_headers": (_string_mapping, "a mapping of strings to strings"),
    "extra_query": (_string_mapping, "a mapping of strings to strings"),
    "base_url": (lambda v: isinstance(v, str) and "://" in v, "an http(s) URL"),
    "api_key": (lambda v: isinstance(v, str) and bool(v), "a non-empty string"),
}

REQUEST_OPTIONS = frozenset(_CHECKS) - CONNECTION_OPTIONS
"""openai-python's ``create()`` arguments a request carries, sent as given."""


def check_request_options(owner: str, options: Mapping[str, Any]) -> None:
    """Raise :class:`~g4f_sync.errors.InvalidRequestError` naming the first option whose
    value has the wrong type or shape (None means "not given" and passes)."""
    for name, value in options.items():
        if value is None or name not in _CHECKS:
            continue
        check, expected = _CHECKS[name]
        if not check(value):
            shown = type(value).__name__ if name == "api_key" else _short(value)  # a secret
            raise errors.InvalidRequestError(f"{owner}: {name} must be {expected}, got {shown}")
    if options.get("top_logprobs") is not None and not options.get("logprobs"):
        raise errors.InvalidRequestError(f"{owner}: top_logprobs needs logprobs=True")


def check_message_shapes(messages: Any) -> None:
    """Raise :class:`~g4f_sync.errors.InvalidMessagesError` naming the first message
    that is not an OpenAI chat message: a role among ``system``, ``developer``,
    ``user``, ``assistant``, ``tool``; content a string or a list of parts (``text``,
    ``image_url``, ...); an assistant message may have ``tool_calls`` instead of content,
    a ``tool`` message needs ``tool_call_id``."""
    if not isinstance(messages, list) or not messages:
        raise errors.InvalidMessagesError(
            "messages must be a non-empty list of {'role', 'content'} dicts,"
            f" got {_short(messages)}"
        )
    for index, message in enumerate(messages):
        _check_message(f"messages[{index}]", message)


def _check_message(where: str, message: Any) -> None:
    if not isinstance(message, Mapping):
        raise errors.InvalidMessagesError(f"{where} must be a dict, got {type(message).__name__}")
    role = message.get("role")
    if role not in ROLES:
        raise errors.InvalidMessagesError(
            f"{where}: role {role!r} is not one of {', '.join(ROLES)}"
        )
    content = message.get("content")
    calls = message.get("tool_calls")
    if role == "assistant" and calls is not None:
        _check_tool_calls(where, calls)
        if content is None:
            return
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise errors.InvalidMessagesError(f"{where}: a tool message needs a 'tool_call_id' string")
    if isinstance(content, str):
        return
    if not isinstance(content, list) or not content:
        raise errors.InvalidMessagesError(
            f"{where}: content must be a string or a non-empty list of parts, got {_short(content)}"
        )
    for number, part in enumerate(content):
        _check_part(f"{where}.content[{number}]", part)


def _check_part(where: str, part: Any) -> None:
    kind = part.get("type") if isinstance(part, Mapping) else None
    if kind not in CONTENT_PART_TYPES:
        raise errors.InvalidMessagesError(
            f"{where}: a part must be a dict whose type is one of"
            f" {', '.join(CONTENT_PART_TYPES)}, got {_short(part)}"
        )
    if kind == "text" and not isinstance(part.get("text"), str):
        raise errors.InvalidMessagesError(f"{where}: a text part needs a 'text' string")
    if kind == "image_url":
        image = part.get("image_url")
        if not isinstance(image, Mapping) or not isinstance(image.get("url"), str):
            raise errors.InvalidMessagesError(
                f"{where}: an image_url part needs {{'image_url': {{'url': ...}}}}"
            )


def _check_tool_calls(where: str, calls: Any) -> None:
    if not isinstance(calls, list) or not calls:
        raise errors.InvalidMessagesError(f"{where}: tool_calls must be a non-empty list")
    for number, call in enumerate(calls):
        function = call.get("function") if isinstance(call, Mapping) else None
        if (
            not isinstance(call, Mapping)
            or not isinstance(call.get("id"), str)
            or not isinstance(function, Mapping)
            or not isinstance(function.get("name"), str)
            or not isinstance(function.get("arguments"), str)
        ):
            raise errors.InvalidMessagesError(
                f"{where}.tool_calls[{number}] must be {{'id', 'type': 'function',"
                " 'function': {'name', 'arguments': a JSON string}}"
            )


def build_payload(
    model: str, messages: Any, stream: bool, options: Mapping[str, Any]
) -> Dict[str, Any]:
    """The JSON body: the model, the messages as given, ``stream``, every request option
    that is not None, and ``extra_body`` merged last (it wins). The options are checked
    already (:func:`check_request_options`, and by the provider)."""
    payload: Dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
    for name, value in options.items():
        if value is not None and name in REQUEST_OPTIONS and name != "extra_body":
            payload[name] = value
    extra: Optional[Mapping[str, Any]] = options.get("extra_body")
    if extra:
        payload.update(extra)
    return payload


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"
