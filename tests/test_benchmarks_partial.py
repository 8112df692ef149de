"""A partial benchmark run (``--only``) never overwrites the full results: nothing is
measured here, ``run`` hands back the committed figures of the sections asked for."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict

import pytest
from support import ROOT

from benchmarks import output, runner
from benchmarks.config import Config
from benchmarks.targets import targets

RESULTS = ROOT / "benchmarks" / "results"
FULL = ("latest.json", "latest.md", "latest.rst")
PARTIAL = ("partial.json", "partial.md", "partial.rst")


def committed_figures(config: Config, **_: Any) -> Dict[str, Any]:
    """A stand-in for :func:`benchmarks.runner.run`: the committed results of the
    configured sections."""
    saved = json.loads((RESULTS / "latest.json").read_text(encoding="utf-8"))
    results = {"meta": saved["meta"], **{name: saved[name] for name in config.sections}}
    results["meta"].update(sections=list(config.sections), config=asdict(config))
    results["targets"] = targets(results)
    return results


def never_measure(config: Config, **_: Any) -> Dict[str, Any]:
    raise AssertionError("measured although the options were refused")


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default output directory, holding a copy of the committed full results."""
    for name in FULL:
        shutil.copy(RESULTS / name, tmp_path / name)
    monkeypatch.setattr(output, "RESULTS_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def readme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of README.rst that ``--update-readme`` rewrites."""
    path = tmp_path / "README.rst"
    shutil.copy(ROOT / "README.rst", path)
    monkeypatch.setattr(output, "README", str(path))
    return path


def test_a_partial_run_writes_partial_files_and_leaves_the_full_results(
    results_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runner, "run", committed_figures)
    assert runner.main(["--only", "latency,import"]) == 0
    for name in FULL:
        assert (results_dir / name).read_bytes() == (RESULTS / name).read_bytes(), name
    partial = json.loads((results_dir / "partial.json").read_text(encoding="utf-8"))
    assert partial["meta"]["sections"] == ["latency", "import"]
    assert {row["section"] for row in partial["targets"]} == {"latency", "import"}
    assert (results_dir / "partial.md").read_text(encoding="utf-8").startswith("# g4f_sync")
    assert "without throughput, concurrency, rss" in capsys.readouterr().err


def test_a_full_run_writes_the_full_results(
    results_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "run", committed_figures)
    (results_dir / "latest.md").write_text("stale\n", encoding="utf-8")
    assert runner.main([]) == 0
    assert (results_dir / "latest.md").read_text(encoding="utf-8").startswith("# g4f_sync")
    assert not any((results_dir / name).exists() for name in PARTIAL)


@pytest.mark.parametrize("options", [["--only", "rss"], ["--smoke"]])
def test_update_readme_is_refused_before_measuring_unless_the_run_is_full(
    options: Any,
    readme: Path,
    results_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(runner, "run", never_measure)
    before = readme.read_bytes()
    assert runner.main([*options, "--update-readme"]) == 2
    assert readme.read_bytes() == before
    assert sorted(path.name for path in results_dir.iterdir()) == sorted([*FULL, "README.rst"])
    assert "--update-readme takes a full run" in capsys.readouterr().err


def test_rendering_partial_results_again_writes_partial_files(tmp_path: Path) -> None:
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(committed_figures(Config(sections=("import",)))))
    assert runner.main(["--render-only", str(saved), "--output-dir", str(tmp_path)]) == 0
    assert (tmp_path / "partial.json").exists() and not (tmp_path / "latest.json").exists()
    assert runner.main(["--render-only", str(saved), "--update-readme"]) == 2


def test_a_full_run_updates_the_readme(readme: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run", committed_figures)
    readme.write_text(readme.read_text(encoding="utf-8").replace("2026-11-21", "then"))
    assert runner.main(["--output-dir", str(readme.parent / "out"), "--update-readme"]) == 0
    assert readme.read_bytes() == (ROOT / "README.rst").read_bytes()
