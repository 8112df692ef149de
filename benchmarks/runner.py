"""The runner: start the emulator in its own process, measure every reader in fresh worker
processes, print a markdown table and write JSON (see ``python -m benchmarks --help``)."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from g4f_sync.emulator import EmulatorProcess

from .readers import FLOORS, REFERENCE, SDK
from .reference import REFERENCE_REQUIREMENT, ensure_reference
from .server import ROOT

__all__ = ["SECTIONS", "Config", "main", "render", "run"]

SECTIONS = ("throughput", "latency", "concurrency", "import", "rss")
FRAMINGS = ("chunked", "close")
WORKER_TIMEOUT = 300.0
RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
README = os.path.join(ROOT, "README.rst")
README_START = ".. figures-table-start (python -m benchmarks --update-readme rewrites this part)"
README_END = ".. figures-table-end"


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
    readers: Tuple[str, ...] = (*SDK, *FLOORS)
    batched: bool = False
    """Smoke runs: one worker process per reader and section instead of per repeat."""
    bytecode_cache: bool = True
    """Fill a fresh bytecode cache first (see :func:`bytecode_cache`); smoke runs do not."""


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

CONCURRENCY_READERS = ("provider", "client", "requests", "socket", "g4f")
RSS_READERS = ("provider", "client", "threaded", "requests", "socket", "g4f")


# processes


def _env() -> Dict[str, str]:
    return dict(os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1")


@contextmanager
def bytecode_cache() -> Iterator[str]:
    """Give every child process one bytecode cache, in a temporary directory.

    An installed package has its ``.pyc`` files (pip compiles them), and so has
    requests; a checkout run with ``PYTHONDONTWRITEBYTECODE`` would compile g4f_sync on
    every import instead, which would count against its import time and memory. The
    cache lives outside the source tree (``PYTHONPYCACHEPREFIX``) and is warmed before
    anything is measured.
    """
    saved = {k: os.environ.get(k) for k in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")}
    prefix = tempfile.mkdtemp(prefix="g4f_sync-benchmarks-pyc-")
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        yield prefix
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(prefix, ignore_errors=True)


WARM_UP = (
    "import concurrent.futures, resource, requests, g4f_sync, g4f_sync.sse, g4f_sync.threaded,"
    " g4f_sync.emulator, benchmarks.worker"
)
REFERENCE_WARM_UP = "import concurrent.futures, resource, benchmarks.worker, g4f.client"


def warm_up(pythons: Sequence[str]) -> None:
    """Import what the workers import once in each interpreter, filling the cache."""
    for python in sorted(set(pythons)):
        code = WARM_UP if python == sys.executable else REFERENCE_WARM_UP
        subprocess.run([python, "-c", code], cwd=ROOT, env=_env(), capture_output=True)


def run_worker(python: str, specs: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Run ``specs`` in one fresh worker process; one result per spec."""
    command = [python, "-m", "benchmarks.worker", json.dumps(specs)]
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return [{"error": f"worker timed out after {WORKER_TIMEOUT:g} s"} for _ in specs]
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [{"error": f"worker exited {done.returncode}: {why}"} for _ in specs]
    return json.loads(lines[-1])  # type: ignore[no-any-return]


IMPORT_CODE = (
    "import time; t, c = time.perf_counter(), time.process_time(); import {module}; "
    "print(time.perf_counter() - t, time.process_time() - c)"
)


def time_import(python: str, module: str) -> Dict[str, float]:
    """Seconds ``import module`` takes in a fresh interpreter (wall and CPU), and the
    whole process's wall time."""
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-c", IMPORT_CODE.format(module=module)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    process = time.perf_counter() - start
    wall, cpu = map(float, done.stdout.split())
    return {"import_s": wall, "cpu_s": cpu, "process_s": process}


# sections


def _pythons(reference_python: Optional[str]) -> Dict[str, str]:
    pythons = {name: sys.executable for name in (*SDK, *FLOORS)}
    if reference_python:
        pythons.update({name: reference_python for name in REFERENCE})
    return pythons


def _collect(
    jobs: List[Tuple[str, str, List[Dict[str, Any]]]], batched: bool
) -> Dict[str, List[Dict[str, Any]]]:
    """Run ``(reader, python, specs)`` jobs; results per reader, in spec order.

    Unbatched, each job gets its own process; batched, a reader's jobs share one.
    """
    results: Dict[str, List[Dict[str, Any]]] = {}
    if batched:
        merged: Dict[str, Tuple[str, List[Dict[str, Any]]]] = {}
        for reader, python, specs in jobs:
            merged.setdefault(reader, (python, []))[1].extend(specs)
        jobs = [(reader, python, specs) for reader, (python, specs) in merged.items()]
    for reader, python, specs in jobs:
        results.setdefault(reader, []).extend(run_worker(python, specs))
    return results


def _median(values: Iterable[Optional[float]]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _errors(runs: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    failed = [run for run in runs if "error" in run]
    if not failed:
        return None
    return {"error": failed[0]["error"], "available": failed[0].get("available", True)}


def _per_framing(
    config: Config, pythons: Dict[str, str], repeats: int, spec: Dict[str, Any]
) -> Dict[str, Dict[str, Any]]:
    """Run ``spec`` for every reader and framing, ``repeats`` times; per reader and framing,
    the list of runs, or the error that stopped them."""
    jobs = [
        (reader, python, [{**spec, "reader": reader, "framing": framing} for framing in FRAMINGS])
        for _ in range(repeats)
        for reader, python in pythons.items()
    ]
    collected = _collect(jobs, config.batched)
    return {
        reader: {
            framing: _errors(runs[index :: len(FRAMINGS)]) or runs[index :: len(FRAMINGS)]
            for index, framing in enumerate(FRAMINGS)
        }
        for reader, runs in collected.items()
    }


def measure_throughput(
    config: Config, url: str, pid: int, pythons: Dict[str, str]
) -> Dict[str, Any]:
    """Best of ``throughput_repeats`` (noise only ever slows a run down); CPU: the least."""
    spec = {"kind": "throughput", "url": url, "server_pid": pid, "count": config.throughput_count}
    runs = _per_framing(config, pythons, config.throughput_repeats, spec)
    return {
        reader: {
            framing: mine
            if isinstance(mine, dict)
            else {
                "tokens_per_s": max(r["tokens_per_s"] for r in mine),
                "cpu_us_per_token": min(r["cpu_us_per_token"] for r in mine),
                "runs": mine,
            }
            for framing, mine in by_framing.items()
        }
        for reader, by_framing in runs.items()
    }


def measure_latency(config: Config, url: str, pythons: Dict[str, str]) -> Dict[str, Any]:
    """p50 and p99 of each run; the median over ``latency_repeats`` runs."""
    spec = {
        "kind": "latency",
        "url": url,
        "count": config.latency_count,
        "delay": config.latency_delay,
    }
    runs = _per_framing(config, pythons, config.latency_repeats, spec)
    return {
        reader: {
            framing: mine
            if isinstance(mine, dict)
            else {
                "p50_ms": statistics.median(r["p50_ms"] for r in mine),
                "p99_ms": statistics.median(r["p99_ms"] for r in mine),
                "max_ms": max(r["max_ms"] for r in mine),
                "runs": mine,
            }
            for framing, mine in by_framing.items()
        }
        for reader, by_framing in runs.items()
    }


def measure_concurrency(
    config: Config, url: str, pid: int, pythons: Dict[str, str]
) -> Dict[str, Any]:
    """Median over ``concurrency_repeats`` of the wall time of N streams and of one; also
    the CPU the server and the client used (a server near one core is the bottleneck)."""
    readers = [r for r in CONCURRENCY_READERS if r in pythons]
    with ExitStack() as stack:
        extra = [
            stack.enter_context(EmulatorProcess()) for _ in range(config.concurrency_servers - 1)
        ]
        urls = [url, *(server.url for server in extra)]
        pids = [pid, *(server.pid for server in extra)]
        return _concurrency(config, urls, pids, pythons, readers)


def _concurrency(
    config: Config,
    urls: List[str],
    pids: List[int],
    pythons: Dict[str, str],
    readers: List[str],
) -> Dict[str, Any]:
    jobs = []
    for _ in range(config.concurrency_repeats):
        for reader in readers:
            for streams in (1, config.concurrency_streams):
                spec = {
                    "kind": "concurrency",
                    "reader": reader,
                    "urls": urls,
                    "streams": streams,
                    "server_pids": pids,
                    "count": config.concurrency_count,
                    "delay": config.concurrency_delay,
                }
                jobs.append((reader, pythons[reader], [spec]))
    collected = _collect(jobs, config.batched)
    out: Dict[str, Any] = {}
    for reader, runs in collected.items():
        alone, many = runs[0::2], runs[1::2]
        error = _errors(runs)
        if error:
            out[reader] = error
            continue
        one = statistics.median(r["wall_s"] for r in alone)
        wall = statistics.median(r["wall_s"] for r in many)
        out[reader] = {
            "streams": config.concurrency_streams,
            "one_stream_wall_s": one,
            "wall_s": wall,
            "ratio": wall / one,
            "p50_ms": statistics.median(r["p50_ms"] for r in many),
            "p99_ms": statistics.median(r["p99_ms"] for r in many),
            "one_stream_p99_ms": statistics.median(r["p99_ms"] for r in alone),
            "send_span_s": statistics.median(r["send_span_s"] for r in many),
            "one_stream_send_span_s": statistics.median(r["send_span_s"] for r in alone),
            "server_cpu_share": _median(r.get("server_cpu_share") for r in many),
            "client_cpu_share": _median(r.get("client_cpu_share") for r in many),
            "rss_per_extra_stream_kib": _rss_growth(alone, many, config.concurrency_streams),
            "runs": many,
            "one_stream_runs": alone,
        }
    return out


def _rss_growth(
    alone: List[Dict[str, Any]], many: List[Dict[str, Any]], streams: int
) -> Optional[float]:
    """Peak RSS added by each stream beyond the first (each run is a fresh process)."""
    one = _median(r.get("peak_rss_kib") for r in alone)
    all_of_them = _median(r.get("peak_rss_kib") for r in many)
    if one is None or all_of_them is None or streams < 2:
        return None
    return (all_of_them - one) / (streams - 1)


def measure_import(config: Config, reference_python: Optional[str]) -> Dict[str, Any]:
    """Median over ``import_runs`` fresh interpreters, the modules alternating; one
    discarded warm-up each (it may write bytecode caches). The CPU time is recorded too:
    on a busy machine it is the steadier of the two."""
    modules = [("requests", sys.executable), ("g4f_sync", sys.executable)]
    if reference_python:
        modules.append(("g4f", reference_python))
    out: Dict[str, Any] = {}
    samples: Dict[str, List[Dict[str, float]]] = {name: [] for name, _ in modules}
    try:
        for name, python in modules:
            time_import(python, name)
        for _ in range(config.import_runs):
            for name, python in modules:
                samples[name].append(time_import(python, name))
    except subprocess.CalledProcessError as exc:
        return {"error": f"import failed: {(exc.stderr or '').strip()[-300:]}"}
    for name, runs in samples.items():
        out[name] = {
            "import_ms": statistics.median(r["import_s"] for r in runs) * 1000,
            "cpu_ms": statistics.median(r["cpu_s"] for r in runs) * 1000,
            "process_ms": statistics.median(r["process_s"] for r in runs) * 1000,
            "runs_ms": [round(r["import_s"] * 1000, 2) for r in runs],
        }
    return out


def measure_rss(config: Config, url: str, pythons: Dict[str, str]) -> Dict[str, Any]:
    """Peak RSS of a fresh process reading one stream; the median over ``rss_repeats``."""
    jobs = []
    readers = [r for r in RSS_READERS if r in pythons]
    for _ in range(config.rss_repeats):
        for reader in readers:
            spec = {"kind": "rss", "reader": reader, "url": url, "count": config.rss_count}
            jobs.append((reader, pythons[reader], [spec]))
    # always one process per measurement: a shared process would add up the peaks
    collected = _collect(jobs, batched=False)
    out: Dict[str, Any] = {}
    for reader, runs in collected.items():
        out[reader] = _errors(runs) or {
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
            "runs_mib": [round(r["peak_rss_mib"], 2) for r in runs],
        }
    return out


# targets and table


def _get(data: Dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def _pair(a: Optional[float], b: Optional[float], unit: str, digits: int = 0) -> str:
    if a is None or b is None:
        return ""
    return f"{a:,.{digits}f} / {b:,.{digits}f} {unit}"


def _floor_note(conc: Dict[str, Any]) -> str:
    ratio = _get(conc, "socket", "ratio")
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
    floor = _get(tp, "requests", "chunked", "tokens_per_s")
    for reader, label, target, ref in (
        ("provider", "provider stream", 0.75, "g4f"),
        ("client", "Client chunk stream", 0.5, "g4f-client"),
    ):
        for framing in FRAMINGS:
            mine = _get(tp, reader, framing, "tokens_per_s")
            add(
                "throughput",
                f"{label} tok/s vs requests floor (chunked), {framing}",
                _ratio(mine, floor),
                target,
                True,
                _pair(mine, floor, "tok/s"),
                _ratio(_get(tp, ref, framing, "tokens_per_s"), floor),
            )
    lat = results.get("latency", {})
    for framing in FRAMINGS:
        p99 = _get(lat, "provider", framing, "p99_ms")
        p50 = _get(lat, "provider", framing, "p50_ms")
        add(
            "latency",
            f"per-token delay p99 ms, provider, {framing}",
            p99,
            1.0,
            False,
            "" if p50 is None else f"p50 {p50:.2f} ms",
            _get(lat, "g4f", framing, "p99_ms"),
        )
    conc = results.get("concurrency", {})
    streams = _get(results, "meta", "config", "concurrency_streams") or 32
    add(
        "concurrency",
        f"{streams} streams: wall vs one stream (provider on run_batch)",
        _get(conc, "provider", "ratio"),
        1.2,
        False,
        _pair(_get(conc, "provider", "wall_s"), _get(conc, "provider", "one_stream_wall_s"), "s", 2)
        + _floor_note(conc),
        _get(conc, "g4f", "ratio"),
    )
    floor_p99 = _get(conc, "requests", "p99_ms")
    add(
        "concurrency",
        f"{streams} streams: token delay p99 ms (provider on run_batch)",
        _get(conc, "provider", "p99_ms"),
        10.0,
        False,
        ""
        if floor_p99 is None
        else f"requests floor {floor_p99:.2f} ms, raw socket "
        f"{_get(conc, 'socket', 'p99_ms') or float('nan'):.2f} ms",
        _get(conc, "g4f", "p99_ms"),
    )
    growth_floor = _get(conc, "requests", "rss_per_extra_stream_kib")
    add(
        "concurrency",
        f"{streams} streams: peak RSS KiB per extra stream (provider on run_batch)",
        _get(conc, "provider", "rss_per_extra_stream_kib"),
        256.0,
        False,
        "" if growth_floor is None else f"requests floor {growth_floor:.0f} KiB",
        _get(conc, "g4f", "rss_per_extra_stream_kib"),
    )
    imp = results.get("import", {})
    requests_ms = _get(imp, "requests", "import_ms")
    mine = _get(imp, "g4f_sync", "import_ms")
    add(
        "import",
        "import g4f_sync vs import requests",
        _ratio(mine, requests_ms),
        1.2,
        False,
        _pair(mine, requests_ms, "ms", 1),
        _ratio(_get(imp, "g4f", "import_ms"), requests_ms),
    )
    rss = results.get("rss", {})
    requests_rss = _get(rss, "requests", "peak_rss_mib")
    mine = _get(rss, "provider", "peak_rss_mib")
    add(
        "rss",
        "peak RSS vs requests floor (provider)",
        _ratio(mine, requests_rss),
        1.15,
        False,
        _pair(mine, requests_rss, "MiB", 1),
        _ratio(_get(rss, "g4f", "peak_rss_mib"), requests_rss),
    )
    return rows


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


def update_readme(table: str, path: str = README) -> bool:
    """Put ``table`` between the README's figures markers; False when they are missing."""
    with open(path, encoding="utf-8") as readme:
        text = readme.read()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    text = f"{text[: start + len(README_START)]}\n\n{table}\n{text[end:]}"
    with open(path, "w", encoding="utf-8") as readme:
        readme.write(text)
    return True


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


# the run


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def run(
    config: Config,
    *,
    reference: bool = False,
    reference_venv: Optional[str] = None,
    command: str = "python -m benchmarks",
) -> Dict[str, Any]:
    """Measure the configured sections; the results as a JSON-ready dict."""
    meta: Dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_start": _load(),
        "sections": list(config.sections),
    }
    reference_python = None
    if reference:
        reference_python, why = ensure_reference(reference_venv)
        if why:
            meta["reference_error"] = why
    pythons = _pythons(reference_python)
    pythons = {r: p for r, p in pythons.items() if r in config.readers or r in REFERENCE}
    meta["readers"] = list(pythons)
    results: Dict[str, Any] = {"meta": meta}
    started = time.perf_counter()
    with ExitStack() as stack:
        if config.bytecode_cache:
            stack.enter_context(bytecode_cache())
            warm_up([*pythons.values(), sys.executable])
        server = stack.enter_context(EmulatorProcess())
        for section in config.sections:
            print(f"benchmarks: {section}...", file=sys.stderr, flush=True, end="")
            begun = time.perf_counter()
            if section == "throughput":
                results[section] = measure_throughput(config, server.url, server.pid, pythons)
            elif section == "latency":
                results[section] = measure_latency(config, server.url, pythons)
            elif section == "concurrency":
                results[section] = measure_concurrency(config, server.url, server.pid, pythons)
            elif section == "import":
                results[section] = measure_import(config, reference_python)
            elif section == "rss":
                results[section] = measure_rss(config, server.url, pythons)
            print(f" {time.perf_counter() - begun:.1f} s", file=sys.stderr, flush=True)
    meta["load_end"] = _load()
    meta["seconds"] = round(time.perf_counter() - started, 1)
    meta["config"] = asdict(config)
    results["targets"] = targets(results)
    return results


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="g4f_sync's figures against the floors (requests, a raw socket), "
        "the emulator running in its own process.",
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections out of {','.join(SECTIONS)} (default: all)",
    )
    parser.add_argument("--smoke", action="store_true", help="a tiny run, a few seconds (CI)")
    parser.add_argument(
        "--repeats", type=int, help="repeats of every section (default 5 throughput, 3 others)"
    )
    parser.add_argument(
        "--output-dir",
        default=None,
        help="where latest.json, latest.md and latest.rst go (default benchmarks/results; "
        "--smoke: nothing is written unless given)",
    )
    parser.add_argument(
        "--with-reference",
        action="store_true",
        help=f"add {REFERENCE_REQUIREMENT}, installed into a separate virtual environment",
    )
    parser.add_argument("--reference-venv", help="that environment's path (default: a cache dir)")
    parser.add_argument(
        "--update-readme",
        action="store_true",
        help="also put the table into README.rst's Figures section",
    )
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="emulator processes for the concurrency section (default 1)",
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; 0 when every measurement ran (met targets or not)."""
    args = parse_args(argv)
    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        print(f"error: unknown section(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    config = replace(
        SMOKE if args.smoke else Config(), sections=sections, concurrency_servers=args.servers
    )
    if args.repeats:
        config = replace(
            config,
            throughput_repeats=args.repeats,
            latency_repeats=args.repeats,
            concurrency_repeats=args.repeats,
            rss_repeats=args.repeats,
            import_runs=max(args.repeats, 7),
        )
    command = "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv)
    results = run(
        config,
        reference=args.with_reference,
        reference_venv=args.reference_venv,
        command=command.strip(),
    )
    report = render(results)
    print(report)
    output = args.output_dir or (None if args.smoke else RESULTS_DIR)
    if output:
        os.makedirs(output, exist_ok=True)
        with open(os.path.join(output, "latest.json"), "w") as out:
            json.dump(results, out, indent=1)
            out.write("\n")
        with open(os.path.join(output, "latest.md"), "w") as out:
            out.write(report)
        with open(os.path.join(output, "latest.rst"), "w") as out:
            out.write(render_rst(results))
        print(f"wrote {output}/latest.json, latest.md and latest.rst", file=sys.stderr)
    if args.update_readme:
        if not update_readme(render_rst(results)):
            print(f"error: no figures markers in {README}", file=sys.stderr)
            return 1
        print(f"updated the figures table in {README}", file=sys.stderr)
    return 0
