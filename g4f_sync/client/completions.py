"""``client.chat.completions.create``: the request goes to an OpenAI-compatible
provider as given (the server applies every option and sends chunks), or to a text
provider whose tokens become chat objects (:mod:`g4f_sync.client.text`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterator, Mapping, Optional, Union

from .. import errors
from ..chat.assemble import build_completion
from ..chat.types import ChatCompletion, ChatCompletionChunk
from ..checks import is_count
from ..Provider.base import (
    ProviderModelMixin,
    check_options,
    stream_failure,
    stream_repr,
    stream_state,
)
from ..Provider.registry import ProviderLike, accepted_options, provider_name, resolve_provider
from ..Provider.retry import RetryProvider
from ..typing import Messages
from .text import Stop, TextState, check_stop, close_stream, text_chunks, text_completion

if TYPE_CHECKING:
    from . import Client

__all__ = ["CREATE_OPTIONS", "ChatCompletionStream", "Completions"]

CREATE_OPTIONS = frozenset({"provider", "stream", "stop", "max_tokens", "ignore_working", "n"})
"""The keyword arguments ``create()`` takes whatever the provider (``n``: 1 for a text
provider); the others go to the provider."""


class Completions:
    """``client.chat.completions``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        messages: Messages,
        model: Optional[str] = None,
        *,
        provider: Optional[ProviderLike] = None,
        stream: bool = False,
        stop: Stop = None,
        max_tokens: Optional[int] = None,
        ignore_working: bool = False,
        **options: Any,
    ) -> Union[ChatCompletion, ChatCompletionStream]:
        """Ask for a chat completion: ``create(messages, model, ...)`` in gpt4free's
        order, or by keyword as openai-python (``create(model=..., messages=...)``).

        ``model``: empty or None means the provider's default. ``provider`` (a class, a
        name, or a :class:`~g4f_sync.Provider.retry.RetryProvider`) overrides the
        client's; with neither, the first working provider that supports ``model``,
        registered ones (:func:`g4f_sync.register`) first.

        An OpenAI-compatible provider gets every option as given (``temperature``,
        ``tools``, ``n``, ``response_format``, ``stop``, ``max_tokens``, ...) and the
        answer is the server's: tool calls, usage, reasoning, logprobs, ``finish_reason``.
        A text provider (Koala, ChatGptt) takes ``stop`` (the answer ends before the
        stop sequence completed first) and ``max_tokens`` (provider tokens), applied
        here; an option it cannot honour (``tools``, ``n`` > 1, ...) raises
        :class:`~g4f_sync.errors.InvalidRequestError` naming it and the provider.
        ``proxy``, ``timeout``, ``max_retries``, ``session`` win over the client's.

        Returns a :class:`~g4f_sync.chat.types.ChatCompletion`, or with ``stream=True``
        a :class:`ChatCompletionStream` of
        :class:`~g4f_sync.chat.types.ChatCompletionChunk`. Everything is checked before
        any I/O; a streaming request is sent on the first ``next()``. Errors are
        :mod:`g4f_sync.errors` (``.partial`` holds the text received).
        """
        if not isinstance(stream, bool):
            raise errors.InvalidRequestError(f"stream must be True or False, got {stream!r}")
        client = self._client
        chosen = resolve_provider(
            model,
            provider if provider is not None else client.provider,
            ignore_working=ignore_working,
        )
        options = _with_defaults(client.request_options(chosen), options)
        accepted = accepted_options(chosen)
        if accepted is not None:
            check_options(provider_name(chosen), options, accepted | CREATE_OPTIONS)
        if callable(getattr(chosen, "create_chunks", None)):
            return _server_answer(chosen, messages, model, stream, stop, max_tokens, options)
        if isinstance(chosen, RetryProvider):
            options["ignore_working"] = ignore_working
        return _text_answer(chosen, messages, model, stream, stop, max_tokens, options)


def _with_defaults(defaults: Dict[str, Any], options: Dict[str, Any]) -> Dict[str, Any]:
    """The client's settings with the call's options over them; the call's
    ``extra_headers`` add to the client's ``default_headers`` (a header named in both:
    the call's), as openai-python merges them."""
    merged = {**defaults, **options}
    headers = options.get("extra_headers")
    if defaults.get("extra_headers") and isinstance(headers, Mapping):
        merged["extra_headers"] = {**defaults["extra_headers"], **headers}
    return merged


def _server_answer(
    provider: Any,
    messages: Messages,
    model: Optional[str],
    stream: bool,
    stop: Stop,
    max_tokens: Optional[int],
    options: Dict[str, Any],
) -> Union[ChatCompletion, ChatCompletionStream]:
    """An OpenAI-compatible provider's answer: its chunks, or the answer they make."""
    if stop is not None:
        options["stop"] = stop
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    chunks = provider.create_chunks(model, messages, stream, **options)
    if stream:
        return ChatCompletionStream(chunks, chunks, provider, model)
    try:
        return build_completion(chunks)
    finally:
        chunks.close()


def _text_answer(
    provider: Any,
    messages: Messages,
    model: Optional[str],
    stream: bool,
    stop: Stop,
    max_tokens: Optional[int],
    options: Dict[str, Any],
) -> Union[ChatCompletion, ChatCompletionStream]:
    """A text provider's tokens as chat objects, ``stop`` and ``max_tokens`` applied."""
    stops = check_stop(stop)
    if max_tokens is not None and not is_count(max_tokens, 1):
        raise errors.InvalidRequestError(
            f"max_tokens must be a positive integer, got {max_tokens!r}"
        )
    n = options.pop("n", None)
    if n not in (None, 1):
        raise errors.InvalidRequestError(
            f"{provider_name(provider)} answers with one choice: n must be 1, got {n!r}"
        )
    tokens = provider.create_completion(
        model, messages, getattr(provider, "supports_stream", True), **options
    )
    state = TextState(provider, model)
    if stream:
        chunks = text_chunks(tokens, state, stops, max_tokens)
        return ChatCompletionStream(chunks, tokens, provider, model)
    return text_completion(tokens, messages, state, stops, max_tokens)


class ChatCompletionStream(Iterator[ChatCompletionChunk]):
    """The chunks of a streaming ``create()``; a choice's last chunk carries
    ``finish_reason``.

    ``close()``, leaving a ``with`` block, or dropping the stream closes the connection.
    ``interrupt()`` may be called from another thread to stop the call in whatever
    phase it is (see :class:`~g4f_sync.Provider.base.TokenStream`). Its repr tells the
    provider (the one answering, for a ``RetryProvider``), the model, the state and the
    chunks read: ``<ChatCompletionStream Koala model='gpt-4o-mini' open, 3 chunks read>``.
    """

    __slots__ = ("_chunks", "_end", "_model", "_next", "_provider", "_read", "_tokens")

    def __init__(
        self,
        chunks: Iterator[ChatCompletionChunk],
        tokens: Any,
        provider: Any = None,
        model: Optional[str] = None,
    ) -> None:
        self._chunks = chunks
        self._next = chunks.__next__
        self._tokens = tokens
        self._provider = provider
        self._model = model
        self._read = 0
        self._end: Optional[str] = None

    def __iter__(self) -> ChatCompletionStream:
        return self

    def __next__(self) -> ChatCompletionChunk:
        try:
            chunk = self._next()
        except StopIteration:
            self._end = self._end or "ended"
            raise
        except Exception as exc:
            self._end = stream_failure(exc)
            raise
        self._read += 1
        return chunk

    def close(self) -> None:
        """Stop the stream and close its connection."""
        self._end = self._end or "closed"
        close_stream(self._chunks)
        close_stream(self._tokens)

    def interrupt(self) -> bool:
        """Thread-safe: stop the call from another thread; iterating then raises
        :class:`~g4f_sync.errors.CancelledError`. Returns whether a socket was reached."""
        interrupt = getattr(self._tokens, "interrupt", None)
        return bool(interrupt()) if interrupt is not None else False

    def __enter__(self) -> ChatCompletionStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = stream_state(self._end, self._chunks)
        answerer = getattr(self._tokens, "provider", None) or self._provider
        name = provider_name(answerer) if answerer is not None else ""
        model = self._model
        if not model and isinstance(answerer, type) and issubclass(answerer, ProviderModelMixin):
            model = answerer.default_model
        read = None if state == "not started" else self._read
        return stream_repr(type(self).__name__, name, model, state, read, "chunks")
