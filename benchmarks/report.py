"""The report: the targets and each section's figures as markdown (:func:`render`), the
targets alone as reStructuredText for README.rst (:func:`render_rst`)."""

from __future__ import annotations

import textwrap
from typing import Any, Callable, Dict, Iterable, List, Sequence

from .config import FRAMINGS, loads_of
from .peers import PEERS
from .readers import STREAM_FLOORS
from .reference import REFERENCE_REQUIREMENT
from .targets import lookup as _get
from .targets import ratio as _ratio

__all__ = ["SECTION_REPORTS", "machine_note", "render", "render_rst"]


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


MET = {True: "yes", False: "**no**", None: "n/a"}
TARGETS_HEADER = "figure | g4f_sync | from | target | met | g4f 0.4.7.0"


def _target_cells(row: Dict[str, Any]) -> List[str]:
    """A row of ``results["targets"]`` as the cells under :data:`TARGETS_HEADER`."""
    return [
        row["figure"],
        _cell(row["value"]),
        row["detail"],
        row["target"],
        MET[row["met"]],
        _cell(row["reference"], missing="-"),
    ]


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
    rows = [TARGETS_HEADER.split(" | ")]
    for row in results["targets"]:
        figure, value, detail, target, met, reference = _target_cells(row)
        target = target.replace(">=", "≥").replace("<=", "≤")
        rows.append([figure, value, detail or "-", target, met, reference])
    for cells in rows:
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {cell}" for cell in cells[1:]]
    return "\n".join(lines) + "\n"


def _row(cells: Sequence[str]) -> str:
    return f"| {' | '.join(cells)} |"


def _table(header: str, rows: Iterable[str]) -> List[str]:
    """A markdown table: the header (its cells between `` | ``), its rule, then ``rows``
    (each made by :func:`_row`)."""
    return [f"| {header} |", "|" + "---|" * len(header.split(" | ")), *rows]


def _section(text: str, header: str, rows: Iterable[str]) -> List[str]:
    """A section of the report: a paragraph on how it was measured, then its table."""
    return ["", text, "", *_table(header, rows)]


def _measured(section: Dict[str, Any], meta: Dict[str, Any]) -> List[str]:
    """The readers the section has results for, in the run's order (the asyncio peers,
    which only the concurrency section has, after g4f_sync's and the floors)."""
    order = [*meta["readers"], *(name for name in PEERS if name not in meta["readers"])]
    return [reader for reader in order if reader in section]


def _throughput(tp: Dict[str, Any], meta: Dict[str, Any]) -> List[str]:
    cfg = meta["config"]
    text = (
        f"Throughput: one {cfg['throughput_count']:,}-token stream, no delay; tokens/s while "
        f"the client drains what the server wrote (best of {cfg['throughput_repeats']}), "
        "client CPU µs per token (least). The `openai_` readers read the OpenAI stream "
        "(`/v1/chat/completions`), the others Koala's, the same tokens; floor: requests "
        "on the Koala stream, own floor: requests on the reader's stream."
    )
    sizes = meta.get("bytes_per_token") or {}
    if all(isinstance(sizes.get(name), float) for name in ("koala", "openai")):
        text += (
            f" Bytes per token on the wire: Koala {sizes['koala']:.1f}, "
            f"OpenAI {sizes['openai']:.1f}."
        )
    header = (
        "reader | chunked tok/s | close tok/s | vs floor (chunked) | vs own floor (chunked) "
        "| CPU µs/tok chunked | CPU µs/tok close"
    )
    floor = _get(tp, "requests", "chunked", "tokens_per_s")
    rows = [
        _row(
            [
                reader,
                _reader_cell(tp, reader, "chunked", "tokens_per_s", digits=0),
                _reader_cell(tp, reader, "close", "tokens_per_s", digits=0),
                _cell(_ratio(_get(tp, reader, "chunked", "tokens_per_s"), floor)),
                _cell(
                    _ratio(
                        _get(tp, reader, "chunked", "tokens_per_s"),
                        _get(tp, STREAM_FLOORS.get(reader, "requests"), "chunked", "tokens_per_s"),
                    )
                ),
                _reader_cell(tp, reader, "chunked", "cpu_us_per_token"),
                _reader_cell(tp, reader, "close", "cpu_us_per_token"),
            ]
        )
        for reader in _measured(tp, meta)
    ]
    return _section(text, header, rows)


def _latency(lat: Dict[str, Any], meta: Dict[str, Any]) -> List[str]:
    cfg = meta["config"]
    text = (
        f"Per-token delay: {cfg['latency_count']} tokens {cfg['latency_delay'] * 1000:g} ms "
        "apart, server send time to the caller's loop, ms (median of "
        f"{cfg['latency_repeats']} runs' p50 and p99)."
    )
    header = "reader | chunked p50 | chunked p99 | close p50 | close p99"
    rows = [
        _row(
            [reader]
            + [
                _reader_cell(lat, reader, framing, key)
                for framing in FRAMINGS
                for key in ("p50_ms", "p99_ms")
            ]
        )
        for reader in _measured(lat, meta)
    ]
    return _section(text, header, rows)


CONCURRENCY_FIGURES = ("one_stream_wall_s", "wall_s", "ratio", "p50_ms", "p99_ms", "max_ms")
CPU_SHARES = ("server_cpu_share", "client_cpu_share")


def _concurrency(conc: Dict[str, Any], meta: Dict[str, Any]) -> List[str]:
    cfg = meta["config"]
    loads = loads_of(cfg)
    text = (
        "Concurrency: N streams read at once, each against one stream alone (median of "
        f"{cfg['concurrency_repeats']}; max: the largest). g4f_sync's provider and Client on "
        "`run_batch`, requests and a raw socket in plain threads, aiohttp and httpx's "
        "`AsyncClient` as tasks on one asyncio loop. Delay: the emulator's send time (in "
        "each token) to the caller's loop. CPU µs/tok: the client process's CPU per token "
        "received, connections included. Failed: streams that raised, plus tokens missing. "
        "CPU share: seconds used per second of wall time by the emulator process(es) and "
        "by the client (100% = one core)."
    )
    if meta.get("peers_error"):
        text += f" Asyncio peers: n/a ({meta['peers_error']})."
    header = (
        "reader | one stream s | all streams s | ratio | delay p50 ms | delay p99 ms "
        "| delay max ms | CPU µs/tok | KiB per extra stream | failed | server CPU | client CPU"
    )
    lines: List[str] = ["", text]
    for name, load in loads.items():
        section = conc.get(name)
        if not isinstance(section, dict):
            continue
        rows = [
            _row(
                [reader]
                + [
                    _reader_cell(section, reader, key, digits=3 if key.endswith("_s") else 2)
                    for key in CONCURRENCY_FIGURES
                ]
                + [
                    _reader_cell(section, reader, "cpu_us_per_token", digits=1),
                    _reader_cell(section, reader, "rss_per_extra_stream_kib", digits=0),
                    _reader_cell(section, reader, "failed", digits=0),
                ]
                + [_percent(_get(section, reader, key)) for key in CPU_SHARES]
            )
            for reader in _measured(section, meta)
        ]
        servers = f"{load.servers} emulator process{'es' if load.servers > 1 else ''}"
        lines += _section(f"**{load.describe()}**, {servers}:", header, rows)
    return lines


def _import(imp: Dict[str, Any], meta: Dict[str, Any]) -> List[str]:
    text = f"Import, fresh interpreters, median of {meta['config']['import_runs']}:"
    header = "module | import ms | vs requests | import CPU ms | CPU vs requests | whole process ms"
    requests_ms = _get(imp, "requests", "import_ms")
    requests_cpu = _get(imp, "requests", "cpu_ms")
    rows = [f"| - | {_cell(imp)} | | |"] if "error" in imp else []
    rows += [
        _row(
            [
                name,
                _cell(entry["import_ms"], 1),
                _cell(_ratio(entry["import_ms"], requests_ms)),
                _cell(entry["cpu_ms"], 1),
                _cell(_ratio(entry["cpu_ms"], requests_cpu)),
                _cell(entry["process_ms"], 1),
            ]
        )
        for name, entry in imp.items()
        if isinstance(entry, dict) and "import_ms" in entry
    ]
    return _section(text, header, rows)


def _rss(rss: Dict[str, Any], meta: Dict[str, Any]) -> List[str]:
    cfg = meta["config"]
    text = (
        f"Peak RSS of a fresh process reading one {cfg['rss_count']:,}-token stream "
        f"(median of {cfg['rss_repeats']}):"
    )
    requests_rss = _get(rss, "requests", "peak_rss_mib")
    rows = [
        _row(
            [
                reader,
                _reader_cell(rss, reader, "peak_rss_mib", digits=1),
                _cell(_ratio(_get(rss, reader, "peak_rss_mib"), requests_rss)),
            ]
        )
        for reader in _measured(rss, meta)
    ]
    return _section(text, "reader | peak RSS MiB | vs requests", rows)


SECTION_REPORTS: Dict[str, Callable[[Dict[str, Any], Dict[str, Any]], List[str]]] = {
    "throughput": _throughput,
    "latency": _latency,
    "concurrency": _concurrency,
    "import": _import,
    "rss": _rss,
}
"""Each section's part of the markdown report, from its results and the run's meta."""


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
    lines += _table(TARGETS_HEADER, (_row(_target_cells(row)) for row in results["targets"]))
    for name, report in SECTION_REPORTS.items():
        if results.get(name):
            lines += report(results[name], meta)
    return "\n".join(lines) + "\n"
