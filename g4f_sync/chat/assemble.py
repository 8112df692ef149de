"""Rebuilding a :class:`~g4f_sync.chat.types.ChatCompletion` from the chunks of a stream,
as LiteLLM's ``stream_chunk_builder`` does: for a whole answer after streaming, for a
non-streaming call made of chunks, and for tests that compare both."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from ..errors import ResponseError
from .types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChunkChoice,
    CompletionUsage,
    Function,
)

__all__ = ["build_completion"]


class _ToolCall:
    """The pieces of one streamed tool call, by their ``index``."""

    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.arguments: List[str] = []


class _Choice:
    """What the chunks of one choice added up to so far."""

    __slots__ = ("content", "finish_reason", "logprobs", "reasoning", "refusal", "role", "tools")

    def __init__(self) -> None:
        self.role = "assistant"
        self.content: List[str] = []
        self.reasoning: List[str] = []
        self.refusal: List[str] = []
        self.tools: Dict[int, _ToolCall] = {}
        self.finish_reason: Optional[str] = None
        self.logprobs: Optional[Dict[str, Any]] = None

    def add(self, choice: ChunkChoice) -> None:
        delta = choice.delta
        if delta.role:
            self.role = delta.role
        for parts, piece in (
            (self.content, delta.content),
            (self.reasoning, delta.reasoning_content),
            (self.refusal, delta.refusal),
        ):
            if piece:
                parts.append(piece)
        for call in delta.tool_calls or ():
            pieces = self.tools.setdefault(call.index, _ToolCall())
            pieces.id = call.id or pieces.id
            if call.function is not None:
                pieces.name = call.function.name or pieces.name
                if call.function.arguments:
                    pieces.arguments.append(call.function.arguments)
        if choice.finish_reason is not None:
            self.finish_reason = choice.finish_reason
        if choice.logprobs:
            logprobs = self.logprobs if self.logprobs is not None else {}
            for key, entries in choice.logprobs.items():
                if isinstance(entries, list):  # "content", "refusal": entries, joined
                    if not isinstance(logprobs.get(key), list):
                        logprobs[key] = []
                    logprobs[key].extend(entries)
                elif logprobs.get(key) is None:  # "refusal": null, kept as sent
                    logprobs[key] = entries
            self.logprobs = logprobs

    def choice(self, index: int) -> Choice:
        calls = [
            ChatCompletionMessageToolCall(
                pieces.id, Function(pieces.name, "".join(pieces.arguments))
            )
            for _, pieces in sorted(self.tools.items())
        ]
        content: Optional[str] = "".join(self.content)
        if not content and calls:
            content = None  # an answer that only calls tools, as servers send it whole
        message = ChatCompletionMessage(
            content,
            self.role,
            tool_calls=calls or None,
            reasoning_content="".join(self.reasoning) or None,
            refusal="".join(self.refusal) or None,
        )
        return Choice(message, self.finish_reason, index, self.logprobs)


def build_completion(chunks: Iterable[ChatCompletionChunk]) -> ChatCompletion:
    """The answer the ``chunks`` of one completion make: per choice (by ``index``) the
    content, reasoning and refusal joined, tool calls joined by their ``index``, the last
    ``finish_reason``, logprobs concatenated (a field no chunk sent a list for, such as
    ``"refusal": null``, kept as sent); the last usage sent; ``id``, ``created``,
    ``model``, ``provider`` and ``system_fingerprint`` of the first chunk that has them.
    Raises :class:`~g4f_sync.errors.ResponseError` for no chunk at all."""
    choices: Dict[int, _Choice] = {}
    first: Optional[ChatCompletionChunk] = None
    fingerprint: Optional[str] = None
    usage: Optional[CompletionUsage] = None
    for chunk in chunks:
        first = first or chunk
        fingerprint = fingerprint or chunk.system_fingerprint
        usage = chunk.usage or usage
        for choice in chunk.choices:
            choices.setdefault(choice.index, _Choice()).add(choice)
    if first is None:
        raise ResponseError("the answer had no chunk at all")
    return ChatCompletion(
        first.id,
        first.created,
        first.model,
        first.provider,
        [choices[index].choice(index) for index in sorted(choices)],
        usage,
        fingerprint,
    )
