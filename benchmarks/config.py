"""What a run measures: the sections, the readers, and how often (:class:`Config`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Tuple

from .readers import MEASURED

__all__ = [
    "CONCURRENCY_READERS",
    "FRAMINGS",
    "RSS_READERS",
    "SECTIONS",
    "SMOKE",
    "Config",
    "left_out",
]

SECTIONS = ("throughput", "latency", "concurrency", "import", "rss")
FRAMINGS = ("chunked", "close")
CONCURRENCY_READERS = ("provider", "client", "requests", "socket", "g4f")
RSS_READERS = ("provider", "client", "threaded", "requests", "socket", "g4f")


@dataclass
class Config:
    """What one run measures, and how often (see ``--help`` for the meaning)."""

    throughput_count: int = 20000
    throughput_repeats: int = 5
    latency_count: int = 200
    latency_delay: float = 0.005
    latency_repeats: int = 5
    concurrency_streams: int = 32
    concurrency_count: int = 1000
    concurrency_delay: float = 0.001
    concurrency_repeats: int = 3
    concurrency_servers: int = 1
    """Emulator processes the streams are spread over (one is enough since its pacer
    thread sends every delayed stream)."""
    import_runs: int = 21
    rss_count: int = 20000
    rss_repeats: int = 3
    sections: Tuple[str, ...] = SECTIONS
    readers: Tuple[str, ...] = MEASURED
    batched: bool = False
    """Smoke runs: one worker process per reader and section instead of per repeat."""
    bytecode_cache: bool = True
    """Fill a fresh bytecode cache first (see :func:`benchmarks.processes.bytecode_cache`);
    smoke runs do not."""


SMOKE = Config(
    throughput_count=300,
    throughput_repeats=1,
    latency_count=10,
    latency_delay=0.002,
    latency_repeats=1,
    concurrency_streams=4,
    concurrency_count=20,
    concurrency_delay=0.001,
    concurrency_repeats=1,
    import_runs=1,
    rss_count=300,
    rss_repeats=1,
    batched=True,
    bytecode_cache=False,
)


def left_out(sections: Iterable[str], readers: Iterable[str]) -> List[str]:
    """The sections and readers (of g4f_sync and the floors) that a run of ``sections``
    with ``readers`` leaves out: empty for a full run."""
    measured = {*sections, *readers}
    return [name for name in (*SECTIONS, *MEASURED) if name not in measured]
