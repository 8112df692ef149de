"""The reference, g4f 0.4.7.0, in a virtual environment of its own (never a dependency)."""

from __future__ import annotations

from typing import Optional, Tuple

from .venvs import cache_venv, ensure_venv

__all__ = ["REFERENCE_REQUIREMENT", "default_venv", "ensure_reference"]

REFERENCE_REQUIREMENT = "g4f==0.4.7.0"
_CHECK = "import g4f, importlib.metadata as m; assert m.version('g4f') == '0.4.7.0'"


def default_venv() -> str:
    """``$XDG_CACHE_HOME/g4f_sync-benchmarks/g4f-0.4.7.0`` (``~/.cache`` by default)."""
    return cache_venv("g4f-0.4.7.0")


def ensure_reference(venv: Optional[str] = None) -> Tuple[Optional[str], str]:
    """Create ``venv`` with g4f 0.4.7.0 unless it is there; ``(python, "")`` on success,
    ``(None, why)`` when it cannot be installed. Tries once; prints pip's output to stderr."""
    return ensure_venv(venv or default_venv(), [REFERENCE_REQUIREMENT], _CHECK)
