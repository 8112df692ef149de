"""The openai-shaped client: ``Client().chat.completions.create(...)``, ``client.models``.

::

    from g4f_sync import Client

    client = Client(base_url="http://localhost:11434/v1")  # any OpenAI-compatible server
    response = client.chat.completions.create(messages=[...], model="llama3.2")
    print(response.choices[0].message.content)

    for chunk in client.chat.completions.create([...], "llama3.2", stream=True):
        print(chunk.choices[0].delta.content or "", end="")

Response objects live in :mod:`g4f_sync.types`; g4f's legacy
``ChatCompletion.create`` (which returns strings) in :mod:`g4f_sync.client.legacy`.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Union

import requests

from .. import errors
from ..chat.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    CompletionUsage,
    Model,
    ModelList,
)
from ..http import Retry, Timeout, TimeoutLike, parse_proxy
from ..Provider.base import check_options
from ..Provider.registry import (
    ProviderLike,
    accepted_options,
    get_provider,
    provider_name,
    rebase_provider,
)
from .completions import ChatCompletionStream, Completions

__all__ = [
    "Chat",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionStream",
    "Choice",
    "ChoiceDelta",
    "ChunkChoice",
    "Client",
    "CompletionUsage",
    "Completions",
    "Models",
]


class Chat:
    """``client.chat``: holds ``completions``."""

    def __init__(self, client: Client) -> None:
        self.completions = Completions(client)


class Models:
    """``client.models``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, *, refresh: bool = False) -> ModelList:
        """The models the client's provider serves: an OpenAI-compatible server's own
        list (``GET /models``, reused for a minute unless ``refresh``), or a text
        provider's fixed names. Raises
        :class:`~g4f_sync.errors.ProviderNotFoundError` without a provider and
        :class:`~g4f_sync.errors.InvalidRequestError` for one with no list (a
        ``RetryProvider``)."""
        client = self._client
        provider = client.provider
        if provider is None:
            raise errors.ProviderNotFoundError(
                "models.list() needs a provider: Client(base_url=...) or Client(provider)"
            )
        list_models = getattr(provider, "list_models", None)
        if callable(list_models):
            options = client.request_options(provider)
            return list_models(refresh=refresh, **options)  # type: ignore[no-any-return]
        get_models = getattr(provider, "get_models", None)
        if not callable(get_models):
            raise errors.InvalidRequestError(
                f"{provider_name(provider)} has no model list of its own: list the models of"
                " each of its providers, e.g. Client(provider).models.list()"
            )
        names = get_models()
        return ModelList([Model(name, owned_by=provider_name(provider)) for name in names])


class Client:
    """An openai-shaped client over the providers::

        from g4f_sync import Client

        client = Client(base_url="http://localhost:11434/v1")  # or Client(Koala)
        messages = [{"role": "user", "content": "Hello"}]
        response = client.chat.completions.create(model="llama3.2", messages=messages)
        print(response.choices[0].message.content)

        stream = client.chat.completions.create(model="llama3.2", messages=messages, stream=True)
        with stream as chunks:
            for chunk in chunks:
                print(chunk.choices[0].delta.content or "", end="")

    Attributes:

    - ``chat.completions.create(messages, model=None, *, provider=None, stream=False,
      stop=None, max_tokens=None, **options)``: the answer, a
      :class:`~g4f_sync.types.ChatCompletion`; with ``stream=True`` a
      :class:`~g4f_sync.types.ChatCompletionStream` of
      :class:`~g4f_sync.types.ChatCompletionChunk` (see :class:`Completions`).
    - ``models.list()``: the models of the client's provider (see :class:`Models`).
    - ``provider``, ``base_url``, ``default_headers``, ``proxy``, ``timeout``,
      ``max_retries``, ``session``: the settings every call gets; ``api_key`` (read only).
    - ``with_options(**changes)``: a copy with some settings changed.

    ``provider``: a provider class, its name, or a
    :class:`~g4f_sync.Provider.retry.RetryProvider`. ``base_url``: an OpenAI-compatible
    server (``http://localhost:11434/v1``; with ``provider``, that provider pointed
    there), with ``api_key`` and ``default_headers``. With neither, ``OPENAI_BASE_URL``
    (and ``OPENAI_API_KEY``) when set, else per call the first working provider that
    supports the model, registered ones (:func:`g4f_sync.register`) first. ``proxy``,
    ``timeout``, ``max_retries`` and ``session`` apply to every call (a call's own
    keyword arguments win); without a ``session`` each completion opens and closes its
    own.

    Everything is checked here, before any I/O: an unknown provider name raises
    :class:`~g4f_sync.errors.ProviderNotFoundError`, a bad proxy, timeout or base URL
    :class:`~g4f_sync.errors.InvalidRequestError`. The API key never appears in a repr,
    an error or a log. Safe to share between threads.
    """

    def __init__(
        self,
        provider: Optional[ProviderLike] = None,
        *,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        default_headers: Optional[Mapping[str, str]] = None,
        proxy: Optional[str] = None,
        timeout: TimeoutLike = None,
        max_retries: Union[Retry, int, None] = None,
        session: Optional[requests.Session] = None,
    ) -> None:
        if provider is None and base_url is None:
            base_url = os.environ.get("OPENAI_BASE_URL") or None
            api_key = api_key or os.environ.get("OPENAI_API_KEY") or None
        chosen = get_provider(provider) if provider is not None else None
        if base_url is not None:
            if chosen is None:
                from ..Provider.presets import Custom

                chosen = Custom
            chosen = rebase_provider(chosen, base_url)
        parse_proxy(proxy)
        if timeout is not None:
            Timeout.coerce(timeout)
        if max_retries is not None:
            Retry.coerce(max_retries)
        self._settings: Dict[str, Any] = {
            "provider": provider,
            "base_url": base_url,
            "api_key": api_key,
            "default_headers": default_headers,
            "proxy": proxy,
            "timeout": timeout,
            "max_retries": max_retries,
            "session": session,
        }
        self.provider = chosen
        self.base_url = base_url
        self._api_key = api_key
        self.default_headers = dict(default_headers or {})
        self.proxy = proxy
        self.timeout = timeout
        self.max_retries = max_retries
        self.session = session
        if chosen is not None:
            self.request_options(chosen)  # checks the key and headers fit the provider
        self.chat = Chat(self)
        self.models = Models(self)

    @property
    def api_key(self) -> Optional[str]:
        """The key sent to OpenAI-compatible servers (never shown in the repr)."""
        return self._api_key

    def request_options(self, provider: Any = None) -> Dict[str, Any]:
        """The keyword arguments every call to ``provider`` gets from this client;
        :class:`~g4f_sync.errors.InvalidRequestError` when it cannot take the client's
        ``api_key`` or ``default_headers`` (a text provider)."""
        options: Dict[str, Any] = {
            "proxy": self.proxy,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "session": self.session,
        }
        accepted = accepted_options(provider) if provider is not None else None
        for name, value in (("api_key", self._api_key), ("extra_headers", self.default_headers)):
            if not value:
                continue
            if accepted is not None and name not in accepted:
                shown = "default_headers" if name == "extra_headers" else name
                raise errors.InvalidRequestError(
                    f"{provider_name(provider)} takes no {shown}: it is not an"
                    " OpenAI-compatible server (give base_url= for one)"
                )
            options[name] = dict(value) if name == "extra_headers" else value
        return options

    def with_options(self, **changes: Any) -> Client:
        """A copy of this client with some settings changed (any argument of
        ``Client``), as openai-python's: ``client.with_options(timeout=5).chat...``."""
        unknown = sorted(set(changes) - set(self._settings))
        if unknown:
            check_options("Client.with_options", unknown, self._settings)
        return Client(**{**self._settings, **changes})

    def __repr__(self) -> str:
        name = provider_name(self.provider) if self.provider is not None else None
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"Client(provider={name}{where})"
