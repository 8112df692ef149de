"""g4f's legacy API: ``g4f_sync.ChatCompletion.create(...)`` returns a string, or an
iterator of strings with ``stream=True``, as ``g4f.ChatCompletion.create`` does.

::

    import g4f_sync

    text = g4f_sync.ChatCompletion.create("", [{"role": "user", "content": "Hi"}])
    for token in g4f_sync.ChatCompletion.create("", messages, provider="Koala", stream=True):
        print(token, end="")

There is no ``create_async``: this SDK has no asyncio (wrap the iterator in
``g4f_sync.ThreadedStream`` for ``async for``).
"""

from __future__ import annotations

from typing import Any, Iterator, Optional, Union

from ..Provider.base import check_options
from ..Provider.registry import ProviderLike, accepted_options, provider_name, resolve_provider
from ..Provider.retry import RetryProvider
from ..typing import Messages

__all__ = ["ChatCompletion"]

LEGACY_OPTIONS = frozenset({"provider", "stream", "ignore_working"})


class ChatCompletion:
    """g4f's ``ChatCompletion``, synchronous."""

    @staticmethod
    def create(
        model: Optional[str],
        messages: Messages,
        provider: Optional[ProviderLike] = None,
        stream: bool = False,
        ignore_working: bool = False,
        **kwargs: Any,
    ) -> Union[str, Iterator[str]]:
        """The answer as one string, or with ``stream=True`` the provider's token iterator
        (``close()``, ``with``), sent on the first ``next()``.

        Providers are chosen as by ``Client``: a class, a name, a ``RetryProvider``, or
        None for the first working provider that supports ``model``, registered ones
        (:func:`g4f_sync.register`) first. A provider marked
        ``working = False`` raises :class:`~g4f_sync.errors.ProviderNotWorkingError`
        unless ``ignore_working=True``. ``kwargs`` (``proxy``, ``timeout``,
        ``max_retries``, ``session``, ...) go to the provider. Errors carry ``.partial``,
        the text received before them.
        """
        chosen = resolve_provider(model, provider, ignore_working=ignore_working)
        accepted = accepted_options(chosen)
        if accepted is not None:
            check_options(provider_name(chosen), kwargs, accepted | LEGACY_OPTIONS)
        if isinstance(chosen, RetryProvider):
            kwargs["ignore_working"] = ignore_working
        streamed = stream and getattr(chosen, "supports_stream", True)
        tokens = chosen.create_completion(model, messages, streamed, **kwargs)
        if stream:
            return tokens  # type: ignore[no-any-return]
        try:
            return "".join(tokens)
        finally:
            close = getattr(tokens, "close", None)
            if close is not None:
                close()
