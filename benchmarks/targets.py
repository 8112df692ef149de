"""The targets table: each figure the issue sets a target for, its value, and whether it
is met (:func:`targets`)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .config import FRAMINGS, SECTIONS

__all__ = ["lookup", "ratio", "targets"]


def lookup(data: Dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def _pair(a: Optional[float], b: Optional[float], unit: str, digits: int = 0) -> str:
    if a is None or b is None:
        return ""
    return f"{a:,.{digits}f} / {b:,.{digits}f} {unit}"


def _floor_note(conc: Dict[str, Any]) -> str:
    ratio = lookup(conc, "socket", "ratio")
    return "" if ratio is None else f"; raw-socket floor {ratio:.2f}"


def targets(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The issue's targets: each figure's value (a ratio, or ms), what it was computed
    from, the target, whether it is met, and the reference's value when measured."""
    rows: List[Dict[str, Any]] = []
    sections = results.get("meta", {}).get("sections", SECTIONS)

    def add(
        section: str,
        figure: str,
        value: Optional[float],
        target: float,
        higher: bool,
        detail: str,
        reference: Optional[float],
    ) -> None:
        if section not in sections:
            return
        met = None if value is None else (value >= target if higher else value <= target)
        rows.append(
            {
                "section": section,
                "figure": figure,
                "value": value,
                "detail": detail,
                "target": f"{'>=' if higher else '<='} {target:g}",
                "met": met,
                "reference": reference,
            }
        )

    tp = results.get("throughput", {})
    floor = lookup(tp, "requests", "chunked", "tokens_per_s")
    for reader, label, target, ref in (
        ("provider", "provider stream", 0.75, "g4f"),
        ("client", "Client chunk stream", 0.5, "g4f-client"),
    ):
        for framing in FRAMINGS:
            mine = lookup(tp, reader, framing, "tokens_per_s")
            add(
                "throughput",
                f"{label} tok/s vs requests floor (chunked), {framing}",
                ratio(mine, floor),
                target,
                True,
                _pair(mine, floor, "tok/s"),
                ratio(lookup(tp, ref, framing, "tokens_per_s"), floor),
            )
    lat = results.get("latency", {})
    for framing in FRAMINGS:
        p99 = lookup(lat, "provider", framing, "p99_ms")
        p50 = lookup(lat, "provider", framing, "p50_ms")
        add(
            "latency",
            f"per-token delay p99 ms, provider, {framing}",
            p99,
            1.0,
            False,
            "" if p50 is None else f"p50 {p50:.2f} ms",
            lookup(lat, "g4f", framing, "p99_ms"),
        )
    conc = results.get("concurrency", {})
    streams = lookup(results, "meta", "config", "concurrency_streams") or 32
    add(
        "concurrency",
        f"{streams} streams: wall vs one stream (provider on run_batch)",
        lookup(conc, "provider", "ratio"),
        1.2,
        False,
        _pair(
            lookup(conc, "provider", "wall_s"),
            lookup(conc, "provider", "one_stream_wall_s"),
            "s",
            2,
        )
        + _floor_note(conc),
        lookup(conc, "g4f", "ratio"),
    )
    floor_p99 = lookup(conc, "requests", "p99_ms")
    add(
        "concurrency",
        f"{streams} streams: token delay p99 ms (provider on run_batch)",
        lookup(conc, "provider", "p99_ms"),
        10.0,
        False,
        ""
        if floor_p99 is None
        else f"requests floor {floor_p99:.2f} ms, raw socket "
        f"{lookup(conc, 'socket', 'p99_ms') or float('nan'):.2f} ms",
        lookup(conc, "g4f", "p99_ms"),
    )
    growth_floor = lookup(conc, "requests", "rss_per_extra_stream_kib")
    add(
        "concurrency",
        f"{streams} streams: peak RSS KiB per extra stream (provider on run_batch)",
        lookup(conc, "provider", "rss_per_extra_stream_kib"),
        256.0,
        False,
        "" if growth_floor is None else f"requests floor {growth_floor:.0f} KiB",
        lookup(conc, "g4f", "rss_per_extra_stream_kib"),
    )
    imp = results.get("import", {})
    requests_ms = lookup(imp, "requests", "import_ms")
    mine = lookup(imp, "g4f_sync", "import_ms")
    add(
        "import",
        "import g4f_sync vs import requests",
        ratio(mine, requests_ms),
        1.2,
        False,
        _pair(mine, requests_ms, "ms", 1),
        ratio(lookup(imp, "g4f", "import_ms"), requests_ms),
    )
    rss = results.get("rss", {})
    requests_rss = lookup(rss, "requests", "peak_rss_mib")
    mine = lookup(rss, "provider", "peak_rss_mib")
    add(
        "rss",
        "peak RSS vs requests floor (provider)",
        ratio(mine, requests_rss),
        1.15,
        False,
        _pair(mine, requests_rss, "MiB", 1),
        ratio(lookup(rss, "g4f", "peak_rss_mib"), requests_rss),
    )
    return rows
