"""The readers compared: the SDK's surfaces, the floors, and the reference g4f.

Each reader turns an API URL of the emulator (with its query string) into an iterator of
text tokens: the Koala readers (:data:`KOALA`) a ``/api/gpt/`` URL, the OpenAI-compatible
ones (:data:`OPENAI`) a ``/v1/chat/completions`` URL (:func:`route` says which). Each
stream has its floors: plain requests and a raw socket reading it. Libraries are imported
inside the readers, so a process pays only for the reader it runs (this matters for the
memory figure, and the reference reader runs in a virtual environment without g4f_sync's
dependencies).
"""

from __future__ import annotations

import json
import socket
from typing import Any, Callable, Dict, Iterator, List, Tuple, Type
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "FLOORS",
    "KOALA",
    "KOALA_PATH",
    "MEASURED",
    "OPENAI",
    "OPENAI_PATH",
    "PAYLOADS",
    "READERS",
    "REFERENCE",
    "SDK",
    "STREAM_FLOORS",
    "NotAvailableError",
    "open_reader",
    "route",
    "stream_bytes_per_token",
]

KOALA_PATH = "/api/gpt/"
OPENAI_PATH = "/v1/chat/completions"

MESSAGES: List[Dict[str, str]] = [{"role": "user", "content": "Count for me"}]
BODY: Dict[str, Any] = {
    "input": "Count for me",
    "inputHistory": [],
    "outputHistory": [],
    "model": "gpt-4o-mini",
}
OPENAI_MODEL = "emulated-gpt"
OPENAI_BODY: Dict[str, Any] = {"model": OPENAI_MODEL, "messages": MESSAGES, "stream": True}
RECV_SIZE = 65536


class NotAvailableError(Exception):
    """The reader's code is not there (not built yet, or not installed)."""


def _socket_body(endpoint: str, payload: Dict[str, Any]) -> Iterator[bytes]:
    """POST ``payload`` by hand (HTTP/1.1, ``Connection: close``) and yield the body as it
    arrives, in ``recv`` pieces (the first: what came with the head), raw: chunk-size
    lines of a chunked body are left in, for the caller to skip over."""
    parts = urlsplit(endpoint)
    body = json.dumps(payload).encode()
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Accept: text/event-stream\r\nConnection: close\r\n\r\n"
    ).encode()
    sock = socket.create_connection((parts.hostname, parts.port or 80))
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
                yield buffer[end + 4 :]
                break
        while True:
            data = sock.recv(RECV_SIZE)
            if not data:
                return
            yield data
    finally:
        sock.close()


def read_socket(endpoint: str) -> Iterator[str]:
    """The absolute ceiling: an HTTP/1.1 request written by hand, ``recv`` into a buffer,
    split on blank lines, ``json.loads`` of what follows ``data: ``.

    Chunk-size lines of a chunked body are skipped over, not checked: right for the
    emulator's output, not a general HTTP client.
    """
    loads = json.loads
    for data in _socket_events(endpoint, BODY):
        yield loads(data)


def _socket_events(endpoint: str, body: bytes) -> Iterator[bytes]:
    """The ``data:`` value of each event of a stream read by hand (see
    :func:`read_socket`)."""
    buffer = b""
    for data in _socket_body(endpoint, body):
        buffer += data
        blocks = buffer.split(b"\n\n")
        buffer = blocks.pop()
        for block in blocks:
            start = block.find(b"data: ")
            if start >= 0:
                yield block[start + 6 :]


def _openai_content(data: bytes) -> Any:
    """The text a chunk's ``data:`` value adds to choice 0 (None for ``[DONE]``, for no
    choice and for none): ``json.loads`` and three lookups."""
    if data == b"[DONE]":
        return None
    choices = json.loads(data)["choices"]
    return choices[0]["delta"].get("content") if choices else None


def read_openai_socket(endpoint: str) -> Iterator[str]:
    """The raw-socket ceiling of an OpenAI stream: as :func:`read_socket`, each event's
    JSON object reduced to ``choices[0].delta.content`` (the non-empty ones)."""
    content_of = _openai_content
    for data in _socket_events(endpoint, OPENAI_BODY):
        content = content_of(data)
        if content:
            yield content


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


def read_openai_requests(endpoint: str) -> Iterator[str]:
    """The requests floor of an OpenAI stream: ``requests.post(stream=True).iter_lines()``,
    ``json.loads`` of each ``data: `` line and its ``choices[0].delta.content`` (the
    non-empty ones)."""
    import requests

    content_of = _openai_content
    with requests.post(endpoint, json=OPENAI_BODY, stream=True, timeout=(10, 60)) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith(b"data: "):
                content = content_of(line[6:])
                if content:
                    yield content


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


def _openai_base(endpoint: str) -> Tuple[str, Dict[str, str]]:
    """An OpenAI chat URL of the emulator as a base URL (``.../v1``) and its query."""
    parts = urlsplit(endpoint)
    path = parts.path[: -len("/chat/completions")]
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return f"{parts.scheme}://{parts.netloc}{path}", query


def read_openai_provider(endpoint: str) -> Iterator[str]:
    """``Custom.create_completion(stream=True)`` (``Custom`` rebased on the emulator, the
    options as its query): the OpenAI-compatible provider's token iterator."""
    from g4f_sync.Provider import Custom
    from g4f_sync.Provider.registry import rebase_provider

    base, query = _openai_base(endpoint)
    provider: Any = rebase_provider(Custom, base, query=query)
    with provider.create_completion(OPENAI_MODEL, MESSAGES, timeout=(10, 60)) as stream:
        yield from stream


def read_openai_client(endpoint: str) -> Iterator[str]:
    """``Client(base_url=...).chat.completions.create(stream=True)`` (the options as
    ``extra_query``): ``choices[0].delta.content`` of each ChatCompletionChunk."""
    from g4f_sync import Client  # type: ignore[attr-defined]

    base, query = _openai_base(endpoint)
    chunks = Client(base_url=base, timeout=(10, 60)).chat.completions.create(
        MESSAGES, OPENAI_MODEL, stream=True, extra_query=query
    )
    try:
        for chunk in chunks:
            if chunk.choices:
                content = chunk.choices[0].delta.content
                if content:
                    yield content
    finally:
        chunks.close()


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

KOALA: Dict[str, Reader] = {
    "provider": read_provider,
    "client": read_client,
    "threaded": read_threaded,
    "requests": read_requests,
    "socket": read_socket,
}
"""The readers of the Koala stream (one JSON string an event), g4f_sync's then the floors."""
OPENAI: Dict[str, Reader] = {
    "openai_provider": read_openai_provider,
    "openai_client": read_openai_client,
    "openai_requests": read_openai_requests,
    "openai_socket": read_openai_socket,
}
"""The readers of the OpenAI stream (one chat.completion.chunk object an event)."""
FLOORS: Dict[str, Reader] = {
    "requests": read_requests,
    "socket": read_socket,
    "openai_requests": read_openai_requests,
    "openai_socket": read_openai_socket,
}
SDK: Dict[str, Reader] = {
    name: reader for name, reader in {**KOALA, **OPENAI}.items() if name not in FLOORS
}
MEASURED = (*KOALA, *OPENAI)
"""g4f_sync's readers and the floors, in the order a run measures and reports them."""
STREAM_FLOORS: Dict[str, str] = {
    **{name: "requests" for name in KOALA},
    **{name: "openai_requests" for name in OPENAI},
}
"""Each reader's requests floor on the same stream."""
REFERENCE: Dict[str, Reader] = {"g4f": read_reference, "g4f-client": read_reference_client}
READERS: Dict[str, Reader] = {**KOALA, **OPENAI, **REFERENCE}


PAYLOADS: Dict[str, Dict[str, Any]] = {KOALA_PATH: BODY, OPENAI_PATH: OPENAI_BODY}
"""The request body the readers of each route send."""


def stream_bytes_per_token(base: str, path: str, count: int) -> float:
    """Bytes of the event stream at ``path`` per token, for a ``count``-token answer: the
    body as the server sends it (without HTTP's chunk framing), divided by ``count``."""
    import http.client

    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    size = 0
    try:
        body = json.dumps(PAYLOADS[path])
        headers = {"Content-Type": "application/json"}
        connection.request("POST", f"{path}?count={count}", body=body, headers=headers)
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")
        while True:
            piece = response.read(RECV_SIZE)
            if not piece:
                break
            size += len(piece)
    finally:
        connection.close()
    return size / count


def route(name: str) -> str:
    """The emulator's path that reader ``name`` reads: Koala's API or OpenAI's chat."""
    return OPENAI_PATH if name in OPENAI else KOALA_PATH


def open_reader(name: str, endpoint: str) -> Iterator[str]:
    """The token iterator of reader ``name`` on ``endpoint``; KeyError for an unknown name."""
    return READERS[name](endpoint)
