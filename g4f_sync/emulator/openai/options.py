"""The OpenAI service's options: :class:`OpenAIOptions`, :class:`ToolCall` and their parsing.

Each field is described in docs/openai-emulator.md; a query parameter or a command-line
option of the same name sets it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Mapping, Optional, Sequence, Union, get_args

from ..options import ServiceOptions, option
from ..query import optional, parse_bool, parse_tokens

__all__ = [
    "DEFAULT_MODELS",
    "ENCODE",
    "FAULTS",
    "REASONING_FIELDS",
    "USAGE_SHAPES",
    "OpenAIOptions",
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

DEFAULT_MODELS = ("emulated-gpt", "emulated-mini")

ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""Compact JSON, non-ASCII kept: every body and event the service sends, and a
:class:`ToolCall`'s mapping arguments."""


@dataclass(frozen=True)
class ToolCall:
    """A function call to answer with: its name and its ``arguments``, sent verbatim (a
    mapping is JSON-encoded compactly)."""

    name: str
    arguments: Union[str, Mapping[str, Any]] = "{}"

    def __post_init__(self) -> None:
        if isinstance(self.arguments, Mapping):
            object.__setattr__(self, "arguments", ENCODE(dict(self.arguments)))
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
    """What the OpenAI service answers and how it fails; docs/openai-emulator.md describes
    each field. Raises ``ValueError`` on a value out of range. Fields may be changed between
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
        self.check_counts(
            "count", "fault_count", "drop_after", may_be_none=("count", "fault_count")
        )
