"""The benchmark targets table, on small hand-made results (nothing is measured)."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from benchmarks.config import SECTIONS
from benchmarks.targets import TARGETS, Target, targets


def rows_by_figure(results: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {row["figure"]: row for row in targets(results)}


LOADS = {
    "small": {"streams": 8, "count": 100, "delay": 0.001, "servers": 1},
    "medium": {"streams": 64, "count": 20, "delay": 0.02, "servers": 2},
    "large": {"streams": 100, "count": 10, "delay": 0.04, "servers": 2},
}


def results_of(sections: List[str], **measured: Any) -> Dict[str, Any]:
    return {"meta": {"sections": sections, "config": {"concurrency_loads": LOADS}}, **measured}


def test_every_section_has_a_target_and_every_figure_one_name() -> None:
    assert {target.section for target in TARGETS} == set(SECTIONS)
    names = [target.figure for target in TARGETS]
    assert len(names) == len(set(names))


def test_only_the_measured_sections_have_rows() -> None:
    rows = targets(results_of(["import", "rss"]))
    assert [row["section"] for row in rows] == ["import", "rss"]


def test_results_without_sections_in_meta_have_every_target() -> None:
    assert len(targets({"meta": {}})) == len(TARGETS)


def test_a_floor_target_is_a_ratio_to_the_floor_with_both_values_as_its_source() -> None:
    imports = {
        "requests": {"import_ms": 100.0},
        "g4f_sync": {"import_ms": 110.0},
        "g4f": {"import_ms": 250.0},
    }
    row = rows_by_figure(results_of(["import"], **{"import": imports}))[
        "import g4f_sync vs import requests"
    ]
    assert row == {
        "section": "import",
        "figure": "import g4f_sync vs import requests",
        "value": pytest.approx(1.1),
        "detail": "110.0 / 100.0 ms",
        "target": "<= 1.2",
        "met": True,
        "reference": pytest.approx(2.5),
    }


@pytest.mark.parametrize(
    ("tokens_per_s", "met"), [(75.0, True), (74.9, False), (100.0, True), (None, None)]
)
def test_a_higher_is_better_target_is_met_at_its_bound(tokens_per_s: Any, met: Any) -> None:
    throughput = {
        "requests": {"chunked": {"tokens_per_s": 100.0}},
        "provider": {"chunked": {"tokens_per_s": tokens_per_s}},
    }
    row = rows_by_figure(results_of(["throughput"], throughput=throughput))[
        "provider stream tok/s vs requests floor (chunked), chunked"
    ]
    assert (row["target"], row["met"]) == (">= 0.75", met)


def test_a_failed_reader_has_no_value_and_no_verdict() -> None:
    rss = {
        "requests": {"peak_rss_mib": 20.0},
        "provider": {"error": "worker exited 1: boom", "available": True},
    }
    row = targets(results_of(["rss"], rss=rss))[0]
    assert (row["value"], row["detail"], row["met"], row["reference"]) == (None, "", None, None)


def test_the_small_loads_figures_name_its_streams_and_quote_the_floors() -> None:
    small = {
        "provider": {"ratio": 1.1, "wall_s": 1.1, "one_stream_wall_s": 1.0, "p99_ms": 12.0},
        "requests": {"p99_ms": 8.0, "rss_per_extra_stream_kib": 180.4},
        "socket": {"ratio": 1.03, "p99_ms": 4.9},
    }
    rows = targets(results_of(["concurrency"], concurrency={"small": small}))[:4]
    assert [row["figure"].split(":")[0] for row in rows] == ["8 streams, 1 ms"] * 4
    assert [row["detail"] for row in rows] == [
        "1.10 / 1.00 s; raw-socket floor 1.03",
        "requests floor 8.00 ms, raw socket 4.90 ms",
        "requests floor 180 KiB",
        "12.00 / 8.00 ms",
    ]
    assert [row["met"] for row in rows] == [True, False, None, False]
    assert rows[3]["value"] == pytest.approx(1.5)


def test_the_chat_rate_loads_compare_with_aiohttp_and_requests_in_the_same_run() -> None:
    def figures(p50: float, p99: float, cpu: float, **more: Any) -> Dict[str, Any]:
        return {"p50_ms": p50, "p99_ms": p99, "cpu_us_per_token": cpu, **more}

    concurrency = {
        "medium": {
            "provider": figures(1.0, 20.0, 66.0),
            "aiohttp": figures(5.0, 25.0, 60.0),
            "requests": figures(1.0, 30.0, 70.0),
        },
        "large": {
            "provider": figures(
                2.0,
                60.0,
                80.0,
                rss_per_extra_stream_kib=200.0,
                failed=1,
                runs=[{"first_failure": None}, {"first_failure": "ConnectionError: refused"}],
            ),
            "aiohttp": figures(9.0, 50.0, 60.0, rss_per_extra_stream_kib=40.0),
            "requests": figures(1.0, 70.0, 75.0, rss_per_extra_stream_kib=180.0),
        },
    }
    rows = rows_by_figure(results_of(["concurrency"], concurrency=concurrency))
    medium, large = "64 streams, 20 ms", "100 streams, 40 ms"
    verdicts = {
        f"{medium}: delay p99 vs aiohttp (provider on run_batch)": (0.8, True, "20.0 / 25.0 ms"),
        f"{medium}: CPU per token vs aiohttp (provider on run_batch)": (
            1.1,
            True,
            "66.0 / 60.0 µs/tok",
        ),
        f"{large}: delay p99 vs aiohttp (provider on run_batch)": (1.2, False, "60.0 / 50.0 ms"),
        f"{large}: CPU per token vs aiohttp (provider on run_batch)": (
            80 / 60,
            False,
            "80.0 / 60.0 µs/tok",
        ),
        f"{large}: peak RSS KiB per extra stream (provider on run_batch)": (
            200.0,
            True,
            "requests floor 180 KiB, aiohttp 40 KiB",
        ),
        f"{large}: streams failed + tokens lost (provider on run_batch)": (
            1,
            False,
            "first: ConnectionError: refused",
        ),
        f"{medium}: CPU per token vs requests in threads (provider on run_batch)": (
            66 / 70,
            True,
            "66.0 / 70.0 µs/tok",
        ),
        f"{large}: delay p50 vs requests in threads (provider on run_batch)": (
            2.0,
            False,
            "2.00 / 1.00 ms",
        ),
    }
    for figure, (value, met, detail) in verdicts.items():
        row = rows[figure]
        assert (row["value"], row["met"], row["detail"]) == (pytest.approx(value), met, detail)
    assert rows[f"{medium}: delay p50 vs requests in threads (provider on run_batch)"]["met"]
    unmeasured = rows[
        "8 streams, 1 ms: CPU per token vs requests in threads (provider on run_batch)"
    ]
    assert (unmeasured["value"], unmeasured["met"]) == (None, None)


def test_a_target_without_a_floor_or_note_has_an_empty_source() -> None:
    target = Target("rss", "peak", mine=("provider", "mib"), theirs=("g4f", "mib"), bound=30)
    row = target.row({"provider": {"mib": 31.0}, "g4f": {"mib": 40.0}}, labels={})
    assert (row["value"], row["detail"], row["met"], row["reference"]) == (31.0, "", False, 40.0)


@pytest.mark.parametrize(("openai", "met"), [(6.5, True), (6.6, False), (None, None)])
def test_the_openai_provider_cpu_is_a_ratio_to_koalas_provider_in_the_same_run(
    openai: Any, met: Any
) -> None:
    throughput = {
        "provider": {"close": {"cpu_us_per_token": 5.0}},
        "openai_provider": {"close": {"cpu_us_per_token": openai}},
    }
    row = rows_by_figure(results_of(["throughput"], throughput=throughput))[
        "OpenAI provider CPU per token vs Koala provider, close"
    ]
    assert (row["target"], row["met"], row["reference"]) == ("<= 1.3", met, None)
    if openai is not None:
        assert row["value"] == pytest.approx(openai / 5.0)
        assert row["detail"] == f"{openai:.2f} / 5.00 µs/tok"
