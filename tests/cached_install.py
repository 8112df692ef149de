"""What the test-only installs share (LiteLLM's proxy, the notebook's extras): a cache
directory beside the user's others, and one installer at a time per install."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

__all__ = ["cache_directory", "install_lock"]


def cache_directory(*parts: str) -> Path:
    """``$XDG_CACHE_HOME/<parts>`` (``~/.cache`` by default)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache, *parts)


@contextlib.contextmanager
def install_lock(target: Path) -> Iterator[None]:
    """One installer at a time for ``target`` (two test runs may start together): a lock
    file beside it, held while the block runs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        try:
            import fcntl
        except ImportError:  # Windows: no concurrent runs expected
            yield
            return
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
