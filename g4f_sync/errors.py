"""Every exception g4f_sync raises.

::

    G4FError
    ├── InvalidRequestError (ValueError)        bad input, raised before any I/O
    │   ├── InvalidMessagesError
    │   ├── InvalidProxyError
    │   └── ModelNotSupportedError
    ├── ProviderNotFoundError                  no provider fits the request
    ├── ProviderNotWorkingError                ``working = False``, or the site changed
    ├── RetryProviderError                     every provider of a RetryProvider failed: ``.errors``
    ├── CancelledError                         the caller interrupted the call
    ├── MissingRequirementsError (ImportError) an optional package is not installed
    ├── ConnectionError (ConnectionError)       could not reach the server
    │   └── StreamInterruptedError              connection lost mid-stream
    ├── TimeoutError (TimeoutError)             connect or read timeout
    ├── ResponseStatusError                     non-2xx answer: ``.status_code``, ``.body``
    │   ├── RateLimitError                      429 / 402, or a site's own limit: ``.retry_after``
    │   ├── CloudflareError                     403 with a Cloudflare challenge page
    │   └── NonceRejectedError                  403: the site refused the page's nonce
    └── ResponseError                           an answer that cannot be read, or a refusal
        ├── MissingPageTokensError (RuntimeError)  the page lacks a token: ``.attribute``
        └── RequestRejectedError                the site refused the request: ``.site_message``
            ├── IPBannedError                   the site banned this address
            └── ContentFlaggedError             the site's moderation flagged the message

Every error has ``.partial``: the text a stream yielded before the error (``""`` when
nothing arrived), so a non-streaming call loses nothing either. Exceptions of requests
and urllib3 never reach the caller; they are wrapped with ``__cause__`` kept.
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type

__all__ = [
    "CancelledError",
    "CloudflareError",
    "ConnectionError",
    "ContentFlaggedError",
    "G4FError",
    "IPBannedError",
    "InvalidMessagesError",
    "InvalidProxyError",
    "InvalidRequestError",
    "MissingPageTokensError",
    "MissingRequirementsError",
    "ModelNotSupportedError",
    "NonceRejectedError",
    "ProviderNotFoundError",
    "ProviderNotWorkingError",
    "RateLimitError",
    "RequestRejectedError",
    "ResponseError",
    "ResponseStatusError",
    "RetryProviderError",
    "StreamInterruptedError",
    "TimeoutError",
]


class G4FError(Exception):
    """Base of every g4f_sync exception."""

    partial: str = ""
    """Text yielded by the stream before this error was raised."""

    def __reduce__(self) -> Tuple[Any, ...]:
        # Pickle args and attributes without calling __init__ (whose keyword-only
        # arguments pickle's default would drop), so errors cross process boundaries
        # (run_batch on a process pool or a distributed executor).
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: Type[G4FError], args: Tuple[Any, ...], state: Dict[str, Any]) -> G4FError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


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
    """The provider is marked as not working, or its site no longer serves the protocol
    (ChatGptt: a site without the chat plugin's handler)."""


class RetryProviderError(G4FError):
    """Every provider a :class:`~g4f_sync.Provider.retry.RetryProvider` tried failed before
    its first token. ``.errors`` lists ``(provider name, exception)`` in the order tried;
    the message names each provider with its own error."""

    def __init__(self, message: str, *, errors: Sequence[Tuple[str, BaseException]] = ()) -> None:
        super().__init__(message)
        self.errors: List[Tuple[str, BaseException]] = list(errors)


class CancelledError(G4FError):
    """The caller stopped the call from another thread: ``interrupt()``, or leaving a
    ``run_batch`` or ``ThreadedStream`` early. Raised in whichever phase the call was
    (connecting, waiting for the answer, reading it), never reported as a lost
    connection; ``.partial`` holds the text that arrived before."""


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
    """The server refuses more requests for now: HTTP 429 or 402, or a limit the site
    reports inside a 2xx answer (a token limit; ``status_code`` is then that answer's)."""

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


class NonceRejectedError(ResponseStatusError):
    """The site refused the one-time token (nonce) taken from its page, also after the page
    was fetched again: WordPress's 403 "The link you followed has expired."."""


class ResponseError(G4FError):
    """The server answered, but the answer cannot be read, or it is a refusal."""


class MissingPageTokensError(ResponseError, RuntimeError):
    """The site's page lacks a token the request needs (a ``RuntimeError`` as in g4f).

    ``.attribute`` names the missing attribute (``"data-nonce"``); the message also says
    what the page was instead (a Cloudflare challenge, an empty body, its ``<title>``).
    """

    def __init__(self, message: str, *, attribute: str = "") -> None:
        super().__init__(message)
        self.attribute = attribute


class RequestRejectedError(ResponseError):
    """The site read the request and refused it with a message of its own
    (``.site_message``): an empty or banned message, a misconfigured site, an upstream
    API error."""

    def __init__(self, message: str, *, site_message: str = "") -> None:
        super().__init__(message)
        self.site_message = site_message


class IPBannedError(RequestRejectedError):
    """The site banned the address the request came from (``ipBanned``): another proxy
    may help, retrying will not."""


class ContentFlaggedError(RequestRejectedError):
    """The site's moderation flagged the message (``messageFlagged``): the same message
    will be refused again."""
