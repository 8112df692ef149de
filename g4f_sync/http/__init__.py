"""HTTP over requests: sessions, proxies, timeouts, retries, status errors, and the
unbuffered body reader.

This layer knows requests and urllib3, and nothing about chat. Everything it raises is a
:mod:`g4f_sync.errors` exception with the requests/urllib3 exception as ``__cause__``,
translated in one place (:func:`mapped_errors`). Modules: ``config`` (policies, defaults,
limits), ``proxy``, ``failures`` (exception and status mapping), ``session`` (the
``Session`` and the retry loop), ``transport`` (one completion's requests), ``body``
(reading answers). urllib3 internals live in :mod:`g4f_sync.compat`. Logs go to the
``g4f_sync.http`` logger (DEBUG: each request sent, each retry and why, each interrupt
and close), never with a password or key.
"""

from .body import iter_body, read_body, read_json, read_text
from .config import (
    BODY_LIMIT,
    DEFAULT_POOL_MAXSIZE,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    MAX_CHUNK_SIZE_LINE,
    READ_SIZE,
    RETRY_STATUSES,
    Retry,
    Timeout,
    TimeoutLike,
)
from .failures import (
    CLOUDFLARE_MARKERS,
    excerpt,
    mapped_errors,
    parse_retry_after,
    raise_for_status,
    read_prefix,
    request_of,
)
from .proxy import PROXY_SCHEMES, parse_proxy, redact_url
from .session import Session, send_with_retries
from .transport import Transport

__all__ = [
    "BODY_LIMIT",
    "CLOUDFLARE_MARKERS",
    "DEFAULT_POOL_MAXSIZE",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "MAX_CHUNK_SIZE_LINE",
    "PROXY_SCHEMES",
    "READ_SIZE",
    "RETRY_STATUSES",
    "Retry",
    "Session",
    "Timeout",
    "TimeoutLike",
    "Transport",
    "excerpt",
    "iter_body",
    "mapped_errors",
    "parse_proxy",
    "parse_retry_after",
    "raise_for_status",
    "read_body",
    "read_json",
    "read_prefix",
    "read_text",
    "redact_url",
    "request_of",
    "send_with_retries",
]
