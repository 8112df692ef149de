"""Where the results go: ``latest.{json,md,rst}`` and README.rst's figures table."""

from __future__ import annotations

import os

from .server import ROOT

__all__ = ["README", "RESULTS_DIR", "update_readme"]

RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
README = os.path.join(ROOT, "README.rst")
README_START = ".. figures-table-start (python -m benchmarks --update-readme rewrites this part)"
README_END = ".. figures-table-end"


def update_readme(table: str, path: str = README) -> bool:
    """Put ``table`` between the README's figures markers; False when they are missing."""
    with open(path, encoding="utf-8") as readme:
        text = readme.read()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    text = f"{text[: start + len(README_START)]}\n\n{table}\n{text[end:]}"
    with open(path, "w", encoding="utf-8") as readme:
        readme.write(text)
    return True
