"""The asyncio peers: many Koala streams read at once on one event loop, with aiohttp or with
httpx's ``AsyncClient`` (the client openai's ``AsyncOpenAI`` uses).

Each reads the stream as the requests floor does (lines, ``json.loads`` of what follows
``data: ``), each stream a task, all on ``asyncio.run``'s default loop; connection pools
are unbounded, so that every stream has its own connection at once, as every thread has.
Neither library is a dependency of g4f_sync: they run in the benchmark's own virtual
environment (:mod:`benchmarks.peers`).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple, Union

from .readers import BODY, NotAvailableError

__all__ = ["ASYNC", "run_async"]

Timing = Tuple[List[float], List[float]]
"""Each token's server send time and its arrival time here (``time.monotonic()``)."""
Outcome = Union[Timing, BaseException]
"""A stream's timing, or what ended it."""
_KEEP: Dict[str, Any] = {"return_exceptions": True}
"""A stream that fails is counted; the others read on (as ``run_batch`` does)."""


async def _aiohttp_all(urls: Sequence[str]) -> List[Outcome]:
    try:
        import aiohttp
    except ImportError:
        raise NotAvailableError("aiohttp is not installed: see benchmarks.peers") from None
    now, loads = time.monotonic, json.loads

    async def one(session: Any, url: str) -> Timing:
        sent: List[float] = []
        arrived: List[float] = []
        async with session.post(url, json=BODY) as response:
            response.raise_for_status()
            async for line in response.content:
                if line.startswith(b"data: "):
                    arrived.append(now())
                    sent.append(float(loads(line[6:])))
        return sent, arrived

    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        return list(await asyncio.gather(*(one(session, url) for url in urls), **_KEEP))


async def _httpx_all(urls: Sequence[str]) -> List[Outcome]:
    try:
        import httpx
    except ImportError:
        raise NotAvailableError("httpx is not installed: see benchmarks.peers") from None
    now, loads = time.monotonic, json.loads

    async def one(client: Any, url: str) -> Timing:
        sent: List[float] = []
        arrived: List[float] = []
        async with client.stream("POST", url, json=BODY) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    arrived.append(now())
                    sent.append(float(loads(line[6:])))
        return sent, arrived

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(60, connect=10)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        return list(await asyncio.gather(*(one(client, url) for url in urls), **_KEEP))


ASYNC: Dict[str, Callable[[Sequence[str]], Any]] = {
    "aiohttp": _aiohttp_all,
    "httpx": _httpx_all,
}
"""Each asyncio peer: the URLs of the streams to read at once, to their timings."""


def run_async(reader: str, urls: Sequence[str]) -> List[Outcome]:
    """Read the streams at ``urls`` at once with peer ``reader``, on a new event loop:
    each stream's timing or its error."""
    return asyncio.run(ASYNC[reader](urls))  # type: ignore[no-any-return]
