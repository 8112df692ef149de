"""The benchmark sections' statistics, on canned worker results (no process is started)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Dict, List

import pytest

from benchmarks import sections
from benchmarks.config import SMOKE
from benchmarks.processes import Job
from benchmarks.readers import MEASURED, STREAM_FLOORS, route

SERVER: Any = SimpleNamespace(url="http://127.0.0.1:1", pid=1)


def canned(results: Dict[str, List[Dict[str, Any]]]) -> Any:
    """A stand-in for :func:`benchmarks.processes.collect` that records the jobs."""

    def collect(jobs: List[Job], batched: bool) -> Dict[str, List[Dict[str, Any]]]:
        collect.jobs = jobs  # type: ignore[attr-defined]
        return results

    return collect


def test_throughput_keeps_the_best_rate_and_the_least_cpu_per_framing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs = [  # two repeats, each chunked then close
        {"tokens_per_s": 10.0, "cpu_us_per_token": 3.0},
        {"tokens_per_s": 20.0, "cpu_us_per_token": 2.0},
        {"tokens_per_s": 12.0, "cpu_us_per_token": 4.0},
        {"tokens_per_s": 18.0, "cpu_us_per_token": 1.0},
    ]
    collect = canned({"provider": runs})
    monkeypatch.setattr(sections, "collect", collect)
    out = sections.measure_throughput(SMOKE, SERVER, {"provider": "python"})
    assert out == {
        "provider": {
            "chunked": {"tokens_per_s": 12.0, "cpu_us_per_token": 3.0, "runs": runs[0::2]},
            "close": {"tokens_per_s": 20.0, "cpu_us_per_token": 1.0, "runs": runs[1::2]},
        }
    }
    (reader, python, specs), *_ = collect.jobs
    assert (reader, python) == ("provider", "python")
    assert [(spec["kind"], spec["framing"]) for spec in specs] == [
        ("throughput", "chunked"),
        ("throughput", "close"),
    ]


def test_a_failed_run_stands_for_its_framing_only(monkeypatch: pytest.MonkeyPatch) -> None:
    ok = {"p50_ms": 1.0, "p99_ms": 2.0, "max_ms": 3.0}
    failed = {"error": "worker exited 1: boom"}
    monkeypatch.setattr(sections, "collect", canned({"client": [ok, failed]}))
    out = sections.measure_latency(SMOKE, SERVER, {"client": "python"})
    assert out["client"]["chunked"] == {**ok, "runs": [ok]}
    assert out["client"]["close"] == {"error": "worker exited 1: boom", "available": True}


def test_the_openai_readers_come_after_koalas_and_read_the_openai_route() -> None:
    pythons = sections.interpreters(MEASURED, None)
    assert list(pythons) == [
        "provider",
        "client",
        "threaded",
        "requests",
        "socket",
        "openai_provider",
        "openai_client",
        "openai_requests",
        "openai_socket",
    ]
    assert [route(name) for name in ("provider", "socket", "openai_provider", "openai_socket")] == [
        "/api/gpt/",
        "/api/gpt/",
        "/v1/chat/completions",
        "/v1/chat/completions",
    ]
    assert {STREAM_FLOORS[name] for name in pythons} == {"requests", "openai_requests"}


def test_interpreters_run_the_reference_readers_in_its_own_python() -> None:
    pythons = sections.interpreters(("provider", "requests"), "/venv/bin/python")
    assert list(pythons) == ["provider", "requests", "g4f", "g4f-client"]
    assert pythons["g4f"] == "/venv/bin/python"
    assert "g4f" not in sections.interpreters(("provider",), None)


def test_interpreters_run_the_asyncio_peers_in_their_own_python() -> None:
    pythons = sections.interpreters(("provider",), None, "/peers/bin/python")
    assert pythons == {
        "provider": sections.sys.executable,
        "aiohttp": "/peers/bin/python",
        "httpx": "/peers/bin/python",
    }
