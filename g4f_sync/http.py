"""HTTP over requests: sessions, proxies, timeouts, retries and status errors.

This layer knows requests and urllib3, and nothing about chat. Everything it raises is
a :mod:`g4f_sync.errors` exception with the requests/urllib3 exception as ``__cause__``.
"""

from __future__ import annotations

import email.message
import email.utils
import http.client
import math
import random
import socket
import threading
import time
from typing import Any, Callable, Iterator, List, Mapping, NamedTuple, Optional, Tuple, Union
from urllib.parse import urlsplit

import requests
import urllib3
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from . import compat, errors
from .interrupt import current_scope
from .json_decode import decode_json

__all__ = [
    "DEFAULT_POOL_MAXSIZE",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "Retry",
    "Session",
    "Timeout",
    "TimeoutLike",
    "Transport",
    "iter_body",
    "parse_proxy",
    "raise_for_status",
    "read_body",
    "read_json",
    "read_text",
    "redact_url",
    "send_with_retries",
]

PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
READ_SIZE = 65536
"""Most bytes one ``read1`` call returns; it returns sooner with whatever has arrived."""
ERROR_BODY_LIMIT = 65536
"""Most bytes read from an error response to classify it."""
BODY_LIMIT = 16 * 1024 * 1024
"""Most bytes :func:`read_body` reads by default before giving up on an answer."""
EXCERPT_LENGTH = 200
MAX_CHUNK_SIZE_LINE = 1024
"""Longest chunk-size line :func:`iter_body` parses itself; longer ones go to http.client."""
CLOUDFLARE_MARKERS = ('<div id="cf-please-wait">', "<title>Just a moment...</title>")


class Timeout(NamedTuple):
    """Seconds to wait for a connection, and for each read of the answer.

    ``read`` is the longest silence between two bytes, not a limit on the whole
    answer: a stream that keeps sending never times out. ``None`` waits forever.
    A ``Timeout`` is the ``(connect, read)`` pair requests takes.
    """

    connect: Optional[float] = 10.0
    read: Optional[float] = 120.0

    @classmethod
    def coerce(cls, value: TimeoutLike) -> Timeout:
        """Accept a ``Timeout``, one number for both, a ``(connect, read)`` pair, or None
        for the defaults. Raises :class:`~g4f_sync.errors.InvalidRequestError` unless
        each value is a positive, finite number of seconds or None (wait forever)."""
        if value is None:
            return DEFAULT_TIMEOUT
        if isinstance(value, tuple) and len(value) == 2:
            connect = _seconds("timeout", "connect", value[0], value)
            read = _seconds("timeout", "read", value[1], value)
            return cls(connect, read)
        if _is_number(value):
            seconds = _seconds("timeout", None, value, value)
            return cls(seconds, seconds)
        raise errors.InvalidRequestError(
            f"timeout must be a number, a (connect, read) pair or a Timeout, got {value!r}"
        )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _seconds(option: str, part: Optional[str], value: object, whole: object) -> Optional[float]:
    """``value`` as seconds: a positive finite number, or None (no limit)."""
    if value is None and part is not None:
        return None
    if _is_number(value) and 0 < value < math.inf:  # type: ignore[operator]
        return float(value)  # type: ignore[arg-type]
    what = f"the {part} part of {option}" if part else option
    hint = "; use None to wait forever" if _is_number(value) and value == math.inf else ""
    raise errors.InvalidRequestError(
        f"{what} must be a positive number of seconds or None, got {value!r}"
        f"{f' (in {whole!r})' if part else ''}{hint}"
    )


TimeoutLike = Union[Timeout, float, Tuple[Optional[float], Optional[float]], None]
DEFAULT_TIMEOUT = Timeout()


class Retry(NamedTuple):
    """When to send a request again: only before the first byte of its answer's body.

    Retried: connection failures, 429 and 5xx, at most ``total`` times. The wait before
    retry *n* (from 0) is ``backoff * 2**n`` capped at ``backoff_max``, times a random
    factor in [0.5, 1] (jitter), or the server's ``Retry-After`` when that is longer.
    A ``Retry-After`` above ``retry_after_max`` is not waited for: the error is raised
    at once, carrying ``retry_after``.
    """

    total: int = 2
    backoff: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 60.0

    @classmethod
    def coerce(cls, value: Union[Retry, int, None]) -> Retry:
        """Accept a ``Retry``, a number of retries, or None for the defaults; raises
        :class:`~g4f_sync.errors.InvalidRequestError` for anything else."""
        if value is None:
            return DEFAULT_RETRY
        if isinstance(value, Retry):
            _check_retry(value)
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return cls(total=value)
        raise errors.InvalidRequestError(
            f"max_retries must be a non-negative integer or a Retry, got {value!r}"
        )

    def wait(self, attempt: int, retry_after: Optional[float] = None) -> float:
        """Seconds to sleep before retry number ``attempt`` (0-based)."""
        delay = min(self.backoff_max, self.backoff * 2**attempt) * random.uniform(0.5, 1.0)
        return max(delay, retry_after or 0.0)


def _check_retry(retry: Retry) -> None:
    if not (_is_number(retry.total) and isinstance(retry.total, int) and retry.total >= 0):
        raise errors.InvalidRequestError(
            f"Retry.total must be a non-negative integer, got {retry.total!r}"
        )
    for name in ("backoff", "backoff_max", "retry_after_max"):
        value = getattr(retry, name)
        if not (_is_number(value) and 0 <= value < math.inf):
            raise errors.InvalidRequestError(
                f"Retry.{name} must be a non-negative number of seconds, got {value!r}"
            )


DEFAULT_RETRY = Retry()


def redact_url(url: str) -> str:
    """``url`` with the password of its user information replaced by ``***``
    (``http://user:***@host:3128``); works on malformed URLs too."""
    scheme, separator, rest = url.partition("//")
    if not separator:
        return url
    end = len(rest)
    for stop in "/?#":
        index = rest.find(stop)
        if index >= 0:
            end = min(end, index)
    authority = rest[:end]
    userinfo, at, host = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}//{user}:***@{host}{rest[end:]}"


def parse_proxy(proxy: Optional[str]) -> Optional[Mapping[str, str]]:
    """Turn ``"http://user:pw@host:3128"`` or ``"socks5://host:1080"`` into requests'
    ``proxies`` mapping. Raises :class:`~g4f_sync.errors.InvalidProxyError` for a
    malformed URL and :class:`~g4f_sync.errors.MissingRequirementsError` for SOCKS
    without PySocks; messages show the URL with its password masked."""
    if proxy is None:
        return None
    if not isinstance(proxy, str) or not proxy.strip():
        raise errors.InvalidProxyError(
            f"proxy must be a URL string, got {type(proxy).__name__ if proxy else repr(proxy)}"
        )
    shown = redact_url(proxy)
    parts = urlsplit(proxy)
    if parts.scheme not in PROXY_SCHEMES:
        raise errors.InvalidProxyError(
            f"proxy {shown!r}: scheme must be one of {', '.join(PROXY_SCHEMES)}"
            " (for example http://host:3128)"
        )
    try:
        port = parts.port
    except ValueError:
        raise errors.InvalidProxyError(
            f"proxy {shown!r}: the port is not a number 0-65535"
        ) from None
    if not parts.hostname:
        raise errors.InvalidProxyError(f"proxy {shown!r}: no host name")
    try:
        urllib3.util.parse_url(proxy)
    except urllib3.exceptions.LocationParseError:
        raise errors.InvalidProxyError(
            f"proxy {shown!r}: the host {parts.hostname!r} is not a valid host name"
        ) from None
    if any(char.isspace() for char in parts.hostname):
        raise errors.InvalidProxyError(
            f"proxy {shown!r}: the host {parts.hostname!r} is not a valid host name"
        )
    if port is None and parts.scheme.startswith("socks"):
        raise errors.InvalidProxyError(f"proxy {shown!r}: a SOCKS proxy needs a port")
    if parts.scheme.startswith("socks"):
        try:
            import socks  # noqa: F401  (PySocks, which requests uses for SOCKS)
        except ImportError:
            raise errors.MissingRequirementsError(
                f"proxy {shown!r} needs PySocks: pip install 'g4f_sync[socks]'"
            ) from None
    return {"http": proxy, "https": proxy}


DEFAULT_POOL_MAXSIZE = 32
"""Connections per host a :class:`Session` keeps for reuse: how many streams can run on
it at once without a connection being discarded."""


class _Adapter(HTTPAdapter):
    """requests' adapter whose pools report their sockets (:mod:`g4f_sync.compat`), so
    that an interrupt reaches a request that is connecting or waiting for its answer,
    and whose ``close()`` closes the pooled connections."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = compat.POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is urllib3.ProxyManager:  # not SOCKS, which has its own pools
            manager.pool_classes_by_scheme = compat.POOL_CLASSES
        return manager

    def close(self) -> None:
        for manager in (self.poolmanager, *self.proxy_manager.values()):
            compat.close_pools(manager)
        super().close()


class Session(requests.Session):
    """A requests session with g4f_sync's defaults: proxy, timeout, retries, pool size.

    ``timeout`` and ``max_retries`` apply to every request sent through it, g4f_sync's
    and your own (``session.get(...)``; a request's own ``timeout=`` wins); retries
    follow :class:`Retry`, and once they are spent you get the last response (or
    requests' exception), as with requests. ``close()`` closes every pooled connection.

    Safe to share between threads for sending requests (requests' pool is
    thread-safe); do not change its headers or cookies while other threads use it.
    A stream holds one connection from start to close: ``pool_maxsize`` bounds how many
    streams per host can run at once without a connection being opened in excess and
    then discarded (urllib3 logs "Connection pool is full"); give at least the number
    of threads that share the session.
    """

    def __init__(
        self,
        *,
        proxy: Optional[str] = None,
        timeout: TimeoutLike = None,
        max_retries: Union[Retry, int, None] = None,
        pool_maxsize: int = DEFAULT_POOL_MAXSIZE,
    ) -> None:
        if not (isinstance(pool_maxsize, int) and not isinstance(pool_maxsize, bool)) or (
            pool_maxsize < 1
        ):
            raise errors.InvalidRequestError(
                f"pool_maxsize must be a positive integer, got {pool_maxsize!r}"
            )
        self.timeout = Timeout.coerce(timeout)
        self.retry = Retry.coerce(max_retries)
        proxies = parse_proxy(proxy)
        super().__init__()
        if proxies:
            self.proxies.update(proxies)
        adapter = _Adapter(pool_connections=4, pool_maxsize=pool_maxsize)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """requests' ``send``, with this session's timeout when none is given and its
        retries, unless a g4f_sync call is sending (it retries itself)."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if getattr(_sending, "transport", None) is not None:
            return super().send(request, **kwargs)
        return send_with_retries(lambda: super(Session, self).send(request, **kwargs), self.retry)


_sending = threading.local()
"""``transport``: the :class:`Transport` sending in this thread, if any."""


def send_with_retries(
    send_once: Callable[[], requests.Response],
    retry: Retry,
    pause: Callable[[float], None] = time.sleep,
) -> requests.Response:
    """Call ``send_once`` until it answers with a status not worth retrying, or
    ``retry`` is spent; ``pause(seconds)`` waits before each retry.

    Retried: connection errors (not TLS errors) and the statuses of
    :data:`RETRY_STATUSES`, whose response is closed first; a ``Retry-After`` longer
    than ``retry.retry_after_max`` is not waited for. Returns the last response, or
    raises the last exception.
    """
    attempt = 0
    while True:
        try:
            response = send_once()
        except requests.RequestException as exc:
            if attempt >= retry.total or not _worth_retrying(exc):
                raise
            pause(retry.wait(attempt))
        else:
            delay = _retry_delay(response, attempt, retry)
            if delay is None:
                return response
            response.close()
            pause(delay)
        attempt += 1


def _worth_retrying(exc: requests.RequestException) -> bool:
    return isinstance(exc, requests.ConnectionError) and not isinstance(
        exc, requests.exceptions.SSLError
    )


def _retry_delay(response: requests.Response, attempt: int, retry: Retry) -> Optional[float]:
    """Seconds to wait before sending again after ``response``; None: do not."""
    if response.status_code not in RETRY_STATUSES or attempt >= retry.total:
        return None
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is not None and retry_after > retry.retry_after_max:
        return None
    return retry.wait(attempt, retry_after)


class Transport:
    """The HTTP side of one completion: sends requests with retries, keeps every
    response it opened, and closes them all.

    Arguments given here win over the session's own ``timeout``/``retry``/proxy; all
    are checked here, before any I/O. A transport created while an
    :class:`~g4f_sync.interrupt.InterruptScope` is active in its thread joins that
    scope.
    """

    def __init__(
        self,
        *,
        session: Optional[requests.Session] = None,
        proxy: Optional[str] = None,
        timeout: TimeoutLike = None,
        max_retries: Union[Retry, int, None] = None,
    ) -> None:
        if session is not None and not isinstance(session, requests.Session):
            raise errors.InvalidRequestError(
                "session must be a requests.Session (for example g4f_sync.Session()),"
                f" got {type(session).__name__}"
            )
        self.proxies = parse_proxy(proxy)
        self.timeout = (
            Timeout.coerce(timeout)
            if timeout is not None
            else Timeout.coerce(getattr(session, "timeout", None))
        )
        self.retry = (
            Retry.coerce(max_retries)
            if max_retries is not None
            else Retry.coerce(getattr(session, "retry", None))
        )
        self.owns_session = session is None
        self.session = session if session is not None else Session()
        self.responses: List[requests.Response] = []
        self.attempts = 0
        """Requests sent by the latest :meth:`request`, retries included."""
        self._lock = threading.Lock()
        self._interrupted = threading.Event()
        self._sockets: List[socket.socket] = []  # of the request being sent
        scope = current_scope()
        if scope is not None:
            scope.add(self)

    @property
    def interrupted(self) -> bool:
        """True once :meth:`interrupt` was called."""
        return self._interrupted.is_set()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request and return the streaming response once its status is 2xx.

        Retries as :class:`Retry` says; raises the mapped error otherwise, and
        :class:`~g4f_sync.errors.CancelledError` once :meth:`interrupt` was called.
        The body is not read: use :func:`iter_body` or ``g4f_sync.sse.iter_events``.
        """
        if self.proxies:
            kwargs.setdefault("proxies", self.proxies)
        self.attempts = 0
        try:
            response = send_with_retries(
                lambda: self._send_once(method, url, kwargs), self.retry, self._pause
            )
        except requests.RequestException as exc:
            self._check_interrupted()
            raise _with_attempts(wrap_requests_error(exc), self.attempts) from exc
        self.responses.append(response)
        self._check_interrupted()
        try:
            raise_for_status(response)
        except errors.G4FError as error:
            raise _with_attempts(error, self.attempts) from None
        return response

    def _send_once(self, method: str, url: str, kwargs: Any) -> requests.Response:
        self._check_interrupted()
        self.attempts += 1
        _sending.transport = self
        try:
            with compat.watching_sockets(self):
                return self.session.request(
                    method, url, stream=True, timeout=self.timeout, **kwargs
                )
        finally:
            _sending.transport = None
            with self._lock:
                self._sockets.clear()

    def _pause(self, seconds: float) -> None:
        """Wait before a retry; :meth:`interrupt` ends the wait."""
        self._interrupted.wait(seconds)
        self._check_interrupted()

    def watch_socket(self, sock: socket.socket) -> None:
        """Called by the connection sending a request (:mod:`g4f_sync.compat`): an
        interrupt shuts ``sock`` down until the request has its answer's head."""
        with self._lock:
            if not self._interrupted.is_set():
                self._sockets.append(sock)
                return
        _shutdown(sock)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def interrupt(self) -> bool:
        """Stop this transport's requests from any thread: a request not yet sent is not
        sent, a wait before a retry ends, and a connect, a wait for the answer or a read
        of it returns at once; the call then raises
        :class:`~g4f_sync.errors.CancelledError`. Returns whether a socket was reached
        (False also when nothing was in progress). Thread-safe, idempotent."""
        with self._lock:
            self._interrupted.set()
            reached = sum(_shutdown(sock) for sock in self._sockets)
            for response in self.responses:
                reached += _shutdown_response(response)
        return reached > 0

    def _check_interrupted(self) -> None:
        if self._interrupted.is_set():
            raise errors.CancelledError("interrupted by the caller")

    def close(self) -> None:
        """Close every response (the server sees the connection end) and an owned
        session with its pooled connections."""
        with self._lock:
            responses, self.responses = self.responses, []
        for response in responses:
            response.close()
        if self.owns_session:
            self.session.close()


def _shutdown(sock: socket.socket) -> bool:
    """Shut ``sock`` down for reading and writing; False if it is closed already."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return False
    return True


def _shutdown_response(response: requests.Response) -> bool:
    """Unblock a read of ``response``'s body (urllib3's ``shutdown()``); False when its
    connection was already released or closed."""
    try:
        response.raw.shutdown()
    except (AttributeError, ValueError, RuntimeError, OSError):
        return False
    return True


def _with_attempts(error: errors.G4FError, attempts: int) -> errors.G4FError:
    if attempts > 1:
        error.args = (f"{error} (after {attempts} attempts)", *error.args[1:])
    return error


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def read_prefix(response: requests.Response, limit: int = ERROR_BODY_LIMIT) -> str:
    """Up to ``limit`` bytes of the body, decoded leniently; never raises."""
    pieces: List[bytes] = []
    size = 0
    try:
        while size < limit:
            piece = response.raw.read1(limit - size, decode_content=True)
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
    except Exception:  # the excerpt is best effort; the status is what matters
        pass
    encoding = response.encoding or "utf-8"
    try:
        return b"".join(pieces).decode(encoding, errors="replace")
    except LookupError:
        return b"".join(pieces).decode("utf-8", errors="replace")


def excerpt(text: str, length: int = EXCERPT_LENGTH) -> str:
    """The start of ``text`` on one line, cut at ``length`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


def raise_for_status(response: requests.Response) -> None:
    """Raise the mapped error for a non-2xx response (and close it); do nothing for 2xx.

    429/402 -> RateLimitError, 403 with a Cloudflare page -> CloudflareError,
    anything else -> ResponseStatusError with the status and a body excerpt.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    body = read_prefix(response)
    response.close()
    where = f"{response.request.method} {response.url}" if response.request else response.url
    short = excerpt(body)
    if status in (429, 402):
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        raise errors.RateLimitError(
            f"rate limited (HTTP {status}) by {where}{wait}",
            status_code=status,
            body=short,
            retry_after=retry_after,
        )
    if status == 403 and any(marker in body for marker in CLOUDFLARE_MARKERS):
        raise errors.CloudflareError(
            f"{where} answered with a Cloudflare challenge (HTTP 403): the site"
            " blocks scripted clients from this address; try another proxy",
            status_code=status,
            body=short,
        )
    reason = f" {response.reason}" if response.reason else ""
    raise errors.ResponseStatusError(
        f"HTTP {status}{reason} from {where}: {short or '(empty body)'}",
        status_code=status,
        body=short,
    )


def wrap_requests_error(exc: BaseException) -> errors.G4FError:
    """The g4f_sync error for a requests/urllib3 exception (set ``__cause__`` yourself)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return errors.TimeoutError(f"could not connect within the connect timeout: {exc}")
    if isinstance(
        exc, (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, socket.timeout)
    ):
        return errors.TimeoutError(f"the server sent nothing within the read timeout: {exc}")
    if isinstance(exc, requests.exceptions.ProxyError):
        return errors.ConnectionError(f"the proxy refused or failed the connection: {exc}")
    if isinstance(exc, requests.exceptions.SSLError):
        return errors.ConnectionError(f"TLS verification failed: {exc}")
    if isinstance(
        exc,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ),
    ):
        return errors.InvalidRequestError(f"invalid URL: {exc}")
    if isinstance(exc, requests.ConnectionError):
        return errors.ConnectionError(f"could not connect: {exc}")
    return errors.ConnectionError(f"request failed: {exc}")


def iter_body(response: requests.Response) -> Iterator[bytes]:
    """Yield the (decoded) body as it arrives, without waiting to fill a buffer.

    Uses urllib3's ``read1``, which returns whatever the socket has, in chunked and in
    close-delimited responses alike (requests' ``iter_content``/``iter_lines`` hold
    bytes back in the latter). In a chunked body, the complete chunks already received
    come in one piece (``read1`` returns one chunk per call). Raises
    :class:`~g4f_sync.errors.StreamInterruptedError` when the connection breaks and
    :class:`~g4f_sync.errors.TimeoutError` when the server goes silent for longer than
    the read timeout.
    """
    raw = response.raw
    read1 = raw.read1
    whole_chunks = _whole_chunks_reader(raw)
    try:
        while True:
            chunk = whole_chunks() if whole_chunks is not None else b""
            if not chunk:
                chunk = read1(READ_SIZE, decode_content=True)
                if not chunk:
                    return
            yield chunk
    except (urllib3.exceptions.ReadTimeoutError, socket.timeout) as exc:
        raise errors.TimeoutError(
            "the server went silent mid-answer for longer than the read timeout"
        ) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise errors.StreamInterruptedError(
            f"the connection was lost mid-answer ({type(exc).__name__}: {exc})"
        ) from exc


def _whole_chunks_reader(raw: Any) -> Optional[Callable[[], bytes]]:
    """For a chunked body without content coding read by http.client: a function that
    returns the data of every complete chunk in the receive buffer, consuming just those
    bytes, or ``b""`` (then ``read1`` goes on: a partial chunk, the last chunk, an anomaly).

    It blocks only when nothing at all is buffered, like ``read1``, and fails as ``read1``
    does (through urllib3, which discards the connection). Anything else (another
    urllib3, a mocked body, gzip, an answer to HEAD) gets None: ``read1`` alone.
    """
    original = getattr(raw, "_fp", None)
    if (
        not isinstance(original, http.client.HTTPResponse)
        or not original.chunked
        or original._method == "HEAD"  # no body, whatever the headers say (as read1)
        or not hasattr(original.fp, "peek")
        or not hasattr(raw, "_error_catcher")
        or not hasattr(raw, "_fp_bytes_read")
        or raw.headers.get("Content-Encoding", "identity").strip().lower() != "identity"
    ):
        return None

    def whole_chunks() -> bytes:
        fp = original.fp
        chunk_left = original.chunk_left
        if fp is None or chunk_left:  # closed, or inside a chunk: read1's part
            return b""
        try:
            data = fp.peek(READ_SIZE)
        except BaseException:
            # Fail as read1 would: urllib3 maps the error (ReadTimeoutError,
            # ProtocolError), closes the response and its connection, frees the pool slot.
            with raw._error_catcher():
                raise
        start = 0
        if chunk_left == 0:  # the CRLF ending the previous chunk comes first
            if data[:2] != b"\r\n":
                return b""
            start = 2
        pieces = []
        end = start
        size_end = data.find(b"\n", start)
        while 0 <= size_end <= end + MAX_CHUNK_SIZE_LINE:
            try:
                size = int(data[end:size_end].split(b";", 1)[0], 16)
            except ValueError:
                break
            chunk_end = size_end + 1 + size
            if size <= 0 or data[chunk_end : chunk_end + 2] != b"\r\n":
                break  # the last chunk, or not all of this one yet
            pieces.append(data[size_end + 1 : chunk_end])
            end = chunk_end + 2
            size_end = data.find(b"\n", end)
        if not pieces:
            return b""
        fp.read(end)
        original.chunk_left = None
        whole = b"".join(pieces)
        raw._fp_bytes_read += len(whole)  # as read1 counts them, for raw.tell()
        return whole

    return whole_chunks


def read_body(response: requests.Response, limit: int = BODY_LIMIT) -> bytes:
    """The whole (decoded) body, as :func:`iter_body` reads it.

    Raises :class:`~g4f_sync.errors.ResponseError` (and closes the response) as soon as
    the body exceeds ``limit`` bytes, so a hostile or runaway answer cannot fill memory.
    """
    pieces: List[bytes] = []
    size = 0
    for piece in iter_body(response):
        size += len(piece)
        if size > limit:
            response.close()
            raise errors.ResponseError(
                f"the body of {_where(response)} exceeds {limit:,} bytes; stopped reading there"
            )
        pieces.append(piece)
    return b"".join(pieces)


def read_text(response: requests.Response, limit: int = BODY_LIMIT) -> str:
    """The body as text: the ``Content-Type`` charset, else UTF-8; bad bytes become U+FFFD.

    Unlike ``response.text``, a ``text/*`` answer without a charset is read as UTF-8, not
    ISO-8859-1. Raises as :func:`read_body`.
    """
    body = read_body(response, limit)
    header = email.message.Message()
    header["Content-Type"] = _content_type(response)
    try:
        return body.decode(header.get_content_charset() or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def read_json(response: requests.Response, limit: int = BODY_LIMIT) -> Any:
    """The body decoded as JSON, whatever the ``Content-Type`` says.

    Raises :class:`~g4f_sync.errors.ResponseError` with the content type and a short
    excerpt when the body is not JSON (an HTML page where JSON was expected), and as
    :func:`read_body`.
    """
    text = read_text(response, limit)
    try:
        return decode_json(text)
    except ValueError as exc:
        kind = _content_type(response).split(";")[0].strip() or "no Content-Type"
        raise errors.ResponseError(
            f"expected JSON from {_where(response)}, got {kind} (HTTP {response.status_code}):"
            f" {excerpt(text) or '(empty body)'} ({exc})"
        ) from None


def _content_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "")


def _where(response: requests.Response) -> str:
    """``"POST https://host/path"``: the request a response answers."""
    request = response.request
    return f"{request.method} {response.url}" if request is not None else str(response.url)
