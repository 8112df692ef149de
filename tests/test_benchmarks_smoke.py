"""The benchmark runner, in its tiny ``--smoke`` configuration, so that it cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support import ROOT

SECTIONS = ["throughput", "latency", "concurrency", "import", "rss"]


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
    for name in ("provider", "requests", "socket"):
        for framing in ("chunked", "close"):
            assert results["throughput"][name][framing]["tokens_per_s"] > 0
            assert results["latency"][name][framing]["p99_ms"] >= 0
    assert results["concurrency"]["provider"]["ratio"] > 0
    assert results["import"]["g4f_sync"]["import_ms"] > 0
    assert results["rss"]["provider"]["peak_rss_mib"] > 0
    report = (tmp_path / "latest.md").read_text()
    assert report.startswith("# g4f_sync figures") and "| figure |" in report
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
