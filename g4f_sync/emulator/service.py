"""The base of an emulated service: :class:`Service`, its live options and its routes.

A service is one module (or, when larger, a package of modules split by concern): an
options class extending :class:`~.options.ServiceOptions`, and a :class:`Service` subclass
naming it in :attr:`Service.options_class` and mapping ``(method, path)`` to route functions
in :meth:`Service.routes`. One line in :data:`~.registry.SERVICES` then makes it part of
every :class:`~.emulator.Emulator` and of the command line (docs/emulator.md, "Adding a
service").
"""

from __future__ import annotations

import threading
from typing import ClassVar, Generic, Mapping, Optional, TypeVar, cast

from .exchange import Exchange, Route
from .faults import send_json_error
from .options import ServiceOptions

__all__ = ["Service", "echo_tokens"]

OptionsT = TypeVar("OptionsT", bound=ServiceOptions)


class Service(Generic[OptionsT]):
    """One emulated site: its routes, reading :attr:`options` afresh for every request.

    ``gate`` is the emulator's semaphore, for services that let a test release tokens one by
    one. Thread-safe: routes run in the server's connection threads.
    """

    options_class: ClassVar[type[ServiceOptions]] = ServiceOptions
    """The class of :attr:`options`; its defaults apply when none are given."""

    def __init__(
        self, options: Optional[OptionsT] = None, gate: Optional[threading.Semaphore] = None
    ) -> None:
        self.gate = gate if gate is not None else threading.Semaphore(0)
        self._lock = threading.Lock()
        self._answered = 0
        self._options = cast(OptionsT, self.options_class())
        if options is not None:
            self.options = options

    @classmethod
    def title(cls) -> str:
        """The service's name for people: the class name without ``Service``."""
        name = cls.__name__
        return name[: -len("Service")] if name.endswith("Service") else name

    @property
    def options(self) -> OptionsT:
        """The live options; assigning new ones restarts :meth:`count_answer`'s count."""
        return self._options

    @options.setter
    def options(self, options: OptionsT) -> None:
        if not isinstance(options, self.options_class):
            expected = self.options_class.__name__
            raise TypeError(f"{self.title()} options must be {expected}, not {options!r}")
        with self._lock:
            self._options = options
            self._answered = 0

    def routes(self) -> Mapping[tuple[str, str], Route]:
        """``(method, path) -> route`` for the server; a service may own any number."""
        raise NotImplementedError

    def options_for(self, exchange: Exchange) -> Optional[OptionsT]:
        """The live options with the request's query applied, or None after answering: 500
        when the live options are invalid, 400 when the query is (a JSON body names why)."""
        try:
            self._options.validate()
        except ValueError as exc:
            send_json_error(exchange, 500, f"emulator misconfigured: {exc}")
            return None
        try:
            return self._options.with_query(exchange.request.query)
        except ValueError as exc:
            send_json_error(exchange, 400, str(exc))
            return None

    def count_answer(self) -> int:
        """This answer's place (0: the first) among those counted since the options were last
        assigned, for faults that hit the first N answers only."""
        with self._lock:
            index = self._answered
            self._answered += 1
        return index


def echo_tokens(text: str) -> list[str]:
    """The words of ``text``, each but the last followed by a space: they join to ``text``."""
    words = text.split(" ")
    tokens = [word + " " for word in words[:-1]]
    return [*tokens, words[-1]] if words[-1] else tokens
