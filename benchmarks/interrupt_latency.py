"""How long ``interrupt()`` takes to end a call, in each phase of the call.

The goal: within a second of the interrupt, whatever the call is doing, the consumer has
its ``CancelledError``. The emulator runs in its own process; a listener that never
accepts (backlog full) stands for a host that does not answer a connect.

    python -m benchmarks.interrupt_latency [--runs 20]

Prints one row per phase: the median and the slowest time from ``interrupt()`` to the
error, and the slowest as a fraction of the one-second goal.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
from typing import Callable, Dict, List, Optional

from g4f_sync import errors
from g4f_sync.emulator import EmulatorProcess
from g4f_sync.Provider import Koala
from g4f_sync.Provider.registry import rebase_provider

GOAL = 1.0
"""Seconds from ``interrupt()`` to the consumer's ``CancelledError``."""
SETTLE = 0.2
"""Seconds given to a call to reach a phase that shows no sign from outside."""
HI = [{"role": "user", "content": "Hi"}]


def measure(
    make_stream: Callable[[], object], in_phase: Callable[[threading.Event], None]
) -> float:
    """Seconds from ``interrupt()`` to the error in the consumer thread."""
    stream = make_stream()
    first_token = threading.Event()
    ended: List[float] = []
    outcome: List[Optional[BaseException]] = [None]

    def consume() -> None:
        try:
            for _ in stream:  # type: ignore[attr-defined]
                first_token.set()
        except BaseException as exc:
            outcome[0] = exc
        ended.append(time.perf_counter())

    reader = threading.Thread(target=consume)
    reader.start()
    in_phase(first_token)
    started = time.perf_counter()
    stream.interrupt()  # type: ignore[attr-defined]
    reader.join(30)
    if not isinstance(outcome[0], errors.CancelledError):
        raise RuntimeError(f"expected CancelledError, got {outcome[0]!r}")
    return ended[0] - started


def settle(first_token: threading.Event) -> None:
    time.sleep(SETTLE)


def first_token_read(first_token: threading.Event) -> None:
    if not first_token.wait(10):
        raise RuntimeError("no token arrived")


def phases(base_url: str, unanswered_url: str) -> Dict[str, tuple]:
    slow = (60, 60)

    def koala(**query: str) -> Callable[[], object]:
        provider = rebase_provider(Koala, base_url, query=query)
        return lambda: provider.create_completion("", HI, timeout=slow, max_retries=1)

    silent_body = {"fault": "silent", "drop_after": "1", "tokens": "a,b"}
    return {
        "connecting": (
            lambda: rebase_provider(Koala, unanswered_url).create_completion(
                "", HI, timeout=slow, max_retries=0
            ),
            settle,
        ),
        "waiting for the head": (koala(fault="silent_head"), settle),
        "waiting to retry": (koala(fault="rate_limit", retry_after="30"), settle),
        "reading a chunked body": (koala(**silent_body), first_token_read),
        "reading a body ending at EOF": (koala(**silent_body, framing="close"), first_token_read),
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="calls per phase (%(default)s)")
    args = parser.parse_args(argv)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    queued = socket.create_connection(("127.0.0.1", port))  # fills the accept queue
    try:
        with EmulatorProcess() as emulator:
            print(f"| phase | p50 ms | max ms | max / {GOAL:g} s goal |")
            print("|---|---|---|---|")
            for phase, (make, in_phase) in phases(emulator.url, f"http://127.0.0.1:{port}").items():
                times = [measure(make, in_phase) for _ in range(args.runs)]
                worst = max(times)
                print(
                    f"| {phase} | {statistics.median(times) * 1000:.2f} |"
                    f" {worst * 1000:.2f} | {worst / GOAL:.4f} |"
                )
    finally:
        queued.close()
        listener.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
