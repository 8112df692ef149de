"""The emulator: one loopback server carrying every emulated provider.

Adding a provider: a module like ``koala.py`` with an options dataclass and a service whose
``routes()`` maps ``(method, path)`` to route functions taking an :class:`~.server.Exchange`;
:class:`Emulator` takes the options as a keyword argument and registers the routes in
:meth:`Emulator.start`.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Optional, TypeVar

from .chatgptt import ChatGpttOptions, ChatGpttService
from .koala import KoalaOptions, KoalaService
from .server import DEFAULT_KEEP_REQUESTS, LoopbackServer, RecordedRequest, check_keep_requests

__all__ = ["Emulator"]

P = TypeVar("P", bound=type)


class Emulator:
    """Koala and ChatGptt on ``http://127.0.0.1:<port>``, in a background thread; start
    once, close once.

    ``port=0`` picks a free port. Use as a context manager, or call :meth:`start` and
    :meth:`close`. :meth:`close` ends every request in progress and joins every thread.

    :attr:`requests` keeps the last ``keep_requests`` requests (1,000 by default, about
    6 MiB: :data:`~.server.DEFAULT_KEEP_REQUESTS`), so a long test run or a demo server stays
    flat; ``keep_requests=None`` keeps every one, ``0`` none. :attr:`request_count` and
    :meth:`wait_for_requests` count every request, kept or not.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        koala: Optional[KoalaOptions] = None,
        chatgptt: Optional[ChatGpttOptions] = None,
        verbose: bool = False,
        keep_requests: Optional[int] = DEFAULT_KEEP_REQUESTS,
    ) -> None:
        check_keep_requests(keep_requests)
        self.gate = threading.Semaphore(0)
        """Released by tests, one token each, when ``KoalaOptions.gated`` is set."""
        self._address = (host, port)
        self._verbose = verbose
        self._keep_requests = keep_requests
        self._koala = KoalaService(koala if koala is not None else KoalaOptions(), self.gate)
        self._chatgptt = ChatGpttService(chatgptt if chatgptt is not None else ChatGpttOptions())
        self._server: Optional[LoopbackServer] = None

    def start(self) -> Emulator:
        """Bind and serve; returns self. Raises ``OSError`` when the port is taken."""
        if self._server is not None:
            raise RuntimeError("an Emulator can be started only once")
        server = LoopbackServer(
            *self._address, verbose=self._verbose, keep_requests=self._keep_requests
        )
        for service in (self._koala, self._chatgptt):
            for (method, path), route in service.routes().items():
                server.add_route(method, path, route)
        self._server = server
        server.start()
        return self

    def close(self) -> None:
        """Stop serving and join every thread within about a second; idempotent."""
        if self._server is not None:
            self._server.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, no trailing slash."""
        return self._started().url

    @property
    def requests(self) -> list[RecordedRequest]:
        """The last ``keep_requests`` requests received (every one with None), oldest first.

        A new list on every call: safe to iterate while requests arrive, and changing it
        changes nothing. Once more than ``keep_requests`` came, index 0 is no longer the
        first request: :attr:`RecordedRequest.number` tells which one a record is.
        """
        return self._started().requests

    @property
    def request_count(self) -> int:
        """How many requests arrived in all, kept in :attr:`requests` or not."""
        return self._started().request_count

    def wait_for_requests(self, count: int, timeout: Optional[float] = None) -> bool:
        """Block until ``count`` requests arrived in all (:attr:`request_count`; their bodies
        read, answers not necessarily begun), kept or not; False on timeout."""
        return self._started().wait_for_requests(count, timeout)

    @property
    def koala(self) -> KoalaOptions:
        """The live Koala options: change fields, or assign new options (which also restarts
        the ``fault_count`` count)."""
        return self._koala.options

    @koala.setter
    def koala(self, options: KoalaOptions) -> None:
        self._koala.options = options

    @property
    def chatgptt(self) -> ChatGpttOptions:
        """The live ChatGptt options: change fields, or assign new options."""
        return self._chatgptt.options

    @chatgptt.setter
    def chatgptt(self, options: ChatGpttOptions) -> None:
        self._chatgptt.options = options

    def provider(self, provider: P, /, **query: Any) -> P:
        """A subclass of ``provider`` that talks to this emulator.

        Its ``url`` and ``api_endpoint`` keep their paths on :attr:`url`; ``working`` is True
        and ``__name__`` unchanged. ``query`` is appended to ``api_endpoint`` and to ``url``
        as per-request options (``count=5``, ``tokens=["a", "b"]``, ``fault=None``,
        ``done=True``), so a provider that loads a page first sends them there too.
        """
        from ..Provider.registry import rebase_provider

        options = {name: _query_value(value) for name, value in query.items()}
        return rebase_provider(provider, self.url, query=options)  # type: ignore[arg-type,return-value]

    def _started(self) -> LoopbackServer:
        if self._server is None:
            raise RuntimeError("the Emulator is not started: use start() or a with block")
        return self._server


def _query_value(value: Any) -> str:
    """``value`` as a query string writes it: true/false, none, comma-separated lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        items = [str(item) for item in value]
        if any("," in item for item in items):
            raise ValueError(f"a list item in a query cannot contain ',': {value!r}")
        return ",".join(items)
    return str(value)
