"""The emulator: one loopback server carrying every registered service (:class:`Emulator`).

The services come from :data:`~.registry.SERVICES`: each one's options are a keyword
argument (``Emulator(koala=KoalaOptions(...))``) and a live attribute (``emu.koala``).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, Mapping, Optional, TypeVar

from .exchange import RecordedRequest, Route
from .options import ServiceOptions
from .registry import SERVICES
from .server import DEFAULT_KEEP_REQUESTS, LoopbackServer, check_keep_requests
from .service import Service

if TYPE_CHECKING:
    from ..client import Client
    from .chatgptt import ChatGpttOptions
    from .koala import KoalaOptions
    from .openai import OpenAIOptions
    from .replay import ReplayOptions

__all__ = ["Emulator"]

P = TypeVar("P", bound=type)


class Emulator:
    """Every registered service (Koala, ChatGptt, ...) on ``http://127.0.0.1:<port>``, in a
    background thread; start once, close once.

    ``port=0`` picks a free port. Use as a context manager, or call :meth:`start` and
    :meth:`close`. :meth:`close` ends every request in progress and joins every thread.

    Each service's options are a keyword argument named after it (``koala=KoalaOptions(...)``;
    the defaults when left out) and a live attribute: change its fields, or assign new
    options, which restarts the service's fault count (``fault_count``). ``TypeError`` names
    an unknown service or options of the wrong class.

    :attr:`requests` keeps the last ``keep_requests`` requests (1,000 by default, about
    6 MiB: :data:`~.server.DEFAULT_KEEP_REQUESTS`), so a long test run or a demo server stays
    flat; ``keep_requests=None`` keeps every one, ``0`` none. :attr:`request_count` and
    :meth:`wait_for_requests` count every request, kept or not.
    """

    if TYPE_CHECKING:  # precise types for checkers; __getattr__ serves every service's options
        koala: KoalaOptions
        chatgptt: ChatGpttOptions
        openai: OpenAIOptions
        replay: ReplayOptions

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        verbose: bool = False,
        keep_requests: Optional[int] = DEFAULT_KEEP_REQUESTS,
        **options: ServiceOptions,
    ) -> None:
        check_keep_requests(keep_requests)
        unknown = sorted(set(options) - set(SERVICES))
        if unknown:
            known = ", ".join(SERVICES)
            raise TypeError(f"Emulator() got unknown service(s) {', '.join(unknown)} ({known})")
        self.gate = threading.Semaphore(0)
        """Released by tests, one token each, when a service is gated (``KoalaOptions.gated``)."""
        self._address = (host, port)
        self._verbose = verbose
        self._keep_requests = keep_requests
        self._server: Optional[LoopbackServer] = None
        self._services: dict[str, Service] = {}
        for name, service in SERVICES.items():
            if hasattr(Emulator, name) or name in vars(self):  # "url", "gate": taken
                raise ValueError(f"a service cannot be named {name!r}: Emulator has that attribute")
            self._services[name] = service(options.get(name), self.gate)
        self._routes = _routes(self._services)

    def __getattr__(self, name: str) -> Any:
        """A service's live options (``emu.koala``)."""
        services = self.__dict__.get("_services", {})
        if name in services:
            return services[name].options
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        """Assigning a service's options (``emu.koala = KoalaOptions()``) restarts its fault
        count; ``TypeError`` for options of another class."""
        services = self.__dict__.get("_services", {})
        if name in services:
            services[name].options = value
        else:
            super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._services})

    @property
    def services(self) -> Mapping[str, Service]:
        """The services by name, in the order of :data:`~.registry.SERVICES`."""
        return dict(self._services)

    def start(self) -> Emulator:
        """Bind and serve; returns self. Raises ``OSError`` when the port is taken."""
        if self._server is not None:
            raise RuntimeError("an Emulator can be started only once")
        server = LoopbackServer(
            *self._address, verbose=self._verbose, keep_requests=self._keep_requests
        )
        for (method, path), route in self._routes.items():
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
    def base_url(self) -> str:
        """The OpenAI-compatible API's base, ``url + "/v1"``: give it as ``base_url=`` to
        :class:`g4f_sync.Client` or to openai-python."""
        from .openai import API_BASE

        return self.url + API_BASE

    def provider(self, provider: P, /, **query: Any) -> P:
        """A subclass of ``provider`` that talks to this emulator.

        Its ``url`` and ``api_endpoint`` keep their paths on :attr:`url`; ``working`` is True
        and ``__name__`` unchanged. ``query`` is appended to ``api_endpoint`` and to ``url``
        as per-request options (``count=5``, ``tokens=["a", "b"]``, ``fault=None``,
        ``done=True``), so a provider that loads a page first sends them there too.

        An OpenAI-compatible provider (one with a ``rebased`` classmethod: ``Custom``, the
        presets) gets the OpenAI service's base, :attr:`base_url`, whatever its own path
        (OpenRouter's ``/api/v1``, Groq's ``/openai/v1``), and ``query`` on every request.

        Raises :class:`~g4f_sync.errors.EmulatorNotStartedError` before :meth:`start`.
        """
        from ..Provider.registry import rebase_provider

        self._started()
        options = {name: _query_value(value) for name, value in query.items()}
        base = self.base_url if callable(getattr(provider, "rebased", None)) else self.url
        return rebase_provider(provider, base, query=options)  # type: ignore[arg-type,return-value]

    def client(self, provider: Optional[type] = None, /, **options: Any) -> Client:
        """A :class:`g4f_sync.Client` for this emulator: its OpenAI-compatible service, or
        ``provider`` bound here (:meth:`provider`). ``options`` go to ``Client``
        (``timeout=``, ``max_retries=``, ``api_key=``, ...). Raises
        :class:`~g4f_sync.errors.EmulatorNotStartedError` before :meth:`start`."""
        from ..client import Client

        if provider is not None:
            return Client(self.provider(provider), **options)
        return Client(base_url=self.base_url, **options)

    def _started(self) -> LoopbackServer:
        if self._server is None:
            from ..errors import EmulatorNotStartedError

            raise EmulatorNotStartedError(
                "the Emulator is not started: use it in a with block"
                " (with Emulator() as emulator: ...) or start it"
                " (emulator = Emulator().start())"
            )
        return self._server


def _routes(services: Mapping[str, Service]) -> dict[tuple[str, str], Route]:
    """Every service's routes; ``ValueError`` when two services claim the same one."""
    routes: dict[tuple[str, str], Route] = {}
    owners: dict[tuple[str, str], str] = {}
    for name, service in services.items():
        for (method, path), route in service.routes().items():
            key = (method.upper(), path)
            if key in owners:
                raise ValueError(f"services {owners[key]} and {name} both route {key[0]} {path}")
            routes[key], owners[key] = route, name
    return routes


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
