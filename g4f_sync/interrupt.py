"""Interrupt scopes: let one thread stop the connections a call opened in another.

A scope is active in the thread that enters it. Everything that registers while it is
active (each :class:`g4f_sync.http.Transport`, so each completion's connections) is
interrupted by :meth:`InterruptScope.interrupt`, from any thread: its blocked reads
return and its streams end. ``run_batch`` gives each call a scope, so leaving a batch
early (Ctrl-C, ``break``) also stops the calls already running.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import List, Optional, Protocol, Type

__all__ = ["InterruptScope", "Interruptible", "current_scope"]

_active = threading.local()


class Interruptible(Protocol):
    def interrupt(self) -> None:
        """Thread-safe: unblock what waits on I/O."""


class InterruptScope:
    """What was opened in a thread while this scope was active there."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: List[Interruptible] = []
        self.interrupted = False

    def add(self, member: Interruptible) -> None:
        """Register ``member``; one added after :meth:`interrupt` is interrupted at once."""
        with self._lock:
            self._members.append(member)
            interrupted = self.interrupted
        if interrupted:
            member.interrupt()

    def interrupt(self) -> None:
        """Interrupt every member, now and as they are added; thread-safe, idempotent."""
        with self._lock:
            self.interrupted = True
            members = list(self._members)
        for member in members:
            member.interrupt()

    def __enter__(self) -> InterruptScope:
        self._previous = current_scope()
        _active.scope = self
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        _active.scope = self._previous
        with self._lock:
            self._members.clear()


def current_scope() -> Optional[InterruptScope]:
    """The scope active in this thread, if any."""
    return getattr(_active, "scope", None)
