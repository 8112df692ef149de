"""Every exception g4f_sync raises.

::

    G4FError
    ├── InvalidRequestError (ValueError)        bad input, raised before any I/O
    │   ├── InvalidMessagesError
    │   ├── InvalidProxyError
    │   └── ModelNotSupportedError
    ├── ProviderNotFoundError                  no provider fits the request
    ├── ProviderNotWorkingError                provider marked ``working = False``
    ├── MissingRequirementsError (ImportError) an optional package is not installed
    ├── ConnectionError (ConnectionError)       could not reach the server
    │   └── StreamInterruptedError              connection lost mid-stream
    ├── TimeoutError (TimeoutError)             connect or read timeout
    ├── ResponseStatusError                     non-2xx answer: ``.status_code``, ``.body``
    │   ├── RateLimitError                      429 / 402: ``.retry_after``
    │   └── CloudflareError                     403 with a Cloudflare challenge page
    └── ResponseError                           an answer that cannot be read

Every error has ``.partial``: the text a stream yielded before the error (``""`` when
nothing arrived), so a non-streaming call loses nothing either. Exceptions of requests
and urllib3 never reach the caller; they are wrapped with ``__cause__`` kept.
"""

from __future__ import annotations

import builtins
from typing import Optional

__all__ = [
    "G4FError",
    "InvalidRequestError",
    "InvalidMessagesError",
    "InvalidProxyError",
    "ModelNotSupportedError",
    "ProviderNotFoundError",
    "ProviderNotWorkingError",
    "MissingRequirementsError",
    "ConnectionError",
    "StreamInterruptedError",
    "TimeoutError",
    "ResponseStatusError",
    "RateLimitError",
    "CloudflareError",
    "ResponseError",
]


class G4FError(Exception):
    """Base of every g4f_sync exception."""

    partial: str = ""
    """Text yielded by the stream before this error was raised."""


class InvalidRequestError(G4FError, ValueError):
    """The call's arguments are invalid; nothing was sent."""


class InvalidMessagesError(InvalidRequestError):
    """``messages`` is not a non-empty list of ``{"role", "content"}`` dicts."""


class InvalidProxyError(InvalidRequestError):
    """The proxy URL cannot be used."""


class ModelNotSupportedError(InvalidRequestError):
    """The provider does not serve the requested model."""


class ProviderNotFoundError(G4FError):
    """No provider matches the name, or none supports the model."""


class ProviderNotWorkingError(G4FError):
    """The provider is marked as not working."""


class MissingRequirementsError(G4FError, ImportError):
    """An optional package needed for this call is not installed."""


class ConnectionError(G4FError, builtins.ConnectionError):
    """The server could not be reached (DNS, refused, reset, proxy, TLS)."""


class StreamInterruptedError(ConnectionError):
    """The connection was lost after the answer had started; see ``.partial``."""


class TimeoutError(G4FError, builtins.TimeoutError):
    """Connecting took longer than the connect timeout, or the server sent nothing
    for longer than the read timeout."""


class ResponseStatusError(G4FError):
    """The server answered with a non-2xx status."""

    def __init__(self, message: str, *, status_code: int, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        """A short excerpt of the response body."""


class RateLimitError(ResponseStatusError):
    """The server refuses more requests for now (HTTP 429 or 402)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        body: str = "",
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after
        """Seconds the server asked to wait (``Retry-After``), or ``None``."""


class CloudflareError(ResponseStatusError):
    """Cloudflare answered with a browser challenge instead of the site."""


class ResponseError(G4FError):
    """The server answered, but the answer cannot be read."""
