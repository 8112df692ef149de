"""What a run measures: the sections, the readers, and how often (:class:`Config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Tuple

from .readers import MEASURED

__all__ = [
    "CONCURRENCY_LOADS",
    "CONCURRENCY_READERS",
    "FRAMINGS",
    "RSS_READERS",
    "SECTIONS",
    "SMOKE",
    "Config",
    "Load",
    "left_out",
    "loads_of",
]

SECTIONS = ("throughput", "latency", "concurrency", "import", "rss")
FRAMINGS = ("chunked", "close")
CONCURRENCY_READERS = ("provider", "client", "requests", "socket", "aiohttp", "httpx", "g4f")
"""g4f_sync's provider and Client on ``run_batch``, the floors in plain threads, the
asyncio peers (:mod:`benchmarks.async_readers`) and the reference (the small load only)."""
RSS_READERS = ("provider", "client", "threaded", "requests", "socket", "g4f")


@dataclass(frozen=True)
class Load:
    """A concurrency load: ``streams`` read at once, ``count`` tokens each, ``delay``
    seconds apart, spread over ``servers`` emulator processes."""

    streams: int
    count: int
    delay: float
    servers: int = 1

    def describe(self) -> str:
        """``"256 streams x 100 tokens, 20 ms apart"``."""
        return f"{self.streams:,} streams x {self.count:,} tokens, {self.delay * 1000:g} ms apart"

    def label(self) -> str:
        """``"256 streams, 20 ms"``: the load in a target's name."""
        return f"{self.streams:,} streams, {self.delay * 1000:g} ms"


CONCURRENCY_LOADS: Dict[str, Load] = {
    "small": Load(32, 1000, 0.001),
    "medium": Load(256, 100, 0.02, servers=2),
    "large": Load(1000, 50, 0.04, servers=2),
}
"""The loads of a full run, by name: 32 fast streams, 256 and 1,000 at chat rates."""


def loads_of(config: Mapping[str, Any]) -> Dict[str, Load]:
    """The loads of a configuration as saved in a results file (``asdict`` of a
    :class:`Config`); the default loads where it has none."""
    saved = config.get("concurrency_loads")
    if not isinstance(saved, Mapping):
        return dict(CONCURRENCY_LOADS)
    return {name: Load(**load) for name, load in saved.items()}


@dataclass
class Config:
    """What one run measures, and how often (see ``--help`` for the meaning)."""

    throughput_count: int = 20000
    throughput_repeats: int = 5
    latency_count: int = 200
    latency_delay: float = 0.005
    latency_repeats: int = 5
    concurrency_loads: Dict[str, Load] = field(default_factory=lambda: dict(CONCURRENCY_LOADS))
    concurrency_repeats: int = 3
    peers: bool = True
    """Measure the asyncio peers, installed into a virtual environment of their own
    (:mod:`benchmarks.peers`)."""
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
    concurrency_loads={
        "small": Load(4, 20, 0.001),
        "medium": Load(8, 10, 0.005, servers=2),
        "large": Load(12, 5, 0.01, servers=2),
    },
    concurrency_repeats=1,
    peers=False,
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
