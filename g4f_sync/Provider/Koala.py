"""Koala (koala.sh): JSON-string tokens over server-sent events.

Protocol: ``POST api_endpoint`` with ``{"input", "inputHistory", "outputHistory",
"model"}``; the answer is ``text/event-stream`` whose events carry one JSON string each
(``data: "Hello"``); ``data: [DONE]`` ends it when a server sends it.
"""

from __future__ import annotations

from json.decoder import scanstring
from typing import Any, Dict, Iterator
from urllib.parse import urlsplit

from urllib3.util.request import ACCEPT_ENCODING

from ..errors import ResponseError
from ..http import Transport
from ..json_decode import decode_json
from ..sse import iter_events
from ..typing import Messages
from .base import GeneratorProvider, ProviderModelMixin
from .helper import get_random_string

__all__ = ["Koala"]

USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:122.0) Gecko/20100101 Firefox/122.0"


class Koala(GeneratorProvider, ProviderModelMixin):
    """koala.sh chat (the public service is gone: ``working = False``)."""

    url = "https://koala.sh/chat"
    api_endpoint = "https://koala.sh/api/gpt/"
    working = False
    supports_message_history = True
    default_model = "gpt-4o-mini"
    models = ["gpt-4o-mini"]

    @classmethod
    def build_headers(cls) -> Dict[str, str]:
        """The reference's headers, with ``Origin``/``Alt-Used`` derived from ``url`` and
        ``Accept-Encoding`` limited to what this installation can decode."""
        site = urlsplit(cls.url)
        return {
            "User-Agent": USER_AGENT,
            "Accept": "text/event-stream",
            "Accept-Language": "de,en-US;q=0.7,en;q=0.3",
            "Accept-Encoding": ACCEPT_ENCODING,
            "Referer": cls.url,
            "Flag-Real-Time-Data": "false",
            "Visitor-ID": get_random_string(20),
            "Origin": f"{site.scheme}://{site.netloc}",
            "Alt-Used": site.netloc,
            "Sec-Fetch-Dest": "empty",
            "Sec-Fetch-Mode": "cors",
            "Sec-Fetch-Site": "same-origin",
            "TE": "trailers",
        }

    @classmethod
    def build_payload(cls, model: str, messages: Messages) -> Dict[str, Any]:
        """The JSON body: the last message (plus system contents), user and assistant
        history, and the model."""
        system = " ".join(message["content"] for message in messages if message["role"] == "system")
        text = messages[-1]["content"]
        return {
            "input": f"{text} {system}" if system else text,
            "inputHistory": [m["content"] for m in messages[:-1] if m["role"] == "user"],
            "outputHistory": [m["content"] for m in messages if m["role"] == "assistant"],
            "model": model,
        }

    @classmethod
    def create_generator(
        cls, model: str, messages: Messages, transport: Transport, **kwargs: Any
    ) -> Iterator[str]:
        response = transport.post(
            cls.api_endpoint, json=cls.build_payload(model, messages), headers=cls.build_headers()
        )
        for event in iter_events(response):
            if event.event != "message":
                continue
            if event.data == "[DONE]":
                return
            try:
                token = _loads(event.data)
            except ValueError as exc:
                raise ResponseError(
                    f"cannot read the event line {'data: ' + event.data[:200]!r}: {exc}"
                ) from None
            if not isinstance(token, str):
                raise ResponseError(
                    f"expected a JSON string token, got {'data: ' + event.data[:200]!r}"
                )
            yield token


def _loads(data: str) -> Any:
    """:func:`~g4f_sync.json_decode.decode_json`, with a fast path for the usual event
    data: one JSON string."""
    if data[:1] == '"':
        try:
            token, end = scanstring(data, 1)
        except ValueError:
            end = -1
        if end == len(data):
            return token
    return decode_json(data)
