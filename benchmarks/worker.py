"""One process, one reader: ``python -m benchmarks.worker SPECS_JSON`` runs each spec (a
measurement) in turn and prints a JSON list of results on its last stdout line.

A spec names its ``kind`` (``throughput``, ``latency``, ``concurrency``, ``rss``, ``bytes``), the
``reader`` and the emulator's base ``url`` (``urls`` for ``concurrency``); the rest are the
kind's parameters. A result
is the kind's figures, or ``{"error": ..., "available": bool}``. Only the standard library
is imported here: the reader imports what it reads with.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import time
from functools import partial
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlencode

from .async_readers import ASYNC, run_async
from .readers import (
    KOALA_PATH,
    SDK,
    NotAvailableError,
    open_reader,
    route,
    stream_bytes_per_token,
)
from .server import cpu_ticks, wait_until_idle

__all__ = ["endpoint", "main", "peak_rss_kib", "percentile", "run_spec"]

Spec = Dict[str, Any]
Result = Dict[str, Any]


def endpoint(base: str, path: str = KOALA_PATH, **query: Any) -> str:
    """The emulator's API URL at ``path`` (Koala's by default; a reader's:
    :func:`~benchmarks.readers.route`) with per-request options in the query string."""
    pairs = {k: ("true" if v is True else v) for k, v in query.items() if v is not None}
    return f"{base}{path}?{urlencode(pairs)}"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _close(iterator: Iterator[Any]) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def peak_rss_kib() -> float:
    """This process's peak RSS in KiB: ``VmHWM`` of ``/proc/self/status``, the peak of its
    own memory since its exec. Not ``ru_maxrss``: on Linux a process starts with its
    parent's peak RSS there (exec keeps the old memory's peak), so every worker would
    report at least the runner's. ``ru_maxrss`` where ``/proc`` is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def measure_throughput(spec: Spec) -> Result:
    """Read one ``count``-token stream with no delay. After the first token, wait until the
    server has written what the socket buffers hold, then time the rest: the figure is the
    client's own rate, not the emulator's."""
    count = spec["count"]
    reader = spec["reader"]
    tokens = open_reader(
        reader, endpoint(spec["url"], route(reader), count=count, framing=spec["framing"])
    )
    try:
        next(tokens)
        settle = wait_until_idle(spec["server_pid"]) if spec.get("server_pid") else 0.0
        cpu0 = time.process_time()
        start = time.perf_counter()
        received = 1
        for _ in tokens:
            received += 1
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu0
    finally:
        _close(tokens)
    if received != count:
        raise RuntimeError(f"received {received} tokens, expected {count}")
    timed = count - 1
    return {
        "tokens_per_s": timed / elapsed,
        "cpu_us_per_token": cpu / timed * 1e6,
        "settle_s": settle,
    }


def _timed(tokens: Iterator[str]) -> Tuple[List[float], List[float]]:
    """Each token's server send time (its text) and its arrival time here (monotonic)."""
    now = time.monotonic
    sent: List[float] = []
    arrived: List[float] = []
    try:
        for token in tokens:
            arrived.append(now())
            sent.append(float(token))
    finally:
        _close(tokens)
    return sent, arrived


def _delays(tokens: Iterator[str]) -> List[float]:
    """Seconds from each token's server send time to its arrival in this loop."""
    sent, arrived = _timed(tokens)
    return [a - s for s, a in zip(sent, arrived)]


def measure_latency(spec: Spec) -> Result:
    """Per-token delay of a ``count``-token stream, ``delay`` s apart, each token carrying
    the server's ``time.monotonic()`` at send time (system-wide on Linux)."""
    url = endpoint(
        spec["url"],
        route(spec["reader"]),
        count=spec["count"],
        delay=spec["delay"],
        timestamps=True,
        framing=spec["framing"],
    )
    delays = _delays(open_reader(spec["reader"], url))
    if len(delays) != spec["count"]:
        raise RuntimeError(f"received {len(delays)} tokens, expected {spec['count']}")
    ms = [d * 1000 for d in delays]
    return {"p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99), "max_ms": max(ms)}


Timing = Tuple[List[float], List[float]]


Outcome = Union[Timing, BaseException]
"""A stream's timing, or what ended it."""


def _run_parallel(calls: List[Callable[[], Timing]], sdk: bool) -> List[Outcome]:
    """Run ``calls`` all at once: on the SDK's batch helper, or on a plain thread pool;
    each call's timing or its error."""
    if sdk:
        try:
            from g4f_sync.threaded import run_batch
        except ImportError:
            pass
        else:
            batch = run_batch(calls, max_workers=len(calls), progress=False)
            return [r.value if r.error is None else r.error for r in batch]  # type: ignore[misc]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.exception() or future.result() for future in futures]


def _cpu_seconds(pids: Sequence[int]) -> Optional[float]:
    ticks = [cpu_ticks(pid) for pid in pids]
    if not pids or None in ticks:
        return None
    return sum(t for t in ticks if t is not None) / os.sysconf("SC_CLK_TCK")


def measure_concurrency(spec: Spec) -> Result:
    """``streams`` streams of ``count`` tokens ``delay`` s apart, read at once (in threads,
    SDK readers on ``g4f_sync.threaded.run_batch``; an asyncio peer's as tasks on one
    event loop), spread over the emulator processes at ``urls``: wall time, per-token
    delays, this process's CPU per token received, how long the server took to send each
    stream (``send_span``: its last token's send time minus its first's), the CPU the
    server processes and this one used per second of wall time, and the streams that
    failed or came short (a stream that fails counts, its tokens too)."""
    reader = spec["reader"]
    streams = spec["streams"]
    count = spec["count"]
    urls = [
        endpoint(
            base,
            route(reader),
            count=count,
            delay=spec["delay"],
            timestamps=True,
            framing=spec.get("framing", "chunked"),
        )
        for base in spec["urls"]
    ]
    first = endpoint(spec["urls"][0], route(reader), count=1, timestamps=True)
    for outcome in _read_at_once(reader, [first]):  # imports and availability, unclocked
        if isinstance(outcome, BaseException):
            raise outcome
    pids = spec.get("server_pids", [])
    server_cpu = _cpu_seconds(pids)
    cpu = time.process_time()
    start = time.perf_counter()
    outcomes = _read_at_once(reader, [urls[i % len(urls)] for i in range(streams)])
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    server_share = None
    if server_cpu is not None:
        used = _cpu_seconds(pids)
        server_share = None if used is None else (used - server_cpu) / wall
    results = [o for o in outcomes if not isinstance(o, BaseException)]
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    ms = [(a - s) * 1000 for sent, arrived in results for s, a in zip(sent, arrived)]
    if not ms:
        raise failures[0] if failures else RuntimeError("no token arrived")
    spans = [sent[-1] - sent[0] for sent, _ in results if sent]
    return {
        "wall_s": wall,
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
        "cpu_us_per_token": cpu / len(ms) * 1e6,
        "failed_streams": len(failures),
        "tokens_lost": sum(count - len(sent) for sent, _ in results),
        "first_failure": f"{type(failures[0]).__name__}: {failures[0]}"[:300] if failures else None,
        "send_span_s": percentile(spans, 50),
        "server_cpu_share": server_share,
        "client_cpu_share": cpu / wall,
        "peak_rss_kib": peak_rss_kib(),
    }


def _timed_reader(reader: str, url: str) -> Timing:
    return _timed(open_reader(reader, url))


def _read_at_once(reader: str, urls: List[str]) -> List[Outcome]:
    """Read the streams at ``urls`` all at once: an asyncio peer's tasks on one event
    loop, or each stream in a thread (an SDK reader's on ``run_batch``)."""
    if reader in ASYNC:
        return run_async(reader, urls)
    calls: List[Callable[[], Timing]] = [partial(_timed_reader, reader, url) for url in urls]
    return _run_parallel(calls, reader in SDK)


def measure_rss(spec: Spec) -> Result:
    """Peak RSS of this process after reading one ``count``-token stream (run it first in a
    fresh process)."""
    url = endpoint(
        spec["url"],
        route(spec["reader"]),
        count=spec["count"],
        framing=spec.get("framing", "chunked"),
    )
    received = sum(1 for _ in open_reader(spec["reader"], url))
    if received != spec["count"]:
        raise RuntimeError(f"received {received} tokens, expected {spec['count']}")
    return {"peak_rss_mib": peak_rss_kib() / 1024}


def measure_bytes(spec: Spec) -> Result:
    """Bytes per token of the stream at ``path``, ``count`` tokens (the body as sent)."""
    return {"bytes_per_token": stream_bytes_per_token(spec["url"], spec["path"], spec["count"])}


MEASURES: Dict[str, Callable[[Spec], Result]] = {
    "bytes": measure_bytes,
    "throughput": measure_throughput,
    "latency": measure_latency,
    "concurrency": measure_concurrency,
    "rss": measure_rss,
}


def run_spec(spec: Spec) -> Result:
    """Run one measurement; errors become ``{"error": ..., "available": ...}``."""
    try:
        return MEASURES[spec["kind"]](spec)
    except NotAvailableError as exc:
        return {"error": str(exc), "available": False}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "available": True}


def main(argv: Sequence[str] = ()) -> int:
    """Run the specs given as one JSON list argument; print the results as one JSON line."""
    args = list(argv) or sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m benchmarks.worker SPECS_JSON", file=sys.stderr)
        return 2
    results = [run_spec(spec) for spec in json.loads(args[0])]
    sys.stdout.write(json.dumps(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
