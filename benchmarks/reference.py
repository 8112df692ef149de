"""The reference, g4f 0.4.7.0, in a virtual environment of its own (never a dependency)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Optional, Tuple

__all__ = ["REFERENCE_REQUIREMENT", "default_venv", "ensure_reference"]

REFERENCE_REQUIREMENT = "g4f==0.4.7.0"


def default_venv() -> str:
    """``$XDG_CACHE_HOME/g4f_sync-benchmarks/g4f-0.4.7.0`` (``~/.cache`` by default)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "g4f_sync-benchmarks", "g4f-0.4.7.0")


def _python(venv: str) -> str:
    return os.path.join(venv, "Scripts" if os.name == "nt" else "bin", "python")


def _installed(python: str) -> bool:
    check = "import g4f, importlib.metadata as m; assert m.version('g4f') == '0.4.7.0'"
    if not os.path.exists(python):
        return False
    return subprocess.run([python, "-c", check], capture_output=True).returncode == 0


def ensure_reference(venv: Optional[str] = None) -> Tuple[Optional[str], str]:
    """Create ``venv`` with g4f 0.4.7.0 unless it is there; ``(python, "")`` on success,
    ``(None, why)`` when it cannot be installed. Tries once; prints pip's output to stderr."""
    venv = venv or default_venv()
    python = _python(venv)
    if _installed(python):
        return python, ""
    steps = [
        ("python -m venv", [sys.executable, "-m", "venv", venv]),
        (
            f"pip install {REFERENCE_REQUIREMENT}",
            [python, "-m", "pip", "install", "--disable-pip-version-check", REFERENCE_REQUIREMENT],
        ),
    ]
    for name, step in steps:
        print(f"reference: {' '.join(step)}", file=sys.stderr)
        done = subprocess.run(step, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            tail = (done.stderr or "").strip().splitlines()[-1:] or ["(no output)"]
            sys.stderr.write(done.stderr or "")
            return None, f"{name} failed: {tail[0]}"
    if not _installed(python):
        return None, f"{REFERENCE_REQUIREMENT} installed but `import g4f` fails in {venv}"
    return python, ""
