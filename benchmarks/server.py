"""The emulator's process as the benchmarks see it: how much CPU it used, and when it is idle.

The process itself is :class:`g4f_sync.emulator.EmulatorProcess` (so that client and
server never share one GIL).
"""

from __future__ import annotations

import os
import time
from typing import Optional

__all__ = ["ROOT", "cpu_ticks", "wait_until_idle"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
