"""HTTP settings: ``Timeout`` and ``Retry`` policies, and every default and limit in one place."""

from __future__ import annotations

import math
import random
from typing import NamedTuple, Optional, Tuple, Union

from .. import errors
from ..checks import is_count, is_number, is_seconds

__all__ = [
    "BODY_LIMIT",
    "CALL_POOL_MAXSIZE",
    "DEFAULT_POOL_MAXSIZE",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "ERROR_BODY_LIMIT",
    "EXCERPT_LENGTH",
    "MAX_CHUNK_SIZE_LINE",
    "READ_SIZE",
    "RETRY_STATUSES",
    "SERVER_MESSAGE_LIMIT",
    "Retry",
    "Timeout",
    "TimeoutLike",
]

RETRY_STATUSES = frozenset({408, 409, 429})
"""Statuses below 500 worth sending the request again for (before the answer's body
began), as openai-python retries them; every 5xx is retried too."""
READ_SIZE = 65536
"""Most bytes one ``read1`` call returns; it returns sooner with whatever has arrived."""
ERROR_BODY_LIMIT = 65536
"""Most bytes read from an error response to classify it."""
BODY_LIMIT = 16 * 1024 * 1024
"""Most bytes :func:`~g4f_sync.http.read_body` reads by default before giving up."""
EXCERPT_LENGTH = 200
"""Most characters of a body quoted in an error message."""
SERVER_MESSAGE_LIMIT = 500
"""Most characters of an error body's message kept as an error's ``server_message``."""
MAX_CHUNK_SIZE_LINE = 1024
"""Longest chunk-size line the whole-chunks reader parses itself; longer ones go to
http.client."""
DEFAULT_POOL_MAXSIZE = 32
"""Connections per host a :class:`~g4f_sync.http.Session` keeps for reuse: how many
streams can run on it at once without a connection being discarded."""
CALL_POOL_MAXSIZE = 2
"""Connections per host of the session a call opens for itself (no ``session=``): its
requests go one after another, and a pool is filled with that many places when made."""


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
        if is_number(value):
            seconds = _seconds("timeout", None, value, value)
            return cls(seconds, seconds)
        raise errors.InvalidRequestError(
            f"timeout must be a number, a (connect, read) pair or a Timeout, got {value!r}"
        )


def _seconds(option: str, part: Optional[str], value: object, whole: object) -> Optional[float]:
    """``value`` as seconds: a positive finite number, or None (no limit)."""
    if value is None and part is not None:
        return None
    if is_seconds(value):
        return float(value)  # type: ignore[arg-type]
    what = f"the {part} part of {option}" if part else option
    hint = "; use None to wait forever" if is_number(value) and value == math.inf else ""
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
        if is_count(value):
            return cls(total=value)
        raise errors.InvalidRequestError(
            f"max_retries must be a non-negative integer or a Retry, got {value!r}"
        )

    def wait(self, attempt: int, retry_after: Optional[float] = None) -> float:
        """Seconds to sleep before retry number ``attempt`` (0-based)."""
        delay = min(self.backoff_max, self.backoff * 2**attempt) * random.uniform(0.5, 1.0)
        return max(delay, retry_after or 0.0)


def _check_retry(retry: Retry) -> None:
    if not is_count(retry.total):
        raise errors.InvalidRequestError(
            f"Retry.total must be a non-negative integer, got {retry.total!r}"
        )
    for name in ("backoff", "backoff_max", "retry_after_max"):
        value = getattr(retry, name)
        if not is_seconds(value, zero=True):
            raise errors.InvalidRequestError(
                f"Retry.{name} must be a non-negative number of seconds, got {value!r}"
            )


DEFAULT_RETRY = Retry()
