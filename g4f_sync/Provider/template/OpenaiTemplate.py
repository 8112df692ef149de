"""``OpenaiTemplate``: the base of the providers for OpenAI-compatible servers (anything
that serves ``/v1/chat/completions``: Ollama, llama.cpp, vLLM, LM Studio, LiteLLM's proxy,
``g4f api``, OpenAI and the hosted ones), named as gpt4free names it.

Protocol (docs/protocols.md): ``POST <base_url>/chat/completions`` with a JSON body (the
model, the messages as given, ``stream``, every OpenAI option given, ``extra_body``
merged) and ``Authorization: Bearer <api_key>`` when there is a key; the answer is
``text/event-stream`` of chunk objects ending with ``data: [DONE]`` when streaming, a
``chat.completion`` object otherwise. ``GET <base_url>/models`` lists the models.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, ClassVar, Dict, FrozenSet, Iterator, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit, urlunsplit

import requests

from ... import errors
from ...chat.chunks import EventReader, chunks_of, read_completion, read_models, text_only
from ...chat.request import (
    CONNECTION_OPTIONS,
    REQUEST_OPTIONS,
    build_payload,
    check_message_shapes,
    check_request_options,
)
from ...chat.types import ChatCompletion, ChatCompletionChunk, ModelList
from ...http import Retry, TimeoutLike, Transport, read_json
from ...sse import iter_events
from ...typing import Messages
from ..base import ChunkProvider, ProviderModelMixin

__all__ = ["MODELS_CACHE_SECONDS", "MODELS_CACHE_SIZE", "OpenaiTemplate", "checked_base_url"]

MODELS_CACHE_SECONDS = 60.0
"""How long a server's model list is reused before ``GET /models`` is sent again."""
MODELS_CACHE_SIZE = 64
"""Most model lists kept (one per URL, query, key and headers); the oldest goes first."""

_models_cache: Dict[Tuple[Any, ...], Tuple[float, ModelList]] = {}
_models_lock = threading.Lock()


class OpenaiTemplate(ChunkProvider, ProviderModelMixin):
    """An OpenAI-compatible server. Subclass it (or use a preset from
    :mod:`g4f_sync.Provider.presets`) with ``base_url`` and, when the server wants one,
    ``api_key`` / ``api_key_env`` and ``needs_auth``.

    Per call: ``base_url=`` and ``api_key=`` (win over the class's and the environment's),
    ``extra_headers=``, ``extra_query=``, ``extra_body=``, and every OpenAI option
    (``temperature``, ``tools``, ``response_format``, ``n``, ...), sent as given.
    """

    base_url: ClassVar[str] = ""
    """The API's base, as users write it (``http://localhost:11434/v1``); requests go to
    ``<base_url>/chat/completions`` and ``<base_url>/models``."""
    base_url_env: ClassVar[str] = ""
    """An environment variable that, when set, gives the base URL (or only ``host:port``,
    which keeps ``base_url``'s path): ``OLLAMA_HOST``."""
    api_key: ClassVar[Optional[str]] = None
    api_key_env: ClassVar[str] = ""
    """An environment variable holding the key: ``OPENAI_API_KEY``."""
    needs_auth: ClassVar[bool] = False
    """Without a key, calls raise :class:`~g4f_sync.errors.MissingAuthError` before any
    I/O, naming ``api_key_env``."""
    headers: ClassVar[Mapping[str, str]] = {}
    """Headers sent with every request (``extra_headers=`` adds to them per call)."""
    query: ClassVar[Mapping[str, str]] = {}
    """Query parameters sent with every request (the emulator's per-request options)."""
    label: ClassVar[str] = "OpenAI-compatible server"

    working = True
    auto_select = False
    supports_stream = True
    supports_system_message = True
    supports_message_history = True
    default_model = ""
    supported_options: ClassVar[FrozenSet[str]] = REQUEST_OPTIONS | CONNECTION_OPTIONS

    @classmethod
    def get_models(cls) -> list[str]:
        """The class's known names (the server's own list: :meth:`list_models`)."""
        return list(cls.models) or ([cls.default_model] if cls.default_model else [])

    @classmethod
    def get_model(cls, model: Optional[str]) -> str:
        """``model`` as given (the server decides which it serves), else the class's
        default, else ``""``: the call then asks the server (``GET /models``) and uses
        the first model it lists."""
        if model is None or model == "":
            return cls.default_model
        if not isinstance(model, str):
            raise errors.ModelNotSupportedError(f"model must be a string, got {model!r}")
        return cls.model_aliases.get(model, model)

    @classmethod
    def check_messages(cls, messages: Any) -> None:
        check_message_shapes(messages)

    @classmethod
    def check_call(
        cls, model: Optional[str], messages: Any, stream: Any, options: Mapping[str, Any]
    ) -> str:
        checked = super().check_call(model, messages, stream, options)
        check_request_options(cls.__name__, options)
        if options.get("stream_options") is not None and not stream:
            raise errors.InvalidRequestError(f"{cls.__name__}: stream_options needs stream=True")
        cls.resolve_base_url(options.get("base_url"))
        cls.resolve_api_key(options.get("api_key"))
        return checked

    @classmethod
    def call_secrets(cls, options: Mapping[str, Any]) -> Tuple[str, ...]:
        key = cls.resolve_api_key(options.get("api_key"))
        return (key,) if key else ()

    @classmethod
    def resolve_base_url(cls, base_url: Optional[str] = None) -> str:
        """The base URL a call uses: ``base_url``, else ``base_url_env``'s value, else
        the class's. One without a path (``http://host:1234``, or ``host:1234`` from the
        environment) takes the class's path (``/v1``). Raises
        :class:`~g4f_sync.errors.InvalidRequestError` quoting the value as given when it
        is no ``http(s)://host[:port]/path``."""
        from_env = os.environ.get(cls.base_url_env, "") if cls.base_url_env else ""
        if base_url:
            source, given = "base_url", base_url
        elif from_env:
            source, given = cls.base_url_env, from_env
        else:
            source, given = "base_url", cls.base_url
        return checked_base_url(cls.__name__, source, given, cls.base_url)

    @classmethod
    def resolve_api_key(cls, api_key: Optional[str] = None) -> Optional[str]:
        """The key a call sends: ``api_key``, else the class's, else ``api_key_env``'s
        value; :class:`~g4f_sync.errors.MissingAuthError` when ``needs_auth`` and none."""
        key = (
            api_key or cls.api_key or (os.environ.get(cls.api_key_env) if cls.api_key_env else None)
        )
        if not key and cls.needs_auth:
            where = f"set {cls.api_key_env} or pass" if cls.api_key_env else "pass"
            raise errors.MissingAuthError(
                f"{cls.__name__} needs an API key: {where} api_key=...", env_var=cls.api_key_env
            )
        return key or None

    @classmethod
    def request_headers(cls, api_key: Optional[str], stream: bool, extra: Any) -> Dict[str, str]:
        headers = {
            "Accept": "text/event-stream" if stream else "application/json",
            **cls.headers,
        }
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        headers.update(extra or {})
        return headers

    @classmethod
    def create_chunk_generator(
        cls, model: str, messages: Messages, transport: Transport, **options: Any
    ) -> Iterator[ChatCompletionChunk]:
        answer = cls._send(model, messages, transport, options)
        if isinstance(answer, ChatCompletion):
            yield from chunks_of(answer)
            return
        read = EventReader(cls.__name__).chunk
        for event in iter_events(answer):
            data = event.data
            if data == "[DONE]":
                return
            yield read(data)

    @classmethod
    def create_generator(
        cls, model: str, messages: Messages, transport: Transport, **options: Any
    ) -> Iterator[str]:
        """The text of choice 0 (as :meth:`create_chunk_generator`'s chunks carry it),
        without making the chunk objects of the usual events."""
        answer = cls._send(model, messages, transport, options)
        if isinstance(answer, ChatCompletion):
            for chunk in chunks_of(answer):
                text = text_only(chunk)
                if text:
                    yield text
            return
        read = EventReader(cls.__name__).text
        for event in iter_events(answer):
            data = event.data
            if data == "[DONE]":
                return
            text = read(data)
            if text:
                yield text

    @classmethod
    def _send(
        cls, model: str, messages: Messages, transport: Transport, options: Dict[str, Any]
    ) -> Union[requests.Response, ChatCompletion]:
        """Send the chat request: the streamed answer's response, or a whole answer read."""
        root = cls.resolve_base_url(options.pop("base_url", None))
        key = cls.resolve_api_key(options.pop("api_key", None))
        stream = options.pop("stream", True)
        extra_headers = options.pop("extra_headers", None)
        extra_query = options.pop("extra_query", None)
        query = {**cls.query, **(extra_query or {})}
        if not model:
            headers = cls.request_headers(key, False, extra_headers)
            model = cls.first_model(root, headers, query, transport)
        response = transport.post(
            f"{root}/chat/completions",
            json=build_payload(model, messages, stream, options),
            headers=cls.request_headers(key, stream, extra_headers),
            params=query,
        )
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "text/event-stream":  # a whole answer (also from a server that never streams)
            return read_completion(read_json(response), cls.__name__)
        return response

    @classmethod
    def first_model(
        cls,
        base_url: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        transport: Transport,
    ) -> str:
        """The first model the server lists (asked with the call's ``headers`` and
        ``query``), for a call that names none; :class:`~g4f_sync.errors.NotFoundError`
        when it lists none."""
        models = cls._models(base_url, headers, query, transport, refresh=False)
        if not models.data:
            raise errors.NotFoundError(
                f"{base_url}/models lists no model: pass model=...", status_code=404
            )
        return models.data[0].id

    @classmethod
    def list_models(
        cls,
        *,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        proxy: Optional[str] = None,
        timeout: TimeoutLike = None,
        max_retries: Union[Retry, int, None] = None,
        session: Optional[requests.Session] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, str]] = None,
        refresh: bool = False,
    ) -> ModelList:
        """The server's models (``GET <base_url>/models``, with ``extra_headers`` and
        ``extra_query`` as a chat request), reused for :data:`MODELS_CACHE_SECONDS` per
        URL (query included), key and headers unless ``refresh``."""
        given = {
            "base_url": base_url,
            "api_key": api_key,
            "extra_headers": extra_headers,
            "extra_query": extra_query,
        }
        check_request_options(cls.__name__, given)
        url = cls.resolve_base_url(base_url)
        key = cls.resolve_api_key(api_key)
        headers = cls.request_headers(key, False, extra_headers)
        query = {**cls.query, **(extra_query or {})}
        transport = Transport(
            session=session,
            proxy=proxy,
            timeout=timeout,
            max_retries=max_retries,
            secrets=(key,) if key else (),
        )
        try:
            return cls._models(url, headers, query, transport, refresh=refresh)
        except errors.G4FError as error:
            error.provider = error.provider or cls.__name__
            raise
        finally:
            transport.close()

    @classmethod
    def _models(
        cls,
        base_url: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        transport: Transport,
        *,
        refresh: bool,
    ) -> ModelList:
        # What may change the answer: the URL with its query, and the headers (the key).
        cache_key = (base_url, tuple(sorted(query.items())), tuple(sorted(headers.items())))
        now = time.monotonic()
        with _models_lock:
            cached = _models_cache.get(cache_key)
        if cached is not None and not refresh and now - cached[0] < MODELS_CACHE_SECONDS:
            return cached[1]
        response = transport.get(f"{base_url}/models", headers=dict(headers), params=dict(query))
        models = read_models(read_json(response))
        with _models_lock:
            _models_cache.pop(cache_key, None)
            _models_cache[cache_key] = (now, models)
            while len(_models_cache) > MODELS_CACHE_SIZE:
                del _models_cache[next(iter(_models_cache))]  # the oldest stored
        return models

    @classmethod
    def rebased(
        cls,
        base_url: str,
        query: Optional[Mapping[str, str]] = None,
        *,
        api_key: Optional[str] = None,
    ) -> type:
        """A subclass that talks to ``base_url`` (one without a path takes this class's:
        ``/v1``), adding ``query`` to every request and sending ``api_key`` when given
        (else the class's); ``working = True``, same name. ``register(Custom.rebased(url,
        api_key=key))`` makes it the provider of calls that name none."""
        url = checked_base_url(cls.__name__, "base_url", base_url, cls.base_url)
        if api_key is not None and not isinstance(api_key, str):
            raise errors.InvalidRequestError(
                f"{cls.__name__}: api_key must be a string, got {type(api_key).__name__}"
            )
        attributes: Dict[str, Any] = {
            "base_url": url,
            "url": url,
            "base_url_env": "",
            "query": {**cls.query, **(query or {})},
            "working": True,
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
        }
        if api_key:
            attributes["api_key"] = api_key
        return type(cls.__name__, (cls,), attributes)


def with_default_path(url: str, default: str) -> str:
    """``url``, given a scheme (``http://``) if it has none and ``default``'s path if it
    has none (``http://host:1234`` -> ``http://host:1234/v1``)."""
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        parts = parts._replace(path=urlsplit(default).path)
    return urlunsplit(parts)


def checked_base_url(owner: str, source: str, given: str, default: str) -> str:
    """``given`` (what ``source`` says) as a base URL, :func:`with_default_path` applied
    and no trailing slash; :class:`~g4f_sync.errors.InvalidRequestError` quoting it as
    given unless it is ``http(s)://host[:port]/path`` with a valid port and no space."""
    try:
        url = with_default_path(given, default) if given else ""
        parts = urlsplit(url)
        usable = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and (parts.port is None or parts.port > 0)
            and not any(character.isspace() for character in url)
        )
    except ValueError:  # "http://[::1" (an open bracket), a port not a number or too big
        usable = False
    if not usable:
        raise errors.InvalidRequestError(
            f"{owner}: {source} {given!r} must be http(s)://host[:port]/path"
        )
    return url.rstrip("/")
