"""The runner: start the emulator in its own process, measure every section in fresh worker
processes, print a markdown report and write it (see ``python -m benchmarks --help``)."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from contextlib import ExitStack
from dataclasses import asdict, replace
from typing import Any, Dict, Optional, Sequence

from g4f_sync.emulator import EmulatorProcess

from . import output  # RESULTS_DIR and README are read at call time: tests move them
from .config import SECTIONS, SMOKE, Config, left_out
from .output import missing_from, update_readme, write_results
from .peers import PEER_REQUIREMENTS, ensure_peers
from .processes import bytecode_cache, run_worker, warm_up
from .readers import KOALA_PATH, OPENAI_PATH
from .reference import REFERENCE_REQUIREMENT, ensure_reference
from .report import render, render_rst
from .sections import MEASURES, interpreters
from .targets import targets

__all__ = ["SECTIONS", "Config", "load", "main", "render", "run"]


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


def stream_sizes(base: str, count: int) -> Dict[str, Optional[float]]:
    """Bytes per token of each stream the readers read (Koala's, OpenAI's), ``count`` tokens,
    read in a worker process as every measurement is (this process stays small)."""
    streams = {"koala": KOALA_PATH, "openai": OPENAI_PATH}
    specs = [
        {"kind": "bytes", "url": base, "path": path, "count": count} for path in streams.values()
    ]
    results = run_worker(sys.executable, specs)
    return {name: result.get("bytes_per_token") for name, result in zip(streams, results)}


def run(
    config: Config,
    *,
    reference: bool = False,
    reference_venv: Optional[str] = None,
    peers_venv: Optional[str] = None,
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
    reference_python = peers_python = None
    if reference:
        reference_python, why = ensure_reference(reference_venv)
        if why:
            meta["reference_error"] = why
    if config.peers and "concurrency" in config.sections:
        peers_python, why = ensure_peers(peers_venv)
        if why:
            meta["peers_error"] = why
    pythons = interpreters(config.readers, reference_python, peers_python)
    meta["readers"] = list(pythons)
    results: Dict[str, Any] = {"meta": meta}
    started = time.perf_counter()
    with ExitStack() as stack:
        if config.bytecode_cache:
            stack.enter_context(bytecode_cache())
            warm_up([*pythons.values(), sys.executable])
        server = stack.enter_context(EmulatorProcess())
        if "throughput" in config.sections:
            meta["bytes_per_token"] = stream_sizes(server.url, config.throughput_count)
        for section in config.sections:
            print(f"benchmarks: {section}...", file=sys.stderr, flush=True, end="")
            begun = time.perf_counter()
            results[section] = MEASURES[section](config, server, pythons)
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
        "--smoke: nothing is written unless given); a partial run (--only) writes "
        "partial.json, partial.md and partial.rst instead",
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
        help="also put the table into README.rst's Figures section (full runs only)",
    )
    parser.add_argument(
        "--servers",
        type=int,
        help="emulator processes for every load of the concurrency section (default: "
        "1 for the small load, 2 for the others)",
    )
    parser.add_argument(
        "--peers",
        action=argparse.BooleanOptionalAction,
        help=f"measure the asyncio peers ({', '.join(PEER_REQUIREMENTS)}, installed into a "
        "separate virtual environment) in the concurrency section (default: yes, but not "
        "with --smoke)",
    )
    parser.add_argument("--peers-venv", help="that environment's path (default: a cache dir)")
    parser.add_argument(
        "--render-only",
        metavar="JSON",
        help="measure nothing: render the results in JSON (a latest.json) again; nothing is "
        "written unless --output-dir or --update-readme is given",
    )
    return parser.parse_args(argv)


def load(path: str) -> Dict[str, Any]:
    """The results written by an earlier run, their targets computed again."""
    with open(path, encoding="utf-8") as saved:
        results: Dict[str, Any] = json.load(saved)
    results["targets"] = targets(results)
    return results


def configure(args: argparse.Namespace) -> Config:
    """The configuration the options ask for; ValueError for an unknown section."""
    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown section(s) {', '.join(unknown)}")
    config = replace(SMOKE if args.smoke else Config(), sections=sections)
    if args.peers is not None:
        config = replace(config, peers=args.peers)
    if args.servers is not None:
        if args.servers < 1:
            raise ValueError(f"--servers must be at least 1, got {args.servers}")
        loads = {
            name: replace(load, servers=args.servers)
            for name, load in config.concurrency_loads.items()
        }
        config = replace(config, concurrency_loads=loads)
    if not args.repeats:
        return config
    return replace(
        config,
        throughput_repeats=args.repeats,
        latency_repeats=args.repeats,
        concurrency_repeats=args.repeats,
        rss_repeats=args.repeats,
        import_runs=max(args.repeats, 7),
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; 0 when every measurement ran (met targets or not), 2 for options
    that cannot go together (checked before anything is measured)."""
    args = parse_args(argv)
    try:
        config = configure(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    saved = load(args.render_only) if args.render_only else None
    missing = missing_from(saved) if saved else left_out(config.sections, config.readers)
    if not saved and not config.peers and "concurrency" in config.sections:
        missing += ["the asyncio peers"]
    if args.update_readme and (missing or args.smoke):
        why = f"this one leaves out {', '.join(missing)}" if missing else "not a --smoke one"
        print(
            f"error: --update-readme takes a full run ({why}); the README is left as it is",
            file=sys.stderr,
        )
        return 2
    command = "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv)
    results = saved or run(
        config,
        reference=args.with_reference,
        reference_venv=args.reference_venv,
        peers_venv=args.peers_venv,
        command=command.strip(),
    )
    report = render(results)
    print(report)
    directory = args.output_dir or (None if args.smoke or saved else output.RESULTS_DIR)
    if directory:
        print(write_results(results, report, directory), file=sys.stderr)
    if args.update_readme:
        if not update_readme(render_rst(results)):
            print(f"error: no figures markers in {output.README}", file=sys.stderr)
            return 1
        print(f"updated the figures table in {output.README}", file=sys.stderr)
    return 0
