"""The package as users see it: public names, typing marker, import weight, lint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import ROOT

import g4f_sync


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(g4f_sync) if not name.startswith("_")} - {"annotations"}
    modules = {name for name in public if type(getattr(g4f_sync, name)).__name__ == "module"}
    assert set(g4f_sync.__all__) == (public - modules) | {"__version__", "errors"}
    for name in g4f_sync.__all__:
        assert hasattr(g4f_sync, name), name


def test_py_typed_is_shipped() -> None:
    assert (Path(g4f_sync.__file__).parent / "py.typed").is_file()
    assert "py.typed" in (ROOT / "setup.cfg").read_text()


def test_import_stays_light() -> None:
    """``import g4f_sync`` loads requests and the standard library; nothing heavier, and
    none of the test dependencies (sseclient-py is now only the tests' reference parser)."""
    code = (
        "import sys, json, g4f_sync; "
        "print(json.dumps(sorted(m for m in ('bs4', 'asyncio', 'concurrent.futures', 'tqdm', "
        "'hypothesis', 'responses', 'sseclient') if m in sys.modules)))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    assert loaded == []


def test_code_is_ruff_clean() -> None:
    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
