"""Sessions and sending: g4f_sync's requests ``Session``, its connection pools, and the
retry loop every request goes through."""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, Union

import requests
import requests.utils
import urllib3
from requests.adapters import HTTPAdapter
from requests.sessions import merge_setting

from .. import compat, errors
from .config import DEFAULT_POOL_MAXSIZE, RETRY_STATUSES, Retry, Timeout, TimeoutLike
from .failures import retry_after_of
from .proxy import parse_proxy, redact_url

__all__ = ["Session", "caller_retries", "environment_proxies", "send_with_retries"]

log = logging.getLogger("g4f_sync.http")


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
        if not (len(self.poolmanager.pools) or self.proxy_manager):
            return  # nothing open (closed already: a session closes its adapter per prefix)
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

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Dict[str, Any]:
        """requests' own, with the proxies the environment gives a host looked up once
        per environment (:func:`environment_proxies`) rather than scanned for on every
        request (0.3 ms of the 2.2 ms of CPU requests spends sending a small request)."""
        if not (self.trust_env and ENVIRONMENT_ONLY_PROXIES and isinstance(url, str)):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        no_proxy = proxies.get("no_proxy") if proxies is not None else None
        env_proxies = environment_proxies(url, no_proxy)
        if proxies is not None:
            for key, value in env_proxies.items():
                proxies.setdefault(key, value)
        if verify is True or verify is None:  # as requests: its and cURL's CA bundle
            verify = (
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify
            )
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """requests' ``send``, with this session's timeout when none is given and its
        retries, unless a g4f_sync call is sending (it retries itself)."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if getattr(_caller_retries, "active", False):
            return super().send(request, **kwargs)
        what = f"{request.method} {redact_url(request.url)}"
        return send_with_retries(
            lambda: super(Session, self).send(request, **kwargs), self.retry, what=what
        )


ENVIRONMENT_ONLY_PROXIES = urllib.request.getproxies is urllib.request.getproxies_environment
"""Whether the system's proxies are the environment's alone (not the Windows registry or
macOS's settings, which may change unseen): then they are cached by environment."""


def environment_proxies(url: str, no_proxy: Optional[str] = None) -> Dict[str, str]:
    """``requests.utils.get_environ_proxies(url, no_proxy)``, cached by the URL's scheme
    and host and by every ``*_proxy`` variable of the environment (and
    ``REQUEST_METHOD``, which requests heeds), so a change to any of them is seen."""
    parts = urllib.parse.urlsplit(url)
    environ = os.environ
    names = sorted(n for n in environ if n.lower().endswith("_proxy") or n == "REQUEST_METHOD")
    variables = tuple((name, environ[name]) for name in names)
    found = _environment_proxies(f"{parts.scheme}://{parts.netloc}/", no_proxy, variables)
    return dict(found)


@functools.lru_cache(maxsize=256)
def _environment_proxies(
    url: str, no_proxy: Optional[str], variables: Tuple[Tuple[str, str], ...]
) -> Dict[str, str]:
    return requests.utils.get_environ_proxies(url, no_proxy=no_proxy)


_caller_retries = threading.local()


@contextmanager
def caller_retries() -> Iterator[None]:
    """While the block runs, :class:`Session` sends in this thread without retrying: the
    caller (a :class:`~g4f_sync.http.Transport`) retries by itself."""
    previous = getattr(_caller_retries, "active", False)
    _caller_retries.active = True
    try:
        yield
    finally:
        _caller_retries.active = previous


def send_with_retries(
    send_once: Callable[[], requests.Response],
    retry: Retry,
    pause: Callable[[float], None] = time.sleep,
    what: str = "the request",
) -> requests.Response:
    """Call ``send_once`` until it answers with a status not worth retrying, or
    ``retry`` is spent; ``pause(seconds)`` waits before each retry. ``what`` names the
    request in the log (``"POST http://host/path"``).

    Retried: connection errors (not TLS errors) and the statuses of
    :data:`~g4f_sync.http.config.RETRY_STATUSES`, whose response is closed first; a
    ``Retry-After`` longer than ``retry.retry_after_max`` is not waited for. Returns the
    last response, or raises the last exception.
    """
    attempt = 0
    while True:
        try:
            response = send_once()
        except requests.RequestException as exc:
            if attempt >= retry.total or not _worth_retrying(exc):
                raise
            delay, why = retry.wait(attempt), type(exc).__name__
        else:
            delay = _retry_delay(response, attempt, retry)
            if delay is None:
                return response
            why = f"HTTP {response.status_code}"
            response.close()
        log.debug(
            "retrying %s in %.2f s after %s (attempt %d of %d)",
            what,
            delay,
            why,
            attempt + 2,
            retry.total + 1,
        )
        pause(delay)
        attempt += 1


def _worth_retrying(exc: requests.RequestException) -> bool:
    return isinstance(exc, requests.ConnectionError) and not isinstance(
        exc, requests.exceptions.SSLError
    )


def _retry_delay(response: requests.Response, attempt: int, retry: Retry) -> Optional[float]:
    """Seconds to wait before sending again after ``response``; None: do not.

    As openai-python decides: the server's ``x-should-retry`` (``true``/``false``)
    first, else the status (:data:`~g4f_sync.http.config.RETRY_STATUSES`, any 5xx);
    ``retry-after-ms`` or ``Retry-After`` when longer than the backoff, unless longer
    than ``retry.retry_after_max``.
    """
    if attempt >= retry.total:
        return None
    should = response.headers.get("x-should-retry", "").strip().lower()
    status = response.status_code
    if should == "false" or (should != "true" and status not in RETRY_STATUSES and status < 500):
        return None
    retry_after = retry_after_of(response.headers)
    if retry_after is not None and retry_after > retry.retry_after_max:
        return None
    return retry.wait(attempt, retry_after)
