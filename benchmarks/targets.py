"""The targets table: each figure the issue sets a target for (:data:`TARGETS`), and its
row in the results (:func:`targets`): the value, what it comes from, whether it is met."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from .config import FRAMINGS, SECTIONS, loads_of

__all__ = ["TARGETS", "Target", "lookup", "ratio", "targets"]

Path = Tuple[str, ...]
Note = Callable[[Dict[str, Any]], str]


def lookup(data: Dict[str, Any], *keys: str) -> Any:
    """``data[key][key]...``; None where a key is missing (or an entry is an error)."""
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    """``a / b``; None unless both are numbers and ``b`` is not zero."""
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def _pair(a: Optional[float], b: Optional[float], unit: str, digits: int = 0) -> str:
    if a is None or b is None:
        return ""
    return f"{a:,.{digits}f} / {b:,.{digits}f} {unit}"


@dataclass(frozen=True)
class Target:
    """A figure, where g4f_sync's value (``mine``) and the reference's (``theirs``) are in
    the section's results, and the bound the value must meet."""

    section: str
    figure: str
    """The figure's name; ``{small}``, ``{medium}``, ``{large}`` stand for the run's
    concurrency loads (:meth:`~benchmarks.config.Load.label`)."""
    mine: Path
    theirs: Optional[Path]
    """None: the reference has no such figure."""
    bound: float
    higher: bool = False
    """The value must be at least ``bound``; by default at most."""
    floor: Optional[Path] = None
    """Where the floor is (or another figure to compare with, such as Koala's path): then
    both figures are ratios to it, and the "from" column reads ``mine / floor unit``."""
    unit: str = ""
    digits: int = 0
    note: Optional[Note] = None
    """The "from" column of a figure without a floor, from the section's results."""

    def row(self, section: Dict[str, Any], labels: Dict[str, str]) -> Dict[str, Any]:
        """The figure's row in ``results["targets"]``."""
        mine = lookup(section, *self.mine)
        theirs = lookup(section, *self.theirs) if self.theirs else None
        if self.floor:
            floor = lookup(section, *self.floor)
            detail = _pair(mine, floor, self.unit, self.digits)
            mine, theirs = ratio(mine, floor), ratio(theirs, floor)
        else:
            detail = self.note(section) if self.note else ""
        met = None if mine is None else (mine >= self.bound if self.higher else mine <= self.bound)
        return {
            "section": self.section,
            "figure": self.figure.format(**labels),
            "value": mine,
            "detail": detail,
            "target": f"{'>=' if self.higher else '<='} {self.bound:g}",
            "met": met,
            "reference": theirs,
        }


def _p50(framing: str) -> Note:
    """The provider's p50 beside its p99."""

    def note(latency: Dict[str, Any]) -> str:
        p50 = lookup(latency, "provider", framing, "p50_ms")
        return "" if p50 is None else f"p50 {p50:.2f} ms"

    return note


def _walls(load: str) -> Note:
    """The two wall times, and the raw socket's ratio."""

    def note(conc: Dict[str, Any]) -> str:
        walls = _pair(
            lookup(conc, load, "provider", "wall_s"),
            lookup(conc, load, "provider", "one_stream_wall_s"),
            "s",
            2,
        )
        socket = lookup(conc, load, "socket", "ratio")
        return walls + ("" if socket is None else f"; raw-socket floor {socket:.2f}")

    return note


def _p99_floors(load: str) -> Note:
    def note(conc: Dict[str, Any]) -> str:
        floor = lookup(conc, load, "requests", "p99_ms")
        if floor is None:
            return ""
        socket = lookup(conc, load, "socket", "p99_ms") or float("nan")
        return f"requests floor {floor:.2f} ms, raw socket {socket:.2f} ms"

    return note


def _growth_floor(load: str) -> Note:
    def note(conc: Dict[str, Any]) -> str:
        floor = lookup(conc, load, "requests", "rss_per_extra_stream_kib")
        peer = lookup(conc, load, "aiohttp", "rss_per_extra_stream_kib")
        parts = [f"requests floor {floor:.0f} KiB"] if floor is not None else []
        parts += [f"aiohttp {peer:.0f} KiB"] if peer is not None else []
        return ", ".join(parts)

    return note


def _failures(load: str) -> Note:
    def note(conc: Dict[str, Any]) -> str:
        runs = lookup(conc, load, "provider", "runs") or []
        first = next((run["first_failure"] for run in runs if run.get("first_failure")), None)
        return f"first: {first}" if first else ""

    return note


_REQUESTS_FLOORS = (  # section, figure, g4f_sync's reader, figure key, bound, unit
    ("import", "import g4f_sync vs import requests", "g4f_sync", "import_ms", 1.2, "ms"),
    ("rss", "peak RSS vs requests floor (provider)", "provider", "peak_rss_mib", 1.15, "MiB"),
)

TARGETS: Tuple[Target, ...] = (
    # tokens/s of two surfaces, each framing, as ratios to requests' (chunked)
    *(
        Target(
            "throughput",
            f"{label} tok/s vs requests floor (chunked), {framing}",
            mine=(reader, framing, "tokens_per_s"),
            theirs=(reference, framing, "tokens_per_s"),
            bound=bound,
            higher=True,
            floor=("requests", "chunked", "tokens_per_s"),
            unit="tok/s",
        )
        for reader, reference, label, bound in (
            ("provider", "g4f", "provider stream", 0.75),
            ("client", "g4f-client", "Client chunk stream", 0.5),
        )
        for framing in FRAMINGS
    ),
    # ThreadedStream over the provider, each framing, as a ratio to the provider alone
    *(
        Target(
            "throughput",
            f"ThreadedStream tok/s vs the provider it wraps, {framing}",
            mine=("threaded", framing, "tokens_per_s"),
            theirs=None,
            bound=0.9,
            higher=True,
            floor=("provider", framing, "tokens_per_s"),
            unit="tok/s",
        )
        for framing in FRAMINGS
    ),
    # the OpenAI-compatible provider's CPU per token, each framing, as a ratio to Koala's
    # provider path on the same number of tokens in the same run
    *(
        Target(
            "throughput",
            f"OpenAI provider CPU per token vs Koala provider, {framing}",
            mine=("openai_provider", framing, "cpu_us_per_token"),
            theirs=None,
            bound=1.3,
            floor=("provider", framing, "cpu_us_per_token"),
            unit="µs/tok",
            digits=2,
        )
        for framing in FRAMINGS
    ),
    # the provider's p99 delay, each framing
    *(
        Target(
            "latency",
            f"per-token delay p99 ms, provider, {framing}",
            mine=("provider", framing, "p99_ms"),
            theirs=("g4f", framing, "p99_ms"),
            bound=1.0,
            note=_p50(framing),
        )
        for framing in FRAMINGS
    ),
    # the provider on run_batch, N streams at once: the small load (32 fast streams)
    *(
        Target(
            "concurrency",
            f"{{small}}: {name} (provider on run_batch)",
            mine=("small", "provider", key),
            theirs=("small", "g4f", key),
            bound=bound,
            note=note,
        )
        for name, key, bound, note in (
            ("wall vs one stream", "ratio", 1.2, _walls("small")),
            ("token delay p99 ms", "p99_ms", 10.0, _p99_floors("small")),
            (
                "peak RSS KiB per extra stream",
                "rss_per_extra_stream_kib",
                256.0,
                _growth_floor("small"),
            ),
        )
    ),
    Target(
        "concurrency",
        "{small}: delay p99 vs requests in threads (provider on run_batch)",
        mine=("small", "provider", "p99_ms"),
        theirs=None,
        bound=1.2,
        floor=("small", "requests", "p99_ms"),
        unit="ms",
        digits=2,
    ),
    # against aiohttp at chat rates: 256 and 1,000 streams
    *(
        Target(
            "concurrency",
            f"{{{load}}}: {name} vs aiohttp (provider on run_batch)",
            mine=(load, "provider", key),
            theirs=None,
            bound=bound,
            floor=(load, "aiohttp", key),
            unit=unit,
            digits=digits,
        )
        for load, name, key, bound, unit, digits in (
            ("medium", "delay p99", "p99_ms", 1.0, "ms", 1),
            ("medium", "CPU per token", "cpu_us_per_token", 1.1, "µs/tok", 1),
            ("large", "delay p99", "p99_ms", 1.0, "ms", 1),
            ("large", "CPU per token", "cpu_us_per_token", 1.25, "µs/tok", 1),
        )
    ),
    Target(
        "concurrency",
        "{large}: peak RSS KiB per extra stream (provider on run_batch)",
        mine=("large", "provider", "rss_per_extra_stream_kib"),
        theirs=None,
        bound=256.0,
        note=_growth_floor("large"),
    ),
    Target(
        "concurrency",
        "{large}: streams failed + tokens lost (provider on run_batch)",
        mine=("large", "provider", "failed"),
        theirs=None,
        bound=0.0,
        note=_failures("large"),
    ),
    # at every load, the SDK's path against plain requests in threads
    *(
        Target(
            "concurrency",
            f"{{{load}}}: {name} vs requests in threads (provider on run_batch)",
            mine=(load, "provider", key),
            theirs=None,
            bound=1.1,
            floor=(load, "requests", key),
            unit=unit,
            digits=digits,
        )
        for load in ("small", "medium", "large")
        for name, key, unit, digits in (
            ("CPU per token", "cpu_us_per_token", "µs/tok", 1),
            ("delay p50", "p50_ms", "ms", 2),
        )
    ),
    # import time and peak RSS, as ratios to requests'
    *(
        Target(
            section,
            figure,
            mine=(reader, key),
            theirs=("g4f", key),
            bound=bound,
            floor=("requests", key),
            unit=unit,
            digits=1,
        )
        for section, figure, reader, key, bound, unit in _REQUESTS_FLOORS
    ),
)
"""The issue's targets, in the order of the report."""


def targets(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The rows of the targets in the sections ``results`` measured: each figure's value
    (a ratio, or ms), what it comes from, the target, whether it is met, and the
    reference's value when measured."""
    sections = results.get("meta", {}).get("sections", SECTIONS)
    config = lookup(results, "meta", "config") or {}
    labels = {name: load.label() for name, load in loads_of(config).items()}
    return [
        target.row(results.get(target.section, {}), labels)
        for target in TARGETS
        if target.section in sections
    ]
