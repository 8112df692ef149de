"""The benchmark runner, in its tiny ``--smoke`` configuration, so that it cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ["throughput", "latency", "concurrency", "import", "rss"]


def test_smoke_run_writes_a_report_with_every_section(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--output-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
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


def test_sse_scaling_prints_a_row_per_case() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = ["--mib", "1", "--events", "1000", "--repeat", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.sse_scaling", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows[0].startswith("| case") and "MB/s" in rows[0]
    assert len(rows) == 2 + 5  # header, rule, five cases
    assert "1 MiB line, 64 KiB chunks" in rows[-1]
