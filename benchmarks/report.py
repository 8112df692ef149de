"""The report: the targets and each section's figures as markdown (:func:`render`), the
targets alone as reStructuredText for README.rst (:func:`render_rst`)."""

from __future__ import annotations

import textwrap
from typing import Any, Dict

from .config import FRAMINGS
from .reference import REFERENCE_REQUIREMENT
from .targets import lookup as _get
from .targets import ratio as _ratio

__all__ = ["machine_note", "render", "render_rst"]


def _cell(value: Any, digits: int = 2, missing: str = "n/a") -> str:
    if isinstance(value, dict) and "error" in value:
        return _short_error(value)
    if value is None:
        return missing
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _percent(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, float) else "n/a"


def _short_error(entry: Dict[str, Any]) -> str:
    error = str(entry["error"])
    if not entry.get("available", True):
        return "n/a (not built yet)" if "not built" in error else f"n/a ({error})"
    return f"error: {error[:80]}"


def _reader_cell(section: Dict[str, Any], reader: str, *keys: str, digits: int = 2) -> str:
    entry = section.get(reader)
    for key in keys:
        if isinstance(entry, dict) and "error" in entry:
            break
        entry = entry.get(key) if isinstance(entry, dict) else None
    return _cell(entry, digits)


def machine_note(meta: Dict[str, Any]) -> str:
    """One sentence on the machine, its load and the command."""
    return (
        f"{meta['cpu']}, {meta['cores']} cores, {meta['system']}, Python {meta['python']}; "
        f"load average {meta['load_start']} at the start, {meta['load_end']} at the end"
    )


def render_rst(results: Dict[str, Any]) -> str:
    """The targets table as reStructuredText, to paste into README.rst's Figures section."""
    meta = results["meta"]
    note = f"``{meta['command']}``, {meta['date'][:10]}: {machine_note(meta)}."
    lines = [
        *textwrap.wrap(note, 88, break_on_hyphens=False),
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
    ]
    rows = [["figure", "g4f_sync", "from", "target", "met", "g4f 0.4.7.0"]]
    for row in results["targets"]:
        met = {True: "yes", False: "**no**", None: "n/a"}[row["met"]]
        rows.append(
            [
                row["figure"],
                _cell(row["value"]),
                row["detail"] or "-",
                row["target"].replace(">=", "≥").replace("<=", "≤"),
                met,
                _cell(row["reference"], missing="-"),
            ]
        )
    for cells in rows:
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {cell}" for cell in cells[1:]]
    return "\n".join(lines) + "\n"


def render(results: Dict[str, Any]) -> str:
    """The markdown report: the machine, the targets, then each section's detail."""
    meta = results["meta"]
    lines = [
        f"# g4f_sync figures ({meta['date']})",
        "",
        f"Machine: {machine_note(meta)}. Command: `{meta['command']}`.",
        "",
    ]
    if meta.get("reference_error"):
        lines += [f"Reference {REFERENCE_REQUIREMENT}: n/a ({meta['reference_error']})", ""]
    lines += [
        "| figure | g4f_sync | from | target | met | g4f 0.4.7.0 |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["targets"]:
        met = {True: "yes", False: "**no**", None: "n/a"}[row["met"]]
        lines.append(
            f"| {row['figure']} | {_cell(row['value'])} | {row['detail']} | {row['target']} "
            f"| {met} | {_cell(row['reference'], missing='-')} |"
        )
    readers = list(meta["readers"])
    tp = results.get("throughput")
    if tp:
        floor = _get(tp, "requests", "chunked", "tokens_per_s")
        lines += [
            "",
            f"Throughput: one {meta['config']['throughput_count']:,}-token stream, no delay; "
            "tokens/s while the client drains what the server wrote (best of "
            f"{meta['config']['throughput_repeats']}), client CPU µs per token (least).",
            "",
            "| reader | chunked tok/s | close tok/s | vs floor (chunked) "
            "| CPU µs/tok chunked | CPU µs/tok close |",
            "|---|---|---|---|---|---|",
        ]
        for reader in readers:
            if reader not in tp:
                continue
            ratio = _ratio(_get(tp, reader, "chunked", "tokens_per_s"), floor)
            lines.append(
                f"| {reader} | {_reader_cell(tp, reader, 'chunked', 'tokens_per_s', digits=0)} "
                f"| {_reader_cell(tp, reader, 'close', 'tokens_per_s', digits=0)} "
                f"| {_cell(ratio)} "
                f"| {_reader_cell(tp, reader, 'chunked', 'cpu_us_per_token')} "
                f"| {_reader_cell(tp, reader, 'close', 'cpu_us_per_token')} |"
            )
    lat = results.get("latency")
    if lat:
        cfg = meta["config"]
        lines += [
            "",
            f"Per-token delay: {cfg['latency_count']} tokens {cfg['latency_delay'] * 1000:g} ms "
            "apart, server send time to the caller's loop, ms (median of "
            f"{cfg['latency_repeats']} runs' p50 and p99).",
            "",
            "| reader | chunked p50 | chunked p99 | close p50 | close p99 |",
            "|---|---|---|---|---|",
        ]
        for reader in readers:
            if reader in lat:
                cells = [
                    _reader_cell(lat, reader, framing, key)
                    for framing in FRAMINGS
                    for key in ("p50_ms", "p99_ms")
                ]
                lines.append(f"| {reader} | {' | '.join(cells)} |")
    conc = results.get("concurrency")
    if conc:
        cfg = meta["config"]
        lines += [
            "",
            f"Concurrency: {cfg['concurrency_streams']} streams of {cfg['concurrency_count']} "
            f"tokens {cfg['concurrency_delay'] * 1000:g} ms apart at once, in threads "
            f"(median of {cfg['concurrency_repeats']}), {cfg['concurrency_servers']} emulator "
            "process(es). Server send span: the emulator's time from a stream's first token "
            "to its last (by their timestamps). CPU: seconds used per second of wall time by "
            "the emulator process(es) and by the client process (100% = one core).",
            "",
            "| reader | one stream s | all streams s | ratio | server send span s "
            "| delay p50 ms | delay p99 ms | server CPU | client CPU |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for reader in readers:
            if reader in conc:
                cells = [
                    _reader_cell(conc, reader, key, digits=3 if key.endswith("_s") else 2)
                    for key in (
                        "one_stream_wall_s",
                        "wall_s",
                        "ratio",
                        "send_span_s",
                        "p50_ms",
                        "p99_ms",
                    )
                ]
                cells += [
                    _percent(_get(conc, reader, key))
                    for key in ("server_cpu_share", "client_cpu_share")
                ]
                lines.append(f"| {reader} | {' | '.join(cells)} |")
    imp = results.get("import")
    if imp:
        lines += [
            "",
            f"Import, fresh interpreters, median of {meta['config']['import_runs']}:",
            "",
            "| module | import ms | vs requests | import CPU ms | CPU vs requests "
            "| whole process ms |",
            "|---|---|---|---|---|---|",
        ]
        if "error" in imp:
            lines.append(f"| - | {_cell(imp)} | | |")
        requests_ms = _get(imp, "requests", "import_ms")
        requests_cpu = _get(imp, "requests", "cpu_ms")
        for name, entry in imp.items():
            if isinstance(entry, dict) and "import_ms" in entry:
                lines.append(
                    f"| {name} | {_cell(entry['import_ms'], 1)} "
                    f"| {_cell(_ratio(entry['import_ms'], requests_ms))} "
                    f"| {_cell(entry['cpu_ms'], 1)} "
                    f"| {_cell(_ratio(entry['cpu_ms'], requests_cpu))} "
                    f"| {_cell(entry['process_ms'], 1)} |"
                )
    rss = results.get("rss")
    if rss:
        requests_rss = _get(rss, "requests", "peak_rss_mib")
        lines += [
            "",
            f"Peak RSS of a fresh process reading one {meta['config']['rss_count']:,}-token "
            f"stream (median of {meta['config']['rss_repeats']}):",
            "",
            "| reader | peak RSS MiB | vs requests |",
            "|---|---|---|",
        ]
        for reader in readers:
            if reader in rss:
                ratio = _ratio(_get(rss, reader, "peak_rss_mib"), requests_rss)
                lines.append(
                    f"| {reader} | {_reader_cell(rss, reader, 'peak_rss_mib', digits=1)} "
                    f"| {_cell(ratio)} |"
                )
    return "\n".join(lines) + "\n"
