"""Proxy URLs: checked before any I/O, and shown with their password masked."""

from __future__ import annotations

from typing import Mapping, Optional
from urllib.parse import urlsplit

import urllib3
import urllib3.exceptions

from .. import errors

__all__ = ["PROXY_SCHEMES", "parse_proxy", "redact_url"]

PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")


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
