"""HTTP failures as g4f_sync errors: the one place where requests, urllib3 and socket
exceptions, and non-2xx answers, become :mod:`g4f_sync.errors`."""

from __future__ import annotations

import email.utils
import json
import socket
import time
import urllib.parse
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Type

import requests
import urllib3.exceptions

from .. import errors
from .config import ERROR_BODY_LIMIT, EXCERPT_LENGTH, SERVER_MESSAGE_LIMIT
from .proxy import redact_url

__all__ = [
    "CLOUDFLARE_MARKERS",
    "error_details",
    "excerpt",
    "mapped_errors",
    "parse_retry_after",
    "raise_for_status",
    "read_prefix",
    "request_of",
    "retry_after_of",
]

CLOUDFLARE_MARKERS = ('<div id="cf-please-wait">', "<title>Just a moment...</title>")

_TRANSPORT_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)


@contextmanager
def mapped_errors(
    method: str,
    url: str,
    *,
    reading: bool = False,
    timeout: Tuple[Optional[float], Optional[float]] = (None, None),
) -> Iterator[None]:
    """Raise what the block raises as a g4f_sync error carrying ``method`` and ``url``
    (its password masked), with the original as ``__cause__``.

    ``reading``: the block reads an answer's body, so a failure is a stream cut short
    (:class:`~g4f_sync.errors.StreamInterruptedError`) or a silence
    (:class:`~g4f_sync.errors.TimeoutError`), not a failure to connect. ``timeout``: the
    ``(connect, read)`` seconds in force, named by a timeout's message when known.
    """
    try:
        yield
    except errors.G4FError as error:
        error.method = error.method or method
        error.url = error.url or redact_url(url)
        raise
    except _TRANSPORT_ERRORS as exc:
        if reading:
            error = _reading_error(exc, timeout)
        else:
            error = _sending_error(exc, timeout, _host_of(url))
        error.method, error.url = method, redact_url(url)
        raise error from exc


def _timed_out(what: str, seconds: Optional[float]) -> errors.TimeoutError:
    """A :class:`~g4f_sync.errors.TimeoutError` saying ``what``, the seconds when known."""
    of = f" of {seconds:g} s" if seconds is not None else ""
    return errors.TimeoutError(what.format(of=of), timeout=seconds)


def _host_of(url: str) -> str:
    """``host:port`` of ``url`` (no user or password), or the URL when it has none."""
    netloc = urllib.parse.urlsplit(url).netloc.rpartition("@")[2]
    return netloc or redact_url(url)


def _reason(exc: BaseException) -> str:
    """What the system said underneath urllib3's and requests' wrappers (``Connection
    refused``, ``Name or service not known``); ``str(exc)`` when nothing deeper says."""
    seen = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and isinstance(current.strerror, str):
            return current.strerror
        deeper = getattr(current, "reason", None)
        if not isinstance(deeper, BaseException):
            first = current.args[0] if current.args else None
            deeper = first if isinstance(first, BaseException) else None
        current = deeper or current.__cause__ or current.__context__
    return str(exc)


def _sending_error(
    exc: BaseException, timeout: Tuple[Optional[float], Optional[float]], host: str
) -> errors.G4FError:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return _timed_out("could not connect within the connect timeout{of}", timeout[0])
    if isinstance(
        exc, (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, socket.timeout)
    ):
        return _timed_out("the server sent nothing within the read timeout{of}", timeout[1])
    if isinstance(exc, requests.exceptions.ProxyError):
        return errors.ConnectionError(f"the proxy refused or failed the connection: {_reason(exc)}")
    if isinstance(exc, requests.exceptions.SSLError):
        return errors.ConnectionError(f"TLS verification failed: {_reason(exc)}")
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
        return errors.ConnectionError(f"could not connect to {host}: {_reason(exc)}")
    return errors.ConnectionError(f"request failed: {exc}")


def _reading_error(
    exc: BaseException, timeout: Tuple[Optional[float], Optional[float]]
) -> errors.G4FError:
    if isinstance(
        exc, (urllib3.exceptions.ReadTimeoutError, socket.timeout, requests.exceptions.Timeout)
    ):
        return _timed_out(
            "the server went silent mid-answer for longer than the read timeout{of}", timeout[1]
        )
    return errors.StreamInterruptedError(
        f"the connection was lost mid-answer ({type(exc).__name__}: {exc})"
    )


def request_of(response: requests.Response) -> tuple[str, str]:
    """The method and URL (password masked) of the request ``response`` answers."""
    method = response.request.method if response.request is not None else ""
    return method or "", redact_url(str(response.url or ""))


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
    return _cut(" ".join(text.split()), length)


_STATUS_ERRORS: Dict[int, Type[errors.ResponseStatusError]] = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    402: errors.RateLimitError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    422: errors.UnprocessableEntityError,
    429: errors.RateLimitError,
}


def raise_for_status(response: requests.Response) -> None:
    """Raise the mapped error for a non-2xx response (and close it); do nothing for 2xx.

    The class follows the status as openai-python's do (400 BadRequestError, with
    ContextLengthExceededError for code ``context_length_exceeded``; 401
    AuthenticationError; 403 PermissionDeniedError, CloudflareError for a challenge
    page; 404 NotFoundError; 422 UnprocessableEntityError; 429/402 RateLimitError; 5xx
    InternalServerError; anything else ResponseStatusError). An OpenAI-style JSON error
    body gives the error its ``server_message``, ``type``, ``code`` and ``param``.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    body = read_prefix(response)
    response.close()
    method, url = request_of(response)
    details = {
        "status_code": status,
        "body": excerpt(body),
        "reason": response.reason or "",
        "method": method,
        "url": url,
        **error_details(body),
    }
    cls = _STATUS_ERRORS.get(status, errors.InternalServerError if status >= 500 else None)
    if cls is errors.RateLimitError:
        raise errors.RateLimitError(retry_after=retry_after_of(response.headers), **details)
    if status == 403 and any(marker in body for marker in CLOUDFLARE_MARKERS):
        cls = errors.CloudflareError
    elif cls is errors.BadRequestError and details.get("code") == "context_length_exceeded":
        cls = errors.ContextLengthExceededError
    raise (cls or errors.ResponseStatusError)(**details)


def error_details(text: str) -> Dict[str, Any]:
    """``server_message`` (as sent, cut at :data:`~.config.SERVER_MESSAGE_LIMIT`
    characters), ``type``, ``code`` and ``param`` of an OpenAI-style error body
    (``{"error": {"message": ...}}`` or ``{"error": "..."}``); empty for any other body."""
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else None
    except (ValueError, RecursionError):
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):  # {"error": "rate_limited", "message": "Too many..."}
        message = data.get("message")  # type: ignore[union-attr]
        return {"server_message": _cut(message if isinstance(message, str) else error)}
    if not isinstance(error, dict):
        return {}
    details: Dict[str, Any] = {}
    if isinstance(error.get("message"), str):
        details["server_message"] = _cut(error["message"])
    for key in ("type", "code", "param"):
        if isinstance(error.get(key), (str, int)):
            details[key] = str(error[key])
    return details


def _cut(message: str, length: int = SERVER_MESSAGE_LIMIT) -> str:
    """The server's ``message`` as sent (line breaks kept), cut at ``length`` characters."""
    return message if len(message) <= length else message[: length - 1] + "…"


def retry_after_of(headers: Mapping[str, str]) -> Optional[float]:
    """Seconds the server asks to wait: ``retry-after-ms`` (OpenAI's), else
    ``Retry-After`` (seconds or an HTTP date); None when neither says."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            value = float(milliseconds)
        except ValueError:
            value = -1.0
        if 0 <= value < float("inf"):
            return value / 1000
    return parse_retry_after(headers.get("Retry-After"))
