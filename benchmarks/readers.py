"""The readers compared: the SDK's three surfaces, two floors, and the reference g4f.

Each reader turns a Koala API URL of the emulator (with its query string) into an iterator
of text tokens. Libraries are imported inside the readers, so a process pays only for the
reader it runs (this matters for the memory figure, and the reference reader runs in a
virtual environment without g4f_sync's dependencies).
"""

from __future__ import annotations

import json
import socket
from typing import Any, Callable, Dict, Iterator, List, Type
from urllib.parse import urlsplit

__all__ = [
    "FLOORS",
    "READERS",
    "REFERENCE",
    "SDK",
    "NotAvailableError",
    "open_reader",
]

MESSAGES: List[Dict[str, str]] = [{"role": "user", "content": "Count for me"}]
BODY: Dict[str, Any] = {
    "input": "Count for me",
    "inputHistory": [],
    "outputHistory": [],
    "model": "gpt-4o-mini",
}
RECV_SIZE = 65536


class NotAvailableError(Exception):
    """The reader's code is not there (not built yet, or not installed)."""


def read_socket(endpoint: str) -> Iterator[str]:
    """The absolute ceiling: an HTTP/1.1 request written by hand, ``recv`` into a buffer,
    split on blank lines, ``json.loads`` of what follows ``data: ``.

    Chunk-size lines of a chunked body are skipped over, not checked: right for the
    emulator's output, not a general HTTP client.
    """
    parts = urlsplit(endpoint)
    body = json.dumps(BODY).encode()
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Accept: text/event-stream\r\nConnection: close\r\n\r\n"
    ).encode()
    sock = socket.create_connection((parts.hostname, parts.port or 80))
    loads = json.loads
    try:
        sock.sendall(head + body)
        buffer = b""
        while True:
            data = sock.recv(RECV_SIZE)
            if not data:
                return
            buffer += data
            end = buffer.find(b"\r\n\r\n")
            if end >= 0:
                if not buffer.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"raw socket: {buffer[:end].decode(errors='replace')}")
                buffer = buffer[end + 4 :]
                break
        while True:
            blocks = buffer.split(b"\n\n")
            buffer = blocks.pop()
            for block in blocks:
                start = block.find(b"data: ")
                if start >= 0:
                    yield loads(block[start + 6 :])
            data = sock.recv(RECV_SIZE)
            if not data:
                return
            buffer += data
    finally:
        sock.close()


def read_requests(endpoint: str) -> Iterator[str]:
    """The requests floor: ``requests.post(stream=True).iter_lines()`` and ``json.loads``
    of each ``data: `` line."""
    import requests

    loads = json.loads
    with requests.post(endpoint, json=BODY, stream=True, timeout=(10, 60)) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith(b"data: "):
                yield loads(line[6:])


def koala_for(endpoint: str) -> Type[Any]:
    """``g4f_sync.Provider.Koala`` rebased onto ``endpoint`` (a subclass)."""
    from g4f_sync.Provider import Koala

    parts = urlsplit(endpoint)
    site = f"{parts.scheme}://{parts.netloc}"
    attributes = {"url": f"{site}/chat", "api_endpoint": endpoint, "working": True}
    return type("Koala", (Koala,), attributes)


def read_provider(endpoint: str) -> Iterator[str]:
    """``Koala.create_completion(stream=True)``: the provider's token iterator."""
    with koala_for(endpoint).create_completion("", MESSAGES, timeout=(10, 60)) as stream:
        yield from stream


def read_client(endpoint: str) -> Iterator[str]:
    """``Client().chat.completions.create(stream=True)``: ``choices[0].delta.content`` of
    each ChatCompletionChunk."""
    try:
        from g4f_sync import Client  # type: ignore[attr-defined]
    except ImportError:
        raise NotAvailableError("g4f_sync.Client: n/a (not built yet)") from None
    client = Client()
    chunks = client.chat.completions.create(
        model="", messages=MESSAGES, provider=koala_for(endpoint), stream=True
    )
    try:
        for chunk in chunks:
            if chunk.choices:
                content = chunk.choices[0].delta.content
                if content:
                    yield content
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def read_threaded(endpoint: str) -> Iterator[str]:
    """``ThreadedStream`` over the provider call: the tokens come from a worker thread."""
    from functools import partial

    try:
        from g4f_sync.threaded import ThreadedStream
    except ImportError:
        raise NotAvailableError("g4f_sync.threaded.ThreadedStream: n/a (not built yet)") from None
    call = partial(koala_for(endpoint).create_completion, "", MESSAGES, timeout=(10, 60))
    with ThreadedStream(call) as stream:
        yield from stream


def reference_koala(endpoint: str) -> Type[Any]:
    """g4f 0.4.7.0's Koala rebased onto ``endpoint``; version check off (it calls PyPI)."""
    try:
        import g4f
    except ImportError:
        raise NotAvailableError("g4f is not installed: use --with-reference") from None
    g4f.debug.version_check = False
    try:
        from g4f.Provider import Koala
    except ImportError:
        from g4f.Provider.not_working import Koala  # type: ignore[no-redef]
    parts = urlsplit(endpoint)
    site = f"{parts.scheme}://{parts.netloc}"
    attributes = {"url": f"{site}/chat", "api_endpoint": endpoint, "working": True}
    return type("Koala", (Koala,), attributes)


def read_reference(endpoint: str) -> Iterator[str]:
    """g4f 0.4.7.0's sync API: ``g4f.ChatCompletion.create(provider=Koala, stream=True)``."""
    koala = reference_koala(endpoint)
    import g4f

    for token in g4f.ChatCompletion.create(
        model="gpt-4o-mini", messages=MESSAGES, provider=koala, stream=True
    ):
        if isinstance(token, str):
            yield token


def read_reference_client(endpoint: str) -> Iterator[str]:
    """g4f 0.4.7.0's ``Client().chat.completions.create(stream=True)`` chunks."""
    koala = reference_koala(endpoint)
    from g4f.client import Client

    chunks = Client().chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, provider=koala, stream=True
    )
    for chunk in chunks:
        if chunk.choices:
            content = chunk.choices[0].delta.content
            if content:
                yield content


Reader = Callable[[str], Iterator[str]]

SDK: Dict[str, Reader] = {
    "provider": read_provider,
    "client": read_client,
    "threaded": read_threaded,
}
FLOORS: Dict[str, Reader] = {"requests": read_requests, "socket": read_socket}
REFERENCE: Dict[str, Reader] = {"g4f": read_reference, "g4f-client": read_reference_client}
READERS: Dict[str, Reader] = {**SDK, **FLOORS, **REFERENCE}


def open_reader(name: str, endpoint: str) -> Iterator[str]:
    """The token iterator of reader ``name`` on ``endpoint``; KeyError for an unknown name."""
    return READERS[name](endpoint)
