"""The benchmark report, rendered from the committed results without measuring anything."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from support import ROOT

from benchmarks import runner

RESULTS = ROOT / "benchmarks" / "results"


def test_the_committed_results_render_to_the_committed_report() -> None:
    results = runner.load(str(RESULTS / "latest.json"))
    assert runner.render(results) == (RESULTS / "latest.md").read_text(encoding="utf-8")
    assert runner.render_rst(results) == (RESULTS / "latest.rst").read_text(encoding="utf-8")


def test_the_committed_targets_are_computed_again_unchanged() -> None:
    saved = json.loads((RESULTS / "latest.json").read_text(encoding="utf-8"))
    assert runner.load(str(RESULTS / "latest.json"))["targets"] == saved["targets"]


def test_the_readme_figures_table_is_the_committed_rst(tmp_path: Path) -> None:
    readme = tmp_path / "README.rst"
    shutil.copy(ROOT / "README.rst", readme)
    results = runner.load(str(RESULTS / "latest.json"))
    assert runner.update_readme(runner.render_rst(results), str(readme))
    assert readme.read_text(encoding="utf-8") == (ROOT / "README.rst").read_text(encoding="utf-8")


def test_render_only_writes_the_committed_files_again(tmp_path: Path) -> None:
    code = runner.main(
        ["--render-only", str(RESULTS / "latest.json"), "--output-dir", str(tmp_path)]
    )
    assert code == 0
    for name in ("latest.json", "latest.md", "latest.rst"):
        assert (tmp_path / name).read_bytes() == (RESULTS / name).read_bytes(), name
