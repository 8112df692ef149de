"""The sections: each runs its specs in worker processes and keeps one statistic a figure.

Every ``measure_*`` takes the :class:`~benchmarks.config.Config`, the emulator process and
the interpreter of each reader (:func:`interpreters`), and returns the section's results:
per reader, the figures and the runs they come from, or ``{"error": ..., "available": ...}``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from contextlib import ExitStack
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from g4f_sync.emulator import EmulatorProcess

from .config import CONCURRENCY_READERS, FRAMINGS, RSS_READERS, Config, Load
from .peers import PEERS
from .processes import Job, collect, time_import
from .readers import MEASURED, REFERENCE

__all__ = ["MEASURES", "interpreters"]

Runs = List[Dict[str, Any]]
Pythons = Dict[str, str]
"""The interpreter each reader runs in."""
Section = Dict[str, Any]
"""A section's results."""
Statistic = Callable[[Iterable[float]], float]
"""The one figure kept of several runs' (``max``, ``min``, ``statistics.median``)."""


def interpreters(
    readers: Sequence[str], reference_python: Optional[str], peers_python: Optional[str] = None
) -> Pythons:
    """The python each reader runs in: this one for ``readers``, the reference's for g4f,
    the peers' environment for aiohttp and httpx."""
    pythons = {name: sys.executable for name in MEASURED if name in readers}
    if reference_python:
        pythons.update({name: reference_python for name in REFERENCE})
    if peers_python:
        pythons.update({name: peers_python for name in PEERS})
    return pythons


def _median(values: Iterable[Optional[float]]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _errors(runs: Runs) -> Optional[Dict[str, Any]]:
    failed = [run for run in runs if "error" in run]
    if not failed:
        return None
    return {"error": failed[0]["error"], "available": failed[0].get("available", True)}


def _per_framing(
    kind: str,
    spec: Dict[str, Any],
    repeats: int,
    keep: Dict[str, Statistic],
    config: Config,
    pythons: Pythons,
) -> Section:
    """Run the ``kind`` of measurement for every reader and framing, ``repeats`` times; per
    reader and framing, each figure as ``keep`` says and the runs, or the error that stopped
    them."""
    jobs: List[Job] = [
        (reader, python, [{"kind": kind, **spec, "reader": reader, "framing": f} for f in FRAMINGS])
        for _ in range(repeats)
        for reader, python in pythons.items()
    ]
    n = len(FRAMINGS)
    return {
        reader: {framing: _kept(runs[i::n], keep) for i, framing in enumerate(FRAMINGS)}
        for reader, runs in collect(jobs, config.batched).items()
    }


def _kept(runs: Runs, keep: Dict[str, Statistic]) -> Dict[str, Any]:
    """Each figure's statistic over ``runs``, and the runs; or the error that stopped them."""
    error = _errors(runs)
    if error:
        return error
    figures = {key: statistic(run[key] for run in runs) for key, statistic in keep.items()}
    return {**figures, "runs": runs}


def measure_throughput(config: Config, server: EmulatorProcess, pythons: Pythons) -> Section:
    """Best of ``throughput_repeats`` (noise only ever slows a run down); CPU: the least."""
    spec = {"url": server.url, "server_pid": server.pid, "count": config.throughput_count}
    keep = {"tokens_per_s": max, "cpu_us_per_token": min}
    return _per_framing("throughput", spec, config.throughput_repeats, keep, config, pythons)


def measure_latency(config: Config, server: EmulatorProcess, pythons: Pythons) -> Section:
    """p50 and p99 of each run; the median over ``latency_repeats`` runs (and the max)."""
    spec = {"url": server.url, "count": config.latency_count, "delay": config.latency_delay}
    keep = {"p50_ms": statistics.median, "p99_ms": statistics.median, "max_ms": max}
    return _per_framing("latency", spec, config.latency_repeats, keep, config, pythons)


def measure_concurrency(config: Config, server: EmulatorProcess, pythons: Pythons) -> Section:
    """Every load of ``concurrency_loads``, each on its own emulator processes (the first
    is ``server``): per load and reader, the median over ``concurrency_repeats`` of each
    figure (the max of the max delays, the sum of the errors), from the runs of N streams
    and of one stream alone. The reference runs the small load only (a thousand streams
    of it would take minutes)."""
    out: Section = {}
    for name, load in config.concurrency_loads.items():
        readers = [r for r in CONCURRENCY_READERS if r in pythons]
        if name != "small":
            readers = [r for r in readers if r not in REFERENCE]
        with ExitStack() as stack:
            extra = [stack.enter_context(EmulatorProcess()) for _ in range(load.servers - 1)]
            urls = [server.url, *(other.url for other in extra)]
            pids = [server.pid, *(other.pid for other in extra)]
            out[name] = _concurrency(config, load, urls, pids, pythons, readers)
    return out


def _concurrency(
    config: Config,
    load: Load,
    urls: List[str],
    pids: List[int],
    pythons: Pythons,
    readers: List[str],
) -> Section:
    jobs: List[Job] = []
    for _ in range(config.concurrency_repeats):
        for reader in readers:
            for streams in (1, load.streams):
                spec = {
                    "kind": "concurrency",
                    "reader": reader,
                    "urls": urls,
                    "streams": streams,
                    "server_pids": pids,
                    "count": load.count,
                    "delay": load.delay,
                }
                jobs.append((reader, pythons[reader], [spec]))
    collected = collect(jobs, config.batched)
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
            "streams": load.streams,
            "one_stream_wall_s": one,
            "wall_s": wall,
            "ratio": wall / one,
            "p50_ms": statistics.median(r["p50_ms"] for r in many),
            "p99_ms": statistics.median(r["p99_ms"] for r in many),
            "max_ms": max(r["max_ms"] for r in many),
            "cpu_us_per_token": statistics.median(r["cpu_us_per_token"] for r in many),
            "failed": sum(r["failed_streams"] + r["tokens_lost"] for r in many),
            "one_stream_p99_ms": statistics.median(r["p99_ms"] for r in alone),
            "send_span_s": statistics.median(r["send_span_s"] for r in many),
            "one_stream_send_span_s": statistics.median(r["send_span_s"] for r in alone),
            "server_cpu_share": _median(r.get("server_cpu_share") for r in many),
            "client_cpu_share": _median(r.get("client_cpu_share") for r in many),
            "rss_per_extra_stream_kib": _rss_growth(alone, many, load.streams),
            "runs": many,
            "one_stream_runs": alone,
        }
    return out


def _rss_growth(alone: Runs, many: Runs, streams: int) -> Optional[float]:
    """Peak RSS added by each stream beyond the first (each run is a fresh process)."""
    one = _median(r.get("peak_rss_kib") for r in alone)
    all_of_them = _median(r.get("peak_rss_kib") for r in many)
    if one is None or all_of_them is None or streams < 2:
        return None
    return (all_of_them - one) / (streams - 1)


def measure_import(config: Config, server: EmulatorProcess, pythons: Pythons) -> Section:
    """Median over ``import_runs`` fresh interpreters, the modules alternating; one
    discarded warm-up each (it may write bytecode caches). The CPU time is recorded too:
    on a busy machine it is the steadier of the two. The server is not used."""
    modules = [("requests", sys.executable), ("g4f_sync", sys.executable)]
    if "g4f" in pythons:
        modules.append(("g4f", pythons["g4f"]))
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


def measure_rss(config: Config, server: EmulatorProcess, pythons: Pythons) -> Section:
    """Peak RSS of a fresh process reading one stream; the median over ``rss_repeats``."""
    jobs: List[Job] = []
    readers = [r for r in RSS_READERS if r in pythons]
    for _ in range(config.rss_repeats):
        for reader in readers:
            spec = {"kind": "rss", "reader": reader, "url": server.url, "count": config.rss_count}
            jobs.append((reader, pythons[reader], [spec]))
    # always one process per measurement: a shared process would add up the peaks
    collected = collect(jobs, batched=False)
    out: Dict[str, Any] = {}
    for reader, runs in collected.items():
        out[reader] = _errors(runs) or {
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
            "runs_mib": [round(r["peak_rss_mib"], 2) for r in runs],
        }
    return out


Measure = Callable[[Config, EmulatorProcess, Pythons], Section]

MEASURES: Dict[str, Measure] = {
    "throughput": measure_throughput,
    "latency": measure_latency,
    "concurrency": measure_concurrency,
    "import": measure_import,
    "rss": measure_rss,
}
"""Each section's measurement, by name, in the order of :data:`~benchmarks.config.SECTIONS`."""
