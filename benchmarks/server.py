"""The emulator in its own process, so that client and server never share one GIL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from types import TracebackType
from typing import List, Optional, Sequence

__all__ = ["EmulatorProcess", "cpu_ticks", "wait_until_idle"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_URL = re.compile(r"(https?://[^\s)]+)")


class EmulatorProcess:
    """``python -m g4f_sync.emulator --port 0 [extra_args]`` as a child process; ``url`` is
    its base URL.

    Use as a context manager; leaving it stops the process (SIGTERM, then SIGKILL).
    """

    def __init__(self, python: str = sys.executable, extra_args: Sequence[str] = ()) -> None:
        self.python = python
        self.extra_args = list(extra_args)
        self.url = ""
        self.process: Optional[subprocess.Popen[str]] = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> EmulatorProcess:
        """Start the emulator and read the URL it prints; RuntimeError if it does not."""
        command: List[str] = [self.python, "-m", "g4f_sync.emulator", "--port", "0"]
        command += self.extra_args
        env = dict(os.environ, PYTHONPATH=ROOT)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = _URL.search(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"the emulator did not report its URL (it printed {line!r})")
        self.url = match.group(1).rstrip("/")
        return self

    def stop(self) -> None:
        """Stop the process and wait for it; idempotent."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()


def cpu_ticks(pid: int) -> Optional[int]:
    """User plus system CPU time of process ``pid`` (all threads), in clock ticks; None
    where ``/proc`` is missing."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def wait_until_idle(
    pid: int, *, window: float = 0.06, limit: float = 10.0, fallback: float = 0.5
) -> float:
    """Block until process ``pid`` used no CPU for ``window`` seconds (the server wrote all
    it could: the rest of the answer waits in the socket buffers); the seconds waited.

    Without ``/proc``, sleep ``fallback`` seconds.
    """
    start = time.perf_counter()
    last = cpu_ticks(pid)
    if last is None:
        time.sleep(fallback)
        return fallback
    while time.perf_counter() - start < limit:
        time.sleep(window)
        now = cpu_ticks(pid)
        if now == last:
            break
        last = now
    return time.perf_counter() - start
