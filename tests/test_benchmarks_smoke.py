"""The benchmark runner, in its tiny ``--smoke`` configuration, so that it cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

from benchmarks import readers, runner, worker
from g4f_sync.emulator import EmulatorProcess

SECTIONS = ["throughput", "latency", "concurrency", "import", "rss"]
READERS = ["provider", "client", "threaded", "requests", "socket"]
OPENAI_READERS = ["openai_provider", "openai_client", "openai_requests", "openai_socket"]


def run_module(*args: str) -> subprocess.CompletedProcess:
    """``python -m ARGS`` from the repository, as a user runs a benchmark."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_smoke_run_writes_a_report_with_every_section(tmp_path: Path) -> None:
    done = run_module("benchmarks", "--smoke", "--output-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "latest.json").read_text())
    assert set(SECTIONS) <= set(results)
    assert {"date", "load_start", "load_end", "cpu", "python", "config"} <= set(results["meta"])
    figures = {row["section"] for row in results["targets"]}
    assert figures == set(SECTIONS)
    for name in (*READERS, *OPENAI_READERS):
        for framing in ("chunked", "close"):
            assert results["throughput"][name][framing]["tokens_per_s"] > 0
            assert results["throughput"][name][framing]["cpu_us_per_token"] > 0
            assert results["latency"][name][framing]["p99_ms"] >= 0
    for name in OPENAI_READERS:  # throughput and latency only
        assert name not in results["concurrency"]["small"] and name not in results["rss"]
    sizes = results["meta"]["bytes_per_token"]
    assert 10 < sizes["koala"] < 30 < 150 < sizes["openai"] < 400  # JSON strings, objects
    rows = {row["figure"]: row for row in results["targets"]}
    for framing in ("chunked", "close"):
        row = rows[f"OpenAI provider CPU per token vs Koala provider, {framing}"]
        assert row["value"] > 0 and row["detail"].endswith(" µs/tok") and row["met"] is not None
    for load in ("small", "medium", "large"):
        figures = results["concurrency"][load]["provider"]
        assert figures["ratio"] > 0 and figures["cpu_us_per_token"] > 0
        assert figures["failed"] == 0
    assert "aiohttp" not in results["concurrency"]["small"]  # --smoke leaves the peers out
    assert results["import"]["g4f_sync"]["import_ms"] > 0
    assert results["rss"]["provider"]["peak_rss_mib"] > 0
    report = (tmp_path / "latest.md").read_text()
    assert report.startswith("# g4f_sync figures") and "| figure |" in report
    assert "| openai_provider |" in report and "Bytes per token on the wire" in report
    assert "| figure |" in done.stdout
    assert ".. list-table::" in (tmp_path / "latest.rst").read_text()


def test_a_partial_smoke_run_writes_partial_files_only(tmp_path: Path) -> None:
    done = run_module("benchmarks", "--smoke", "--only", "import", "--output-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "partial.json",
        "partial.md",
        "partial.rst",
    ]
    assert "a partial run, without throughput, latency, concurrency, rss" in done.stderr


def test_interrupt_latency_reports_every_phase() -> None:
    done = run_module("benchmarks.interrupt_latency", "--runs", "1")
    assert done.returncode == 0, done.stderr
    rows = [line.split("|")[1].strip() for line in done.stdout.splitlines()[2:]]
    assert rows == [
        "connecting",
        "waiting for the head",
        "waiting to retry",
        "reading a chunked body",
        "reading a body ending at EOF",
    ]


def test_sse_scaling_prints_a_row_per_case() -> None:
    done = run_module("benchmarks.sse_scaling", "--mib", "1", "--events", "1000", "--repeat", "1")
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows[0].startswith("| case") and "MB/s" in rows[0]
    assert len(rows) == 2 + 5  # header, rule, five cases
    assert "1 MiB line, 64 KiB chunks" in rows[-1]


def test_emulator_memory_reports_its_growth() -> None:
    done = run_module("benchmarks.emulator_memory", "20", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("20 streams after 5: ")
    assert done.stdout.rstrip().endswith("records kept: 25")


def test_stream_sizes_are_read_in_a_worker_so_the_runner_stays_small(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The runner reads no stream itself: every measurement, the stream sizes too, runs
    in a worker process."""

    def in_the_runner(*args: object) -> float:
        raise AssertionError("read in the runner's process")

    monkeypatch.setattr(readers, "stream_bytes_per_token", in_the_runner)
    monkeypatch.setattr(worker, "stream_bytes_per_token", in_the_runner)
    with EmulatorProcess() as server:
        sizes = runner.stream_sizes(server.url, 100)
    assert 10 < sizes["koala"] < 30 < 150 < sizes["openai"] < 400


def test_a_workers_peak_rss_is_its_own_not_its_parents() -> None:
    """On Linux a process starts with its parent's peak ``ru_maxrss``; the workers report
    ``VmHWM``, the peak of their own memory."""
    ballast = bytearray(64 << 20)
    ballast[:: 1 << 12] = b"x" * len(ballast[:: 1 << 12])  # touch every page
    code = (
        "import resource; from benchmarks.worker import peak_rss_kib; "
        "print(peak_rss_kib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    del ballast
    own, inherited = map(float, done.stdout.split())
    assert inherited > 64 * 1024  # the parent's peak
    assert own < 40 * 1024  # a bare interpreter and the worker module
