"""What the kernel says about this machine's TCP connections (Linux ``/proc/net/tcp``).

Tests use it to see a socket the SDK holds without reaching into the SDK: a connection
still ``ESTABLISHED`` after an error, or a connect in progress (``SYN_SENT``).
"""

from __future__ import annotations

import socket
import time
from typing import Callable, List

ESTABLISHED = "01"
SYN_SENT = "02"


def states_to(port: int) -> List[str]:
    """The state codes of the IPv4 connections whose remote end is ``127.0.0.1:port``."""
    states = []
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if int(fields[2].split(":")[1], 16) == port:
                states.append(fields[3])
    return states


def established_to(port: int) -> int:
    """How many connections to ``127.0.0.1:port`` are open from the client side."""
    return states_to(port).count(ESTABLISHED)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``condition`` every 10 ms until it holds; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Unanswered:
    """A port whose accept queue is full, so a new connect hangs in ``SYN_SENT``:
    a listener with a backlog of 0 that never accepts, and one connection queued."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.queued = socket.create_connection(("127.0.0.1", self.port))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.queued.close()
        self.listener.close()

    def __enter__(self) -> Unanswered:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


CLOSE_WAIT = "08"


def open_to(port: int) -> int:
    """How many connections to ``127.0.0.1:port`` a client still holds open: established,
    or closed by the server but not yet by the client (``CLOSE_WAIT``)."""
    return sum(state in (ESTABLISHED, CLOSE_WAIT) for state in states_to(port))
