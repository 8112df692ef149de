"""Response objects shaped like openai-python's: attribute access, ``model_dump()``,
``model_dump_json()``, a readable repr.

They are small ``__slots__`` classes, not pydantic models: one stream makes a chunk per
token, so a chunk must cost little. Fields that never change (``object``, ``index``,
``role``) are class attributes; ``id`` and ``created`` are computed once per completion.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Dict, List, Optional, Tuple

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "Choice",
    "ChoiceDelta",
    "ChunkChoice",
    "CompletionUsage",
]


class _Stub:
    """Shared behaviour: ``_fields`` (in openai's order) drive dumps, repr and equality."""

    __slots__ = ()
    _fields: ClassVar[Tuple[str, ...]] = ()

    def to_dict(self) -> Dict[str, Any]:
        """Plain dicts, lists and scalars, shaped like openai's ``model_dump()``."""
        return {name: _dump(getattr(self, name)) for name in self._fields}

    def to_json(self, *, indent: Optional[int] = None) -> str:
        """``to_dict()`` as JSON (non-ASCII characters kept as they are)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def model_dump(self) -> Dict[str, Any]:
        """openai-python's name for :meth:`to_dict`."""
        return self.to_dict()

    def model_dump_json(self, *, indent: Optional[int] = None) -> str:
        """openai-python's name for :meth:`to_json`."""
        return self.to_json(indent=indent)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, like pydantic models


def _dump(value: Any) -> Any:
    if isinstance(value, _Stub):
        return value.to_dict()
    if isinstance(value, list):
        return [_dump(item) for item in value]
    return value


class CompletionUsage(_Stub):
    """Token counts, estimated (no provider reports them): ``prompt_tokens`` is the number
    of whitespace-separated words in the messages' contents, ``completion_tokens`` the
    number of tokens (stream chunks) read from the provider."""

    __slots__ = ("completion_tokens", "prompt_tokens", "total_tokens")
    _fields = ("prompt_tokens", "completion_tokens", "total_tokens")

    def __init__(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.total_tokens = prompt_tokens + completion_tokens


class ChatCompletionMessage(_Stub):
    """``choices[0].message``: ``role`` and ``content``."""

    __slots__ = ("content", "role")
    _fields = ("role", "content")

    def __init__(self, content: str, role: str = "assistant") -> None:
        self.role = role
        self.content = content


class Choice(_Stub):
    """One choice of a :class:`ChatCompletion`."""

    __slots__ = ("finish_reason", "index", "message")
    _fields = ("index", "message", "finish_reason", "logprobs")
    logprobs: ClassVar[None] = None

    def __init__(self, message: ChatCompletionMessage, finish_reason: str, index: int = 0) -> None:
        self.index = index
        self.message = message
        self.finish_reason = finish_reason
        """``"stop"`` (the answer ended, or a stop sequence was met) or ``"length"``
        (``max_tokens`` was reached)."""


class ChatCompletion(_Stub):
    """The answer of a non-streaming ``create()``; ``provider`` names the provider that
    answered (a g4f extension)."""

    __slots__ = ("choices", "created", "id", "model", "provider", "usage")
    _fields = ("id", "object", "created", "model", "provider", "choices", "usage")
    object: ClassVar[str] = "chat.completion"

    def __init__(
        self,
        id: str,
        created: int,
        model: str,
        provider: str,
        choices: List[Choice],
        usage: CompletionUsage,
    ) -> None:
        self.id = id
        self.created = created
        self.model = model
        self.provider = provider
        self.choices = choices
        self.usage = usage


class ChoiceDelta(_Stub):
    """``choices[0].delta`` of a chunk: the new text, or None in the last chunk."""

    __slots__ = ("content",)
    _fields = ("role", "content")
    role: ClassVar[str] = "assistant"

    def __init__(self, content: Optional[str]) -> None:
        self.content = content


class ChunkChoice(_Stub):
    """One choice of a :class:`ChatCompletionChunk`; ``finish_reason`` is set in the last
    chunk only."""

    __slots__ = ("delta", "finish_reason")
    _fields = ("index", "delta", "finish_reason", "logprobs")
    index: ClassVar[int] = 0
    logprobs: ClassVar[None] = None

    def __init__(self, delta: ChoiceDelta, finish_reason: Optional[str] = None) -> None:
        self.delta = delta
        self.finish_reason = finish_reason


class ChatCompletionChunk(_Stub):
    """One item of a streaming ``create()``: ``choices[0].delta.content`` is the new text.
    Every chunk of a completion shares ``id``, ``created``, ``model`` and ``provider``."""

    __slots__ = ("choices", "created", "id", "model", "provider")
    _fields = ("id", "object", "created", "model", "provider", "choices")
    object: ClassVar[str] = "chat.completion.chunk"

    def __init__(
        self, id: str, created: int, model: str, provider: str, choices: List[ChunkChoice]
    ) -> None:
        self.id = id
        self.created = created
        self.model = model
        self.provider = provider
        self.choices = choices
