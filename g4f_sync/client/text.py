"""The answers of text providers (Koala, ChatGptt: a stream of text tokens) as chat
objects, with ``stop`` and ``max_tokens`` applied on the client's side.

Units and estimates (no provider reports token counts):

- A *token* is one item of the provider's stream (one SSE event's text), as g4f counts
  them. ``max_tokens`` and ``usage.completion_tokens`` count those.
- ``usage.prompt_tokens`` is the number of whitespace-separated words in the messages'
  contents.

``stop`` ends the answer where a server generating it character by character would stop:
at the first position where some stop sequence is complete (the earliest *end* of an
occurrence). The answer is the text before that sequence; when several end at the same
position, before the longest of them, which starts first, so the answer holds no part of
a completed stop sequence. The result depends on the text only, never on how the provider
splits it into tokens: with ``stop=["\\n", "Hello\\nWorld"]``, ``"Hello\\nWorld"`` gives
``"Hello"`` as one token or as ``"Hello\\n", "World"``.

Streaming holds text back only while it could still be cut: from the first position where
the answer would end if the right text followed, i.e. where a stop sequence has begun
(the text from there on is a proper prefix of it) that could still be the first one
completed. Everything before that is final and released as soon as its token arrives.
This is at most the longest end of the text that begins a stop sequence (so fewer than
``len(longest stop)`` characters), and less when a shorter stop would be completed first:
with ``stop=["abc", "b"]`` a trailing ``"a"`` is released at once, because whatever
follows, ``"b"`` would end the answer after the ``"a"`` before ``"abc"`` could.
"""

from __future__ import annotations

import os
import time
from typing import Any, Iterator, List, Optional, Sequence, Union

from .. import errors
from ..chat.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    CompletionUsage,
)
from ..Provider.base import ProviderModelMixin
from ..Provider.registry import provider_name
from ..typing import Messages

__all__ = [
    "Stop",
    "TextState",
    "check_stop",
    "close_stream",
    "cut",
    "estimate_prompt_tokens",
    "text_chunks",
    "text_completion",
]

Stop = Union[str, Sequence[str], None]


def estimate_prompt_tokens(messages: Messages) -> int:
    """Whitespace-separated words in the messages' contents (an estimate)."""
    return sum(len(message["content"].split()) for message in messages)


class TextState:
    """What one completion learns as it runs, shared by its pieces."""

    __slots__ = ("count", "created", "finish_reason", "id", "model", "provider")

    def __init__(self, provider: Any, model: Optional[str]) -> None:
        self.id = "chatcmpl-" + os.urandom(12).hex()
        self.created = int(time.time())
        self.provider = provider
        self.model = model or ""
        self.finish_reason = "stop"
        self.count = 0

    def answerer(self, tokens: Any) -> Any:
        """The provider that answered: a RetryProvider's stream knows which one it was."""
        return getattr(tokens, "provider", None) or self.provider

    def provider_of(self, tokens: Any) -> str:
        return provider_name(self.answerer(tokens))

    def model_of(self, tokens: Any) -> str:
        """The model the answering provider used (its default for an empty model)."""
        answerer = self.answerer(tokens)
        if isinstance(answerer, type) and issubclass(answerer, ProviderModelMixin):
            try:
                return answerer.get_model(self.model)
            except errors.ModelNotSupportedError:
                pass
        return self.model


def close_stream(tokens: Any) -> None:
    close = getattr(tokens, "close", None)
    if close is not None:
        close()


def check_stop(stop: Stop) -> List[str]:
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, (list, tuple)) or not all(isinstance(s, str) and s for s in stops):
        raise errors.InvalidRequestError(
            f"stop must be a non-empty string or a list of them, got {stop!r}"
        )
    return list(stops)


def _stop_start(text: str, stops: Sequence[str]) -> int:
    """Where ``text`` is cut: the start of the stop sequence completed first (the earliest
    end; at the same end, the longest), or -1 if ``text`` completes none."""
    completed = [(at + len(stop), at) for stop in stops for at in (text.find(stop),) if at >= 0]
    return min(completed)[1] if completed else -1


def _first_possiblecut(text: str, stops: Sequence[str], longest: int) -> int:
    """The first position where ``text``, which completes no stop sequence, could still be
    cut by what follows; ``len(text)`` if nowhere. ``text[:result]`` is final.

    A cut at ``p < len(text)`` needs a stop sequence that ``text[p:]`` begins and whose
    completion ends the answer, so trying the rest of each begun stop finds every such
    ``p``. Only the last ``longest - 1`` characters can be part of one.
    """
    offset = max(len(text) - (longest - 1), 0)
    tail = text[offset:]
    cuts = [
        offset + _stop_start(tail + stop[begun:], stops)
        for stop in stops
        for begun in range(1, min(len(stop), len(tail) + 1))
        if tail.endswith(stop[:begun])
    ]
    return min([len(text), *cuts])


def cut(
    tokens: Iterator[str], stops: List[str], max_tokens: Optional[int], state: TextState
) -> Iterator[str]:
    """Yield the text of ``tokens`` up to the first completed stop sequence (see the module
    docstring) or ``max_tokens`` tokens; set ``state.finish_reason`` and ``state.count``;
    close ``tokens`` when cutting."""
    longest = max(map(len, stops), default=0)
    held = ""  # the text that could still be cut; what came before it is released
    count = 0
    for token in tokens:
        count += 1
        text = held + token  # a cut can only fall in here: nothing before ``held`` can
        held = ""
        if stops:
            start = _stop_start(text, stops)
            if start >= 0:
                state.count = count
                state.finish_reason = "stop"
                close_stream(tokens)
                if start:
                    yield text[:start]
                return
            final = _first_possiblecut(text, stops, longest)
            text, held = text[:final], text[final:]
        if text:
            yield text
        if count == max_tokens:
            state.count = count
            state.finish_reason = "length"
            close_stream(tokens)
            if held:
                yield held
            return
    state.count = count
    if held:
        yield held


def _chunks(pieces: Iterator[str], tokens: Any, state: TextState) -> Iterator[ChatCompletionChunk]:
    """One chunk per piece of text, then a last chunk with ``finish_reason`` and no
    content. ``tokens`` is closed at the end, and when the consumer stops early."""
    try:
        pieces = iter(pieces)
        first = next(pieces, None)  # only now is the answering provider known (RetryProvider)
        cid, created = state.id, state.created
        model, name = state.model_of(tokens), state.provider_of(tokens)
        role: Optional[str] = "assistant"  # on the first delta only, as servers send it
        if first is not None:
            yield ChatCompletionChunk(cid, created, model, name, [_choice(first, role)])
            role = None
            for piece in pieces:
                yield ChatCompletionChunk(cid, created, model, name, [_choice(piece)])
        last = ChunkChoice(ChoiceDelta(None, role), state.finish_reason)
        yield ChatCompletionChunk(cid, created, model, name, [last])
    finally:
        close_stream(tokens)


def _choice(text: str, role: Optional[str] = None) -> ChunkChoice:
    return ChunkChoice(ChoiceDelta(text, role))


def text_completion(
    tokens: Any, messages: Messages, state: TextState, stops: List[str], max_tokens: Optional[int]
) -> ChatCompletion:
    """The whole answer of a text provider's ``tokens`` (cut as ``stop`` and
    ``max_tokens`` say), closed once read, with a usage estimate."""
    try:
        if stops or max_tokens:
            text = "".join(cut(tokens, stops, max_tokens, state))
        else:
            received = list(tokens)
            state.count = len(received)
            text = "".join(received)
    finally:
        close_stream(tokens)
    return ChatCompletion(
        state.id,
        state.created,
        state.model_of(tokens),
        state.provider_of(tokens),
        [Choice(ChatCompletionMessage(text), state.finish_reason)],
        CompletionUsage(estimate_prompt_tokens(messages), state.count),
    )


def text_chunks(
    tokens: Any, state: TextState, stops: List[str], max_tokens: Optional[int]
) -> Iterator[ChatCompletionChunk]:
    """The chunks of a text provider's ``tokens``: one per piece of text (cut as ``stop``
    and ``max_tokens`` say), then the last with ``finish_reason``."""
    pieces = cut(tokens, stops, max_tokens, state) if stops or max_tokens else tokens
    return _chunks(pieces, tokens, state)
