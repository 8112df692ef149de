"""One answer on stdout: streamed as it arrives (or whole, with ``--no-stream``), and
stopped by Ctrl-C with the connection closed."""

from __future__ import annotations

import argparse
import signal
import threading
from dataclasses import dataclass
from types import FrameType
from typing import Any, Dict, List, Optional

from .. import errors
from .reporting import fresh_line

__all__ = ["Answer", "CtrlC", "ask"]


@dataclass(frozen=True)
class Answer:
    """What :func:`ask` printed: the answer's text (what came of it, when interrupted)."""

    text: str
    interrupted: bool = False
    """Ctrl-C stopped it."""


def ask(
    client: Any, provider: Any, model: str, messages: List[Dict[str, Any]], args: argparse.Namespace
) -> Answer:
    """Ask ``provider`` (through ``client``) and print the answer: each token as it
    arrives, or the whole answer with ``--no-stream``; chunks (or the answer) as JSON with
    ``--json``. The answer's line is ended, also after an error or Ctrl-C.

    Ctrl-C during a streamed answer interrupts it (its connection is shut down and
    closed) and returns what came, ``interrupted``; during a whole answer it closes the
    connection and returns nothing, ``interrupted``. Other errors propagate.
    """
    create = client.chat.completions.create
    options = {"provider": provider, "ignore_working": args.ignore_working}
    if args.no_stream:
        try:
            response = create(messages, model, **options)
        except KeyboardInterrupt:  # the client closed the connection on the way out
            fresh_line()
            return Answer("", interrupted=True)
        text: str = response.choices[0].message.content or ""
        print(response.to_json() if args.json else text, flush=True)
        return Answer(text)
    parts: List[str] = []
    with CtrlC() as ctrl_c:
        try:
            with create(messages, model, stream=True, **options) as chunks:
                ctrl_c.watch(chunks)
                try:
                    for chunk in chunks:
                        content = chunk.choices[0].delta.content if chunk.choices else None
                        if args.json:
                            print(chunk.to_json(), flush=True)
                        elif content:
                            print(content, end="", flush=True)
                        if content:
                            parts.append(content)
                finally:
                    if parts and not args.json:
                        print(flush=True)  # end the answer's line
        except errors.G4FError:
            if not ctrl_c.pressed:
                raise
    if ctrl_c.pressed:
        if args.json or not parts:
            fresh_line()  # after the terminal's ^C
        return Answer("".join(parts), interrupted=True)
    return Answer("".join(parts))


class CtrlC:
    """While active (a ``with`` block), Ctrl-C (SIGINT) interrupts the stream being
    watched instead of raising ``KeyboardInterrupt`` wherever the main thread is: the
    stream's ``interrupt()`` shuts its connection down, and iterating it raises
    :class:`~g4f_sync.errors.CancelledError` after the chunks that came.

    ``interrupt()`` runs in a thread of its own: the handler runs in the main thread,
    which may hold the transport's lock at that moment. A second Ctrl-C raises
    ``KeyboardInterrupt``, the way out should the first not end the answer. Installed only
    in the main thread (the one signals reach), and not over an ignored SIGINT.
    """

    def __init__(self) -> None:
        self.pressed = False
        self._stream: Any = None
        self._threads: List[threading.Thread] = []
        self._previous: Any = None
        self._installed = False

    def watch(self, stream: Any) -> None:
        """Interrupt ``stream`` on Ctrl-C (at once if Ctrl-C came already)."""
        self._stream = stream
        if self.pressed:
            self._interrupt(stream)

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True
        if self._stream is not None:
            self._interrupt(self._stream)

    def _interrupt(self, stream: Any) -> None:
        thread = threading.Thread(
            target=stream.interrupt, name="g4f-sync: Ctrl-C interrupt", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous is not signal.SIG_IGN:
                self._previous = signal.signal(signal.SIGINT, self._handle)
                self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous or signal.SIG_DFL)
        for thread in self._threads:
            thread.join()
