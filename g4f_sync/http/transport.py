"""``Transport``: the HTTP side of one completion, which sends, retries, interrupts and
closes everything the completion opened."""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any, List, Optional, Sequence, Union

import requests

from .. import compat, errors
from ..interrupt import current_scope
from .config import CALL_POOL_MAXSIZE, Retry, Timeout, TimeoutLike
from .failures import mapped_errors, raise_for_status
from .proxy import parse_proxy, redact_url
from .session import Session, caller_retries, send_with_retries

__all__ = ["Transport"]

log = logging.getLogger("g4f_sync.http")


class Transport:
    """The HTTP side of one completion: sends requests with retries, keeps every
    response it opened, and closes them all.

    Arguments given here win over the session's own ``timeout``/``retry``/proxy; all
    are checked here, before any I/O. A transport created while an
    :class:`~g4f_sync.interrupt.InterruptScope` is active in its thread joins that
    scope. :meth:`interrupt` is thread-safe; the other methods belong to one thread.
    """

    def __init__(
        self,
        *,
        session: Optional[requests.Session] = None,
        proxy: Optional[str] = None,
        timeout: TimeoutLike = None,
        max_retries: Union[Retry, int, None] = None,
        secrets: Sequence[str] = (),
    ) -> None:
        if session is not None and not isinstance(session, requests.Session):
            raise errors.InvalidRequestError(
                "session must be a requests.Session (for example g4f_sync.Session()),"
                f" got {type(session).__name__}"
            )
        self.proxies = parse_proxy(proxy)
        self.timeout = Timeout.coerce(
            timeout if timeout is not None else getattr(session, "timeout", None)
        )
        self.retry = Retry.coerce(
            max_retries if max_retries is not None else getattr(session, "retry", None)
        )
        self.secrets = tuple(secrets)
        """What errors of this call must never show (its API key)."""
        self.owns_session = session is None
        self.session = session if session is not None else Session(pool_maxsize=CALL_POOL_MAXSIZE)
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

        Retries as :class:`~g4f_sync.http.Retry` says; raises the mapped error otherwise
        (with ``.attempts``), and :class:`~g4f_sync.errors.CancelledError` once
        :meth:`interrupt` was called. The body is not read: use
        :func:`~g4f_sync.http.iter_body` or ``g4f_sync.sse.iter_events``.
        """
        if self.proxies:
            kwargs.setdefault("proxies", self.proxies)
        self.attempts = 0
        what = f"{method} {redact_url(url)}"
        try:
            with mapped_errors(method, url, timeout=self.timeout):
                response = send_with_retries(
                    lambda: self._send_once(method, url, kwargs), self.retry, self._pause, what
                )
                self.responses.append(response)
                self._check_interrupted()
                raise_for_status(response)
        except errors.CancelledError:
            raise
        except errors.G4FError as error:
            self._check_interrupted()  # an interrupt caused the failure
            error.attempts = self.attempts
            error.hide(self.secrets)
            raise
        return response

    def _send_once(self, method: str, url: str, kwargs: Any) -> requests.Response:
        self._check_interrupted()
        self.attempts += 1
        log.debug("sending %s %s (attempt %d)", method, redact_url(url), self.attempts)
        try:
            with caller_retries(), compat.watching_sockets(self):
                return self.session.request(
                    method, url, stream=True, timeout=self.timeout, **kwargs
                )
        finally:
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
            reached += sum(_shutdown_response(response) for response in self.responses)
        log.debug("interrupted: %d socket(s) reached", reached)
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
        log.debug("closed %d response(s)", len(responses))


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
