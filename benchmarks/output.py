"""Where the results go: ``latest.{json,md,rst}`` for a full run, ``partial.*`` for a run
of some sections or readers, and README.rst's figures table (full runs only)."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

from .config import SECTIONS, left_out
from .readers import MEASURED
from .report import render_rst
from .server import ROOT

__all__ = ["README", "RESULTS_DIR", "missing_from", "update_readme", "write_results"]

RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
README = os.path.join(ROOT, "README.rst")
README_START = ".. figures-table-start (python -m benchmarks --update-readme rewrites this part)"
README_END = ".. figures-table-end"
FULL = "latest"
PARTIAL = "partial"


def missing_from(results: Dict[str, Any]) -> List[str]:
    """The sections and readers ``results`` lack (see :func:`~benchmarks.config.left_out`);
    results from before the run recorded them count as full."""
    meta = results.get("meta", {})
    readers = meta.get("config", {}).get("readers", MEASURED)
    return left_out(meta.get("sections", SECTIONS), readers)


def write_results(results: Dict[str, Any], report: str, directory: str) -> str:
    """Write the results (JSON), the markdown ``report`` and the RST table into
    ``directory``: as ``latest.*`` for a full run, as ``partial.*`` for a partial one, so
    that it never overwrites the full results. What was written, in a sentence."""
    missing = missing_from(results)
    stem = PARTIAL if missing else FULL
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"{stem}.json"), "w") as out:
        json.dump(results, out, indent=1)
        out.write("\n")
    with open(os.path.join(directory, f"{stem}.md"), "w") as out:
        out.write(report)
    with open(os.path.join(directory, f"{stem}.rst"), "w") as out:
        out.write(render_rst(results))
    wrote = f"wrote {directory}/{stem}.json, {stem}.md and {stem}.rst"
    if missing:
        wrote += f" (a partial run, without {', '.join(missing)}: {FULL}.* are left as they were)"
    return wrote


def update_readme(table: str, path: Optional[str] = None) -> bool:
    """Put ``table`` between the figures markers of README.rst (or ``path``); False when
    they are missing."""
    path = path or README
    with open(path, encoding="utf-8") as readme:
        text = readme.read()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    text = f"{text[: start + len(README_START)]}\n\n{table}\n{text[end:]}"
    with open(path, "w", encoding="utf-8") as readme:
        readme.write(text)
    return True
