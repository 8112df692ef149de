"""The ``emulate`` command: serve the emulator on a fixed port until Ctrl-C (or SIGTERM).

The server it runs keeps no record of requests (``keep_requests=0``): nothing outside the
process could read one, and a server left running for days must stay flat. ``--verbose``
logs each request to stderr instead.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from types import FrameType
from typing import Callable, Optional

from . import chatgptt
from .chatgptt import ChatGpttOptions
from .emulator import Emulator
from .koala import FAULTS, LINE_ENDINGS, KoalaOptions

__all__ = ["add_arguments", "emulator_from", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port, 0: a free one (%(default)s)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    koala = parser.add_argument_group("Koala defaults (each also settable per request by query)")
    koala.add_argument(
        "--tokens", type=lambda s: s.split(","), help="comma-separated tokens (default: echo input)"
    )
    koala.add_argument("--count", type=int, help="send this many tokens: tok0, tok1, ...")
    koala.add_argument("--timestamps", action="store_true", help="tokens are monotonic send times")
    koala.add_argument("--delay", type=float, default=0.0, help="seconds between tokens")
    koala.add_argument("--framing", choices=["chunked", "close"], default="chunked")
    koala.add_argument("--done", action="store_true", help="end the stream with data: [DONE]")
    koala.add_argument("--line-ending", choices=list(LINE_ENDINGS), default="lf")
    koala.add_argument("--fault", choices=FAULTS)
    koala.add_argument("--fault-count", type=int, help="the fault hits the first N requests only")
    koala.add_argument("--retry-after", default="1", help="Retry-After of the rate_limit fault")
    koala.add_argument("--drop-after", type=int, default=3, help="tokens before a fault acts")
    site = parser.add_argument_group("ChatGptt defaults (each also settable per request by query)")
    site.add_argument("--chatgptt-answer", choices=["json", "sse", "sse_legacy", "sse_words"])
    site.add_argument("--chatgptt-variant", choices=["shortcode", "widget"])
    site.add_argument("--chatgptt-quoting", choices=["double", "single", "unquoted"])
    site.add_argument("--chatgptt-fault", choices=chatgptt.FAULTS)


def emulator_from(args: argparse.Namespace) -> Emulator:
    """The (unstarted) Emulator ``args`` describe, keeping no request record; raises
    ``ValueError`` on a bad option."""
    koala = KoalaOptions(
        tokens=args.tokens,
        count=args.count,
        timestamps=args.timestamps,
        delay=args.delay,
        framing=args.framing,
        done=args.done,
        line_ending=LINE_ENDINGS[args.line_ending],
        fault=args.fault,
        fault_count=args.fault_count,
        retry_after=args.retry_after,
        drop_after=args.drop_after,
    )
    site = ChatGpttOptions(
        **{
            name: getattr(args, f"chatgptt_{name}")
            for name in ("answer", "variant", "quoting", "fault")
            if getattr(args, f"chatgptt_{name}", None) is not None
        }
    )
    return Emulator(
        args.port, host=args.host, koala=koala, chatgptt=site, verbose=args.verbose, keep_requests=0
    )


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted, after printing one line with the base URL; the exit code."""
    try:
        emulator = emulator_from(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        emulator.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    restore = _interrupt_on_signals()
    try:
        print(
            f"Emulator on {emulator.url} (Koala API /api/gpt/, ChatGptt page /"
            " and /wp-admin/admin-ajax.php); Ctrl-C stops"
        )
        sys.stdout.flush()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        restore()
        emulator.close()
    return 0


def _interrupt_on_signals() -> Callable[[], None]:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt in the main thread; returns an undo.

    SIGINT too, because a shell starts background jobs with SIGINT ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum: int, frame: Optional[FrameType]) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
