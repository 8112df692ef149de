"""Chat-completion objects shaped like openai-python's: attribute access, ``model_dump()``,
``model_dump_json()``, a readable repr.

They are small ``__slots__`` classes, not pydantic models: a stream makes one chunk per
token, so a chunk must cost little. Field order follows openai-python's, so dumps compare
equal to its ``model_dump()``. Fields a server sends that these classes do not name
(``provider``, a dialect's extras) are dropped by the reader, not kept half-typed.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Dict, FrozenSet, Iterator, List, Optional, Tuple, Union

from .. import errors
from ..checks import is_count
from .dump import DUMP_KEYWORDS, JSON_KEYWORDS, IncEx, check_dump

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChunkChoice",
    "CompletionUsage",
    "Function",
    "Model",
    "ModelList",
]


_COMPLETION_FIELDS = (
    "id",
    "choices",
    "created",
    "model",
    "object",
    "system_fingerprint",
    "usage",
    "provider",
)
"""The fields of a completion and of a chunk, in openai-python's order (``provider``, a
g4f extension, last)."""


class Stub:
    """Shared behaviour: ``_fields`` (in openai's order) drive dumps, repr and equality;
    ``_optional`` names the fields openai-python's type gives a default (None), which
    ``model_dump(exclude_defaults=True)`` leaves out when they hold it."""

    __slots__ = ()
    _fields: ClassVar[Tuple[str, ...]] = ()
    _optional: ClassVar[FrozenSet[str]] = frozenset()

    def to_dict(self) -> Dict[str, Any]:
        """Plain dicts, lists and scalars, shaped like openai's ``model_dump()``."""
        return {name: _dump(getattr(self, name)) for name in self._fields}

    def to_json(self, *, indent: Optional[int] = None) -> str:
        """``to_dict()`` as JSON (non-ASCII characters kept as they are)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def model_dump(
        self,
        *,
        mode: str = "python",
        include: Optional[IncEx] = None,
        exclude: Optional[IncEx] = None,
        by_alias: Optional[bool] = None,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        round_trip: bool = False,
        warnings: Union[bool, str] = True,
        **unknown: Any,
    ) -> Dict[str, Any]:
        """:meth:`to_dict` with pydantic's keywords, e.g.
        ``model_dump(exclude_none=True, include={"choices": {0: {"message"}}})``.
        ``include``/``exclude`` are sets or nested dicts (``"__all__"`` for every item of
        a list); ``exclude_unset`` leaves out what ``exclude_defaults`` does (optional
        fields left at None). The rest (:mod:`g4f_sync.chat.dump`) change nothing here;
        another keyword raises :class:`~g4f_sync.errors.InvalidRequestError`."""
        options = {
            "mode": mode,
            "include": include,
            "exclude": exclude,
            "by_alias": by_alias,
            "exclude_unset": exclude_unset,
            "exclude_defaults": exclude_defaults,
            "exclude_none": exclude_none,
            "round_trip": round_trip,
            "warnings": warnings,
            **unknown,
        }
        dump = check_dump("model_dump", type(self).__name__, options, DUMP_KEYWORDS)
        return self.to_dict() if dump.is_plain else dump.of(self)

    def model_dump_json(
        self,
        *,
        indent: Optional[int] = None,
        ensure_ascii: bool = False,
        include: Optional[IncEx] = None,
        exclude: Optional[IncEx] = None,
        by_alias: Optional[bool] = None,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        round_trip: bool = False,
        warnings: Union[bool, str] = True,
        **unknown: Any,
    ) -> str:
        """:meth:`model_dump` as JSON, written as pydantic writes it: compact, or with
        ``indent`` spaces per level; non-ASCII characters kept unless ``ensure_ascii``."""
        options = {
            "include": include,
            "exclude": exclude,
            "by_alias": by_alias,
            "exclude_unset": exclude_unset,
            "exclude_defaults": exclude_defaults,
            "exclude_none": exclude_none,
            "round_trip": round_trip,
            "warnings": warnings,
            **unknown,
        }
        where = f"{type(self).__name__}.model_dump_json()"
        dump = check_dump("model_dump_json", type(self).__name__, options, JSON_KEYWORDS)
        if indent is not None and not is_count(indent, 0):
            raise errors.InvalidRequestError(
                f"{where}: indent must be None or a number of spaces, got {indent!r}"
            )
        if not isinstance(ensure_ascii, bool):
            raise errors.InvalidRequestError(
                f"{where}: ensure_ascii must be True or False, got {ensure_ascii!r}"
            )
        data = self.to_dict() if dump.is_plain else dump.of(self)
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(data, ensure_ascii=ensure_ascii, indent=indent, separators=separators)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, like pydantic models


def _dump(value: Any) -> Any:
    if isinstance(value, Stub):
        return value.to_dict()
    if isinstance(value, list):
        return [_dump(item) for item in value]
    return value


class CompletionUsage(Stub):
    """Token counts: the server's when it reports them; for providers that do not, an
    estimate (prompt: whitespace-separated words of the messages; completion: the
    provider's stream items). ``prompt_tokens_details`` and
    ``completion_tokens_details`` are the server's dicts, when sent."""

    __slots__ = (
        "completion_tokens",
        "completion_tokens_details",
        "prompt_tokens",
        "prompt_tokens_details",
        "total_tokens",
    )
    _fields = (
        "completion_tokens",
        "prompt_tokens",
        "total_tokens",
        "completion_tokens_details",
        "prompt_tokens_details",
    )
    _optional = frozenset({"completion_tokens_details", "prompt_tokens_details"})

    def __init__(
        self,
        prompt_tokens: int,
        completion_tokens: int,
        total_tokens: Optional[int] = None,
        *,
        prompt_tokens_details: Optional[Dict[str, Any]] = None,
        completion_tokens_details: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.total_tokens = (
            prompt_tokens + completion_tokens if total_tokens is None else total_tokens
        )
        self.prompt_tokens_details = prompt_tokens_details
        self.completion_tokens_details = completion_tokens_details


class Function(Stub):
    """The function a tool call calls: its ``name`` and ``arguments`` (JSON text, as the
    model wrote it; parse it yourself)."""

    __slots__ = ("arguments", "name")
    _fields = ("arguments", "name")

    def __init__(self, name: str, arguments: str) -> None:
        self.name = name
        self.arguments = arguments


class ChatCompletionMessageToolCall(Stub):
    """One complete tool call of an answer."""

    __slots__ = ("function", "id")
    _fields = ("id", "function", "type")
    type: ClassVar[str] = "function"

    def __init__(self, id: str, function: Function) -> None:
        self.id = id
        self.function = function


class _MessageFields(Stub):
    """What a message and a delta both carry: text, the speaker's role, tool calls,
    reasoning and a refusal."""

    __slots__ = ("content", "reasoning_content", "refusal", "role", "tool_calls")
    _fields = ("content", "refusal", "role", "tool_calls", "reasoning_content")
    _optional = frozenset({"content", "refusal", "tool_calls", "reasoning_content"})

    def __init__(
        self,
        content: Optional[str] = None,
        role: Optional[str] = None,
        *,
        tool_calls: Optional[List[Any]] = None,
        reasoning_content: Optional[str] = None,
        refusal: Optional[str] = None,
    ) -> None:
        self.content = content
        self.refusal = refusal
        self.role = role
        self.tool_calls = tool_calls
        self.reasoning_content = reasoning_content


class ChatCompletionMessage(_MessageFields):
    """``choices[i].message``: the answer's ``content`` (None when it only calls tools),
    its ``tool_calls`` (:class:`ChatCompletionMessageToolCall`), and the model's
    ``reasoning_content`` when the server sends one."""

    __slots__ = ()

    def __init__(self, content: Optional[str], role: str = "assistant", **details: Any) -> None:
        super().__init__(content, role, **details)


class Choice(Stub):
    """One choice of a :class:`ChatCompletion`."""

    __slots__ = ("finish_reason", "index", "logprobs", "message")
    _fields = ("finish_reason", "index", "logprobs", "message")
    _optional = frozenset({"logprobs"})

    def __init__(
        self,
        message: ChatCompletionMessage,
        finish_reason: Optional[str],
        index: int = 0,
        logprobs: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.finish_reason = finish_reason
        """``"stop"``, ``"length"`` (``max_tokens`` reached), ``"tool_calls"``,
        ``"content_filter"``: the server's word, or the client's for text providers."""
        self.index = index
        self.logprobs = logprobs
        self.message = message


class _Completion(Stub):
    """What an answer and a chunk both carry."""

    __slots__ = ("choices", "created", "id", "model", "provider", "system_fingerprint", "usage")
    _fields = _COMPLETION_FIELDS
    _optional = frozenset({"system_fingerprint", "usage", "provider"})

    def __init__(
        self,
        id: str,
        created: int,
        model: str,
        provider: str,
        choices: List[Any],
        usage: Optional[CompletionUsage] = None,
        system_fingerprint: Optional[str] = None,
    ) -> None:
        self.id = id
        self.choices = choices
        self.created = created
        self.model = model
        self.system_fingerprint = system_fingerprint
        self.usage = usage
        self.provider = provider


class ChatCompletion(_Completion):
    """The answer of a non-streaming ``create()`` (``choices``: :class:`Choice`);
    ``provider`` names the provider that answered (a g4f extension)."""

    __slots__ = ()
    object: ClassVar[str] = "chat.completion"


class ChoiceDeltaToolCallFunction(Stub):
    """A piece of a streamed tool call's function: the ``name`` (first piece) and/or a
    piece of its ``arguments``."""

    __slots__ = ("arguments", "name")
    _fields = ("arguments", "name")
    _optional = frozenset(_fields)

    def __init__(self, name: Optional[str] = None, arguments: Optional[str] = None) -> None:
        self.arguments = arguments
        self.name = name


class ChoiceDeltaToolCall(Stub):
    """A piece of a streamed tool call; pieces with the same ``index`` make one call."""

    __slots__ = ("function", "id", "index", "type")
    _fields = ("index", "id", "function", "type")
    _optional = frozenset({"id", "function", "type"})

    def __init__(
        self,
        index: int,
        id: Optional[str] = None,
        function: Optional[ChoiceDeltaToolCallFunction] = None,
        type: Optional[str] = None,
    ) -> None:
        self.index = index
        self.id = id
        self.function = function
        self.type = type


class ChoiceDelta(_MessageFields):
    """What a chunk adds to a choice: ``content`` text (None when there is none, as in the
    last chunk), ``role`` (on a choice's first delta only), ``tool_calls`` pieces
    (:class:`ChoiceDeltaToolCall`), and ``reasoning_content``."""

    __slots__ = ()
    _optional = frozenset(_MessageFields._fields)


class ChunkChoice(Stub):
    """One choice of a :class:`ChatCompletionChunk`; ``finish_reason`` is set in the
    choice's last chunk only."""

    __slots__ = ("delta", "finish_reason", "index", "logprobs")
    _fields = ("delta", "finish_reason", "index", "logprobs")
    _optional = frozenset({"finish_reason", "logprobs"})

    def __init__(
        self,
        delta: ChoiceDelta,
        finish_reason: Optional[str] = None,
        index: int = 0,
        logprobs: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.delta = delta
        self.finish_reason = finish_reason
        self.index = index
        self.logprobs = logprobs


class ChatCompletionChunk(_Completion):
    """One item of a streaming ``create()`` (``choices``: :class:`ChunkChoice`). Every
    chunk of a completion shares ``id``, ``created``, ``model`` and ``provider``;
    ``usage`` is None except in the usage chunk (whose ``choices`` may be empty)."""

    __slots__ = ()
    object: ClassVar[str] = "chat.completion.chunk"


class Model(Stub):
    """One model a server serves (``GET /v1/models``)."""

    __slots__ = ("created", "id", "owned_by")
    _fields = ("id", "created", "object", "owned_by")
    object: ClassVar[str] = "model"

    def __init__(self, id: str, created: int = 0, owned_by: str = "") -> None:
        self.id = id
        self.created = created
        self.owned_by = owned_by


class ModelList(Stub):
    """``client.models.list()``: the server's models in ``data``; iterating yields them."""

    __slots__ = ("data",)
    _fields = ("data", "object")
    object: ClassVar[str] = "list"

    def __init__(self, data: List[Model]) -> None:
        self.data = data

    def __iter__(self) -> Iterator[Model]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)
