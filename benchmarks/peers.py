"""The asyncio peers, aiohttp and httpx, in a virtual environment of their own: the
clients people would pick instead of threads (openai's ``AsyncOpenAI`` runs on httpx's
``AsyncClient``). Never dependencies of g4f_sync; pinned, so runs compare."""

from __future__ import annotations

from typing import Optional, Tuple

from .venvs import cache_venv, ensure_venv

__all__ = ["PEERS", "PEER_REQUIREMENTS", "default_venv", "ensure_peers"]

PEER_REQUIREMENTS = ("aiohttp==3.14.5", "httpx==0.28.1")
PEERS = ("aiohttp", "httpx")
"""The readers (:data:`benchmarks.async_readers.ASYNC`) that run in this environment."""
_CHECK = (
    "import aiohttp, httpx, importlib.metadata as m; "
    "assert (m.version('aiohttp'), m.version('httpx')) == ('3.14.5', '0.28.1')"
)


def default_venv() -> str:
    """``$XDG_CACHE_HOME/g4f_sync-benchmarks/peers-aiohttp-3.14.5-httpx-0.28.1``."""
    return cache_venv("peers-" + "-".join(r.replace("==", "-") for r in PEER_REQUIREMENTS))


def ensure_peers(venv: Optional[str] = None) -> Tuple[Optional[str], str]:
    """Create ``venv`` with the peers unless they are there; ``(python, "")`` on success,
    ``(None, why)`` when they cannot be installed."""
    return ensure_venv(venv or default_venv(), list(PEER_REQUIREMENTS), _CHECK)
