"""``client.chat.completions.create``: provider tokens -> openai-shaped objects, with
``stop`` and ``max_tokens`` applied on the way.

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
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Sequence, Union

from .. import errors
from ..Provider.base import ProviderModelMixin, check_options
from ..Provider.registry import ProviderLike, accepted_options, provider_name, resolve_provider
from ..Provider.retry import RetryProvider
from ..typing import Messages
from .stubs import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    CompletionUsage,
)

if TYPE_CHECKING:
    from . import Client

__all__ = ["ChatCompletionStream", "Completions", "estimate_prompt_tokens"]

Stop = Union[str, Sequence[str], None]
CREATE_OPTIONS = frozenset({"provider", "stream", "stop", "max_tokens", "ignore_working"})
"""The keyword arguments ``create()`` takes itself; the others go to the provider."""


class Completions:
    """``client.chat.completions``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        model: Optional[str],
        messages: Messages,
        *,
        provider: Optional[ProviderLike] = None,
        stream: bool = False,
        stop: Stop = None,
        max_tokens: Optional[int] = None,
        ignore_working: bool = False,
        **kwargs: Any,
    ) -> Union[ChatCompletion, ChatCompletionStream]:
        """Ask for a chat completion, openai-style.

        ``model``: empty or None means the provider's default. ``provider`` (a class, a
        name, or a :class:`~g4f_sync.Provider.retry.RetryProvider`) overrides the
        client's; with neither, the first working provider that supports ``model``.
        ``stop``: a string or a list; the answer ends just before the stop sequence
        completed first (see the module docstring), ``finish_reason="stop"``, and the
        connection is closed. ``max_tokens``: at most this many provider tokens (stream
        chunks), then ``finish_reason="length"``.
        Other keyword arguments (``proxy``, ``timeout``, ``max_retries``, ``session``,
        and provider options) go to the provider and win over the client's.

        Returns a :class:`~g4f_sync.client.stubs.ChatCompletion`, or with ``stream=True``
        a :class:`ChatCompletionStream` of
        :class:`~g4f_sync.client.stubs.ChatCompletionChunk`. Arguments are checked before
        any I/O; a streaming request is sent on the first ``next()``. Raises
        :class:`~g4f_sync.errors.ProviderNotWorkingError` for a provider marked
        ``working = False`` (unless ``ignore_working=True``),
        :class:`~g4f_sync.errors.ProviderNotFoundError` when no provider fits, and the
        provider's errors, whose ``.partial`` holds the text received.
        """
        stops = _check_stop(stop)
        if max_tokens is not None and (
            not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
        ):
            raise errors.InvalidRequestError(
                f"max_tokens must be a positive integer, got {max_tokens!r}"
            )
        client = self._client
        chosen = resolve_provider(
            model,
            provider if provider is not None else client.provider,
            ignore_working=ignore_working,
        )
        accepted = accepted_options(chosen)
        if accepted is not None:
            check_options(provider_name(chosen), kwargs, accepted | CREATE_OPTIONS)
        options = client.request_options()
        options.update(kwargs)
        if isinstance(chosen, RetryProvider):
            options["ignore_working"] = ignore_working
        tokens = chosen.create_completion(
            model, messages, getattr(chosen, "supports_stream", True), **options
        )
        state = _State(chosen, model)
        limited = bool(stops or max_tokens)
        if stream:
            pieces = _cut(tokens, stops, max_tokens, state) if limited else tokens
            return ChatCompletionStream(_chunks(pieces, tokens, state), tokens)
        try:
            if limited:
                text = "".join(_cut(tokens, stops, max_tokens, state))
            else:
                received = list(tokens)
                state.count = len(received)
                text = "".join(received)
        finally:
            _close(tokens)
        return ChatCompletion(
            state.id,
            state.created,
            state.model_of(tokens),
            state.provider_of(tokens),
            [Choice(ChatCompletionMessage(text), state.finish_reason)],
            CompletionUsage(estimate_prompt_tokens(messages), state.count),
        )


def estimate_prompt_tokens(messages: Messages) -> int:
    """Whitespace-separated words in the messages' contents (an estimate)."""
    return sum(len(message["content"].split()) for message in messages)


class _State:
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


def _close(tokens: Any) -> None:
    close = getattr(tokens, "close", None)
    if close is not None:
        close()


def _check_stop(stop: Stop) -> List[str]:
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


def _first_possible_cut(text: str, stops: Sequence[str], longest: int) -> int:
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


def _cut(
    tokens: Iterator[str], stops: List[str], max_tokens: Optional[int], state: _State
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
                _close(tokens)
                if start:
                    yield text[:start]
                return
            final = _first_possible_cut(text, stops, longest)
            text, held = text[:final], text[final:]
        if text:
            yield text
        if count == max_tokens:
            state.count = count
            state.finish_reason = "length"
            _close(tokens)
            if held:
                yield held
            return
    state.count = count
    if held:
        yield held


def _chunks(pieces: Iterator[str], tokens: Any, state: _State) -> Iterator[ChatCompletionChunk]:
    """One chunk per piece of text, then a last chunk with ``finish_reason`` and no
    content. ``tokens`` is closed at the end, and when the consumer stops early."""
    try:
        pieces = iter(pieces)
        first = next(pieces, None)  # only now is the answering provider known (RetryProvider)
        cid, created = state.id, state.created
        model, name = state.model_of(tokens), state.provider_of(tokens)
        if first is not None:
            yield ChatCompletionChunk(cid, created, model, name, [ChunkChoice(ChoiceDelta(first))])
        for piece in pieces:
            yield ChatCompletionChunk(cid, created, model, name, [ChunkChoice(ChoiceDelta(piece))])
        last = ChunkChoice(ChoiceDelta(None), state.finish_reason)
        yield ChatCompletionChunk(cid, created, model, name, [last])
    finally:
        _close(tokens)


class ChatCompletionStream(Iterator[ChatCompletionChunk]):
    """The chunks of a streaming ``create()``; the last one carries ``finish_reason`` and
    ``delta.content is None``.

    ``close()``, leaving a ``with`` block, or dropping the stream closes the connection.
    ``interrupt()`` may be called from another thread to stop the call in whatever
    phase it is (see :class:`~g4f_sync.Provider.base.TokenStream`).
    """

    __slots__ = ("_chunks", "_next", "_tokens")

    def __init__(self, chunks: Iterator[ChatCompletionChunk], tokens: Any) -> None:
        self._chunks = chunks
        self._next = chunks.__next__
        self._tokens = tokens

    def __iter__(self) -> ChatCompletionStream:
        return self

    def __next__(self) -> ChatCompletionChunk:
        return self._next()

    def close(self) -> None:
        """Stop the stream and close its connection."""
        self._chunks.close()  # type: ignore[attr-defined]
        _close(self._tokens)

    def interrupt(self) -> bool:
        """Thread-safe: stop the call from another thread; iterating then raises
        :class:`~g4f_sync.errors.CancelledError`. Returns whether a socket was reached."""
        interrupt = getattr(self._tokens, "interrupt", None)
        return bool(interrupt()) if interrupt is not None else False

    def __enter__(self) -> ChatCompletionStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
