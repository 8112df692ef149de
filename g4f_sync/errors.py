"""Every exception g4f_sync raises.

::

    G4FError
    ├── InvalidRequestError (ValueError)        bad input, raised before any I/O
    │   ├── InvalidMessagesError
    │   ├── InvalidProxyError
    │   ├── ModelNotSupportedError
    │   └── MissingAuthError                    the provider needs an API key: ``.env_var``
    ├── ProviderNotFoundError                  no provider fits the request
    ├── ProviderNotWorkingError                ``working = False``, or the site changed
    ├── RetryProviderError                     every provider of a RetryProvider failed: ``.errors``
    ├── CancelledError                         the caller interrupted the call
    ├── MissingRequirementsError (ImportError) an optional package is not installed
    ├── EmulatorNotStartedError (RuntimeError)  the emulator was used before start()
    ├── StreamNotTransferableError (TypeError)  a call in another process returned a stream
    ├── ConnectionError (ConnectionError)       could not reach the server
    │   └── StreamInterruptedError              connection lost mid-stream
    ├── TimeoutError (TimeoutError)             connect or read timeout
    ├── ResponseStatusError                     non-2xx answer: ``.status_code``, ``.code``
    │   ├── BadRequestError                     400
    │   │   └── ContextLengthExceededError      400: the messages exceed the context window
    │   ├── AuthenticationError                 401: a missing or wrong API key
    │   ├── PermissionDeniedError               403
    │   │   ├── CloudflareError                 403 with a Cloudflare challenge page
    │   │   └── NonceRejectedError              403: the site refused the page's nonce
    │   ├── NotFoundError                       404 (an unknown model, a wrong base URL)
    │   ├── UnprocessableEntityError            422
    │   ├── RateLimitError                      429 / 402, or a site's own limit: ``.retry_after``
    │   └── InternalServerError                 5xx
    └── ResponseError                           an answer that cannot be read, or a refusal
        ├── APIError                            an error the server reported inside a 200 answer
        ├── MissingPageTokensError (RuntimeError)  the page lacks a token: ``.attribute``
        └── RequestRejectedError                the site refused the request: ``.site_message``
            ├── IPBannedError                   the site banned this address
            └── ContentFlaggedError             the site's moderation flagged the message

The status classes are openai-python's, so code written for it reads the same.

Every error has ``.partial``: the text a stream yielded before the error (``""`` when
nothing arrived), so a non-streaming call loses nothing either. Exceptions of requests
and urllib3 never reach the caller: :func:`g4f_sync.http.mapped_errors` translates them,
in that one place, with ``__cause__`` kept.

An error's text is built from what it carries, never rewritten: ``.message`` (what went
wrong), ``.provider`` (set by the provider layer, shown first), ``.attempts`` (requests
sent, shown when more than one), and per class ``.status_code``, ``.method``, ``.url``
(passwords masked), ``.body``, ``.retry_after``, ... Errors pickle with all of them.
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "CancelledError",
    "CloudflareError",
    "ConnectionError",
    "ContentFlaggedError",
    "ContextLengthExceededError",
    "EmulatorNotStartedError",
    "G4FError",
    "IPBannedError",
    "InternalServerError",
    "InvalidMessagesError",
    "InvalidProxyError",
    "InvalidRequestError",
    "MissingAuthError",
    "MissingPageTokensError",
    "MissingRequirementsError",
    "ModelNotSupportedError",
    "NonceRejectedError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderNotFoundError",
    "ProviderNotWorkingError",
    "RateLimitError",
    "RequestRejectedError",
    "ResponseError",
    "ResponseStatusError",
    "RetryProviderError",
    "StreamInterruptedError",
    "StreamNotTransferableError",
    "TimeoutError",
    "UnprocessableEntityError",
]


class G4FError(Exception):
    """Base of every g4f_sync exception; its text is ``"<provider>: <message> (after N
    attempts)"``, each part shown when known."""

    partial: str = ""
    """Text yielded by the stream before this error was raised."""
    provider: str = ""
    """The provider whose call failed (set by the provider layer)."""
    attempts: int = 1
    """Requests sent before giving up, retries included."""
    method: str = ""
    """The HTTP method of the request that failed, when one did."""
    url: str = ""
    """Its URL, with any password masked."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def hide(self, secrets: Sequence[str]) -> None:
        """Replace each of ``secrets`` (an API key) wherever this error shows text the
        server sent: its message, its arguments and its text attributes."""
        secrets = [secret for secret in secrets if secret]
        if not secrets:
            return

        def masked(text: Any) -> Any:
            if not isinstance(text, str):
                return text
            for secret in secrets:
                text = text.replace(secret, "***")
            return text

        self.args = tuple(masked(arg) for arg in self.args)
        for name, value in list(vars(self).items()):
            setattr(self, name, masked(value))

    def describe(self) -> str:
        """The text without the provider's name: the message, and how often it was tried."""
        tries = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        return f"{self.message}{tries}"

    def __str__(self) -> str:
        return f"{self.provider}: {self.describe()}" if self.provider else self.describe()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

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


def _request(method: str, url: str) -> str:
    """``"POST https://host/path"``, or what is known of it."""
    return " ".join(part for part in (method, url) if part) or "the server"


class InvalidRequestError(G4FError, ValueError):
    """The call's arguments are invalid; nothing was sent."""


class InvalidMessagesError(InvalidRequestError):
    """``messages`` is not a non-empty list of ``{"role", "content"}`` dicts."""


class InvalidProxyError(InvalidRequestError):
    """The proxy URL cannot be used."""


class ModelNotSupportedError(InvalidRequestError):
    """The provider does not serve the requested model."""


class MissingAuthError(InvalidRequestError):
    """The provider needs an API key and none was given; ``.env_var`` names the
    environment variable it reads one from."""

    def __init__(self, message: str, *, env_var: str = "") -> None:
        super().__init__(message)
        self.env_var = env_var


class ProviderNotFoundError(G4FError):
    """No provider matches the name, or none supports the model. ``.considered`` lists
    ``(provider name, why it was passed over)`` when providers were considered."""

    def __init__(self, message: str, *, considered: Sequence[Tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.considered: List[Tuple[str, str]] = list(considered)


class EmulatorNotStartedError(G4FError, RuntimeError):
    """An :class:`~g4f_sync.emulator.Emulator` was used (its URL, its requests, a
    provider bound to it) before :meth:`~g4f_sync.emulator.Emulator.start` or a ``with``
    block; nothing was sent."""


class StreamNotTransferableError(G4FError, TypeError):
    """A call that ``run_batch`` ran in another process (on dask, a process pool)
    returned an iterator: an open stream cannot leave its process. The call ran; its
    stream was closed there. Return plain values (``"".join(stream)``) instead."""


class ProviderNotWorkingError(G4FError):
    """The provider is marked as not working (``.marked``: its class says
    ``working = False``, and ``ignore_working=True`` calls it anyway), or its site no
    longer serves the protocol (ChatGptt: a site without the chat plugin's handler)."""

    def __init__(self, message: str, *, marked: bool = False) -> None:
        super().__init__(message)
        self.marked = marked


class RetryProviderError(G4FError):
    """Every provider a :class:`~g4f_sync.Provider.retry.RetryProvider` tried failed before
    its first token. ``.errors`` lists ``(provider name, exception)`` in the order tried;
    the text names each provider with its own error."""

    def __init__(self, errors: Sequence[Tuple[str, BaseException]]) -> None:
        self.errors: List[Tuple[str, BaseException]] = list(errors)
        parts = [f"{name}: {type(error).__name__}: {_one_line(error)}" for name, error in errors]
        count = f"all {len(parts)} providers" if len(parts) > 1 else "the only provider"
        super().__init__(f"RetryProvider: {count} failed before answering: {' | '.join(parts)}")


def _one_line(error: BaseException) -> str:
    text = error.describe() if isinstance(error, G4FError) else str(error)
    return _flat(text)


def _flat(text: str) -> str:
    """``text`` on one line: every run of whitespace one space."""
    return " ".join(text.split())


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
    for longer than the read timeout: ``.timeout``, the seconds that ran out (None when
    not known)."""

    def __init__(self, message: str = "", *, timeout: Optional[float] = None) -> None:
        self.timeout = timeout
        super().__init__(message)


class ResponseStatusError(G4FError):
    """The server answered with a non-2xx status: ``.status_code``, ``.reason``, ``.body``
    (a short excerpt), the request's ``.method`` and ``.url``, and from an OpenAI-style
    error body ``{"error": {"message", "type", "code", "param"}}`` its ``.server_message``
    (as sent, line breaks kept; the error's text shows it on one line), ``.type``, ``.code``
    and ``.param``."""

    def __init__(
        self,
        message: str = "",
        *,
        status_code: int,
        body: str = "",
        reason: str = "",
        method: str = "",
        url: str = "",
        server_message: str = "",
        type: Optional[str] = None,
        code: Optional[str] = None,
        param: Optional[str] = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        """A short excerpt of the response body."""
        self.reason = reason
        self.method = method
        self.url = url
        self.server_message = server_message
        self.type = type
        self.code = code
        self.param = param
        super().__init__(message or self._summary())

    def _said(self) -> str:
        """What the server said, on one line: its message, else the body excerpt."""
        return _flat(self.server_message) or self.body or "(empty body)"

    def _summary(self) -> str:
        reason = f" {self.reason}" if self.reason else ""
        where = _request(self.method, self.url)
        return f"HTTP {self.status_code}{reason} from {where}: {self._said()}"


class BadRequestError(ResponseStatusError):
    """HTTP 400: the server refused the request as it was (an option, a message shape)."""


class ContextLengthExceededError(BadRequestError):
    """HTTP 400 with code ``context_length_exceeded``: the messages (plus ``max_tokens``)
    exceed the model's context window; shorten them."""


class AuthenticationError(ResponseStatusError):
    """HTTP 401: the API key is missing or wrong."""


class PermissionDeniedError(ResponseStatusError):
    """HTTP 403: the key, the address or the account may not do this."""


class NotFoundError(ResponseStatusError):
    """HTTP 404: an unknown model (the server's message says which), or a base URL that
    does not lead to the API."""


class UnprocessableEntityError(ResponseStatusError):
    """HTTP 422: the server could not process the request's content."""


class InternalServerError(ResponseStatusError):
    """HTTP 5xx: the server failed; it was retried as ``max_retries`` allows."""


class RateLimitError(ResponseStatusError):
    """The server refuses more requests for now: HTTP 429 or 402, or a limit the site
    reports inside a 2xx answer (a token limit; ``status_code`` is then that answer's)."""

    def __init__(
        self,
        message: str = "",
        *,
        status_code: int = 429,
        body: str = "",
        retry_after: Optional[float] = None,
        **request: Any,
    ) -> None:
        self.retry_after = retry_after
        """Seconds the server asked to wait (``Retry-After``), or ``None``."""
        super().__init__(message, status_code=status_code, body=body, **request)

    def _summary(self) -> str:
        wait = f"; retry after {self.retry_after:g} s" if self.retry_after is not None else ""
        said = f": {_flat(self.server_message)}" if self.server_message else ""
        where = _request(self.method, self.url)
        return f"rate limited (HTTP {self.status_code}) by {where}{wait}{said}"


class CloudflareError(PermissionDeniedError):
    """Cloudflare answered with a browser challenge instead of the site."""

    def _summary(self) -> str:
        return (
            f"{_request(self.method, self.url)} answered with a Cloudflare challenge"
            f" (HTTP {self.status_code}): the site blocks scripted clients from this"
            " address; try another proxy"
        )


class NonceRejectedError(PermissionDeniedError):
    """The site refused the one-time token (nonce) taken from its page, also after the page
    was fetched again: WordPress's 403 "The link you followed has expired."."""


class ResponseError(G4FError):
    """The server answered, but the answer cannot be read, or it is a refusal."""


class APIError(ResponseError):
    """The server reported an error inside a 200 answer (an ``{"error": {...}}`` event
    in a stream): ``.type``, ``.code``, ``.param`` as it sent them; ``.partial`` holds the
    text that came before."""

    def __init__(
        self,
        message: str,
        *,
        type: Optional[str] = None,
        code: Optional[str] = None,
        param: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.type = type
        self.code = code
        self.param = param


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
