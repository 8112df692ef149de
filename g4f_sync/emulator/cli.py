"""The ``emulate`` command: serve the emulator on a fixed port until Ctrl-C (or SIGTERM).

Its options come from the registry: ``--<service>-<option>`` for every option of every
service in :data:`~.registry.SERVICES` (``--chatgptt-answer sse``), read as a query string
reads it; Koala's also go without the prefix (``--count``, ``--fault``), as they did before
there were other services. A flag has a ``--no-`` form. The server keeps no record of
requests (``keep_requests=0``): nothing outside the process could read one, and a server left
running for days must stay flat. ``--verbose`` logs each request to stderr instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any, Callable, Optional, Sequence

from .emulator import Emulator
from .options import ServiceOptions
from .registry import SERVICES

__all__ = ["UNPREFIXED", "add_arguments", "emulator_from", "run"]

UNPREFIXED = "koala"
"""The service whose options also go without the ``--koala-`` prefix: they predate the others."""


USAGE = "%(prog)s [-h] [--host HOST] [--port PORT] [--verbose] [--SERVICE-OPTION VALUE ...]"
"""The usage line: the options of every service would make it a page long."""
EXIT_INTERRUPTED = 130
"""128 + SIGINT: stopped by Ctrl-C (SIGTERM, a request to stop, exits 0)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to ``parser``: the server's, then every service's."""
    parser.usage = USAGE
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    parser.add_argument(
        "--port", type=_port, default=0, help="port, 0 to 65535; 0: a free one (%(default)s)"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    for name, service in SERVICES.items():
        fields = [f for f in service.options_class.option_fields() if f.metadata["cli"]]
        settable = "each also settable per request by query"
        if not all(field.metadata["query"] for field in fields):
            settable += ", unless marked 'not by query'"
        group = parser.add_argument_group(f"{service.title()} defaults ({settable})")
        for field in fields:
            _add_option(group, name, service.options_class, field)


def _port(raw: str) -> int:
    """An argparse ``type``: a TCP port number, 0 to 65535."""
    try:
        port = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {raw!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535 (0: a free one), got {port}")
    return port


def _add_option(
    group: Any, service: str, options: type[ServiceOptions], field: dataclasses.Field[Any]
) -> None:
    """``--<service>-<option>`` (and ``--<option>`` for :data:`UNPREFIXED`); a flag for a bool."""
    flag = field.name.replace("_", "-")
    names = [f"--{service}-{flag}"]
    if service == UNPREFIXED:
        names.insert(0, f"--{flag}")
    dest = f"{service}_{field.name}"
    help = field.metadata["help"] or None
    if not field.metadata["query"]:
        help = f"{help or field.name} (not by query)"
    if isinstance(field.default, bool):  # None when not given: the options' default applies
        group.add_argument(*names, dest=dest, action=argparse.BooleanOptionalAction, help=help)
        return
    choices = options.choices(field.name)
    metavar = field.metadata["metavar"] or field.name.upper()
    if choices and len(",".join(choices)) <= 30:
        metavar = "{" + ",".join(choices) + "}"
    elif choices:
        help = f"{help or field.name}: {', '.join(choices)}"
    group.add_argument(
        *names,
        dest=dest,
        type=_value_reader(field.metadata["parse"], choices),
        default=argparse.SUPPRESS,  # absent when not given: the options' default applies
        metavar=metavar,
        help=help,
    )


def _value_reader(
    parse: Callable[[str], Any], choices: Optional[Sequence[str]]
) -> Callable[[str], Any]:
    """An argparse ``type``: ``parse``, after checking ``choices``."""

    def read(raw: str) -> Any:
        if choices is not None and raw not in choices:
            raise argparse.ArgumentTypeError(
                f"invalid choice: {raw!r} (choose from {', '.join(choices)})"
            )
        try:
            return parse(raw)
        except ValueError as exc:
            why = str(exc)
            detail = f" ({why})" if why and why != raw else ""
            raise argparse.ArgumentTypeError(f"invalid value: {raw!r}{detail}") from None

    return read


def emulator_from(args: argparse.Namespace) -> Emulator:
    """The (unstarted) Emulator ``args`` describe, keeping no request record; raises
    ``ValueError`` on a bad option."""
    options = {
        name: service.options_class(**_given(args, name, service.options_class))
        for name, service in SERVICES.items()
    }
    return Emulator(args.port, host=args.host, verbose=args.verbose, keep_requests=0, **options)


def _given(args: argparse.Namespace, service: str, options: type[ServiceOptions]) -> dict[str, Any]:
    """The options of ``service`` set on the command line: an option not given is absent
    from ``args``, a flag not given is None."""
    given = {}
    for field in options.option_fields():
        value = getattr(args, f"{service}_{field.name}", argparse.SUPPRESS)
        if value is not argparse.SUPPRESS and not (
            isinstance(field.default, bool) and value is None
        ):
            given[field.name] = value
    return given


def run(args: argparse.Namespace) -> int:
    """Serve until stopped, after printing one line with the base URL; the exit code: 0
    after SIGTERM, 130 after Ctrl-C (SIGINT), on a fresh line; 2 for a bad option, 1 when
    the address cannot be had."""
    try:
        emulator = emulator_from(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        emulator.start()
    except (OSError, OverflowError) as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    received: list[int] = []
    restore = _interrupt_on_signals(received)
    try:
        print(f"Emulator on {emulator.url} ({_describe(emulator)}); Ctrl-C stops")
        sys.stdout.flush()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        restore()
        emulator.close()
    if received and received[0] == signal.SIGTERM:
        return 0
    _fresh_line()
    return EXIT_INTERRUPTED


def _fresh_line() -> None:
    """End the line the terminal echoed ``^C`` on (when an output is a terminal)."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and stream.isatty():
            stream.write("\n")
            stream.flush()
            return


def _describe(emulator: Emulator) -> str:
    """Each service's routes: ``Koala: GET /chat, POST /api/gpt/; ChatGptt: ...``."""
    return "; ".join(
        f"{service.title()}: " + ", ".join(f"{m} {p}" for m, p in service.routes())
        for service in emulator.services.values()
    )


def _interrupt_on_signals(received: list[int]) -> Callable[[], None]:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt in the main thread, noting the
    signal in ``received``; returns an undo.

    SIGINT too, because a shell starts background jobs with SIGINT ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum: int, frame: Optional[FrameType]) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
