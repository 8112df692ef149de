"""tqdm and ipywidgets for the kernel test of ``run_batch``'s notebook widget.

Neither is a dependency of the package or of the test extra. ``ensure_notebook_extras()``
installs the pinned :data:`REQUIREMENTS` (pure-Python wheels, without their
dependencies: the test extra's ipykernel already brings IPython, traitlets and comm) into
a directory of their own with ``pip install --target``, cached between runs in
``$XDG_CACHE_HOME/g4f_sync-notebook/`` (``~/.cache`` by default). A kernel sees them when
that directory is on its ``PYTHONPATH``; the test process never imports them.

``python tests/notebook_extras.py`` installs them ahead of a test run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

from cached_install import cache_directory, install_lock

__all__ = ["REQUIREMENTS", "NotebookExtrasUnavailableError", "ensure_notebook_extras"]

REQUIREMENTS = ("tqdm==4.67.1", "ipywidgets==8.1.7")
INSTALL_TIMEOUT = 300.0


class NotebookExtrasUnavailableError(RuntimeError):
    """tqdm and ipywidgets could not be installed: the message says why."""


def default_directory() -> Path:
    """Where the packages are cached."""
    return cache_directory("g4f_sync-notebook", "-".join(REQUIREMENTS).replace("==", "-"))


def ensure_notebook_extras(directory: Optional[Path] = None) -> Path:
    """The directory holding a complete install of :data:`REQUIREMENTS`, installing them
    first if missing or interrupted (a marker file is written last). Raises
    :class:`NotebookExtrasUnavailableError` with pip's last lines when pip fails."""
    directory = directory or default_directory()
    marker = directory / ".g4f_sync-installed"
    wanted = "\n".join(REQUIREMENTS)
    with install_lock(directory):
        if marker.is_file() and marker.read_text() == wanted:
            return directory
        shutil.rmtree(directory, ignore_errors=True)
        command = [
            sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
            "--no-deps", "--only-binary=:all:", "--target", str(directory), *REQUIREMENTS,
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise NotebookExtrasUnavailableError(
                f"pip install {' '.join(REQUIREMENTS)} took over {INSTALL_TIMEOUT:.0f} s"
            ) from exc
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            raise NotebookExtrasUnavailableError(
                f"pip install {' '.join(REQUIREMENTS)} failed ({done.returncode}):\n{tail}"
            )
        marker.write_text(wanted)
        return directory


if __name__ == "__main__":
    print(ensure_notebook_extras())
