"""The emulator in a child process (:class:`EmulatorProcess`), so that client and server never
share a GIL, or so that a test can stop it the way a user would (SIGINT, SIGTERM)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Optional, Sequence

__all__ = ["EmulatorProcess"]

PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
"""The directory holding this ``g4f_sync``: the child imports the same copy."""
_URL = re.compile(r"https?://[^\s)]+")


class EmulatorProcess:
    """``python -m g4f_sync.emulator --port 0 [extra_args]`` as a child process; :attr:`url`
    is its base URL, read from the line the command prints when it serves.

    Use as a context manager (or :meth:`start` and :meth:`stop`); leaving it stops the
    process (SIGTERM, then SIGKILL after ``stop_timeout`` seconds). ``RuntimeError`` when the
    child prints no URL within ``start_timeout`` seconds.
    """

    def __init__(
        self,
        extra_args: Sequence[str] = (),
        *,
        python: str = sys.executable,
        start_timeout: float = 10.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.extra_args = list(extra_args)
        self.python = python
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.url = ""
        self.process: Optional[subprocess.Popen[str]] = None

    @property
    def pid(self) -> int:
        """The child's process id; ``RuntimeError`` before :meth:`start`."""
        if self.process is None:
            raise RuntimeError("the emulator process is not running: use start()")
        return self.process.pid

    def start(self) -> EmulatorProcess:
        """Start the child and wait for its URL; returns self."""
        if self.process is not None:
            raise RuntimeError("the emulator process was already started")
        command = [self.python, "-m", "g4f_sync.emulator", "--port", "0", *self.extra_args]
        path = os.pathsep.join(filter(None, [PACKAGE_PARENT, os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            command, env=dict(os.environ, PYTHONPATH=path), stdout=subprocess.PIPE, text=True
        )
        line = self._first_line(self.process)
        match = _URL.search(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"the emulator did not report its URL (it printed {line!r})")
        self.url = match.group().rstrip("/")
        return self

    def _first_line(self, process: subprocess.Popen[str]) -> str:
        """The child's first line of output; "" if none comes within ``start_timeout``
        seconds (the child is then killed)."""
        stdout = process.stdout
        assert stdout is not None
        lines: list[str] = []
        reader = threading.Thread(
            target=lambda: lines.append(stdout.readline()),
            name="g4f-sync emulator process: first line",
        )
        reader.start()
        reader.join(self.start_timeout)
        if reader.is_alive():
            process.kill()  # its end of the pipe closes: readline() returns
            reader.join()
            return ""
        return lines[0] if lines else ""

    def stop(self, signum: int = signal.SIGTERM) -> Optional[int]:
        """Send ``signum`` and wait for the child to exit (SIGKILL after ``stop_timeout``
        seconds); its exit code, None when it was not running. Idempotent."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signum)
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        return process.returncode

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()
