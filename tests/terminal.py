"""A child process on a real terminal (a pseudo-terminal), for tests of interactive
commands: what a user types goes through the terminal's line discipline, so Ctrl-C
becomes SIGINT and readline sees the arrow keys' escape sequences.

Tests read the screen up to an expected text before typing, and wait until the child is
blocked reading before typing Ctrl-C (order and causality, never sleeps); :data:`TIMEOUT`
only bounds a test that would otherwise hang. Linux only (``/proc``), as tcp_state.py.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Dict, Optional, Sequence, Union

__all__ = ["CTRL_C", "CTRL_D", "DOWN", "LEFT", "TIMEOUT", "UP", "Terminal"]

TIMEOUT = 20.0
"""Seconds a test waits for text that should come at once before failing."""
CTRL_C = "\x03"
CTRL_D = "\x04"
UP = "\x1b[A"
DOWN = "\x1b[B"
LEFT = "\x1b[D"

# The child takes the terminal as its controlling terminal (it leads a session of its own,
# so the terminal's Ctrl-C reaches its process group), restores Python's Ctrl-C handler (a
# child may inherit an ignored SIGINT), then runs the module as `python -m` does.
_BOOTSTRAP = (
    "import fcntl, runpy, signal, sys, termios;"
    " fcntl.ioctl(0, termios.TIOCSCTTY, 0);"
    " signal.signal(signal.SIGINT, signal.default_int_handler);"
    " module = sys.argv.pop(1);"
    " runpy.run_module(module, run_name='__main__', alter_sys=True)"
)


class Terminal:
    """``python -m <module> <args>`` with its stdin, stdout and stderr on a new
    pseudo-terminal of ``rows`` x ``columns``; :attr:`screen` is everything it wrote
    (the terminal's echo included), as text.

    Use as a context manager: leaving kills the child if it is still running and closes
    the terminal.
    """

    def __init__(
        self,
        module: str,
        args: Sequence[str],
        *,
        cwd: Union[str, Path],
        env: Optional[Dict[str, str]] = None,
        rows: int = 40,
        columns: int = 200,
    ) -> None:
        master, child_end = os.openpty()
        fcntl.ioctl(child_end, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, module, *args],
                stdin=child_end,
                stdout=child_end,
                stderr=child_end,
                start_new_session=True,
                cwd=cwd,
                env=env,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(child_end)
        self.master = master
        self._output = bytearray()
        self._seen = 0  # how much of the output expect() has passed
        self._ended = False

    @property
    def screen(self) -> str:
        """Everything the child wrote so far (read by :meth:`expect` or :meth:`wait`)."""
        return self._output.decode("utf-8", "replace")

    def expect(self, text: str, timeout: float = TIMEOUT) -> str:
        """Read until ``text`` appears after what earlier calls passed; returns the
        output from there up to and including ``text``. AssertionError (showing the
        screen) when it does not come."""
        wanted = text.encode()
        while True:
            found = self._output.find(wanted, self._seen)
            if found >= 0:
                end = found + len(wanted)
                passed = bytes(self._output[self._seen : end])
                self._seen = end
                return passed.decode("utf-8", "replace")
            assert not self._ended, f"the child ended before {text!r}; screen:\n{self.screen}"
            self._read(timeout, f"no {text!r} within {timeout} s; screen:\n{self.screen}")

    def wait_until_blocked(self, timeout: float = TIMEOUT) -> None:
        """Wait until the child's main thread sleeps (``S`` in ``/proc/<pid>/stat``),
        blocked reading the terminal or a socket: a Ctrl-C typed now interrupts that read.

        Call it after :meth:`expect` saw what the child writes right before it blocks,
        and before typing Ctrl-C. A signal that lands between the moment Python releases
        the GIL and the start of the blocking call is only handled once that call returns:
        readline writes the prompt in that very gap (input()'s known race), and a child
        that is preempted right after writing the prompt would otherwise wait for a key.
        """
        deadline = time.monotonic() + timeout
        while self._state() != "S":
            assert time.monotonic() < deadline, f"the child never blocked:\n{self.screen}"
            time.sleep(0.001)

    def _state(self) -> str:
        with open(f"/proc/{self.process.pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]  # after "pid (name)"

    def type(self, keys: str) -> None:
        """Type ``keys`` (``"\\r"`` is Enter; see :data:`CTRL_C`, :data:`UP`, ...)."""
        os.write(self.master, keys.encode())

    def wait(self, timeout: float = TIMEOUT) -> int:
        """Read the output to its end, then wait for the child; its exit code."""
        while not self._ended:
            self._read(timeout, f"the child did not end within {timeout} s:\n{self.screen}")
        return self.process.wait(timeout)

    def rest(self) -> str:
        """The output after what :meth:`expect` passed (call after :meth:`wait`)."""
        return bytes(self._output[self._seen :]).decode("utf-8", "replace")

    def _read(self, timeout: float, failure: str) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        assert ready, failure
        try:
            data = os.read(self.master, 65536)
        except OSError as error:  # Linux: EIO once no process holds the terminal open
            if error.errno != errno.EIO:
                raise
            data = b""
        if data:
            self._output += data
        else:
            self._ended = True

    def close(self) -> None:
        """Kill the child if it still runs, and close the terminal."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        os.close(self.master)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
