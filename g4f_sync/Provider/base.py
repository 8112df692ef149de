"""Provider base classes: the ``create_completion`` contract, models, input checks.

A provider subclasses :class:`GeneratorProvider` (and :class:`ProviderModelMixin` when it
has models) and implements only :meth:`GeneratorProvider.create_generator`: headers,
payload, and reading the answer. Validation, sessions, retries, closing and error
wrapping happen here and in :mod:`g4f_sync.http`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import (
    Any,
    Callable,
    ClassVar,
    Collection,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Optional,
    Tuple,
    TypeVar,
    Union,
)

import requests

from .. import errors
from ..chat.chunks import text_only
from ..chat.types import ChatCompletionChunk
from ..http import Retry, TimeoutLike, Transport
from ..typing import ROLES, Messages

__all__ = [
    "TRANSPORT_OPTIONS",
    "BaseProvider",
    "ChunkProvider",
    "GeneratorProvider",
    "ProviderModelMixin",
    "TokenStream",
    "check_options",
    "stream_failure",
    "stream_repr",
    "stream_state",
    "validate_messages",
]

Item = TypeVar("Item")

TRANSPORT_OPTIONS: FrozenSet[str] = frozenset({"proxy", "timeout", "max_retries", "session"})
"""The keyword arguments every provider's ``create_completion`` takes."""


class _ClassProperty:
    """A read-only property of the class (``Koala.params``)."""

    def __init__(self, getter: Any) -> None:
        self.getter = getter
        self.__doc__ = getter.__doc__

    def __get__(self, instance: Any, owner: type) -> Any:
        return self.getter(owner)


class BaseProvider:
    """What every provider declares about itself."""

    url: ClassVar[str] = ""
    """The site's page; ``Origin``/``Referer`` derive from it."""
    api_endpoint: ClassVar[str] = ""
    """Where the chat request goes. Override ``url`` and ``api_endpoint`` in a subclass to
    talk to another host (a mirror, a self-hosted clone, the emulator)."""
    working: ClassVar[bool] = False
    auto_select: ClassVar[bool] = True
    """Whether a call without a provider may choose this one (an OpenAI-compatible
    server's preset may not: it needs the server you run, named by you)."""
    supports_stream: ClassVar[bool] = True
    supports_system_message: ClassVar[bool] = False
    supports_message_history: ClassVar[bool] = False
    supported_options: ClassVar[FrozenSet[str]] = frozenset()
    """Keyword arguments ``create_completion`` takes beyond :data:`TRANSPORT_OPTIONS`;
    any other raises :class:`~g4f_sync.errors.InvalidRequestError` before any I/O."""

    @classmethod
    def accepted_options(cls) -> FrozenSet[str]:
        """Every keyword argument ``create_completion`` takes."""
        return TRANSPORT_OPTIONS | {"stream"} | cls.supported_options

    @_ClassProperty
    def params(cls) -> str:  # noqa: N805 - a class property
        """The arguments ``create_completion`` takes, as one readable string."""
        lines = [
            "model: str",
            "messages: Messages",
            "stream: bool = True",
            "proxy: str = None",
            "timeout: float | (connect, read) | Timeout = (10, 120)",
            "max_retries: int | Retry = 2",
            "session: requests.Session = None",
        ]
        body = ",\n    ".join(lines)
        return f"g4f_sync.Provider.{cls.__name__} supports: (\n    {body}\n)"


class ProviderModelMixin:
    """Models a provider serves, with aliases and a default."""

    default_model: ClassVar[str] = ""
    models: ClassVar[List[str]] = []
    model_aliases: ClassVar[Dict[str, str]] = {}

    @classmethod
    def get_models(cls) -> List[str]:
        """The model names the provider accepts (aliases not included)."""
        return list(cls.models) or [cls.default_model]

    @classmethod
    def get_model(cls, model: Optional[str]) -> str:
        """The provider's name for ``model``: the default for ``""``/None, an alias
        resolved, a name in any case (``"GPT-4o"`` -> ``"gpt-4o"``), or
        :class:`~g4f_sync.errors.ModelNotSupportedError` (also when the case fits
        several names and none exactly)."""
        if model is None or model == "":
            return cls.default_model
        if not isinstance(model, str):
            raise errors.ModelNotSupportedError(f"model must be a string, got {model!r}")
        if model in cls.model_aliases:
            return cls.model_aliases[model]
        supported = cls.get_models()
        if model in supported:
            return model
        wanted = model.casefold()
        matches = {
            cls.model_aliases.get(name, name)
            for name in [*supported, *cls.model_aliases]
            if name.casefold() == wanted
        }
        if len(matches) == 1:
            return matches.pop()
        if matches:
            raise errors.ModelNotSupportedError(
                f"{cls.__name__}: model {model!r} differs only in case from"
                f" {', '.join(sorted(matches))}: give one of them exactly"
            )
        names = ", ".join(supported + sorted(cls.model_aliases))
        raise errors.ModelNotSupportedError(
            f"{cls.__name__} does not support model {model!r}; it supports: {names}"
        )


def check_options(owner: str, given: Iterable[str], accepted: Collection[str]) -> None:
    """Raise :class:`~g4f_sync.errors.InvalidRequestError` for the first name of
    ``given`` not in ``accepted``, suggesting the closest accepted name (a typo) or
    listing them all."""
    for name in given:
        if name in accepted:
            continue
        close = difflib.get_close_matches(name, sorted(accepted), n=1, cutoff=0.75)
        names = ", ".join(sorted(accepted))
        hint = f"did you mean {close[0]!r}?" if close else f"it takes: {names}"
        raise errors.InvalidRequestError(f"{owner} does not take the option {name!r}; {hint}")


def validate_messages(messages: Any) -> None:
    """Raise :class:`~g4f_sync.errors.InvalidMessagesError` naming the first bad item."""
    if not isinstance(messages, list):
        raise errors.InvalidMessagesError(
            f"messages must be a list of {{'role', 'content'}} dicts, got {type(messages).__name__}"
        )
    if not messages:
        raise errors.InvalidMessagesError("messages is empty: give at least one message")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, Mapping):
            raise errors.InvalidMessagesError(
                f"{where} must be a dict with 'role' and 'content', got {type(message).__name__}"
            )
        for key in ("role", "content"):
            if key not in message:
                raise errors.InvalidMessagesError(f"{where} has no {key!r}")
        role = message["role"]
        if role not in ROLES:
            raise errors.InvalidMessagesError(
                f"{where}: role {role!r} is not one of {', '.join(ROLES)}"
            )
        content = message["content"]
        if not isinstance(content, str):
            raise errors.InvalidMessagesError(
                f"{where}: content must be a string, got {type(content).__name__}"
            )


class TokenStream(Iterator[str]):
    """The iterator of text tokens ``create_completion`` returns (of chunks, for
    ``create_chunks``).

    ``close()``, leaving a ``with`` block, or dropping the last reference closes the
    HTTP response. ``interrupt()`` may be called from another thread: whatever the call
    is doing (connecting, waiting for the answer, reading it, waiting to retry) returns
    at once, and the iteration raises :class:`~g4f_sync.errors.CancelledError` after the
    tokens that arrived (its ``.partial``).

    Its repr tells the provider, the model, the state (``not started``: the request is
    sent on the first ``next()``; ``open``, ``ended``, ``closed``, ``interrupted``,
    ``failed (ErrorName)``) and how many items were read, e.g.
    ``<TokenStream Koala model='gpt-3.5-turbo' open, 3 tokens read>``.
    """

    __slots__ = ("_end", "_model", "_provider", "_read", "_tokens", "_transport", "_unit")

    def __init__(
        self,
        tokens: Iterator[str],
        transport: Transport,
        provider: str = "",
        model: str = "",
        unit: str = "tokens",
    ) -> None:
        self._tokens = tokens
        self._transport = transport
        self._provider = provider
        self._model = model
        self._unit = unit
        self._read = 0
        self._end: Optional[str] = None

    def __iter__(self) -> TokenStream:
        return self

    def __next__(self) -> str:
        try:
            token = next(self._tokens)
        except StopIteration:
            self._end = self._end or "ended"
            raise
        except Exception as exc:
            self._end = stream_failure(exc)
            raise
        self._read += 1
        return token

    def close(self) -> None:
        """Stop the stream and close its connection."""
        self._end = self._end or "closed"
        close = getattr(self._tokens, "close", None)
        if close is not None:
            close()
        self._transport.close()

    def interrupt(self) -> bool:
        """Thread-safe: stop the call (see the class docstring); returns whether a
        socket was reached."""
        return self._transport.interrupt()

    def __enter__(self) -> TokenStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = stream_state(self._end, self._tokens)
        read = None if state == "not started" else self._read
        kind = type(self).__name__
        return stream_repr(kind, self._provider, self._model, state, read, self._unit)


def stream_failure(error: BaseException) -> str:
    """How a stream's repr tells the error that ended it."""
    if isinstance(error, errors.CancelledError):
        return "interrupted"
    return f"failed ({type(error).__name__})"


def stream_repr(
    kind: str, provider: str, model: Optional[str], state: str, read: Optional[int], unit: str
) -> str:
    """``<TokenStream Koala model='gpt-3.5-turbo' open, 3 tokens read>``: what a stream
    shows of itself, never a key (``read`` None: nothing to count yet)."""
    shown_model = repr(model) if model else "(default)"
    counted = "" if read is None else f", {read} {unit[:-1] if read == 1 else unit} read"
    return f"<{kind} {provider or '?'} model={shown_model} {state}{counted}>"


def stream_state(end: Optional[str], tokens: Any) -> str:
    """A stream's state: how it ended, else ``not started`` while ``tokens`` (a
    generator) has not run (the request is sent on the first ``next()``), else ``open``."""
    if end is not None:
        return end
    return "not started" if _not_started(tokens) else "open"


def _not_started(tokens: Any) -> bool:
    """True while a generator (or a TokenStream's) has not run: no request sent yet."""
    import inspect

    if isinstance(tokens, TokenStream):
        tokens = tokens._tokens
    return inspect.isgenerator(tokens) and inspect.getgeneratorstate(tokens) == "GEN_CREATED"


class GeneratorProvider(BaseProvider):
    """A provider whose answer is an iterator of text tokens."""

    @classmethod
    def create_completion(
        cls,
        model: Optional[str],
        messages: Messages,
        stream: bool = True,
        *,
        proxy: Optional[str] = None,
        timeout: TimeoutLike = None,
        max_retries: Union[Retry, int, None] = None,
        session: Optional[requests.Session] = None,
        **kwargs: Any,
    ) -> TokenStream:
        """Send ``messages`` and return an iterator of text tokens.

        Arguments are checked before any I/O; the request is sent on the first
        ``next()``. ``stream=False`` yields the whole answer as one string. Errors are
        :class:`~g4f_sync.errors.G4FError`; tokens that arrived are yielded first, and
        the error's ``.partial`` holds their text.
        """
        model, transport = cls.start_call(
            model, messages, stream, kwargs, proxy, timeout, max_retries, session
        )
        tokens = cls.create_generator(model, messages, transport, stream=stream, **kwargs)
        delivered = _deliver(tokens, transport, not stream, cls.__name__, str)
        return TokenStream(delivered, transport, cls.__name__, model)

    @classmethod
    def start_call(
        cls,
        model: Optional[str],
        messages: Any,
        stream: Any,
        options: Mapping[str, Any],
        proxy: Optional[str] = None,
        timeout: TimeoutLike = None,
        max_retries: Union[Retry, int, None] = None,
        session: Optional[requests.Session] = None,
    ) -> Tuple[str, Transport]:
        """Check a call (before any I/O): the model to send and the call's
        :class:`~g4f_sync.http.Transport`, which hides :meth:`call_secrets` in errors."""
        model = cls.check_call(model, messages, stream, options)
        transport = Transport(
            session=session,
            proxy=proxy,
            timeout=timeout,
            max_retries=max_retries,
            secrets=cls.call_secrets(options),
        )
        return model, transport

    @classmethod
    def call_secrets(cls, options: Mapping[str, Any]) -> Tuple[str, ...]:
        """What this call's errors must never show (an API key); none here."""
        return ()

    @classmethod
    def check_call(
        cls, model: Optional[str], messages: Any, stream: Any, options: Mapping[str, Any]
    ) -> str:
        """Check a call's arguments (before any I/O) and return the model to send."""
        cls.check_messages(messages)
        if not isinstance(stream, bool):
            raise errors.InvalidRequestError(f"stream must be True or False, got {stream!r}")
        check_options(cls.__name__, options, cls.accepted_options())
        if isinstance(cls, type) and issubclass(cls, ProviderModelMixin):
            model = cls.get_model(model)
        return model or ""

    @classmethod
    def check_messages(cls, messages: Any) -> None:
        """Raise :class:`~g4f_sync.errors.InvalidMessagesError` for messages this provider
        cannot send (:func:`validate_messages`: plain text in three roles)."""
        validate_messages(messages)

    @classmethod
    def create_generator(
        cls, model: str, messages: Messages, transport: Transport, **kwargs: Any
    ) -> Iterator[str]:
        """The provider's protocol: send with ``transport`` and yield text tokens."""
        raise NotImplementedError(f"{cls.__name__} does not implement create_generator")


class ChunkProvider(GeneratorProvider):
    """A provider whose answer is OpenAI chat-completion chunks (tool calls, usage,
    reasoning, ``n`` choices, logprobs), read by :meth:`create_chunks`; its text tokens
    (``create_completion``) are the content of choice 0."""

    text_only_refused: ClassVar[FrozenSet[str]] = frozenset(
        {"tools", "tool_choice", "parallel_tool_calls", "n", "logprobs", "top_logprobs"}
    )
    """Options whose answer is more than text: ``create_completion`` refuses them."""

    @classmethod
    def create_completion(  # type: ignore[override]
        cls, model: Optional[str], messages: Messages, stream: bool = True, **kwargs: Any
    ) -> TokenStream:
        """As :meth:`GeneratorProvider.create_completion`; options whose answer is more
        than text (tools, ``n``, logprobs) raise
        :class:`~g4f_sync.errors.InvalidRequestError`: use :meth:`create_chunks` or the
        Client for them."""
        refused = sorted(
            name
            for name, value in kwargs.items()
            if name in cls.text_only_refused
            and value not in (None, False)
            and not (name == "n" and value == 1)
        )
        if refused:
            raise errors.InvalidRequestError(
                f"{cls.__name__}.create_completion yields text only and cannot carry what"
                f" {refused[0]}= asks for; use g4f_sync.Client().chat.completions.create"
            )
        return super().create_completion(model, messages, stream, **kwargs)

    @classmethod
    def create_chunks(
        cls, model: Optional[str], messages: Messages, stream: bool = True, **options: Any
    ) -> TokenStream:
        """Send ``messages`` and return an iterator of
        :class:`~g4f_sync.chat.types.ChatCompletionChunk`: the server's chunks as they
        arrive, or with ``stream=False`` the chunks of the whole answer (one per choice,
        then the usage), which :func:`~g4f_sync.chat.build_completion` joins. Takes what
        ``create_completion`` takes (``proxy``, ``timeout``, ``max_retries``,
        ``session``, the provider's options), is checked, sent and closed as it is;
        ``.partial`` of an error is the text of choice 0 received."""
        connection = {name: options.pop(name, None) for name in TRANSPORT_OPTIONS}
        model, transport = cls.start_call(model, messages, stream, options, **connection)
        chunks = cls.create_chunk_generator(model, messages, transport, stream=stream, **options)
        delivered = _deliver(chunks, transport, False, cls.__name__, text_of)
        return TokenStream(delivered, transport, cls.__name__, model, unit="chunks")

    @classmethod
    def create_generator(
        cls, model: str, messages: Messages, transport: Transport, **kwargs: Any
    ) -> Iterator[str]:
        """The content of choice 0. An answer text cannot carry (tool calls, another
        choice: asked for through ``extra_body``, or sent unasked) raises
        :class:`~g4f_sync.errors.ResponseError` rather than being dropped."""
        for chunk in cls.create_chunk_generator(model, messages, transport, **kwargs):
            text = text_only(chunk)
            if text:
                yield text

    @classmethod
    def create_chunk_generator(
        cls, model: str, messages: Messages, transport: Transport, **kwargs: Any
    ) -> Iterator[ChatCompletionChunk]:
        """The provider's protocol: send with ``transport`` and yield chunks."""
        raise NotImplementedError(f"{cls.__name__} does not implement create_chunk_generator")


def text_of(chunk: ChatCompletionChunk) -> str:
    """The content a chunk adds to choice 0."""
    for choice in chunk.choices:
        if choice.index == 0:
            return choice.delta.content or ""
    return ""


_JOIN_EVERY = 512


def _deliver(
    items: Iterator[Item],
    transport: Transport,
    join: bool,
    provider: str,
    text_of: Callable[[Item], str],
) -> Iterator[Item]:
    """Yield the items (or, with ``join``, the text tokens joined in one string); on
    error, set ``error.provider``, keep the text received in ``error.partial`` and hide
    the call's secrets; close the connection at the end.

    The text is kept joined in blocks of ``_JOIN_EVERY`` items: memory grows with the
    text, not with one object per item.
    """
    received: List[str] = []  # joined blocks, then the latest pieces
    try:
        if join:
            received.extend(map(text_of, items))
        else:
            latest = 0
            for item in items:
                received.append(text_of(item))
                latest += 1
                if latest == _JOIN_EVERY:
                    received[-latest:] = ["".join(received[-latest:])]
                    latest = 0
                yield item
        if transport.interrupted:  # an interrupted read may look like the end of the answer
            raise errors.CancelledError("interrupted by the caller")
    except Exception as exc:
        error = _attribute(_mapped(exc, transport.interrupted), provider, received)
        error.hide(transport.secrets)
        if error is exc:
            raise
        raise error from exc
    else:
        if join:
            yield "".join(received)  # type: ignore[misc]
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
        transport.close()


def _mapped(exc: Exception, interrupted: bool) -> errors.G4FError:
    """The G4FError for whatever a provider's generator raised: a CancelledError for
    any failure after an interrupt, which is what caused it."""
    if interrupted and not isinstance(exc, errors.CancelledError):
        return errors.CancelledError("interrupted by the caller")
    if isinstance(exc, errors.G4FError):
        return exc
    if isinstance(exc, RecursionError):
        return errors.ResponseError("cannot read the answer: it is nested too deeply")
    return errors.ResponseError(f"cannot read the answer ({type(exc).__name__}: {exc})")


def _attribute(error: errors.G4FError, provider: str, received: List[str]) -> errors.G4FError:
    """Name the provider on the error (unless a deeper one did) and attach the text
    received."""
    error.partial = "".join(received)
    error.provider = error.provider or provider
    return error
