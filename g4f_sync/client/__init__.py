"""The openai-shaped client: ``Client().chat.completions.create(...)``.

::

    from g4f_sync import Client

    client = Client()  # or Client("Koala"), Client(RetryProvider([...])), Client(proxy=...)
    response = client.chat.completions.create(model="", messages=[...])
    print(response.choices[0].message.content)

    for chunk in client.chat.completions.create(model="", messages=[...], stream=True):
        print(chunk.choices[0].delta.content or "", end="")

Response objects live in :mod:`g4f_sync.client.stubs`; g4f's legacy
``ChatCompletion.create`` (which returns strings) in :mod:`g4f_sync.client.legacy`.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Union

import requests

from ..http import Retry, Timeout, TimeoutLike, parse_proxy
from ..Provider.registry import ProviderLike, get_provider
from .completions import ChatCompletionStream, Completions
from .stubs import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    CompletionUsage,
)

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
]


class Chat:
    """``client.chat``: holds ``completions``."""

    def __init__(self, client: Client) -> None:
        self.completions = Completions(client)


class Client:
    """An openai-shaped client over the providers.

    ``provider``: a provider class, its name, or a
    :class:`~g4f_sync.Provider.retry.RetryProvider`; None picks, per call, the first
    working provider that supports the model. ``proxy``, ``timeout``, ``max_retries`` and
    ``session`` apply to every call (a call's own keyword arguments win); without a
    ``session`` each completion opens and closes its own. Everything is checked here,
    before any I/O: an unknown provider name raises
    :class:`~g4f_sync.errors.ProviderNotFoundError`, a bad proxy or timeout
    :class:`~g4f_sync.errors.InvalidRequestError`. Safe to share between threads.
    """

    def __init__(
        self,
        provider: Optional[ProviderLike] = None,
        *,
        proxy: Optional[str] = None,
        timeout: TimeoutLike = None,
        max_retries: Union[Retry, int, None] = None,
        session: Optional[requests.Session] = None,
    ) -> None:
        self.provider = get_provider(provider) if provider is not None else None
        parse_proxy(proxy)
        if timeout is not None:
            Timeout.coerce(timeout)
        if max_retries is not None:
            Retry.coerce(max_retries)
        self.proxy = proxy
        self.timeout = timeout
        self.max_retries = max_retries
        self.session = session
        self.chat = Chat(self)

    def request_options(self) -> Dict[str, Any]:
        """The keyword arguments every provider call gets from this client."""
        return {
            "proxy": self.proxy,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "session": self.session,
        }

    def __repr__(self) -> str:
        name = getattr(self.provider, "__name__", None) or repr(self.provider)
        return f"Client(provider={name})"
