"""Virtual environments of the benchmarks' own, for what g4f_sync never depends on: the
reference g4f (:mod:`benchmarks.reference`) and the asyncio peers (:mod:`benchmarks.peers`).

Each lives under ``$XDG_CACHE_HOME/g4f_sync-benchmarks/`` (``~/.cache`` by default), is
created once with exact pins and checked by importing what it holds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Optional, Sequence, Tuple

__all__ = ["cache_venv", "ensure_venv", "venv_python"]


def cache_venv(name: str) -> str:
    """``$XDG_CACHE_HOME/g4f_sync-benchmarks/NAME`` (``~/.cache`` by default)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "g4f_sync-benchmarks", name)


def venv_python(venv: str) -> str:
    """The interpreter of virtual environment ``venv``."""
    return os.path.join(venv, "Scripts" if os.name == "nt" else "bin", "python")


def _installed(python: str, check: str) -> bool:
    if not os.path.exists(python):
        return False
    return subprocess.run([python, "-c", check], capture_output=True).returncode == 0


def ensure_venv(venv: str, requirements: Sequence[str], check: str) -> Tuple[Optional[str], str]:
    """Create ``venv`` with ``requirements`` unless ``check`` (Python code) already runs
    there; ``(python, "")`` on success, ``(None, why)`` when it cannot be installed.
    Tries once; pip's output goes to stderr."""
    python = venv_python(venv)
    if _installed(python, check):
        return python, ""
    wanted = " ".join(requirements)
    steps = [
        ("python -m venv", [sys.executable, "-m", "venv", venv]),
        (
            f"pip install {wanted}",
            [python, "-m", "pip", "install", "--disable-pip-version-check", *requirements],
        ),
    ]
    for name, step in steps:
        print(f"benchmarks: {' '.join(step)}", file=sys.stderr)
        done = subprocess.run(step, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            tail = (done.stderr or "").strip().splitlines()[-1:] or ["(no output)"]
            sys.stderr.write(done.stderr or "")
            return None, f"{name} failed: {tail[0]}"
    if not _installed(python, check):
        return None, f"{wanted} installed, but `{check}` fails in {venv}"
    return python, ""
