"""``RetryProvider``: g4f's fallback over a list of providers.

It lives apart from ``base.py`` (where the first design placed it) because it is not a base
of providers but a user of them: it resolves names through :mod:`.registry`, applies the
``working`` check, and needs none of ``base.py``'s validation or transport machinery.
"""

from __future__ import annotations

import logging
import random
from typing import Any, FrozenSet, Iterator, List, Optional, Sequence, Tuple

from .. import errors
from ..typing import Messages
from .base import check_options, validate_messages
from .registry import (
    ProviderLike,
    accepted_options,
    get_provider,
    not_working_error,
    provider_name,
)

__all__ = ["RetryProvider", "RetryStream"]

log = logging.getLogger("g4f_sync.provider")


class RetryProvider:
    """Try ``providers`` in turn (shuffled per call with ``shuffle=True``, as in g4f) until
    one yields its first token.

    Fails over only **before the first token**: an error, or an answer without any text
    (also ``stream=False`` giving ``""``), moves on to the next provider; once a token has
    arrived the stream belongs to that provider, and an error after it is raised as it is
    (a half-told answer is never restarted elsewhere). Providers marked
    ``working = False`` are passed over (recorded as
    :class:`~g4f_sync.errors.ProviderNotWorkingError`) unless the call passes
    ``ignore_working=True``. When every provider fails,
    :class:`~g4f_sync.errors.RetryProviderError` names each with its own error.

    Usable wherever a provider class is: ``Client(RetryProvider([Koala, "ChatGptt"]))``.
    """

    __name__ = "RetryProvider"
    working = True
    supports_stream = True
    supports_system_message = True
    supports_message_history = True

    def __init__(self, providers: Sequence[ProviderLike], shuffle: bool = True) -> None:
        if not providers:
            raise errors.ProviderNotFoundError("RetryProvider needs at least one provider")
        self.providers: List[Any] = [get_provider(provider) for provider in providers]
        self.shuffle = shuffle

    def __repr__(self) -> str:
        names = ", ".join(provider_name(provider) for provider in self.providers)
        return f"RetryProvider([{names}], shuffle={self.shuffle})"

    def accepted_options(self) -> FrozenSet[str]:
        """The keyword arguments any of the providers takes, and ``ignore_working``.
        An option only some take counts, for the others, as their failure."""
        accepted = {"ignore_working"}
        for provider in self.providers:
            accepted |= accepted_options(provider) or set()
        return frozenset(accepted)

    def create_completion(
        self,
        model: Optional[str],
        messages: Messages,
        stream: bool = True,
        *,
        ignore_working: bool = False,
        **kwargs: Any,
    ) -> RetryStream:
        """Like a provider's ``create_completion``: an iterator of text tokens with
        ``close()``, ``interrupt()`` and ``with``. The first provider is called on the
        first ``next()``; ``.provider`` is then the provider that answers."""
        validate_messages(messages)
        if all(accepted_options(provider) is not None for provider in self.providers):
            check_options("RetryProvider", kwargs, self.accepted_options())
        order = list(self.providers)
        if self.shuffle:
            random.shuffle(order)
        return RetryStream(order, model, messages, stream, ignore_working, kwargs)


class RetryStream(Iterator[str]):
    """The tokens of the first provider of a :class:`RetryProvider` that answers."""

    __slots__ = ("_args", "_current", "_next", "_pending", "provider")

    def __init__(
        self,
        providers: List[Any],
        model: Optional[str],
        messages: Messages,
        stream: bool,
        ignore_working: bool,
        kwargs: Any,
    ) -> None:
        self._pending: Optional[List[Any]] = providers
        self._args = (model, messages, stream, ignore_working, kwargs)
        self._current: Any = None
        self._next = self._first
        self.provider: Any = None
        """The provider whose tokens are yielded; None until one answered."""

    def __iter__(self) -> RetryStream:
        return self

    def __next__(self) -> str:
        return self._next()  # type: ignore[no-any-return]

    def _first(self) -> str:
        """Try the providers until one yields a token; then hand ``next`` over to it."""
        pending, self._pending = self._pending, None
        if pending is None:  # closed, or every provider already failed
            raise StopIteration
        model, messages, stream, ignore_working, kwargs = self._args
        failures: List[Tuple[str, BaseException]] = []
        for provider in pending:
            name = provider_name(provider)
            if not ignore_working and not getattr(provider, "working", True):
                failures.append((name, not_working_error(provider)))
                continue
            try:
                tokens = provider.create_completion(model, messages, stream, **kwargs)
                self._current = tokens
                token = next(tokens)
                while not token:  # "" carries no text: the answer has not started
                    token = next(tokens)
            except StopIteration:
                empty = errors.ResponseError("the answer was empty")
                empty.provider = name
                failures.append((name, empty))
            except Exception as error:  # any failure before the first token: try the next
                failures.append((name, error))
            else:
                log.debug("RetryProvider: %s answers", name)
                self.provider = provider
                self._next = tokens.__next__
                return token  # type: ignore[no-any-return]
            self._close_current()
            log.debug("RetryProvider: %s failed before answering: %r", name, failures[-1][1])
        raise errors.RetryProviderError(failures)

    def close(self) -> None:
        """Stop, and close the connection of the provider in use."""
        self._pending = None
        self._next = self._first
        self._close_current()

    def interrupt(self) -> bool:
        """Thread-safe: stop the call of the provider in use (see ``TokenStream``);
        returns whether a socket was reached."""
        interrupt = getattr(self._current, "interrupt", None)
        return bool(interrupt()) if interrupt is not None else False

    def _close_current(self) -> None:
        current, self._current = self._current, None
        close = getattr(current, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> RetryStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
