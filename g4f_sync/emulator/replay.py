"""The replay service: recorded responses served again at ``/replay/v1``, to test a client
against the bytes a real server sent (its dialect) without that server.

::

    from g4f_sync import Client
    from g4f_sync.emulator import Emulator, Recording, ReplayOptions

    capture = Recording.load("captures/stream.http")  # curl -i output
    with Emulator(replay=ReplayOptions(stream=capture)) as emu:
        client = Client(base_url=emu.url + "/replay/v1")
        for chunk in client.chat.completions.create(messages, "any", stream=True): ...

``POST /replay/v1/chat/completions`` answers with :attr:`ReplayOptions.stream` when the
request's JSON body has ``"stream": true``, else with :attr:`ReplayOptions.nonstream`;
``GET /replay/v1/models`` with :attr:`ReplayOptions.models`; a 404 that names the option
when it is not set. A recording keeps its status, reason and headers, except the framing
and hop-by-hop ones (:data:`DROPPED_HEADERS`), for which the emulator's own framing goes
(``Date`` and, when none was recorded, ``Server`` are the emulator's too). A
``text/event-stream`` body goes one event (through its blank line) per write, paced by
``delay`` and ended as ``framing`` says; any other body goes whole, with
``Content-Length``. The recordings are set in Python or on the command line
(``--replay-stream FILE``), never by a query string: that would read local files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar, Mapping, Optional, Sequence

from .exchange import Exchange, Route
from .faults import send_json_error
from .options import ServiceOptions, option
from .recording import Recording
from .service import Service

__all__ = [
    "API_BASE",
    "DROPPED_HEADERS",
    "RECORDINGS",
    "ReplayOptions",
    "ReplayService",
    "sse_events",
]

API_BASE = "/replay/v1"
"""The path a client's ``base_url`` ends with: ``emu.url + API_BASE``."""

DROPPED_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "date",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
"""Recorded headers not replayed (lower-case): framing and hop-by-hop ones, and the date;
the emulator sends its own."""

RECORDINGS = {
    "stream": "streamed chat requests",
    "nonstream": "chat requests that do not stream",
    "models": "GET /models",
}
"""Each recording option, and the requests it answers."""

_FILE_HELP = ": FILE (curl -i output), HEAD+BODY or STATUS:BODY"


@dataclass
class ReplayOptions(ServiceOptions):
    """The recordings the replay service answers with, and how it paces event streams
    (``delay``, ``framing``). Each recording is a :class:`~.recording.Recording` or None
    (a 404 naming the option). Raises ``ValueError`` on a value of another type.

    ``tokens``, ``fault`` and ``retry_after`` are not options here: a replay sends its
    recordings, with no faults of its own; setting them is a ``ValueError``.
    """

    FAULTS: ClassVar[tuple[str, ...]] = ()

    tokens: Optional[Sequence[str]] = None
    fault: Optional[str] = None
    retry_after: str = "1"
    stream: Optional[Recording] = option(
        None,
        parse=Recording.from_spec,
        query=False,
        metavar="FILE",
        help="the answer to streamed chat requests" + _FILE_HELP,
    )
    """The answer to a chat request whose JSON body has ``"stream": true``."""
    nonstream: Optional[Recording] = option(
        None,
        parse=Recording.from_spec,
        query=False,
        metavar="FILE",
        help="the answer to chat requests that do not stream" + _FILE_HELP,
    )
    """The answer to any other chat request."""
    models: Optional[Recording] = option(
        None,
        parse=Recording.from_spec,
        query=False,
        metavar="FILE",
        help="the answer to GET /models" + _FILE_HELP,
    )
    """The answer to ``GET /replay/v1/models``."""

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field with a bad value."""
        super().validate()
        if self.tokens is not None:
            raise ValueError("tokens: a replay sends its recordings, not tokens")
        if self.retry_after != "1":
            raise ValueError("retry_after: a replay has no rate_limit fault to send it with")
        for name in RECORDINGS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, Recording):
                raise ValueError(f"{name}: must be a Recording or None, not {value!r}")


class ReplayService(Service[ReplayOptions]):
    """Serves the recordings of :attr:`options`, read afresh for every request."""

    options_class = ReplayOptions

    def routes(self) -> Mapping[tuple[str, str], Route]:
        """``(method, path) -> route`` for the server."""
        return {
            ("POST", API_BASE + "/chat/completions"): self.chat_completions,
            ("GET", API_BASE + "/models"): self.models,
        }

    def chat_completions(self, exchange: Exchange) -> None:
        """``POST /replay/v1/chat/completions``: the ``stream`` or ``nonstream`` recording."""
        self._replay(exchange, "stream" if wants_stream(exchange.request.body) else "nonstream")

    def models(self, exchange: Exchange) -> None:
        """``GET /replay/v1/models``: the ``models`` recording."""
        self._replay(exchange, "models")

    def _replay(self, exchange: Exchange, name: str) -> None:
        options = self.options_for(exchange)
        if options is None:
            return
        recording: Optional[Recording] = getattr(options, name)
        if recording is None:
            flag = "--replay-" + name
            message = (
                f"replay: no recording for {RECORDINGS[name]}: set ReplayOptions.{name}"
                f" (emu.replay.{name} = Recording.load(...), or {flag} FILE)"
            )
            return send_json_error(exchange, 404, message)
        replay(exchange, recording, options)


def replay(exchange: Exchange, recording: Recording, options: ReplayOptions) -> None:
    """Send ``recording``: an event stream one event a write, paced; anything else whole.
    ``tokens_sent`` counts the events written (1 for a whole body)."""
    headers = [
        (name, value) for name, value in recording.headers if name.lower() not in DROPPED_HEADERS
    ]
    reason = recording.reason or None
    request = exchange.request
    if recording.media_type != "text/event-stream":
        request.tokens_sent = 1
        exchange.respond(
            recording.status, recording.body, content_type=None, headers=headers, reason=reason
        )
        return
    events = sse_events(recording.body)
    exchange.start(recording.status, headers, framing=options.framing, reason=reason)

    def write(index: int) -> bytes:
        request.tokens_sent += 1  # before the write: a reader never sees more
        return events[index]

    exchange.pace(len(events), write, options.delay)
    exchange.end()


def wants_stream(body: bytes) -> bool:
    """Whether a chat request asks to stream: its body a JSON object with ``"stream":
    true``. Any other body (no JSON, ``"stream": "yes"``) is not streamed, and gets the
    ``nonstream`` recording, which a server's answer to a bad request may be."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("stream") is True


def sse_events(body: bytes) -> list[bytes]:
    """``body`` cut after each blank line (CRLF, LF or CR line ends): each event with the
    blank line that ends it, and anything after the last one as a piece of its own.
    Joined, they are ``body``."""
    events = []
    start = position = 0
    for line in body.splitlines(keepends=True):
        position += len(line)
        if line in (b"\n", b"\r\n", b"\r"):
            events.append(body[start:position])
            start = position
    if start < len(body):
        events.append(body[start:])
    return events
