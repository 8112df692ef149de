"""The concurrency section: its loads, and what a run counts (nothing timed is asserted).

The worker reads real streams from the emulator; a second "server" that refuses every
connection makes some streams fail, which a run must count rather than stop at. The
asyncio peers run in their own virtual environment (installed once into the cache, as
``python -m benchmarks`` does), read by the same worker.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from benchmarks import sections, worker
from benchmarks.config import CONCURRENCY_LOADS, SMOKE, Load, loads_of
from benchmarks.peers import ensure_peers
from benchmarks.processes import run_worker
from g4f_sync.emulator import Emulator, EmulatorProcess

REFUSED = "http://127.0.0.1:9"
"""Nothing listens on the discard port: every connection is refused."""


def spec(reader: str, base: str, streams: int = 4, count: int = 5) -> Dict[str, Any]:
    return {
        "kind": "concurrency",
        "reader": reader,
        "urls": [base, REFUSED],  # every other stream is refused
        "streams": streams,
        "server_pids": [],
        "count": count,
        "delay": 0.001,
    }


@pytest.mark.parametrize("reader", ["provider", "client", "requests", "socket"])
def test_failed_streams_are_counted_and_the_others_measured(reader: str) -> None:
    with Emulator() as emulator:
        result = worker.measure_concurrency(spec(reader, emulator.url))
    assert result["failed_streams"] == 2 and result["tokens_lost"] == 0
    assert "refused" in result["first_failure"].lower()
    assert result["cpu_us_per_token"] > 0 and result["p99_ms"] >= result["p50_ms"] >= 0


def test_a_run_where_no_stream_got_through_is_an_error() -> None:
    result = worker.run_spec(dict(spec("requests", REFUSED), urls=[REFUSED]))
    assert result["available"] is True and "ConnectionError" in result["error"]


def test_the_asyncio_peers_read_every_token_and_count_their_failures() -> None:
    python, why = ensure_peers()
    assert python is not None, f"could not install the asyncio peers: {why}"
    with EmulatorProcess() as emulator:
        specs = [spec("aiohttp", emulator.url, count=7), spec("httpx", emulator.url, count=7)]
        aiohttp, httpx = run_worker(python, specs)
    for result in (aiohttp, httpx):
        assert "error" not in result, result
        assert result["failed_streams"] == 2 and result["tokens_lost"] == 0
    assert "Connect" in aiohttp["first_failure"] and "Connect" in httpx["first_failure"]


def test_the_peers_are_not_available_without_their_environment() -> None:
    result = worker.run_spec(spec("aiohttp", REFUSED))  # this venv has no aiohttp
    assert result == {"error": result["error"], "available": False}
    assert "aiohttp is not installed" in result["error"]


class FakeEmulator:
    started: List[str] = []

    def __init__(self) -> None:
        self.url = f"http://127.0.0.1:{len(FakeEmulator.started) + 1000}"
        self.pid = 1

    def __enter__(self) -> FakeEmulator:
        FakeEmulator.started.append(self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def test_each_load_runs_on_its_own_servers_and_keeps_the_median_the_max_and_the_sum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs_seen: List[Any] = []

    def run(spec: Dict[str, Any], index: int) -> Dict[str, Any]:
        many = spec["streams"] > 1
        return {
            "wall_s": 2.0 + index if many else 1.0,
            "p50_ms": 1.0 + index,
            "p99_ms": 10.0 + index,
            "max_ms": 50.0 + 10 * index,
            "cpu_us_per_token": 60.0 + index,
            "failed_streams": 1 if many and index == 0 else 0,
            "tokens_lost": 2 if many and index == 2 else 0,
            "first_failure": None,
            "send_span_s": 1.0,
            "server_cpu_share": 0.5,
            "client_cpu_share": 0.9,
            "peak_rss_kib": 1000.0 + (spec["streams"] - 1) * 100.0 if many else 1000.0,
        }

    def collect(jobs: List[Any], batched: bool) -> Dict[str, List[Dict[str, Any]]]:
        jobs_seen.extend(jobs)
        out: Dict[str, List[Dict[str, Any]]] = {}
        for reader, _python, specs in jobs:
            runs = out.setdefault(reader, [])
            runs.append(run(specs[0], len(runs) // 2))
        return out

    FakeEmulator.started = []
    monkeypatch.setattr(sections, "collect", collect)
    monkeypatch.setattr(sections, "EmulatorProcess", FakeEmulator)
    config = SMOKE
    pythons = {"provider": "py", "requests": "py", "aiohttp": "peers", "g4f": "ref"}
    server: Any = FakeEmulator()
    out = sections.measure_concurrency(config, server, pythons)
    assert list(out) == ["small", "medium", "large"]
    assert set(out["small"]) == {"provider", "requests", "aiohttp", "g4f"}
    assert set(out["large"]) == {"provider", "requests", "aiohttp"}  # the reference: small only
    # medium and large each start one more emulator process, and spread streams over two
    assert len(FakeEmulator.started) == 2
    by_load = {(j[2][0]["streams"], len(j[2][0]["urls"])) for j in jobs_seen}
    assert by_load == {(1, 1), (4, 1), (1, 2), (8, 2), (12, 2)}
    assert {j[1] for j in jobs_seen if j[0] == "aiohttp"} == {"peers"}
    # one repeat in SMOKE: that run's figures; failures summed over the N-stream runs
    provider = out["large"]["provider"]
    assert (provider["wall_s"], provider["one_stream_wall_s"], provider["ratio"]) == (2.0, 1.0, 2.0)
    assert provider["failed"] == 1 and provider["rss_per_extra_stream_kib"] == pytest.approx(100.0)


def test_three_repeats_keep_medians_the_largest_max_and_every_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataclasses import replace

    config = replace(SMOKE, concurrency_repeats=3, concurrency_loads={"small": Load(4, 5, 0.001)})
    runs = iter(range(100))

    def collect(jobs: List[Any], batched: bool) -> Dict[str, List[Dict[str, Any]]]:
        out: Dict[str, List[Dict[str, Any]]] = {}
        for reader, _python, _specs in jobs:
            i = next(runs)
            out.setdefault(reader, []).append(
                {
                    "wall_s": 1.0 + i,
                    "p50_ms": float(i),
                    "p99_ms": float(i),
                    "max_ms": float(i),
                    "cpu_us_per_token": float(i),
                    "failed_streams": 1,
                    "tokens_lost": 1,
                    "send_span_s": 1.0,
                    "peak_rss_kib": 1.0,
                }
            )
        return out

    monkeypatch.setattr(sections, "collect", collect)
    server: Any = FakeEmulator()
    figures = sections.measure_concurrency(config, server, {"requests": "py"})["small"]["requests"]
    # N-stream runs are the 2nd, 4th and 6th: 1, 3, 5
    assert (figures["p50_ms"], figures["max_ms"], figures["failed"]) == (3.0, 5.0, 6)


def test_the_default_loads_are_the_issues_and_survive_a_results_file() -> None:
    assert [(load.streams, load.delay) for load in CONCURRENCY_LOADS.values()] == [
        (32, 0.001),
        (256, 0.02),
        (1000, 0.04),
    ]
    from dataclasses import asdict

    saved = asdict(SMOKE)
    assert loads_of(saved) == SMOKE.concurrency_loads
    assert loads_of({}) == CONCURRENCY_LOADS
    assert CONCURRENCY_LOADS["medium"].label() == "256 streams, 20 ms"
    assert CONCURRENCY_LOADS["large"].describe() == "1,000 streams x 50 tokens, 40 ms apart"
