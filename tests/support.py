"""Data and helpers the test modules share, imported by name (``from support import HI``).

Fixtures are in ``conftest.py``; what the kernel says about TCP connections is in
``tcp_state.py``.
"""

from __future__ import annotations

import contextlib
import gc
import signal
import subprocess
import sys
import threading
import tracemalloc
import types
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import pytest

from g4f_sync.emulator import Emulator
from g4f_sync.http import Retry
from g4f_sync.Provider import __providers__

ROOT = Path(__file__).resolve().parent.parent
"""The checkout: the working directory of the subprocesses tests start."""

TIMEOUT = 5.0
"""A generous bound, in seconds, for what should happen at once on the loopback."""

FAST = Retry(total=2, backoff=0.001, backoff_max=0.002)
"""Three attempts with no wait to speak of between them."""

# One-message conversations; the emulator echoes their text back.
HI = [{"role": "user", "content": "Hi"}]
HI_THERE = [{"role": "user", "content": "Hi there"}]

CONVERSATION: List[Dict[str, str]] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "Say hello world"},
]
"""The example conversation of the providers' reference implementations."""

MakeEmulator = Callable[..., Emulator]
"""The type of the ``make_emulator`` fixture: ``make_emulator(**options)`` starts one."""


def provider_names() -> List[str]:
    """The names in ``g4f_sync.Provider.__providers__``, in its order."""
    return [provider.__name__ for provider in __providers__]


def known_providers() -> str:
    """How errors list the registered providers: ``"Koala, ChatGptt"``."""
    return ", ".join(provider_names())


def port_of(url: str) -> int:
    """The port of an ``http://127.0.0.1:<port>`` URL."""
    return int(url.rsplit(":", 1)[1])


def allocations_grown(
    action: Callable[[], Any], only: Sequence[tracemalloc.Filter], repeat: int
) -> List[tracemalloc.StatisticDiff]:
    """The lines (of the files ``only`` names) holding more memory after ``repeat`` more
    calls of ``action`` than before them; ``action`` runs once first, to fill first-use
    caches. Empty when nothing is retained per call."""
    action()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot().filter_traces(only)
        for _ in range(repeat):
            action()
        gc.collect()
        after = tracemalloc.take_snapshot().filter_traces(only)
    finally:
        tracemalloc.stop()
    return [stat for stat in after.compare_to(before, "lineno") if stat.size_diff > 0]


def run_pytest(directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """pytest in a fresh interpreter, in ``directory`` (without this suite's conftest),
    with the plugins installed packages declare: a user's own test run."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *arguments],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )


def junit_outcomes(report: Path) -> Dict[str, str]:
    """Each test's outcome in a JUnit XML report, by test name: ``passed``, or
    ``failed``/``error``/``skipped`` with the message after a colon."""
    found: Dict[str, str] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        outcome = "passed"
        for kind in ("failure", "error", "skipped"):
            element = case.find(kind)
            if element is not None:
                outcome = f"{'failed' if kind == 'failure' else kind}: {element.get('message')}"
        found[case.get("name", "")] = outcome
    return found


@contextlib.contextmanager
def ctrl_c_when(event: threading.Event) -> Iterator[None]:
    """Press Ctrl-C (SIGINT to the main thread) once ``event`` is set.

    A signal that lands just before the main thread blocks on a lock is handled only
    when something wakes that thread (a CPython race), so SIGINT is repeated until the
    handler has run; only the first one raises KeyboardInterrupt.
    """
    main = threading.main_thread().ident
    assert main is not None
    handled = threading.Event()
    finished = threading.Event()

    def on_sigint(signum: int, frame: Optional[types.FrameType]) -> None:
        if not handled.is_set():
            handled.set()
            raise KeyboardInterrupt

    def press() -> None:
        if event.wait(TIMEOUT):
            while not handled.is_set() and not finished.is_set():
                signal.pthread_kill(main, signal.SIGINT)
                handled.wait(0.05)

    previous = signal.signal(signal.SIGINT, on_sigint)
    presser = threading.Thread(target=press)
    presser.start()
    try:
        yield
    finally:
        finished.set()
        presser.join()
        signal.signal(signal.SIGINT, previous)  # runs pending handlers first


needs_ctrl_c = pytest.mark.skipif(
    not hasattr(signal, "pthread_kill")
    or threading.current_thread() is not threading.main_thread(),
    reason="needs signal.pthread_kill and the main thread",
)
